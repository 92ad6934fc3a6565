// An SMS gateway stand-in on loopback for the black-box tests: Latchkey's Twilio and webhook SMS
// channels (libcurl) post to it, and tests read what arrived. node:http only, no dependency.
//
//   const sms = await startSmsReceiver();
//   // configure latchkey: sms.twilio_api_base = sms.twilioBase   (or sms.webhook_url = sms.webhookUrl)
//   const req = await sms.waitFor((r) => r.form?.To === '+821012345678');
//   const code = /\b(\d{6})\b/.exec(req.form.Body)[1];
//   sms.failNext(2, 503);            // the next two requests get 503: the courier must retry
//   await sms.stop();
//
// Routes (POST only; any other method on them gets 405, any other path 404):
//   /2010-04-01/Accounts/{AccountSid}/Messages.json   Twilio's Messages API. Answers 201 with a
//       message resource like Twilio's ({sid: "SM…", status: "queued", to, from, body, …}).
//       Like Twilio it answers 400 {code: 21604} without To, {code: 21602} without Body, and
//       {code: 21211} for a To that is not +digits. With the `twilio: {accountSid, authToken}`
//       option it also checks HTTP Basic auth and the path's AccountSid: 401 {code: 20003}.
//   /webhook (any query)   The webhook channel. Answers 200 {"ok":true}. With the
//       `webhookSecret` option it checks X-Latchkey-Signature (verifyWebhookSignature, 5 minutes
//       tolerance) and answers 401 {"ok":false,"error":"bad signature"} when it does not match.
//
// Every request is recorded (those answered with an error too), oldest first:
//   { method, path (without the query), url (with it), kind: 'twilio'|'webhook'|'other',
//     headers (lower-case names), body (raw UTF-8 text), form (object, for form-encoded bodies,
//     else null), json (parsed, for JSON bodies, else null), receivedAt (Date),
//     status (the status answered; null for a stalled request), signatureValid (webhook requests
//     when webhookSecret is set, else null) }
//
// Options of startSmsReceiver: failNext (answer the first n requests with failStatus, default
// 503), failStatus, port (0 = ephemeral), twilio, webhookSecret. The listener is unref'd, so a
// receiver a test forgot to stop does not keep the process alive.
import http from 'node:http';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const HOST = '127.0.0.1';
const POLL_MS = 20;
const MAX_BODY = 1024 * 1024;
const TWILIO_PATH = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/;
const WEBHOOK_PATH = '/webhook';

/** Twilio's error resource. */
function twilioError(status, code, message) {
  return {
    code,
    message,
    more_info: `https://www.twilio.com/docs/errors/${code}`,
    status,
  };
}

/** The error body a failNext() answer carries, in the style of the route. */
function failureBody(kind, status) {
  const reason = http.STATUS_CODES[status] ?? 'Error';
  if (kind === 'twilio') {
    const code = status === 429 ? 20429 : status >= 500 ? 20500 : 20001;
    return twilioError(status, code, reason);
  }
  return { ok: false, error: reason };
}

function parseBasicAuth(header) {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!m) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : { user: decoded.slice(0, colon), pass: decoded.slice(colon + 1) };
}

function sameString(a, b) {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Checks an X-Latchkey-Signature header ("t=<unix seconds>,v1=<hex>[,v1=<hex>…]") against the
 * raw body, as a gateway adapter would: v1 = hex(HMAC-SHA256(secret, `${t}.${rawBody}`)), compared
 * in constant time, any v1 may match; t must be within `tolerance` seconds of `now` (pass
 * Infinity to skip, e.g. for a server run on a fixed clock). Returns true or false.
 * @param {string} secret
 * @param {string | undefined | null} headerValue
 * @param {string | Buffer} rawBody  the body exactly as received (a string is read as UTF-8)
 * @param {{tolerance?: number, now?: number}} [options]  now in unix seconds
 */
export function verifyWebhookSignature(secret, headerValue, rawBody, options = {}) {
  const { tolerance = 300, now = Date.now() / 1000 } = options;
  if (typeof headerValue !== 'string' || !secret) return false;
  let t = null;
  const v1 = [];
  for (const part of headerValue.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return false;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (t !== null || !/^\d{1,12}$/.test(value)) return false;
      t = Number(value);
    } else if (key === 'v1') {
      if (!/^[0-9a-f]{64}$/.test(value)) return false;
      v1.push(Buffer.from(value, 'hex'));
    }
  }
  if (t === null || v1.length === 0) return false;
  if (!(Math.abs(now - t) <= tolerance)) return false;
  const body = Buffer.isBuffer(rawBody) ? rawBody : Buffer.from(String(rawBody ?? ''), 'utf8');
  const expected = createHmac('sha256', secret).update(`${t}.`).update(body).digest();
  // Check every candidate (no early exit), then answer.
  let ok = false;
  for (const candidate of v1) ok = timingSafeEqual(candidate, expected) || ok;
  return ok;
}

