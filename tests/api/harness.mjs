// Test harness for the black-box API tests: starts a real `latchkey serve` on a free loopback
// port with a fresh temporary directory and database, and offers a small HTTP client plus
// assertions for problem+json answers.
//
// Environment:
//   LATCHKEY_BIN                 the binary to run (default ../../build/latchkey)
//   LATCHKEY_TEST_DATABASE_URL   a shared database (MariaDB) instead of a fresh SQLite file;
//                                every test uses random e-mails so runs never collide.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const here = path.dirname(fileURLToPath(import.meta.url));

export const BIN = path.resolve(here, process.env.LATCHKEY_BIN || '../../build/latchkey');

const READY_TIMEOUT_MS = 5000;
const STOP_TIMEOUT_MS = 5000;

// Every child we spawn, so that none outlives the test run even when a test throws.
const live = new Set();
function killAll() {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

/**
 * For servers of test files that prove "nothing was written" by failing to log in many times:
 * lifts the per-IP login limit (all requests come from 127.0.0.1) so it does not interfere.
 * login.test.mjs tests the limits with the defaults.
 */
export const MANY_LOGIN_FAILURES = { LATCHKEY_SECURITY_LOGIN_IP_FREE_ATTEMPTS: '100000' };

export function randomHex(bytes) {
  return randomBytes(bytes).toString('hex');
}

/** A fresh, unique address: the database may be shared between test files and runs. */
export function randomEmail(prefix = 'user') {
  return `${prefix}-${randomHex(8)}@example.com`;
}

/** A password that passes every rule (length, zxcvbn >= 2, no local part). */
export function strongPassword() {
  return `Correct-Horse-${randomHex(6)}-Battery!`;
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts `latchkey serve`.
 * @param {{env?: Record<string,string>, cookieSecure?: boolean, dir?: string,
 *          masterKey?: string, databaseUrl?: string, sqlite?: boolean, port?: number,
 *          launcher?: string[]}} options
 *   env overrides the defaults below; `dir`, `masterKey` and `databaseUrl` let a test restart a
 *   server on the same data; `port` restarts one where a proxy expects it; `sqlite` forces a private SQLite database even when
 *   LATCHKEY_TEST_DATABASE_URL is set (for tests that need their own key ring).
 * @returns {Promise<{url: string, dir: string, env: Record<string,string>, child, stop: () =>
 *   Promise<void>, output: () => string}>}
 */
export async function startServer(options = {}) {
  if (!existsSync(BIN)) {
    throw new Error(`latchkey binary not found at ${BIN} (set LATCHKEY_BIN)`);
  }
  const ownDir = !options.dir;
  const dir = options.dir ?? mkdtempSync(path.join(os.tmpdir(), 'latchkey-api-'));
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const env = serverEnv({ dir, url, port, ...options });
  // `launcher` runs the binary through a program that execs it in place (same pid), e.g.
  // ['prlimit', '--nofile=1024:20000', '--'].
  const launcher = options.launcher ?? [];
  const child = spawn(launcher[0] ?? BIN, [...launcher.slice(1), ...(launcher.length ? [BIN] : []), 'serve'], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME ?? dir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let output = '';
  const collect = (chunk) => {
    output += chunk.toString();
    if (output.length > 1 << 20) output = output.slice(-(1 << 19));
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });
  let exitInfo = null;
  exited.then((info) => {
    exitInfo = info;
  });

  const cleanup = () => {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };

  // Wait for /healthz.
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exitInfo) {
      cleanup();
      throw new Error(
        `latchkey exited before it was ready (code ${exitInfo.code}, signal ${exitInfo.signal}):\n${output}`,
      );
    }
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(500) });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      cleanup();
      throw new Error(`latchkey was not ready within ${READY_TIMEOUT_MS} ms:\n${output}`);
    }
    await sleep(50);
  }

  let stopped = false;
  return {
    url,
    dir,
    env,
    child,
    output: () => output,
    /** SIGTERM; asserts a clean exit (code 0) within STOP_TIMEOUT_MS. */
    async stop({ keepDir = false } = {}) {
      if (stopped) return;
      stopped = true;
      if (!exitInfo) child.kill('SIGTERM');
      const timer = sleep(STOP_TIMEOUT_MS).then(() => 'timeout');
      const result = await Promise.race([exited, timer]);
      if (result === 'timeout') {
        child.kill('SIGKILL');
        await exited;
        if (!keepDir) cleanup();
        assert.fail(`latchkey did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM:\n${output}`);
      }
      if (!keepDir) cleanup();
      assert.equal(
        result.code,
        0,
        `latchkey exited with code ${result.code} (signal ${result.signal}) after SIGTERM:\n${output.slice(-4000)}`,
      );
    },
  };
}

