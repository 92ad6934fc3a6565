// Self-test of sms-receiver.mjs (no latchkey involved): fetch() plays the Twilio and webhook
// clients. The signature check is also held against a vector computed with
// `openssl dgst -sha256 -hmac` (the same one src/courier/sms_channels_test.cpp uses).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import net from 'node:net';
import { startSmsReceiver, verifyWebhookSignature } from './sms-receiver.mjs';

const TEST_TIMEOUT = { timeout: 8000 };
const SID = 'AC0123456789abcdef0123456789abcdef';
const TOKEN = 'tok-secret-123';
const SECRET = 'whsec_0123456789abcdef';

const basic = (user, pass) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

function postTwilio(sms, form, { sid = SID, token = TOKEN } = {}) {
  return fetch(`${sms.twilioBase}/2010-04-01/Accounts/${sid}/Messages.json`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: basic(sid, token),
      'I-Twilio-Idempotency-Token': 'm-1',
    },
    body: new URLSearchParams(form).toString(),
  });
}

function sign(secret, t, body) {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

function postWebhook(sms, body, { secret = SECRET, t = Math.floor(Date.now() / 1000), signature } = {}) {
  return fetch(sms.webhookUrl, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'X-Latchkey-Message-Id': 'm-1',
      'X-Latchkey-Signature': signature ?? sign(secret, t, body),
    },
    body,
  });
}

/** null when a TCP connection to the receiver's port opens, else the error code. */
function connectError(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(null);
    });
    s.once('error', (err) => resolve(err.code));
  });
}

test('twilio route: 201 with a message resource; the form is recorded and parsed', TEST_TIMEOUT, async (t) => {
  const sms = await startSmsReceiver();
  t.after(() => sms.stop());
  assert.equal(sms.url, `http://127.0.0.1:${sms.port}`);
  assert.equal(sms.twilioBase, sms.url);
  assert.equal(sms.webhookUrl, `${sms.url}/webhook`);

  const text = '[Latchkey] 인증 코드: 482913 (1+1 & 끝)';
  const res = await postTwilio(sms, { To: '+821012345678', From: '+15005550006', Body: text });
  assert.equal(res.status, 201);
  const resource = await res.json();
  assert.match(resource.sid, /^SM[0-9a-f]{32}$/);
  assert.equal(resource.status, 'queued');
  assert.equal(resource.account_sid, SID);
  assert.equal(resource.body, text);

  const r = await sms.waitFor((x) => x.form?.To === '+821012345678');
  assert.equal(r.method, 'POST');
  assert.equal(r.kind, 'twilio');
  assert.equal(r.path, `/2010-04-01/Accounts/${SID}/Messages.json`);
  assert.deepEqual(r.form, { To: '+821012345678', From: '+15005550006', Body: text });
  assert.equal(r.json, null);
  assert.match(r.body, /^To=%2B821012345678&/);
  assert.equal(r.headers.authorization, basic(SID, TOKEN));
  assert.equal(r.headers['i-twilio-idempotency-token'], 'm-1');
  assert.equal(r.status, 201);
  assert.ok(r.receivedAt instanceof Date && Date.now() - r.receivedAt.getTime() < 5000);
  assert.equal(r.signatureValid, null);

  // Twilio's own refusals.
  const noTo = await postTwilio(sms, { From: '+15005550006', Body: 'x' });
  assert.equal(noTo.status, 400);
  assert.equal((await noTo.json()).code, 21604);
  const badTo = await postTwilio(sms, { To: '010-1234', Body: 'x' });
  assert.equal((await badTo.json()).code, 21211);
  const noBody = await postTwilio(sms, { To: '+821012345678' });
  assert.equal((await noBody.json()).code, 21602);
  assert.deepEqual(
    sms.requests().map((x) => x.status),
    [201, 400, 400, 400],
  );
  const other = await fetch(`${sms.url}/nope`, { method: 'POST', body: 'x' });
  assert.equal(other.status, 404);
  const get = await fetch(sms.webhookUrl);
  assert.equal(get.status, 405);
  sms.clear();
  assert.deepEqual(sms.requests(), []);
});

