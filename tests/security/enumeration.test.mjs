// Attack suite: user enumeration (status, body and a coarse timing check) on sign-up, login,
// password reset and verification resend; Host / X-Forwarded-Host poisoning of e-mailed links;
// header injection through names and addresses echoed in mails. The server verifies sign-ups
// and writes its mails with the log channel (the same composition as SMTP) into <dir>/mail.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer,
  client,
  randomEmail,
  strongPassword,
  assertProblem,
  assertStatus,
  loginFails,
  MANY_LOGIN_FAILURES,
} from '../api/harness.mjs';
import { loggedMails, mailText, htmlPart, eventually, median, rawExchange, firstJsonBody, show } from './lib.mjs';

let srv;
let api;
let active; // {email, password} of an active account
let pending; // {email, password} of an account waiting for verification

before(async () => {
  // A private SQLite database: on a shared database another server's dispatcher could deliver
  // (and so hide) the mails this file reads from its own log directory.
  srv = await startServer({
    sqlite: true,
    env: {
      ...MANY_LOGIN_FAILURES,
      LATCHKEY_SECURITY_LOGIN_FREE_ATTEMPTS: '1000',
      LATCHKEY_SIGNUP_REQUIRE_EMAIL_VERIFICATION: 'true',
      LATCHKEY_VERIFICATION_IP_HOURLY_CAP: '100000',
      LATCHKEY_VERIFICATION_RESEND_COOLDOWN: '0',
      LATCHKEY_MAIL_POLL_INTERVAL: '1',
      // Hashing heavy enough that skipping it for unknown addresses would show in the timing.
      LATCHKEY_PASSWORD_ARGON2_MEMORY_KIB: '32768',
      LATCHKEY_PASSWORD_ARGON2_ITERATIONS: '2',
    },
  });
  api = client(srv.url);
  pending = { email: randomEmail('pending'), password: strongPassword() };
  assertStatus(await api.post('/api/auth/signup', pending), 201);
  // An active account: sign up, then follow the verification link from the mail.
  active = { email: randomEmail('active'), password: strongPassword() };
  assertStatus(await api.post('/api/auth/signup', active), 201);
  const token = await linkToken(active.email, 'verify-email');
  assertStatus(await api.post('/api/auth/verify-email', { token }), 200);
});

after(async () => {
  await srv?.stop();
});

/** Every logged mail to `address`, decoded. */
function mailsTo(address) {
  const headersOf = (m) => m.slice(0, m.search(/\r?\n\r?\n/)).replace(/\r?\n[ \t]/g, ' ');
  return loggedMails(srv.dir)
    .filter((m) => new RegExp(`^To:.*<?${address.replace(/[.+]/g, '\\$&')}>?$`, 'mi').test(headersOf(m)))
    .map((raw) => ({ raw, text: mailText(raw) }));
}

/** Waits for a mail to `address` with a link to `{public_url}/<page>?token=` and returns the token. */
async function linkToken(address, page) {
  const mail = await eventually(
    () => mailsTo(address).find((m) => m.text.includes(`/${page}?token=`)),
    `a ${page} mail to ${address}`,
  );
  return new RegExp(`/${page}\\?token=([A-Za-z0-9_.-]+)`).exec(mail.text)[1];
}

/** The answer without what differs on every request anyway (request ids). */
function shape(res) {
  const { request_id: _id, ...body } = res.body ?? {};
  return { status: res.status, contentType: res.headers.get('content-type'), body };
}

