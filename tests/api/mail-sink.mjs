// A real SMTP server on loopback for the black-box tests: Latchkey's courier (libcurl) delivers
// mail to it, and tests read what arrived. Built on `smtp-server` (the SMTP protocol, STARTTLS,
// AUTH) and `mailparser` (MIME, RFC 2047 headers, charsets), both from the Nodemailer project.
//
//   const sink = await startMailSink({ tls: true, auth: { user: 'mailer', pass: 'secret' } });
//   // configure latchkey with sink.smtpUrl, trusting sink.caFile
//   const mail = await sink.waitFor((m) => m.envelope.rcptTo.includes(email));
//   const code = extractCode(mail.text);
//   await sink.stop();
//
// Options of startMailSink:
//   tls    offer STARTTLS with a fresh self-signed certificate for 127.0.0.1 and localhost (made
//          with the `openssl` CLI in a temporary directory); `caFile` is its PEM, which a client
//          trusts as its CA. Without it STARTTLS is not offered at all.
//   auth   {user, pass}: every sender must authenticate (AUTH PLAIN or LOGIN) with these before
//          MAIL FROM; null: AUTH is not offered.
//   allowInsecureAuth  whether AUTH is accepted before STARTTLS; default: only when `tls` is off,
//          so a client that would send its password in the clear to a TLS-capable server fails.
//   port   0 (default) for an ephemeral port.
//
// The listener is unref'd: a sink that a test forgot to stop does not keep the test process
// alive. Open SMTP sessions do, until down() or stop() drops them.
import { execFile } from 'node:child_process';
import { timingSafeEqual, createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { readFile } from 'node:fs/promises';
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';

const execFileP = promisify(execFile);

const HOST = '127.0.0.1';
const POLL_MS = 20;

// Temporary directories of sinks not stopped yet, removed at exit in any case.
const liveDirs = new Set();
process.on('exit', () => {
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
});

/** Makes a self-signed certificate (EC P-256, 2 days) for localhost and 127.0.0.1 in `dir`. */
export async function makeCertificate(dir) {
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  // `req -x509` marks the certificate CA:TRUE, so the same file serves as the client's CA file.
  await execFileP('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '2',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ]);
  return { keyFile, certFile, key: await readFile(keyFile), cert: await readFile(certFile) };
}

function sameSecret(a, b) {
  // Hash first so that the comparison takes the same time whatever the lengths.
  const h = (s) => createHash('sha256').update(String(s ?? '')).digest();
  return timingSafeEqual(h(a), h(b));
}

/** Every address of a mailparser address object (or array of them), groups flattened. */
function addressesOf(field) {
  const out = [];
  const walk = (entries) => {
    for (const e of entries ?? []) {
      if (e.group) walk(e.group);
      else if (e.address) out.push(e.address);
    }
  };
  for (const obj of Array.isArray(field) ? field : field ? [field] : []) walk(obj.value);
  return out;
}

/**
 * Header name (lower case) -> value. Unstructured headers (Subject, X-*) are decoded (RFC 2047),
 * address headers are given as mailparser's text form (`"Name" <a@b>`), every other header
 * (Date, Content-Type, ...) as its raw value with folding undone. A header present more than
 * once (Received) maps to an array of values in order.
 */
function headerObject(parsed) {
  const rawValues = new Map();
  for (const { key, line } of parsed.headerLines ?? []) {
    const value = line
      .slice(line.indexOf(':') + 1)
      .replace(/\r?\n[ \t]+/g, ' ')
      .trim();
    if (!rawValues.has(key)) rawValues.set(key, []);
    rawValues.get(key).push(value);
  }
  const out = {};
  for (const [key, raws] of rawValues) {
    const parsedValue = parsed.headers?.get(key);
    let values;
    if (raws.length === 1 && typeof parsedValue === 'string') {
      values = [parsedValue];
    } else if (raws.length === 1 && parsedValue && typeof parsedValue.text === 'string' && 'value' in parsedValue) {
      values = [parsedValue.text];
    } else if (Array.isArray(parsedValue) && parsedValue.length === raws.length) {
      values = parsedValue.map((v, i) => (typeof v === 'string' ? v : raws[i]));
    } else {
      values = raws;
    }
    out[key] = values.length === 1 ? values[0] : values;
  }
  return out;
}

async function toMessage(raw, session) {
  const envelope = {
    mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
    rcptTo: session.envelope.rcptTo.map((r) => r.address),
  };
  const delivery = {
    raw: raw.toString('utf8'),
    receivedAt: new Date(),
    secure: Boolean(session.secure),
    authUser: session.user ?? null,
  };
  let parsed;
  try {
    parsed = await simpleParser(raw, { skipTextToHtml: true, skipTextLinks: true, skipImageLinks: true });
  } catch (err) {
    // Kept all the same: the raw text tells what went wrong.
    parsed = { parseError: String(err?.message ?? err) };
  }
  return {
    from: addressesOf(parsed.from)[0] ?? null,
    to: addressesOf(parsed.to),
    envelope,
    subject: parsed.subject ?? '',
    text: parsed.text ?? '',
    html: typeof parsed.html === 'string' ? parsed.html : null,
    headers: parsed.parseError ? {} : headerObject(parsed),
    messageId: parsed.messageId ?? null,
    date: parsed.date ?? null,
    ...delivery,
    ...(parsed.parseError ? { parseError: parsed.parseError } : {}),
  };
}

/**
 * Starts a sink. See the top of this file for the options.
 * @param {{tls?: boolean, auth?: {user: string, pass: string} | null, port?: number,
 *          allowInsecureAuth?: boolean}} options
 */
export async function startMailSink(options = {}) {
  const tls = Boolean(options.tls);
  const auth = options.auth ?? null;
  const allowInsecureAuth = options.allowInsecureAuth ?? !tls;

  let dir = null;
  let certificate = null;
  if (tls) {
    dir = mkdtempSync(path.join(os.tmpdir(), 'latchkey-mail-sink-'));
    liveDirs.add(dir);
    try {
      certificate = await makeCertificate(dir);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      liveDirs.delete(dir);
      throw new Error(`mail sink: openssl could not make a certificate: ${err.stderr || err.message}`);
    }
  }

  const messages = [];
  const counters = { connections: 0, authFailures: 0, rejected: 0 };
  const errors = [];
  let rejectPattern = null;

  const disabledCommands = [];
  if (!tls) disabledCommands.push('STARTTLS');
  if (!auth) disabledCommands.push('AUTH');

  const smtp = new SMTPServer({
    name: 'mail-sink.localhost',
    banner: 'Latchkey test mail sink',
    logger: false,
    disabledCommands,
    authMethods: ['PLAIN', 'LOGIN'],
    authOptional: !auth,
    allowInsecureAuth,
    ...(certificate ? { key: certificate.key, cert: certificate.cert } : {}),
    onAuth(login, session, callback) {
      if (sameSecret(login.username, auth.user) && sameSecret(login.password, auth.pass)) {
        callback(null, { user: login.username });
        return;
      }
      counters.authFailures += 1;
      const err = new Error('Authentication credentials invalid');
      err.responseCode = 535;
      callback(err);
    },
    onRcptTo(address, session, callback) {
      if (rejectPattern) {
        rejectPattern.lastIndex = 0;
        if (rejectPattern.test(address.address)) {
          counters.rejected += 1;
          const err = new Error(`<${address.address}>: Recipient address rejected: mailbox unavailable`);
          err.responseCode = 550;
          callback(err);
          return;
        }
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('error', callback);
      stream.on('end', () => {
        // Answer 250 only once the message is stored, so a client that got its answer can
        // count on messages() holding it.
        toMessage(Buffer.concat(chunks), session).then(
          (message) => {
            messages.push(message);
            callback(null, `Message ${messages.length} stored`);
          },
          (err) => callback(err),
        );
      });
    },
  });
  // Client errors (resets, failed TLS handshakes) come here; unhandled they would throw.
  smtp.on('error', (err) => {
    errors.push(err);
    if (errors.length > 50) errors.shift();
  });

  const listener = smtp.server; // the net.Server under smtp-server
  const sockets = new Set();
  listener.on('connection', (socket) => {
    counters.connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  let listening = false;
  let stopped = false;
  let port = options.port ?? 0;

  const listen = () =>
    new Promise((resolve, reject) => {
      const onError = (err) => {
        listener.removeListener('listening', onListening);
        reject(new Error(`mail sink: cannot listen on ${HOST}:${port}: ${err.message}`));
      };
      const onListening = () => {
        listener.removeListener('error', onError);
        listener.unref();
        listening = true;
        port = listener.address().port;
        resolve();
      };
      listener.once('error', onError);
      listener.once('listening', onListening);
      listener.listen(port, HOST);
    });

  // Stops listening and drops every open session, so that nothing reaches the sink any more.
  const close = () =>
    new Promise((resolve) => {
      if (!listening) {
        resolve();
        return;
      }
      listening = false;
      listener.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });

  try {
    await listen();
  } catch (err) {
    if (dir) {
      rmSync(dir, { recursive: true, force: true });
      liveDirs.delete(dir);
    }
    throw err;
  }

  const subjectsReceived = () =>
    messages.length === 0
      ? 'no message was received'
      : `${messages.length} received: ${messages
          .map((m) => `${JSON.stringify(m.subject)} to ${m.envelope.rcptTo.join(', ')}`)
          .join('; ')}`;

  const sink = {
    get port() {
      return port;
    },
    get smtpUrl() {
      return `smtp://${HOST}:${port}`;
    },
    caFile: certificate ? certificate.certFile : null,

    /** A copy of the list of received messages, oldest first. */
    messages: () => messages.slice(),

    /**
     * The first message (oldest first) for which `predicate(message)` is true, waiting for it.
     * A string predicate matches a message whose envelope recipients include that address
     * (case-insensitive).
     */
    async waitFor(predicate, { timeout = 10000 } = {}) {
      let match = predicate;
      if (typeof predicate === 'string') {
        const wanted = predicate.toLowerCase();
        match = (m) => m.envelope.rcptTo.some((a) => a.toLowerCase() === wanted);
      } else if (typeof predicate !== 'function') {
        throw new TypeError('mail sink: waitFor needs a function or an address');
      }
      const deadline = Date.now() + timeout;
      for (;;) {
        const found = messages.find((m) => match(m));
        if (found) return found;
        if (Date.now() >= deadline) {
          const what = typeof predicate === 'string' ? `to ${predicate}` : `matching ${predicate}`;
          throw new Error(`mail sink: no message ${what} arrived within ${timeout} ms (${subjectsReceived()})`);
        }
        await new Promise((r) => setTimeout(r, Math.min(POLL_MS, Math.max(1, deadline - Date.now()))));
      }
    },

    /** Waits until at least `n` messages arrived; returns them all. */
    async waitForCount(n, { timeout = 10000 } = {}) {
      const deadline = Date.now() + timeout;
      for (;;) {
        if (messages.length >= n) return messages.slice();
        if (Date.now() >= deadline) {
          throw new Error(`mail sink: expected at least ${n} messages within ${timeout} ms (${subjectsReceived()})`);
        }
        await new Promise((r) => setTimeout(r, Math.min(POLL_MS, Math.max(1, deadline - Date.now()))));
      }
    },

    /** Forgets every received message (stats are kept). */
    clear() {
      messages.length = 0;
    },

    /**
     * "The mail server is down": closes the listening socket (connecting gets ECONNREFUSED) and
     * drops open sessions, including a connection a client keeps for reuse.
     */
    async down() {
      if (stopped) throw new Error('mail sink: stopped');
      await close();
    },

    /** Listens again on the same port. */
    async up() {
      if (stopped) throw new Error('mail sink: stopped');
      if (listening) return;
      await listen();
    },

    /**
     * connections: TCP connections accepted; authFailures: AUTH attempts with wrong
     * credentials; rejected: recipients refused by rejectRecipients().
     */
    stats: () => ({ ...counters }),

    /** Recent client-side errors (resets, TLS handshake failures), for diagnosing a test. */
    errors: () => errors.slice(),

    /** RCPT TO of an address matching `regex` gets 550 from now on; null accepts all again. */
    rejectRecipients(regex) {
      if (regex !== null && !(regex instanceof RegExp)) {
        throw new TypeError('mail sink: rejectRecipients needs a RegExp or null');
      }
      rejectPattern = regex;
    },

    /** Stops the server for good and removes its temporary files. Safe to call twice. */
    async stop() {
      if (stopped) return;
      stopped = true;
      await close();
      if (dir) {
        rmSync(dir, { recursive: true, force: true });
        liveDirs.delete(dir);
      }
    },
  };
  return sink;
}

/**
 * Every http(s) URL in `text`, in order. Trailing punctuation of the sentence (.,;:!?) and a
 * closing bracket are not part of the URL; `&amp;` (from HTML) is read as `&`.
 */
export function extractLinks(text) {
  if (!text) return [];
  const out = [];
  for (const m of String(text).matchAll(/https?:\/\/[^\s<>"'`]+/gi)) {
    let url = m[0].replace(/&amp;/g, '&');
    url = url.replace(/[.,;:!?)\]}]+$/, '');
    if (url.length > 'https://'.length) out.push(url);
  }
  return out;
}

/** The first standalone 6-digit number in `text` (not part of a longer number or word), or null. */
export function extractCode(text) {
  if (!text) return null;
  const m = /(?<![0-9A-Za-z])[0-9]{6}(?![0-9A-Za-z])/.exec(String(text));
  return m ? m[0] : null;
}