test('twilio option: Basic auth and the AccountSid in the path are checked', TEST_TIMEOUT, async (t) => {
  const sms = await startSmsReceiver({ twilio: { accountSid: SID, authToken: TOKEN } });
  t.after(() => sms.stop());
  const form = { To: '+821012345678', From: '+15005550006', Body: 'hi' };
  assert.equal((await postTwilio(sms, form)).status, 201);
  const wrong = await postTwilio(sms, form, { token: 'other' });
  assert.equal(wrong.status, 401);
  assert.deepEqual(await wrong.json(), {
    code: 20003,
    message: 'Authenticate',
    more_info: 'https://www.twilio.com/docs/errors/20003',
    status: 401,
  });
  const otherSid = 'AC' + 'f'.repeat(32);
  assert.equal((await postTwilio(sms, form, { sid: otherSid })).status, 401);
});

test('webhook route: 200 {"ok":true}; JSON parsed; the signature verifies', TEST_TIMEOUT, async (t) => {
  const sms = await startSmsReceiver({ webhookSecret: SECRET });
  t.after(() => sms.stop());
  const body = JSON.stringify({ id: 'm-1', to: '+821012345678', text: '코드 482913', template_id: 'phone_code', created_at: 1 });
  const res = await postWebhook(sms, body);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { ok: true });
  const [r] = await sms.waitForCount(1);
  assert.equal(r.kind, 'webhook');
  assert.equal(r.body, body);
  assert.equal(r.json.text, '코드 482913');
  assert.equal(r.form, null);
  assert.equal(r.headers['x-latchkey-message-id'], 'm-1');
  assert.equal(r.signatureValid, true);
  assert.equal(verifyWebhookSignature(SECRET, r.headers['x-latchkey-signature'], r.body), true);

  // A bad signature is refused with 401 (permanent for the courier) and recorded as such.
  const bad = await postWebhook(sms, body, { secret: 'another-secret-0123' });
  assert.equal(bad.status, 401);
  assert.equal(sms.requests()[1].signatureValid, false);

  // A query string is fine.
  const q = await fetch(`${sms.webhookUrl}?tenant=a`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Latchkey-Signature': sign(SECRET, Math.floor(Date.now() / 1000), '{}') },
    body: '{}',
  });
  assert.equal(q.status, 200);
  assert.equal(sms.requests()[2].url, '/webhook?tenant=a');
});

test('verifyWebhookSignature: known vector, tampering, freshness, header shape', () => {
  // printf '%s' '1700000000.{"id":"m-1","text":"코드 482913"}' | openssl dgst -sha256 -hmac 'whsec_0123456789abcdef'
  const body = '{"id":"m-1","text":"코드 482913"}';
  const header = 't=1700000000,v1=7b4037d9afd56aa337e91ad5ec79cf5a47a0383dcc80fd8cf69fb5e112e56e05';
  const at = { now: 1700000000 };
  assert.equal(verifyWebhookSignature(SECRET, header, body, at), true);
  assert.equal(verifyWebhookSignature(SECRET, header, Buffer.from(body), at), true);
  assert.equal(verifyWebhookSignature(SECRET, header, body, { now: 1700000299 }), true);
  assert.equal(verifyWebhookSignature(SECRET, header, body, { now: 1700000301 }), false);
  assert.equal(verifyWebhookSignature(SECRET, header, body, { now: 1699999699 }), false);
  assert.equal(verifyWebhookSignature(SECRET, header, body), false, 'stale by default');
  assert.equal(verifyWebhookSignature(SECRET, header, body, { tolerance: Infinity }), true);
  assert.equal(verifyWebhookSignature(SECRET, header, body.replace('482913', '482914'), at), false);
  assert.equal(verifyWebhookSignature('whsec_0123456789abcdeF', header, body, at), false);
  assert.equal(verifyWebhookSignature(SECRET, header.replace('t=1700000000', 't=1700000001'), body, { tolerance: Infinity }), false);
  // Any one of several v1 values may match (secret rotation).
  assert.equal(verifyWebhookSignature(SECRET, `t=1700000000,v1=${'0'.repeat(64)},${header.split(',')[1]}`, body, at), true);
  for (const h of [undefined, '', 'garbage', 't=1700000000', `v1=${'a'.repeat(64)}`, `t=x,v1=${'a'.repeat(64)}`, `${header},t=1`, header.toUpperCase()]) {
    assert.equal(verifyWebhookSignature(SECRET, h, body, at), false, String(h));
  }
  assert.equal(verifyWebhookSignature('', header, body, at), false);
});

