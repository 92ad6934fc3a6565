// Crash safety (issue 9): `kill -9` of the server in the middle of work, then a restart on the
// same database.
//
// 1. During a sign-up load (20 concurrent clients, e-mail verification on, mail over SMTP to
//    tests/api/mail-sink.mjs), on SQLite and on MariaDB: every sign-up the client saw answered
//    201 exists after the restart; none is half-written (each user row has its password hash,
//    its one verification row and its one outbox message, and no outbox or verification row
//    exists without its user); the outbox delivers every message, and a message is delivered
//    twice at most once per crash (the one the dispatcher had in hand: sent, not yet marked),
//    always with the same Message-ID, so a receiver can tell the copy.
// 2. During refresh rotations of 40 sessions (SQLite, MariaDB): per session, exactly one of the
//    old and the new refresh token works afterwards; JWKS verifies every access token issued.
// 3. `latchkey keys rotate` killed mid-way, then the server: JWKS still verifies every token.
//
// Environment: LATCHKEY_BIN (default build/latchkey); LATCHKEY_TEST_DATABASE_URL (a shared
// MariaDB) instead of a MariaDB this file starts itself with scripts/lib/mariadb.sh (the key
// rotation test then runs on SQLite only: rotating a shared database's keys would change what
// other suites' servers sign with). Needs tests/api/node_modules (npm ci there): mail-sink.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { BIN, runCli, startServer, client, randomHex, randomEmail, strongPassword, assertStatus, signup, login, sleep } from '../api/harness.mjs';
import { startMailSink, extractLinks } from '../api/mail-sink.mjs';
import { startMariaDb, sql, killServer, randomInt, until, verifyWithJwks } from './fault-support.mjs';

let mariadb = null; // our own server, when no shared one is given
const MARIADB_MASTER_KEY = randomHex(32);
let mariadbUrl = null;

before(async () => {
  if (process.env.LATCHKEY_TEST_DATABASE_URL) {
    mariadbUrl = process.env.LATCHKEY_TEST_DATABASE_URL;
  } else {
    mariadb = await startMariaDb();
    mariadbUrl = mariadb.url;
  }
});

after(async () => {
  if (mariadb) await mariadb.close();
});

/** Options of startServer() for a database kind; a restart passes the same ones. */
function databaseOptions(kind) {
  if (kind === 'sqlite') return { sqlite: true };
  // The shared database goes through the harness (its master key matches the stored keys).
  if (mariadbUrl === process.env.LATCHKEY_TEST_DATABASE_URL) return {};
  // Every test of this file uses our MariaDB: one master key seals the signing keys there.
  return { databaseUrl: mariadbUrl, masterKey: MARIADB_MASTER_KEY };
}

const VERIFY_SUBJECT = 'Confirm your e-mail for Latchkey';
const CLIENTS = 20;
const ACKED_BEFORE_KILL = 30;

function mailEnv(sink) {
  return {
    // Room for CLIENTS concurrent sign-ups: the hash queue is capped below the worker count, and
    // this test is about crashes, not about turning a flood away (load.test.mjs tests that).
    LATCHKEY_SERVER_WORKER_THREADS: String(CLIENTS + 8),
    LATCHKEY_SIGNUP_REQUIRE_EMAIL_VERIFICATION: 'true',
    LATCHKEY_MAIL_CHANNEL: 'smtp',
    LATCHKEY_MAIL_SMTP_URL: sink.smtpUrl,
    LATCHKEY_MAIL_SMTP_STARTTLS: 'off',
    LATCHKEY_MAIL_FROM: 'Latchkey Test <no-reply@latchkey.test>',
    LATCHKEY_MAIL_POLL_INTERVAL: '1',
    // A message the killed process held is sent again when its lease runs out: keep it short.
    LATCHKEY_MAIL_SMTP_TIMEOUT: '2',
    LATCHKEY_MAIL_LEASE: '4',
    LATCHKEY_MAIL_RETRY_BASE: '1',
    LATCHKEY_MAIL_RETRY_MAX: '2',
    LATCHKEY_MAIL_MAX_ATTEMPTS: '100',
    LATCHKEY_VERIFICATION_IP_HOURLY_CAP: '1000000',
    LATCHKEY_SECURITY_LOGIN_IP_FREE_ATTEMPTS: '100000',
  };
}