/** The environment `latchkey serve` (or another sub-command) gets. */
export function serverEnv({ dir, url, port, env = {}, cookieSecure, masterKey, databaseUrl, sqlite }) {
  // An empty LATCHKEY_TEST_DATABASE_URL means SQLite, as if it were unset (scripts/test passes "").
  const shared = !databaseUrl && !sqlite ? process.env.LATCHKEY_TEST_DATABASE_URL || undefined : undefined;
  // Servers on a shared database must share the master key that seals the signing keys in it.
  const sharedKey = shared
    ? process.env.LATCHKEY_TEST_MASTER_KEY ?? createHash('sha256').update(`latchkey-api-tests ${shared}`).digest('hex')
    : undefined;
  const base = {
    LATCHKEY_DATABASE_URL: databaseUrl ?? shared ?? `sqlite://${path.join(dir, 'x.db')}`,
    LATCHKEY_KEYS_MASTER_KEY: masterKey ?? sharedKey ?? randomHex(32),
    LATCHKEY_SERVER_WEB_ROOT: '',
    LATCHKEY_LOG_LEVEL: 'warn',
    LATCHKEY_PASSWORD_ARGON2_MEMORY_KIB: '8192',
    LATCHKEY_PASSWORD_ARGON2_ITERATIONS: '1',
    // Most suites sign up and log in at once; email.test.mjs turns verification on.
    LATCHKEY_SIGNUP_REQUIRE_EMAIL_VERIFICATION: 'false',
    LATCHKEY_MAIL_LOG_DIR: path.join(dir, 'mail'),
  };
  if (port !== undefined) base.LATCHKEY_SERVER_LISTEN = `127.0.0.1:${port}`;
  if (url !== undefined) base.LATCHKEY_SERVER_PUBLIC_URL = url;
  if (cookieSecure !== undefined) base.LATCHKEY_SECURITY_COOKIE_SECURE = String(cookieSecure);
  return { ...base, ...env };
}

/**
 * Runs a latchkey sub-command to completion.
 * @returns {Promise<{code: number|null, stdout: string, stderr: string}>}
 */
