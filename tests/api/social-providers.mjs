// Fake social login providers on HTTPS loopback for the black-box tests: a generic OpenID
// Connect provider whose id_tokens can be made wrong on purpose, and GitHub, Kakao and Naver
// with their documented response shapes. The real OpenID Connect provider of the end-to-end
// tests is `oidc-provider` (see social.test.mjs); this one exists for the negative cases.
//
//   const fake = await startFakeProviders();        // https://127.0.0.1:<port>, fake.caFile
//   fake.users.github = { id: 42, login: 'octo', email: 'o@example.com', verified: true };
//   fake.scenario = 'wrong_nonce';                  // the next token answer (then back to 'ok')
//   await fake.stop();
//
// Endpoints (all under fake.url):
//   /oidc/.well-known/openid-configuration, /oidc/authorize, /oidc/token, /oidc/jwks,
//   /oidc/userinfo                          issuer fake.url + '/oidc'
//   /github/login/oauth/authorize, /github/login/oauth/access_token, /github/user,
//   /github/user/emails                     https://docs.github.com/en/rest/users
//   /kakao/oauth/authorize, /kakao/oauth/token, /kakao/v2/user/me
//                                           https://developers.kakao.com/docs/latest/en/kakaologin/rest-api
//   /naver/oauth2.0/authorize, /naver/oauth2.0/token, /naver/v1/nid/me
//                                           https://developers.naver.com/docs/login/api/api.md
//
// Every authorize request redirects straight back (the user "consents"), or with
// error=access_denied when fake.scenario is 'cancel'. The token endpoints check the code, the
// PKCE verifier (S256), the redirect_uri and the client secret, like the real ones.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { makeCertificate } from './mail-sink.mjs';

export const CLIENT_ID = 'latchkey-test';
export const CLIENT_SECRET = 'shh-test-secret';

function b64url(buf) {
  return Buffer.from(buf).toString('base64url');
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString();
}

