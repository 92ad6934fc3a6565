// A social login whose account has a second factor comes back as
// /login#mfa_token=…&methods=totp,recovery_code&expires_in=300: the callback cannot finish the
// login itself, so it hands the one-time token to the login page in the fragment (never sent to
// a server, never in access logs). The page reads it once and removes it from the address.
import type { MfaChallenge, MfaMethod } from './client';

const KNOWN: readonly MfaMethod[] = ['totp', 'recovery_code', 'sms'];

/** The challenge in a location hash ("#mfa_token=…"), or null when there is none or it is unusable. */
export function challengeFromFragment(hash: string): MfaChallenge | null {
  if (!hash.startsWith('#')) return null;
  const params = new URLSearchParams(hash.slice(1));
  const token = params.get('mfa_token');
  if (!token || token.length > 512) return null;
  const methods = (params.get('methods') ?? '')
    .split(',')
    .filter((m): m is MfaMethod => (KNOWN as readonly string[]).includes(m));
  if (methods.length === 0) return null;
  const lifetime = Number(params.get('expires_in'));
  const expires_in = Number.isFinite(lifetime) && lifetime > 0 && lifetime <= 3600 ? lifetime : 300;
  return { mfa_token: token, methods, expires_in };
}
