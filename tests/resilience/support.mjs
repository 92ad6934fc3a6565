// Shared helpers for the resilience suites (load.test.mjs, skew.test.mjs, faults*.test.mjs):
// raw keep-alive HTTP/1.1 connections (node:net, so a test controls every socket), latency
// statistics, the server's memory from /proc, and its Prometheus metrics.
// Servers are started with ../api/harness.mjs.
import net from 'node:net';
import { readFileSync, readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/**
 * One HTTP/1.1 keep-alive connection; requests go one after another on the same socket.
 * `request()` rejects when the connection closes or errors before a complete answer, with
 * `err.code` (ECONNRESET, ECONNREFUSED, ...) or 'CLOSED'.
 */
export class Connection {
  /** Opens a connection to `url` ("http://127.0.0.1:port"). */
  static open(url, { timeoutMs = 10000 } = {}) {
    const u = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: u.hostname, port: Number(u.port) });
      const timer = setTimeout(() => socket.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })), timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeListener('error', reject);
        resolve(new Connection(socket, u.host));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  constructor(socket, host) {
    this.socket = socket;
    this.host = host;
    this.closed = false;
    this.buffer = Buffer.alloc(0);
    this.pending = null; // {resolve, reject}
    this.error = null;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      this.#deliver();
    });
    socket.on('error', (err) => {
      this.error = err;
    });
    socket.on('close', () => {
      this.closed = true;
      if (this.pending) {
        const err = this.error ?? Object.assign(new Error('connection closed before a complete answer'), { code: 'CLOSED' });
        this.pending.reject(err);
        this.pending = null;
      }
    });
  }

  /**
   * Sends one request and resolves with {status, headers (lower-case keys), text, body}. With
   * `gate` (a promise), only the first half of the request's header is sent at once and the rest
   * once `gate` resolves: a request that is still arriving.
   */
  request(method, path, { headers = {}, json, timeoutMs = 15000, gate } = {}) {
    if (this.pending) throw new Error('one request at a time per connection');
    if (this.closed) {
      return Promise.reject(this.error ?? Object.assign(new Error('connection is closed'), { code: 'CLOSED' }));
    }
    const body = json === undefined ? '' : JSON.stringify(json);
    const lines = [`${method} ${path} HTTP/1.1`, `Host: ${this.host}`];
    if (json !== undefined) lines.push('Content-Type: application/json');
    if (body.length > 0 || method === 'POST') lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = null;
        this.socket.destroy();
        reject(Object.assign(new Error(`no answer to ${method} ${path} within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
      }, timeoutMs);
      this.pending = {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const bytes = Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`);
      if (gate === undefined) {
        this.socket.write(bytes);
      } else {
        const half = Math.floor(bytes.indexOf('\r\n\r\n') / 2);
        this.socket.write(bytes.subarray(0, half));
        gate.then(() => {
          if (!this.socket.destroyed) this.socket.write(bytes.subarray(half));
        });
      }
    });
  }

  close() {
    this.socket.destroy();
  }

  #deliver() {
    if (!this.pending) return;
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const [statusLine, ...headerLines] = this.buffer.subarray(0, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    if (!m) {
      this.pending.reject(new Error(`bad status line: ${statusLine}`));
      this.pending = null;
      this.socket.destroy();
      return;
    }
    const headers = {};
    for (const line of headerLines) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    if (headers['transfer-encoding'] !== undefined || headers['content-length'] === undefined) {
      this.pending.reject(new Error('answer without Content-Length (this client reads only those)'));
      this.pending = null;
      this.socket.destroy();
      return;
    }
    const length = Number(headers['content-length']);
    if (this.buffer.length < end + 4 + length) return;
    const text = this.buffer.subarray(end + 4, end + 4 + length).toString('utf8');
    this.buffer = this.buffer.subarray(end + 4 + length);
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const { resolve } = this.pending;
    this.pending = null;
    resolve({ status: Number(m[1]), headers, text, body });
  }
}

/** Opens `count` connections, at most `parallel` connects at a time. Rejects on the first failure. */
export async function openConnections(url, count, { parallel = 200 } = {}) {
  const conns = [];
  let next = 0;
  async function worker() {
    while (next < count) {
      next += 1;
      conns.push(await Connection.open(url));
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  return conns;
}

/** Runs `task(i)` for i in [0, count) with at most `parallel` in flight; returns the results in order. */
export async function pool(count, parallel, task) {
  const results = new Array(count);
  let next = 0;
  async function worker() {
    while (next < count) {
      const i = next;
      next += 1;
      results[i] = await task(i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  return results;
}

/** Times one async call in milliseconds: {ms, value}. */
export async function timed(fn) {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/** p50/p99/max of a list of milliseconds. */
export function latencyStats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
  const r = (x) => Math.round(x * 10) / 10;
  return { count: s.length, p50: r(at(0.5)), p99: r(at(0.99)), max: r(s[s.length - 1]) };
}

/**
 * A "normal client": one request on a fresh connection, `Connection: close`, timed from connect
 * to the complete answer. Resolves {ms, res}.
 */
export async function probe(url, path, { headers = {}, method = 'GET', json, timeoutMs = 5000 } = {}) {
  return timed(async () => {
    const conn = await Connection.open(url, { timeoutMs });
    try {
      return await conn.request(method, path, { headers: { Connection: 'close', ...headers }, json, timeoutMs });
    } finally {
      conn.close();
    }
  });
}

/** VmRSS and VmHWM (KiB) of a process, from /proc/<pid>/status. */
export function memoryKiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!m) throw new Error(`${name} missing from /proc/${pid}/status`);
    return Number(m[1]);
  };
  return { rss: field('VmRSS'), hwm: field('VmHWM') };
}

/** Number of open file descriptors of a process. */
export function openFds(pid) {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** The server's /metrics as a Map from "name{labels}" (exactly as printed) to number. */
export async function metrics(url) {
  const conn = await Connection.open(url);
  try {
    const res = await conn.request('GET', '/metrics', { headers: { Connection: 'close' } });
    if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
    const out = new Map();
    for (const line of res.text.split('\n')) {
      if (!line || line.startsWith('#')) continue;
      const i = line.lastIndexOf(' ');
      out.set(line.slice(0, i), Number(line.slice(i + 1)));
    }
    return out;
  } finally {
    conn.close();
  }
}

/** Resolves when `predicate()` (may be async) is truthy; throws after `timeoutMs` with `what`. */
export async function waitFor(what, predicate, { timeoutMs = 10000, everyMs = 20 } = {}) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await predicate();
    if (v) return v;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** CPU time (user + system) a process has used so far, in milliseconds (from /proc/<pid>/stat). */
export function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

// sysconf(_SC_CLK_TCK) is 100 on every Linux architecture Node runs on.
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * Stops a server started with ../api/harness.mjs (SIGTERM; exit 0 asserted). When the test has
 * already failed (`passed` false), a failure to stop is ignored so that the first error is the
 * one reported.
 */
export async function stopServer(server, passed) {
  if (passed) return server.stop();
  return server.stop().catch(() => {});
}

/** This process's hard limit on open files (children inherit it), from /proc/self/limits. */
export function hardFileLimit() {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  if (!m) throw new Error('no "Max open files" line in /proc/self/limits');
  return m[2] === 'unlimited' ? Infinity : Number(m[2]);
}
