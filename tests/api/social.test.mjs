// Social login (issue 5) end to end. A real OpenID Connect provider (npm `oidc-provider`) runs
// on HTTPS loopback with a test client and any-account login form; the generic `oidc` kind and
// the `google` kind (with issuer override) are driven through it: /start -> provider login form
// -> consent -> /callback, following redirects by hand with cookie jars on both sides. GitHub,
// Kakao and Naver run against social-providers.mjs, which answers with their documented shapes
// and can produce bad id_tokens for the negative cases. Each negative case asserts the exact
// redirect (or problem) and that no user or identity was written.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import {
  assertProblem,
  assertStatus,
  client,
  decodeJwt,
  describe,
  freePort,
  login,
  parseSetCookies,
  randomEmail,
  randomHex,
  runCli,
  signup,
  startServer,
  strongPassword,
} from './harness.mjs';
import { CLIENT_ID, CLIENT_SECRET, startFakeProviders } from './social-providers.mjs';
import { Authenticator } from './totp.mjs';

const APP = 'https://app.example.com/';
const RETURN = 'https://app.example.com/welcome?from=social';
const BINDING = '__Secure-latchkey_social';
const REFRESH = '__Host-latchkey_refresh';
const CSRF = '__Host-latchkey_csrf';

let fake;
let op;
let opServer;
let opUrl;
let srv;
let api;
const accounts = new Map();  // oidc-provider account id -> claims