/**
 * CLIENTS loops of sign-ups until stop(). Each sign-up ends as 'acked' (201), 'refused' (any
 * other answer) or 'unknown' (no answer: the server died under it).
 */
function signupLoad(url, prefix) {
  const outcomes = new Map(); // email -> {password, outcome, status}
  let stopping = false;
  let acked = 0;
  const loop = async () => {
    while (!stopping) {
      const email = `${prefix}-${randomHex(6)}@example.com`;
      const password = strongPassword();
      const entry = { password, outcome: 'unknown', status: null };
      outcomes.set(email, entry);
      try {
        const res = await fetch(`${url}/api/auth/signup`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email, password }),
          signal: AbortSignal.timeout(20000),
        });
        await res.arrayBuffer();
        entry.status = res.status;
        entry.outcome = res.status === 201 ? 'acked' : 'refused';
        if (res.status === 201) acked += 1;
      } catch {
        // No answer: the server was killed with this request in flight (or before it was sent).
        return;
      }
    }
  };
  const loops = Array.from({ length: CLIENTS }, loop);
  return {
    outcomes,
    acked: () => acked,
    stop: async () => {
      stopping = true;
      await Promise.all(loops);
    },
  };
}

async function crashDuringSignups(t, kind) {
  const sink = await startMailSink();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lk-fault-crash-'));
  const prefix = `crash-${randomHex(5)}`;
  const env = mailEnv(sink);
  let server = await startServer({ dir, env, ...databaseOptions(kind) });
  const databaseUrl = server.env.LATCHKEY_DATABASE_URL;
  const masterKey = server.env.LATCHKEY_KEYS_MASTER_KEY;
  try {
    const t0 = Date.now();
    const mark = (what) => t.diagnostic(`${kind}: ${what} at ${Date.now() - t0} ms`);
    const load = signupLoad(server.url, prefix);
    await until(() => load.acked() >= ACKED_BEFORE_KILL, `${ACKED_BEFORE_KILL} acknowledged sign-ups`, 30000, 10);
    await sleep(randomInt(0, 300)); // a random point of the load
    await killServer(server);
    await load.stop();
    mark('killed');
    const outcomes = load.outcomes;
    const acked = [...outcomes].filter(([, e]) => e.outcome === 'acked').map(([m]) => m);
    const refused = [...outcomes].filter(([, e]) => e.outcome === 'refused');
    // Under this load every sign-up is served: a refusal would hide lost work from the checks.
    assert.deepEqual(
      refused.map(([m, e]) => `${m}: ${e.status}`),
      [],
      'no sign-up was refused before the kill',
    );

    server = await startServer({ dir, env, databaseUrl, masterKey });
    const api = client(server.url);
    mark('restarted');

    // The outbox drains: every message of this run is sent (a message the killed process held
    // waits for its lease, 4 s). A row goes to `sent` only after the sink answered 250, and the
    // sink stores a message before answering, so the sink then holds every delivery.
    const like = `'${prefix}-%'`;
    await until(
      async () => {
        const rows = await sql(databaseUrl, `SELECT status, COUNT(*) FROM outbox WHERE recipient LIKE ${like} GROUP BY status`);
        return rows.length > 0 && rows.every(([status]) => status === 'sent');
      },
      'every outbox message of the run to be sent',
      30000,
      200,
    );

    mark('drained');
    // No half-written sign-up: each user row has its hash, its verification and its mail.
    const users = await sql(
      databaseUrl,
      `SELECT u.email, u.password_hash, u.state, u.email_verified,
         (SELECT COUNT(*) FROM verifications v WHERE v.user_id = u.id),
         (SELECT COUNT(*) FROM outbox o WHERE o.recipient = u.email),
         (SELECT MIN(o.id) FROM outbox o WHERE o.recipient = u.email)
       FROM users u WHERE u.email LIKE ${like}`,
    );
    const byEmail = new Map(users.map(([email, hash, state, verified, nVerif, nOutbox, outboxId]) => [
      email,
      { hash, state, verified, nVerif: Number(nVerif), nOutbox: Number(nOutbox), outboxId },
    ]));
    const broken = [];
    for (const [email, u] of byEmail) {
      if (!u.hash || !u.hash.startsWith('$argon2id$')) broken.push(`${email}: password_hash ${u.hash}`);
      if (u.state !== 'pending' || Number(u.verified) !== 0) broken.push(`${email}: state ${u.state}/${u.verified}`);
      if (u.nVerif !== 1) broken.push(`${email}: ${u.nVerif} verification rows`);
      if (u.nOutbox !== 1) broken.push(`${email}: ${u.nOutbox} outbox messages`);
    }
    assert.deepEqual(broken, [], 'every user row is whole');
    const orphanMail = await sql(
      databaseUrl,
      `SELECT recipient FROM outbox WHERE recipient LIKE ${like} AND recipient NOT IN (SELECT email FROM users)`,
    );
    assert.deepEqual(orphanMail, [], 'no outbox message without its user');
    const orphanVerif = await sql(
      databaseUrl,
      `SELECT email FROM verifications WHERE email LIKE ${like} AND user_id NOT IN (SELECT id FROM users)`,
    );
    assert.deepEqual(orphanVerif, [], 'no verification row without its user');

    // Every acknowledged sign-up exists; every user is one the clients sent.
    const lost = acked.filter((m) => !byEmail.has(m));
    assert.deepEqual(lost, [], `acknowledged sign-ups lost (of ${acked.length})`);
    const strangers = [...byEmail.keys()].filter((m) => !outcomes.has(m));
    assert.deepEqual(strangers, [], 'users nobody signed up');

    // Mail: one message per user, delivered; a second copy only of the message in hand at the
    // kill, with the same Message-ID.
    const mails = sink.messages().filter((m) => m.envelope.rcptTo.some((r) => r.startsWith(`${prefix}-`)));
    const perRecipient = new Map();
    for (const m of mails) {
      assert.equal(m.envelope.rcptTo.length, 1, 'one recipient per message');
      const to = m.envelope.rcptTo[0];
      if (!perRecipient.has(to)) perRecipient.set(to, []);
      perRecipient.get(to).push(m);
    }
    const mailToNonUser = [...perRecipient.keys()].filter((to) => !byEmail.has(to));
    assert.deepEqual(mailToNonUser, [], 'mail sent for a sign-up that does not exist');
    let copies = 0;
    for (const [email, u] of byEmail) {
      const list = perRecipient.get(email) ?? [];
      assert.ok(list.length >= 1, `the verification mail to ${email} was delivered`);
      const ids = new Set(list.map((m) => m.messageId));
      assert.equal(ids.size, 1, `copies to ${email} share one Message-ID: ${[...ids].join(', ')}`);
      assert.ok(list[0].messageId.startsWith(`<${u.outboxId}@`), `Message-ID ${list[0].messageId} names outbox ${u.outboxId}`);
      assert.equal(list[0].subject, VERIFY_SUBJECT);
      copies += list.length - 1;
    }
    assert.ok(copies <= 1, `at most the one message in hand at the kill is delivered twice; copies: ${copies}`);

    // Every user can finish: verify through the mailed link, then log in.
    for (const email of byEmail.keys()) {
      const links = extractLinks(perRecipient.get(email)[0].text).filter((l) => l.includes('/verify-email?token='));
      assert.equal(links.length, 1, `one verification link to ${email}`);
      const token = new URL(links[0]).searchParams.get('token');
      const res = await api.post('/api/auth/verify-email', { token });
      assertStatus(res, 200);
      await login(api, email, outcomes.get(email).password);
    }
    mark('verified');
    const unknownExisting = [...outcomes].filter(([m, e]) => e.outcome === 'unknown' && byEmail.has(m)).length;
    t.diagnostic(
      `${kind}: ${acked.length} acknowledged, ${byEmail.size} users after restart (${unknownExisting} committed without an answer), ${copies} duplicate deliveries`,
    );
  } finally {
    if (server.child.exitCode === null && server.child.signalCode === null) await server.stop({ keepDir: true });
    rmSync(dir, { recursive: true, force: true });
    await sink.stop();
  }
}

