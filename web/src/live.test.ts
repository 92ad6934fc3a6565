// @vitest-environment node
// Opt-in check of the API client against a running Latchkey (creates and deletes one account):
//   LATCHKEY_WEB_LIVE=http://127.0.0.1:8080 npm test
// Needs plain-http development cookies (security.cookie_secure = false) and sign-up without
// e-mail verification. Skipped when the variable is not set.
import { afterAll, describe, expect, it } from 'vitest';
import { ApiError, createApiClient, type ApiClient } from './api/client';

const BASE = process.env.LATCHKEY_WEB_LIVE ?? '';

/** A browser-like cookie jar shared by every "tab" of this test. */
const jar = new Map<string, string>();
const jarFetch: typeof fetch = async (input, init) => {
  const headers = new Headers(init?.headers);
  if (jar.size) headers.set('Cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
  const response = await fetch(BASE + String(input), { ...init, headers });
  for (const line of response.headers.getSetCookie()) {
    const [pair, ...attributes] = line.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (value === '' || attributes.some((a) => /^\s*max-age=0\s*$/i.test(a))) jar.delete(name);
    else jar.set(name, value);
  }
  return response;
};

const made: ApiClient[] = [];
function tab(): ApiClient {
  const client = createApiClient({ fetch: jarFetch, channel: null, locks: null, readCookie: (n) => jar.get(n) });
  made.push(client);
  return client;
}

afterAll(() => made.forEach((c) => c.dispose()));

describe.skipIf(!BASE)('against a running server', () => {
  const email = `web-live-${Date.now()}@example.com`;
  const first = 'violet tractor umbrella 42';
  const second = 'another quiet harbour 7';

  it('signs up, signs in, refreshes, edits, and deletes the account', async () => {
    const a = tab();
    await expect(a.signup(email, first, '에이다')).resolves.toMatchObject({ status: 'ok' });
    await expect(a.signup(`x-${email}`, 'password', 'x')).rejects.toMatchObject({
      code: 'weak_password',
      field: 'password',
    });
    await expect(a.login(email, 'not the password')).rejects.toMatchObject({ code: 'invalid_credentials' });

    await a.login(email, first);
    expect([...jar.keys()].sort()).toEqual(['latchkey_csrf', 'latchkey_refresh']);
    await expect(a.me()).resolves.toMatchObject({ email, name: '에이다' });
    const sessions = await a.sessions();
    expect(sessions.filter((s) => s.current)).toHaveLength(1);

    await expect(a.refresh()).resolves.toBe('ok');
    await expect(a.updateProfile('Ada')).resolves.toMatchObject({ name: 'Ada' });
    await expect(a.changePassword('wrong wrong wrong', second)).rejects.toMatchObject({
      code: 'invalid_credentials',
      field: 'current',
    });
    await a.changePassword(first, second);
    await expect(a.deleteAccount('wrong wrong wrong')).rejects.toBeInstanceOf(ApiError);

    await a.logout();
    expect(jar.size).toBe(0);
    await expect(tab().init()).resolves.toBe('signed-out');

    const b = tab();
    await b.login(email, second);
    await b.logoutAll();
    expect(b.state).toBe('signed-out');

    const c = tab();
    await c.login(email, second);
    await c.deleteAccount(second);
    await expect(c.login(email, second)).rejects.toMatchObject({ code: 'invalid_credentials' });
  });
});
