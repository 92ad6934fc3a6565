// Operations: health, readiness, metrics, security headers on every answer, 404/405 for unknown
// paths and methods, the `user create` command, start-up time and a clean SIGTERM.
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
  signup,
  login,
  randomEmail,
  strongPassword,
  runCli,
  serverEnv,
  describe,
  sleep,
  assertSecurityHeaders,
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

test('healthz and readyz answer 200', async () => {
  assertStatus(await api.get('/healthz'), 200);
  assertStatus(await api.get('/readyz'), 200);
});

test('metrics expose request and login counters in Prometheus text format', async () => {
  const { email, password } = await signup(api);
  await login(api, email, password);
  const bad = await api.post('/api/auth/login', { email, password: `${password}x` });
  assertStatus(bad, 401);
  const res = await api.get('/metrics');
  assertStatus(res, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  assert.match(res.text, /^latchkey_http_requests_total(\{[^}]*\})? \d/m, 'latchkey_http_requests_total');
  assert.match(res.text, /^latchkey_logins_total(\{[^}]*\})? \d/m, 'latchkey_logins_total');
  assert.match(res.text, /^# TYPE latchkey_http_requests_total counter$/m);
  // No secrets or personal data in metrics.
  assert.ok(!res.text.includes(email), 'metrics do not contain e-mail addresses');
});

