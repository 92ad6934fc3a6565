// POST /api/auth/signup: the happy path, e-mail normalisation, password rules, no enumeration on
// duplicates, and strict request parsing. Every refused input is checked to have written nothing:
// the address is still free, so a later sign-up with it creates a working account.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer,
  MANY_LOGIN_FAILURES,
  client,
  randomEmail,
  randomHex,
  strongPassword,
  assertProblem,
  assertStatus,
  signup,
  login,
  loginFails,
  rawRequest,
  describe,
  assertSecurityHeaders,
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

/** The address was not taken: signing up now creates an account that logs in. */
async function assertEmailFree(email) {
  const password = strongPassword();
  await signup(api, { email, password });
  const tokens = await login(api, email, password);
  assert.equal(typeof tokens.access_token, 'string');
}

function post(body, contentType = 'application/json') {
  return api('POST', '/api/auth/signup', { body, contentType });
}

test('sign-up creates an account that can log in', async () => {
  const email = randomEmail();
  const password = strongPassword();
  const res = await api.post('/api/auth/signup', { email, password, name: 'Jane Doe' });
  assertStatus(res, 201);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(res.body.status, 'ok');
  assert.equal(res.body.verification_required, false);
  assert.equal(typeof res.body.message, 'string');
  assert.ok(res.body.message.length > 0);
  const tokens = await login(api, email, password);
  const me = await api.get('/api/me', { token: tokens.access_token });
  assertStatus(me, 200);
  assert.equal(me.body.email, email);
  assert.equal(me.body.name, 'Jane Doe');
});

test('the e-mail is trimmed and its domain lower-cased', async () => {
  const local = `Jane-${randomHex(6)}`;
  const password = strongPassword();
  await signup(api, { email: `  ${local}@EXAMPLE.com `, password });
  const tokens = await login(api, `${local}@example.com`, password);
  const me = await api.get('/api/me', { token: tokens.access_token });
  assertStatus(me, 200);
  assert.equal(me.body.email, `${local}@example.com`);
  // The same address in another spelling of the domain is the same account (no second one).
  const again = await api.post('/api/auth/signup', { email: `${local}@Example.COM`, password: strongPassword() });
  assertStatus(again, 201);
  await login(api, `${local}@EXAMPLE.COM`, password);
});

test('invalid e-mail addresses are refused with invalid_email', async () => {
  const bad = [
    'plainaddress',
    '@example.com',
    'jane@',
    'jane@@example.com',
    'ja ne@example.com',
    'jane@exa mple.com',
    'jane@example..com',
    '',
    `${'a'.repeat(65)}@example.com`, // local part over 64 octets (RFC 5321)
  ];
  for (const email of bad) {
    const res = await api.post('/api/auth/signup', { email, password: strongPassword() });
    assertProblem(res, 400, 'invalid_email', 'email');
  }
});

test('passwords that are too short, too guessable or contain the local part are refused', async () => {
  const cases = [
    (local) => 'Xy7!pq', // 6 characters
    (local) => 'A1b2C3d', // 7 characters
    (local) => 'password', // 8 characters, zxcvbn score 0
    (local) => 'password1',
    (local) => 'qwertyuiop',
    (local) => '12345678',
    (local) => 'aaaaaaaaaaaa',
    (local) => `${local}#Qz9!Wm`, // contains the e-mail's local part
    (local) => `Xk2!${local.toUpperCase()}`, // the local part in other case
    // 7 code points that are 28 bytes in UTF-8: the limit counts characters, not bytes.
    (local) => '\u{1F600}\u{1F680}\u{1F4A9}\u{1F9E0}\u{1F355}\u{1F30D}\u{1F3B8}',
  ];
  for (const make of cases) {
    const local = `zebra${randomHex(5)}`;
    const email = `${local}@example.com`;
    const password = make(local);
    const res = await api.post('/api/auth/signup', { email, password });
    assertProblem(res, 400, 'weak_password', 'password');
    // Nothing was written: no account with that password, and the address is still free.
    await loginFails(api, email, password);
    await assertEmailFree(email);
  }
});

test('password length is counted in code points: 128 accepted, 129 refused with invalid_field', async () => {
  // Random Hangul syllables: 3 bytes each in UTF-8, so 128 characters are 384 bytes.
  const hangul = (n) =>
    Array.from({ length: n }, () => String.fromCodePoint(0xac00 + Math.floor(Math.random() * 11172))).join('');
  const ok = hangul(128);
  const email = randomEmail();
  await signup(api, { email, password: ok });
  await login(api, email, ok);

  const tooLongEmail = randomEmail();
  const tooLong = `Aa1!${hangul(125)}`;
  assert.equal([...tooLong].length, 129);
  const res = await api.post('/api/auth/signup', { email: tooLongEmail, password: tooLong });
  assertProblem(res, 400, 'invalid_field', 'password');
  await assertEmailFree(tooLongEmail);

  const ascii = `${strongPassword()}${'x'.repeat(200)}`;
  const res2 = await api.post('/api/auth/signup', { email: tooLongEmail + 'x', password: ascii });
  assertProblem(res2, 400, 'invalid_field', 'password');
});

