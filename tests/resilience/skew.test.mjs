// Clock skew between replicas (issue 9, "Load and faults"): replicas share the database and the
// master key, so any of them may verify the others' access tokens. A replica whose clock is 20 s
// ahead issues tokens (iat = nbf = its "now") that the others accept within tokens.leeway (30 s);
// one 5 min ahead issues tokens the others refuse (401 invalid_token) although they are otherwise
// valid (the skewed replica itself accepts them).
//
// The skewed clocks come from libfaketime (Debian package `faketime`), preloaded into the real
// binary. Database: LATCHKEY_TEST_DATABASE_URL (MariaDB) when set, else one SQLite file (WAL)
// shared by the three processes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, client, signup, login, assertStatus, assertProblem, decodeJwt, randomHex } from '../api/harness.mjs';

/** libfaketime.so.1 from the `faketime` package (its folder is named after the architecture). */
function findLibfaketime() {
  for (const arch of readdirSync('/usr/lib')) {
    const candidate = path.join('/usr/lib', arch, 'faketime', 'libfaketime.so.1');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('libfaketime.so.1 not found under /usr/lib/*/faketime: install the Debian package faketime');
}

/** Environment that moves the process's wall clock by `offset` ("+20s"); timers stay real. */
function skewed(offset) {
  return {
    LD_PRELOAD: findLibfaketime(),
    FAKETIME: offset,
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
  };
}

let dir;
let shared; // { databaseUrl, masterKey } or {} for the harness's shared MariaDB database
let a; // true clock
let ahead20;
let ahead300;

before(async () => {
  if (process.env.LATCHKEY_TEST_DATABASE_URL) {
    shared = {}; // the harness gives every server the shared database and its master key
  } else {
    dir = mkdtempSync(path.join(os.tmpdir(), 'latchkey-skew-'));
    shared = { databaseUrl: `sqlite://${path.join(dir, 'shared.db')}`, masterKey: randomHex(32) };
  }
  // Replicas behind one name issue and accept tokens of one issuer (each has its own port here).
  const issuer = { LATCHKEY_TOKENS_ISSUER: 'http://latchkey.test' };
  a = await startServer({ ...shared, env: issuer });
  ahead20 = await startServer({ ...shared, env: { ...issuer, ...skewed('+20s') } });
  ahead300 = await startServer({ ...shared, env: { ...issuer, ...skewed('+300s') } });
});

after(async () => {
  await ahead300?.stop();
  await ahead20?.stop();
  await a?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Logs in on `replica` and returns the access token, checking the replica's clock offset from its iat. */
async function tokenFrom(replica, user, expectedOffsetS) {
  const tokens = await login(client(replica.url), user.email, user.password);
  const { iat, nbf } = decodeJwt(tokens.access_token).payload;
  const offset = iat - Date.now() / 1000;
  assert.ok(
    Math.abs(offset - expectedOffsetS) < 3,
    `the replica's clock is ${expectedOffsetS} s ahead: iat is ${offset.toFixed(1)} s from now (is libfaketime working?)`,
  );
  assert.equal(nbf, iat, 'nbf = iat');
  return tokens.access_token;
}

test('a token from a replica 20 s ahead is accepted by the others (within the 30 s leeway)', async () => {
  const user = await signup(client(a.url));
  const token = await tokenFrom(ahead20, user, 20);
  const check = await client(a.url).get('/api/auth/check', { token });
  assertStatus(check, 200);
  const me = await client(a.url).get('/api/me', { token });
  assertStatus(me, 200);
  assert.equal(me.body.email, user.email);
  assert.equal(check.headers.get('x-auth-email'), user.email);
});

test('a token from a replica 5 min ahead is refused by the others, though valid on its own clock', async () => {
  const user = await signup(client(a.url));
  const token = await tokenFrom(ahead300, user, 300);
  assertProblem(await client(a.url).get('/api/auth/check', { token }), 401, 'invalid_token');
  assertProblem(await client(a.url).get('/api/me', { token }), 401, 'invalid_token');
  assertProblem(await client(ahead20.url).get('/api/auth/check', { token }), 401, 'invalid_token');
  // The same token on the replica that issued it (its clock agrees with the token): accepted, so
  // the refusals above are the clock check and nothing else.
  assertStatus(await client(ahead300.url).get('/api/auth/check', { token }), 200);
});

test('tokens from the true clock are accepted by a replica 20 s ahead', async () => {
  const user = await signup(client(a.url));
  const token = await tokenFrom(a, user, 0);
  assertStatus(await client(ahead20.url).get('/api/auth/check', { token }), 200);
});
