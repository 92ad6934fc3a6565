// GET /api/auth/check (the gateway's question "who is this?") and forged access tokens: every
// forgery made with `jose` or by hand must be refused with 401 invalid_token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import * as jose from 'jose';
import {
  startServer,
  client,
  assertProblem,
  assertStatus,
  newUser,
  rawRequest,
  describe,
  decodeJwt,
  assertSecurityHeaders,
} from './harness.mjs';

let server;
let api;
let user; // { email, password, tokens }
let me;
let jwks;

before(async () => {
  server = await startServer();
  api = client(server.url);
  user = await newUser(api);
  me = (await api.get('/api/me', { token: user.tokens.access_token })).body;
  const res = await api.get('/.well-known/jwks.json');
  assertStatus(res, 200);
  jwks = res.body;
});

after(async () => {
  await server?.stop();
});

const b64json = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');

function parts(token) {
  const [h, p, s] = token.split('.');
  return { h, p, s, header: JSON.parse(Buffer.from(h, 'base64url')), payload: JSON.parse(Buffer.from(p, 'base64url')) };
}

async function assertRefused(token, label, code = 'invalid_token') {
  const res = await api.get('/api/auth/check', { token });
  assert.equal(res.status, 401, `${label}: expected 401${describe(res)}`);
  assert.equal(res.body?.code, code, `${label}: expected ${code}${describe(res)}`);
  assert.equal(res.headers.get('x-auth-subject'), null, `${label}: no identity headers`);
  const meRes = await api.get('/api/me', { token });
  assert.equal(meRes.status, 401, `${label}: /api/me refuses it too${describe(meRes)}`);
}

test('check answers 200 with the identity headers for a valid token', async () => {
  const res = await api.get('/api/auth/check', { token: user.tokens.access_token });
  assertStatus(res, 200);
  assert.equal(res.headers.get('x-auth-subject'), me.id);
  assert.equal(res.headers.get('x-auth-email'), user.email);
  assert.equal(res.headers.get('x-auth-roles'), 'user');
  // The auth scheme is case-insensitive (RFC 9110).
  const lower = await api.get('/api/auth/check', { headers: { authorization: `bearer ${user.tokens.access_token}` } });
  assertStatus(lower, 200);
});

test('check without a token is 401 unauthenticated', async () => {
  assertProblem(await api.get('/api/auth/check'), 401, 'unauthenticated');
  assertProblem(await api.get('/api/auth/check', { headers: { authorization: 'Bearer' } }), 401, 'unauthenticated');
  assertProblem(await api.get('/api/auth/check', { headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } }), 401, 'unauthenticated');
});

test('a token signed by a foreign RSA key under our kid is refused', async () => {
  const { header, payload } = parts(user.tokens.access_token);
  const { privateKey } = await jose.generateKeyPair('RS256');
  const forged = await new jose.SignJWT(payload).setProtectedHeader({ ...header, alg: 'RS256' }).sign(privateKey);
  await assertRefused(forged, 'foreign RSA key, our kid');
  // With admin roles, as an attacker would.
  const admin = await new jose.SignJWT({ ...payload, roles: ['user', 'admin'] }).setProtectedHeader(header).sign(privateKey);
  await assertRefused(admin, 'foreign RSA key, admin roles');
});

test('a token under an unknown kid, or no kid, is refused', async () => {
  const { header, payload } = parts(user.tokens.access_token);
  const { privateKey } = await jose.generateKeyPair('RS256');
  await assertRefused(
    await new jose.SignJWT(payload).setProtectedHeader({ ...header, kid: 'no-such-key' }).sign(privateKey),
    'unknown kid',
  );
  const { kid, ...noKid } = header;
  assert.ok(kid);
  await assertRefused(await new jose.SignJWT(payload).setProtectedHeader(noKid).sign(privateKey), 'no kid');
});

test('a key embedded in the header (jwk / jku / x5u) is not trusted', async () => {
  const { header, payload } = parts(user.tokens.access_token);
  const { privateKey, publicKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const jwk = await jose.exportJWK(publicKey);
  await assertRefused(await new jose.SignJWT(payload).setProtectedHeader({ ...header, jwk }).sign(privateKey), 'embedded jwk');
  const { kid, ...noKid } = header;
  void kid;
  await assertRefused(await new jose.SignJWT(payload).setProtectedHeader({ ...noKid, jwk }).sign(privateKey), 'embedded jwk, no kid');
  await assertRefused(
    await new jose.SignJWT(payload)
      .setProtectedHeader({ ...header, jku: 'http://127.0.0.1:9/jwks.json' })
      .sign(privateKey),
    'jku',
  );
});

test('alg "none" in any spelling is refused', async () => {
  const { header, p, s } = parts(user.tokens.access_token);
  for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
    const h = b64json({ ...header, alg });
    await assertRefused(`${h}.${p}.`, `alg ${alg}, empty signature`);
    await assertRefused(`${h}.${p}.${s}`, `alg ${alg}, original signature`);
  }
});

