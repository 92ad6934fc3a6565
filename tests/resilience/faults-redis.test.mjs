// Redis FLUSHALL in the middle of guessing (issue 9): no attacker gains a fresh guess budget.
//
// What lives where (docs/operations.md, "When Redis is down"):
//   - e-mail verification codes: the code and its wrong-attempt count live in the database row
//     of the verification, so FLUSHALL changes nothing about them;
//   - SMS codes live in Redis together with their try count (methods/sms_code): FLUSHALL ends
//     the code itself, so the right code is refused afterwards, not given new tries;
//   - MFA challenges (mfa_token) live in Redis together with their try count: FLUSHALL ends the
//     challenge itself, so the same mfa_token gets no more tries; a new one needs the password
//     again. TOTP replay protection (the last used step) lives with the factor in the database;
//   - login throttling counts live in Redis only: FLUSHALL forgets them (documented: "losing
//     Redis ... resets throttles"; run Redis with AOF so a restart does not). The guarantee that
//     remains: the throttle works again at once, so a flush buys at most
//     security.login_free_attempts more guesses before the lock is back.
//
// Environment: LATCHKEY_BIN; needs redis-server (tests/api/redis-server.mjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client, signup, assertStatus, assertProblem, randomHex, sleep, MANY_LOGIN_FAILURES } from '../api/harness.mjs';
import { startMailSink } from '../api/mail-sink.mjs';
import { startRedis } from '../api/redis-server.mjs';
import { startSmsReceiver } from '../api/sms-receiver.mjs';
import { Authenticator } from '../api/totp.mjs';
import { redisCommand } from './fault-support.mjs';

const FREE_ATTEMPTS = 3;
const CODE_ATTEMPTS = 5;

const WEBHOOK_SECRET = `whsec-${randomHex(16)}`;

let redis;
let sink;
let sms;
let server;
let api;

before(async () => {
  redis = await startRedis();
  sink = await startMailSink();
  sms = await startSmsReceiver({ webhookSecret: WEBHOOK_SECRET });
  server = await startServer({
    env: {
      ...MANY_LOGIN_FAILURES,
      LATCHKEY_KV_URL: redis.url,
      LATCHKEY_SIGNUP_REQUIRE_EMAIL_VERIFICATION: 'true',
      LATCHKEY_MAIL_CHANNEL: 'smtp',
      LATCHKEY_MAIL_SMTP_URL: sink.smtpUrl,
      LATCHKEY_MAIL_SMTP_STARTTLS: 'off',
      LATCHKEY_MAIL_POLL_INTERVAL: '1',
      LATCHKEY_VERIFICATION_CODE_ATTEMPTS: String(CODE_ATTEMPTS),
      LATCHKEY_VERIFICATION_IP_HOURLY_CAP: '100000',
      LATCHKEY_SMS_CHANNEL: 'webhook',
      LATCHKEY_SMS_WEBHOOK_URL: sms.webhookUrl,
      LATCHKEY_SMS_WEBHOOK_SECRET: WEBHOOK_SECRET,
      LATCHKEY_SMS_CODE_ATTEMPTS: String(CODE_ATTEMPTS),
      LATCHKEY_SMS_IP_HOURLY_CAP: '100000',
      LATCHKEY_PHONE_DEFAULT_REGION: 'KR',
      LATCHKEY_SECURITY_LOGIN_FREE_ATTEMPTS: String(FREE_ATTEMPTS),
      // Long enough that a lock cannot run out by itself during the test.
      LATCHKEY_SECURITY_LOGIN_BASE_DELAY: '300',
    },
  });
  api = client(server.url);
});

after(async () => {
  await server?.stop();
  await sink?.stop();
  await sms?.stop();
  await redis?.close();
});

async function flushall() {
  assert.equal(await redisCommand(redis.port, 'FLUSHALL'), '+OK');
  assert.equal(await redisCommand(redis.port, 'DBSIZE'), ':0', 'Redis is empty');
}

/** The 6-digit code, which the text part of the verification mail shows on a line of its own. */
function codeIn(mail) {
  const m = /^[ \t]+([0-9]{6})[ \t\r]*$/m.exec(mail.text);
  assert.ok(m, `a 6-digit code line in:\n${mail.text}`);
  return m[1];
}

const otherCode = (code) => String((Number(code) + 1) % 1000000).padStart(6, '0');
const verifyEmail = (json) => api.post('/api/auth/verify-email', json);

async function verifiedUser() {
  const u = await signup(api);
  const code = codeIn(await sink.waitFor(u.email));
  assertStatus(await verifyEmail({ email: u.email, code }), 200);
  return u;
}

test('e-mail code: wrong attempts made before FLUSHALL still count after it', async () => {
  const u = await signup(api);
  const code = codeIn(await sink.waitFor(u.email));
  const wrong = otherCode(code);
  for (let i = 1; i <= 3; i += 1) {
    assertProblem(await verifyEmail({ email: u.email, code: wrong }), 400, 'invalid_code', 'code');
  }
  await flushall();
  // Attempts 4 and 5 of 5: the budget was not reset.
  assertProblem(await verifyEmail({ email: u.email, code: wrong }), 400, 'invalid_code', 'code');
  assertProblem(await verifyEmail({ email: u.email, code: wrong }), 410, 'code_attempts_exceeded', 'code');
  assertProblem(await verifyEmail({ email: u.email, code }), 410, 'code_attempts_exceeded', 'code');
  assertProblem(await api.post('/api/auth/login', { email: u.email, password: u.password }), 403, 'account_pending');
});

