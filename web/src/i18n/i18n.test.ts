import { describe, expect, it } from 'vitest';
import { ApiError, CLIENT_CODES, PROBLEM_CODES } from '../api/problem';
import { detectLanguage, problemKey, problemMessage, translate } from './i18n';
import { en, ko, type MessageKey } from './messages';

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('catalogues', () => {
  it('have the same keys in English and Korean', () => {
    expect(Object.keys(ko).sort()).toEqual(Object.keys(en).sort());
  });

  it('have no empty entry, and Korean is translated', () => {
    for (const key of Object.keys(en) as MessageKey[]) {
      expect(en[key].trim(), key).not.toBe('');
      expect(ko[key].trim(), key).not.toBe('');
      if (key !== 'app.name') expect(ko[key], key).not.toBe(en[key]);
    }
  });

  it('use the same placeholders in both languages', () => {
    for (const key of Object.keys(en) as MessageKey[]) {
      expect(placeholders(ko[key]), key).toEqual(placeholders(en[key]));
    }
  });
});

describe('problem codes', () => {
  it('every server and client code has its own message in both languages', () => {
    for (const code of [...PROBLEM_CODES, ...CLIENT_CODES]) {
      const key = problemKey(code);
      expect(key, code).toBe(`problem.${code}`);
      for (const lang of ['en', 'ko'] as const) {
        const text = problemMessage(lang, new ApiError({ code, status: 400 }));
        expect(text, `${lang} ${code}`).toBe(lang === 'en' ? en[key] : ko[key]);
      }
    }
  });

  it('messages are distinct enough to tell the codes apart', () => {
    const texts = new Set(PROBLEM_CODES.map((code) => translate('en', problemKey(code))));
    // invalid_refresh_token and the session messages may share wording; all others differ.
    expect(texts.size).toBeGreaterThanOrEqual(PROBLEM_CODES.length - 1);
  });

  it('maps known codes to the right text', () => {
    const err = new ApiError({ code: 'invalid_credentials', status: 401 });
    expect(problemMessage('en', err)).toBe('The e-mail address or password is not correct.');
    expect(problemMessage('ko', err)).toBe('이메일 주소 또는 비밀번호가 올바르지 않습니다.');
    expect(problemMessage('ko', new ApiError({ code: 'account_pending', status: 403 }))).toContain('이메일');
  });

  it('says how long to wait when the server sent Retry-After', () => {
    const err = new ApiError({ code: 'rate_limited', status: 429, retryAfter: 42 });
    expect(problemMessage('en', err)).toBe('Too many attempts. Please try again in 42 seconds.');
    expect(problemMessage('ko', err)).toBe('시도 횟수가 너무 많습니다. 42초 후에 다시 시도해 주세요.');
    const noWait = new ApiError({ code: 'rate_limited', status: 429 });
    expect(problemMessage('en', noWait)).toBe(en['problem.rate_limited']);
  });

  it('uses the generic message for anything that is not an ApiError', () => {
    expect(problemMessage('en', new Error('boom'))).toBe(en['problem.unknown']);
    expect(problemMessage('ko', 'x')).toBe(ko['problem.unknown']);
  });
});

describe('translate', () => {
  it('fills placeholders and leaves unknown ones alone', () => {
    expect(translate('en', 'validation.passwordShort', { min: 8 })).toBe('Use at least 8 characters.');
    expect(translate('ko', 'validation.passwordShort', { min: 8 })).toBe('8자 이상 입력해 주세요.');
    expect(translate('en', 'validation.passwordShort')).toBe('Use at least {min} characters.');
  });
});

describe('detectLanguage', () => {
  it('picks the first supported language', () => {
    expect(detectLanguage(['ko-KR', 'en-US'])).toBe('ko');
    expect(detectLanguage(['fr-FR', 'ko'])).toBe('ko');
    expect(detectLanguage(['en-GB', 'ko'])).toBe('en');
    expect(detectLanguage(['de'])).toBe('en');
    expect(detectLanguage([])).toBe('en');
  });
});
