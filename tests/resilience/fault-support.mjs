// Support for the fault tests (faults-*.test.mjs): a throwaway MariaDB that can be killed and
// started again on the same data, a throwaway PostgreSQL that can be paused, SQL inspection of
// a database behind a latchkey server (the sqlite3 / mariadb command-line clients), SIGKILL of a
// server, a bounded load loop, and JWS verification against a JWKS with node:crypto.
//
//   const db = await startMariaDb();      // own server: scripts/lib/mariadb.sh in a temp dir
//   await db.kill();  await db.restart(); // an outage and the same server back, same data
//   await db.close();
//   const pg = await startPostgres();     // scripts/lib/postgres.sh; pg.pause() / pg.resume()
//   const rows = await sql(databaseUrl, 'SELECT id, email FROM users');  // [['id', 'email'], ...]
import { spawn, execFile } from 'node:child_process';
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { mkdtempSync, rmSync, readFileSync, openSync, closeSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort, sleep } from '../api/harness.mjs';

const execFileP = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const MARIADB_SH = path.resolve(here, '../../scripts/lib/mariadb.sh');
const POSTGRES_SH = path.resolve(here, '../../scripts/lib/postgres.sh');

const liveMariaDbs = new Set();
const livePostgres = new Set();
process.on('exit', () => {
  for (const db of liveMariaDbs) {
    try {
      process.kill(db.pid(), 'SIGKILL');
    } catch {
      // gone
    }
    rmSync(db.dir, { recursive: true, force: true });
  }
  for (const db of livePostgres) {
    for (const pid of db.pids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    rmSync(db.dir, { recursive: true, force: true });
  }
});

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) throw new Error(`${what} (pid ${pid}) still alive after ${timeoutMs} ms`);
    await sleep(20);
  }
}

function bash(script, args = [], timeoutMs = 60000) {
  return execFileP('bash', ['-c', script, 'bash', ...args], { timeout: timeoutMs, maxBuffer: 1 << 20 });
}

/**
 * Runs `FN DIR PORT` from the shell library `script` (scripts/lib/*.sh) with DIR a new temporary
 * directory whose name starts with `prefix` and PORT a free port: { dir, port, url }, the URL
 * being the last line FN printed.
 */
