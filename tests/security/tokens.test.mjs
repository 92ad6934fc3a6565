// Attack suite: access token forgery, black-box over HTTP against the real binary.
// Every forged token is presented to GET /api/auth/check and to a bearer route (GET /api/me) and
// must be refused with 401 invalid_token; after each case the genuine token still works (nothing
// changed), and where the attack points the server at a URL, that URL was never fetched.
// Cases come from real CVEs in other JWT libraries: alg none in any letter case, RS->HS key
// confusion (CVE-2016-10555 and kin), embedded jwk / jku / x5u (CVE-2018-0114), crit,
// ECDSA r=s=0 "psychic signatures" (CVE-2022-21449), JSON/compact polyglots (CVE-2022-39227),
// foreign aud/iss, huge and many-dots tokens, JWE and PBES2 with a huge p2c (CVE-2023-52428).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, createHash } from 'node:crypto';
import {
  startServer,
  client,
  newUser,
  assertProblem,
  assertStatus,
  rawRequest,
} from '../api/harness.mjs';
import {
  b64u,
  hs256,
  signWith,
  signingInput,
  splitJwt,
  check,
  assertTokenRefused,
  rssKiB,
  startAttackerServer,
  show,
} from './lib.mjs';

let srv; // RS256 (default)
let api;
let victim; // {email, password, tokens}
let other; // a second user
let jwks; // the server's published keys
let serverJwk; // the RSA public key of the signing kid
let attacker; // an RSA key pair the attacker owns
let attackerJwk;
let evil; // the attacker's HTTP server (serves attackerJwk as a JWKS)

before(async () => {
  srv = await startServer({ sqlite: true });
  api = client(srv.url);
  victim = await newUser(api);
  other = await newUser(api);
  const res = await api.get('/.well-known/jwks.json');
  assertStatus(res, 200);
  jwks = res.body;
  const { kid } = splitJwt(victim.tokens.access_token).header;
  serverJwk = jwks.keys.find((k) => k.kid === kid);
  assert.ok(serverJwk, 'the signing key is in JWKS');
  attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
  attackerJwk = { ...attacker.publicKey.export({ format: 'jwk' }), kid: serverJwk.kid, alg: 'RS256', use: 'sig' };
  evil = await startAttackerServer({ keys: [attackerJwk] });
});

after(async () => {
  await evil?.close();
  await srv?.stop();
});

/** The genuine token still passes, as do the claims it carries (nothing changed). */
async function genuineStillWorks() {
  const res = await check(api, victim.tokens.access_token);
  assertStatus(res, 200);
  assert.equal(res.headers.get('x-auth-email'), victim.email);
}

/** The victim's claims with elevated rights, as a forger would want them. */
function forgedPayload(extra = {}) {
  const { payload } = splitJwt(victim.tokens.access_token);
  return { ...payload, roles: ['admin', 'user'], ...extra };
}

async function refused(token) {
  await assertTokenRefused(api, token);
  await genuineStillWorks();
}

// --- alg none, any letter case ------------------------------------------------------------------

for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
  test(`alg "${alg}" with an empty signature is refused`, async () => {
    const { header } = splitJwt(victim.tokens.access_token);
    await refused(`${signingInput({ ...header, alg }, forgedPayload())}.`);
  });
}

test('alg "none" keeping the original signature is refused', async () => {
  const { header, s } = splitJwt(victim.tokens.access_token);
  await refused(`${signingInput({ ...header, alg: 'none' }, forgedPayload())}.${s}`);
});

test('alg header missing is refused', async () => {
  const { header, s } = splitJwt(victim.tokens.access_token);
  const { alg: _drop, ...rest } = header;
  await refused(`${signingInput(rest, forgedPayload())}.${s}`);
});

// --- RS -> HS key confusion ---------------------------------------------------------------------