/** Sum of a metric's samples (all label sets) in Prometheus text. */
function metricSum(text, name) {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}(\\{[^}]*\\})? ([0-9.eE+-]+)$`).exec(line);
    if (m) sum += Number(m[2]);
  }
  return sum;
}

test('the login and request counters count', async () => {
  const { email, password } = await signup(api);
  const before = (await api.get('/metrics')).text;
  await login(api, email, password);
  assertStatus(await api.post('/api/auth/login', { email, password: `${password}x` }), 401);
  const after = (await api.get('/metrics')).text;
  assert.equal(metricSum(after, 'latchkey_logins_total') - metricSum(before, 'latchkey_logins_total'), 2, 'one success and one failure');
  // At least the two logins and the first /metrics request were counted.
  assert.ok(metricSum(after, 'latchkey_http_requests_total') - metricSum(before, 'latchkey_http_requests_total') >= 3);
});

test('every answer carries the security headers and a request id', async () => {
  const { tokens } = await newUser(api);
  const answers = [
    await api.get('/healthz'),
    await api.get('/readyz'),
    await api.get('/metrics'),
    await api.get('/.well-known/jwks.json'),
    await api.get('/.well-known/openid-configuration'),
    await api.get('/api/me', { token: tokens.access_token }),
    await api.get('/api/me'),
    await api.get('/api/auth/check', { token: tokens.access_token }),
    await api.post('/api/auth/signup', { email: randomEmail(), password: strongPassword() }),
    await api.post('/api/auth/login', { email: randomEmail(), password: 'x' }),
    await api('POST', '/api/auth/signup', { body: '{', contentType: 'application/json' }),
    await api.get('/api/no-such-thing'),
    await api.get('/api/auth/signup'),
    await api.get('/'),
  ];
  const ids = new Set();
  for (const res of answers) {
    assertSecurityHeaders(res);
    const id = res.headers.get('x-request-id');
    ids.add(id);
    if (res.body && typeof res.body === 'object' && 'request_id' in res.body) {
      assert.equal(res.body.request_id, id, `problem request_id equals X-Request-Id${describe(res)}`);
    }
  }
  assert.equal(ids.size, answers.length, 'request ids are unique');
});

test('unknown /api paths are 404 not_found as problem+json', async () => {
  for (const p of ['/api/nope', '/api/auth/signupx', '/api/me/nothing/here', '/api/']) {
    assertProblem(await api.get(p), 404, 'not_found');
  }
  assertProblem(await api.post('/api/unknown', { a: 1 }), 404, 'not_found');
});

test('a wrong method on a known path is 405 method_not_allowed with Allow', async () => {
  const cases = [
    ['GET', '/api/auth/signup', ['POST']],
    ['PUT', '/api/auth/login', ['POST']],
    ['DELETE', '/api/auth/check', ['GET']],
    ['PUT', '/api/me', ['GET', 'PATCH', 'DELETE']],
    ['GET', '/api/me/password', ['POST']],
    ['POST', '/.well-known/jwks.json', ['GET']],
  ];
  for (const [method, p, allowed] of cases) {
    const res = await api(method, p, method === 'GET' || method === 'DELETE' ? {} : { json: {} });
    assertProblem(res, 405, 'method_not_allowed');
    const allow = (res.headers.get('allow') ?? '').split(',').map((m) => m.trim().toUpperCase());
    for (const m of allowed) assert.ok(allow.includes(m), `Allow lists ${m}${describe(res)}`);
    assert.ok(!allow.includes(method), `Allow does not list ${method}${describe(res)}`);
  }
});

async function assertAdmin(a, email, password) {
  const tokens = await login(a, email, password);
  const me = await a.get('/api/me', { token: tokens.access_token });
  assertStatus(me, 200);
  assert.ok(me.body.roles.includes('admin'), `roles contain admin${describe(me)}`);
  const check = await a.get('/api/auth/check', { token: tokens.access_token });
  assertStatus(check, 200);
  assert.ok((check.headers.get('x-auth-roles') ?? '').split(',').includes('admin'), describe(check));
}

test('`latchkey user create --admin --password-stdin` while the server runs', async () => {
  const email = randomEmail('admin');
  const password = strongPassword();
  const out = await runCli(['user', 'create', '--email', email, '--admin', '--password-stdin'], {
    env: server.env,
    cwd: server.dir,
    stdin: `${password}\n`,
  });
  assert.equal(out.code, 0, `user create exits 0\nstdout: ${out.stdout}\nstderr: ${out.stderr}`);
  assert.ok(!out.stdout.includes(password) && !out.stderr.includes(password), 'the password is not echoed');
  await assertAdmin(api, email, password);
  // Sign-up with that address does not take it over.
  const takeover = strongPassword();
  assertStatus(await api.post('/api/auth/signup', { email, password: takeover }), 201);
  const res = await api.post('/api/auth/login', { email, password: takeover });
  assertProblem(res, 401, 'invalid_credentials');
});

test('`latchkey user create` while no server runs, then the server starts', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'latchkey-cli-'));
  try {
    const first = await startServer({ dir });
    const masterKey = first.env.LATCHKEY_KEYS_MASTER_KEY;
    const databaseUrl = first.env.LATCHKEY_DATABASE_URL;
    await first.stop({ keepDir: true });
    const email = randomEmail('admin');
    const password = strongPassword();
    const out = await runCli(['user', 'create', '--email', email, '--admin', '--password-stdin'], {
      env: serverEnv({ dir, masterKey, databaseUrl }),
      cwd: dir,
      stdin: `${password}\n`,
    });
    assert.equal(out.code, 0, `user create exits 0\nstdout: ${out.stdout}\nstderr: ${out.stderr}`);

    const second = await startServer({ dir, masterKey, databaseUrl });
    try {
      const a = client(second.url);
      await assertAdmin(a, email, password);
    } finally {
      await second.stop({ keepDir: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the server is ready within a second and SIGTERM ends it with code 0 promptly', async () => {
  const t0 = Date.now();
  const own = await startServer();
  const startup = Date.now() - t0;
  // The contract says a second; allow some slack on a loaded 2-core machine.
  assert.ok(startup < 2000, `ready after ${startup} ms`);
  const a = client(own.url);
  // Leave a keep-alive connection open and a request just answered.
  await newUser(a);
  assertStatus(await a.get('/healthz'), 200);
  const t1 = Date.now();
  await own.stop(); // asserts exit code 0
  const took = Date.now() - t1;
  assert.ok(took < 3000, `SIGTERM to exit took ${took} ms`);
  // The port is free again.
  await sleep(50);
  await assert.rejects(fetch(`${own.url}/healthz`, { signal: AbortSignal.timeout(1000) }));
});

test('secrets never reach the log, even at the most verbose level', async () => {
  const own = await startServer({ env: { LATCHKEY_LOG_LEVEL: 'trace' }, cookieSecure: false });
  const secrets = [];
  let output = '';
  try {
    const a = client(own.url);
    const email = randomEmail('logs');
    const password = strongPassword();
    secrets.push(password, own.env.LATCHKEY_KEYS_MASTER_KEY);
    await signup(a, { email, password });
    const bearer = await login(a, email, password);
    secrets.push(bearer.access_token, bearer.refresh_token);
    const cookie = await a.post('/api/auth/login', { email, password, mode: 'cookie' });
    assertStatus(cookie, 200);
    for (const c of cookie.setCookies) secrets.push(c.split(';')[0].split('=')[1]);
    const rotated = await a.post('/api/auth/refresh', { refresh_token: bearer.refresh_token });
    assertStatus(rotated, 200);
    secrets.push(rotated.body.refresh_token);
    const wrong = `${password}-wrong`;
    secrets.push(wrong);
    assertStatus(await a.post('/api/auth/login', { email, password: wrong }), 401);
    const next = strongPassword();
    secrets.push(next);
    assertStatus(await a.post('/api/me/password', { current: password, new: next }, { token: rotated.body.access_token }), 204);
    assertStatus(await a.post('/api/auth/signup', { email, password: `${next}-dup` }), 201);
    secrets.push(`${next}-dup`);
  } finally {
    await own.stop();
    output = own.output();
  }
  assert.ok(output.length > 0, 'the server logged something at trace level');
  for (const secret of secrets) {
    assert.ok(secret && secret.length >= 16, 'a real secret');
    assert.ok(!output.includes(secret), `the log contains a secret (${secret.slice(0, 6)}…)`);
    // Nor its signature part alone, for JWTs.
    if (secret.split('.').length === 3) assert.ok(!output.includes(secret.split('.')[2]), 'the log contains a JWT signature');
  }
});

test('`latchkey config check` prints the effective config with secrets masked; bad config names the key', async () => {
  const env = { ...server.env, LATCHKEY_DATABASE_URL: 'mysql://app:s3cret-pw@127.0.0.1:1/auth' };
  const out = await runCli(['config', 'check'], { env, cwd: server.dir });
  assert.equal(out.code, 0, `config check exits 0\n${out.stdout}\n${out.stderr}`);
  assert.match(out.stdout, /\[server\]/);
  assert.match(out.stdout, /mysql:\/\/app:\*\*\*\*\*\*\*\*@127\.0\.0\.1:1\/auth/);
  assert.ok(!out.stdout.includes('s3cret-pw'), 'the database password is masked');
  assert.ok(!out.stdout.includes(server.env.LATCHKEY_KEYS_MASTER_KEY), 'the master key is masked');
  // A flag overrides the environment, also after the sub-command.
  const flagged = await runCli(['config', 'check', '--listen', '127.0.0.1:9'], { env, cwd: server.dir });
  assert.match(flagged.stdout, /listen = "127\.0\.0\.1:9"/);

  const unknown = await runCli(['config', 'check'], { env: { ...server.env, LATCHKEY_SERVER_LISTN: 'x' }, cwd: server.dir });
  assert.equal(unknown.code, 2, unknown.stderr);
  assert.match(unknown.stderr, /LATCHKEY_SERVER_LISTN/);
  const bad = await runCli(['config', 'check'], { env: { ...server.env, LATCHKEY_KEYS_ALGORITHM: 'HS256' }, cwd: server.dir });
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /keys\.algorithm/);
  const nokey = await runCli(['serve'], { env: { ...server.env, LATCHKEY_KEYS_MASTER_KEY: 'abcd' }, cwd: server.dir });
  assert.equal(nokey.code, 2, nokey.stderr);
  assert.match(nokey.stderr, /keys\.master_key/);
});

test('`latchkey user list|set-role|disable`, `keys list|rotate` and `migrate` work on a live database', async () => {
  const { email, password } = await newUser(api);
  const run = (args, stdin) => runCli(args, { env: server.env, cwd: server.dir, stdin });
  // Searched, not the first page: on the suite's shared MariaDB database other files' users fill it.
  const listed = await run(['user', 'list', '--query', email]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.ok(listed.stdout.includes(email), listed.stdout);

  // Roles must exist before they are granted (issue 7): an unknown one is a usage error.
  const unknownRole = await run(['user', 'set-role', '--email', email, '--role', 'auditor']);
  assert.equal(unknownRole.code, 2, unknownRole.stderr);
  assert.match(unknownRole.stderr, /no role named 'auditor'/);
  const created = await run(['role', 'create', 'auditor', '--permission', 'audit:read']);
  assert.equal(created.code, 0, created.stderr);
  const role = await run(['user', 'set-role', '--email', email, '--role', 'auditor']);
  assert.equal(role.code, 0, role.stderr);
  let tokens = await login(api, email, password);
  assert.deepEqual(decodeJwt(tokens.access_token).payload.roles.sort(), ['auditor', 'user']);

  const disabled = await run(['user', 'disable', '--email', email]);
  assert.equal(disabled.code, 0, disabled.stderr);
  assertProblem(await api.post('/api/auth/login', { email, password }), 403, 'account_disabled');
  assertProblem(await api.post('/api/auth/refresh', { refresh_token: tokens.refresh_token }), 401, 'invalid_refresh_token');
  assert.equal((await run(['user', 'disable', '--email', email, '--enable'])).code, 0);
  tokens = await login(api, email, password);
  assert.ok(tokens.access_token);

  const missing = await run(['user', 'disable', '--email', 'nobody@example.com']);
  assert.equal(missing.code, 3); // not found (see `latchkey --help` exit codes)
  assert.match(missing.stderr, /no user/);

  const keysBefore = await run(['keys', 'list']);
  assert.equal(keysBefore.code, 0, keysBefore.stderr);
  assert.match(keysBefore.stdout, /active/);
  const rotated = await run(['keys', 'rotate', '--algorithm', 'ES256', '--publish-delay', '1h']);
  assert.equal(rotated.code, 0, rotated.stderr);
  assert.match(rotated.stdout, /ES256\s+next/);
  const migrated = await run(['migrate']);
  assert.equal(migrated.code, 0, migrated.stderr);
  assert.match(migrated.stdout, /0001/);
});