function send(res, status, body, headers = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

export async function startFakeProviders() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'latchkey-social-'));
  const cert = await makeCertificate(dir);
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const other = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'fake-1', use: 'sig' };  // no alg: inferred

  const codes = new Map();   // code -> {redirect_uri, nonce, challenge, provider, state}
  const tokens = new Map();  // access token -> provider
  const fake = {
    url: '',
    caFile: cert.certFile,
    tls: { key: cert.key, cert: cert.cert },  // for other test servers on 127.0.0.1
    scenario: 'ok',
    requests: [],
    users: {
      oidc: { sub: 'oidc-user-1', email: 'oidc@example.com', email_verified: true, name: 'Oidc User' },
      github: { id: 583231, login: 'octocat', name: 'The Octocat', email: 'octocat@example.com', verified: true },
      kakao: { id: 123456789, email: 'kakao@example.com', valid: true, verified: true, nickname: '홍길동' },
      naver: { id: '32742776', email: 'naver@example.com', name: '오픈 API' },
    },
  };

  const issuer = () => `${fake.url}/oidc`;

  async function idToken(nonce) {
    const now = Math.floor(Date.now() / 1000);
    const u = fake.users.oidc;
    let claims = { sub: u.sub, nonce, email: u.email, email_verified: u.email_verified, name: u.name };
    let key = privateKey;
    let iat = now;
    let exp = now + 300;
    let aud = CLIENT_ID;
    if (fake.scenario === 'wrong_nonce') claims = { ...claims, nonce: 'not-the-nonce' };
    if (fake.scenario === 'other_key') key = other.privateKey;
    if (fake.scenario === 'expired') {
      iat = now - 3600;
      exp = now - 600;
    }
    if (fake.scenario === 'wrong_aud') aud = 'someone-else';
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'fake-1', typ: 'JWT' })
      .setIssuer(issuer())
      .setAudience(aud)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(key);
  }

  function authorize(provider, url, res) {
    const q = url.searchParams;
    const redirect = new URL(q.get('redirect_uri'));
    redirect.searchParams.set('state', q.get('state'));
    if (fake.scenario === 'cancel') {
      fake.scenario = 'ok';
      redirect.searchParams.set('error', 'access_denied');
    } else {
      const code = b64url(randomBytes(16));
      codes.set(code, {
        provider,
        redirect_uri: q.get('redirect_uri'),
        nonce: q.get('nonce'),
        challenge: q.get('code_challenge'),
        method: q.get('code_challenge_method'),
        client_id: q.get('client_id'),
        state: q.get('state'),
      });
      redirect.searchParams.set('code', code);
    }
    res.writeHead(302, { location: redirect.toString() });
    res.end();
  }

  async function token(provider, req, res) {
    const form = new URLSearchParams(await readBody(req));
    const grant = codes.get(form.get('code'));
    codes.delete(form.get('code'));
    const scenario = fake.scenario;
    fake.scenario = 'ok';
    const verifierOk =
      grant &&
      grant.method === 'S256' &&
      b64url(createHash('sha256').update(form.get('code_verifier') ?? '').digest()) === grant.challenge;
    const bad =
      scenario === 'token_error' ||
      !grant ||
      grant.provider !== provider ||
      !verifierOk ||
      grant.redirect_uri !== form.get('redirect_uri') ||
      form.get('client_id') !== CLIENT_ID ||
      form.get('client_secret') !== CLIENT_SECRET ||
      (provider === 'naver' && form.get('state') !== grant.state);
    if (bad) {
      // GitHub reports errors with 200; the others with 400.
      return send(res, provider === 'github' ? 200 : 400, { error: 'invalid_grant' });
    }
    const access = b64url(randomBytes(16));
    tokens.set(access, provider);
    const body = { access_token: access, token_type: 'bearer', expires_in: 3600 };
    if (provider === 'oidc') {
      fake.scenario = scenario;  // idToken() reads it
      body.id_token = await idToken(grant.nonce);
      fake.scenario = 'ok';
    }
    send(res, 200, body);
  }

  function bearer(req, provider) {
    const h = req.headers.authorization ?? '';
    const t = h.startsWith('Bearer ') ? h.slice(7) : '';
    return tokens.get(t) === provider;
  }

  const server = https.createServer({ key: cert.key, cert: cert.cert }, async (req, res) => {
    const url = new URL(req.url, fake.url);
    fake.requests.push(`${req.method} ${url.pathname}`);
    const p = url.pathname;
    try {
      if (p === '/oidc/.well-known/openid-configuration') {
        return send(res, 200, {
          issuer: issuer(),
          authorization_endpoint: `${issuer()}/authorize`,
          token_endpoint: `${issuer()}/token`,
          userinfo_endpoint: `${issuer()}/userinfo`,
          jwks_uri: `${issuer()}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
          code_challenge_methods_supported: ['S256'],
        });
      }
      if (p === '/oidc/jwks') return send(res, 200, { keys: [jwk] });
      if (['/oidc/authorize', '/github/login/oauth/authorize', '/kakao/oauth/authorize',
           '/naver/oauth2.0/authorize'].includes(p)) {
        return authorize(p.split('/')[1], url, res);
      }
      if (req.method === 'POST' && p === '/oidc/token') return token('oidc', req, res);
      if (req.method === 'POST' && p === '/github/login/oauth/access_token') return token('github', req, res);
      if (req.method === 'POST' && p === '/kakao/oauth/token') return token('kakao', req, res);
      if (req.method === 'POST' && p === '/naver/oauth2.0/token') return token('naver', req, res);
      if (p === '/oidc/userinfo') {
        if (!bearer(req, 'oidc')) return send(res, 401, { error: 'invalid_token' });
        const u = fake.users.oidc;
        return send(res, 200, { sub: u.sub, email: u.email, email_verified: u.email_verified, name: u.name });
      }
      if (p === '/github/user') {
        if (!bearer(req, 'github')) return send(res, 401, { message: 'Bad credentials' });
        const u = fake.users.github;
        return send(res, 200, { login: u.login, id: u.id, name: u.name, email: null, type: 'User' });
      }
      if (p === '/github/user/emails') {
        if (!bearer(req, 'github')) return send(res, 401, { message: 'Bad credentials' });
        const u = fake.users.github;
        return send(res, 200, [
          { email: `${u.login}@users.noreply.github.com`, verified: true, primary: false, visibility: null },
          { email: u.email, verified: u.verified, primary: true, visibility: 'public' },
        ]);
      }
      if (p === '/kakao/v2/user/me') {
        if (!bearer(req, 'kakao')) return send(res, 401, { msg: 'this access token does not exist', code: -401 });
        const u = fake.users.kakao;
        return send(res, 200, {
          id: u.id,
          connected_at: '2022-04-11T01:45:28Z',
          properties: { nickname: u.nickname },
          kakao_account: {
            profile_nickname_needs_agreement: false,
            profile: { nickname: u.nickname, is_default_nickname: false },
            has_email: true,
            email_needs_agreement: false,
            is_email_valid: u.valid,
            is_email_verified: u.verified,
            email: u.email,
          },
        });
      }
      if (p === '/naver/v1/nid/me') {
        if (!bearer(req, 'naver')) return send(res, 401, { resultcode: '024', message: 'Authentication failed' });
        const u = fake.users.naver;
        return send(res, 200, {
          resultcode: '00',
          message: 'success',
          response: { id: u.id, nickname: 'OpenAPI', email: u.email, name: u.name },
        });
      }
      send(res, 404, { error: 'not_found' });
    } catch (err) {
      send(res, 500, { error: String(err) });
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  fake.url = `https://127.0.0.1:${server.address().port}`;
  fake.stop = async () => {
    server.closeAllConnections?.();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  };
  return fake;
}
