// A throwaway redis-server for API tests: its own port and directory, no persistence, stopped
// and restarted at will (to test the failure policy). Needs the Debian package redis-server,
// which scripts/test installs.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { freePort, sleep } from './harness.mjs';

function ping(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => socket.write('PING\r\n'));
    socket.setTimeout(500, () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('data', (d) => {
      socket.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    socket.on('error', () => resolve(false));
  });
}

/** Starts redis-server on a free loopback port. Returns { url, port, stop(), start(), close() }. */
export async function startRedis() {
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  if (which.status !== 0) throw new Error('redis-server not found (apt-get install redis-server)');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'latchkey-redis-'));
  const port = await freePort();
  let child = null;
  let output = '';

  const start = async () => {
    child = spawn(
      'redis-server',
      ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const deadline = Date.now() + 10000;
    while (!(await ping(port))) {
      if (Date.now() > deadline) throw new Error(`redis-server did not start:\n${output}`);
      await sleep(50);
    }
  };
  const stop = async () => {
    if (!child) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL'); // an outage, not a clean shutdown
    await exited;
    child = null;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    start,
    stop,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