/** Wall time of `fn` in ms. */
async function timed(fn) {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/**
 * Coarse timing check that cannot flake: the medians of N interleaved requests for a known and
 * an unknown address must be within `factor` of each other (plus `slackMs` for answers that are
 * fast either way). Skipping the password hash for unknown addresses (tens of milliseconds at
 * these argon2 settings) breaks it.
 */
async function assertSimilarTiming(known, unknown, { n = 9, factor = 3, slackMs = 0 } = {}) {
  const a = [];
  const b = [];
  for (let i = 0; i < n; i++) {
    a.push(await timed(known));
    b.push(await timed(unknown));
  }
  const [ma, mb] = [median(a), median(b)];
  const [lo, hi] = ma < mb ? [ma, mb] : [mb, ma];
  assert.ok(hi <= lo * factor + slackMs, `median ${ma.toFixed(1)} ms (known) vs ${mb.toFixed(1)} ms (unknown)`);
  return { known: ma, unknown: mb };
}

// --- enumeration by status and body -----------------------------------------------------------

test('sign-up answers the same for a new, a pending and an active address', async () => {
  const answers = [];
  for (const email of [randomEmail('new'), pending.email, active.email, active.email.toUpperCase()]) {
    answers.push(shape(await api.post('/api/auth/signup', { email, password: strongPassword() })));
  }
  assert.equal(answers[0].status, 201);
  for (const a of answers.slice(1)) assert.deepEqual(a, answers[0]);
  // The taken addresses kept their passwords.
  const res = await api.post('/api/auth/login', active);
  assertStatus(res, 200);
});

test('login answers the same for an unknown address and a wrong password', async () => {
  const unknown = shape(await api.post('/api/auth/login', { email: randomEmail('nobody'), password: strongPassword() }));
  const wrong = shape(await api.post('/api/auth/login', { email: active.email, password: strongPassword() }));
  const wrongPending = shape(await api.post('/api/auth/login', { email: pending.email, password: strongPassword() }));
  assert.equal(unknown.status, 401);
  assert.equal(unknown.body.code, 'invalid_credentials');
  assert.deepEqual(wrong, unknown);
  assert.deepEqual(wrongPending, unknown);
});

test('password reset request answers the same for every kind of address', async () => {
  const answers = [];
  for (const email of [randomEmail('nobody'), pending.email, active.email]) {
    answers.push(shape(await api.post('/api/auth/password/forgot', { email })));
  }
  assert.equal(answers[0].status, 202);
  for (const a of answers.slice(1)) assert.deepEqual(a, answers[0]);
});

test('verification resend answers the same for unknown, pending and active addresses', async () => {
  const answers = [];
  for (const email of [randomEmail('nobody'), pending.email, active.email]) {
    answers.push(shape(await api.post('/api/auth/verify-email/resend', { email })));
  }
  assert.equal(answers[0].status, 202);
  for (const a of answers.slice(1)) assert.deepEqual(a, answers[0]);
});

// --- enumeration by timing (coarse) -----------------------------------------------------------

test('timing: login for an unknown address costs as much as a wrong password', async () => {
  await assertSimilarTiming(
    () => api.post('/api/auth/login', { email: active.email, password: strongPassword() }),
    () => api.post('/api/auth/login', { email: randomEmail('nobody'), password: strongPassword() }),
  );
});

test('timing: sign-up of a taken address costs as much as a new one', async () => {
  await assertSimilarTiming(
    () => api.post('/api/auth/signup', { email: active.email, password: strongPassword() }),
    () => api.post('/api/auth/signup', { email: randomEmail('t'), password: strongPassword() }),
    { n: 7 },
  );
});

test('timing: reset and resend requests do no visible extra work for known addresses', async () => {
  // Mail is queued, never sent inside the request: known and unknown are both fast.
  await assertSimilarTiming(
    () => api.post('/api/auth/password/forgot', { email: active.email }),
    () => api.post('/api/auth/password/forgot', { email: randomEmail('nobody') }),
    { slackMs: 60 },
  );
  await assertSimilarTiming(
    () => api.post('/api/auth/verify-email/resend', { email: pending.email }),
    () => api.post('/api/auth/verify-email/resend', { email: randomEmail('nobody') }),
    { slackMs: 60 },
  );
});

// --- Host / X-Forwarded-Host poisoning of mailed links ----------------------------------------

/** POSTs JSON over a raw socket with the given Host and extra headers. */
async function postWithHost(pathname, json, hostHeader, extra = []) {
  const body = JSON.stringify(json);
  const head = [
    `POST ${pathname} HTTP/1.1`,
    `Host: ${hostHeader}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...extra,
  ];
  const { text, statuses } = await rawExchange(srv.url, `${head.join('\r\n')}\r\n\r\n${body}`);
  return { status: statuses[0], body: firstJsonBody(text), text };
}

const POISON = [
  'X-Forwarded-Host: evil.example',
  'X-Forwarded-Proto: http',
  'X-Forwarded-Server: evil.example',
  'X-Host: evil.example',
  'X-Original-URL: https://evil.example/',
  'Forwarded: host=evil.example;proto=https',
];

test('Host and X-Forwarded-Host never reach e-mailed reset links (public_url only)', async () => {
  const res = await postWithHost('/api/auth/password/forgot', { email: active.email }, 'evil.example', POISON);
  assert.equal(res.status, 202, res.text.slice(0, 500));
  await linkToken(active.email, 'reset-password');
  const mail = mailsTo(active.email).find((m) => m.text.includes('/reset-password?token='));
  assert.ok(!/evil\.example/i.test(mail.raw), 'the mail mentions the attacker host');
  const links = [...mail.text.matchAll(/https?:\/\/[^\s"'<>]+/g)].map((m) => m[0]);
  assert.ok(links.length > 0);
  for (const link of links.filter((l) => l.includes('token='))) assert.ok(link.startsWith(`${srv.url}/`), link);
});

test('Host poisoning of the sign-up verification mail has no effect either', async () => {
  const email = randomEmail('hostpoison');
  const res = await postWithHost('/api/auth/signup', { email, password: strongPassword() }, 'evil.example:443', POISON);
  assert.equal(res.status, 201, res.text.slice(0, 500));
  await linkToken(email, 'verify-email');
  const [mail] = mailsTo(email);
  assert.ok(!/evil\.example/i.test(mail.raw), 'the mail mentions the attacker host');
  assert.match(mail.text, new RegExp(`${srv.url.replace(/[.:/]/g, '\\$&')}/verify-email\\?token=`));
});

// --- header injection through values echoed in mails ------------------------------------------

test('CR/LF in a name or address is refused before any mail is written', async () => {
  const email = randomEmail('crlf');
  const before = loggedMails(srv.dir).length;
  for (const [json, field] of [
    [{ email, name: 'Eve\r\nBcc: attacker@evil.example' }, 'name'],
    [{ email, name: 'Eve\nSubject: hi' }, 'name'],
    [{ email: `${email}\r\nBcc: attacker@evil.example` }, 'email'],
    [{ email: `${email}\nX-Injected: 1` }, 'email'],
  ]) {
    const res = await api.post('/api/auth/signup', { ...json, password: strongPassword() });
    assertProblem(res, 400, 'invalid_field', field);
  }
  for (const bad of [`${email}\r\nBcc: attacker@evil.example`, `${active.email}\r\nBcc: attacker@evil.example`]) {
    assertProblem(await api.post('/api/auth/password/forgot', { email: bad }), 400, 'invalid_field', 'email');
    assertProblem(await api.post('/api/auth/verify-email/resend', { email: bad }), 400, 'invalid_field', 'email');
  }
  await new Promise((r) => setTimeout(r, 1500)); // one dispatcher poll
  assert.equal(loggedMails(srv.dir).length, before, 'no mail was written');
  await loginFails(api, email, strongPassword());
});

test('a name that looks like mail headers stays in the body, never in the headers', async () => {
  const email = randomEmail('hdr');
  const name = 'Bcc: attacker@evil.example Subject: Free money =?UTF-8?B?aGk=?=';
  assertStatus(await api.post('/api/auth/signup', { email, password: strongPassword(), name }), 201);
  await linkToken(email, 'verify-email');
  const [mail] = mailsTo(email);
  const headers = mail.raw.slice(0, mail.raw.search(/\r?\n\r?\n/));
  assert.ok(!/^Bcc:/im.test(headers), headers);
  assert.ok(!/attacker@evil\.example/i.test(headers), headers);
  assert.equal((headers.match(/^Subject:/gim) ?? []).length, 1, headers);
});

test('HTML in a name is escaped in the HTML part of the mail', async () => {
  const email = randomEmail('html');
  const name = '<img src=x onerror=alert(1)><a href="https://evil.example/">Reset here</a>';
  assertStatus(await api.post('/api/auth/signup', { email, password: strongPassword(), name }), 201);
  await linkToken(email, 'verify-email');
  const [mail] = mailsTo(email);
  const html = htmlPart(mail.raw);
  assert.ok(html.includes('</html>'), `an HTML part was found: ${html.slice(0, 200)}`);
  assert.ok(!html.includes('<img src=x'), 'the raw tag reached the HTML mail');
  assert.ok(!html.includes('<a href="https://evil.example/">'), 'the raw link reached the HTML mail');
  assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'), 'the name is shown escaped');
});
