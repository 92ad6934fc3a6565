// Phone and second factors over real HTTP, with SMS delivered through the outbox to a local
// gateway stand-in (tests/api/sms-receiver.mjs): phone verification, SMS login and sign-up by
// phone, TOTP enrolment and the second step of login (mfa_token), recovery codes, SMS as a
// second factor, and SMS delivery through a gateway outage.
//
// On a shared database (LATCHKEY_TEST_DATABASE_URL) the outbox is shared: the main server uses
// it, the Twilio server beside it uses a private SQLite database, and every phone number and
// address is random, so SMS are always looked up by recipient.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import {
  startServer,
  client,
  randomHex,
  strongPassword,
  assertProblem,
  assertStatus,
  signup,
  login,
  newUser,
  decodeJwt,
  describe as show,
  sleep,
  MANY_LOGIN_FAILURES,
} from './harness.mjs';
import { startSmsReceiver, verifyWebhookSignature } from './sms-receiver.mjs';
import { Authenticator, totpAt, stepAt } from './totp.mjs';

const WEBHOOK_SECRET = `whsec-${randomHex(16)}`;
const TWILIO = { accountSid: `AC${randomHex(16)}`, authToken: randomHex(16) };
const TWILIO_FROM = '+15005550006';
// Long enough for a queued SMS to go out (poll interval 1 s): after it, "no SMS" means none was
// queued.
const QUIET_MS = 2000;
const RESET_SUBJECT = 'Reset your Latchkey password';

/** A random Korean mobile number as people type it, and its E.164 form. */
function mobile() {
  // 010-5xxx is another numbering block; stay with the plain 010 ranges.
  const a = `${'2346789'[Math.floor(Math.random() * 7)]}${randomDigits(3)}`;
  const b = randomDigits(4);
  return { typed: `010-${a}-${b}`, e164: `+8210${a}${b}` };
}

function randomDigits(n) {
  let s = '';
  for (let i = 0; i < n; i++) s += String(Math.floor(Math.random() * 10));
  return s;
}

function baseEnv(extra = {}) {
  return {
    ...MANY_LOGIN_FAILURES,
    LATCHKEY_PHONE_DEFAULT_REGION: 'KR',
    LATCHKEY_MAIL_POLL_INTERVAL: '1',
    LATCHKEY_MAIL_RETRY_BASE: '1',
    LATCHKEY_MAIL_RETRY_MAX: '2',
    // Every request comes from 127.0.0.1.
    LATCHKEY_SMS_IP_HOURLY_CAP: '100000',
    LATCHKEY_VERIFICATION_IP_HOURLY_CAP: '100000',
    ...extra,
  };
}

const smsTo = (receiver, e164) => receiver.requests().filter((r) => (r.json?.to ?? r.form?.To) === e164);

function smsSummary(receiver) {
  return receiver
    .requests()
    .map((r) => `${r.kind} to ${r.json?.to ?? r.form?.To} -> ${r.status}`)
    .join('; ');
}

/** Waits for the n-th (1-based) SMS to `e164` that the receiver accepted; returns it. */
async function nthSms(receiver, e164, n = 1, timeout = 10000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const ok = smsTo(receiver, e164).filter((r) => r.status !== null && r.status < 300);
    if (ok.length >= n) return ok[n - 1];
    if (Date.now() > deadline) assert.fail(`expected ${n} SMS to ${e164} within ${timeout} ms; got: ${smsSummary(receiver)}`);
    await sleep(25);
  }
}

/** The 6-digit code of a received SMS (webhook JSON or Twilio form). */
function codeOf(sms) {
  const text = sms.json?.text ?? sms.form?.Body;
  const m = /\b(\d{6})\b/.exec(text ?? '');
  assert.ok(m, `a 6-digit code in the SMS: ${JSON.stringify(text)}`);
  return m[1];
}

/** Another 6-digit code than `code`. */
function otherCode(code) {
  return String((Number(code) + 1) % 1000000).padStart(6, '0');
}

