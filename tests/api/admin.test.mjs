// /api/admin/*: the authorization matrix (every route x anonymous, user, users:read-only, admin,
// admin with stale authentication), IDOR checks on /api/me, audit events exactly once without
// secrets, and user import with bcrypt and argon2 hashes made here (hash-wasm).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { bcrypt, argon2id, argon2i } from 'hash-wasm';
import { Authenticator } from './totp.mjs';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  startServer,
  MANY_LOGIN_FAILURES,
  client,
  runCli,
  assertProblem,
  assertStatus,
  newUser,
  signup,
  login,
  strongPassword,
  randomEmail,
  sleep,
  describe,
} from './harness.mjs';

// A short re-authentication window, so that "stale" takes seconds, not 15 minutes.
const REAUTH_SECONDS = 3;

let server;
let api;
let adminEmail;
let adminPassword;

const cli = (args, stdin) => runCli(args, { env: server.env, cwd: server.dir, stdin });

before(async () => {
  server = await startServer({
    // info: audit events are also JSON log lines (msg "audit"), checked below.
    env: { ...MANY_LOGIN_FAILURES, LATCHKEY_ADMIN_REAUTH_WINDOW: `${REAUTH_SECONDS}s`, LATCHKEY_LOG_LEVEL: 'info' },
  });
  api = client(server.url);
  adminEmail = randomEmail('root');
  adminPassword = strongPassword();
  const out = await cli(['user', 'create', '--email', adminEmail, '--admin', '--password-stdin'], `${adminPassword}\n`);
  assert.equal(out.code, 0, out.stderr);
  const role = await cli(['role', 'create', 'reader', '--permission', 'users:read']);
  assert.equal(role.code, 0, role.stderr);
});

after(async () => {
  await server?.stop();
});

async function adminToken() {
  return (await login(api, adminEmail, adminPassword)).access_token;
}

async function userId(token) {
  const me = await api.get('/api/me', { token });
  assertStatus(me, 200);
  return me.body.id;
}

/** A fresh user as a target of admin actions; returns its id, e-mail and password. */
/** The session id (`sid` claim) of an access token. */
function sessionOf(accessToken) {
  return JSON.parse(Buffer.from(accessToken.split('.')[1], 'base64url').toString()).sid;
}

async function target() {
  const { email, password, tokens } = await newUser(api);
  return { id: await userId(tokens.access_token), email, password, tokens };
}