test('a duplicate sign-up answers like a new one and overwrites nothing', async () => {
  const email = randomEmail();
  const first = strongPassword();
  const a = await api.post('/api/auth/signup', { email, password: first, name: 'First' });
  assertStatus(a, 201);
  const second = strongPassword();
  const b = await api.post('/api/auth/signup', { email, password: second, name: 'Second' });
  assertStatus(b, 201);
  assert.deepEqual(b.body, a.body, 'no enumeration: the duplicate answer is identical');
  assert.equal(b.headers.get('content-type'), a.headers.get('content-type'));
  const tokens = await login(api, email, first);
  await loginFails(api, email, second);
  const me = await api.get('/api/me', { token: tokens.access_token });
  assert.equal(me.body.name, 'First');
});

test('unknown members are refused with invalid_field naming the member (no mass assignment)', async () => {
  const extras = [
    { roles: ['admin'] },
    { state: 'active' },
    { id: '00000000-0000-7000-8000-000000000000' },
    { email_verified: true },
    { is_admin: true },
    { Roles: ['admin'] },
  ];
  for (const extra of extras) {
    const email = randomEmail();
    const password = strongPassword();
    const res = await api.post('/api/auth/signup', { email, password, ...extra });
    assertProblem(res, 400, 'invalid_field', Object.keys(extra)[0]);
    await loginFails(api, email, password);
    await assertEmailFree(email);
  }
  // And the normal sign-up yields a plain user.
  const email = randomEmail();
  const password = strongPassword();
  await signup(api, { email, password });
  const tokens = await login(api, email, password);
  const me = await api.get('/api/me', { token: tokens.access_token });
  assert.deepEqual(me.body.roles, ['user']);
  assert.equal(me.body.email_verified, false);
});

test('a body that is not application/json is refused with 415 unsupported_media_type', async () => {
  const email = randomEmail();
  const password = strongPassword();
  const json = JSON.stringify({ email, password });
  for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx']) {
    assertProblem(await post(json, ct), 415, 'unsupported_media_type');
  }
  // No Content-Type at all (fetch would add text/plain for a string, so use node:http).
  const raw = await rawRequest(server.url, 'POST', '/api/auth/signup', {
    headers: { 'content-length': Buffer.byteLength(json) },
    body: json,
  });
  assert.equal(raw.status, 415, describe(raw));
  assert.equal(raw.body?.code, 'unsupported_media_type', describe(raw));
  await loginFails(api, email, password);
  // application/json with parameters is JSON.
  const ok = await post(json, 'application/json; charset=utf-8');
  assertStatus(ok, 201);
  await login(api, email, password);
});

test('malformed JSON is refused with malformed_json', async () => {
  const email = randomEmail();
  const password = strongPassword();
  const bodies = [
    `{"email":"${email}","password":"${password}"`,
    `{"email":"${email}","password":"${password}"}}`,
    `{"email":"${email}","password":"${password}",}`,
    `{email:"${email}"}`,
    `{"email":'${email}'}`,
    '',
    '{',
    '{"email":"a\\x41"}',
  ];
  for (const body of bodies) {
    assertProblem(await post(body), 400, 'malformed_json');
  }
  await assertEmailFree(email);
});

test('bytes that are not UTF-8 are refused with malformed_json', async () => {
  const email = randomEmail();
  const password = strongPassword();
  const enc = (s) => Buffer.from(s, 'utf8');
  const bodies = [
    Buffer.concat([enc(`{"email":"${email}","password":"${password}","name":"`), Buffer.from([0xff, 0xfe]), enc('"}')]),
    // overlong encoding of '/'
    Buffer.concat([enc(`{"email":"${email}","password":"${password}","name":"`), Buffer.from([0xc0, 0xaf]), enc('"}')]),
    // a UTF-16 surrogate encoded directly in UTF-8 (CESU-8)
    Buffer.concat([enc(`{"email":"${email}","password":"${password}","name":"`), Buffer.from([0xed, 0xa0, 0x80]), enc('"}')]),
    // truncated multi-byte sequence
    Buffer.concat([enc(`{"email":"${email}","password":"${password}","name":"`), Buffer.from([0xe2, 0x82]), enc('"}')]),
    // a lone surrogate written as a JSON escape
    enc(`{"email":"${email}","password":"${password}","name":"\\ud800"}`),
  ];
  for (const body of bodies) {
    const res = await api('POST', '/api/auth/signup', { body, contentType: 'application/json' });
    assertProblem(res, 400, 'malformed_json');
  }
  await loginFails(api, email, password);
  await assertEmailFree(email);
});

test('JSON that is not an object is refused with invalid_request', async () => {
  for (const body of ['[]', '[{"email":"a@example.com"}]', '"text"', '42', 'null', 'true']) {
    assertProblem(await post(body), 400, 'invalid_request');
  }
});