/** Checks a webhook SMS: JSON body, headers, and the signature over the raw body. */
function assertWebhookSms(sms, e164, templateId) {
  assert.equal(sms.kind, 'webhook', `webhook route: ${sms.url}`);
  assert.equal(sms.method, 'POST');
  assert.match(sms.headers['content-type'] ?? '', /^application\/json/);
  assert.ok(sms.json && typeof sms.json === 'object', `JSON body: ${sms.body}`);
  assert.equal(sms.json.to, e164, sms.body);
  assert.equal(sms.json.template_id, templateId, sms.body);
  assert.equal(typeof sms.json.id, 'string', sms.body);
  assert.equal(sms.headers['x-latchkey-message-id'], sms.json.id, 'X-Latchkey-Message-Id is the body id');
  assert.ok(Math.abs(sms.json.created_at - Date.now() / 1000) < 120, `created_at ${sms.json.created_at}`);
  assert.match(sms.json.text, /^\[Latchkey\] Your code is \d{6}\. /, sms.body);
  const signature = sms.headers['x-latchkey-signature'];
  assert.match(signature ?? '', /^t=\d+,v1=[0-9a-f]{64}$/, `X-Latchkey-Signature: ${signature}`);
  assert.equal(verifyWebhookSignature(WEBHOOK_SECRET, signature, sms.body), true, 'the signature verifies');
  assert.equal(verifyWebhookSignature(`${WEBHOOK_SECRET}x`, signature, sms.body), false, 'another secret does not');
  assert.equal(verifyWebhookSignature(WEBHOOK_SECRET, signature, `${sms.body} `), false, 'another body does not');
}

const amrOf = (accessToken) => decodeJwt(accessToken).payload.amr;

function assertTokens(res) {
  assertStatus(res, 200);
  assert.equal(typeof res.body.access_token, 'string', show(res));
  assert.equal(res.body.token_type, 'Bearer', show(res));
  assert.equal(res.body.mfa_required, undefined, show(res));
  return res.body;
}

/** A 200 login answer that asks for a second factor: no tokens and no cookies. */
function assertChallenge(res, methods) {
  assertStatus(res, 200);
  assert.equal(res.body.mfa_required, true, show(res));
  assert.match(res.body.mfa_token ?? '', /^[A-Za-z0-9_-]{32,128}$/, show(res));
  assert.deepEqual(res.body.methods, methods, show(res));
  assert.equal(res.body.expires_in, 300, show(res));
  assert.equal(res.body.access_token, undefined, show(res));
  assert.equal(res.body.refresh_token, undefined, show(res));
  assert.deepEqual(res.setCookies, [], `no cookies before the second factor${show(res)}`);
  assert.equal(res.headers.get('cache-control'), 'no-store', show(res));
  return res.body.mfa_token;
}

const me = async (api, token) => {
  const res = await api.get('/api/me', { token });
  assertStatus(res, 200);
  return res.body;
};

const mfaStatus = async (api, token) => {
  const res = await api.get('/api/me/mfa', { token });
  assertStatus(res, 200);
  return res.body;
};

const mfaVerify = (api, json, headers) => api.post('/api/auth/mfa/verify', json, headers ? { headers } : {});

/** Adds a verified phone to the account of `token`. */
async function verifyPhone(api, receiver, token, number = mobile()) {
  const res = await api.post('/api/me/phone', { phone: number.typed }, { token });
  assertStatus(res, 202);
  const code = codeOf(await nthSms(receiver, number.e164));
  assertStatus(await api.post('/api/me/phone/verify', { code }, { token }), 200);
  return number;
}

/** Turns on TOTP; returns the authenticator and the recovery codes. */
async function enableTotp(api, token) {
  const start = await api.post('/api/me/mfa/totp', undefined, { token });
  assertStatus(start, 200);
  const auth = new Authenticator(start.body.secret);
  const done = await api.post('/api/me/mfa/totp/confirm', { code: await auth.next() }, { token });
  assertStatus(done, 200);
  return { auth, recoveryCodes: done.body.recovery_codes, start };
}

