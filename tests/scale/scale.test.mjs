// Scale-out, all on loopback: nginx (deploy/nginx.conf, TLS with a throwaway certificate) in
// front of two Latchkey replicas on one MariaDB and one Redis, and the example API server
// (latchkey-notes) that verifies tokens itself through nginx (JWKS + /api/auth/check, its
// revocation check cached for NOTES_CHECK_CACHE_MS = 500 ms).
//
// Environment (scripts/test sets them):
//   LATCHKEY_TEST_DATABASE_URL   MariaDB, required (locally: scripts/lib/mariadb.sh)
//   LATCHKEY_BIN                 latchkey (default ../../build/latchkey)
//   LATCHKEY_NOTES_BIN           latchkey-notes (default ../../build/examples/api-server/latchkey-notes)
// Needs nginx with auth_request (Debian nginx-light), redis-server and openssl.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  startServer,
  runCli,
  client,
  assertProblem,
  assertStatus,
  describe as describeAnswer,
  newUser,
  decodeJwt,
  freePort,
  sleep,
} from '../api/harness.mjs';
import { startRedis } from '../api/redis-server.mjs';
import { makeCertificate } from '../api/mail-sink.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, '../..');
const NOTES_BIN = path.resolve(here, process.env.LATCHKEY_NOTES_BIN || '../../build/examples/api-server/latchkey-notes');