test('a body over 64 KiB is refused with 413 payload_too_large', async () => {
  const email = randomEmail();
  const password = strongPassword();
  for (const size of [1024 * 1024, 64 * 1024 + 1]) {
    const prefix = `{"email":"${email}","password":"${password}","name":"`;
    const suffix = '"}';
    const body = prefix + 'a'.repeat(size - prefix.length - suffix.length) + suffix;
    assert.equal(Buffer.byteLength(body), size);
    let res;
    try {
      res = await rawRequest(server.url, 'POST', '/api/auth/signup', {
        headers: { 'content-type': 'application/json', 'content-length': size },
        body,
      });
    } catch (err) {
      assert.fail(`no answer to a ${size}-byte body (the server closed the connection: ${err.message}); expected 413`);
    }
    assertProblem(res, 413, 'payload_too_large');
    // Refused by the transport or not, it is an answer like any other.
    assertSecurityHeaders(res);
  }
  await loginFails(api, email, password);
  await assertEmailFree(email);
  const health = await api.get('/healthz');
  assertStatus(health, 200);
});

test('control characters in the name are refused with invalid_field', async () => {
  // Unicode category Cc: U+0000-U+001F, U+007F-U+009F.
  for (const ch of ['\u0000', '\u0001', '\u0007', '\n', '\r', '\t', '\u001b', '\u007f', '\u009b']) {
    const email = randomEmail();
    const password = strongPassword();
    const res = await api.post('/api/auth/signup', { email, password, name: `Ja${ch}ne` });
    assertProblem(res, 400, 'invalid_field', 'name');
    await loginFails(api, email, password);
    await assertEmailFree(email);
  }
});

test('SQL metacharacters and non-ASCII text in the name are stored literally', async () => {
  for (const name of ["'; DROP TABLE users; --", 'Robert"); DELETE FROM sessions;--', '김 제인 Jäne \u{1F600}', '%_\\']) {
    const email = randomEmail();
    const password = strongPassword();
    await signup(api, { email, password, name });
    const tokens = await login(api, email, password);
    const me = await api.get('/api/me', { token: tokens.access_token });
    assertStatus(me, 200);
    assert.equal(me.body.name, name);
  }
  // The users table is still there.
  const email = randomEmail();
  const password = strongPassword();
  await signup(api, { email, password });
  await login(api, email, password);
});

test('deeply nested JSON is refused without harming the server', async () => {
  const depth = 30000; // 60 000 bytes, under the body limit
  const arrays = '['.repeat(depth) + ']'.repeat(depth);
  assertProblem(await post(arrays), 400, 'invalid_request');
  const inObject = `{"email":${'['.repeat(depth)}${']'.repeat(depth)}}`;
  const res = await post(inObject);
  assertStatus(res, 400);
  assert.ok(['invalid_field', 'invalid_email', 'malformed_json'].includes(res.body?.code), describe(res));
  const unclosed = '{"a":'.repeat(depth / 3);
  assertProblem(await post(unclosed), 400, 'malformed_json');
  assertStatus(await api.get('/healthz'), 200);
  await assertEmailFree(randomEmail());
});

const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
async function timed(fn) {
  const t0 = performance.now();
  const res = await fn();
  return { ms: performance.now() - t0, res };
}

test('a duplicate sign-up takes about as long as a new one (no timing enumeration)', async () => {
  const existing = [];
  for (let i = 0; i < 9; i++) existing.push((await signup(api)).email);
  const dup = [];
  const fresh = [];
  for (let i = 0; i < 9; i++) {
    const d = await timed(() => api.post('/api/auth/signup', { email: existing[i], password: strongPassword() }));
    assertStatus(d.res, 201);
    dup.push(d.ms);
    const f = await timed(() => api.post('/api/auth/signup', { email: randomEmail(), password: strongPassword() }));
    assertStatus(f.res, 201);
    fresh.push(f.ms);
  }
  const ratio = median(dup) / median(fresh);
  assert.ok(ratio > 0.5 && ratio < 2, `median duplicate ${median(dup).toFixed(1)} ms vs new ${median(fresh).toFixed(1)} ms`);
});

test('concurrent sign-ups of one address create exactly one account', async () => {
  const email = randomEmail('race');
  const passwords = Array.from({ length: 6 }, () => strongPassword());
  const answers = await Promise.all(passwords.map((password) => api.post('/api/auth/signup', { email, password })));
  for (const res of answers) assertStatus(res, 201);
  for (const res of answers) assert.deepEqual(res.body, answers[0].body);
  const outcomes = [];
  for (const password of passwords) {
    const res = await api.post('/api/auth/login', { email, password });
    assert.ok(res.status === 200 || res.status === 401, describe(res));
    outcomes.push(res.status);
  }
  assert.equal(outcomes.filter((s) => s === 200).length, 1, `exactly one password works: ${outcomes}`);
});
