// Shared state in Redis (kv.url): two replicas on one database and one Redis. Revocations and
// login throttling are shared; when Redis goes down, throttled actions fail closed with 503,
// token checks keep working from each replica's local copy of the revocation set (filled from
// the database twice a second), and everything recovers by itself when Redis is back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  startServer,
  client,
  assertProblem,
  assertStatus,
  newUser,
  login,
  randomHex,
  sleep,
} from './harness.mjs';
import { startRedis } from './redis-server.mjs';

let redis;
let dir;
let a;
let b;
let apiA;
let apiB;

before(async () => {
  redis = await startRedis();
  dir = mkdtempSync(path.join(os.tmpdir(), 'latchkey-kv-'));
  // One database for both replicas: the suite's shared one (MariaDB run) or a SQLite file.
  const shared = process.env.LATCHKEY_TEST_DATABASE_URL
    ? {}
    : { databaseUrl: `sqlite://${path.join(dir, 'shared.db')}`, masterKey: randomHex(32) };
  const env = {
    LATCHKEY_KV_URL: redis.url,
    LATCHKEY_KV_TIMEOUT_MS: '300',
    LATCHKEY_TOKENS_ISSUER: 'https://id.latchkey.test', // one issuer for both replicas
    LATCHKEY_SECURITY_LOGIN_FREE_ATTEMPTS: '4',
    LATCHKEY_SECURITY_LOGIN_IP_FREE_ATTEMPTS: '100000',
  };
  a = await startServer({ ...shared, env });
  b = await startServer({ ...shared, env });
  apiA = client(a.url);
  apiB = client(b.url);
});

after(async () => {
  await a?.stop();
  await b?.stop();
  await redis?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function checkOn(api, token) {
  return api.get('/api/auth/check', { token });
}

test('a logout on replica A is refused by replica B at once', async () => {
  const user = await newUser(apiA);
  const token = user.tokens.access_token;
  assertStatus(await checkOn(apiB, token), 200);
  const out = await apiA.post('/api/auth/logout', { refresh_token: user.tokens.refresh_token });
  assertStatus(out, 204);
  assertProblem(await checkOn(apiB, token), 401, 'session_revoked');
});

test('failed logins on both replicas count against one lockout', async () => {
  const user = await newUser(apiA);
  // 4 free attempts per account: two on each replica, then the fifth (on either) is throttled.
  for (const api of [apiA, apiB, apiA, apiB]) {
    assertProblem(await api.post('/api/auth/login', { email: user.email, password: 'wrong password 1' }), 401, 'invalid_credentials');
  }
  const res = await apiB.post('/api/auth/login', { email: user.email, password: 'wrong password 1' });
  assertProblem(res, 429, 'rate_limited');
  const onA = await apiA.post('/api/auth/login', { email: user.email, password: user.password });
  assertProblem(onA, 429, 'rate_limited');
});

test('Redis down: throttled actions fail closed, token checks keep working, and it recovers', async () => {
  const user = await newUser(apiA);
  const other = await newUser(apiB);
  await redis.stop();
  try {
    // Login needs the throttle counters: 503, never a success without them.
    const res = await apiA.post('/api/auth/login', { email: user.email, password: user.password });
    assertProblem(res, 503, 'unavailable');
    // A valid token is still accepted on both replicas (local copy of the revocation set).
    assertStatus(await checkOn(apiA, user.tokens.access_token), 200);
    assertStatus(await checkOn(apiB, user.tokens.access_token), 200);
    // A logout on A during the outage reaches B through the database within a second.
    const out = await apiA.post('/api/auth/logout', { refresh_token: other.tokens.refresh_token });
    assertStatus(out, 204);
    assertProblem(await checkOn(apiA, other.tokens.access_token), 401, 'session_revoked');
    const deadline = Date.now() + 1000;
    let refused = false;
    while (!refused && Date.now() < deadline + 500) {
      const r = await checkOn(apiB, other.tokens.access_token);
      refused = r.status === 401;
      if (!refused) await sleep(50);
    }
    assert.ok(refused, 'replica B refuses the revoked session within about a second');
    // /readyz says not ready while Redis is away; /healthz stays up.
    assertStatus(await apiA.get('/readyz'), 503);
    assertStatus(await apiA.get('/healthz'), 200);
  } finally {
    await redis.start();
  }
  // Back: after at most the one-second reconnect back-off, logins work again, on both replicas.
  let ok = null;
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const res = await apiB.post('/api/auth/login', { email: user.email, password: user.password });
    if (res.status === 200) {
      ok = res;
      break;
    }
    assertProblem(res, 503, 'unavailable');
    await sleep(200);
  }
  assert.ok(ok, 'login works again once Redis is back');
  assertStatus(await apiA.get('/readyz'), 200);
  const again = await login(apiA, user.email, user.password);
  assert.ok(again.access_token);
  // The revocation made during the outage still holds (Redis restarted empty).
  assertProblem(await checkOn(apiA, other.tokens.access_token), 401, 'session_revoked');
  assertProblem(await checkOn(apiB, other.tokens.access_token), 401, 'session_revoked');
});