// Children started here (the harness reaps the Latchkey replicas itself).
const children = new Set();
process.on('exit', () => {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

let dir;
let redis;
let nginx;
let nginxProc; // set as soon as nginx is spawned
let notes;
let notesProc;
let origin; // https://127.0.0.1:PORT: nginx, the issuer, Latchkey's public_url
let tls; // { certFile, cert }
let agent;
let a;
let b;
let portA;
let replicaEnv;
let apiA;
let apiB;
let edge; // the client through nginx (HTTPS)

// ---------------------------------------------------------------------------------------------
// Processes

function spawnTracked(bin, args, options) {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  children.add(child);
  let output = '';
  const collect = (chunk) => {
    output += chunk.toString();
    if (output.length > 1 << 20) output = output.slice(-(1 << 19));
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let exitInfo = null;
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      children.delete(child);
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
  });
  return { child, exited, output: () => output, exitInfo: () => exitInfo };
}

/** Polls `probe` (true when ready) until `ms` have passed; fails with what the process said. */
async function waitUntil(what, proc, probe, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (proc.exitInfo()) throw new Error(`${what} exited (${JSON.stringify(proc.exitInfo())}):\n${proc.output().slice(-4000)}`);
    try {
      if (await probe()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${what} was not ready within ${ms} ms:\n${proc.output().slice(-4000)}`);
    await sleep(50);
  }
}

async function stopTracked(proc, signal = 'SIGTERM') {
  if (!proc || proc.exitInfo()) return;
  proc.child.kill(signal);
  const timeout = sleep(5000).then(() => 'timeout');
  if ((await Promise.race([proc.exited, timeout])) === 'timeout') {
    proc.child.kill('SIGKILL');
    await proc.exited;
  }
}

async function startNginx({ latchkeyA, latchkeyB, notesAddr }) {
  const which = spawnSync('sh', ['-c', 'command -v nginx || ls /usr/sbin/nginx'], { encoding: 'utf8' });
  if (which.status !== 0) throw new Error('nginx not found (apt-get install nginx-light)');
  const bin = which.stdout.trim().split('\n')[0];
  const run = path.join(dir, 'nginx');
  mkdirSync(run);
  chmodSync(run, 0o755); // nginx workers drop to another user when started as root
  const [httpPort, httpsPort, whoamiPort] = [await freePort(), await freePort(), await freePort()];
  const values = {
    RUN_DIR: run,
    HTTP_PORT: `127.0.0.1:${httpPort}`,
    HTTPS_PORT: `127.0.0.1:${httpsPort}`,
    SERVER_NAME: '127.0.0.1 localhost',
    PUBLIC_ORIGIN: `https://127.0.0.1:${httpsPort}`,
    TLS_CERT: tls.certFile,
    TLS_KEY: tls.keyFile,
    LATCHKEY_A: latchkeyA,
    LATCHKEY_B: latchkeyB,
    NOTES: notesAddr,
    WHOAMI_ADDR: `127.0.0.1:${whoamiPort}`,
  };
  const template = readFileSync(path.join(ROOT, 'deploy/nginx.conf'), 'utf8');
  const conf = template.replace(/@([A-Z_]+)@/g, (m, name) => values[name] ?? m);
  const left = conf.split('\n').filter((line) => !/^\s*#/.test(line) && /@[A-Z_]+@/.test(line));
  if (left.length > 0) throw new Error(`deploy/nginx.conf: placeholders left:\n${left.join('\n')}`);
  const confFile = path.join(run, 'nginx.conf');
  writeFileSync(confFile, conf);
  const proc = spawnTracked(bin, ['-p', run, '-e', path.join(run, 'error.log'), '-c', confFile, '-g', 'daemon off;']);
  const output = proc.output;
  proc.output = () => `${output()}\n${readIfExists(path.join(run, 'error.log'))}`;
  proc.accessLog = () => readIfExists(path.join(run, 'access.log'));
  const url = `https://127.0.0.1:${httpsPort}`;
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  nginxProc = proc; // stopped by after() even when it never gets ready
  // Ready once the plain-HTTP listener redirects (no upstream involved: probing a replica that
  // is not started yet would mark it failed for fail_timeout).
  await waitUntil('nginx', proc, async () => {
    const res = await fetch(`${httpUrl}/`, { redirect: 'manual', signal: AbortSignal.timeout(500) });
    await res.arrayBuffer();
    return res.status === 301;
  });
  return { ...proc, url, httpUrl };
}

function readIfExists(file) {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

async function startNotes(port) {
  if (!existsSync(NOTES_BIN)) throw new Error(`latchkey-notes not found at ${NOTES_BIN} (set LATCHKEY_NOTES_BIN)`);
  const env = {
    PATH: process.env.PATH,
    NOTES_LISTEN: `127.0.0.1:${port}`,
    NOTES_LATCHKEY_URL: origin, // through nginx, over HTTPS
    NOTES_CA_FILE: tls.certFile,
    NOTES_JWKS_MIN_REFETCH: '1',
    NOTES_CHECK_CACHE_MS: '500',
    NOTES_LOG_LEVEL: 'warn',
  };
  const proc = spawnTracked(NOTES_BIN, [], { env });
  notesProc = proc;
  const url = `http://127.0.0.1:${port}`;
  await waitUntil('latchkey-notes', proc, async () => {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(500) });
    await res.arrayBuffer();
    return res.status === 200;
  });
  return { ...proc, url };
}

// ---------------------------------------------------------------------------------------------
// HTTPS through nginx, trusting the throwaway CA. Same answer shape as the harness's request().

function httpsRequest(base, method, pathname, opts = {}) {
  const headers = { ...(opts.headers ?? {}) };
  let body;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  }
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const u = new URL(pathname, base);
  return new Promise((resolve, reject) => {
    const req = https.request(
      u,
      { method, headers, agent: opts.agent ?? agent, ca: tls.cert, timeout: opts.timeoutMs ?? 15000 },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            for (const one of Array.isArray(v) ? v : [v]) h.append(k, one);
          }
          let parsed;
          if (/json/.test(h.get('content-type') ?? '') && text.length > 0) {
            try {
              parsed = JSON.parse(text);
            } catch {
              parsed = undefined;
            }
          }
          resolve({
            status: res.statusCode,
            headers: h,
            text,
            body: parsed,
            setCookies: h.getSetCookie(),
            request: { method, path: pathname, headers: Object.keys(headers), body: opts.json ? '<json>' : undefined },
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${pathname}: timeout`)));
    req.on('error', reject);
    req.end(body);
  });
}

function httpsClient(url) {
  const c = (method, pathname, opts) => httpsRequest(url, method, pathname, opts);
  c.get = (p, o) => httpsRequest(url, 'GET', p, o);
  c.post = (p, json, o = {}) => httpsRequest(url, 'POST', p, { ...o, json });
  c.url = url;
  return c;
}

/**
 * A problem answer from the notes API or from nginx itself: the harness's assertProblem minus
 * request_id, which only Latchkey adds.
 */
function assertEdgeProblem(res, status, code) {
  assertStatus(res, status);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/, `content-type${describeAnswer(res)}`);
  assert.equal(res.body?.code, code, `problem code${describeAnswer(res)}`);
  assert.equal(res.body.status, status, `problem status member${describeAnswer(res)}`);
  for (const member of ['type', 'title', 'detail']) {
    assert.equal(typeof res.body[member], 'string', `problem ${member}${describeAnswer(res)}`);
  }
}

/** Polls `attempt` (returns true when the expected answer came) for at most `ms`. */
async function within(ms, attempt) {
  const start = Date.now();
  for (;;) {
    if (await attempt()) return Date.now() - start;
    if (Date.now() - start > ms) return null;
    await sleep(25);
  }
}

// ---------------------------------------------------------------------------------------------

before(async () => {
  if (!process.env.LATCHKEY_TEST_DATABASE_URL) {
    throw new Error(
      'LATCHKEY_TEST_DATABASE_URL (MariaDB) is required: scripts/test sets it; locally run ' +
        '`source scripts/lib/mariadb.sh; mariadb_start /tmp/m 33306` and export the URL it prints',
    );
  }
  dir = mkdtempSync(path.join(os.tmpdir(), 'latchkey-scale-'));
  chmodSync(dir, 0o755);
  tls = await makeCertificate(dir);
  agent = new https.Agent({ keepAlive: true, ca: tls.cert, maxSockets: 16 });
  redis = await startRedis();

  // Ports first: nginx needs the upstream addresses, the replicas need nginx's origin.
  portA = await freePort();
  const portB = await freePort();
  const portNotes = await freePort();
  nginx = await startNginx({
    latchkeyA: `127.0.0.1:${portA}`,
    latchkeyB: `127.0.0.1:${portB}`,
    notesAddr: `127.0.0.1:${portNotes}`,
  });
  origin = nginx.url;
  edge = httpsClient(origin);

  replicaEnv = {
    LATCHKEY_KV_URL: redis.url,
    LATCHKEY_KV_TIMEOUT_MS: '300',
    LATCHKEY_SERVER_PUBLIC_URL: origin,
    LATCHKEY_TOKENS_ISSUER: origin,
    LATCHKEY_SERVER_TRUSTED_PROXIES: '127.0.0.1',
    LATCHKEY_SECURITY_LOGIN_FREE_ATTEMPTS: '4',
    LATCHKEY_SECURITY_LOGIN_IP_FREE_ATTEMPTS: '100000',
  };
  a = await startServer({ port: portA, env: replicaEnv });
  b = await startServer({ port: portB, env: replicaEnv });
  apiA = client(a.url);
  apiB = client(b.url);
  notes = await startNotes(portNotes);
});

after(async () => {
  await stopTracked(notesProc);
  await a?.stop();
  await b?.stop();
  await stopTracked(nginxProc, 'SIGQUIT');
  await redis?.close();
  agent?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('HTTPS through nginx: login, refresh on A then on B, logout on A is refused on B and by the notes API within 1 s', async () => {
  // Plain HTTP only redirects.
  const plain = await fetch(`${nginx.httpUrl}/api/auth/login`, { redirect: 'manual' });
  assert.equal(plain.status, 301);
  assert.equal(plain.headers.get('location'), `${origin}/api/auth/login`);

  const user = await newUser(apiA); // sign up on A; the login below goes through nginx
  const res = await edge.post('/api/auth/login', { email: user.email, password: user.password });
  assertStatus(res, 200);
  assert.equal(res.headers.get('strict-transport-security'), 'max-age=31536000; includeSubDomains');
  const first = res.body;
  assert.equal(decodeJwt(first.access_token).payload.iss, origin);

  // The notes API (behind the same nginx) accepts the token: JWKS and check through nginx.
  const created = await edge.post('/api/notes', { title: 'scale' }, { token: first.access_token });
  assertStatus(created, 201);
  assert.equal(created.body.owner, decodeJwt(first.access_token).payload.sub);

  // auth_request example: nginx asks Latchkey and passes the identity on.
  const who = await edge.get('/whoami/', { token: first.access_token });
  assertStatus(who, 200);
  assert.match(who.text, new RegExp(`email: ${user.email.replace(/[.]/g, '\\.')}`));

  // Refresh on A, then the successor on B: one session across replicas.
  const onA = await apiA.post('/api/auth/refresh', { refresh_token: first.refresh_token });
  assertStatus(onA, 200);
  const onB = await apiB.post('/api/auth/refresh', { refresh_token: onA.body.refresh_token });
  assertStatus(onB, 200);
  assert.notEqual(onB.body.refresh_token, onA.body.refresh_token);
  const token = onB.body.access_token;
  assertStatus(await apiB.get('/api/auth/check', { token }), 200);
  assertStatus(await edge.get('/api/notes', { token }), 200);

  // Log out on A; B and the notes API refuse within a second.
  const out = await apiA.post('/api/auth/logout', { refresh_token: onB.body.refresh_token });
  assertStatus(out, 204);
  let last;
  const onBAfter = await within(1000, async () => {
    last = await apiB.get('/api/auth/check', { token });
    return last.status === 401;
  });
  assert.ok(onBAfter !== null, `replica B still accepts the token 1 s after logout${describeAnswer(last)}`);
  assertProblem(last, 401, 'session_revoked');
  const notesAfter = await within(1000, async () => {
    last = await edge.get('/api/notes', { token });
    return last.status === 401;
  });
  assert.ok(notesAfter !== null, `the notes API still accepts the token 1 s after logout${describeAnswer(last)}`);
  assertEdgeProblem(last, 401, 'token_revoked');
  // auth_request refuses too (nginx's own problem answer, no request_id).
  assertEdgeProblem(await edge.get('/whoami/', { token }), 401, 'invalid_token');
  console.log(`# refused on B after ${onBAfter} ms, by the notes API after ${notesAfter} ms`);
});

test('the login throttle counts attempts on both replicas', async () => {
  const user = await newUser(apiA);
  // 4 free attempts per account: two on each replica, then the fifth (through nginx) is throttled.
  for (const api of [apiA, apiB, apiA, apiB]) {
    assertProblem(await api.post('/api/auth/login', { email: user.email, password: 'wrong password 1' }), 401, 'invalid_credentials');
  }
  assertProblem(await edge.post('/api/auth/login', { email: user.email, password: 'wrong password 1' }), 429, 'rate_limited');
  assertProblem(await apiA.post('/api/auth/login', { email: user.email, password: user.password }), 429, 'rate_limited');
  assertProblem(await apiB.post('/api/auth/login', { email: user.email, password: user.password }), 429, 'rate_limited');
});

test('keys rotate on A: the new key is published first, then signs, and its tokens verify on the notes API', async () => {
  const user = await newUser(apiA);
  const oldKid = decodeJwt(user.tokens.access_token).header.kid;
  assertStatus(await edge.get('/api/notes', { token: user.tokens.access_token }), 200);
  const jwksBefore = await edge.get('/.well-known/jwks.json');
  assertStatus(jwksBefore, 200);
  const kidsBefore = new Set(jwksBefore.body.keys.map((k) => k.kid));

  // Run the CLI with A's configuration: publish now, sign 2 s later.
  const rotated = await runCli(['keys', 'rotate', '--publish-delay', '2s'], { env: a.env, cwd: dir });
  assert.equal(rotated.code, 0, rotated.stderr);
  const rotatedAt = Date.now();
  // Running replicas reload the key ring from the database once a minute; a rolling restart
  // (as in an upgrade) picks the rotation up at once. nginx fails over during each restart.
  // (Without the restart and with --publish-delay 0s, a replica that has not reloaded yet
  // answers invalid_token for the new key's tokens and serves a JWKS without it.)
  await a.stop();
  a = await startServer({ port: portA, env: replicaEnv });
  apiA = client(a.url);
  await b.stop();
  b = await startServer({ port: b.env.LATCHKEY_SERVER_LISTEN.split(':')[1], env: replicaEnv });
  apiB = client(b.url);

  // Published on both replicas before it signs.
  const published = [];
  for (const api of [apiA, apiB]) {
    const jwks = await api.get('/.well-known/jwks.json');
    assertStatus(jwks, 200);
    published.push(jwks.body.keys.map((k) => k.kid).filter((kid) => !kidsBefore.has(kid)));
  }
  assert.equal(published[0].length, 1, `one new key in A's JWKS: ${JSON.stringify(published)}`);
  assert.deepEqual(published[1], published[0], "B's JWKS has the same new key");
  const newKid = published[0][0];
  assert.ok(rotated.stdout.includes(newKid), `rotate printed the new kid ${newKid}: ${rotated.stdout}`);

  // Once the delay is over, logins through nginx get tokens signed with the new key. (Not timed
  // exactly: the database may store signs_from truncated to the second.)
  let fresh;
  const switched = await within(5000, async () => {
    fresh = (await edge.post('/api/auth/login', { email: user.email, password: user.password })).body;
    return decodeJwt(fresh.access_token).header.kid === newKid;
  });
  assert.ok(switched !== null, 'tokens are signed with the new key after the publish delay');

  // The notes API has cached the old JWKS: an unknown kid makes it refetch (at most once a
  // second with NOTES_JWKS_MIN_REFETCH=1).
  let last;
  const took = await within(3000, async () => {
    last = await edge.get('/api/notes', { token: fresh.access_token });
    return last.status === 200;
  });
  assert.ok(took !== null, `the notes API does not accept a token signed with the new key${describeAnswer(last)}`);
  assert.equal(last.body.notes.length, 0);
  // Tokens signed with the retired key still verify everywhere until they expire.
  assertStatus(await edge.get('/api/notes', { token: user.tokens.access_token }), 200);
  assertStatus(await apiA.get('/api/auth/check', { token: user.tokens.access_token }), 200);
  assertStatus(await apiB.get('/api/auth/check', { token: fresh.access_token }), 200);
  console.log(`# new key signed ${Date.now() - rotatedAt} ms after rotate; notes API accepted it after ${took} ms`);
});

test('Redis down: login through nginx answers 503, checks keep working, and it recovers', async () => {
  const user = await newUser(apiA);
  const other = await newUser(apiB);
  await redis.stop();
  try {
    assertProblem(await edge.post('/api/auth/login', { email: user.email, password: user.password }), 503, 'unavailable');
    assertProblem(await apiA.post('/api/auth/login', { email: user.email, password: user.password }), 503, 'unavailable');
    assertProblem(await apiB.post('/api/auth/login', { email: user.email, password: user.password }), 503, 'unavailable');
    // Token checks: both replicas, nginx's auth_request and the notes API.
    const token = user.tokens.access_token;
    assertStatus(await apiA.get('/api/auth/check', { token }), 200);
    assertStatus(await apiB.get('/api/auth/check', { token }), 200);
    assertStatus(await edge.get('/whoami/', { token }), 200);
    assertStatus(await edge.get('/api/notes', { token }), 200);
    // A logout during the outage still reaches the other replica (through the database).
    assertStatus(await apiA.post('/api/auth/logout', { refresh_token: other.tokens.refresh_token }), 204);
    let last;
    const took = await within(1000, async () => {
      last = await apiB.get('/api/auth/check', { token: other.tokens.access_token });
      return last.status === 401;
    });
    assert.ok(took !== null, `replica B accepts a token revoked during the outage${describeAnswer(last)}`);
    assertProblem(last, 401, 'session_revoked');
  } finally {
    await redis.start();
  }
  // Both replicas reconnect by themselves (one-second back-off).
  for (const api of [apiA, apiB]) {
    let last;
    const took = await within(5000, async () => {
      last = await api.post('/api/auth/login', { email: user.email, password: user.password });
      if (last.status !== 200) assertProblem(last, 503, 'unavailable');
      return last.status === 200;
    });
    assert.ok(took !== null, `login does not work again after Redis is back${describeAnswer(last)}`);
  }
  assertStatus(await edge.post('/api/auth/login', { email: user.email, password: user.password }), 200);
  // Nothing lost: the revocation made during the outage holds everywhere (Redis restarted empty).
  assertProblem(await apiA.get('/api/auth/check', { token: other.tokens.access_token }), 401, 'session_revoked');
  assertProblem(await apiB.get('/api/auth/check', { token: other.tokens.access_token }), 401, 'session_revoked');
  assertEdgeProblem(await edge.get('/api/notes', { token: other.tokens.access_token }), 401, 'token_revoked');
});

test('replica A stops under load: nginx fails over, no request started after the stop fails', async () => {
  const user = await newUser(apiB);
  const token = user.tokens.access_token;
  const results = [];
  let running = true;
  let stopAt = Infinity;
  // Four clients, each with its own keep-alive connection pool, alternating a check through
  // nginx (Latchkey) and a notes listing (notes API -> nginx -> Latchkey).
  const worker = async (i) => {
    const own = new https.Agent({ keepAlive: true, ca: tls.cert, maxSockets: 1 });
    try {
      for (let n = 0; running; n++) {
        const pathname = (n + i) % 2 === 0 ? '/api/auth/check' : '/api/notes';
        const start = performance.now();
        try {
          const res = await edge.get(pathname, { token, agent: own, timeoutMs: 5000 });
          results.push({ start, pathname, status: res.status, text: res.text.slice(0, 300) });
        } catch (err) {
          results.push({ start, pathname, status: 0, text: String(err) });
        }
      }
    } finally {
      own.destroy();
    }
  };
  const logAtStart = nginx.accessLog().length;
  const workers = [0, 1, 2, 3].map(worker);
  await sleep(300); // a steady load
  const logAtStop = nginx.accessLog().length;
  stopAt = performance.now();
  await a.stop(); // SIGTERM; asserts a clean exit
  const stoppedAt = performance.now();
  const logAtExit = nginx.accessLog().length;
  await sleep(1000); // load keeps running against B alone
  running = false;
  await Promise.all(workers);

  const after = results.filter((r) => r.start >= stopAt);
  const failed = after.filter((r) => r.status !== 200);
  assert.deepEqual(failed, [], 'requests that started after replica A was stopped');
  assert.ok(
    after.filter((r) => r.start >= stoppedAt).length >= 20,
    'enough requests after A exited to prove the failover',
  );
  const before = results.filter((r) => r.start < stopAt);
  assert.ok(before.length >= 10, 'a steady load before the stop');
  // nginx's access log: the load reached both replicas before the stop; once A had exited,
  // every check was answered 200 by B (after a refused attempt on A, at most).
  const log = nginx.accessLog();
  const checks = (from, to) =>
    log
      .slice(from, to)
      .split('\n')
      .filter((line) => line.includes('"GET /api/auth/check '))
      .map((line) => ({ line, status: / (\d{3}) \d+ /.exec(line)?.[1], upstream: /upstream=(.*) upstream_status/.exec(line)?.[1] }));
  const beforeStop = checks(logAtStart, logAtStop);
  const latchkeyA = `127.0.0.1:${portA}`;
  const latchkeyB = b.url.replace('http://', '');
  assert.ok(beforeStop.some((c) => c.upstream === latchkeyA), 'the load reached replica A before the stop');
  assert.ok(beforeStop.some((c) => c.upstream === latchkeyB), 'the load reached replica B before the stop');
  const afterExit = checks(logAtExit);
  assert.ok(afterExit.length >= 20, 'checks logged after A exited');
  for (const c of afterExit) {
    assert.equal(c.status, '200', c.line);
    assert.ok(c.upstream === latchkeyB || c.upstream === `${latchkeyA}, ${latchkeyB}`, c.line);
  }
  const retried = afterExit.filter((c) => c.upstream !== latchkeyB).length;
  const total = results.length;
  console.log(
    `# load: ${before.length} requests before the stop, ${after.length} after (${failed.length} failed), ` +
      `A exited ${Math.round(stoppedAt - stopAt)} ms after SIGTERM, ${total} in all; ` +
      `${retried} checks after the exit tried A first`,
  );
  // Everything keeps working on B.
  assertStatus(await edge.post('/api/auth/login', { email: user.email, password: user.password }), 200);
});