test('failNext answers with the status in the style of the route, then normal again', TEST_TIMEOUT, async (t) => {
  const sms = await startSmsReceiver({ failNext: 1 });
  t.after(() => sms.stop());
  const form = { To: '+821012345678', Body: 'x' };
  const first = await postTwilio(sms, form);
  assert.equal(first.status, 503);
  assert.equal((await first.json()).code, 20500);

  sms.failNext(2, 429);
  const limited = await postTwilio(sms, form);
  assert.equal(limited.status, 429);
  assert.equal((await limited.json()).code, 20429);
  const hook = await postWebhook(sms, '{}');
  assert.equal(hook.status, 429);
  assert.deepEqual(await hook.json(), { ok: false, error: 'Too Many Requests' });
  assert.equal((await postTwilio(sms, form)).status, 201);

  sms.failNext(1, 400, { code: 21408, message: 'Permission to send an SMS has not been enabled' });
  const custom = await postTwilio(sms, form);
  assert.equal(custom.status, 400);
  assert.equal((await custom.json()).code, 21408);
  assert.deepEqual(
    sms.requests().map((r) => r.status),
    [503, 429, 429, 201, 400],
  );
  assert.throws(() => sms.failNext(-1), TypeError);
  assert.throws(() => sms.failNext(1, 1000), TypeError);
});

test('stallNext, down() and up(): timeouts, refused connections, same port', TEST_TIMEOUT, async (t) => {
  const sms = await startSmsReceiver();
  t.after(() => sms.stop());
  const port = sms.port;

  sms.stallNext(1);
  await assert.rejects(
    fetch(sms.webhookUrl, { method: 'POST', body: '{}', signal: AbortSignal.timeout(200) }),
    /abort|timeout/i,
  );
  assert.equal(sms.requests()[0].status, null);

  await sms.down();
  assert.equal(await connectError(port), 'ECONNREFUSED');
  await sms.down(); // twice is fine
  await sms.up();
  assert.equal(sms.port, port);
  assert.equal(await connectError(port), null);
  assert.equal((await postWebhook(sms, '{}')).status, 200);
  await sms.up(); // already up

  await sms.stop();
  assert.equal(await connectError(port), 'ECONNREFUSED');
  await sms.stop();
  await assert.rejects(sms.up(), /stopped/);
});

test('waitFor times out naming what did arrive', TEST_TIMEOUT, async (t) => {
  const sms = await startSmsReceiver();
  t.after(() => sms.stop());
  await assert.rejects(sms.waitFor(() => true, { timeout: 50 }), /within 50 ms \(no request was received\)/);
  await postWebhook(sms, '{}');
  await assert.rejects(sms.waitFor((r) => r.kind === 'twilio', { timeout: 50 }), /1 received: POST \/webhook -> 200/);
  const later = sms.waitFor((r) => r.kind === 'twilio');
  setTimeout(() => postTwilio(sms, { To: '+821012345678', Body: 'late' }), 50);
  assert.equal((await later).form.Body, 'late');
  await assert.rejects(sms.waitFor('x'), TypeError);
});
