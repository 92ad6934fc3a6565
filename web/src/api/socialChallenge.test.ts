import { describe, expect, it } from 'vitest';
import { challengeFromFragment } from './socialChallenge';

describe('challengeFromFragment', () => {
  it('reads the token, the known methods and the lifetime', () => {
    expect(challengeFromFragment('#mfa_token=abc-123&methods=totp%2Crecovery_code&expires_in=120')).toEqual({
      mfa_token: 'abc-123',
      methods: ['totp', 'recovery_code'],
      expires_in: 120,
    });
  });

  it('drops unknown methods and defaults a missing or absurd lifetime', () => {
    expect(challengeFromFragment('#mfa_token=t&methods=totp,webauthn,sms')).toEqual({
      mfa_token: 't',
      methods: ['totp', 'sms'],
      expires_in: 300,
    });
    expect(challengeFromFragment('#mfa_token=t&methods=sms&expires_in=99999')?.expires_in).toBe(300);
  });

  it('is null without a token, without a usable method, or without a fragment', () => {
    expect(challengeFromFragment('')).toBeNull();
    expect(challengeFromFragment('#methods=totp')).toBeNull();
    expect(challengeFromFragment('#mfa_token=t&methods=webauthn')).toBeNull();
    expect(challengeFromFragment('#mfa_token=t')).toBeNull();
    expect(challengeFromFragment(`#mfa_token=${'x'.repeat(600)}&methods=totp`)).toBeNull();
  });
});
