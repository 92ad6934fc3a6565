// Interop: an independent JOSE implementation (`jose`) verifies Latchkey's access tokens against
// the published JWKS, for every supported signing algorithm.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { startServer, client, assertStatus, newUser, describe } from './harness.mjs';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];

const expectedKey = {
  RS256: { kty: 'RSA' },
  ES256: { kty: 'EC', crv: 'P-256' },
  EdDSA: { kty: 'OKP', crv: 'Ed25519' },
};

for (const alg of ['RS256', 'ES256', 'EdDSA']) {
  test(`jose verifies ${alg} access tokens through the published JWKS`, async () => {
    // A private database: each algorithm needs its own key ring.
    const server = await startServer({ sqlite: true, env: { LATCHKEY_KEYS_ALGORITHM: alg } });
    try {
      const api = client(server.url);
      const started = Math.floor(Date.now() / 1000);
      const { email, tokens } = await newUser(api);
      const me = (await api.get('/api/me', { token: tokens.access_token })).body;

      // Discovery.
      const conf = await api.get('/.well-known/openid-configuration');
      assertStatus(conf, 200);
      const { issuer, jwks_uri } = conf.body;
      assert.equal(typeof issuer, 'string');
      assert.equal(issuer, server.url, 'the issuer is the public URL');
      assert.equal(jwks_uri, `${issuer}/.well-known/jwks.json`);
      if (conf.body.id_token_signing_alg_values_supported) {
        assert.ok(conf.body.id_token_signing_alg_values_supported.includes(alg), describe(conf));
      }

      // The JWKS holds public keys only, each with kid, use and alg.
      const set = await api.get('/.well-known/jwks.json');
      assertStatus(set, 200);
      assert.match(set.headers.get('content-type') ?? '', /^application\/(jwk-set\+)?json/);
      assert.ok(Array.isArray(set.body.keys) && set.body.keys.length >= 1, describe(set));
      for (const k of set.body.keys) {
        assert.equal(typeof k.kid, 'string');
        assert.equal(k.use, 'sig');
        assert.equal(k.alg, alg);
        for (const [member, value] of Object.entries(expectedKey[alg])) assert.equal(k[member], value);
        for (const secret of PRIVATE_MEMBERS) assert.equal(k[secret], undefined, `JWKS key has no "${secret}"`);
      }

      const keySet = jose.createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`));
      const { payload, protectedHeader } = await jose.jwtVerify(tokens.access_token, keySet, {
        issuer,
        audience: 'latchkey',
        typ: 'at+jwt',
      });
      assert.equal(protectedHeader.alg, alg);
      assert.ok(set.body.keys.some((k) => k.kid === protectedHeader.kid), 'the header kid is in JWKS');

      for (const claim of ['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti', 'sid', 'roles', 'amr', 'auth_time', 'email_verified']) {
        assert.ok(claim in payload, `claim ${claim} is present: ${JSON.stringify(payload)}`);
      }
      assert.equal(payload.iss, issuer);
      assert.equal(payload.sub, me.id);
      assert.ok(payload.aud === 'latchkey' || (Array.isArray(payload.aud) && payload.aud.includes('latchkey')));
      assert.deepEqual(payload.roles, ['user']);
      assert.deepEqual(payload.amr, ['pwd']);
      assert.equal(payload.email_verified, false);
      assert.equal(typeof payload.jti, 'string');
      assert.equal(typeof payload.sid, 'string');
      const now = Math.floor(Date.now() / 1000);
      for (const t of ['iat', 'nbf', 'auth_time']) {
        assert.ok(Number.isInteger(payload[t]), `${t} is a NumericDate`);
        assert.ok(payload[t] >= started - 5 && payload[t] <= now + 5, `${t} is now`);
      }
      assert.equal(payload.exp - payload.iat, tokens.expires_in);
      assert.ok(payload.exp - payload.iat >= 60 && payload.exp - payload.iat <= 86400);
      assert.ok(!('email' in payload) || payload.email === email);

      // After a refresh the new token verifies too, in the same session, with the first auth_time.
      const refreshed = await api.post('/api/auth/refresh', { refresh_token: tokens.refresh_token });
      assertStatus(refreshed, 200);
      const second = await jose.jwtVerify(refreshed.body.access_token, keySet, { issuer, audience: 'latchkey', typ: 'at+jwt' });
      assert.equal(second.payload.sid, payload.sid);
      assert.equal(second.payload.auth_time, payload.auth_time);
      assert.notEqual(second.payload.jti, payload.jti);

      // Negative controls: jose does check what we ask it to.
      await assert.rejects(
        jose.jwtVerify(tokens.access_token, keySet, { issuer, audience: 'someone-else', typ: 'at+jwt' }),
        (err) => err.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED',
      );
      await assert.rejects(
        jose.jwtVerify(tokens.access_token, keySet, { issuer: 'https://evil.example', audience: 'latchkey' }),
        (err) => err.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED',
      );
      const [h, , s] = tokens.access_token.split('.');
      const tampered = `${h}.${Buffer.from(JSON.stringify({ ...payload, roles: ['admin'] })).toString('base64url')}.${s}`;
      await assert.rejects(jose.jwtVerify(tampered, keySet, { issuer, audience: 'latchkey' }), (err) => err.code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    } finally {
      await server.stop();
    }
  });
}

test('a restarted server keeps its keys: old tokens still verify against the new JWKS', async () => {
  const first = await startServer({ sqlite: true });
  const { dir, env } = first;
  let tokens;
  let kid;
  try {
    const api = client(first.url);
    ({ tokens } = await newUser(api));
    kid = jose.decodeProtectedHeader(tokens.access_token).kid;
  } finally {
    await first.stop({ keepDir: true });
  }
  const second = await startServer({ dir, masterKey: env.LATCHKEY_KEYS_MASTER_KEY, databaseUrl: env.LATCHKEY_DATABASE_URL });
  try {
    const api = client(second.url);
    const set = await api.get('/.well-known/jwks.json');
    assert.ok(set.body.keys.some((k) => k.kid === kid), `the key ${kid} survives a restart${describe(set)}`);
    // The issuer follows the public URL, which moved with the port, so check the signature only.
    const keySet = jose.createLocalJWKSet(set.body);
    await jose.compactVerify(tokens.access_token, keySet);
    // And the session is still valid on the new process (shared database).
    assertStatus(await api.post('/api/auth/refresh', { refresh_token: tokens.refresh_token }), 200);
  } finally {
    await second.stop({ keepDir: true });
    const { rmSync } = await import('node:fs');
    rmSync(dir, { recursive: true, force: true });
  }
});
