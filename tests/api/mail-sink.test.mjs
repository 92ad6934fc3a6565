// Self-test of mail-sink.mjs (no latchkey involved): curl, a real libcurl SMTP client like the
// courier's, and a hand-spoken SMTP dialogue over node:net deliver mail to the sink.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { startMailSink, extractLinks, extractCode } from './mail-sink.mjs';

const TEST_TIMEOUT = { timeout: 8000 };

/** RFC 2047 "B" encoded word. */
const encodeWord = (s) => `=?UTF-8?B?${Buffer.from(s, 'utf8').toString('base64')}?=`;

function simpleMessage({
  from = 'sender@latchkey.test',
  to = 'rcpt@example.com',
  subject = 'Hello',
  body = 'Hi.',
} = {}) {
  return [
    `From: ${from}`,
    `To: ${to}`,
    `Subject: ${subject}`,
    'Date: Tue, 02 Jan 2024 03:04:05 +0000',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    body,
    '',
  ].join('\r\n');
}

/**
 * Sends `message` with curl. `rcpt` is the envelope recipient list.
 * @returns {Promise<{code: number, stderr: string}>}
 */
function curlSend(
  sink,
  { from = 'sender@latchkey.test', rcpt = ['rcpt@example.com'], message, ssl, cacert, user, loginOptions } = {},
) {
  const args = ['-sS', '--max-time', '5', '--url', sink.smtpUrl, '--mail-from', from];
  for (const r of rcpt) args.push('--mail-rcpt', r);
  args.push('--upload-file', '-');
  if (ssl) args.push('--ssl-reqd');
  if (cacert) args.push('--cacert', cacert);
  if (user) args.push('--user', user);
  if (loginOptions) args.push('--login-options', loginOptions);
  return new Promise((resolve, reject) => {
    const child = spawn('curl', args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stderr }));
    child.stdin.end(message ?? simpleMessage());
  });
}

/** A hand-driven SMTP session: `reply()` reads the next (possibly multi-line) reply. */
async function smtpSession(port) {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let buffer = '';
  let waiter = null;
  let closed = false;
  const wake = () => {
    if (waiter) waiter();
  };
  socket.setEncoding('utf8');
  socket.on('data', (d) => {
    buffer += d;
    wake();
  });
  socket.on('close', () => {
    closed = true;
    wake();
  });
  socket.on('error', () => {});
  const takeReply = () => {
    const lines = buffer.split('\r\n');
    for (let i = 0; i < lines.length - 1; i++) {
      if (/^\d{3} /.test(lines[i]) || /^\d{3}$/.test(lines[i])) {
        buffer = lines.slice(i + 1).join('\r\n');
        return lines.slice(0, i + 1);
      }
    }
    return null;
  };
  const reply = async () => {
    for (;;) {
      const r = takeReply();
      if (r) return { code: Number(r.at(-1).slice(0, 3)), lines: r, text: r.join('\n') };
      if (closed) return null;
      await new Promise((resolve) => {
        waiter = resolve;
      });
      waiter = null;
    }
  };
  return {
    socket,
    reply,
    async command(line) {
      socket.write(`${line}\r\n`);
      return reply();
    },
    closed: () => closed,
    end: () => socket.destroy(),
  };
}

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