/**
 * Starts a receiver. See the top of this file.
 * @param {{failNext?: number, failStatus?: number, port?: number,
 *          twilio?: {accountSid: string, authToken: string} | null,
 *          webhookSecret?: string | null}} options
 */
export async function startSmsReceiver(options = {}) {
  const twilioAuth = options.twilio ?? null;
  const webhookSecret = options.webhookSecret ?? null;
  const requests = [];
  const sockets = new Set();
  let failing = { n: Number(options.failNext ?? 0), status: Number(options.failStatus ?? 503), body: null };
  let stalling = 0;
  let listening = false;
  let stopped = false;
  let port = options.port ?? 0;

  /** [status, body object] for a Twilio Messages request. */
  function answerTwilio(record, sid) {
    if (twilioAuth) {
      const auth = parseBasicAuth(record.headers.authorization);
      if (!auth || !sameString(auth.user, twilioAuth.accountSid) || !sameString(auth.pass, twilioAuth.authToken) || sid !== twilioAuth.accountSid) {
        return [401, twilioError(401, 20003, 'Authenticate')];
      }
    }
    const form = record.form ?? {};
    if (!form.To) return [400, twilioError(400, 21604, "A 'To' phone number is required.")];
    if (!form.Body) return [400, twilioError(400, 21602, 'Message body is required.')];
    if (!/^\+[1-9]\d{1,14}$/.test(form.To)) {
      return [400, twilioError(400, 21211, `The 'To' number ${form.To} is not a valid phone number.`)];
    }
    const now = new Date().toUTCString().replace('GMT', '+0000');
    const messageSid = `SM${randomBytes(16).toString('hex')}`;
    return [
      201,
      {
        sid: messageSid,
        account_sid: sid,
        to: form.To,
        from: form.From ?? null,
        body: form.Body,
        status: 'queued',
        direction: 'outbound-api',
        num_segments: '1',
        api_version: '2010-04-01',
        date_created: now,
        date_updated: now,
        error_code: null,
        error_message: null,
        uri: `/2010-04-01/Accounts/${sid}/Messages/${messageSid}.json`,
      },
    ];
  }

  function handle(req, res, rawBody) {
    const url = new URL(req.url, `http://${HOST}`);
    const twilioMatch = TWILIO_PATH.exec(url.pathname);
    const kind = twilioMatch ? 'twilio' : url.pathname === WEBHOOK_PATH ? 'webhook' : 'other';
    const contentType = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    const body = rawBody.toString('utf8');
    let json = null;
    if (contentType === 'application/json') {
      try {
        json = JSON.parse(body);
      } catch {
        json = null;
      }
    }
    const record = {
      method: req.method,
      path: url.pathname,
      url: req.url,
      kind,
      headers: { ...req.headers },
      body,
      form: contentType === 'application/x-www-form-urlencoded' ? Object.fromEntries(new URLSearchParams(body)) : null,
      json,
      receivedAt: new Date(),
      status: null,
      signatureValid: kind === 'webhook' && webhookSecret ? verifyWebhookSignature(webhookSecret, req.headers['x-latchkey-signature'], rawBody) : null,
    };
    requests.push(record);

    if (stalling > 0) {
      stalling -= 1;
      return; // never answered; down() or stop() drops the connection
    }
    let status;
    let answer;
    if (failing.n > 0) {
      failing.n -= 1;
      status = failing.status;
      answer = failing.body ?? failureBody(kind, status);
    } else if (kind === 'other') {
      [status, answer] = [404, { ok: false, error: 'no such route' }];
    } else if (req.method !== 'POST') {
      [status, answer] = [405, { ok: false, error: 'method not allowed' }];
    } else if (kind === 'twilio') {
      let sid = twilioMatch[1];
      try {
        sid = decodeURIComponent(sid);
      } catch {
        // kept as sent
      }
      [status, answer] = answerTwilio(record, sid);
    } else if (record.signatureValid === false) {
      [status, answer] = [401, { ok: false, error: 'bad signature' }];
    } else {
      [status, answer] = [200, { ok: true }];
    }
    record.status = status;
    const out = typeof answer === 'string' ? answer : JSON.stringify(answer);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(out) });
    res.end(out);
  }

  const server = http.createServer((req, res) => {
    const chunks = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) tooLarge = true;
      else chunks.push(c);
    });
    req.on('end', () => {
      if (tooLarge) {
        res.writeHead(413, { 'Content-Type': 'application/json' });
        res.end('{"ok":false,"error":"body too large"}');
        return;
      }
      handle(req, res, Buffer.concat(chunks));
    });
    req.on('error', () => {});
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (err, socket) => socket.destroy());

  const listen = () =>
    new Promise((resolve, reject) => {
      const onError = (err) => {
        server.removeListener('listening', onListening);
        reject(new Error(`sms receiver: cannot listen on ${HOST}:${port}: ${err.message}`));
      };
      const onListening = () => {
        server.removeListener('error', onError);
        server.unref();
        listening = true;
        port = server.address().port;
        resolve();
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen(port, HOST);
    });

  // Stops listening and drops every open connection (stalled requests included).
  const close = () =>
    new Promise((resolve) => {
      if (!listening) {
        resolve();
        return;
      }
      listening = false;
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });

  await listen();

  const summary = () =>
    requests.length === 0
      ? 'no request was received'
      : `${requests.length} received: ${requests.map((r) => `${r.method} ${r.url} -> ${r.status}`).join('; ')}`;

  const waitUntil = async (found, what, timeout) => {
    const deadline = Date.now() + timeout;
    for (;;) {
      const value = found();
      if (value !== undefined) return value;
      if (Date.now() >= deadline) throw new Error(`sms receiver: ${what} within ${timeout} ms (${summary()})`);
      await new Promise((r) => setTimeout(r, Math.min(POLL_MS, Math.max(1, deadline - Date.now()))));
    }
  };

  return {
    get port() {
      return port;
    },
    /** http://127.0.0.1:PORT */
    get url() {
      return `http://${HOST}:${port}`;
    },
    /** The api_base to configure for the Twilio channel. */
    get twilioBase() {
      return `http://${HOST}:${port}`;
    },
    /** The URL to configure for the webhook channel. */
    get webhookUrl() {
      return `http://${HOST}:${port}${WEBHOOK_PATH}`;
    },

    /** A copy of the list of received requests, oldest first. */
    requests: () => requests.slice(),

    /** The first request (oldest first) for which `predicate(request)` is true, waiting for it. */
    async waitFor(predicate, { timeout = 10000 } = {}) {
      if (typeof predicate !== 'function') throw new TypeError('sms receiver: waitFor needs a function');
      return waitUntil(() => requests.find((r) => predicate(r)), `no request matching ${predicate} arrived`, timeout);
    },

    /** Waits until at least `n` requests arrived; returns them all. */
    async waitForCount(n, { timeout = 10000 } = {}) {
      return waitUntil(() => (requests.length >= n ? requests.slice() : undefined), `expected at least ${n} requests`, timeout);
    },

    /** Forgets every received request. */
    clear() {
      requests.length = 0;
    },

    /**
     * The next `n` requests (any route) are answered with `status` and a body in the style of the
     * route (Twilio's error resource, or {"ok":false}); `body` (object or string) replaces it.
     * failNext(0) cancels.
     */
    failNext(n, status = 503, body = null) {
      if (!Number.isInteger(n) || n < 0) throw new TypeError('sms receiver: failNext needs a count >= 0');
      if (!Number.isInteger(status) || status < 100 || status > 599) throw new TypeError('sms receiver: bad status');
      failing = { n, status, body };
    },

    /** The next `n` requests are read and never answered (for client timeouts). */
    stallNext(n) {
      if (!Number.isInteger(n) || n < 0) throw new TypeError('sms receiver: stallNext needs a count >= 0');
      stalling = n;
    },

    /** "The gateway is down": connecting gets ECONNREFUSED, open connections are dropped. */
    async down() {
      if (stopped) throw new Error('sms receiver: stopped');
      await close();
    },

    /** Listens again on the same port. */
    async up() {
      if (stopped) throw new Error('sms receiver: stopped');
      if (listening) return;
      await listen();
    },

    /** Stops the receiver for good. Safe to call twice. */
    async stop() {
      if (stopped) return;
      stopped = true;
      await close();
    },
  };
}