let roleCounter = 0;
// Every admin route: how to call it (with fresh targets), and what a fresh admin gets.
const routes = [
  { name: 'GET users', ok: 200, call: (t) => api.get('/api/admin/users', { token: t }) },
  {
    name: 'POST users',
    ok: 201,
    call: (t) => api.post('/api/admin/users', { email: randomEmail('made') }, { token: t }),
  },
  {
    name: 'POST users/import',
    ok: 200,
    call: (t) => api.post('/api/admin/users/import', { records: [{ email: randomEmail('imp') }] }, { token: t }),
  },
  { name: 'GET users/{id}', ok: 200, target: true, call: (t, u) => api.get(`/api/admin/users/${u.id}`, { token: t }) },
  {
    name: 'PATCH users/{id} (name)',
    ok: 200,
    target: true,
    call: (t, u) => api.patch(`/api/admin/users/${u.id}`, { name: 'Renamed' }, { token: t }),
  },
  {
    name: 'PATCH users/{id} (roles)',
    ok: 200,
    destructive: true,
    target: true,
    call: (t, u) => api.patch(`/api/admin/users/${u.id}`, { roles: ['reader', 'user'] }, { token: t }),
  },
  {
    name: 'PATCH users/{id} (disable)',
    ok: 200,
    destructive: true,
    target: true,
    call: (t, u) => api.patch(`/api/admin/users/${u.id}`, { status: 'disabled' }, { token: t }),
  },
  {
    name: 'DELETE users/{id}',
    ok: 204,
    destructive: true,
    target: true,
    call: (t, u) => api.delete(`/api/admin/users/${u.id}`, undefined, { token: t }),
  },
  {
    name: 'POST users/{id}/sessions/revoke',
    ok: 200,
    target: true,
    call: (t, u) => api.post(`/api/admin/users/${u.id}/sessions/revoke`, undefined, { token: t }),
  },
  {
    name: 'GET users/{id}/sessions',
    ok: 200,
    target: true,
    call: (t, u) => api.get(`/api/admin/users/${u.id}/sessions`, { token: t }),
  },
  {
    name: 'DELETE users/{id}/sessions/{sid}',
    ok: 204,
    target: true,
    call: (t, u) => api.delete(`/api/admin/users/${u.id}/sessions/${sessionOf(u.tokens.access_token)}`, undefined, { token: t }),
  },
  {
    name: 'POST users/{id}/mfa/reset',
    ok: 204,
    destructive: true,
    target: true,
    call: (t, u) => api.post(`/api/admin/users/${u.id}/mfa/reset`, undefined, { token: t }),
  },
  {
    name: 'POST users/{id}/password-reset',
    ok: 202,
    target: true,
    call: (t, u) => api.post(`/api/admin/users/${u.id}/password-reset`, undefined, { token: t }),
  },
  { name: 'GET roles', ok: 200, call: (t) => api.get('/api/admin/roles', { token: t }) },
  {
    name: 'POST roles',
    ok: 201,
    call: (t) => api.post('/api/admin/roles', { name: `r${Date.now()}x${++roleCounter}`, permissions: ['audit:read'] }, { token: t }),
  },
  {
    name: 'PATCH roles/{name}',
    ok: 200,
    destructive: true,
    role: true,
    call: (t, _u, r) => api.patch(`/api/admin/roles/${r}`, { permissions: ['users:read'] }, { token: t }),
  },
  {
    name: 'DELETE roles/{name}',
    ok: 204,
    destructive: true,
    role: true,
    call: (t, _u, r) => api.delete(`/api/admin/roles/${r}`, undefined, { token: t }),
  },
  { name: 'GET audit', ok: 200, call: (t) => api.get('/api/admin/audit', { token: t }) },
];

const readerAllowed = new Set(['GET users', 'GET users/{id}', 'GET users/{id}/sessions', 'GET roles']);

async function freshRole() {
  const name = `t${Date.now()}x${++roleCounter}`;
  const res = await api.post('/api/admin/roles', { name, permissions: ['audit:read'] }, { token: await adminToken() });
  assertStatus(res, 201);
  return name;
}

test('authorization matrix: every admin route x five callers', async () => {
  const plain = await newUser(api);
  const readerUser = await target();
  assertStatus(
    await api.patch(`/api/admin/users/${readerUser.id}`, { roles: ['reader', 'user'] }, { token: await adminToken() }),
    200,
  );
  const readerToken = (await login(api, readerUser.email, readerUser.password)).access_token;
  const staleToken = await adminToken();
  await sleep((REAUTH_SECONDS + 1) * 1000);

  const callers = [
    { name: 'anonymous', token: async () => undefined, expect: () => [401, 'unauthenticated'] },
    { name: 'user', token: async () => plain.tokens.access_token, expect: () => [403, 'forbidden'] },
    {
      name: 'users:read only',
      token: async () => readerToken,
      expect: (r) => (readerAllowed.has(r.name) ? [r.ok] : [403, 'forbidden']),
    },
    { name: 'admin', token: adminToken, expect: (r) => [r.ok] },
    {
      name: 'admin, stale authentication',
      token: async () => staleToken,
      expect: (r) => (r.destructive ? [401, 'reauthentication_required'] : [r.ok]),
    },
  ];
  for (const route of routes) {
    for (const caller of callers) {
      const u = route.target ? await target() : undefined;
      const r = route.role ? await freshRole() : undefined;
      const token = await caller.token();
      const res = await route.call(token, u, r);
      const [status, code] = caller.expect(route);
      if (code) {
        assertProblem(res, status, code);
      } else {
        assert.equal(res.status, status, `${route.name} as ${caller.name}${describe(res)}`);
      }
      // A refused destructive call changed nothing.
      if (code && u && route.name.startsWith('DELETE')) {
        assertStatus(await api.get(`/api/admin/users/${u.id}`, { token: await adminToken() }), 200);
      }
    }
  }
});