test('plain delivery: envelope, headers, a Korean RFC 2047 subject, text and HTML parts', TEST_TIMEOUT, async (t) => {
  const sink = await startMailSink({ tls: false, auth: null, port: 0 });
  t.after(() => sink.stop());
  assert.equal(sink.smtpUrl, `smtp://127.0.0.1:${sink.port}`);
  assert.equal(sink.caFile, null);

  const subject = '[Latchkey] 이메일 주소를 인증해 주세요';
  const textBody = '안녕하세요! 인증 코드: 482913\r\nhttps://auth.example.com/verify?token=abc&x=1.\r\n';
  const message = [
    `From: ${encodeWord('래치키')} <no-reply@latchkey.test>`,
    'To: "Kim" <kim@example.com>',
    `Subject: ${encodeWord(subject)}`,
    'Date: Tue, 02 Jan 2024 03:04:05 +0000',
    'Message-ID: <m1.abc@latchkey.test>',
    'X-Latchkey-Purpose: verify-email',
    'MIME-Version: 1.0',
    'Content-Type: multipart/alternative; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from(textBody).toString('base64'),
    '--b1',
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    '<p>코드 <b>482913</b> <a href="https://auth.example.com/verify?token=abc&amp;x=1">인증</a></p>',
    '--b1--',
    '',
  ].join('\r\n');

  const sent = await curlSend(sink, { rcpt: ['kim@example.com', 'audit@example.com'], message, from: 'bounce@latchkey.test' });
  assert.equal(sent.code, 0, sent.stderr);

  // Delivered before curl got its 250: no waiting needed.
  const got = sink.messages();
  assert.equal(got.length, 1);
  const m = got[0];
  assert.equal(m.subject, subject);
  assert.equal(m.from, 'no-reply@latchkey.test');
  assert.deepEqual(m.to, ['kim@example.com']);
  assert.deepEqual(m.envelope, { mailFrom: 'bounce@latchkey.test', rcptTo: ['kim@example.com', 'audit@example.com'] });
  assert.match(m.text, /안녕하세요! 인증 코드: 482913/);
  assert.match(m.html, /<b>482913<\/b>/);
  assert.equal(m.headers.subject, subject);
  assert.equal(m.headers['x-latchkey-purpose'], 'verify-email');
  assert.equal(m.headers.from, '"래치키" <no-reply@latchkey.test>');
  assert.match(m.headers['content-type'], /^multipart\/alternative/);
  assert.equal(m.headers.date, 'Tue, 02 Jan 2024 03:04:05 +0000');
  assert.equal(Object.getPrototypeOf(m.headers), Object.prototype);
  assert.equal(m.messageId, '<m1.abc@latchkey.test>');
  assert.equal(m.date.toISOString(), '2024-01-02T03:04:05.000Z');
  assert.match(m.raw, /^Subject: =\?UTF-8\?B\?/m);
  assert.ok(m.receivedAt instanceof Date && Date.now() - m.receivedAt.getTime() < 5000);
  assert.equal(m.secure, false);
  assert.equal(m.authUser, null);

  assert.equal(extractCode(m.text), '482913');
  assert.deepEqual(extractLinks(m.text), ['https://auth.example.com/verify?token=abc&x=1']);
  assert.deepEqual(extractLinks(m.html), ['https://auth.example.com/verify?token=abc&x=1']);

  assert.equal(await sink.waitFor('AUDIT@example.com'), m);
  assert.equal(await sink.waitFor((x) => x.subject.includes('인증')), m);
  assert.equal(sink.stats().connections, 1);

  // Without tls or auth, neither STARTTLS nor AUTH is offered.
  const s = await smtpSession(sink.port);
  assert.equal((await s.reply()).code, 220);
  const ehlo = await s.command('EHLO client.test');
  assert.equal(ehlo.code, 250);
  assert.doesNotMatch(ehlo.text, /STARTTLS|AUTH/);
  assert.equal((await s.command('STARTTLS')).code >= 500, true);
  s.end();

  // A message that arrives later is found by waiting; messages() is a copy.
  got.length = 0;
  assert.equal(sink.messages().length, 1);
  const later = sink.waitFor((x) => x.subject === 'Second');
  setTimeout(() => curlSend(sink, { message: simpleMessage({ subject: 'Second' }) }), 100);
  assert.equal((await later).subject, 'Second');
  assert.equal((await sink.waitForCount(2)).length, 2);
  sink.clear();
  assert.deepEqual(sink.messages(), []);
});

