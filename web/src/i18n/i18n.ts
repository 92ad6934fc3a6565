// A tiny translation layer: t(key, params) over two catalogues, and the mapping from API
// problem codes to messages.

import { ApiError, type ProblemCode } from '../api/problem';
import { en, ko, type Catalogue, type MessageKey } from './messages';

export const LANGUAGES = ['en', 'ko'] as const;
export type Lang = (typeof LANGUAGES)[number];

export const LANGUAGE_NAMES: Record<Lang, string> = { en: 'English', ko: '한국어' };

const catalogues: Record<Lang, Catalogue> = { en, ko };

export type Params = Record<string, string | number>;

export function isLang(value: unknown): value is Lang {
  return typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value);
}

/** Picks the first supported language from a preference list such as navigator.languages. */
export function detectLanguage(preferences: readonly string[]): Lang {
  for (const tag of preferences) {
    const primary = tag.toLowerCase().split(/[-_]/)[0];
    if (isLang(primary)) return primary;
  }
  return 'en';
}

export function translate(lang: Lang, key: MessageKey, params?: Params): string {
  const template = catalogues[lang][key] ?? en[key] ?? key;
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole,
  );
}

export function problemKey(code: ProblemCode): MessageKey {
  const key = `problem.${code}`;
  return key in en ? (key as MessageKey) : 'problem.unknown';
}

/** The message to show for any error thrown by the API client (or anything else). */
export function problemMessage(lang: Lang, error: unknown): string {
  if (!(error instanceof ApiError)) return translate(lang, 'problem.unknown');
  if (error.code === 'rate_limited' && error.retryAfter !== undefined && error.retryAfter > 0) {
    return translate(lang, 'problem.rate_limited_wait', { seconds: error.retryAfter });
  }
  return translate(lang, problemKey(error.code));
}

export type Translate = (key: MessageKey, params?: Params) => string;
export type { MessageKey };