test('kill -9 during a sign-up load on SQLite: nothing acknowledged is lost, nothing half-written, each mail sent once', async (t) => {
  await crashDuringSignups(t, 'sqlite');
});

test('kill -9 during a sign-up load on MariaDB: nothing acknowledged is lost, nothing half-written, each mail sent once', async (t) => {
  await crashDuringSignups(t, 'mariadb');
});

// ---------------------------------------------------------------------------------------------
// 2. kill -9 in the middle of refresh rotations, on SQLite and on MariaDB.
//
// SESSIONS sessions refresh concurrently, each in a loop (every refresh rotates the token),
// and the server is killed at a random point. After the restart, for each session the client
// holds the last refresh token it received (`current`), and knows whether a refresh of it was
// in flight at the kill. The probe order matters, since presenting a rotated token outside the
// grace window ends the whole family (reuse detection):
//   - nothing in flight: `current` works, and the token before it is dead (refresh_token_reused);
//   - in flight: the client never saw the answer, so it retries with `current`. That works
//     either way — the rotation did not commit, or it did and the grace window hands back the
//     same successor — and what it returns works; then `current` is dead.
// So the old and the new token are never both usable, nor both dead. The grace window is set to
// 60 s here so that the restart always fits in it: a client whose retry comes later than
// tokens.refresh_grace after a lost answer gets refresh_token_reused, by design.
// Afterwards JWKS verifies every access token issued before the crash.