test('STARTTLS with the self-signed certificate: curl trusts caFile and the message is secure', TEST_TIMEOUT, async (t) => {
  const sink = await startMailSink({ tls: true, auth: null });
  t.after(() => sink.stop());
  assert.ok(sink.caFile && existsSync(sink.caFile));
  assert.match(readFileSync(sink.caFile, 'utf8'), /-----BEGIN CERTIFICATE-----/);

  const ok = await curlSend(sink, { ssl: true, cacert: sink.caFile, message: simpleMessage({ subject: 'over tls' }) });
  assert.equal(ok.code, 0, ok.stderr);
  const m = await sink.waitFor((x) => x.subject === 'over tls');
  assert.equal(m.secure, true);

  // The certificate really is checked: without the CA file curl refuses it (60 = peer
  // certificate cannot be authenticated).
  const untrusted = await curlSend(sink, { ssl: true, message: simpleMessage({ subject: 'untrusted' }) });
  assert.equal(untrusted.code, 60, untrusted.stderr);

  // A client that does not ask for TLS still delivers, and the message says it was not secure.
  const clear = await curlSend(sink, { message: simpleMessage({ subject: 'in the clear' }) });
  assert.equal(clear.code, 0, clear.stderr);
  assert.equal((await sink.waitFor((x) => x.subject === 'in the clear')).secure, false);
  assert.deepEqual(
    sink.messages().map((x) => x.subject),
    ['over tls', 'in the clear'],
  );

  const dir = sink.caFile;
  await sink.stop();
  assert.equal(existsSync(dir), false, 'stop() removes the certificate');
  assert.equal(await connectError(sink.port), 'ECONNREFUSED');
});

test('AUTH required: no or wrong credentials are refused and counted, PLAIN and LOGIN work', TEST_TIMEOUT, async (t) => {
  const sink = await startMailSink({ auth: { user: 'mailer', pass: 's3cret-pass' } });
  t.after(() => sink.stop());

  const anonymous = await curlSend(sink, { message: simpleMessage({ subject: 'anonymous' }) });
  assert.notEqual(anonymous.code, 0, 'mail without AUTH must be refused');

  const wrong = await curlSend(sink, { user: 'mailer:wrong-pass', message: simpleMessage({ subject: 'wrong' }) });
  assert.equal(wrong.code, 67, wrong.stderr); // CURLE_LOGIN_DENIED
  assert.equal(sink.stats().authFailures, 1);
  const wrongUser = await curlSend(sink, { user: 'other:s3cret-pass', loginOptions: 'AUTH=LOGIN' });
  assert.equal(wrongUser.code, 67, wrongUser.stderr);
  assert.equal(sink.stats().authFailures, 2);

  for (const mech of ['PLAIN', 'LOGIN']) {
    const res = await curlSend(sink, {
      user: 'mailer:s3cret-pass',
      loginOptions: `AUTH=${mech}`,
      message: simpleMessage({ subject: `auth ${mech}` }),
    });
    assert.equal(res.code, 0, res.stderr);
  }
  assert.deepEqual(
    sink.messages().map((m) => [m.subject, m.authUser]),
    [
      ['auth PLAIN', 'mailer'],
      ['auth LOGIN', 'mailer'],
    ],
  );
  assert.equal(sink.stats().authFailures, 2);
  assert.equal(sink.stats().connections, 5);

  // By hand: the server advertises both mechanisms and answers 530 to MAIL before AUTH.
  const s = await smtpSession(sink.port);
  await s.reply();
  assert.match((await s.command('EHLO client.test')).text, /AUTH PLAIN LOGIN/);
  assert.equal((await s.command('MAIL FROM:<a@latchkey.test>')).code, 530);
  const plain = Buffer.from('\0mailer\0s3cret-pass').toString('base64');
  assert.equal((await s.command(`AUTH PLAIN ${plain}`)).code, 235);
  assert.equal((await s.command('MAIL FROM:<a@latchkey.test>')).code, 250);
  s.end();
});

test('AUTH with tls: refused before STARTTLS, accepted after it', TEST_TIMEOUT, async (t) => {
  const sink = await startMailSink({ tls: true, auth: { user: 'mailer', pass: 'pw-123456' } });
  t.after(() => sink.stop());
  const clear = await curlSend(sink, { user: 'mailer:pw-123456' });
  assert.notEqual(clear.code, 0, 'password in the clear must not be accepted');
  assert.equal(sink.messages().length, 0);
  const tls = await curlSend(sink, { user: 'mailer:pw-123456', ssl: true, cacert: sink.caFile });
  assert.equal(tls.code, 0, tls.stderr);
  const [m] = await sink.waitForCount(1);
  assert.equal(m.secure, true);
  assert.equal(m.authUser, 'mailer');
});