export function runCli(args, { env, stdin, cwd, timeoutMs = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, {
      cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME ?? cwd, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    live.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`latchkey ${args.join(' ')} did not finish in ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      live.delete(child);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(stdin ?? '');
  });
}

// ---------------------------------------------------------------------------------------------
// HTTP client

/**
 * One request. `json` is sent as application/json; `body` is sent as given (string/Buffer) with
 * `contentType` (if any). `token` adds `Authorization: Bearer`. `cookies` is an object of
 * cookie name -> value.
 * @returns {Promise<{status: number, headers: Headers, text: string, body: any,
 *   setCookies: string[], request: object}>}
 */
export async function request(base, method, pathname, opts = {}) {
  const headers = { ...(opts.headers ?? {}) };
  let body;
  if (opts.json !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.body !== undefined) {
    body = opts.body;
    if (opts.contentType) headers['content-type'] = opts.contentType;
  }
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.cookies) {
    headers.cookie = Object.entries(opts.cookies)
      .map(([k, v]) => `${k}=${v}`)
      .join('; ');
  }
  const res = await fetch(base + pathname, {
    method,
    headers,
    body,
    redirect: 'manual',
    signal: AbortSignal.timeout(opts.timeoutMs ?? 15000),
  });
  const text = await res.text();
  let parsed;
  const ct = res.headers.get('content-type') ?? '';
  if (/json/.test(ct) && text.length > 0) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  const shownBody = typeof body === 'string' && body.length > 300 ? `${body.slice(0, 300)}…` : body;
  return {
    status: res.status,
    headers: res.headers,
    text,
    body: parsed,
    setCookies: res.headers.getSetCookie(),
    request: { method, path: pathname, headers, body: Buffer.isBuffer(body) ? `<${body.length} bytes>` : shownBody },
  };
}

/** A client bound to one server. */
export function client(url) {
  const c = (method, pathname, opts) => request(url, method, pathname, opts);
  c.get = (p, o) => request(url, 'GET', p, o);
  c.post = (p, json, o = {}) => request(url, 'POST', p, { ...o, json });
  c.patch = (p, json, o = {}) => request(url, 'PATCH', p, { ...o, json });
  c.delete = (p, json, o = {}) => request(url, 'DELETE', p, { ...o, json });
  c.url = url;
  return c;
}

/** Text describing a request and its answer, for assertion messages (the report to the lead). */
export function describe(res) {
  const h = {};
  res.headers.forEach((v, k) => {
    h[k] = v;
  });
  return `\n  request: ${JSON.stringify(res.request)}\n  response: ${res.status} ${JSON.stringify(h)}\n  body: ${res.text.slice(0, 800)}`;
}

export function assertStatus(res, status) {
  assert.equal(res.status, status, `expected HTTP ${status}${describe(res)}`);
}

/** The headers every answer carries (ops.test.mjs checks them on many kinds of answer). */
export function assertSecurityHeaders(res) {
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff', `X-Content-Type-Options${describe(res)}`);
  assert.ok(res.headers.get('referrer-policy'), `Referrer-Policy${describe(res)}`);
  assert.ok(res.headers.get('content-security-policy'), `Content-Security-Policy${describe(res)}`);
  const id = res.headers.get('x-request-id');
  assert.ok(id && id.length > 0, `X-Request-Id${describe(res)}`);
}

/** Asserts an RFC 9457 problem answer with the given status, code and (optionally) field. */
export function assertProblem(res, status, code, field) {
  assertStatus(res, status);
  const ct = res.headers.get('content-type') ?? '';
  assert.match(ct, /^application\/problem\+json/, `content-type${describe(res)}`);
  assert.ok(res.body && typeof res.body === 'object', `problem body is JSON${describe(res)}`);
  assert.equal(res.body.code, code, `problem code${describe(res)}`);
  assert.equal(res.body.status, status, `problem status member${describe(res)}`);
  assert.equal(typeof res.body.type, 'string', `problem type${describe(res)}`);
  assert.equal(typeof res.body.title, 'string', `problem title${describe(res)}`);
  assert.equal(typeof res.body.detail, 'string', `problem detail${describe(res)}`);
  assert.equal(typeof res.body.request_id, 'string', `problem request_id${describe(res)}`);
  assert.ok(res.body.request_id.length > 0, `problem request_id non-empty${describe(res)}`);
  if (field !== undefined) assert.equal(res.body.field, field, `problem field${describe(res)}`);
  return res.body;
}

// ---------------------------------------------------------------------------------------------
// Account helpers

export async function signup(api, { email = randomEmail(), password = strongPassword(), name } = {}) {
  const json = { email, password };
  if (name !== undefined) json.name = name;
  const res = await api.post('/api/auth/signup', json);
  assertStatus(res, 201);
  return { email, password, res };
}

export async function login(api, email, password, extra = {}) {
  const res = await api.post('/api/auth/login', { email, password, ...extra });
  assertStatus(res, 200);
  return res.body;
}

/** Signs up a fresh user and logs in (bearer mode). */
export async function newUser(api, opts = {}) {
  const { email, password } = await signup(api, opts);
  const tokens = await login(api, email, password);
  return { email, password, tokens };
}

export async function loginFails(api, email, password) {
  const res = await api.post('/api/auth/login', { email, password });
  assertProblem(res, 401, 'invalid_credentials');
}

/** Parses Set-Cookie lines into {name: {value, attrs: {lowercased: value|true}, raw}}. */
export function parseSetCookies(lines) {
  const out = {};
  for (const raw of lines) {
    const [pair, ...attrs] = raw.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    const a = {};
    for (const attr of attrs) {
      if (!attr) continue;
      const i = attr.indexOf('=');
      if (i < 0) a[attr.toLowerCase()] = true;
      else a[attr.slice(0, i).toLowerCase()] = attr.slice(i + 1);
    }
    out[name] = { value, attrs: a, raw };
  }
  return out;
}

/** Decodes a JWT's header and payload without verifying. */
export function decodeJwt(token) {
  const [h, p] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(p, 'base64url').toString()),
  };
}

/**
 * A request over a plain TCP socket, for cases fetch cannot express well: no Content-Type, huge
 * headers, or bodies that the server refuses before reading them. Errors while writing (EPIPE,
 * ECONNRESET once the server has answered and closed) are ignored: what counts is the answer the
 * server sent. Rejects only when no complete answer arrived.
 */
export function rawRequest(base, method, pathname, { headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(pathname, base);
    const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(body);
    const lines = [`${method} ${u.pathname}${u.search} HTTP/1.1`, `Host: ${u.host}`, 'Connection: close'];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`);
    const chunks = [];
    let writeError;
    const socket = net.connect({ host: u.hostname, port: Number(u.port) });
    socket.setTimeout(15000, () => socket.destroy(new Error('timeout')));
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', (err) => {
      writeError = err;
    });
    socket.on('close', () => {
      const answer = parseHttpResponse(Buffer.concat(chunks));
      if (!answer) {
        reject(new Error(`no complete HTTP answer${writeError ? ` (${writeError.code ?? writeError.message})` : ''}`));
        return;
      }
      resolve({
        ...answer,
        setCookies: [],
        request: { method, path: pathname, headers: Object.keys(headers), body: body ? `<${payload.length} bytes>` : undefined },
      });
    });
    socket.on('connect', () => {
      socket.write(head);
      // Write the body in pieces so an early answer is not stuck behind one huge write.
      for (let off = 0; off < payload.length; off += 16384) socket.write(payload.subarray(off, off + 16384));
      socket.end();
    });
  });
}

/** Parses one HTTP/1.1 response (Content-Length, chunked, or until close). */
function parseHttpResponse(buf) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine, ...headerLines] = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!m) return null;
  const headers = new Headers();
  for (const line of headerLines) {
    const i = line.indexOf(':');
    if (i > 0) headers.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  let rest = buf.subarray(end + 4);
  let bodyBuf;
  const length = headers.get('content-length');
  if (length !== null) {
    if (rest.length < Number(length)) return null;
    bodyBuf = rest.subarray(0, Number(length));
  } else if (/chunked/i.test(headers.get('transfer-encoding') ?? '')) {
    const parts = [];
    for (;;) {
      const eol = rest.indexOf('\r\n');
      if (eol < 0) return null;
      const size = parseInt(rest.subarray(0, eol).toString(), 16);
      if (Number.isNaN(size)) return null;
      if (size === 0) break;
      parts.push(rest.subarray(eol + 2, eol + 2 + size));
      rest = rest.subarray(eol + 2 + size + 2);
    }
    bodyBuf = Buffer.concat(parts);
  } else {
    bodyBuf = rest;
  }
  const text = bodyBuf.toString('utf8');
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: Number(m[1]), headers, text, body: parsed };
}