test('ids are UUIDs; unknown and malformed ids are 404; a user cannot reach another user through /api/me', async () => {
  const a = await target();
  const b = await target();
  assert.match(a.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const admin = await adminToken();
  assertProblem(await api.get('/api/admin/users/1', { token: admin }), 404, 'not_found');
  assertProblem(await api.get('/api/admin/users/0190aaaa-0000-7000-8000-000000000000', { token: admin }), 404, 'not_found');
  // /api/me is always the caller's own account.
  const meA = await api.get('/api/me', { token: a.tokens.access_token });
  assert.equal(meA.body.id, a.id);
  // B's sessions cannot be listed or ended by A.
  const sessionsB = await api.get('/api/me/sessions', { token: b.tokens.access_token });
  const sidB = sessionsB.body.sessions[0].id;
  const sessionsA = await api.get('/api/me/sessions', { token: a.tokens.access_token });
  assert.ok(!sessionsA.body.sessions.some((s) => s.id === sidB));
  assertProblem(await api.delete(`/api/me/sessions/${sidB}`, undefined, { token: a.tokens.access_token }), 404, 'not_found');
  assertStatus(await api.get('/api/me', { token: b.tokens.access_token }), 200); // B still signed in
  // Self-service bodies cannot carry roles or status.
  assertProblem(await api.patch('/api/me', { name: 'x', roles: ['admin'] }, { token: a.tokens.access_token }), 400, 'invalid_field', 'roles');
  // Nor can A use admin routes on B.
  assertProblem(await api.patch(`/api/admin/users/${b.id}`, { name: 'pwned' }, { token: a.tokens.access_token }), 403, 'forbidden');
});

test('users: list with search, filters, sort and cursor pages', async () => {
  const admin = await adminToken();
  const prefix = `zz${randomBytes(3).toString('hex')}`;
  const made = [];
  for (let i = 0; i < 5; i++) {
    const res = await api.post('/api/admin/users', { email: `${prefix}${i}@example.com`, name: `N${i}`, email_verified: i % 2 === 0 }, { token: admin });
    assertStatus(res, 201);
    assert.equal(res.body.status, i % 2 === 0 ? 'active' : 'pending');
    assert.equal(res.body.has_password, false);
    made.push(res.body);
  }
  const seen = [];
  let cursor = null;
  for (let page = 0; page < 10; page++) {
    const qs = new URLSearchParams({ q: prefix.toUpperCase(), sort: '-email', limit: '2' });
    if (cursor) qs.set('cursor', cursor);
    const res = await api.get(`/api/admin/users?${qs}`, { token: admin });
    assertStatus(res, 200);
    seen.push(...res.body.users.map((u) => u.email));
    cursor = res.body.next_cursor;
    if (!cursor) break;
  }
  assert.deepEqual(seen, made.map((u) => u.email).sort().reverse());
  const pending = await api.get(`/api/admin/users?q=${prefix}&verified=false`, { token: admin });
  assert.deepEqual(pending.body.users.map((u) => u.email).sort(), [made[1].email, made[3].email]);
  const active = await api.get(`/api/admin/users?q=${prefix}&status=active&role=user`, { token: admin });
  assert.equal(active.body.users.length, 3);
  assertProblem(await api.get('/api/admin/users?limit=0', { token: admin }), 400, 'invalid_field', 'limit');
  assertProblem(await api.get('/api/admin/users?sort=password_hash', { token: admin }), 400, 'invalid_field', 'sort');
  assertProblem(await api.get('/api/admin/users?status=weird', { token: admin }), 400, 'invalid_field', 'status');
  assertProblem(await api.get('/api/admin/users?cursor=%%%', { token: admin }), 400, 'invalid_request');
  assertProblem(await api.get('/api/admin/users?cursor=bm9wZQ', { token: admin }), 400, 'invalid_field', 'cursor');
  assertProblem(await api.get('/api/admin/users?bogus=1', { token: admin }), 400, 'invalid_field', 'bogus');
  assert.doesNotMatch(JSON.stringify(active.body), /argon2|password_hash/);
});

test('last admin, role in use, built-in roles, bad input', async () => {
  const admin = await adminToken();
  const rootId = await userId(admin);
  // Other admins may exist from the matrix test: demote them first, so root is the last one.
  const admins = await api.get('/api/admin/users?role=admin&limit=100', { token: admin });
  for (const u of admins.body.users.filter((x) => x.id !== rootId)) {
    assertStatus(await api.patch(`/api/admin/users/${u.id}`, { roles: ['user'] }, { token: await adminToken() }), 200);
  }
  assertProblem(await api.patch(`/api/admin/users/${rootId}`, { roles: ['user'] }, { token: await adminToken() }), 409, 'last_admin');
  assertProblem(await api.patch(`/api/admin/users/${rootId}`, { status: 'disabled' }, { token: await adminToken() }), 409, 'last_admin');
  assertProblem(await api.delete(`/api/admin/users/${rootId}`, undefined, { token: await adminToken() }), 409, 'last_admin');

  const name = await freshRole();
  const holder = await target();
  assertStatus(await api.patch(`/api/admin/users/${holder.id}`, { roles: [name, 'user'] }, { token: await adminToken() }), 200);
  assertProblem(await api.delete(`/api/admin/roles/${name}`, undefined, { token: await adminToken() }), 409, 'role_in_use');
  assertProblem(await api.delete('/api/admin/roles/admin', undefined, { token: await adminToken() }), 403, 'forbidden');
  assertProblem(await api.patch('/api/admin/roles/user', { permissions: ['users:read'] }, { token: await adminToken() }), 403, 'forbidden');
  assertProblem(await api.post('/api/admin/roles', { name: 'x', permissions: ['root:all'] }, { token: admin }), 400, 'invalid_field', 'permissions');
  assertProblem(await api.post('/api/admin/roles', { name: 'Bad Name', permissions: [] }, { token: admin }), 400, 'invalid_field', 'name');
  assertProblem(await api.patch(`/api/admin/users/${holder.id}`, { roles: ['ghost'] }, { token: admin }), 400, 'invalid_field', 'roles');
  assertProblem(await api.patch(`/api/admin/users/${holder.id}`, { status: 'pending' }, { token: admin }), 400, 'invalid_field', 'status');
  assertProblem(await api.patch(`/api/admin/users/${holder.id}`, { email: 'not-an-email' }, { token: admin }), 400, 'invalid_email');
  assertProblem(await api.post('/api/admin/users', { email: holder.email }, { token: admin }), 409, 'conflict');
  assertProblem(await api.post('/api/admin/users', { email: randomEmail(), password: 'password' }, { token: admin }), 400, 'weak_password');
  const roles = await api.get('/api/admin/roles', { token: admin });
  assert.equal(roles.body.roles.find((r) => r.name === name).users, 1);
  assert.deepEqual(roles.body.roles.find((r) => r.name === 'admin').permissions, roles.body.permissions);
});

async function auditOf(type, subject) {
  const qs = new URLSearchParams({ type, limit: '200' });
  if (subject) qs.set('user', subject);
  const res = await api.get(`/api/admin/audit?${qs}`, { token: await adminToken() });
  assertStatus(res, 200);
  return res.body.events;
}

test('sessions of a user: listed for admins, one revoked; foreign and unknown sessions are 404', async () => {
  const u = await target();
  const second = await login(api, u.email, u.password);
  const other = await target();
  const admin = await adminToken();
  const list = await api.get(`/api/admin/users/${u.id}/sessions`, { token: admin });
  assertStatus(list, 200);
  assert.equal(list.body.sessions.length, 2);
  const ids = list.body.sessions.map((s) => s.id);
  assert.ok(ids.includes(sessionOf(u.tokens.access_token)) && ids.includes(sessionOf(second.access_token)));
  for (const s of list.body.sessions) {
    assert.deepEqual(Object.keys(s).sort(), ['amr', 'created_at', 'current', 'expires_at', 'id', 'ip', 'last_used_at', 'user_agent']);
    assert.equal(s.current, false);
  }
  // Another user's session through this user's path, an unknown and a malformed id: 404.
  const foreign = sessionOf(other.tokens.access_token);
  assertProblem(await api.delete(`/api/admin/users/${u.id}/sessions/${foreign}`, undefined, { token: admin }), 404, 'not_found');
  assertStatus(await api.get('/api/auth/check', { token: other.tokens.access_token }), 200);
  assertProblem(await api.delete(`/api/admin/users/${u.id}/sessions/0190aaaa-0000-7000-8000-000000000001`, undefined, { token: admin }), 404, 'not_found');
  assertProblem(await api.delete(`/api/admin/users/${u.id}/sessions/1`, undefined, { token: admin }), 404, 'not_found');
  // Revoke one: its tokens stop at once, the other session lives on; audited once.
  const sid = sessionOf(u.tokens.access_token);
  assertStatus(await api.delete(`/api/admin/users/${u.id}/sessions/${sid}`, undefined, { token: admin }), 204);
  assertProblem(await api.get('/api/auth/check', { token: u.tokens.access_token }), 401, 'session_revoked');
  assertStatus(await api.get('/api/auth/check', { token: second.access_token }), 200);
  assertProblem(await api.delete(`/api/admin/users/${u.id}/sessions/${sid}`, undefined, { token: admin }), 404, 'not_found');
  const after = await api.get(`/api/admin/users/${u.id}/sessions`, { token: admin });
  assert.deepEqual(after.body.sessions.map((s) => s.id), [sessionOf(second.access_token)]);
  const events = await auditOf('admin.user.session_revoked', u.id);
  assert.equal(events.length, 1, JSON.stringify(events));
  assert.equal(events[0].details.session_id, sid);
});

test('audit: each event type exactly once per action, never a secret', async () => {
  const email = randomEmail('audited');
  const password = strongPassword();
  await signup(api, { email, password });
  const tokens = await login(api, email, password);
  const id = await userId(tokens.access_token);
  assertProblem(await api.post('/api/auth/login', { email, password: `${password}x` }), 401, 'invalid_credentials');
  const newPassword = strongPassword();
  assertStatus(await api.post('/api/me/password', { current: password, new: newPassword }, { token: tokens.access_token }), 204);
  const again = await login(api, email, newPassword);
  assertStatus(await api.post('/api/auth/logout', { refresh_token: again.refresh_token }), 204);
  assertStatus(await api.post('/api/auth/logout', { refresh_token: again.refresh_token }), 204); // idempotent, not audited twice
  const admin = await adminToken();
  assertStatus(await api.patch(`/api/admin/users/${id}`, { name: 'Audited Name' }, { token: admin }), 200);
  assertStatus(await api.post(`/api/admin/users/${id}/sessions/revoke`, undefined, { token: admin }), 200);
  assertStatus(await api.post(`/api/admin/users/${id}/password-reset`, undefined, { token: admin }), 202);

  const once = async (type, outcome) => {
    const events = (await auditOf(type, id)).filter((e) => !outcome || e.outcome === outcome);
    assert.equal(events.length, 1, `${type}/${outcome ?? '*'}: ${JSON.stringify(events)}`);
    return events[0];
  };
  await once('signup');
  // Two password logins: one event each, for their own sessions.
  const logins = (await auditOf('login', id)).filter((e) => e.outcome === 'success');
  assert.equal(logins.length, 2, JSON.stringify(logins));
  assert.equal(new Set(logins.map((e) => e.details.session_id)).size, 2);
  assert.equal(logins[0].ip, '127.0.0.1');
  assert.ok(logins[0].user_agent.length > 0);
  await once('login', 'failure');
  await once('password.changed');
  await once('logout');
  const updated = await once('admin.user.updated');
  assert.deepEqual(updated.details.changes.name, { before: '', after: 'Audited Name' });
  assert.equal(updated.actor_id, await userId(admin));
  await once('admin.user.sessions_revoked');
  await once('admin.user.password_reset_sent');

  const all = await api.get(`/api/admin/audit?user=${id}&limit=200`, { token: admin });
  const text = JSON.stringify(all.body);
  for (const secret of [password, newPassword, tokens.refresh_token, tokens.access_token, again.refresh_token]) {
    assert.ok(!text.includes(secret), 'no secret in the audit log');
  }
  assert.doesNotMatch(text, /argon2|\$2b\$/);
  // Newest first, and time filters work.
  const times = all.body.events.map((e) => Date.parse(e.time));
  assert.deepEqual(times, [...times].sort((x, y) => y - x));
  const future = await api.get(`/api/admin/audit?user=${id}&since=2200-01-01T00:00:00Z`, { token: admin });
  assert.equal(future.body.events.length, 0);
  assertProblem(await api.get('/api/admin/audit?since=yesterday', { token: admin }), 400, 'invalid_field', 'since');
  assertProblem(await api.get('/api/admin/audit?until=9999-01-01T00:00:00Z', { token: admin }), 400, 'invalid_field', 'until');
  // The same events are JSON log lines too.
  const lines = server.output().split('\n').filter((l) => l.includes('"msg":"audit"') && l.includes(id));
  assert.ok(lines.some((l) => l.includes('"event":"admin.user.updated"')), lines.join('\n'));
  for (const secret of [password, newPassword, again.refresh_token]) {
    assert.ok(!lines.some((l) => l.includes(secret)), 'no secret in the audit log lines');
  }
});

test('audit: MFA enrolment, admin MFA reset and a password-reset request, once each and secret-free', async () => {
  const u = await target();
  const token = u.tokens.access_token;
  const start = await api.post('/api/me/mfa/totp', undefined, { token });
  assertStatus(start, 200);
  const auth = new Authenticator(start.body.secret);
  const done = await api.post('/api/me/mfa/totp/confirm', { code: await auth.next() }, { token });
  assertStatus(done, 200);
  const admin = await adminToken();
  const before = await api.get(`/api/admin/users/${u.id}`, { token: admin });
  assert.deepEqual(before.body.factors, { totp: true, sms: false, recovery_codes_left: 10 });
  assert.equal(before.body.sessions_count, 1);
  assertStatus(await api.post(`/api/admin/users/${u.id}/mfa/reset`, undefined, { token: admin }), 204);
  const afterReset = await api.get(`/api/admin/users/${u.id}`, { token: admin });
  assert.deepEqual(afterReset.body.factors, { totp: false, sms: false, recovery_codes_left: 0 });
  assertStatus(await api.post('/api/auth/password/forgot', { email: u.email }), 202);

  for (const type of ['mfa.totp_enabled', 'admin.user.mfa_reset', 'password.reset_requested']) {
    const events = await auditOf(type, u.id);
    assert.equal(events.length, 1, `${type}: ${JSON.stringify(events)}`);
  }
  const text = JSON.stringify((await api.get(`/api/admin/audit?user=${u.id}&limit=200`, { token: admin })).body);
  for (const secret of [start.body.secret, ...done.body.recovery_codes, u.password]) {
    assert.ok(!text.includes(secret), 'no TOTP secret, recovery code or password in the audit log');
  }
});

test('audit: refresh reuse, e-mail change request and MFA disable, once each and secret-free', async () => {
  const u = await target();
  // Refresh reuse: the first token rotated twice, then presented again (its successor is no
  // longer current, so even inside the grace window it is a reuse).
  const r1 = await api.post('/api/auth/refresh', { refresh_token: u.tokens.refresh_token });
  assertStatus(r1, 200);
  const r2 = await api.post('/api/auth/refresh', { refresh_token: r1.body.refresh_token });
  assertStatus(r2, 200);
  assertProblem(await api.post('/api/auth/refresh', { refresh_token: u.tokens.refresh_token }), 401, 'refresh_token_reused');
  // A new session for the rest (the reuse ended the first one).
  const fresh = await login(api, u.email, u.password);
  const t2 = fresh.access_token;
  assertStatus(await api.post('/api/me/email', { new_email: randomEmail('moved'), password: u.password }, { token: t2 }), 202);
  const start = await api.post('/api/me/mfa/totp', undefined, { token: t2 });
  assertStatus(start, 200);
  const auth = new Authenticator(start.body.secret);
  assertStatus(await api.post('/api/me/mfa/totp/confirm', { code: await auth.next() }, { token: t2 }), 200);
  assertStatus(await api.delete('/api/me/mfa/totp', { password: u.password, code: await auth.next() }, { token: t2 }), 204);

  for (const type of ['refresh.reuse_detected', 'email.change_requested', 'mfa.totp_disabled']) {
    const events = await auditOf(type, u.id);
    assert.equal(events.length, 1, `${type}: ${JSON.stringify(events)}`);
  }
  const text = JSON.stringify((await api.get(`/api/admin/audit?user=${u.id}&limit=200`, { token: await adminToken() })).body);
  for (const secret of [u.tokens.refresh_token, r1.body.refresh_token, start.body.secret, u.password]) {
    assert.ok(!text.includes(secret), 'no token, TOTP secret or password in the audit log');
  }
});

test('import: bcrypt and argon2 hashes log in and are re-hashed; idempotent; per-line errors', async () => {
  const admin = await adminToken();
  const pw = [strongPassword(), strongPassword(), strongPassword()];
  const salt = () => randomBytes(16);
  const hashes = [
    await bcrypt({ password: pw[0], salt: salt(), costFactor: 4, outputType: 'encoded' }),
    await argon2id({ password: pw[1], salt: salt(), parallelism: 1, iterations: 2, memorySize: 1024, hashLength: 32, outputType: 'encoded' }),
    await argon2i({ password: pw[2], salt: salt(), parallelism: 1, iterations: 2, memorySize: 1024, hashLength: 32, outputType: 'encoded' }),
  ];
  assert.match(hashes[0], /^\$2[aby]\$04\$/);
  const emails = [randomEmail('bc'), randomEmail('a2id'), randomEmail('a2i')];
  const records = [
    ...emails.map((email, i) => ({ email, name: `Imported ${i}`, password_hash: hashes[i], email_verified: true, created_at: '2020-01-02T03:04:05Z' })),
    { email: 'broken', password_hash: hashes[0] },
    { email: randomEmail('md5'), password_hash: '$1$abc$def' },
    { email: randomEmail('extra'), favourite: 'x' },
  ];
  const dry = await api.post('/api/admin/users/import', { records, dry_run: true }, { token: admin });
  assertStatus(dry, 200);
  assert.deepEqual([dry.body.created, dry.body.skipped, dry.body.errors.length, dry.body.dry_run], [3, 0, 3, true]);
  assertProblem(await api.post('/api/auth/login', { email: emails[0], password: pw[0] }), 401, 'invalid_credentials');

  const res = await api.post('/api/admin/users/import', { records }, { token: admin });
  assertStatus(res, 200);
  assert.equal(res.body.created, 3);
  assert.deepEqual(res.body.errors.map((e) => [e.line, e.code, e.field]), [
    [4, 'invalid_email', 'email'],
    [5, 'invalid_field', 'password_hash'],
    [6, 'invalid_field', 'favourite'],
  ]);
  const again = await api.post('/api/admin/users/import', { records }, { token: admin });
  assert.deepEqual([again.body.created, again.body.skipped], [0, 3]);

  for (let i = 0; i < 3; i++) {
    const tokens = await login(api, emails[i], pw[i]);
    assert.ok(tokens.access_token, `imported user ${i} logs in with the old password`);
    // Logging in again still works after the re-hash to argon2id.
    assert.ok((await login(api, emails[i], pw[i])).access_token);
  }
  const list = await api.get(`/api/admin/users?q=${encodeURIComponent(emails[0])}`, { token: admin });
  assert.equal(list.body.users[0].created_at, '2020-01-02T03:04:05Z');
  const rehashed = await api.get('/api/admin/audit?type=admin.users.imported', { token: admin });
  assert.ok(rehashed.body.events.length >= 2);
});

test('CLI: user import (CSV, --dry-run, --json), get, reset-mfa, delete, role and audit tail with exit codes', async () => {
  const pw = strongPassword();
  const hash = await bcrypt({ password: pw, salt: randomBytes(16), costFactor: 4, outputType: 'encoded' });
  const email = randomEmail('csv');
  const file = path.join(server.dir, 'users.csv');
  writeFileSync(file, `email,name,password_hash,email_verified,roles\n${email},"Kim, Minsu",${hash},true,user\nbad-address,,,,\n`);
  const dry = await cli(['user', 'import', file, '--dry-run', '--json']);
  assert.equal(dry.code, 5, dry.stderr);
  assert.deepEqual(JSON.parse(dry.stdout).created, 1);
  assertProblem(await api.post('/api/auth/login', { email, password: pw }), 401, 'invalid_credentials');
  const real = await cli(['user', 'import', file]);
  assert.equal(real.code, 5, real.stderr);
  assert.match(real.stderr, /users\.csv:3: bad-address/);
  assert.ok((await login(api, email, pw)).access_token);

  const got = await cli(['user', 'get', '--email', email, '--json']);
  assert.equal(got.code, 0, got.stderr);
  const user = JSON.parse(got.stdout);
  assert.equal(user.name, 'Kim, Minsu');
  assert.equal(user.sessions_count, 1);
  assert.ok(!got.stdout.includes(hash));
  assert.equal((await cli(['user', 'reset-mfa', '--email', email])).code, 0);
  assert.equal((await cli(['user', 'get', '--email', 'nobody@example.com'])).code, 3);
  assert.equal((await cli(['role', 'delete', 'admin'])).code, 4);
  assert.equal((await cli(['role', 'create', 'x', '--permission', 'nope'])).code, 2);
  const roles = await cli(['role', 'list', '--json']);
  assert.equal(roles.code, 0);
  assert.ok(roles.stdout.trim().split('\n').map((l) => JSON.parse(l)).some((r) => r.name === 'reader'));
  const del = await cli(['user', 'delete', '--email', email]);
  assert.equal(del.code, 0, del.stderr);
  assertProblem(await api.post('/api/auth/login', { email, password: pw }), 401, 'invalid_credentials');
  const tail = await cli(['audit', 'tail', '--limit', '5', '--json', '--type', 'admin.user.deleted']);
  assert.equal(tail.code, 0, tail.stderr);
  const events = tail.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const deleted = events.filter((e) => e.subject_id === user.id);
  assert.equal(deleted.length, 1, tail.stdout);
  assert.equal(deleted[0].details.via, 'cli');
  assert.equal(deleted[0].actor_id, '');
  const text = await cli(['audit', 'tail', '--limit', '3']);
  assert.equal(text.code, 0, text.stderr);
  assert.equal(text.stdout.trim().split('\n').length, 3);
});
