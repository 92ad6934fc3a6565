// Refresh-token rotation (bearer mode), the concurrent-refresh grace window, reuse detection that
// revokes the whole family, logout and logout everywhere.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer,
  client,
  assertProblem,
  assertStatus,
  newUser,
  login,
  sleep,
  describe,
  decodeJwt,
} from './harness.mjs';

let server;
let api;

before(async () => {
  server = await startServer();
  api = client(server.url);
});

after(async () => {
  await server?.stop();
});

async function refresh(a, refresh_token) {
  return a.post('/api/auth/refresh', { refresh_token });
}

async function assertWorks(a, access) {
  const res = await a.get('/api/auth/check', { token: access });
  assertStatus(res, 200);
}

test('refresh rotates the pair and the new access token works', async () => {
  const { tokens } = await newUser(api);
  const res = await refresh(api, tokens.refresh_token);
  assertStatus(res, 200);
  assert.match(res.headers.get('cache-control') ?? '', /no-store/, describe(res));
  assert.equal(res.body.token_type, 'Bearer');
  assert.ok(Number.isInteger(res.body.expires_in) && res.body.expires_in > 0);
  assert.equal(typeof res.body.refresh_token, 'string');
  assert.notEqual(res.body.refresh_token, tokens.refresh_token);
  assert.notEqual(res.body.access_token, tokens.access_token);
  const before = decodeJwt(tokens.access_token).payload;
  const afterwards = decodeJwt(res.body.access_token).payload;
  assert.equal(afterwards.sid, before.sid, 'a refresh stays in the same session');
  assert.equal(afterwards.sub, before.sub);
  assert.notEqual(afterwards.jti, before.jti);
  const me = await api.get('/api/me', { token: res.body.access_token });
  assertStatus(me, 200);
  // The new refresh token rotates again.
  const again = await refresh(api, res.body.refresh_token);
  assertStatus(again, 200);
});

test('within the grace window the old token answers the same successor', async () => {
  const { tokens } = await newUser(api);
  const first = await refresh(api, tokens.refresh_token);
  assertStatus(first, 200);
  const second = await refresh(api, tokens.refresh_token);
  assertStatus(second, 200);
  assert.equal(second.body.refresh_token, first.body.refresh_token, 'the same successor refresh token');
  await assertWorks(api, second.body.access_token);
  // The family is intact: the successor rotates normally.
  const third = await refresh(api, first.body.refresh_token);
  assertStatus(third, 200);
  await assertWorks(api, third.body.access_token);
});

test('reuse after the grace window revokes the whole family', async () => {
  const own = await startServer({ env: { LATCHKEY_TOKENS_REFRESH_GRACE: '0' } });
  try {
    const a = client(own.url);
    const { email, password, tokens } = await newUser(a);
    const other = await login(a, email, password); // another session of the same user
    const first = await refresh(a, tokens.refresh_token);
    assertStatus(first, 200);
    // Grace 0: the boundary second is left out so the test does not depend on rounding.
    await sleep(1100);
    assertProblem(await refresh(a, tokens.refresh_token), 401, 'refresh_token_reused');
    assertProblem(await refresh(a, first.body.refresh_token), 401, 'invalid_refresh_token');
    // Stricter reading: the family is the session, so its access tokens are refused at once.
    assertProblem(await a.get('/api/auth/check', { token: first.body.access_token }), 401, 'session_revoked');
    // The user's other session is untouched.
    await assertWorks(a, other.access_token);
    assertStatus(await refresh(a, other.refresh_token), 200);
  } finally {
    await own.stop();
  }
});

test('unknown, malformed and over-long refresh tokens are refused', async () => {
  assertProblem(await refresh(api, 'definitely-not-a-token'), 401, 'invalid_refresh_token');
  assertProblem(await refresh(api, 'A'.repeat(43)), 401, 'invalid_refresh_token');
  const { tokens } = await newUser(api);
  const flipped = tokens.refresh_token.slice(0, -1) + (tokens.refresh_token.endsWith('A') ? 'B' : 'A');
  assertProblem(await refresh(api, flipped), 401, 'invalid_refresh_token');
  // The real token still works afterwards.
  assertStatus(await refresh(api, tokens.refresh_token), 200);
  const extra = await api.post('/api/auth/refresh', { refresh_token: tokens.refresh_token, user_id: 'x' });
  assertProblem(extra, 400, 'invalid_field', 'user_id');
});

test('logout ends the session: refresh and access token are refused', async () => {
  const { email, password, tokens } = await newUser(api);
  const other = await login(api, email, password);
  const res = await api.post('/api/auth/logout', { refresh_token: tokens.refresh_token });
  assertStatus(res, 204);
  assert.equal(res.text, '');
  assertProblem(await refresh(api, tokens.refresh_token), 401, 'invalid_refresh_token');
  assertProblem(await api.get('/api/auth/check', { token: tokens.access_token }), 401, 'session_revoked');
  const me = await api.get('/api/me', { token: tokens.access_token });
  assertProblem(me, 401, 'session_revoked');
  // Other sessions of the same user go on.
  await assertWorks(api, other.access_token);
  assertStatus(await refresh(api, other.refresh_token), 200);
  // Logout is idempotent.
  assertStatus(await api.post('/api/auth/logout', { refresh_token: tokens.refresh_token }), 204);
});

test('logout-all ends every session of the user and no one else\'s', async () => {
  const { email, password, tokens } = await newUser(api);
  const second = await login(api, email, password);
  const stranger = await newUser(api);
  const res = await api.post('/api/auth/logout-all', undefined, { token: second.access_token });
  assertStatus(res, 204);
  for (const t of [tokens, second]) {
    assertProblem(await refresh(api, t.refresh_token), 401, 'invalid_refresh_token');
    assertProblem(await api.get('/api/auth/check', { token: t.access_token }), 401, 'session_revoked');
  }
  await assertWorks(api, stranger.tokens.access_token);
  // The user can log in again.
  const fresh = await login(api, email, password);
  await assertWorks(api, fresh.access_token);
});

test('logout-all needs a bearer token', async () => {
  assertProblem(await api.post('/api/auth/logout-all', undefined), 401, 'unauthenticated');
  assertProblem(await api.post('/api/auth/logout-all', undefined, { token: 'garbage' }), 401, 'invalid_token');
});

test('concurrent refreshes of one token all get the same successor', async () => {
  const { tokens } = await newUser(api);
  const answers = await Promise.all(Array.from({ length: 8 }, () => refresh(api, tokens.refresh_token)));
  for (const res of answers) assertStatus(res, 200);
  const successors = new Set(answers.map((r) => r.body.refresh_token));
  assert.equal(successors.size, 1, `one successor for concurrent refreshes: ${[...successors].length} different`);
  const [successor] = successors;
  const next = await refresh(api, successor);
  assertStatus(next, 200);
  await assertWorks(api, next.body.access_token);
});

test('concurrent logins and refreshes of many users do not fail', async () => {
  const users = await Promise.all(Array.from({ length: 6 }, () => newUser(api)));
  const results = await Promise.all(
    users.flatMap((u) => [
      login(api, u.email, u.password),
      refresh(api, u.tokens.refresh_token).then((r) => {
        assertStatus(r, 200);
        return r.body;
      }),
    ]),
  );
  for (const t of results) await assertWorks(api, t.access_token);
});
