// E-mail features over real SMTP (tests/api/mail-sink.mjs): sign-up verification by link and by
// code, resend limits, password reset, change of address, the mail language, bad tokens, and
// delivery through SMTP faults (server down, restart, AUTH).
//
// On a shared database (LATCHKEY_TEST_DATABASE_URL) the outbox is shared too: any running
// server's dispatcher may deliver any queued message. So servers on the shared database run one
// at a time (the suite's server is stopped before the fault tests start), and extra servers that
// run beside it use a private SQLite database (`sqlite: true`). Every address is random, and
// mails are always looked up by recipient.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import {
  startServer,
  client,
  randomEmail,
  randomHex,
  strongPassword,
  assertProblem,
  assertStatus,
  signup,
  login,
  describe as show,
  sleep,
  MANY_LOGIN_FAILURES,
} from './harness.mjs';
import { startMailSink, extractLinks } from './mail-sink.mjs';

const FROM_ADDRESS = 'no-reply@example.test';
const FROM = `Latchkey Test <${FROM_ADDRESS}>`;
// selector (12 bytes) "." verifier (32 bytes), both base64url without padding.
const TOKEN_RE = /^[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43}$/;
// Long enough for a queued mail to be delivered (poll interval 1 s): after it, "no mail" means
// that none was queued.
const QUIET_MS = 2000;

const SUBJECT = {
  verify: 'Confirm your e-mail for Latchkey',
  changeVerify: 'Confirm your new e-mail address for Latchkey',
  changeNotice: 'Your Latchkey e-mail address is being changed',
  reset: 'Reset your Latchkey password',
  changed: 'Your Latchkey password was changed',
  verifyKo: 'Latchkey 이메일 주소 확인',
  resetKo: 'Latchkey 비밀번호 재설정',
};

/** The environment of a server that delivers to `sink` over STARTTLS and verifies sign-ups. */
function mailEnv(sink, extra = {}) {
  return {
    ...MANY_LOGIN_FAILURES,
    LATCHKEY_SIGNUP_REQUIRE_EMAIL_VERIFICATION: 'true',
    LATCHKEY_MAIL_CHANNEL: 'smtp',
    LATCHKEY_MAIL_SMTP_URL: sink.smtpUrl,
    LATCHKEY_MAIL_SMTP_STARTTLS: 'required',
    LATCHKEY_MAIL_SMTP_CA_FILE: sink.caFile,
    LATCHKEY_MAIL_POLL_INTERVAL: '1',
    LATCHKEY_MAIL_FROM: FROM,
    // Every request comes from 127.0.0.1: only the test of the cap keeps it low.
    LATCHKEY_VERIFICATION_IP_HOURLY_CAP: '100000',
    ...extra,
  };
}

const isTo = (address) => (m) => m.envelope.rcptTo.some((a) => a.toLowerCase() === address.toLowerCase());

function mailsTo(sink, address) {
  return sink.messages().filter(isTo(address));
}

function summary(sink) {
  return sink
    .messages()
    .map((m) => `${JSON.stringify(m.subject)} to ${m.envelope.rcptTo.join(',')}`)
    .join('; ');
}

/** The first mail to `address` with `subject`, waiting for it. */
function mailWith(sink, address, subject, timeout = 10000) {
  const to = isTo(address);
  return sink.waitFor((m) => to(m) && m.subject === subject, { timeout });
}

/** Waits until `n` mails to `address` arrived; returns the n-th (1-based). */
async function nthMailTo(sink, address, n, timeout = 10000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const list = mailsTo(sink, address);
    if (list.length >= n) return list[n - 1];
    if (Date.now() > deadline) {
      assert.fail(`expected ${n} mails to ${address} within ${timeout} ms; got: ${summary(sink)}`);
    }
    await sleep(25);
  }
}