before(async () => {
  fake = await startFakeProviders();
  const opPort = await freePort();
  opUrl = `https://127.0.0.1:${opPort}`;
  const provider = (id, fields) =>
    Object.fromEntries(Object.entries(fields).map(([k, v]) => [`LATCHKEY_SOCIAL_${id}_${k}`, v]));
  srv = await startServer({
    cookieSecure: true,
    env: {
      LATCHKEY_SOCIAL_CA_FILE: fake.caFile,
      LATCHKEY_SOCIAL_ALLOWED_RETURN_TO: APP,
      ...provider('CORP', { KIND: 'oidc', NAME: 'Corp SSO', ISSUER: opUrl, CLIENT_ID: 'corp-client', CLIENT_SECRET: 'corp-secret' }),
      ...provider('GOOGLE', { KIND: 'google', ISSUER: opUrl, CLIENT_ID: 'google-client', CLIENT_SECRET: 'google-secret' }),
      ...provider('FAKEOIDC', { KIND: 'oidc', ISSUER: `${fake.url}/oidc`, CLIENT_ID, CLIENT_SECRET }),
      ...provider('GITHUB', {
        KIND: 'github', CLIENT_ID, CLIENT_SECRET,
        AUTHORIZE_URL: `${fake.url}/github/login/oauth/authorize`,
        TOKEN_URL: `${fake.url}/github/login/oauth/access_token`,
        USERINFO_URL: `${fake.url}/github/user`,
      }),
      ...provider('KAKAO', {
        KIND: 'kakao', CLIENT_ID, CLIENT_SECRET,
        AUTHORIZE_URL: `${fake.url}/kakao/oauth/authorize`,
        TOKEN_URL: `${fake.url}/kakao/oauth/token`,
        USERINFO_URL: `${fake.url}/kakao/v2/user/me`,
      }),
      // Nothing listens on port 1: discovery fails.
      ...provider('DOWN', { KIND: 'oidc', ISSUER: 'https://127.0.0.1:1', CLIENT_ID, CLIENT_SECRET }),
      ...provider('NAVER', {
        KIND: 'naver', CLIENT_ID, CLIENT_SECRET,
        AUTHORIZE_URL: `${fake.url}/naver/oauth2.0/authorize`,
        TOKEN_URL: `${fake.url}/naver/oauth2.0/token`,
        USERINFO_URL: `${fake.url}/naver/v1/nid/me`,
      }),
    },
  });
  api = client(srv.url);

  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signing = { ...(await exportJWK(privateKey)), kid: 'op-1', alg: 'RS256', use: 'sig' };
  op = new Provider(opUrl, {
    clients: [
      {
        client_id: 'corp-client',
        client_secret: 'corp-secret',
        redirect_uris: [`${srv.url}/api/auth/social/corp/callback`],
        token_endpoint_auth_method: 'client_secret_post',
      },
      {
        client_id: 'google-client',
        client_secret: 'google-secret',
        redirect_uris: [`${srv.url}/api/auth/social/google/callback`],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    jwks: { keys: [signing] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    cookies: { keys: [randomHex(16)] },
    async findAccount(ctx, id) {
      const claims = accounts.get(id) ?? { email: `${id}@example.com`, email_verified: true, name: id };
      return { accountId: id, claims: async () => ({ sub: id, ...claims }) };
    },
  });
  opServer = https.createServer(fake.tls, op.callback());
  await new Promise((resolve) => opServer.listen(opPort, '127.0.0.1', resolve));
});

after(async () => {
  await srv?.stop();
  opServer?.closeAllConnections?.();
  await new Promise((resolve) => (opServer ? opServer.close(resolve) : resolve()));
  await fake?.stop();
});

// --- helpers -------------------------------------------------------------------------------------

/** One HTTPS request to a provider (trusting the test CA), with a cookie jar (name -> value). */
function providerRequest(url, { method = 'GET', form, jar = {} } = {}) {
  return new Promise((resolve, reject) => {
    const body = form ? new URLSearchParams(form).toString() : undefined;
    const headers = {};
    const cookie = Object.entries(jar).map(([k, v]) => `${k}=${v}`).join('; ');
    if (cookie) headers.cookie = cookie;
    if (body) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const req = https.request(url, { method, headers, ca: fake.tls.cert }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        for (const [name, c] of Object.entries(parseSetCookies(res.headers['set-cookie'] ?? []))) {
          if (c.attrs['max-age'] === '0' || c.attrs.expires?.includes('1970')) delete jar[name];
          else jar[name] = c.value;
        }
        resolve({ status: res.statusCode, location: res.headers.location, text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** GET /start; returns the provider URL and the binding cookie. */
async function start(id, returnTo = RETURN) {
  const res = await api.get(`/api/auth/social/${id}/start?return_to=${encodeURIComponent(returnTo)}`);
  assertStatus(res, 302);
  const cookies = parseSetCookies(res.setCookies);
  const binding = cookies[BINDING];
  assert.ok(binding, `binding cookie${describe(res)}`);
  assert.equal(binding.attrs.httponly, true);
  assert.equal(binding.attrs.samesite, 'Lax');
  assert.equal(binding.attrs.path, '/api/auth/social');
  assert.equal(binding.attrs.secure, true);
  return { authorize: new URL(res.headers.get('location')), binding: binding.value };
}

/** Lets the fake provider answer the authorize request; returns the callback path+query. */
async function consentAtFake(authorize) {
  const res = await providerRequest(authorize.toString());
  assert.equal(res.status, 302, res.text);
  const cb = new URL(res.location);
  return cb.pathname + cb.search;
}

/** Walks oidc-provider's login form and consent page as `account`; returns the callback path. */
async function consentAtOp(authorize, account) {
  const jar = {};
  let res = await providerRequest(authorize.toString(), { jar });
  for (let i = 0; i < 10; i += 1) {
    assert.ok([302, 303].includes(res.status), `oidc-provider answered ${res.status}: ${res.text.slice(0, 500)}`);
    const next = new URL(res.location, opUrl);
    if (next.origin !== opUrl) return next.pathname + next.search;  // back to latchkey
    res = await providerRequest(next.toString(), { jar });
    if (res.status === 200) {
      // A login form or a consent page: post its form as the browser would.
      const action = /<form[^>]*action="([^"]+)"/.exec(res.text)?.[1];
      assert.ok(action, `a form on ${next}: ${res.text.slice(0, 300)}`);
      const prompt = /name="prompt" value="([^"]+)"/.exec(res.text)?.[1];
      const form = prompt === 'login' ? { prompt, login: account, password: 'any' } : { prompt };
      res = await providerRequest(new URL(action.replaceAll('&amp;', '&'), opUrl).toString(), { method: 'POST', form, jar });
    }
  }
  assert.fail('oidc-provider did not redirect back');
}

async function callback(path, binding) {
  return api.get(path, binding === undefined ? {} : { cookies: { [BINDING]: binding } });
}

/** After a successful callback: refresh with the cookies, then read /api/me. */
async function signedIn(res) {
  assertStatus(res, 302);
  assert.equal(res.headers.get('location'), RETURN, describe(res));
  const cookies = parseSetCookies(res.setCookies);
  assert.ok(cookies[REFRESH]?.value, `refresh cookie${describe(res)}`);
  assert.equal(cookies[BINDING]?.attrs['max-age'], '0', 'the binding cookie is cleared');
  const jar = { [REFRESH]: cookies[REFRESH].value, [CSRF]: cookies[CSRF].value };
  const refreshed = await api.post('/api/auth/refresh', { mode: 'cookie' }, {
    cookies: jar,
    headers: { 'x-csrf-token': jar[CSRF] },
  });
  assertStatus(refreshed, 200);
  const token = refreshed.body.access_token;
  assert.deepEqual(decodeJwt(token).payload.amr, ['fed']);
  const me = await api.get('/api/me', { token });
  assertStatus(me, 200);
  return { token, me: me.body };
}

function assertFailure(res, code, page = '/login') {
  assertStatus(res, 302);
  assert.equal(res.headers.get('location'), `${srv.url}${page}?error=${code}`, describe(res));
  assert.ok(!parseSetCookies(res.setCookies)[REFRESH], `no session cookie${describe(res)}`);
}

async function userCount() {
  const out = await runCli(['user', 'list', '--limit', '100000'], { env: srv.env, cwd: srv.dir });
  assert.equal(out.code, 0, out.stderr);
  return out.stdout.split('\n').filter((l) => l.trim()).length;
}

async function createVerifiedUser(email) {
  const password = strongPassword();
  const out = await runCli(['user', 'create', '--email', email, '--password-stdin'], {
    env: srv.env,
    cwd: srv.dir,
    stdin: `${password}\n`,
  });
  assert.equal(out.code, 0, out.stderr);
  return { email, password, tokens: await login(api, email, password) };
}

async function identities(token) {
  const res = await api.get('/api/me/identities', { token });
  assertStatus(res, 200);
  return res.body.identities;
}

// --- tests ---------------------------------------------------------------------------------------

test('GET /api/auth/providers lists the configured providers', async () => {
  const res = await api.get('/api/auth/providers');
  assertStatus(res, 200);
  const byId = Object.fromEntries(res.body.providers.map((p) => [p.id, p]));
  assert.deepEqual(byId.google, { id: 'google', kind: 'google', name: 'Google' });
  assert.deepEqual(byId.corp, { id: 'corp', kind: 'oidc', name: 'Corp SSO' });
  assert.deepEqual(byId.github, { id: 'github', kind: 'github', name: 'GitHub' });
  assert.equal(byId.kakao.name, 'Kakao');
  assert.equal(byId.naver.name, 'Naver');
});

for (const id of ['corp', 'google']) {
  test(`${id}: full OpenID Connect flow through oidc-provider's login and consent`, async () => {
    const account = `op-${randomHex(6)}`;
    const email = randomEmail('op');
    accounts.set(account, { email, email_verified: true, name: 'Op User' });
    const { authorize, binding } = await start(id);
    assert.equal(authorize.origin, opUrl);
    assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(authorize.searchParams.get('nonce'));
    assert.ok(authorize.searchParams.get('state'));
    const before = await userCount();
    const { me, token } = await signedIn(await callback(await consentAtOp(authorize, account), binding));
    assert.equal(me.email, email);
    assert.equal(me.email_verified, true);
    assert.equal(await userCount(), before + 1);
    const linked = await identities(token);
    assert.equal(linked.length, 1);
    assert.equal(linked[0].provider, id);
    assert.equal(linked[0].provider_name, id === 'corp' ? 'Corp SSO' : 'Google');
    // A second login finds the same account.
    const again = await start(id);
    const second = await signedIn(await callback(await consentAtOp(again.authorize, account), again.binding));
    assert.equal(second.me.id, me.id);
    assert.equal(await userCount(), before + 1);
  });
}

test('GitHub: the primary verified address from /user/emails', async () => {
  fake.users.github = { id: 1000 + Math.floor(Math.random() * 1e6), login: 'octo', name: 'Octo', email: randomEmail('gh'), verified: true };
  const { authorize, binding } = await start('github');
  assert.equal(authorize.searchParams.get('nonce'), null);
  const { me, token } = await signedIn(await callback(await consentAtFake(authorize), binding));
  assert.equal(me.email, fake.users.github.email);
  assert.equal(me.email_verified, true);
  // The account has no password: password login and password change refuse, without a 500.
  assertProblem(await api.post('/api/auth/login', { email: me.email, password: strongPassword() }), 401, 'invalid_credentials');
  assertProblem(
    await api.post('/api/me/password', { current: strongPassword(), new: strongPassword() }, { token }),
    401,
    'invalid_credentials',
  );
});

test('Kakao: /v2/user/me with a valid, verified address', async () => {
  fake.users.kakao = { id: Math.floor(Math.random() * 1e9), email: randomEmail('kakao'), valid: true, verified: true, nickname: '홍길동' };
  const { authorize, binding } = await start('kakao');
  assert.equal(authorize.searchParams.get('scope'), 'account_email,profile_nickname');
  const { me } = await signedIn(await callback(await consentAtFake(authorize), binding));
  assert.equal(me.email, fake.users.kakao.email);
  assert.equal(me.name, '홍길동');
});

test('Naver: never a verified address, so the account gets a placeholder', async () => {
  fake.users.naver = { id: randomHex(8), email: randomEmail('naver'), name: '오픈 API' };
  const { authorize, binding } = await start('naver');
  const { me, token } = await signedIn(await callback(await consentAtFake(authorize), binding));
  assert.match(me.email, /@social\.invalid$/);
  assert.equal(me.email_verified, false);
  assert.equal((await identities(token))[0].email, fake.users.naver.email);
});

test('state: missing, replayed, from another browser, or of another provider', async () => {
  fake.users.github = { id: 77000 + Math.floor(Math.random() * 1e6), login: 's', name: 'S', email: randomEmail('state'), verified: true };
  const before = await userCount();
  const first = await start('github');
  const path = await consentAtFake(first.authorize);
  // No state at all.
  assertFailure(await callback(path.replace(/state=[^&]*&?/, ''), first.binding), 'social_state_invalid');
  // Another browser (no cookie, or another start's cookie).
  assertFailure(await callback(path), 'social_state_invalid');
  const other = await start('github');
  assertFailure(await callback(path, other.binding), 'social_state_invalid');
  // The state of a github attempt at the kakao callback.
  assertFailure(await callback(path.replace('/github/', '/kakao/'), first.binding), 'social_state_invalid');
  assert.equal(await userCount(), before);
  // The real one works once; the replay fails.
  await signedIn(await callback(path, first.binding));
  assertFailure(await callback(path, first.binding), 'social_state_invalid');
  assert.equal(await userCount(), before + 1);
});

for (const [scenario, code] of [
  ['wrong_nonce', 'social_token_invalid'],
  ['other_key', 'social_token_invalid'],
  ['expired', 'social_token_invalid'],
  ['wrong_aud', 'social_token_invalid'],
  ['token_error', 'social_provider_error'],
  ['cancel', 'social_cancelled'],
]) {
  test(`oidc ${scenario} -> ${code}, nothing written`, async () => {
    fake.users.oidc = { sub: `sub-${randomHex(6)}`, email: randomEmail('neg'), email_verified: true, name: 'N' };
    const before = await userCount();
    const { authorize, binding } = await start('fakeoidc');
    fake.scenario = scenario;
    assertFailure(await callback(await consentAtFake(authorize), binding), code);
    fake.scenario = 'ok';
    assert.equal(await userCount(), before);
  });
}

test('return_to on another host is 400 invalid_return_to; an unknown provider is 404', async () => {
  for (const bad of ['https://app.example.com.evil.com/', 'https://evil.com/', 'https://app.example.com@evil.com/', `${srv.url}/`]) {
    const res = await api.get(`/api/auth/social/github/start?return_to=${encodeURIComponent(bad)}`);
    assertProblem(res, 400, 'invalid_return_to');
    assert.equal(res.setCookies.length, 0);
  }
  assertProblem(await api.get(`/api/auth/social/myspace/start?return_to=${encodeURIComponent(RETURN)}`), 404, 'not_found');
});

test('linking: from settings, then refused for an identity linked to another user', async () => {
  const alice = await (async () => {
    const { email, password } = await signup(api);
    return { email, tokens: await login(api, email, password) };
  })();
  const bob = await (async () => {
    const { email, password } = await signup(api);
    return { email, tokens: await login(api, email, password) };
  })();
  fake.users.github = { id: 900000 + Math.floor(Math.random() * 1e6), login: 'l', name: 'L', email: randomEmail('link'), verified: false };
  const linkFor = async (user) => {
    const res = await api.post('/api/me/identities/github/link', { return_to: RETURN }, { token: user.tokens.access_token });
    assertStatus(res, 200);
    const binding = parseSetCookies(res.setCookies)[BINDING].value;
    return callback(await consentAtFake(new URL(res.body.redirect_url)), binding);
  };
  const linked = await linkFor(alice);
  assertStatus(linked, 302);
  assert.equal(linked.headers.get('location'), RETURN);
  assert.equal((await identities(alice.tokens.access_token)).length, 1);
  const before = await userCount();
  assertFailure(await linkFor(bob), 'identity_already_linked', '/profile');
  assert.deepEqual(await identities(bob.tokens.access_token), []);
  assert.equal(await userCount(), before);
  // The linked identity signs Alice in (her password account stays hers).
  const { authorize, binding } = await start('github');
  const { me } = await signedIn(await callback(await consentAtFake(authorize), binding));
  assert.equal(me.email, alice.email);
});

test('no auto-link without verified addresses on both sides; auto-link when both are', async () => {
  // Local account verified, provider address unverified (Kakao is_email_verified false).
  const verified = await createVerifiedUser(randomEmail('auto'));
  fake.users.kakao = { id: Math.floor(Math.random() * 1e9), email: verified.email, valid: true, verified: false, nickname: 'k' };
  let before = await userCount();
  let s = await start('kakao');
  assertFailure(await callback(await consentAtFake(s.authorize), s.binding), 'social_link_required');
  assert.equal(await userCount(), before);
  assert.deepEqual(await identities(verified.tokens.access_token), []);
  // Local account unverified (plain sign-up), provider verified.
  const { email } = await signup(api);
  fake.users.kakao = { id: Math.floor(Math.random() * 1e9), email, valid: true, verified: true, nickname: 'k' };
  before = await userCount();
  s = await start('kakao');
  assertFailure(await callback(await consentAtFake(s.authorize), s.binding), 'social_link_required');
  assert.equal(await userCount(), before);
  // Both verified: the identity joins the existing account.
  fake.users.kakao = { id: Math.floor(Math.random() * 1e9), email: verified.email, valid: true, verified: true, nickname: 'k' };
  s = await start('kakao');
  const { me } = await signedIn(await callback(await consentAtFake(s.authorize), s.binding));
  assert.equal(me.email, verified.email);
  assert.equal(await userCount(), before);
  assert.equal((await identities(verified.tokens.access_token)).length, 1);
});

test('unlinking: never the last way to log in, never another user\'s identity', async () => {
  fake.users.github = { id: 5000000 + Math.floor(Math.random() * 1e6), login: 'u', name: 'U', email: randomEmail('unlink'), verified: true };
  const s = await start('github');
  const { token } = await signedIn(await callback(await consentAtFake(s.authorize), s.binding));
  const [only] = await identities(token);
  assertProblem(await api.delete(`/api/me/identities/${only.id}`, undefined, { token }), 409, 'last_login_method');
  const other = await (async () => {
    const { email, password } = await signup(api);
    return login(api, email, password);
  })();
  assertProblem(await api.delete(`/api/me/identities/${only.id}`, undefined, { token: other.access_token }), 404, 'not_found');
  // A second identity makes the first removable.
  fake.users.naver = { id: randomHex(8), email: randomEmail('n2'), name: 'N' };
  const link = await api.post('/api/me/identities/naver/link', { return_to: RETURN }, { token });
  assertStatus(link, 200);
  const binding = parseSetCookies(link.setCookies)[BINDING].value;
  assertStatus(await callback(await consentAtFake(new URL(link.body.redirect_url)), binding), 302);
  assert.equal((await identities(token)).length, 2);
  assertStatus(await api.delete(`/api/me/identities/${only.id}`, undefined, { token }), 204);
  assert.deepEqual((await identities(token)).map((i) => i.provider), ['naver']);
});

test('a provider that cannot be reached: /start goes back to the login page', async () => {
  const res = await api.get(`/api/auth/social/down/start?return_to=${encodeURIComponent(RETURN)}`);
  assertFailure(res, 'social_provider_error');
  assert.ok(!parseSetCookies(res.setCookies)[BINDING], 'no binding cookie');
});

test('a second factor is not skipped: the callback hands over an mfa_token instead of cookies', async () => {
  fake.users.github = { id: 7000000 + Math.floor(Math.random() * 1e6), login: 'm', name: 'M', email: randomEmail('mfa'), verified: true };
  let s = await start('github');
  const { token, me } = await signedIn(await callback(await consentAtFake(s.authorize), s.binding));
  const enrol = await api.post('/api/me/mfa/totp', undefined, { token });
  assertStatus(enrol, 200);
  const auth = new Authenticator(enrol.body.secret);
  assertStatus(await api.post('/api/me/mfa/totp/confirm', { code: await auth.next() }, { token }), 200);
  s = await start('github');
  const res = await callback(await consentAtFake(s.authorize), s.binding);
  assertStatus(res, 302);
  const location = new URL(res.headers.get('location'));
  assert.equal(`${location.origin}${location.pathname}`, `${srv.url}/login`, describe(res));
  assert.equal(location.search, '');
  const fragment = new URLSearchParams(location.hash.slice(1));
  assert.ok(fragment.get('mfa_token'), describe(res));
  assert.ok(fragment.get('methods').split(',').includes('totp'));
  const lifetime = Number(fragment.get('expires_in'));
  assert.ok(lifetime > 0 && lifetime <= 3600, `expires_in in the fragment${describe(res)}`);
  assert.ok(!parseSetCookies(res.setCookies)[REFRESH], `no session before the second factor${describe(res)}`);
  const done = await api.post('/api/auth/mfa/verify', {
    mfa_token: fragment.get('mfa_token'),
    method: 'totp',
    code: await auth.next(),
  });
  assertStatus(done, 200);
  const claims = decodeJwt(done.body.access_token).payload;
  assert.equal(claims.sub, me.id);
  assert.ok(claims.amr.includes('fed') && claims.amr.includes('mfa'), JSON.stringify(claims.amr));
});
