// Attack suite: the HTTP layer, black-box against the real binary. Oversized headers and
// bodies, JSON bombs, request smuggling shapes over raw sockets, method override headers,
// CR/LF injection, path traversal on the static files, CORS from foreign origins, and
// cross-site form posts. Each case asserts the exact status and problem code and that nothing
// was written (a smuggled or refused sign-up never creates its account).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  startServer,
  client,
  newUser,
  randomEmail,
  strongPassword,
  assertProblem,
  assertStatus,
  loginFails,
  login,
  rawRequest,
  MANY_LOGIN_FAILURES,
} from '../api/harness.mjs';
import { rawExchange, firstJsonBody, show } from './lib.mjs';

const APP_ORIGIN = 'https://app.example.com';
const SECRET = 'TOP-SECRET-OUTSIDE-WEB-ROOT';

let srv;
let api;
let root;
let host;

before(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'latchkey-sec-web-'));
  mkdirSync(path.join(root, 'web', 'assets'), { recursive: true });
  writeFileSync(path.join(root, 'web', 'index.html'), '<!doctype html><title>app</title>INDEX-PAGE');
  writeFileSync(path.join(root, 'web', 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(path.join(root, 'secret.txt'), SECRET);
  writeFileSync(path.join(root, 'web.txt'), SECRET); // a sibling whose name shares the prefix
  srv = await startServer({
    env: { ...MANY_LOGIN_FAILURES, LATCHKEY_SERVER_WEB_ROOT: path.join(root, 'web'), LATCHKEY_SERVER_CORS_ORIGINS: APP_ORIGIN },
  });
  api = client(srv.url);
  host = new URL(srv.url).host;
});

after(async () => {
  await srv?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

async function stillServing() {
  assertStatus(await api.get('/healthz'), 200);
}

/** The raw bytes of a sign-up request for `email` (used as the smuggled request). */
function signupBytes(email) {
  const body = JSON.stringify({ email, password: strongPassword() });
  return `POST /api/auth/signup HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** Nobody signed up as `email`: a login with any password is the generic 401. */
async function noAccount(email) {
  await loginFails(api, email, strongPassword());
  // and a sign-up of that address now creates it (so it really did not exist)
}

// --- oversized headers and bodies ---------------------------------------------------------------

test('a header line over 8 KiB is refused with 431', async () => {
  const res = await rawRequest(srv.url, 'GET', '/api/me', { headers: { 'X-Padding': 'a'.repeat(9000) } });
  assertProblem(res, 431, 'headers_too_large');
  await stillServing();
});

test('many small headers adding up to over 8 KiB are refused with 431', async () => {
  const headers = {};
  for (let i = 0; i < 120; i++) headers[`X-H${i}`] = 'v'.repeat(80);
  const res = await rawRequest(srv.url, 'GET', '/healthz', { headers });
  assertProblem(res, 431, 'headers_too_large');
  await stillServing();
});

test('a body over 64 KiB is refused with 413 and the sign-up is not done', async () => {
  const email = randomEmail('big');
  const body = JSON.stringify({ email, password: strongPassword(), name: 'n'.repeat(70 * 1024) });
  const res = await rawRequest(srv.url, 'POST', '/api/auth/signup', {
    headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
    body,
  });
  assertProblem(res, 413, 'payload_too_large');
  await noAccount(email);
});

test('a declared Content-Length of 1 GB is refused at once with 413', async () => {
  const started = Date.now();
  const res = await rawRequest(srv.url, 'POST', '/api/auth/login', {
    headers: { 'Content-Type': 'application/json', 'Content-Length': String(1 << 30) },
    body: '{"email":',
  });
  assertProblem(res, 413, 'payload_too_large');
  assert.ok(Date.now() - started < 3000, 'answered without waiting for the body');
  await stillServing();
});

test('a chunked body over 64 KiB is refused with 413 and the sign-up is not done', async () => {
  const email = randomEmail('chunked');
  const body = JSON.stringify({ email, password: strongPassword(), name: 'n'.repeat(70 * 1024) });
  let chunks = '';
  for (let off = 0; off < body.length; off += 4096) {
    const part = body.slice(off, off + 4096);
    chunks += `${Buffer.byteLength(part).toString(16)}\r\n${part}\r\n`;
  }
  const res = await rawRequest(srv.url, 'POST', '/api/auth/signup', {
    headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' },
    body: `${chunks}0\r\n\r\n`,
  });
  assertProblem(res, 413, 'payload_too_large');
  await noAccount(email);
});

// --- JSON bombs -----------------------------------------------------------------------------------

test('a deeply nested array in a member is refused with 400 invalid_field', async () => {
  const email = randomEmail('bomb');
  const depth = 30000;
  const body = `{"email":${'['.repeat(depth)}${']'.repeat(depth)},"password":"${strongPassword()}"}`;
  assert.ok(body.length < 65536);
  const res = await api('POST', '/api/auth/signup', { body, contentType: 'application/json' });
  assertProblem(res, 400, 'invalid_field', 'email');
  await stillServing();
  await noAccount(email);
});

test('a deeply nested object body is refused and the server stays up', async () => {
  const depth = 10000;
  const res = await api('POST', '/api/auth/login', {
    body: `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
    contentType: 'application/json',
  });
  assertProblem(res, 400, 'invalid_field', 'email');
  await stillServing();
});

