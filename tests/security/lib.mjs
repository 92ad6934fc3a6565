// Shared helpers of the black-box attack suite (tests/security/): token crafting with
// node:crypto, raw HTTP over node:net, a counting "attacker" HTTP server, the RSS of the server
// process, and reading the mails of the log channel. Zero npm dependencies.
import { createHmac, sign as cryptoSign } from 'node:crypto';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import assert from 'node:assert/strict';
import { assertProblem, describe as show } from '../api/harness.mjs';

export const b64u = (value) =>
  Buffer.from(typeof value === 'string' || Buffer.isBuffer(value) ? value : JSON.stringify(value)).toString('base64url');

/** header.payload of a compact JWS from two objects (or raw strings). */
export function signingInput(header, payload) {
  return `${b64u(header)}.${b64u(payload)}`;
}

export function hs256(input, key) {
  return createHmac('sha256', key).update(input).digest('base64url');
}

/** RS256 / ES256 (IEEE P1363 r||s, as JWS wants) with a node KeyObject. */
export function signWith(alg, input, privateKey) {
  if (alg === 'RS256') return cryptoSign('sha256', Buffer.from(input), privateKey).toString('base64url');
  if (alg === 'ES256') {
    return cryptoSign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  }
  throw new Error(`unsupported alg ${alg}`);
}

/** The three parts of a compact JWS, decoded. */
export function splitJwt(token) {
  const [h, p, s] = token.split('.');
  return {
    h,
    p,
    s,
    header: JSON.parse(Buffer.from(h, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(p, 'base64url').toString()),
  };
}

/** GET /api/auth/check with a bearer token. */
export function check(api, token) {
  return api.get('/api/auth/check', { headers: { authorization: `Bearer ${token}` } });
}

/** The token is refused with 401 invalid_token on the gateway check and on a bearer route. */
export async function assertTokenRefused(api, token, code = 'invalid_token') {
  assertProblem(await check(api, token), 401, code);
  assertProblem(await api.get('/api/me', { token }), 401, code);
}

/** The VmRSS of a process in KiB (Linux). */
export function rssKiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  assert.ok(m, `VmRSS of ${pid}`);
  return Number(m[1]);
}

/**
 * A local HTTP server the attacker controls: answers every request with `body` (JSON) and
 * counts the requests, so a test can prove that latchkey never fetched from it.
 */
export async function startAttackerServer(body) {
  const hits = [];
  const server = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/**
 * Sends raw bytes on one connection and collects everything the server answers until it closes
 * the connection (or `timeoutMs` passes). Returns the answer as latin1 text and the list of
 * HTTP status codes found at the starts of responses, in order.
 */
export function rawExchange(base, bytes, { timeoutMs = 5000, gapMs = 100 } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(base);
    const chunks = [];
    const socket = net.connect({ host: u.hostname, port: Number(u.port) });
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ text, statuses: responseStatuses(text) });
    });
    socket.on('connect', async () => {
      // `bytes` may be a list of pieces, sent `gapMs` apart (a header split across reads).
      for (const piece of Array.isArray(bytes) ? bytes : [bytes]) {
        if (socket.destroyed) break;
        socket.write(piece);
        if (Array.isArray(bytes)) await new Promise((r) => setTimeout(r, gapMs));
      }
      // Half-close after a moment so that a server waiting for more bytes sees the end.
      setTimeout(() => socket.end(), 300);
    });
    socket.on('timeout', () => reject(new Error('timeout')));
  });
}

/**
 * The status codes of the responses in `text`, in order, walking each response by its framing
 * (Content-Length, chunked, or none for 1xx/204/304). Trailing bytes that are not a response
 * make it throw, so nothing unexpected goes unnoticed.
 */
export function responseStatuses(text) {
  const out = [];
  let rest = text;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    const m = /^HTTP\/1\.[01] (\d{3}) /.exec(rest);
    if (end < 0 || !m) throw new Error(`not an HTTP response: ${JSON.stringify(rest.slice(0, 200))}`);
    const status = Number(m[1]);
    out.push(status);
    const head = rest.slice(0, end);
    let body = rest.slice(end + 4);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      for (;;) {
        const eol = body.indexOf('\r\n');
        const size = parseInt(body.slice(0, eol), 16);
        body = body.slice(eol + 2 + size + 2);
        if (size === 0) break;
      }
    } else if (length) {
      body = body.slice(Number(length[1]));
    } else if (!(status < 200 || status === 204 || status === 304)) {
      body = ''; // read until close
    }
    rest = body;
  }
  return out;
}

/** The body of the first response in a raw answer, parsed as JSON (or undefined). */
export function firstJsonBody(text) {
  const start = text.indexOf('\r\n\r\n');
  if (start < 0) return undefined;
  const length = /\r\nContent-Length: *(\d+)/i.exec(text.slice(0, start));
  const rest = Buffer.from(text.slice(start + 4), 'latin1');
  try {
    return JSON.parse((length ? rest.subarray(0, Number(length[1])) : rest).toString('utf8'));
  } catch {
    return undefined;
  }
}

/** The .eml files the log mail channel wrote into `<dir>/mail`, as text, oldest first. */
export function loggedMails(dir) {
  const mailDir = path.join(dir, 'mail');
  if (!existsSync(mailDir)) return [];
  return readdirSync(mailDir)
    .filter((f) => f.endsWith('.eml'))
    .sort()
    .map((f) => readFileSync(path.join(mailDir, f), 'utf8'));
}

/** Decodes the quoted-printable and base64 parts of a MIME text enough to find links in it. */
export function mailText(eml) {
  let out = eml.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
  for (const m of eml.matchAll(/Content-Transfer-Encoding: base64\r?\n(?:[^\r\n]+\r?\n)*\r?\n([A-Za-z0-9+/=\r\n]+)/g)) {
    out += `\n${Buffer.from(m[1].replace(/\s+/g, ''), 'base64').toString('utf8')}`;
  }
  return out;
}

/** The decoded text/html part of a MIME mail ('' when there is none). */
export function htmlPart(eml) {
  const m = /Content-Type: text\/html[^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*?Content-Transfer-Encoding: (base64|quoted-printable)\r?\n(?:[^\r\n]+\r?\n)*\r?\n([\s\S]*?)(?:\r?\n--|$)/i.exec(eml);
  if (!m) return '';
  if (m[1].toLowerCase() === 'base64') return Buffer.from(m[2].replace(/\s+/g, ''), 'base64').toString('utf8');
  return m[2].replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
}

/** Waits until `predicate()` is truthy (polling every 50 ms), or fails after `timeoutMs`. */
export async function eventually(predicate, what, timeoutMs = 8000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export { show };