/** Polls `fn` until it returns a truthy value; returns it. */
async function until(fn, what, timeout = 10000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** The token of the one `{base}/{page}?token=` link in the mail's text part. */
function tokenIn(mail, page, base) {
  const links = extractLinks(mail.text).filter((l) => l.includes(`/${page}?token=`));
  assert.equal(links.length, 1, `one ${page} link in the text part:\n${mail.text}`);
  assert.ok(links[0].startsWith(`${base}/${page}?token=`), `link ${links[0]} starts with ${base}/${page}`);
  const token = new URL(links[0]).searchParams.get('token');
  assert.match(token, TOKEN_RE, `token in ${links[0]}`);
  return token;
}

/** The 6-digit code, which the text part shows on a line of its own. */
function codeIn(mail) {
  const m = /^[ \t]+([0-9]{6})[ \t\r]*$/m.exec(mail.text);
  assert.ok(m, `a 6-digit code line in the text part:\n${mail.text}`);
  return m[1];
}

/** Another 6-digit code than `code`. */
function otherCode(code) {
  return String((Number(code) + 1) % 1000000).padStart(6, '0');
}

/** `token` with one character of its verifier changed. */
function tamper(token) {
  const i = token.length - 10;
  const c = token[i] === 'A' ? 'B' : 'A';
  return token.slice(0, i) + c + token.slice(i + 1);
}

function randomToken() {
  return `${Buffer.from(randomHex(12), 'hex').toString('base64url')}.${Buffer.from(randomHex(32), 'hex').toString('base64url')}`;
}

/** A Prometheus sample value from /metrics (the first series of that name). */
async function metric(api, name) {
  const res = await api.get('/metrics');
  assertStatus(res, 200);
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})?\\s+(\\S+)\\s*$`, 'm').exec(res.text);
  assert.ok(m, `metric ${name} in /metrics:\n${res.text.slice(0, 3000)}`);
  return Number(m[1]);
}

const verifyEmail = (api, json) => api.post('/api/auth/verify-email', json);
const resend = (api, email) => api.post('/api/auth/verify-email/resend', { email });
const forgot = (api, email, opts) => api.post('/api/auth/password/forgot', { email }, opts);
const resetPassword = (api, token, password) => api.post('/api/auth/password/reset', { token, password });

/** Signs up, follows the mailed link, and returns the account. */
async function verifiedUser(api, sink, base, opts = {}) {
  const { email, password } = await signup(api, opts);
  const mail = await mailWith(sink, email, SUBJECT.verify);
  const res = await verifyEmail(api, { token: tokenIn(mail, 'verify-email', base) });
  assertStatus(res, 200);
  return { email, password };
}

describe('one server delivering to one SMTP sink', () => {
  let sink;
  let server;
  let api;

  before(async () => {
    sink = await startMailSink({ tls: true });
    server = await startServer({ env: mailEnv(sink) });
    api = client(server.url);
  });

  after(async () => {
    await server?.stop();
    await sink?.stop();
  });

  test('sign-up mails a link over STARTTLS; following it activates the account', async () => {
    const email = randomEmail('verify');
    const password = strongPassword();
    const res = await api.post('/api/auth/signup', { email, password, name: 'Ada Tester' });
    assertStatus(res, 201);
    assert.equal(res.body.verification_required, true, show(res));
    assertProblem(await api.post('/api/auth/login', { email, password }), 403, 'account_pending');

    const mail = await sink.waitFor(email);
    assert.equal(mail.secure, true, 'delivered after STARTTLS');
    assert.equal(mail.envelope.mailFrom, FROM_ADDRESS);
    assert.deepEqual(mail.envelope.rcptTo, [email]);
    assert.equal(mail.from, FROM_ADDRESS);
    assert.match(String(mail.headers.from), /^"?Latchkey Test"? <no-reply@example\.test>$/, 'From has the display name');
    assert.deepEqual(mail.to, [email]);
    assert.match(mail.messageId ?? '', /^<[^<>@\s]+@[^<>@\s]+>$/, `Message-ID: ${mail.messageId}`);
    assert.ok(mail.date instanceof Date && Math.abs(mail.date - Date.now()) < 120000, `Date: ${mail.date}`);
    assert.match(String(mail.headers['content-type']), /^multipart\/alternative/i, 'text and HTML alternatives');
    assert.equal(mail.subject, SUBJECT.verify);
    assert.ok(mail.text.includes('Ada Tester'), `the text greets by name:\n${mail.text}`);
    assert.ok(mail.html && /<html/i.test(mail.html), 'an HTML part');
    const token = tokenIn(mail, 'verify-email', server.url);
    assert.ok(
      extractLinks(mail.html).includes(`${server.url}/verify-email?token=${token}`),
      'the HTML part has the same link',
    );
    const code = codeIn(mail);
    assert.ok(mail.html.includes(code), 'the HTML part has the same code');

    const ok = await verifyEmail(api, { token });
    assertStatus(ok, 200);
    assert.deepEqual(ok.body, { status: 'verified', email, purpose: 'verify_email' }, show(ok));
    await login(api, email, password);
    const me = await api.get('/api/me', { token: (await login(api, email, password)).access_token });
    assertStatus(me, 200);
    assert.equal(me.body.email_verified, true, show(me));
    assert.equal(me.body.state, 'active', show(me));
    // The link is single-use, and the code died with it.
    assertProblem(await verifyEmail(api, { token }), 410, 'verification_token_used');
    assertProblem(await verifyEmail(api, { email, code }), 400, 'invalid_code', 'code');
    assert.equal(mailsTo(sink, email).length, 1, summary(sink));
  });

  test('the 6-digit code verifies; after 5 wrong ones it is dead even when right, but the link still works', async () => {
    const a = await signup(api);
    const codeA = codeIn(await sink.waitFor(a.email));
    const ok = await verifyEmail(api, { email: a.email, code: codeA });
    assertStatus(ok, 200);
    assert.deepEqual(ok.body, { status: 'verified', email: a.email, purpose: 'verify_email' }, show(ok));
    await login(api, a.email, a.password);
    assertProblem(await verifyEmail(api, { email: a.email, code: codeA }), 400, 'invalid_code', 'code');

    const b = await signup(api);
    const mailB = await sink.waitFor(b.email);
    const codeB = codeIn(mailB);
    const wrong = otherCode(codeB);
    for (let i = 1; i <= 4; i++) {
      assertProblem(await verifyEmail(api, { email: b.email, code: wrong }), 400, 'invalid_code', 'code');
    }
    assertProblem(await verifyEmail(api, { email: b.email, code: wrong }), 410, 'code_attempts_exceeded', 'code');
    assertProblem(await verifyEmail(api, { email: b.email, code: codeB }), 410, 'code_attempts_exceeded', 'code');
    assertProblem(await api.post('/api/auth/login', { email: b.email, password: b.password }), 403, 'account_pending');
    // The link is another secret: wrong codes do not use it up.
    const byLink = await verifyEmail(api, { token: tokenIn(mailB, 'verify-email', server.url) });
    assertStatus(byLink, 200);
    assert.equal(byLink.body.email, b.email, show(byLink));
    await login(api, b.email, b.password);
  });

  test('resend: one answer for unknown, verified and pending addresses; the new link supersedes the old; cooldown', async () => {
    const unknown = randomEmail('nobody');
    const r0 = await resend(api, unknown);
    assertStatus(r0, 202);
    assert.equal(r0.body.status, 'accepted', show(r0));

    const verified = await verifiedUser(api, sink, server.url);
    const rv = await resend(api, verified.email);
    assertStatus(rv, 202);
    assert.deepEqual(rv.body, r0.body, 'a verified address gets the same answer');

    const p = await signup(api);
    const first = await sink.waitFor(p.email);
    const oldToken = tokenIn(first, 'verify-email', server.url);
    const oldCode = codeIn(first);
    const r1 = await resend(api, p.email);
    assertStatus(r1, 202);
    assert.deepEqual(r1.body, r0.body, 'a pending address gets the same answer');
    const second = await nthMailTo(sink, p.email, 2);
    assert.equal(second.subject, SUBJECT.verify);
    const newToken = tokenIn(second, 'verify-email', server.url);
    assert.notEqual(newToken, oldToken);
    assert.notEqual(second.messageId, first.messageId);
    // Asked again at once: the same answer, and no mail (cooldown).
    const r2 = await resend(api, p.email);
    assertStatus(r2, 202);
    assert.deepEqual(r2.body, r0.body);

    assertProblem(await verifyEmail(api, { token: oldToken }), 410, 'verification_token_used');
    if (oldCode !== codeIn(second)) {
      assertProblem(await verifyEmail(api, { email: p.email, code: oldCode }), 400, 'invalid_code', 'code');
    }
    assertProblem(await api.post('/api/auth/login', { email: p.email, password: p.password }), 403, 'account_pending');

    await sleep(QUIET_MS);
    assert.equal(mailsTo(sink, p.email).length, 2, `no mail for the resend in the cooldown: ${summary(sink)}`);
    assert.equal(mailsTo(sink, unknown).length, 0, 'no mail to an unknown address');
    assert.equal(mailsTo(sink, verified.email).length, 1, 'no new mail to a verified address');

    const ok = await verifyEmail(api, { token: newToken });
    assertStatus(ok, 200);
    await login(api, p.email, p.password);
  });

  test('resend and forgot-password from one IP over verification.ip_hourly_cap: 429 with Retry-After', async () => {
    const own = await startServer({ sqlite: true, env: mailEnv(sink, { LATCHKEY_VERIFICATION_IP_HOURLY_CAP: '3' }) });
    try {
      const a = client(own.url);
      assertStatus(await resend(a, randomEmail('cap')), 202);
      assertStatus(await forgot(a, randomEmail('cap')), 202);
      assertStatus(await resend(a, randomEmail('cap')), 202);
      for (const res of [await resend(a, randomEmail('cap')), await forgot(a, randomEmail('cap'))]) {
        assertProblem(res, 429, 'rate_limited');
        const retry = res.headers.get('retry-after');
        assert.match(retry ?? '', /^[1-9][0-9]*$/, `Retry-After${show(res)}`);
        assert.ok(Number(retry) <= 3600, `Retry-After within the hour${show(res)}`);
      }
      // Other routes are not limited by it.
      const u = await signup(a);
      assertProblem(await a.post('/api/auth/login', { email: u.email, password: u.password }), 403, 'account_pending');
    } finally {
      await own.stop();
    }
  });

  test('verification.resend_cooldown = 0 sends every resend, up to verification.daily_cap', async () => {
    const own = await startServer({
      sqlite: true,
      env: mailEnv(sink, { LATCHKEY_VERIFICATION_RESEND_COOLDOWN: '0', LATCHKEY_VERIFICATION_DAILY_CAP: '2' }),
    });
    try {
      const a = client(own.url);
      const p = await signup(a);
      await nthMailTo(sink, p.email, 1);
      assertStatus(await resend(a, p.email), 202);
      await nthMailTo(sink, p.email, 2);
      assertStatus(await resend(a, p.email), 202);
      const third = await nthMailTo(sink, p.email, 3);
      // Over the daily cap: the same answer, no mail.
      assertStatus(await resend(a, p.email), 202);
      await sleep(QUIET_MS);
      assert.equal(mailsTo(sink, p.email).length, 3, summary(sink));
      const second = mailsTo(sink, p.email)[1];
      assertProblem(await verifyEmail(a, { token: tokenIn(second, 'verify-email', own.url) }), 410, 'verification_token_used');
      assertStatus(await verifyEmail(a, { token: tokenIn(third, 'verify-email', own.url) }), 200);
    } finally {
      await own.stop();
    }
  });

  test('with signup.login_after_verification the verification answers like a login', async () => {
    const own = await startServer({ sqlite: true, env: mailEnv(sink, { LATCHKEY_SIGNUP_LOGIN_AFTER_VERIFICATION: 'true' }) });
    try {
      const a = client(own.url);
      // Bearer (default): both tokens in the body.
      const u = await signup(a);
      const res = await verifyEmail(a, { token: tokenIn(await sink.waitFor(u.email), 'verify-email', own.url) });
      assertStatus(res, 200);
      assert.equal(res.body.status, 'verified', show(res));
      assert.equal(res.body.email, u.email);
      assert.equal(res.body.purpose, 'verify_email');
      assert.equal(res.body.token_type, 'Bearer');
      assert.equal(typeof res.body.refresh_token, 'string', show(res));
      assert.match(res.headers.get('cache-control') ?? '', /no-store/, show(res));
      const me = await a.get('/api/me', { token: res.body.access_token });
      assertStatus(me, 200);
      assert.equal(me.body.email, u.email);
      assertStatus(await a.post('/api/auth/refresh', { refresh_token: res.body.refresh_token }), 200);
      // Cookie mode, by code: the refresh token goes into a cookie only.
      const v = await signup(a);
      const code = codeIn(await sink.waitFor(v.email));
      const byCode = await verifyEmail(a, { email: v.email, code, mode: 'cookie' });
      assertStatus(byCode, 200);
      assert.equal(byCode.body.status, 'verified', show(byCode));
      assert.equal(typeof byCode.body.access_token, 'string', show(byCode));
      assert.equal(byCode.body.refresh_token, undefined, show(byCode));
      assert.ok(byCode.setCookies.some((c) => /latchkey_refresh=[^;]+/.test(c)), show(byCode));
    } finally {
      await own.stop();
    }
  });

  test('password reset: a weak password is refused; the reset ends every session; the link is single-use', async () => {
    const u = await verifiedUser(api, sink, server.url);
    const s1 = await login(api, u.email, u.password);
    const s2 = await login(api, u.email, u.password);
    const unknown = randomEmail('nobody');
    const f0 = await forgot(api, unknown);
    assertStatus(f0, 202);
    assert.equal(f0.body.status, 'accepted', show(f0));
    const f1 = await forgot(api, u.email);
    assertStatus(f1, 202);
    assert.deepEqual(f1.body, f0.body, 'no enumeration');

    const mail = await mailWith(sink, u.email, SUBJECT.reset);
    assert.equal(mail.secure, true);
    const token = tokenIn(mail, 'reset-password', server.url);

    assertProblem(await resetPassword(api, token, 'password'), 400, 'weak_password');
    assertStatus(await api.get('/api/me', { token: s1.access_token }), 200);
    await login(api, u.email, u.password);

    const newPassword = strongPassword();
    const ok = await resetPassword(api, token, newPassword);
    assertStatus(ok, 200);
    assert.equal(ok.body.status, 'password_reset', show(ok));
    for (const s of [s1, s2]) {
      assertProblem(await api.post('/api/auth/refresh', { refresh_token: s.refresh_token }), 401, 'invalid_refresh_token');
      assertProblem(await api.get('/api/me', { token: s.access_token }), 401, 'session_revoked');
    }
    assertProblem(await api.post('/api/auth/login', { email: u.email, password: u.password }), 401, 'invalid_credentials');
    await login(api, u.email, newPassword);
    assertProblem(await resetPassword(api, token, strongPassword()), 410, 'verification_token_used');
    await login(api, u.email, newPassword);

    const changed = await mailWith(sink, u.email, SUBJECT.changed);
    assert.ok(!changed.text.includes(newPassword), 'the notice does not contain the password');
    await sleep(QUIET_MS);
    assert.equal(mailsTo(sink, unknown).length, 0, 'no mail to an unknown address');
    assert.equal(mailsTo(sink, u.email).length, 3, `verify, reset, changed: ${summary(sink)}`);
  });

  test('a reset link proves the address: a pending account becomes active', async () => {
    const p = await signup(api);
    await mailWith(sink, p.email, SUBJECT.verify);
    assertStatus(await forgot(api, p.email), 202);
    const token = tokenIn(await mailWith(sink, p.email, SUBJECT.reset), 'reset-password', server.url);
    const newPassword = strongPassword();
    assertStatus(await resetPassword(api, token, newPassword), 200);
    const tokens = await login(api, p.email, newPassword);
    const me = await api.get('/api/me', { token: tokens.access_token });
    assertStatus(me, 200);
    assert.equal(me.body.email_verified, true, show(me));
    assert.equal(me.body.state, 'active', show(me));
  });

  test('change of e-mail: confirmed by the link sent to the new address; the old address is told', async () => {
    const u = await verifiedUser(api, sink, server.url, { name: 'Grace' });
    const { access_token: token } = await login(api, u.email, u.password);
    const newEmail = randomEmail('new');

    assertProblem(await api.post('/api/me/email', { new_email: newEmail, password: u.password }), 401, 'unauthenticated');
    assertProblem(await api.post('/api/me/email', { new_email: newEmail, password: `${u.password}x` }, { token }), 401, 'invalid_credentials');
    assertProblem(await api.post('/api/me/email', { new_email: u.email, password: u.password }, { token }), 400, 'invalid_field', 'new_email');
    assertProblem(await api.post('/api/me/email', { new_email: 'not-an-address', password: u.password }, { token }), 400, 'invalid_email', 'new_email');
    assertProblem(await api.post('/api/me/email', { new_email: newEmail }, { token }), 400, 'invalid_field', 'password');

    const res = await api.post('/api/me/email', { new_email: newEmail, password: u.password }, { token });
    assertStatus(res, 202);
    assert.equal(res.body.status, 'verification_sent', show(res));
    assert.equal(res.body.pending_email, newEmail, show(res));

    const confirm = await mailWith(sink, newEmail, SUBJECT.changeVerify);
    assert.equal(confirm.secure, true);
    const changeToken = tokenIn(confirm, 'verify-email', server.url);
    codeIn(confirm);
    const notice = await mailWith(sink, u.email, SUBJECT.changeNotice);
    assert.ok(notice.text.includes(newEmail), `the notice names the new address:\n${notice.text}`);
    assert.equal(extractLinks(notice.text).filter((l) => l.includes('token=')).length, 0, 'no link to confirm in the notice');

    // Another change at once: throttled.
    const again = await api.post('/api/me/email', { new_email: randomEmail('new'), password: u.password }, { token });
    assertProblem(again, 429, 'rate_limited');
    assert.match(again.headers.get('retry-after') ?? '', /^[1-9][0-9]*$/, show(again));

    // Nothing changed until the link is followed.
    const before = await api.get('/api/me', { token });
    assertStatus(before, 200);
    assert.equal(before.body.email, u.email);
    assertProblem(await api.post('/api/auth/login', { email: newEmail, password: u.password }), 401, 'invalid_credentials');
    await login(api, u.email, u.password);

    const ok = await verifyEmail(api, { token: changeToken });
    assertStatus(ok, 200);
    assert.deepEqual(ok.body, { status: 'verified', email: newEmail, purpose: 'change_email' }, show(ok));
    const fresh = await login(api, newEmail, u.password);
    const after = await api.get('/api/me', { token: fresh.access_token });
    assertStatus(after, 200);
    assert.equal(after.body.email, newEmail);
    assert.equal(after.body.email_verified, true);
    assertProblem(await api.post('/api/auth/login', { email: u.email, password: u.password }), 401, 'invalid_credentials');
    assertProblem(await verifyEmail(api, { token: changeToken }), 410, 'verification_token_used');
  });

  test('change of e-mail by code, and to an address another account has: the same 202 and no mail', async () => {
    const x = await verifiedUser(api, sink, server.url);
    const xToken = (await login(api, x.email, x.password)).access_token;
    const xNew = randomEmail('new');
    assertStatus(await api.post('/api/me/email', { new_email: xNew, password: x.password }, { token: xToken }), 202);
    const code = codeIn(await mailWith(sink, xNew, SUBJECT.changeVerify));
    const byCode = await verifyEmail(api, { email: xNew, code });
    assertStatus(byCode, 200);
    assert.deepEqual(byCode.body, { status: 'verified', email: xNew, purpose: 'change_email' }, show(byCode));
    await login(api, xNew, x.password);

    const other = await signup(api);
    await mailWith(sink, other.email, SUBJECT.verify);
    const w = await verifiedUser(api, sink, server.url);
    const wToken = (await login(api, w.email, w.password)).access_token;
    const res = await api.post('/api/me/email', { new_email: other.email, password: w.password }, { token: wToken });
    assertStatus(res, 202);
    assert.equal(res.body.status, 'verification_sent', show(res));
    assert.equal(res.body.pending_email, other.email, show(res));
    await sleep(QUIET_MS);
    assert.equal(mailsTo(sink, other.email).length, 1, `only its own sign-up mail: ${summary(sink)}`);
    assert.equal(mailsTo(sink, w.email).length, 1, `no notice to the requester: ${summary(sink)}`);
    const me = await api.get('/api/me', { token: wToken });
    assertStatus(me, 200);
    assert.equal(me.body.email, w.email);
    await login(api, w.email, w.password);
  });

  test('the mail language follows Accept-Language at sign-up (ko), English by default', async () => {
    const ko = randomEmail('ko');
    const res = await api.post(
      '/api/auth/signup',
      { email: ko, password: strongPassword(), name: '김하나' },
      { headers: { 'accept-language': 'ko-KR,ko;q=0.9' } },
    );
    assertStatus(res, 201);
    const en = await signup(api);
    const mailKo = await sink.waitFor(ko);
    assert.equal(mailKo.subject, SUBJECT.verifyKo);
    assert.ok(mailKo.text.includes('김하나님'), `Korean greeting:\n${mailKo.text}`);
    assert.match(mailKo.text, /인증 코드/);
    tokenIn(mailKo, 'verify-email', server.url);
    codeIn(mailKo);
    const mailEn = await sink.waitFor(en.email);
    assert.equal(mailEn.subject, SUBJECT.verify);
    assert.doesNotMatch(mailEn.text, /[\uAC00-\uD7A3]/, 'no Korean in the English mail');
    // The language is stored with the account: later mails use it, whatever the request says.
    assertStatus(await forgot(api, ko, { headers: { 'accept-language': 'en' } }), 202);
    const reset = await mailWith(sink, ko, SUBJECT.resetKo);
    tokenIn(reset, 'reset-password', server.url);
  });

  test('bad tokens and codes: malformed, tampered, unknown, reused, of another purpose, of another user', async () => {
    const a = await signup(api);
    const mailA = await sink.waitFor(a.email);
    const tokenA = tokenIn(mailA, 'verify-email', server.url);
    const codeA = codeIn(mailA);
    const b = await signup(api);
    const mailB = await sink.waitFor(b.email);
    const codeB = codeIn(mailB);

    // Malformed.
    for (const token of ['abc', `${tokenA}x`, tokenA.slice(0, -1), tokenA.replace('.', '_'), `!${tokenA.slice(1)}`, `${tokenA.slice(0, 16)}.${'*'.repeat(43)}`]) {
      assertProblem(await verifyEmail(api, { token }), 400, 'verification_token_invalid');
      assertProblem(await resetPassword(api, token, strongPassword()), 400, 'verification_token_invalid');
    }
    // Tampered verifier: refused, and the real token is not burnt by it.
    assertProblem(await verifyEmail(api, { token: tamper(tokenA) }), 400, 'verification_token_invalid');
    // Unknown: well-formed, no such selector.
    assertProblem(await verifyEmail(api, { token: randomToken() }), 400, 'verification_token_unknown');
    assertProblem(await resetPassword(api, randomToken(), strongPassword()), 400, 'verification_token_unknown');
    // A verification token is no reset token.
    assertProblem(await resetPassword(api, tokenA, strongPassword()), 400, 'verification_token_unknown');
    // A code of user A with user B's address.
    if (codeA !== codeB) {
      assertProblem(await verifyEmail(api, { email: b.email, code: codeA }), 400, 'invalid_code', 'code');
    }
    // A code for an address without an account, or with no code waiting.
    assertProblem(await verifyEmail(api, { email: randomEmail('nobody'), code: codeA }), 400, 'invalid_code', 'code');
    assertProblem(await api.post('/api/auth/login', { email: a.email, password: a.password }), 403, 'account_pending');

    assertStatus(await verifyEmail(api, { token: tokenA }), 200);
    assertProblem(await verifyEmail(api, { token: tokenA }), 410, 'verification_token_used');
    assertProblem(await resetPassword(api, tokenA, strongPassword()), 400, 'verification_token_unknown');
    await login(api, a.email, a.password);

    // A reset token is no verification token, and trying it there does not use it.
    assertStatus(await forgot(api, a.email), 202);
    const resetToken = tokenIn(await mailWith(sink, a.email, SUBJECT.reset), 'reset-password', server.url);
    assertProblem(await verifyEmail(api, { token: resetToken }), 400, 'verification_token_unknown');
    assertProblem(await resetPassword(api, tamper(resetToken), strongPassword()), 400, 'verification_token_invalid');
    const newPassword = strongPassword();
    assertStatus(await resetPassword(api, resetToken, newPassword), 200);
    await login(api, a.email, newPassword);
  });

  test('bad shapes are refused with invalid_field (and change nothing)', async () => {
    const p = await signup(api);
    const mail = await sink.waitFor(p.email);
    const token = tokenIn(mail, 'verify-email', server.url);
    const code = codeIn(mail);
    const cases = [
      [{ token, code }, 'token'],
      [{ token, email: p.email, code }, 'token'],
      [{ token: '' }, 'token'],
      [{ token: 123 }, 'token'],
      [{}, 'email'],
      [{ code }, 'email'],
      [{ email: p.email }, 'code'],
      [{ email: p.email, code: code.slice(0, 5) }, 'code'],
      [{ email: p.email, code: `${code}0` }, 'code'],
      [{ email: p.email, code: `${code.slice(0, 5)}a` }, 'code'],
      [{ email: p.email, code: Number(code) }, 'code'],
      [{ token, mode: 'session' }, 'mode'],
      [{ token, extra: true }, 'extra'],
    ];
    for (const [json, field] of cases) {
      assertProblem(await verifyEmail(api, json), 400, 'invalid_field', field);
    }
    assertProblem(await api.post('/api/auth/verify-email/resend', {}), 400, 'invalid_field', 'email');
    assertProblem(await api.post('/api/auth/verify-email/resend', { email: p.email, extra: 1 }), 400, 'invalid_field', 'extra');
    assertProblem(await api.post('/api/auth/password/forgot', {}), 400, 'invalid_field', 'email');
    assertProblem(await api.post('/api/auth/password/forgot', { email: p.email, extra: 1 }), 400, 'invalid_field', 'extra');
    assertProblem(await api.post('/api/auth/password/reset', { token }), 400, 'invalid_field', 'password');
    assertProblem(await api.post('/api/auth/password/reset', { password: strongPassword() }), 400, 'invalid_field', 'token');
    assertProblem(await api.post('/api/auth/password/reset', { token, password: strongPassword(), extra: 1 }), 400, 'invalid_field', 'extra');
    // None of it used the link, the code or its attempts.
    assertProblem(await api.post('/api/auth/login', { email: p.email, password: p.password }), 403, 'account_pending');
    const ok = await verifyEmail(api, { email: p.email, code });
    assertStatus(ok, 200);
    await login(api, p.email, p.password);
  });
});

test('SMTP down at sign-up: the mail waits in the outbox and is delivered exactly once, across a restart too', async () => {
  const sink = await startMailSink({ tls: true });
  const env = mailEnv(sink, {
    LATCHKEY_MAIL_RETRY_BASE: '1',
    LATCHKEY_MAIL_RETRY_MAX: '2',
    LATCHKEY_MAIL_MAX_ATTEMPTS: '100',
  });
  let server = await startServer({ env });
  const { dir } = server;
  const databaseUrl = server.env.LATCHKEY_DATABASE_URL;
  const masterKey = server.env.LATCHKEY_KEYS_MASTER_KEY;
  const firstUrl = server.url;
  try {
    let api = client(server.url);
    await sink.down();
    const a = await signup(api);
    assert.equal(a.res.body.verification_required, true, show(a.res));
    const failed1 = await until(async () => {
      const n = await metric(api, 'latchkey_mail_failed_attempts_total');
      return n >= 1 ? n : 0;
    }, 'a failed delivery attempt');
    assert.ok((await metric(api, 'latchkey_outbox_queued')) >= 1, 'the message waits in the outbox');
    await until(async () => (await metric(api, 'latchkey_mail_failed_attempts_total')) > failed1, 'a retry');
    assert.equal(await metric(api, 'latchkey_mail_sent_total'), 0);
    assert.equal(sink.messages().length, 0);

    await sink.up();
    const mailA = await sink.waitFor(a.email);
    await sleep(QUIET_MS);
    assert.equal(mailsTo(sink, a.email).length, 1, `exactly once: ${summary(sink)}`);
    assert.ok((await metric(api, 'latchkey_mail_sent_total')) >= 1);
    assertStatus(await verifyEmail(api, { token: tokenIn(mailA, 'verify-email', firstUrl) }), 200);

    // Down again; the server is restarted while the mail waits.
    await sink.down();
    const b = await signup(api);
    const failedBefore = await metric(api, 'latchkey_mail_failed_attempts_total');
    await until(async () => (await metric(api, 'latchkey_mail_failed_attempts_total')) > failedBefore, 'a failed attempt for the second mail');
    await server.stop({ keepDir: true });
    server = await startServer({ dir, databaseUrl, masterKey, env });
    api = client(server.url);
    assert.ok((await metric(api, 'latchkey_outbox_queued')) >= 1, 'still queued after the restart');
    await until(async () => (await metric(api, 'latchkey_mail_failed_attempts_total')) >= 1, 'the new process trying it');
    await sink.up();
    const mailB = await sink.waitFor(b.email);
    await sleep(QUIET_MS);
    assert.equal(mailsTo(sink, b.email).length, 1, `exactly once: ${summary(sink)}`);
    assert.equal(mailsTo(sink, a.email).length, 1, `the first mail was not sent again: ${summary(sink)}`);
    // The link names the public URL of the server that queued it; the token works on the new one.
    assertStatus(await verifyEmail(api, { token: tokenIn(mailB, 'verify-email', firstUrl) }), 200);
    await login(api, b.email, b.password);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
    await sink.stop();
  }
});

test('SMTP AUTH: the right credentials deliver; a wrong password (535) is permanent: dead at once', async () => {
  const auth = { user: 'latchkey-mailer', pass: `pw-${randomHex(8)}` };
  const sink = await startMailSink({ tls: true, auth });
  try {
    const good = await startServer({
      env: mailEnv(sink, { LATCHKEY_MAIL_SMTP_USER: auth.user, LATCHKEY_MAIL_SMTP_PASSWORD: auth.pass }),
    });
    try {
      const u = await signup(client(good.url));
      const mail = await sink.waitFor(u.email);
      assert.equal(mail.authUser, auth.user);
      assert.equal(mail.secure, true, 'AUTH only after STARTTLS');
    } finally {
      await good.stop();
    }

    // Default retry_base (30 s): a message dead within seconds was failed as permanent.
    const bad = await startServer({
      env: mailEnv(sink, { LATCHKEY_MAIL_SMTP_USER: auth.user, LATCHKEY_MAIL_SMTP_PASSWORD: `wrong-${auth.pass}` }),
    });
    try {
      const api = client(bad.url);
      const dead0 = await metric(api, 'latchkey_outbox_dead');
      const failures0 = sink.stats().authFailures;
      const v = await signup(api);
      await until(async () => (await metric(api, 'latchkey_outbox_dead')) > dead0, 'latchkey_outbox_dead to grow', 5000);
      assert.ok((await metric(api, 'latchkey_mail_dead_total')) >= 1);
      assert.ok((await metric(api, 'latchkey_mail_failed_attempts_total')) >= 1);
      assert.ok(sink.stats().authFailures > failures0, 'the sink refused the login');
      assert.equal(mailsTo(sink, v.email).length, 0);
      assert.ok(!bad.output().includes(`wrong-${auth.pass}`), 'the password is not logged');
    } finally {
      await bad.stop();
    }
  } finally {
    await sink.stop();
  }
});