test('an unterminated 60,000-deep array is refused with 400 malformed_json', async () => {
  const res = await api('POST', '/api/auth/login', { body: '['.repeat(60000), contentType: 'application/json' });
  assertProblem(res, 400, 'malformed_json');
  await stillServing();
});

test('a body of many members (hash flooding shape) is refused with 400 invalid_field', async () => {
  const members = [];
  for (let i = 0; i < 5000; i++) members.push(`"k${i}":0`);
  const res = await api('POST', '/api/auth/login', {
    body: `{"email":"a@example.com","password":"x",${members.join(',')}}`,
    contentType: 'application/json',
  });
  assertProblem(res, 400, 'invalid_field');
  assert.match(res.body.field, /^k\d+$/);
});

// --- request smuggling over raw sockets ----------------------------------------------------------

/**
 * Sends `head` (a request whose framing is ambiguous) followed by a complete sign-up request.
 * The server must refuse the ambiguous request with 400 invalid_request and close the connection,
 * so the smuggled sign-up never runs.
 */
async function smuggle(head) {
  const email = randomEmail('smuggled');
  const { text, statuses } = await rawExchange(srv.url, `${head}${signupBytes(email)}`);
  assert.deepEqual(statuses, [400], `one 400 answer and the connection closed:\n${text.slice(0, 1500)}`);
  assert.equal(firstJsonBody(text)?.code, 'invalid_request', text.slice(0, 1500));
  await noAccount(email);
  await stillServing();
}

const post = (headers, body = '') =>
  `POST /api/auth/login HTTP/1.1\r\nHost: ${'H'}\r\nContent-Type: application/json\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n${body}`;

test('smuggling: Content-Length together with Transfer-Encoding (CL.TE) is refused', async () => {
  await smuggle(post(['Content-Length: 5', 'Transfer-Encoding: chunked'], '0\r\n\r\n'));
});

test('smuggling: Transfer-Encoding together with Content-Length (TE.CL) is refused', async () => {
  await smuggle(post(['Transfer-Encoding: chunked', 'Content-Length: 3'], '0\r\n\r\n'));
});

test('smuggling: two different Content-Length headers are refused', async () => {
  await smuggle(post(['Content-Length: 2', 'Content-Length: 7'], '{}'));
});

for (const [label, value] of [
  ['a plus sign', '+2'],
  ['a minus sign', '-2'],
  ['an inner space', '0 2'],
  ['hex', '0x2'],
  ['a trailing letter', '2a'],
]) {
  test(`smuggling: Content-Length with ${label} is refused`, async () => {
    await smuggle(post([`Content-Length: ${value}`], '{}'));
  });
}

for (const te of ['xchunked', 'identity', 'chunked, gzip', 'gzip']) {
  test(`smuggling: Transfer-Encoding "${te}" (chunked not final) is refused`, async () => {
    await smuggle(post([`Transfer-Encoding: ${te}`], '0\r\n\r\n'));
  });
}

test('smuggling: a space before the colon of Content-Length is refused', async () => {
  await smuggle(post(['Content-Length : 2'], '{}'));
});

test('smuggling: an invalid chunk size is refused', async () => {
  await smuggle(post(['Transfer-Encoding: chunked'], 'zz\r\n{}\r\n0\r\n\r\n'));
});

test('smuggling: bare LF line ends and a CR inside the request target are refused', async () => {
  await smuggle(`GET /healthz HTTP/1.1\nHost: x\n\n`);
  await smuggle(`GET /api/x\rSet-Cookie: a=b HTTP/1.1\r\nHost: x\r\n\r\n`);
  await smuggle(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n`);
});

test('an HTTP/1.1 request with two Host headers, or none, is refused', async () => {
  await smuggle(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\nHost: evil.example\r\n\r\n`);
  await smuggle('GET /healthz HTTP/1.1\r\n\r\n');
  // HTTP/1.0 had no Host requirement.
  const { statuses } = await rawExchange(srv.url, 'GET /healthz HTTP/1.0\r\n\r\n');
  assert.deepEqual(statuses, [200]);
});