async function startFromScript(script, fn, prefix) {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const port = await freePort();
  try {
    const { stdout } = await bash(`source "$1"; ${fn} "$2" "$3"`, [script, dir, String(port)], 90000);
    return { dir, port, url: stdout.trim().split('\n').pop() };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${fn} failed: ${err.stderr || err.message}`);
  }
}

/**
 * A private MariaDB (scripts/lib/mariadb.sh) on a free port in a temporary directory.
 * kill() is an outage (SIGKILL: clients see their connections drop and new ones refused);
 * restart() starts mariadbd again with the same arguments on the same data directory.
 */
export async function startMariaDb() {
  // Short: the socket path must stay under ~100 bytes.
  const { dir, port, url } = await startFromScript(MARIADB_SH, 'mariadb_start', 'lk-fault-db-');
  let pid = Number(readFileSync(path.join(dir, 'server.pid'), 'utf8').trim());
  // The exact command line, to start the same server again after kill().
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a.length > 0);
  const socket = path.join(dir, 'mysqld.sock');
  const me = os.userInfo().username;

  const ping = async () => {
    try {
      await execFileP('mariadb-admin', ['--no-defaults', `--socket=${socket}`, `--user=${me}`, '--connect-timeout=2', 'ping'], {
        timeout: 5000,
      });
      return true;
    } catch {
      return false;
    }
  };

  const db = {
    url,
    dir,
    port,
    pid: () => pid,
    /** SIGKILL: the database is gone at once (connections reset, new ones refused). */
    async kill() {
      if (!alive(pid)) return;
      process.kill(pid, 'SIGKILL');
      await waitGone(pid, 10000, 'mariadbd');
    },
    /** SIGSTOP: a hung database (connections are accepted, nothing is answered). */
    pause() {
      process.kill(pid, 'SIGSTOP');
    },
    /** SIGCONT after pause(). */
    resume() {
      process.kill(pid, 'SIGCONT');
    },
    /** Starts the killed server again on the same data; resolves once it answers. */
    async restart({ timeoutMs = 30000 } = {}) {
      if (alive(pid)) throw new Error('mariadbd is still running');
      const out = openSync(path.join(dir, 'stdout.log'), 'a');
      const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', out, out], detached: true });
      closeSync(out);
      child.unref();
      pid = child.pid;
      writeFileSync(path.join(dir, 'server.pid'), `${pid}\n`);
      const deadline = Date.now() + timeoutMs;
      while (!(await ping())) {
        if (!alive(pid)) throw new Error(`mariadbd exited during restart; see ${dir}/error.log`);
        if (Date.now() > deadline) throw new Error(`mariadbd not ready ${timeoutMs} ms after restart`);
        await sleep(100);
      }
    },
    async close() {
      liveMariaDbs.delete(db);
      try {
        if (alive(pid)) process.kill(pid, 'SIGCONT'); // a paused server would not stop

        await bash(`source "$1"; mariadb_stop "$2"`, [MARIADB_SH, dir], 60000);
      } finally {
        if (alive(pid)) process.kill(pid, 'SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  liveMariaDbs.add(db);
  return db;
}

/**
 * Runs one SQL statement against the database of a latchkey server (its LATCHKEY_DATABASE_URL:
 * sqlite:// or mysql://) with the command-line client; returns the rows as arrays of strings
 * (NULL as null).
 */
export async function sql(databaseUrl, statement) {
  let stdout;
  if (databaseUrl.startsWith('sqlite://')) {
    const file = databaseUrl.slice('sqlite://'.length);
    ({ stdout } = await execFileP('sqlite3', ['-batch', '-noheader', '-separator', '\t', '-nullvalue', '\\N', file, statement], {
      timeout: 20000,
      maxBuffer: 16 << 20,
    }));
  } else if (databaseUrl.startsWith('mysql://') || databaseUrl.startsWith('mariadb://')) {
    const u = new URL(databaseUrl.replace(/^mariadb:/, 'mysql:'));
    ({ stdout } = await execFileP(
      'mariadb',
      [
        '--no-defaults',
        '--protocol=TCP',
        `--host=${u.hostname}`,
        `--port=${u.port || 3306}`,
        `--user=${decodeURIComponent(u.username)}`,
        '--batch',
        '--skip-column-names',
        '--raw',
        decodeURIComponent(u.pathname.slice(1)),
        '-e',
        statement,
      ],
      { timeout: 20000, maxBuffer: 16 << 20, env: { ...process.env, MYSQL_PWD: decodeURIComponent(u.password) } },
    ));
  } else {
    throw new Error(`sql(): unsupported database URL ${databaseUrl.replace(/:[^:@/]*@/, ':***@')}`);
  }
  return stdout
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => line.split('\t').map((v) => (v === '\\N' || v === 'NULL' ? null : v)));
}

/** SIGKILL of a server from startServer(); resolves once the process is gone. */
export async function killServer(server) {
  const exited = new Promise((resolve) => {
    if (server.child.exitCode !== null || server.child.signalCode !== null) resolve();
    else server.child.once('exit', resolve);
  });
  server.child.kill('SIGKILL');
  await exited;
}

/** An integer in [lo, hi). */
export function randomInt(lo, hi) {
  return lo + Math.floor(Math.random() * (hi - lo));
}

/**
 * Verifies a compact JWS against a JWKS document ({keys: [...]}) with node:crypto. Returns null
 * when the signature checks out with the key named by `kid`, else a reason.
 */
export function verifyWithJwks(token, jwks) {
  const [h, p, s] = token.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString());
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  if (!jwk) return `kid ${header.kid} is not in JWKS (${jwks.keys.map((k) => k.kid).join(', ')})`;
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const data = Buffer.from(`${h}.${p}`);
  const sig = Buffer.from(s, 'base64url');
  let ok;
  switch (header.alg) {
    case 'RS256':
      ok = cryptoVerify('sha256', data, key, sig);
      break;
    case 'ES256':
      ok = cryptoVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig);
      break;
    case 'EdDSA':
      ok = cryptoVerify(null, data, key, sig);
      break;
    default:
      return `unexpected alg ${header.alg}`;
  }
  return ok ? null : `signature does not verify with kid ${header.kid}`;
}

/** Polls `fn` until it returns a truthy value; returns it, or throws naming `what`. */
export async function until(fn, what, timeoutMs = 10000, stepMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(stepMs);
  }
}

/** Sends one command to Redis at 127.0.0.1:port (RESP); resolves with the first reply line. */
export function redisCommand(port, ...args) {
  return new Promise((resolve, reject) => {
    const payload = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join('')}`;
    const socket = net.connect({ host: '127.0.0.1', port }, () => socket.write(payload));
    let data = '';
    socket.setTimeout(5000, () => socket.destroy(new Error(`redis ${args[0]}: no answer`)));
    socket.on('data', (chunk) => {
      data += chunk;
      const eol = data.indexOf('\r\n');
      if (eol >= 0) {
        socket.end();
        resolve(data.slice(0, eol));
      }
    });
    socket.on('error', reject);
  });
}

/**
 * A private PostgreSQL (scripts/lib/postgres.sh) on a free port in a temporary directory.
 * pause() stops the postmaster and every backend (SIGSTOP): a hung server, whose kernel still
 * accepts connections that nothing answers; resume() continues them.
 */
export async function startPostgres() {
  const { dir, url } = await startFromScript(POSTGRES_SH, 'postgres_start', 'lk-fault-pg-');
  const postmaster = Number(readFileSync(path.join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  // The postmaster and its children (backends, checkpointer, ...), read from /proc.
  const pids = () => {
    const out = alive(postmaster) ? [postmaster] : [];
    try {
      const children = readFileSync(`/proc/${postmaster}/task/${postmaster}/children`, 'utf8');
      out.push(...children.split(' ').filter((x) => x.trim()).map(Number));
    } catch {
      // gone
    }
    return out;
  };
  let stopped = [];
  const db = {
    url,
    dir,
    pids,
    /** SIGSTOP to the postmaster (no new backends) and then to every process it started. */
    pause() {
      process.kill(postmaster, 'SIGSTOP');
      stopped = pids();
      for (const pid of stopped) process.kill(pid, 'SIGSTOP');
    },
    /** SIGCONT after pause(). */
    resume() {
      for (const pid of stopped) if (alive(pid)) process.kill(pid, 'SIGCONT');
      stopped = [];
    },
    async close() {
      livePostgres.delete(db);
      try {
        db.resume(); // a paused server would not stop
        await bash(`source "$1"; postgres_stop "$2"`, [POSTGRES_SH, dir], 60000);
      } finally {
        for (const pid of pids()) process.kill(pid, 'SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  livePostgres.add(db);
  return db;
}