test('SMS code: FLUSHALL ends the code with its try count; the right code is refused afterwards', async () => {
  const u = await verifiedUser();
  const loginRes = await api.post('/api/auth/login', { email: u.email, password: u.password });
  assertStatus(loginRes, 200);
  const token = loginRes.body.access_token;
  const digits = String(Math.floor(Math.random() * 1e7)).padStart(7, '0');
  const typed = `010-${'2346789'[Math.floor(Math.random() * 7)]}${digits.slice(0, 3)}-${digits.slice(3)}`;
  assertStatus(await api.post('/api/me/phone', { phone: typed }, { token }), 202);
  const e164 = `+82${typed.slice(1).replaceAll('-', '')}`;
  let received;
  for (const deadline = Date.now() + 10000; !received; await sleep(25)) {
    received = sms.requests().find((r) => r.json?.to === e164 && r.status !== null && r.status < 300);
    assert.ok(received || Date.now() < deadline, `an SMS to ${e164}`);
  }
  const code = /\b(\d{6})\b/.exec(received.json.text)?.[1];
  assert.ok(code, `a code in ${received.json.text}`);
  for (let i = 1; i <= 3; i += 1) {
    assertProblem(await api.post('/api/me/phone/verify', { code: otherCode(code) }, { token }), 400, 'invalid_code', 'code');
  }
  await flushall();
  assertProblem(await api.post('/api/me/phone/verify', { code }, { token }), 400, 'invalid_code', 'code');
  const me = await api.get('/api/me', { token });
  assertStatus(me, 200);
  assert.equal(me.body.phone_verified, false, `the phone is not verified: ${JSON.stringify(me.body)}`);
});

test('MFA: FLUSHALL ends the challenge with its try count; TOTP replay protection survives it', async () => {
  const u = await verifiedUser();
  const loginRes = await api.post('/api/auth/login', { email: u.email, password: u.password });
  assertStatus(loginRes, 200);
  const token = loginRes.body.access_token;
  const start = await api.post('/api/me/mfa/totp', undefined, { token });
  assertStatus(start, 200);
  const auth = new Authenticator(start.body.secret);
  const enrolCode = await auth.next();
  assertStatus(await api.post('/api/me/mfa/totp/confirm', { code: enrolCode }, { token }), 200);

  const challenge = await api.post('/api/auth/login', { email: u.email, password: u.password });
  assertStatus(challenge, 200);
  const mfaToken = challenge.body.mfa_token;
  assert.ok(mfaToken, 'a second step is asked for');
  for (let i = 1; i <= 4; i += 1) {
    assertProblem(await api.post('/api/auth/mfa/verify', { mfa_token: mfaToken, method: 'totp', code: auth.wrong() }), 400, 'invalid_code', 'code');
  }
  await flushall();
  // The challenge went with its count: the right code on it is refused, not given 5 new tries.
  const right = (await auth.peek()).code;
  assertProblem(await api.post('/api/auth/mfa/verify', { mfa_token: mfaToken, method: 'totp', code: right }), 401, 'invalid_mfa_token');

  // A new challenge needs the password again; the code used at enrolment is still spent.
  const again = await api.post('/api/auth/login', { email: u.email, password: u.password });
  assertStatus(again, 200);
  const second = again.body.mfa_token;
  assertProblem(await api.post('/api/auth/mfa/verify', { mfa_token: second, method: 'totp', code: enrolCode }), 400, 'invalid_code', 'code');
  assertStatus(await api.post('/api/auth/mfa/verify', { mfa_token: second, method: 'totp', code: await auth.next() }), 200);
});

test('login throttling: FLUSHALL forgets the counts (documented), and the lock is back after the free attempts', async (t) => {
  const u = await verifiedUser();
  const attempt = (password) => api.post('/api/auth/login', { email: u.email, password });
  for (let i = 1; i <= FREE_ATTEMPTS; i += 1) assertProblem(await attempt(`wrong-${i}`), 401, 'invalid_credentials');
  const locked = await attempt(u.password);
  assertProblem(locked, 429, 'rate_limited');
  assert.ok(Number(locked.headers.get('retry-after')) > 1, 'Retry-After');

  await flushall();
  // Guess until the lock is back: at most FREE_ATTEMPTS guesses get through.
  let through = 0;
  for (;;) {
    const res = await attempt(`wrong-after-${through}`);
    if (res.status === 429) {
      assertProblem(res, 429, 'rate_limited');
      break;
    }
    assertProblem(res, 401, 'invalid_credentials');
    through += 1;
    assert.ok(through <= FREE_ATTEMPTS, `at most ${FREE_ATTEMPTS} guesses after FLUSHALL before the lock`);
  }
  t.diagnostic(`${through} wrong passwords were checked after FLUSHALL before the lock came back`);
  assertProblem(await attempt(u.password), 429, 'rate_limited');
});