test('down() refuses connections and drops open sessions; up() listens on the same port', TEST_TIMEOUT, async (t) => {
  const sink = await startMailSink({});
  t.after(() => sink.stop());
  const port = sink.port;

  const open = await smtpSession(port);
  assert.equal((await open.reply()).code, 220);

  await sink.down();
  assert.equal(await connectError(port), 'ECONNREFUSED');
  assert.equal(await open.reply(), null, 'an open session is closed by down()');
  assert.ok(open.closed());
  const refused = await curlSend(sink, { message: simpleMessage({ subject: 'while down' }) });
  assert.equal(refused.code, 7, refused.stderr); // CURLE_COULDNT_CONNECT
  await sink.down(); // twice is fine

  await sink.up();
  assert.equal(sink.port, port);
  assert.equal(sink.smtpUrl, `smtp://127.0.0.1:${port}`);
  const ok = await curlSend(sink, { message: simpleMessage({ subject: 'back up' }) });
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(
    sink.messages().map((m) => m.subject),
    ['back up'],
  );
  await sink.up(); // already up: nothing happens
});

test('rejectRecipients: matching RCPT TO gets 550 and is counted; null accepts again', TEST_TIMEOUT, async (t) => {
  const sink = await startMailSink({});
  t.after(() => sink.stop());
  sink.rejectRecipients(/^bounce-/i);

  const s = await smtpSession(sink.port);
  await s.reply();
  await s.command('EHLO client.test');
  assert.equal((await s.command('MAIL FROM:<a@latchkey.test>')).code, 250);
  const rcpt = await s.command('RCPT TO:<Bounce-1@example.com>');
  assert.equal(rcpt.code, 550, rcpt.text);
  assert.equal((await s.command('RCPT TO:<fine@example.com>')).code, 250);
  s.end();

  const res = await curlSend(sink, { rcpt: ['bounce-2@example.com'] });
  assert.notEqual(res.code, 0);
  assert.match(res.stderr, /550/);
  assert.equal(sink.stats().rejected, 2);
  assert.equal(sink.messages().length, 0);

  sink.rejectRecipients(null);
  const ok = await curlSend(sink, { rcpt: ['bounce-3@example.com'] });
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(sink.messages()[0].envelope.rcptTo, ['bounce-3@example.com']);
  assert.equal(sink.stats().rejected, 2);
  assert.throws(() => sink.rejectRecipients('bounce'), TypeError);
});

test('waitFor and waitForCount time out with the subjects that did arrive', TEST_TIMEOUT, async (t) => {
  const sink = await startMailSink({});
  t.after(() => sink.stop());
  await assert.rejects(sink.waitFor(() => true, { timeout: 100 }), /within 100 ms \(no message was received\)/);
  const res = await curlSend(sink, { message: simpleMessage({ subject: 'Your code' }) });
  assert.equal(res.code, 0, res.stderr);
  const started = Date.now();
  await assert.rejects(
    sink.waitFor((m) => m.subject === 'Password reset', { timeout: 200 }),
    (err) => {
      assert.match(err.message, /^mail sink: no message matching .*Password reset.* arrived within 200 ms/);
      assert.match(err.message, /1 received: "Your code" to rcpt@example\.com/);
      return true;
    },
  );
  const waited = Date.now() - started;
  assert.ok(waited >= 190 && waited < 2000, `waited ${waited} ms`);
  await assert.rejects(sink.waitFor('nobody@example.com', { timeout: 50 }), /no message to nobody@example\.com/);
  await assert.rejects(sink.waitForCount(2, { timeout: 50 }), /expected at least 2 messages within 50 ms \(1 received/);
});

test('extractLinks and extractCode', () => {
  assert.deepEqual(
    extractLinks('Open https://a.example/x?y=1&amp;z=2, or (http://b.example:8080/p). Not ftp://c.example'),
    ['https://a.example/x?y=1&z=2', 'http://b.example:8080/p'],
  );
  assert.deepEqual(extractLinks('<a href="https://a.example/v#t">go</a>'), ['https://a.example/v#t']);
  assert.deepEqual(extractLinks(''), []);
  assert.deepEqual(extractLinks(null), []);
  assert.equal(extractCode('order 1234567, id ab123456, code: 004217 then 111111'), '004217');
  assert.equal(extractCode('코드는 730512 입니다'), '730512');
  assert.equal(extractCode('12345 and 1234567'), null);
  assert.equal(extractCode(undefined), null);
});