function hsToken(key) {
  const { header } = splitJwt(victim.tokens.access_token);
  const input = signingInput({ ...header, alg: 'HS256' }, forgedPayload());
  return `${input}.${hs256(input, key)}`;
}

test('HS256 keyed with the server public key as SPKI PEM is refused', async () => {
  const pem = createPublicKey({ key: serverJwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
  await refused(hsToken(pem));
  await refused(hsToken(pem.trimEnd())); // without the final newline, as some libraries read it
});

test('HS256 keyed with the server public key as PKCS#1 PEM and DER is refused', async () => {
  const key = createPublicKey({ key: serverJwk, format: 'jwk' });
  await refused(hsToken(key.export({ type: 'pkcs1', format: 'pem' })));
  await refused(hsToken(key.export({ type: 'spki', format: 'der' })));
});

test('HS256 keyed with the server JWK (JSON text and modulus bytes) is refused', async () => {
  await refused(hsToken(JSON.stringify(serverJwk)));
  await refused(hsToken(JSON.stringify(jwks)));
  await refused(hsToken(Buffer.from(serverJwk.n, 'base64url')));
});

// --- stripped, swapped and tampered signatures -------------------------------------------------

test('a stripped signature (header.payload.) is refused', async () => {
  const { h, p } = splitJwt(victim.tokens.access_token);
  await refused(`${h}.${p}.`);
});

test('a token without the signature part (header.payload) is refused', async () => {
  const { h, p } = splitJwt(victim.tokens.access_token);
  await refused(`${h}.${p}`);
});

test("another user's signature on the victim's payload is refused", async () => {
  const mine = splitJwt(other.tokens.access_token);
  const theirs = splitJwt(victim.tokens.access_token);
  await refused(`${mine.h}.${theirs.p}.${mine.s}`);
  // and the other way round: the victim's signature under an attacker-chosen payload
  await refused(`${theirs.h}.${b64u(forgedPayload({ sub: splitJwt(other.tokens.access_token).payload.sub }))}.${theirs.s}`);
});

test('a payload with elevated roles under the original signature is refused', async () => {
  const { h, s } = splitJwt(victim.tokens.access_token);
  await refused(`${h}.${b64u(forgedPayload())}.${s}`);
});

test('a flipped bit in the signature is refused', async () => {
  const { h, p, s } = splitJwt(victim.tokens.access_token);
  const sig = Buffer.from(s, 'base64url');
  sig[sig.length - 1] ^= 1;
  await refused(`${h}.${p}.${sig.toString('base64url')}`);
});

test('a token signed by the attacker key under the server kid is refused', async () => {
  const { header } = splitJwt(victim.tokens.access_token);
  const input = signingInput(header, forgedPayload());
  await refused(`${input}.${signWith('RS256', input, attacker.privateKey)}`);
});

// --- kid ------------------------------------------------------------------------------------------

test('a foreign kid is refused', async () => {
  const { header } = splitJwt(victim.tokens.access_token);
  const input = signingInput({ ...header, kid: 'attacker-key-1' }, forgedPayload());
  await refused(`${input}.${signWith('RS256', input, attacker.privateKey)}`);
});

test('a missing kid and hostile kid values (path, SQL, non-string) are refused', async () => {
  const { header, s } = splitJwt(victim.tokens.access_token);
  const { kid: _drop, ...noKid } = header;
  await refused(`${signingInput(noKid, forgedPayload())}.${s}`);
  for (const kid of ['../../../../dev/null', "' OR '1'='1", `${serverJwk.kid}\u0000x`, 42, [serverJwk.kid]]) {
    const input = signingInput({ ...header, kid }, forgedPayload());
    await refused(`${input}.${hs256(input, '')}`);
  }
});

// --- headers that choose their own key: jku, x5u, jwk, x5c; crit ---------------------------------

for (const name of ['jku', 'x5u']) {
  test(`a ${name} header pointing at an attacker server is refused and never fetched`, async () => {
    const { header } = splitJwt(victim.tokens.access_token);
    const before = evil.hits.length;
    for (const kid of [serverJwk.kid, 'attacker-key-2']) {
      const input = signingInput({ ...header, kid, [name]: `${evil.url}/jwks.json` }, forgedPayload());
      await refused(`${input}.${signWith('RS256', input, attacker.privateKey)}`);
    }
    // Give a (wrong) background fetch time to show up before asserting that none happened.
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(evil.hits.slice(before), [], 'latchkey fetched the attacker URL');
  });
}

test('an embedded jwk header with the attacker key is refused', async () => {
  const { header } = splitJwt(victim.tokens.access_token);
  for (const kid of [serverJwk.kid, 'attacker-key-3']) {
    const input = signingInput({ ...header, kid, jwk: { ...attackerJwk, kid } }, forgedPayload());
    await refused(`${input}.${signWith('RS256', input, attacker.privateKey)}`);
  }
});

test('an x5c header (self-signed chain) and x5t are refused', async () => {
  const { header } = splitJwt(victim.tokens.access_token);
  const der = attacker.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  for (const extra of [{ x5c: [der] }, { 'x5t#S256': createHash('sha256').update(der).digest('base64url') }]) {
    const input = signingInput({ ...header, ...extra }, forgedPayload());
    await refused(`${input}.${signWith('RS256', input, attacker.privateKey)}`);
  }
});

test('a crit header is refused (no extension is understood)', async () => {
  const { header, s } = splitJwt(victim.tokens.access_token);
  for (const crit of [['exp'], ['b64'], []]) {
    await refused(`${signingInput({ ...header, crit, b64: false }, forgedPayload())}.${s}`);
  }
});

// --- polyglots and malformed shapes --------------------------------------------------------------

test('a JSON-serialized JWS (flattened and general) is refused', async () => {
  const { h, p, s } = splitJwt(victim.tokens.access_token);
  await refused(JSON.stringify({ protected: h, payload: p, signature: s }));
  await refused(JSON.stringify({ payload: p, signatures: [{ protected: h, signature: s }] }));
});

test('JSON/compact polyglot tokens are refused (CVE-2022-39227 shape)', async () => {
  const { h, s } = splitJwt(victim.tokens.access_token);
  const forged = b64u(forgedPayload());
  // A compact token whose "payload" part hides a JSON document carrying the real parts.
  const genuine = victim.tokens.access_token;
  await refused(`{"${h}.${forged}.":"","protected":"${h}","payload":"${splitJwt(genuine).p}","signature":"${s}"}`);
  await refused(`${h}.${forged}.${s}{"protected":"${h}"}`);
  await refused(`${genuine}.${forged}`);
  await refused(`${genuine} ${h}.${forged}.${s}`);
});

test('tokens with many dots are refused quickly', async () => {
  const { h, p, s } = splitJwt(victim.tokens.access_token);
  const started = Date.now();
  await refused(`${h}.${p}.${s}.${'.'.repeat(5000)}`);
  await refused('.'.repeat(7000));
  await refused(`${h}${'.'.repeat(3000)}${p}.${s}`);
  assert.ok(Date.now() - started < 5000, `many-dots tokens took ${Date.now() - started} ms`);
});

test('a header that is a deeply nested JSON bomb is refused', async () => {
  const bomb = `{"alg":"RS256","kid":"${serverJwk.kid}","x":${'['.repeat(2500)}${']'.repeat(2500)}}`;
  const { p, s } = splitJwt(victim.tokens.access_token);
  await refused(`${b64u(bomb)}.${p}.${s}`);
});

test('duplicate members in the header or payload are refused', async () => {
  const { h, s, payload, header } = splitJwt(victim.tokens.access_token);
  const dupPayload = JSON.stringify(payload).replace(/^\{/, `{"sub":"${splitJwt(other.tokens.access_token).payload.sub}",`);
  await refused(`${h}.${b64u(dupPayload)}.${s}`);
  const dupHeader = JSON.stringify(header).replace(/^\{/, '{"alg":"none",');
  await refused(`${b64u(dupHeader)}.${splitJwt(victim.tokens.access_token).p}.${s}`);
});

test('a token close to the header limit is refused with 401, a 1 MB one with 431; memory stays flat', async () => {
  const { h, s } = splitJwt(victim.tokens.access_token);
  const near = `${h}.${b64u({ ...forgedPayload(), pad: 'x'.repeat(4000) })}.${s}`;
  await refused(near);
  const huge = `${h}.${'A'.repeat(1 << 20)}.${s}`;
  const before = rssKiB(srv.child.pid);
  for (let i = 0; i < 40; i++) {
    const res = await rawRequest(srv.url, 'GET', '/api/auth/check', { headers: { Authorization: `Bearer ${huge}` } });
    assertProblem(res, 431, 'headers_too_large');
  }
  const grown = rssKiB(srv.child.pid) - before;
  // 40 MB went through; a server that kept them would grow by that much.
  assert.ok(grown < 16 * 1024, `RSS grew by ${grown} KiB after 40 one-megabyte tokens`);
  await genuineStillWorks();
});

test('JWE tokens (five parts, or "enc" in a three-part header) are refused', async () => {
  const { header, s } = splitJwt(victim.tokens.access_token);
  const jweHeader = b64u({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: serverJwk.kid });
  await refused(`${jweHeader}.${b64u('k'.repeat(256))}.${b64u('iv-iv-iv-iv')}.${b64u('ciphertext')}.${b64u('tag')}`);
  await refused(`${jweHeader}....`);
  await refused(`${signingInput({ ...header, enc: 'A128GCM' }, forgedPayload())}.${s}`);
});

test('PBES2 tokens with a huge p2c are refused before any work', async () => {
  const pbes = { alg: 'PBES2-HS256+A128KW', enc: 'A128GCM', p2c: 2147483647, p2s: b64u('saltsaltsaltsalt'), kid: serverJwk.kid };
  const jwe = `${b64u(pbes)}.${b64u('wrapped-key-wrapped-key')}.${b64u('iv-iv-iv-iv')}.${b64u('ct')}.${b64u('tag-tag-tag-tag')}`;
  const { alg: _a, enc: _e, ...jwsHeader } = pbes;
  const jws = `${signingInput({ ...jwsHeader, alg: 'PBES2-HS256+A128KW' }, forgedPayload())}.${b64u('sig')}`;
  const started = Date.now();
  for (let i = 0; i < 10; i++) {
    assertProblem(await check(api, jwe), 401, 'invalid_token');
    assertProblem(await check(api, jws), 401, 'invalid_token');
  }
  // 2^31 PBKDF2 rounds take minutes; twenty refusals must take well under a second each.
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 5000, `20 PBES2 tokens took ${elapsed} ms`);
  await refused(jwe);
  await refused(jws);
});

test('alg values the key does not have (HS512, PS256, ES256, EdDSA) are refused', async () => {
  const { header } = splitJwt(victim.tokens.access_token);
  for (const alg of ['HS512', 'PS256', 'ES256', 'EdDSA', 'RS512', 'rs256']) {
    const input = signingInput({ ...header, alg }, forgedPayload());
    await refused(`${input}.${signWith('RS256', input, attacker.privateKey)}`);
  }
});

test('a bearer credential that is not a JWT (garbage, empty, binary) is refused', async () => {
  for (const token of ['x', 'Bearer', '....', '%00', 'eyJ', 'a.b.c']) {
    await refused(token);
  }
  // No token at all on a bearer route: 401 unauthenticated with a Bearer challenge.
  const res = await api.get('/api/me', { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
  assertProblem(res, 401, 'unauthenticated');
  assert.equal(res.headers.get('www-authenticate'), 'Bearer', show(res));
});

test('a valid access token in the URL, a cookie or a non-Bearer scheme is not accepted', async () => {
  const token = victim.tokens.access_token;
  for (const q of [`access_token=${token}`, `token=${token}`, `jwt=${token}`]) {
    assertProblem(await api.get(`/api/me?${q}`), 401, 'unauthenticated');
    assertProblem(await api.get(`/api/auth/check?${q}`), 401, 'unauthenticated');
  }
  assertProblem(await api.get('/api/me', { headers: { cookie: `access_token=${token}; __Host-latchkey_access=${token}` } }), 401, 'unauthenticated');
  for (const scheme of ['Token', 'JWT', 'Basic', 'Bearer:', 'Bearertoken']) {
    assertProblem(await api.get('/api/me', { headers: { authorization: `${scheme} ${token}` } }), 401, 'unauthenticated');
  }
  await genuineStillWorks();
});

// --- foreign audience and issuer: a genuine signature from a server that shares our keys ------

test('a token signed with our key for another audience or issuer is refused', async () => {
  // Two more servers on the same database and master key (so the same signing key): one names
  // another issuer (its own URL), the other the same issuer but another audience.
  const shared = { databaseUrl: srv.env.LATCHKEY_DATABASE_URL, masterKey: srv.env.LATCHKEY_KEYS_MASTER_KEY };
  const foreignIss = await startServer(shared);
  const foreignAud = await startServer({ ...shared, env: { LATCHKEY_TOKENS_ISSUER: srv.url, LATCHKEY_TOKENS_AUDIENCE: 'billing-api' } });
  try {
    for (const peer of [foreignIss, foreignAud]) {
      const res = await client(peer.url).post('/api/auth/login', { email: victim.email, password: victim.password });
      assertStatus(res, 200);
      const token = res.body.access_token;
      const { header, payload } = splitJwt(token);
      assert.equal(header.kid, serverJwk.kid, 'the peer signs with the shared key');
      assert.ok(payload.iss !== srv.url || payload.aud !== 'latchkey', 'the peer token is foreign');
      assertStatus(await check(client(peer.url), token), 200); // valid where it belongs
      await refused(token);
    }
  } finally {
    await foreignIss.stop();
    await foreignAud.stop();
  }
});

// --- ES256: psychic signatures ------------------------------------------------------------------

test('ES256: r = s = 0 and r = s = n ("psychic signatures") and HS256 with the EC key are refused', async () => {
  const es = await startServer({ sqlite: true, env: { LATCHKEY_KEYS_ALGORITHM: 'ES256' } });
  try {
    const esApi = client(es.url);
    const user = await newUser(esApi);
    const { header, h, p } = splitJwt(user.tokens.access_token);
    assert.equal(header.alg, 'ES256');
    const n = Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex');
    const forged = b64u({ ...splitJwt(user.tokens.access_token).payload, roles: ['admin'] });
    const sigs = [
      Buffer.alloc(64), // r = s = 0, IEEE P1363
      Buffer.concat([n, n]), // r = s = n
      Buffer.from('3006020100020100', 'hex'), // r = s = 0, DER
      Buffer.alloc(0),
    ];
    for (const sig of sigs) {
      for (const payload of [p, forged]) {
        const token = `${h}.${payload}.${sig.toString('base64url')}`;
        assertProblem(await check(esApi, token), 401, 'invalid_token');
        assertProblem(await esApi.get('/api/me', { token }), 401, 'invalid_token');
      }
    }
    const key = (await esApi.get('/.well-known/jwks.json')).body.keys.find((k) => k.kid === header.kid);
    const pem = createPublicKey({ key, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const input = signingInput({ ...header, alg: 'HS256' }, splitJwt(user.tokens.access_token).payload);
    assertProblem(await check(esApi, `${input}.${hs256(input, pem)}`), 401, 'invalid_token');
    assertStatus(await check(esApi, user.tokens.access_token), 200);
  } finally {
    await es.stop();
  }
});