test('obs-fold: a folded header line is refused with 400, nothing smuggled', async () => {
  await smuggle(`GET /api/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer\r\n ${'x'.repeat(10)}\r\n\r\n`);
  await smuggle(post(['Content-Length:', ' 2'], '{}'));
  await smuggle(post(['Content-Length: 2', ' 7'], '{}'));
  await smuggle(post(['Transfer-Encoding:', '\tchunked'], '0\r\n\r\n'));
  // The fold arriving in a later read than the line it continues.
  const email = randomEmail('folded');
  const { statuses, text } = await rawExchange(srv.url, [
    'POST /api/auth/signup HTTP/1.1\r\nHost: x\r\nX-A: a\r\n',
    ` b\r\n\r\n${signupBytes(email)}`,
  ]);
  assert.deepEqual(statuses, [400], text.slice(0, 800));
  assert.equal(firstJsonBody(text)?.code, 'invalid_request');
  await noAccount(email);
  // A header that merely contains spaces is fine.
  const ok = await rawExchange(srv.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a  b\t c\r\nConnection: close\r\n\r\n');
  assert.deepEqual(ok.statuses, [200]);
});

// --- method override -----------------------------------------------------------------------------

test('method override headers do not turn a POST into a DELETE of the account', async () => {
  const user = await newUser(api);
  for (const header of ['X-HTTP-Method-Override', 'X-HTTP-Method', 'X-Method-Override']) {
    const res = await api('POST', '/api/me', {
      token: user.tokens.access_token,
      headers: { [header]: 'DELETE' },
      json: { password: user.password },
    });
    assertProblem(res, 405, 'method_not_allowed');
    assert.equal(res.headers.get('allow'), 'GET, PATCH, DELETE', show(res));
  }
  const q = await api('POST', '/api/me?_method=DELETE', { token: user.tokens.access_token, json: { password: user.password } });
  assertProblem(q, 405, 'method_not_allowed');
  await login(api, user.email, user.password); // the account is still there
});

test('method override headers do not turn a GET into a PATCH', async () => {
  const user = await newUser(api, { name: 'Original' });
  const res = await api('GET', '/api/me', {
    token: user.tokens.access_token,
    headers: { 'X-HTTP-Method-Override': 'PATCH', 'X-HTTP-Method': 'PATCH' },
  });
  assertStatus(res, 200);
  assert.equal(res.body.name, 'Original');
  const raw = await rawRequest(srv.url, 'GET', '/api/me?_method=PATCH', {
    headers: { Authorization: `Bearer ${user.tokens.access_token}`, 'X-HTTP-Method-Override': 'PATCH', 'Content-Type': 'application/json', 'Content-Length': '15' },
    body: '{"name":"Evil"}',
  });
  assertStatus(raw, 200);
  assert.equal((await api.get('/api/me', { token: user.tokens.access_token })).body.name, 'Original');
});

// --- CR/LF injection ----------------------------------------------------------------------------

test('encoded CR/LF in the path never becomes a response header', async () => {
  for (const p of ['/api/nope%0d%0aSet-Cookie:%20evil=1', '/api/auth/check%0d%0aX-Injected:%201']) {
    const res = await api.get(p);
    assertProblem(res, 404, 'not_found');
    assert.equal(res.headers.get('set-cookie'), null, show(res));
    assert.equal(res.headers.get('x-injected'), null, show(res));
  }
  // Outside /api the path is a route of the web app: the app page, still without the header.
  const app = await api.get('/nope%0d%0aSet-Cookie:%20evil=1');
  assertStatus(app, 200);
  assert.equal(app.headers.get('set-cookie'), null, show(app));
});

test('a client X-Request-Id (with CR/LF attempts) is never reflected', async () => {
  const res = await api.get('/api/nope', { headers: { 'X-Request-Id': 'attacker-id%0d%0aSet-Cookie: a=b' } });
  assertProblem(res, 404, 'not_found');
  assert.notEqual(res.headers.get('x-request-id'), 'attacker-id%0d%0aSet-Cookie: a=b');
  assert.match(res.headers.get('x-request-id'), /^[A-Za-z0-9_-]+$/);
  assert.equal(res.body.request_id, res.headers.get('x-request-id'));
  assert.equal(res.headers.get('set-cookie'), null);
});

// --- path traversal on the static files ----------------------------------------------------------

const traversals = [
  '/../secret.txt',
  '/../../../../etc/passwd',
  '/%2e%2e/secret.txt',
  '/%2E%2E/secret.txt',
  '/..%2fsecret.txt',
  '/%2e%2e%2fsecret.txt',
  '/%252e%252e/secret.txt',
  '/..%252fsecret.txt',
  '/..\\secret.txt',
  '/%5c..%5csecret.txt',
  '/assets/../../secret.txt',
  '/assets/..%2f..%2fsecret.txt',
  '/.%2e/secret.txt',
  '/....//secret.txt',
  '/index.html%00.txt',
  '/index.html\u0000.txt',
  '/../web.txt',
  '//etc/passwd.txt',
  '/..%2f..%2fetc%2fpasswd',
  '/..',
];

test('path traversal on static files never leaves the web root', async () => {
  for (const p of traversals) {
    const { text, statuses } = await rawExchange(srv.url, `GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.ok(!text.includes(SECRET), `${p} leaked the file outside the web root`);
    assert.ok(!text.includes('root:'), `${p} leaked /etc/passwd`);
    // A path that looks like a file (or climbs) is 404; a NUL in the request line is a malformed
    // request (400 invalid_request).
    const expected = p.includes('\u0000') ? 400 : 404;
    assert.deepEqual(statuses, [expected], `${p}: ${text.slice(0, 300)}`);
    if (expected === 400) assert.equal(firstJsonBody(text)?.code, 'invalid_request');
    else assert.match(text, /\r\n\r\nNot found\n$/, `${p}: ${text.slice(0, 300)}`);
  }
  // The web root itself is served.
  const ok = await api.get('/assets/app.js');
  assertStatus(ok, 200);
  assert.equal(ok.text, 'console.log(1)');
});

test('path traversal without a file extension falls back to the app, never to the file', async () => {
  for (const p of ['/%2e%2e', '/%2e%2e/secret', '/%2e%2e%2f%2e%2e%2fetc%2fpasswd']) {
    const { text, statuses } = await rawExchange(srv.url, `GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.deepEqual(statuses, [200], `${p}: ${text.slice(0, 300)}`);
    assert.ok(text.includes('INDEX-PAGE') && !text.includes(SECRET), `${p}: ${text.slice(0, 300)}`);
  }
  assertProblem(await api.post('/index.html', {}), 405, 'method_not_allowed');
});

// --- CORS -------------------------------------------------------------------------------------------

test('CORS preflight from a foreign origin is refused with 403 and no CORS headers', async () => {
  for (const origin of ['https://evil.example', 'null', `${APP_ORIGIN}.evil.example`, 'https://evil-app.example.com', 'http://app.example.com', `${APP_ORIGIN}:444`]) {
    const res = await api('OPTIONS', '/api/auth/refresh', {
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-csrf-token' },
    });
    assertProblem(res, 403, 'forbidden');
    assert.equal(res.headers.get('access-control-allow-origin'), null, show(res));
    assert.equal(res.headers.get('access-control-allow-credentials'), null, show(res));
    assert.equal(res.headers.get('access-control-allow-headers'), null, show(res));
  }
  // The configured origin passes (so the refusals above are about the origin).
  const ok = await api('OPTIONS', '/api/auth/refresh', { headers: { origin: APP_ORIGIN, 'access-control-request-method': 'POST' } });
  assertStatus(ok, 204);
  assert.equal(ok.headers.get('access-control-allow-origin'), APP_ORIGIN);
});

test('CORS simple and credentialed requests from a foreign origin get no ACAO', async () => {
  const user = await newUser(api);
  const me = await api.get('/api/me', { token: user.tokens.access_token, headers: { origin: 'https://evil.example' } });
  assertStatus(me, 200);
  assert.equal(me.headers.get('access-control-allow-origin'), null, show(me));
  assert.equal(me.headers.get('access-control-allow-credentials'), null, show(me));
  assert.match(me.headers.get('vary') ?? '', /Origin/i);
  const res = await api.post('/api/auth/login', { email: user.email, password: user.password }, { headers: { origin: 'null' } });
  assertStatus(res, 200); // non-browser clients may log in; a browser page cannot read the answer
  assert.equal(res.headers.get('access-control-allow-origin'), null, show(res));
  const ok = await api.get('/api/me', { token: user.tokens.access_token, headers: { origin: APP_ORIGIN } });
  assert.equal(ok.headers.get('access-control-allow-origin'), APP_ORIGIN);
  assert.notEqual(ok.headers.get('access-control-allow-origin'), '*');
});

test('a cross-site form post (text/plain, form-urlencoded) cannot log in or sign up', async () => {
  const user = await newUser(api);
  for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
    const res = await api('POST', '/api/auth/login', {
      body: JSON.stringify({ email: user.email, password: user.password, mode: 'cookie' }),
      contentType,
      headers: { origin: 'https://evil.example' },
    });
    assertProblem(res, 415, 'unsupported_media_type');
    assert.deepEqual(res.setCookies, [], show(res));
  }
  const email = randomEmail('form');
  const res = await api('POST', '/api/auth/signup', { body: JSON.stringify({ email, password: strongPassword() }), contentType: 'text/plain' });
  assertProblem(res, 415, 'unsupported_media_type');
  await noAccount(email);
});