test('HS256 signed with our public key (RS→HS confusion) is refused', async () => {
  const { header, payload } = parts(user.tokens.access_token);
  const ours = jwks.keys.find((k) => k.kid === header.kid);
  assert.ok(ours, 'the token kid is in JWKS');
  const key = await jose.importJWK(ours, header.alg, { extractable: true });
  const pem = await jose.exportSPKI(key);
  const secrets = [
    pem,
    pem.trim(),
    pem.replace(/\n/g, '\r\n'),
    JSON.stringify(ours),
    JSON.stringify(jwks),
    Buffer.from(ours.n ?? '', 'base64url'),
  ];
  const h = b64json({ ...header, alg: 'HS256' });
  const p = b64json(payload);
  for (const secret of secrets) {
    const sig = createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url');
    await assertRefused(`${h}.${p}.${sig}`, 'HS256 with public key bytes');
  }
  // The same through jose, for HS384/HS512 too.
  for (const alg of ['HS256', 'HS384', 'HS512']) {
    const forged = await new jose.SignJWT(payload)
      .setProtectedHeader({ ...header, alg })
      .sign(new TextEncoder().encode(pem));
    await assertRefused(forged, `${alg} with PEM`);
  }
});

test('an algorithm other than the key\'s is refused (ES256/PS256/EdDSA under our RSA kid)', async () => {
  const { header, payload } = parts(user.tokens.access_token);
  for (const alg of ['ES256', 'PS256', 'RS512', 'EdDSA']) {
    const { privateKey } = await jose.generateKeyPair(alg);
    const forged = await new jose.SignJWT(payload).setProtectedHeader({ ...header, alg }).sign(privateKey);
    await assertRefused(forged, `${alg} under our kid`);
  }
});

test('a signature copied from another token, or a tampered payload, is refused', async () => {
  const other = await newUser(api);
  const a = parts(user.tokens.access_token);
  const b = parts(other.tokens.access_token);
  await assertRefused(`${a.h}.${a.p}.${b.s}`, 'signature from another token');
  await assertRefused(`${b.h}.${b.p}.${a.s}`, 'signature from another token (reverse)');
  const tampered = b64json({ ...a.payload, roles: ['user', 'admin'] });
  await assertRefused(`${a.h}.${tampered}.${a.s}`, 'tampered roles');
  const otherSub = b64json({ ...a.payload, sub: b.payload.sub });
  await assertRefused(`${a.h}.${otherSub}.${a.s}`, 'tampered sub');
  // Re-encoding the same JSON differently changes the signing input.
  const spaced = Buffer.from(JSON.stringify(a.payload, null, 1)).toString('base64url');
  await assertRefused(`${a.h}.${spaced}.${a.s}`, 're-encoded payload');
  // The signature bytes with one bit flipped.
  const sig = Buffer.from(a.s, 'base64url');
  sig[sig.length - 1] ^= 1;
  await assertRefused(`${a.h}.${a.p}.${sig.toString('base64url')}`, 'flipped signature bit');
});

test('truncated and malformed tokens are refused', async () => {
  const t = user.tokens.access_token;
  const { h, p, s } = parts(t);
  const cases = {
    'last 5 characters cut': t.slice(0, -5),
    'signature removed': `${h}.${p}.`,
    'two segments': `${h}.${p}`,
    'header only': h,
    'extra segment': `${t}.${s}`,
    'padding added': `${t}==`,
    'standard base64 signature': `${h}.${p}.${Buffer.from(s, 'base64url').toString('base64')}`,
    'empty segments': '..',
    'JWE-shaped': `${h}.${p}.${s}.${s}.${s}`,
    'whitespace inside': `${h}.${p} .${s}`,
    'header not JSON': `${Buffer.from('not json').toString('base64url')}.${p}.${s}`,
    'payload not JSON': `${h}.${Buffer.from('[1,2').toString('base64url')}.${s}`,
  };
  for (const [label, token] of Object.entries(cases)) {
    await assertRefused(token, label);
  }
  // The real token still works: nothing above poisoned a cache.
  assertStatus(await api.get('/api/auth/check', { token: t }), 200);
});

test('a 1 MiB token is refused and the server stays healthy', async () => {
  const huge = 'A'.repeat(1024 * 1024);
  let res;
  try {
    res = await rawRequest(server.url, 'GET', '/api/auth/check', { headers: { authorization: `Bearer ${huge}` } });
  } catch (err) {
    assert.fail(`no HTTP answer to a 1 MiB Authorization header (${err.message}); expected a 4xx`);
  }
  assert.ok([400, 401, 431].includes(res.status), `a 1 MiB token is refused with 400/401/431${describe(res)}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/, describe(res));
  assert.equal(res.body?.status, res.status, `the problem's status member matches the HTTP status${describe(res)}`);
  assertSecurityHeaders(res);
  // A 1 MiB token that looks like a JWT.
  const big = `${parts(user.tokens.access_token).h}.${'B'.repeat(1024 * 1024)}.${'C'.repeat(342)}`;
  try {
    res = await rawRequest(server.url, 'GET', '/api/auth/check', { headers: { authorization: `Bearer ${big}` } });
    assert.ok([400, 401, 431].includes(res.status), `refused${describe(res)}`);
  } catch (err) {
    assert.fail(`no HTTP answer to a 1 MiB JWT-shaped token (${err.message})`);
  }
  assertStatus(await api.get('/healthz'), 200);
  assertStatus(await api.get('/api/auth/check', { token: user.tokens.access_token }), 200);
  // A token just under the header limit is refused on its merits, not by crashing.
  const medium = `${parts(user.tokens.access_token).h}.${'B'.repeat(6000)}.${'C'.repeat(342)}`;
  await assertRefused(medium, '6 KB token');
});

test('the decoded payload of a real token matches the contract', async () => {
  const { header, payload } = decodeJwt(user.tokens.access_token);
  assert.equal(header.alg, 'RS256');
  assert.equal(header.typ, 'at+jwt');
  assert.ok(jwks.keys.some((k) => k.kid === header.kid));
  assert.equal(payload.sub, me.id);
  assert.deepEqual(payload.roles, ['user']);
});
