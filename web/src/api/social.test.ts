// Client functions of social login and linked accounts.
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, createApiClient, socialStartUrl, type ApiClient } from './client';
import { json, noContent, problem, scriptedFetch, tokenBody, type Handler } from '../test/fakes';

const clients: ApiClient[] = [];

function makeClient(table: Record<string, Handler>) {
  const server = scriptedFetch((call) => {
    const key = `${call.method} ${call.path}`;
    if (table[key]) return table[key](call);
    if (key === 'POST /api/auth/login') return json(200, tokenBody('A1'));
    return problem(404, 'not_found');
  });
  const client = createApiClient({
    fetch: server.fetch,
    channel: null,
    locks: null,
    jitterMs: () => 0,
    readCookie: (name) => (name === '__Host-latchkey_csrf' ? 'csrf-123' : undefined),
  });
  clients.push(client);
  return { client, calls: server.calls };
}

afterEach(() => {
  while (clients.length) clients.pop()!.dispose();
});

describe('providers', () => {
  it('lists the providers and drops entries without id, name or kind', async () => {
    const { client, calls } = makeClient({
      'GET /api/auth/providers': () =>
        json(200, {
          providers: [
            { id: 'google', kind: 'oidc', name: 'Google' },
            { id: '', kind: 'oidc', name: 'Empty' },
            { id: 'x', name: 'No kind' },
            'junk',
            { id: 'github', kind: 'github', name: 'GitHub' },
          ],
        }),
    });
    await expect(client.providers()).resolves.toEqual([
      { id: 'google', kind: 'oidc', name: 'Google' },
      { id: 'github', kind: 'github', name: 'GitHub' },
    ]);
    expect(calls[0].headers.authorization).toBeUndefined();
  });

  it('treats 404 as no providers but reports other failures', async () => {
    const { client } = makeClient({});
    await expect(client.providers()).resolves.toEqual([]);
    const broken = makeClient({ 'GET /api/auth/providers': () => problem(503, 'unavailable') }).client;
    await expect(broken.providers()).rejects.toMatchObject({ code: 'unavailable', status: 503 });
  });

  it('builds the start URL with the provider id and return address encoded', () => {
    expect(socialStartUrl('google', 'https://auth.example.com/profile')).toBe(
      '/api/auth/social/google/start?return_to=https%3A%2F%2Fauth.example.com%2Fprofile',
    );
    expect(socialStartUrl('a/b?c', 'x&y')).toBe('/api/auth/social/a%2Fb%3Fc/start?return_to=x%26y');
    const { client } = makeClient({});
    expect(client.socialStartUrl('gh', '/profile')).toBe('/api/auth/social/gh/start?return_to=%2Fprofile');
  });
});

describe('linked accounts', () => {
  const IDENTITY = {
    id: 'i1',
    provider: 'google',
    provider_name: 'Google',
    email: 'ada@gmail.example',
    created_at: '2026-11-30T10:00:00Z',
  };

  it('lists identities with the bearer token', async () => {
    const { client, calls } = makeClient({ 'GET /api/me/identities': () => json(200, { identities: [IDENTITY] }) });
    await client.login('ada@example.com', 'pw');
    await expect(client.identities()).resolves.toEqual([IDENTITY]);
    const call = calls.find((c) => c.path === '/api/me/identities')!;
    expect(call.headers.authorization).toBe('Bearer A1');
  });

  it('starts a link with return_to and the CSRF header, and returns the redirect URL', async () => {
    const { client, calls } = makeClient({
      'POST /api/me/identities/google/link': () => json(200, { redirect_url: 'https://accounts.example/auth?x=1' }),
    });
    await client.login('ada@example.com', 'pw');
    await expect(client.linkIdentity('google', 'https://auth.example.com/profile')).resolves.toBe(
      'https://accounts.example/auth?x=1',
    );
    const call = calls.find((c) => c.path.endsWith('/link'))!;
    expect(call.body).toEqual({ return_to: 'https://auth.example.com/profile' });
    expect(call.headers['x-csrf-token']).toBe('csrf-123');
  });

  it('refuses a link answer whose redirect is missing or not http(s)', async () => {
    for (const redirect_url of [undefined, 'javascript:alert(1)', '//evil.example/x']) {
      const { client } = makeClient({ 'POST /api/me/identities/google/link': () => json(200, { redirect_url }) });
      await client.login('ada@example.com', 'pw');
      await expect(client.linkIdentity('google', '/profile')).rejects.toBeInstanceOf(ApiError);
    }
  });

  it('unlinks by id; the last way to sign in comes back as last_login_method', async () => {
    const { client, calls } = makeClient({
      'DELETE /api/me/identities/i1': () => noContent(),
      'DELETE /api/me/identities/i2': () => problem(409, 'last_login_method'),
    });
    await client.login('ada@example.com', 'pw');
    await expect(client.unlinkIdentity('i1')).resolves.toBeUndefined();
    await expect(client.unlinkIdentity('i2')).rejects.toMatchObject({ code: 'last_login_method', status: 409 });
    expect(calls.filter((c) => c.method === 'DELETE').every((c) => c.headers['x-csrf-token'] === 'csrf-123')).toBe(true);
  });
});