const SESSIONS = 40;

const sha256hex = (text) => createHash('sha256').update(text).digest('hex');

async function refreshAt(url, refreshToken) {
  const res = await fetch(`${url}/api/auth/refresh`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refresh_token: refreshToken }),
    signal: AbortSignal.timeout(15000),
  });
  const text = await res.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body };
}

async function jwksOf(url) {
  const res = await fetch(`${url}/.well-known/jwks.json`);
  assert.equal(res.status, 200);
  return res.json();
}

function assertJwksCovers(jwks, accessTokens, what) {
  const failures = [];
  for (const token of accessTokens) {
    const why = verifyWithJwks(token, jwks);
    if (why) failures.push(why);
  }
  assert.deepEqual([...new Set(failures)], [], `JWKS verifies every ${what} (${accessTokens.length})`);
}

async function crashDuringRefreshes(t, kind) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lk-fault-refresh-'));
  const env = { LATCHKEY_TOKENS_REFRESH_GRACE: '60', LATCHKEY_SECURITY_LOGIN_IP_FREE_ATTEMPTS: '100000' };
  let server = await startServer({ dir, env, ...databaseOptions(kind) });
  const databaseUrl = server.env.LATCHKEY_DATABASE_URL;
  const masterKey = server.env.LATCHKEY_KEYS_MASTER_KEY;
  try {
    let api = client(server.url);
    const accessTokens = [];
    const sessions = [];
    for (let u = 0; u < SESSIONS / 8; u += 1) {
      const { email, password } = await signup(api, { email: randomEmail('refresh-crash') });
      for (let i = 0; i < 8; i += 1) {
        const tokens = await login(api, email, password);
        accessTokens.push(tokens.access_token);
        sessions.push({ current: tokens.refresh_token, previous: null, inflight: false, rotations: 0, bad: null });
      }
    }
    let stopping = false;
    const loops = sessions.map(async (s) => {
      while (!stopping) {
        s.inflight = true;
        let res;
        try {
          res = await refreshAt(server.url, s.current);
        } catch {
          return; // killed with this refresh in flight
        }
        s.inflight = false;
        if (res.status !== 200) {
          s.bad = `${res.status} ${JSON.stringify(res.body)}`;
          return;
        }
        s.previous = s.current;
        s.current = res.body.refresh_token;
        s.rotations += 1;
        accessTokens.push(res.body.access_token);
        await sleep(randomInt(0, 30)); // so that some sessions are idle at the kill
      }
    });
    await sleep(randomInt(300, 900));
    await killServer(server);
    stopping = true;
    await Promise.all(loops);
    assert.deepEqual(sessions.filter((s) => s.bad).map((s) => s.bad), [], 'every refresh before the kill succeeded');
    const inflight = sessions.filter((s) => s.inflight).length;
    t.diagnostic(
      `${kind}: ${sessions.reduce((n, s) => n + s.rotations, 0)} rotations, ${inflight} of ${SESSIONS} sessions had a refresh in flight at the kill`,
    );

    // Which in-flight refreshes had committed (the retry then goes through the grace window).
    const rotated = new Set(
      (await sql(databaseUrl, 'SELECT hash FROM refresh_tokens WHERE rotated_at IS NOT NULL')).map(([h]) => h),
    );
    const committed = sessions.filter((s) => s.inflight && rotated.has(sha256hex(s.current))).length;
    assert.equal(
      sessions.filter((s) => !s.inflight && rotated.has(sha256hex(s.current))).length,
      0,
      'no token the client holds from an answered refresh is rotated',
    );
    t.diagnostic(`${kind}: ${committed} in-flight refreshes had committed before the kill`);

    server = await startServer({ dir, env, databaseUrl, masterKey });
    api = client(server.url);
    const fresh = [];
    for (const [i, s] of sessions.entries()) {
      const label = `session ${i} (${s.inflight ? 'refresh in flight' : 'idle'} at the kill, ${s.rotations} rotations)`;
      const first = await refreshAt(server.url, s.current);
      assert.equal(first.status, 200, `${label}: the token the client holds works: ${JSON.stringify(first.body)}`);
      fresh.push(first.body.access_token);
      if (s.inflight) {
        const next = await refreshAt(server.url, first.body.refresh_token);
        assert.equal(next.status, 200, `${label}: the token the retry returned works: ${JSON.stringify(next.body)}`);
        const old = await refreshAt(server.url, s.current);
        assert.equal(old.status, 401, `${label}: the retried token is dead now: ${JSON.stringify(old.body)}`);
        assert.equal(old.body.code, 'refresh_token_reused', label);
      } else if (s.previous) {
        const old = await refreshAt(server.url, s.previous);
        assert.equal(old.status, 401, `${label}: the token before the last one is dead: ${JSON.stringify(old.body)}`);
        assert.equal(old.body.code, 'refresh_token_reused', label);
      }
    }
    const jwks = await jwksOf(server.url);
    assertJwksCovers(jwks, accessTokens, 'access token issued before the kill');
    assertJwksCovers(jwks, fresh, 'access token issued after the restart');
  } finally {
    if (server.child.exitCode === null && server.child.signalCode === null) await server.stop({ keepDir: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

test('kill -9 during refresh rotations on SQLite: per session exactly one of old/new refresh token works', async (t) => {
  await crashDuringRefreshes(t, 'sqlite');
});

test('kill -9 during refresh rotations on MariaDB: per session exactly one of old/new refresh token works', async (t) => {
  await crashDuringRefreshes(t, 'mariadb');
});

// ---------------------------------------------------------------------------------------------
// 3. kill -9 of `latchkey keys rotate` mid-way (several times, at random points of its run), then
//    of the server under a login load; restart. JWKS still verifies every access token issued
//    before, the completed rotation's key is published, `keys list` works, and the server signs
//    with a published key.

async function crashDuringKeyRotation(t, kind) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lk-fault-keys-'));
  const env = { LATCHKEY_SECURITY_LOGIN_IP_FREE_ATTEMPTS: '100000' };
  let server = await startServer({ dir, env, ...databaseOptions(kind) });
  const databaseUrl = server.env.LATCHKEY_DATABASE_URL;
  const masterKey = server.env.LATCHKEY_KEYS_MASTER_KEY;
  const cliEnv = server.env;
  try {
    let api = client(server.url);
    const { email, password } = await signup(api, { email: randomEmail('keys-crash') });
    const accessTokens = [];
    let stopping = false;
    const loops = Array.from({ length: 4 }, async () => {
      while (!stopping) {
        let res;
        try {
          res = await fetch(`${server.url}/api/auth/login`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ email, password }),
            signal: AbortSignal.timeout(15000),
          });
        } catch {
          return; // killed
        }
        const body = await res.json().catch(() => null);
        if (res.status === 200) accessTokens.push(body.access_token);
      }
    });

    // One complete rotation, timed; its key must survive everything below.
    const started = Date.now();
    const full = await runCli(['keys', 'rotate', '--publish-delay', '0'], { env: cliEnv, cwd: dir });
    const took = Date.now() - started;
    assert.equal(full.code, 0, `keys rotate: ${full.stderr}`);
    const completedKid = /key (\S+) is published/.exec(full.stdout)?.[1];
    assert.ok(completedKid, `the new kid in: ${full.stdout}`);

    // Rotations killed at random points of their run.
    const kills = [];
    for (let i = 0; i < 4; i += 1) {
      const child = spawn(BIN, ['keys', 'rotate', '--publish-delay', '0'], {
        cwd: dir,
        env: { PATH: process.env.PATH, HOME: process.env.HOME ?? dir, ...cliEnv },
        stdio: 'ignore',
      });
      const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
      const at = randomInt(0, took);
      await sleep(at);
      child.kill('SIGKILL');
      kills.push(`${at} ms: ${await exited}`);
    }
    t.diagnostic(`${kind}: a full rotation took ${took} ms; rotations killed at ${kills.join(', ')}`);

    await sleep(randomInt(0, 200));
    await killServer(server);
    stopping = true;
    await Promise.all(loops);
    assert.ok(accessTokens.length > 0, 'logins ran before the kill');

    server = await startServer({ dir, env, databaseUrl, masterKey });
    api = client(server.url);
    const jwks = await jwksOf(server.url);
    assertJwksCovers(jwks, accessTokens, 'access token issued before the kill');
    assert.ok(jwks.keys.some((k) => k.kid === completedKid), `the completed rotation's key ${completedKid} is published`);
    const listed = await runCli(['keys', 'list'], { env: cliEnv, cwd: dir });
    assert.equal(listed.code, 0, `keys list: ${listed.stderr}`);
    const active = listed.stdout.split('\n').filter((l) => /\sactive\s/.test(l));
    assert.ok(active.length >= 1, `a key signs now:\n${listed.stdout}`);
    t.diagnostic(`${kind}: ${listed.stdout.trim().split('\n').length} keys after the restart, ${active.length} active`);
    for (const line of listed.stdout.trim().split('\n')) {
      const kid = line.split(/\s+/)[0];
      assert.ok(jwks.keys.some((k) => k.kid === kid), `listed key ${kid} is in JWKS`);
    }
    const after = await login(api, email, password);
    assertJwksCovers(jwks, [after.access_token], 'access token issued after the restart');
  } finally {
    if (server.child.exitCode === null && server.child.signalCode === null) await server.stop({ keepDir: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

test('kill -9 of keys rotate mid-way and of the server on SQLite: JWKS still covers every token', async (t) => {
  await crashDuringKeyRotation(t, 'sqlite');
});

test('kill -9 of keys rotate mid-way and of the server on MariaDB: JWKS still covers every token', async (t) => {
  // Rotating the keys of a shared database would change what the other suites' servers sign with.
  if (process.env.LATCHKEY_TEST_DATABASE_URL) {
    t.skip('needs a private MariaDB (LATCHKEY_TEST_DATABASE_URL is shared)');
    return;
  }
  await crashDuringKeyRotation(t, 'mariadb');
});