describe('phone and second factors, SMS by signed webhook', () => {
  let receiver;
  let server;
  let api;

  before(async () => {
    receiver = await startSmsReceiver({ webhookSecret: WEBHOOK_SECRET });
    server = await startServer({
      env: baseEnv({
        LATCHKEY_SMS_CHANNEL: 'webhook',
        LATCHKEY_SMS_WEBHOOK_URL: receiver.webhookUrl,
        LATCHKEY_SMS_WEBHOOK_SECRET: WEBHOOK_SECRET,
      }),
    });
    api = client(server.url);
  });

  after(async () => {
    await server?.stop();
    await receiver?.stop();
  });

  test('phone verification: the code goes out by signed webhook; the right code verifies the number', async () => {
    const u = await newUser(api);
    const token = u.tokens.access_token;
    const before = await me(api, token);
    assert.equal(before.phone, null, JSON.stringify(before));
    assert.equal(before.phone_verified, false, JSON.stringify(before));

    const number = mobile();
    const res = await api.post('/api/me/phone', { phone: number.typed }, { token });
    assertStatus(res, 202);
    assert.deepEqual(res.body, { status: 'code_sent', phone: number.e164 }, show(res));
    const sms = await nthSms(receiver, number.e164);
    assertWebhookSms(sms, number.e164, 'verify_phone');
    assert.equal(sms.signatureValid, true);
    const code = codeOf(sms);
    // Not yet verified: nothing is stored before the code comes back.
    assert.equal((await me(api, token)).phone, null);
    assert.equal((await mfaStatus(api, token)).sms, false);

    assertProblem(await api.post('/api/me/phone/verify', { code: otherCode(code) }, { token }), 400, 'invalid_code', 'code');
    assert.equal((await me(api, token)).phone, null, 'a wrong code changes nothing');
    const ok = await api.post('/api/me/phone/verify', { code }, { token });
    assertStatus(ok, 200);
    assert.deepEqual(ok.body, { phone: number.e164, phone_verified: true }, show(ok));
    const after = await me(api, token);
    assert.equal(after.phone, number.e164, JSON.stringify(after));
    assert.equal(after.phone_verified, true, JSON.stringify(after));
    assert.equal((await mfaStatus(api, token)).sms, true);
    // The code is single-use.
    assertProblem(await api.post('/api/me/phone/verify', { code }, { token }), 400, 'invalid_code', 'code');
    assert.equal(smsTo(receiver, number.e164).length, 1, smsSummary(receiver));
  });

  test('phone verification refusals: 5 wrong codes kill the code, landlines, resend cooldown, a taken number', async () => {
    const u = await newUser(api);
    const token = u.tokens.access_token;
    assertProblem(await api.post('/api/me/phone/verify', { code: '123456' }, { token }), 400, 'invalid_code', 'code');

    const number = mobile();
    assertStatus(await api.post('/api/me/phone', { phone: number.typed }, { token }), 202);
    const code = codeOf(await nthSms(receiver, number.e164));
    const wrong = otherCode(code);
    for (let i = 1; i <= 4; i++) {
      assertProblem(await api.post('/api/me/phone/verify', { code: wrong }, { token }), 400, 'invalid_code', 'code');
    }
    assertProblem(await api.post('/api/me/phone/verify', { code: wrong }, { token }), 410, 'code_attempts_exceeded', 'code');
    assertProblem(await api.post('/api/me/phone/verify', { code }, { token }), 410, 'code_attempts_exceeded', 'code');
    let now = await me(api, token);
    assert.equal(now.phone, null, JSON.stringify(now));
    assert.equal(now.phone_verified, false, JSON.stringify(now));

    // A second code to the same number within the cooldown (60 s) is refused.
    const again = await api.post('/api/me/phone', { phone: number.typed }, { token });
    assertProblem(again, 429, 'rate_limited');
    const retryAfter = Number(again.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${again.headers.get('retry-after')}${show(again)}`);

    // A Seoul landline cannot take SMS; nothing is sent.
    const landline = await api.post('/api/me/phone', { phone: '02-312-3456' }, { token });
    assertProblem(landline, 400, 'invalid_field', 'phone');
    assertProblem(await api.post('/api/me/phone', { phone: 'not a number' }, { token }), 400, 'invalid_field', 'phone');
    assertProblem(await api.post('/api/me/phone', { phone: '+8223123456' }, { token }), 400, 'invalid_field', 'phone');
    assertProblem(await api.post('/api/me/phone', {}, { token }), 400, 'invalid_field', 'phone');
    assertProblem(await api.post('/api/me/phone', { phone: number.typed }), 401, 'unauthenticated');

    // A number verified by another account cannot be taken.
    const owner = await newUser(api);
    const taken = await verifyPhone(api, receiver, owner.tokens.access_token);
    const conflict = await api.post('/api/me/phone', { phone: taken.typed }, { token });
    assertProblem(conflict, 409, 'conflict', 'phone');
    now = await me(api, token);
    assert.equal(now.phone, null, JSON.stringify(now));
    const ownerNow = await me(api, owner.tokens.access_token);
    assert.equal(ownerNow.phone, taken.e164, JSON.stringify(ownerNow));
    assert.equal(ownerNow.phone_verified, true, JSON.stringify(ownerNow));
    await sleep(QUIET_MS);
    assert.equal(smsTo(receiver, taken.e164).length, 1, `no SMS to a taken number: ${smsSummary(receiver)}`);
    assert.equal(smsTo(receiver, '+8223123456').length, 0, smsSummary(receiver));
    assert.equal(smsTo(receiver, number.e164).length, 1, `one SMS despite the resend: ${smsSummary(receiver)}`);
  });

  test('SMS login: a code to a verified number signs in with amr ["sms"]; unknown numbers get the same answer and no SMS', async () => {
    const u = await newUser(api);
    const number = await verifyPhone(api, receiver, u.tokens.access_token);
    const userId = decodeJwt(u.tokens.access_token).payload.sub;

    const start = await api.post('/api/auth/sms/start', { phone: number.typed });
    assertStatus(start, 202);
    const sms = await nthSms(receiver, number.e164, 2);
    assertWebhookSms(sms, number.e164, 'sms_login');
    const code = codeOf(sms);

    assertProblem(await api.post('/api/auth/sms/verify', { phone: number.typed, code: otherCode(code) }), 400, 'invalid_code', 'code');
    assertProblem(await api.post('/api/auth/sms/verify', { phone: number.typed, code: '12345' }), 400, 'invalid_field', 'code');
    const ok = await api.post('/api/auth/sms/verify', { phone: number.e164, code });
    const tokens = assertTokens(ok);
    assert.equal(typeof tokens.refresh_token, 'string', show(ok));
    const claims = decodeJwt(tokens.access_token).payload;
    assert.deepEqual(claims.amr, ['sms'], JSON.stringify(claims));
    assert.equal(claims.sub, userId);
    assert.equal((await me(api, tokens.access_token)).email, u.email);
    assertProblem(await api.post('/api/auth/sms/verify', { phone: number.typed, code }), 400, 'invalid_code', 'code');
    // Within the cooldown no second code goes out.
    assertProblem(await api.post('/api/auth/sms/start', { phone: number.typed }), 429, 'rate_limited');

    // A number without an account (phone sign-up is off): the same answer, and no SMS.
    const unknown = mobile();
    const start2 = await api.post('/api/auth/sms/start', { phone: unknown.typed });
    assertStatus(start2, 202);
    assert.deepEqual(start2.body, start.body, `the same answer for unknown numbers${show(start2)}`);
    assertProblem(await api.post('/api/auth/sms/verify', { phone: unknown.typed, code: '123456' }), 400, 'invalid_code', 'code');
    assertProblem(await api.post('/api/auth/sms/start', { phone: '02-312-3456' }), 400, 'invalid_field', 'phone');
    await sleep(QUIET_MS);
    assert.equal(smsTo(receiver, unknown.e164).length, 0, `no SMS to an unknown number: ${smsSummary(receiver)}`);
    // No account was made for it: another user can still verify it.
    const other = await newUser(api);
    await verifyPhone(api, receiver, other.tokens.access_token, unknown);
  });

  test('TOTP: enrolment, then login needs the second step (mfa_token); replay, reuse, another client and too many tries are refused', async () => {
    const u = await newUser(api);
    const token = u.tokens.access_token;
    assert.deepEqual(await mfaStatus(api, token), { totp: false, sms: false, recovery_codes_left: 0 });

    const start = await api.post('/api/me/mfa/totp', undefined, { token });
    assertStatus(start, 200);
    assert.equal(start.headers.get('cache-control'), 'no-store', show(start));
    const { secret, otpauth_uri: uri, qr_svg: svg } = start.body;
    assert.match(secret, /^[A-Z2-7]{32}$/, show(start));
    const parsed = new URL(uri);
    assert.equal(parsed.protocol, 'otpauth:', uri);
    assert.equal(parsed.host, 'totp', uri);
    assert.equal(decodeURIComponent(parsed.pathname), `/Latchkey:${u.email}`, uri);
    assert.equal(parsed.searchParams.get('secret'), secret, uri);
    assert.equal(parsed.searchParams.get('issuer'), 'Latchkey', uri);
    for (const [k, v] of [['algorithm', 'SHA1'], ['digits', '6'], ['period', '30']]) {
      const got = parsed.searchParams.get(k);
      assert.ok(got === null || got === v, `${k}=${got} in ${uri}`);
    }
    assert.match(svg, /^(<\?xml[^>]*>\s*)?<svg[\s>]/, svg.slice(0, 200));
    assert.match(svg, /<\/svg>\s*$/);

    // Not on until confirmed: login still gives tokens at once.
    assertTokens(await api.post('/api/auth/login', { email: u.email, password: u.password }));
    const auth = new Authenticator(secret);
    assertProblem(await api.post('/api/me/mfa/totp/confirm', { code: auth.wrong() }, { token }), 400, 'invalid_code', 'code');
    assert.equal((await mfaStatus(api, token)).totp, false, 'a wrong code changes nothing');

    const confirm = await api.post('/api/me/mfa/totp/confirm', { code: await auth.next() }, { token });
    assertStatus(confirm, 200);
    assert.equal(confirm.body.status, 'enabled', show(confirm));
    const codes = confirm.body.recovery_codes;
    assert.ok(Array.isArray(codes) && codes.length === 10, show(confirm));
    assert.equal(new Set(codes).size, 10, 'recovery codes are distinct');
    for (const c of codes) assert.match(c, /^[a-z0-9]{4,}-[a-z0-9]{4,}$/i, `recovery code ${c}`);
    assert.equal(confirm.headers.get('cache-control'), 'no-store', show(confirm));
    assert.deepEqual(await mfaStatus(api, token), { totp: true, sms: false, recovery_codes_left: 10 });
    assertProblem(await api.post('/api/me/mfa/totp/confirm', { code: (await auth.peek()).code }, { token }), 409, 'conflict');
    assertProblem(await api.post('/api/me/mfa/totp', undefined, { token }), 409, 'conflict');

    // The first step gives no tokens and no cookies, even in cookie mode.
    const first = await api.post('/api/auth/login', { email: u.email, password: u.password, mode: 'cookie' });
    const mfaToken = assertChallenge(first, ['totp', 'recovery_code']);
    // SMS is not offered without a verified phone; asking does not use the challenge up.
    assertProblem(await api.post('/api/auth/mfa/sms', { mfa_token: mfaToken }), 400, 'invalid_field', 'method');
    assertProblem(await mfaVerify(api, { mfa_token: mfaToken, method: 'sms', code: '123456' }), 400, 'invalid_field', 'method');
    assertProblem(await mfaVerify(api, { mfa_token: `${mfaToken}x`, method: 'totp', code: '123456' }), 401, 'invalid_mfa_token');
    assertProblem(await mfaVerify(api, { method: 'totp', code: '123456' }), 400, 'invalid_field', 'mfa_token');
    const code = await auth.next();
    const ok = await mfaVerify(api, { mfa_token: mfaToken, method: 'totp', code, mode: 'cookie' });
    assertTokens(ok);
    assert.equal(ok.body.refresh_token, undefined, 'cookie mode keeps the refresh token in the cookie');
    assert.ok(ok.setCookies.some((c) => c.startsWith('__Host-latchkey_refresh=')), show(ok));
    const amr = amrOf(ok.body.access_token);
    for (const m of ['pwd', 'otp', 'mfa']) assert.ok(amr.includes(m), `amr ${JSON.stringify(amr)} has ${m}`);
    assert.deepEqual(amr, ['pwd', 'otp', 'mfa']);
    assert.equal((await me(api, ok.body.access_token)).email, u.email);
    // The challenge is single-use.
    assertProblem(await mfaVerify(api, { mfa_token: mfaToken, method: 'totp', code: await auth.peek().then((p) => p.code) }), 401, 'invalid_mfa_token');

    // The same code on a new login: refused (a TOTP code works once).
    const second = assertChallenge(await api.post('/api/auth/login', { email: u.email, password: u.password }), ['totp', 'recovery_code']);
    assertProblem(await mfaVerify(api, { mfa_token: second, method: 'totp', code }), 400, 'invalid_code', 'code');
    // The challenge belongs to the client that passed the first step.
    const ua = { 'user-agent': 'LatchkeyTest/1.0' };
    const third = assertChallenge(await api.post('/api/auth/login', { email: u.email, password: u.password }, { headers: ua }), ['totp', 'recovery_code']);
    const fresh = (await auth.peek()).code;
    assertProblem(await mfaVerify(api, { mfa_token: third, method: 'totp', code: fresh }, { 'user-agent': 'Other/2.0' }), 401, 'invalid_mfa_token');
    assertProblem(await mfaVerify(api, { mfa_token: third, method: 'totp', code: fresh }), 401, 'invalid_mfa_token');

    // Five wrong codes, then the right one: the challenge is dead.
    const fourth = assertChallenge(await api.post('/api/auth/login', { email: u.email, password: u.password }), ['totp', 'recovery_code']);
    for (let i = 1; i <= 5; i++) {
      assertProblem(await mfaVerify(api, { mfa_token: fourth, method: 'totp', code: auth.wrong() }), 400, 'invalid_code', 'code');
    }
    assertProblem(await mfaVerify(api, { mfa_token: fourth, method: 'totp', code: fresh }), 410, 'code_attempts_exceeded', 'code');
    assertProblem(await mfaVerify(api, { mfa_token: fourth, method: 'totp', code: fresh }), 401, 'invalid_mfa_token');

    // None of the refusals used the code up: it signs in on the client that started the step.
    const fifth = assertChallenge(await api.post('/api/auth/login', { email: u.email, password: u.password }, { headers: ua }), ['totp', 'recovery_code']);
    assert.equal((await auth.peek()).code, fresh, 'the same step is still the next one');
    assertTokens(await mfaVerify(api, { mfa_token: fifth, method: 'totp', code: await auth.next() }, ua));
    assert.deepEqual(await mfaStatus(api, token), { totp: true, sms: false, recovery_codes_left: 10 });
  });

  test('recovery codes sign in once; regenerating and turning TOTP off need the password and a current code', async () => {
    const u = await newUser(api);
    const token = u.tokens.access_token;
    const { auth, recoveryCodes } = await enableTotp(api, token);
    const loginStep = async () => assertChallenge(await api.post('/api/auth/login', { email: u.email, password: u.password }), ['totp', 'recovery_code']);

    const ok = await mfaVerify(api, { mfa_token: await loginStep(), method: 'recovery_code', code: recoveryCodes[0] });
    assertTokens(ok);
    assert.deepEqual(amrOf(ok.body.access_token), ['pwd', 'kba', 'mfa']);
    assert.equal((await mfaStatus(api, token)).recovery_codes_left, 9);
    assertProblem(await mfaVerify(api, { mfa_token: await loginStep(), method: 'recovery_code', code: recoveryCodes[0] }), 400, 'invalid_code', 'code');
    assertProblem(await mfaVerify(api, { mfa_token: await loginStep(), method: 'recovery_code', code: 'nonsense' }), 400, 'invalid_code', 'code');
    // Codes are typed by people: case and the dash do not matter.
    const typed = recoveryCodes[1].replace('-', ' ').toUpperCase();
    assertTokens(await mfaVerify(api, { mfa_token: await loginStep(), method: 'recovery_code', code: typed }));
    assert.equal((await mfaStatus(api, token)).recovery_codes_left, 8);

    // Regenerate: the password and a current TOTP code.
    const regen = (json) => api.post('/api/me/mfa/recovery-codes', json, { token });
    assertProblem(await regen({ password: `${u.password}x`, code: (await auth.peek()).code }), 401, 'invalid_credentials');
    assertProblem(await regen({ password: u.password, code: auth.wrong() }), 400, 'invalid_code', 'code');
    assertProblem(await regen({ password: u.password }), 400, 'invalid_field', 'code');
    assert.equal((await mfaStatus(api, token)).recovery_codes_left, 8, 'refusals change nothing');
    const fresh = await regen({ password: u.password, code: await auth.next() });
    assertStatus(fresh, 200);
    assert.equal(fresh.headers.get('cache-control'), 'no-store', show(fresh));
    const newCodes = fresh.body.recovery_codes;
    assert.ok(Array.isArray(newCodes) && newCodes.length === 10, show(fresh));
    assert.ok(!newCodes.includes(recoveryCodes[2]), 'a new set');
    assert.equal((await mfaStatus(api, token)).recovery_codes_left, 10);
    assertProblem(await mfaVerify(api, { mfa_token: await loginStep(), method: 'recovery_code', code: recoveryCodes[2] }), 400, 'invalid_code', 'code');

    // Turning TOTP off: the password and a current code.
    const disable = (json) => api.delete('/api/me/mfa/totp', json, { token });
    assertProblem(await disable({ password: `${u.password}x`, code: (await auth.peek()).code }), 401, 'invalid_credentials');
    assertProblem(await disable({ password: u.password, code: auth.wrong() }), 400, 'invalid_code', 'code');
    assert.deepEqual(await mfaStatus(api, token), { totp: true, sms: false, recovery_codes_left: 10 }, 'refusals change nothing');
    await loginStep();
    const off = await disable({ password: u.password, code: await auth.next() });
    assertStatus(off, 204);
    assert.deepEqual(await mfaStatus(api, token), { totp: false, sms: false, recovery_codes_left: 0 });
    const direct = assertTokens(await api.post('/api/auth/login', { email: u.email, password: u.password }));
    assert.deepEqual(amrOf(direct.access_token), ['pwd']);
    assertProblem(await disable({ password: u.password, code: auth.wrong() }), 404, 'not_found');
  });

  test('SMS as the second factor when the phone is verified; an SMS login then asks for TOTP', async () => {
    const u = await newUser(api);
    const token = u.tokens.access_token;
    const number = await verifyPhone(api, receiver, token);
    const { auth } = await enableTotp(api, token);
    assert.deepEqual(await mfaStatus(api, token), { totp: true, sms: true, recovery_codes_left: 10 });

    const mfaToken = assertChallenge(await api.post('/api/auth/login', { email: u.email, password: u.password }), ['totp', 'recovery_code', 'sms']);
    assertProblem(await api.post('/api/auth/mfa/sms', { mfa_token: 'x'.repeat(43) }), 401, 'invalid_mfa_token');
    const sent = await api.post('/api/auth/mfa/sms', { mfa_token: mfaToken });
    assertStatus(sent, 202);
    assert.deepEqual(sent.body, { status: 'code_sent' }, show(sent));
    const sms = await nthSms(receiver, number.e164, 2);
    assertWebhookSms(sms, number.e164, 'mfa_code');
    const code = codeOf(sms);
    assertProblem(await mfaVerify(api, { mfa_token: mfaToken, method: 'sms', code: otherCode(code) }), 400, 'invalid_code', 'code');
    const ok = await mfaVerify(api, { mfa_token: mfaToken, method: 'sms', code });
    assertTokens(ok);
    assert.deepEqual(amrOf(ok.body.access_token), ['pwd', 'sms', 'mfa']);

    // Signing in by SMS: the second factor must be another one than SMS.
    assertStatus(await api.post('/api/auth/sms/start', { phone: number.typed }), 202);
    const loginCode = codeOf(await nthSms(receiver, number.e164, 3));
    const step = await api.post('/api/auth/sms/verify', { phone: number.typed, code: loginCode });
    const smsToken = assertChallenge(step, ['totp', 'recovery_code']);
    assertProblem(await api.post('/api/auth/mfa/sms', { mfa_token: smsToken }), 400, 'invalid_field', 'method');
    const done = await mfaVerify(api, { mfa_token: smsToken, method: 'totp', code: await auth.next() });
    assertTokens(done);
    assert.deepEqual(amrOf(done.body.access_token), ['sms', 'otp', 'mfa']);
  });

  test('a password reset keeps TOTP on', async () => {
    const u = await newUser(api);
    const { recoveryCodes } = await enableTotp(api, u.tokens.access_token);
    assertStatus(await api.post('/api/auth/password/forgot', { email: u.email }), 202);
    const mail = await resetMail(server.dir, u.email);
    const link = /https?:\/\/\S+\/reset-password\?token=([A-Za-z0-9_.-]+)/.exec(mail.text ?? '');
    assert.ok(link, `a reset link in the mail:\n${mail.text}`);
    const newPassword = strongPassword();
    const reset = await api.post('/api/auth/password/reset', { token: link[1], password: newPassword });
    assertStatus(reset, 200);
    const mfaToken = assertChallenge(await api.post('/api/auth/login', { email: u.email, password: newPassword }), ['totp', 'recovery_code']);
    const ok = assertTokens(await mfaVerify(api, { mfa_token: mfaToken, method: 'recovery_code', code: recoveryCodes[0] }));
    assert.deepEqual(await mfaStatus(api, ok.access_token), { totp: true, sms: false, recovery_codes_left: 9 });
  });

  // Last in this suite: it makes the receiver fail.
  test('a gateway outage: two 503 answers, then the SMS is delivered once with the same id and a valid signature', async () => {
    const u = await newUser(api);
    const number = mobile();
    receiver.failNext(2, 503);
    try {
      assertStatus(await api.post('/api/me/phone', { phone: number.typed }, { token: u.tokens.access_token }), 202);
      const delivered = await nthSms(receiver, number.e164, 1, 15000);
      await sleep(QUIET_MS);
      const all = smsTo(receiver, number.e164);
      assert.deepEqual(
        all.map((r) => r.status),
        [503, 503, 200],
        `two failures, then one delivery: ${smsSummary(receiver)}`,
      );
      for (const r of all) {
        assertWebhookSms(r, number.e164, 'verify_phone');
        assert.equal(r.json.id, delivered.json.id, 'every try carries the same message id');
        assert.equal(r.json.text, delivered.json.text, 'and the same text');
      }
      assert.ok(all[2].receivedAt - all[0].receivedAt >= 1500, `retries back off: ${all.map((r) => r.receivedAt.toISOString())}`);
      const ok = await api.post('/api/me/phone/verify', { code: codeOf(delivered) }, { token: u.tokens.access_token });
      assertStatus(ok, 200);
    } finally {
      receiver.failNext(0);
    }
  });
});

/** Waits for the password reset mail to `email` written by the log channel; returns it parsed. */
async function resetMail(dir, email, timeout = 10000) {
  const mailDir = path.join(dir, 'mail');
  const seen = new Set();
  const deadline = Date.now() + timeout;
  for (;;) {
    if (existsSync(mailDir)) {
      for (const name of readdirSync(mailDir)) {
        if (!name.endsWith('.eml') || seen.has(name)) continue;
        seen.add(name);
        const mail = await simpleParser(readFileSync(path.join(mailDir, name)));
        const to = (mail.to?.value ?? []).map((a) => a.address.toLowerCase());
        if (to.includes(email.toLowerCase()) && mail.subject === RESET_SUBJECT) return mail;
      }
    }
    if (Date.now() > deadline) assert.fail(`no reset mail to ${email} in ${mailDir} within ${timeout} ms (files: ${[...seen].join(', ')})`);
    await sleep(100);
  }
}

describe('sign-up by phone, SMS by Twilio', () => {
  let receiver;
  let server;
  let api;

  before(async () => {
    receiver = await startSmsReceiver({ twilio: TWILIO });
    server = await startServer({
      sqlite: true,
      env: baseEnv({
        LATCHKEY_SIGNUP_PHONE_ENABLED: 'true',
        LATCHKEY_SMS_CHANNEL: 'twilio',
        LATCHKEY_SMS_TWILIO_API_BASE: receiver.twilioBase,
        LATCHKEY_SMS_TWILIO_ACCOUNT_SID: TWILIO.accountSid,
        LATCHKEY_SMS_TWILIO_AUTH_TOKEN: TWILIO.authToken,
        LATCHKEY_SMS_TWILIO_FROM: TWILIO_FROM,
        LATCHKEY_SMS_RESEND_COOLDOWN: '1',
      }),
    });
    api = client(server.url);
  });

  after(async () => {
    await server?.stop();
    await receiver?.stop();
  });

  test('a new number gets a code by Twilio and an account; the next SMS login finds the same account', async () => {
    const number = mobile();
    const start = await api.post('/api/auth/sms/start', { phone: number.typed });
    assertStatus(start, 202);
    const sms = await nthSms(receiver, number.e164);
    assert.equal(sms.kind, 'twilio');
    assert.equal(sms.path, `/2010-04-01/Accounts/${TWILIO.accountSid}/Messages.json`);
    assert.match(sms.headers['content-type'] ?? '', /^application\/x-www-form-urlencoded/);
    assert.equal(sms.form.To, number.e164);
    assert.equal(sms.form.From, TWILIO_FROM);
    assert.match(sms.form.Body, /^\[Latchkey\] Your code is \d{6}\. /);
    const basic = /^Basic (.+)$/.exec(sms.headers.authorization ?? '');
    assert.ok(basic, `Basic auth: ${sms.headers.authorization}`);
    assert.equal(Buffer.from(basic[1], 'base64').toString(), `${TWILIO.accountSid}:${TWILIO.authToken}`);
    assert.equal(sms.status, 201);

    const code = codeOf(sms);
    assertProblem(await api.post('/api/auth/sms/verify', { phone: number.typed, code: otherCode(code) }), 400, 'invalid_code', 'code');
    const ok = await api.post('/api/auth/sms/verify', { phone: number.typed, code });
    const tokens = assertTokens(ok);
    assert.deepEqual(amrOf(tokens.access_token), ['sms']);
    const account = await me(api, tokens.access_token);
    assert.equal(account.phone, number.e164, JSON.stringify(account));
    assert.equal(account.phone_verified, true, JSON.stringify(account));
    assert.equal(account.state, 'active', JSON.stringify(account));
    assert.equal(account.email_verified, false, JSON.stringify(account));
    // The phone is this account's only way in: it cannot be removed.
    assertProblem(await api.delete('/api/me/phone', { password: 'whatever' }, { token: tokens.access_token }), 409, 'conflict');

    await sleep(1100); // the resend cooldown of this server
    assertStatus(await api.post('/api/auth/sms/start', { phone: number.e164 }), 202);
    const again = await api.post('/api/auth/sms/verify', { phone: number.typed, code: codeOf(await nthSms(receiver, number.e164, 2)) });
    const second = assertTokens(again);
    assert.equal(decodeJwt(second.access_token).payload.sub, account.id, 'the same account');
    assert.equal(smsTo(receiver, number.e164).length, 2, smsSummary(receiver));
  });
});
