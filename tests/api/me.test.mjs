// /api/me: profile, password change (other sessions end), account deletion, and the sessions list.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer,
  MANY_LOGIN_FAILURES,
  client,
  assertProblem,
  assertStatus,
  newUser,
  signup,
  login,
  loginFails,
  strongPassword,
  randomHex,
  describe,
  decodeJwt,
} from './harness.mjs';

let server;
let api;

before(async () => {
  server = await startServer({ env: MANY_LOGIN_FAILURES });
  api = client(server.url);
});

after(async () => {
  await server?.stop();
});

const isoTime = (v) => typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v) && !Number.isNaN(Date.parse(v));

test('GET /api/me returns the profile and nothing secret', async () => {
  const started = Date.now();
  const { email, tokens } = await newUser(api, { name: 'Ada Lovelace' });
  const res = await api.get('/api/me', { token: tokens.access_token });
  assertStatus(res, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const me = res.body;
  assert.equal(typeof me.id, 'string');
  assert.ok(me.id.length > 0);
  assert.equal(me.id, decodeJwt(tokens.access_token).payload.sub);
  assert.equal(me.email, email);
  assert.equal(me.name, 'Ada Lovelace');
  assert.equal(me.state, 'active');
  assert.equal(me.email_verified, false);
  assert.deepEqual(me.roles, ['user']);
  assert.ok(isoTime(me.created_at), `created_at is an RFC 3339 time: ${me.created_at}`);
  assert.ok(isoTime(me.updated_at), `updated_at is an RFC 3339 time: ${me.updated_at}`);
  assert.ok(Math.abs(Date.parse(me.created_at) - started) < 60_000, 'created_at is now');
  for (const key of Object.keys(me)) {
    assert.doesNotMatch(key, /pass|hash|secret|salt/i, `no secret member: ${key}`);
  }
  assert.doesNotMatch(res.text, /\$argon2/);
});

test('GET /api/me without or with a garbage token is 401', async () => {
  assertProblem(await api.get('/api/me'), 401, 'unauthenticated');
  assertProblem(await api.get('/api/me', { token: 'garbage' }), 401, 'invalid_token');
  assertProblem(await api.get('/api/me', { token: 'a.b.c' }), 401, 'invalid_token');
  assertProblem(await api.get('/api/me', { headers: { authorization: 'Basic dXNlcjpwYXNz' } }), 401, 'unauthenticated');
  // A refresh token is not an access token.
  const { tokens } = await newUser(api);
  assertProblem(await api.get('/api/me', { token: tokens.refresh_token }), 401, 'invalid_token');
});

test('PATCH /api/me changes the name and nothing else', async () => {
  const { tokens } = await newUser(api, { name: 'Old Name' });
  const before = (await api.get('/api/me', { token: tokens.access_token })).body;
  const res = await api.patch('/api/me', { name: 'New Name 김' }, { token: tokens.access_token });
  assert.ok(res.status === 200 || res.status === 204, `PATCH answers 200 or 204${describe(res)}`);
  if (res.status === 200) assert.equal(res.body.name, 'New Name 김', describe(res));
  const after = (await api.get('/api/me', { token: tokens.access_token })).body;
  assert.equal(after.name, 'New Name 김');
  assert.equal(after.email, before.email);
  assert.deepEqual(after.roles, ['user']);

  for (const extra of [{ roles: ['admin'] }, { state: 'disabled' }, { email: 'other@example.com' }, { email_verified: true }, { id: 'x' }]) {
    const bad = await api.patch('/api/me', { name: 'Sneaky', ...extra }, { token: tokens.access_token });
    assertProblem(bad, 400, 'invalid_field', Object.keys(extra)[0]);
  }
  assertProblem(await api.patch('/api/me', { name: 'a\u0000b' }, { token: tokens.access_token }), 400, 'invalid_field', 'name');
  assertProblem(
    await api('PATCH', '/api/me', { body: '{"name":', contentType: 'application/json', token: tokens.access_token }),
    400,
    'malformed_json',
  );
  assertProblem(
    await api('PATCH', '/api/me', { body: '{"name":"x"}', contentType: 'text/plain', token: tokens.access_token }),
    415,
    'unsupported_media_type',
  );
  const unchanged = (await api.get('/api/me', { token: tokens.access_token })).body;
  assert.equal(unchanged.name, 'New Name 김');
  assert.deepEqual(unchanged.roles, ['user']);
  assert.equal(unchanged.state, 'active');
  assert.equal(unchanged.email, before.email);
  assert.equal(unchanged.email_verified, false);
  assertProblem(await api.patch('/api/me', { name: 'x' }), 401, 'unauthenticated');
});

test('changing the password ends the other sessions and keeps this one', async () => {
  const { email, password, tokens: current } = await newUser(api);
  const other = await login(api, email, password);
  const newPassword = strongPassword();

  // Wrong current password: refused, nothing changes.
  const wrong = await api.post('/api/me/password', { current: `${password}x`, new: newPassword }, { token: current.access_token });
  assertProblem(wrong, 401, 'invalid_credentials');
  assertStatus(await api.get('/api/auth/check', { token: other.access_token }), 200);
  await loginFails(api, email, newPassword);

  // A weak new password: refused, nothing changes.
  const weak = await api.post('/api/me/password', { current: password, new: 'password' }, { token: current.access_token });
  assertProblem(weak, 400, 'weak_password', 'new');
  assertStatus(await api.get('/api/auth/check', { token: other.access_token }), 200);

  const res = await api.post('/api/me/password', { current: password, new: newPassword }, { token: current.access_token });
  assertStatus(res, 204);

  // The other session is over.
  assertProblem(await api.post('/api/auth/refresh', { refresh_token: other.refresh_token }), 401, 'invalid_refresh_token');
  assertProblem(await api.get('/api/auth/check', { token: other.access_token }), 401, 'session_revoked');
  // This one goes on.
  assertStatus(await api.get('/api/auth/check', { token: current.access_token }), 200);
  assertStatus(await api.get('/api/me', { token: current.access_token }), 200);
  const rotated = await api.post('/api/auth/refresh', { refresh_token: current.refresh_token });
  assertStatus(rotated, 200);
  // New password logs in, the old one does not.
  await login(api, email, newPassword);
  await loginFails(api, email, password);
});

test('DELETE /api/me removes the account and frees the address', async () => {
  const { email, password, tokens } = await newUser(api);
  const wrong = await api.delete('/api/me', { password: `${password}x` }, { token: tokens.access_token });
  assertProblem(wrong, 401, 'invalid_credentials');
  assertStatus(await api.get('/api/me', { token: tokens.access_token }), 200);

  const res = await api.delete('/api/me', { password }, { token: tokens.access_token });
  assertStatus(res, 204);
  await loginFails(api, email, password);
  const me = await api.get('/api/me', { token: tokens.access_token });
  assertStatus(me, 401);
  assertProblem(await api.post('/api/auth/refresh', { refresh_token: tokens.refresh_token }), 401, 'invalid_refresh_token');

  // The address can be used again, by a new account with a new password.
  const again = strongPassword();
  await signup(api, { email, password: again });
  const fresh = await login(api, email, again);
  await loginFails(api, email, password);
  const profile = await api.get('/api/me', { token: fresh.access_token });
  assertStatus(profile, 200);
  assert.equal(profile.body.email, email);
});

test('sessions: list, current flag, revoke own, not someone else\'s', async () => {
  const { email, password } = await signup(api);
  const uaA = `latchkey-api-test/A-${randomHex(4)}`;
  const uaB = `latchkey-api-test/B-${randomHex(4)}`;
  const a = await api.post('/api/auth/login', { email, password }, { headers: { 'user-agent': uaA } });
  const b = await api.post('/api/auth/login', { email, password }, { headers: { 'user-agent': uaB } });
  assertStatus(a, 200);
  assertStatus(b, 200);
  const sidA = decodeJwt(a.body.access_token).payload.sid;
  const sidB = decodeJwt(b.body.access_token).payload.sid;

  const list = await api.get('/api/me/sessions', { token: a.body.access_token });
  assertStatus(list, 200);
  const sessions = list.body.sessions;
  assert.equal(sessions.length, 2, describe(list));
  for (const s of sessions) {
    assert.equal(typeof s.id, 'string');
    assert.ok(isoTime(s.created_at), `created_at ${s.created_at}`);
    assert.ok(isoTime(s.last_used_at), `last_used_at ${s.last_used_at}`);
    assert.equal(s.ip, '127.0.0.1');
    assert.equal(typeof s.current, 'boolean');
    assert.doesNotMatch(JSON.stringify(s), new RegExp(a.body.refresh_token + '|' + b.body.refresh_token));
  }
  const byId = Object.fromEntries(sessions.map((s) => [s.id, s]));
  assert.ok(byId[sidA] && byId[sidB], `session ids match the tokens' sid claims${describe(list)}`);
  assert.equal(byId[sidA].current, true);
  assert.equal(byId[sidB].current, false);
  assert.equal(byId[sidA].user_agent, uaA);
  assert.equal(byId[sidB].user_agent, uaB);

  // Someone else cannot end B, nor learn that it exists.
  const stranger = await newUser(api);
  assertProblem(await api.delete(`/api/me/sessions/${sidB}`, undefined, { token: stranger.tokens.access_token }), 404, 'not_found');
  assertStatus(await api.get('/api/auth/check', { token: b.body.access_token }), 200);
  const stillB = await api.post('/api/auth/refresh', { refresh_token: b.body.refresh_token });
  assertStatus(stillB, 200);
  assertProblem(
    await api.delete('/api/me/sessions/01890000-0000-7000-8000-000000000000', undefined, { token: a.body.access_token }),
    404,
    'not_found',
  );

  // The owner can.
  const del = await api.delete(`/api/me/sessions/${sidB}`, undefined, { token: a.body.access_token });
  assertStatus(del, 204);
  assertProblem(await api.get('/api/auth/check', { token: stillB.body.access_token }), 401, 'session_revoked');
  assertProblem(await api.post('/api/auth/refresh', { refresh_token: stillB.body.refresh_token }), 401, 'invalid_refresh_token');
  const after = await api.get('/api/me/sessions', { token: a.body.access_token });
  assertStatus(after, 200);
  assert.deepEqual(after.body.sessions.map((s) => s.id), [sidA], describe(after));
  assertStatus(await api.get('/api/auth/check', { token: a.body.access_token }), 200);
});
