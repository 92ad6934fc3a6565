// RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30-second steps) for the black-box tests, with node:crypto
// only, and a per-secret "authenticator" that hands out codes the server will take: Latchkey
// accepts the steps now-1 .. now+1, and never a step at or before the last one it accepted.
import { createHmac } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
export const PERIOD = 30;

/** RFC 4648 base32 (no padding needed; case and spaces ignored). */
export function base32Decode(text) {
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of clean) {
    const i = ALPHABET.indexOf(ch);
    if (i < 0) throw new Error(`not base32: ${JSON.stringify(ch)}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The time step of `ms` (Unix milliseconds). */
export function stepAt(ms = Date.now()) {
  return Math.floor(ms / 1000 / PERIOD);
}

/** The 6-digit code of `step` for a base32 secret (RFC 4226 dynamic truncation). */
export function totpAt(secretBase32, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32Decode(secretBase32)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const n = (mac.readUInt32BE(offset) & 0x7fffffff) % 1000000;
  return String(n).padStart(6, '0');
}

/**
 * An authenticator app for one secret that remembers the last step it handed out, so each call
 * of next() gives a code the server has not seen: the oldest step still in the window
 * (now-1 .. now+1) that is after the last one used, waiting for the clock when none is left.
 */
export class Authenticator {
  constructor(secretBase32) {
    this.secret = secretBase32;
    this.lastStep = null;
  }

  /** The code of the next unused step, without marking it used (for codes the server refuses). */
  async peek() {
    for (;;) {
      const now = Date.now();
      const current = stepAt(now);
      const untilNextStep = (current + 1) * PERIOD * 1000 - now + 50;
      const step = this.lastStep === null ? current - 1 : Math.max(current - 1, this.lastStep + 1);
      // Near the end of a step, now-1 may fall out of the window before the server checks it:
      // wait for the next step (a few seconds), which leaves three fresh steps in the window.
      const closing = step === current - 1 && untilNextStep < 3000;
      if (step <= current + 1 && !closing) return { step, code: totpAt(this.secret, step) };
      await new Promise((r) => setTimeout(r, untilNextStep));
    }
  }

  /** The code of the next unused step, marked used. */
  async next() {
    const { step, code } = await this.peek();
    this.lastStep = step;
    return code;
  }

  /** A 6-digit code that matches no step near now. */
  wrong() {
    const current = stepAt();
    const near = new Set();
    for (let s = current - 3; s <= current + 3; s++) near.add(totpAt(this.secret, s));
    for (let i = 0; ; i++) {
      const code = String((123457 + i * 7919) % 1000000).padStart(6, '0');
      if (!near.has(code)) return code;
    }
  }
}
