// Browser ("cookie") mode: the refresh token travels in an HttpOnly SameSite=Strict cookie, a
// readable CSRF cookie must be echoed in X-CSRF-Token on refresh and logout. With
// security.cookie_secure=true the cookies are Secure and carry the __Host- prefix.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer,
  client,
  assertProblem,
  assertStatus,
  signup,
  describe,
  parseSetCookies,
} from './harness.mjs';

let plain; // cookie_secure=false
let secure; // cookie_secure=true (the default)

before(async () => {
  plain = await startServer({ cookieSecure: false });
  secure = await startServer({ cookieSecure: true });
});

after(async () => {
  await plain?.stop();
  await secure?.stop();
});

function names(isSecure) {
  return isSecure
    ? { refresh: '__Host-latchkey_refresh', csrf: '__Host-latchkey_csrf' }
    : { refresh: 'latchkey_refresh', csrf: 'latchkey_csrf' };
}

async function cookieLogin(api, isSecure, user) {
  const res = await api.post('/api/auth/login', { email: user.email, password: user.password, mode: 'cookie' });
  assertStatus(res, 200);
  const n = names(isSecure);
  const cookies = parseSetCookies(res.setCookies);
  assert.ok(cookies[n.refresh], `Set-Cookie ${n.refresh}${describe(res)}`);
  assert.ok(cookies[n.csrf], `Set-Cookie ${n.csrf}${describe(res)}`);
  return { res, cookies, jar: { [n.refresh]: cookies[n.refresh].value, [n.csrf]: cookies[n.csrf].value } };
}

function assertCookieShape(res, cookies, isSecure) {
  const n = names(isSecure);
  const r = cookies[n.refresh];
  const c = cookies[n.csrf];
  assert.ok(r.value.length >= 32, `refresh cookie has a token${describe(res)}`);
  assert.equal(r.attrs.httponly, true, `refresh cookie is HttpOnly: ${r.raw}`);
  assert.equal(r.attrs.path, '/', r.raw);
  assert.equal(String(r.attrs.samesite).toLowerCase(), 'strict', r.raw);
  assert.equal(r.attrs.domain, undefined, `no Domain attribute: ${r.raw}`);
  assert.ok(c.value.length >= 16, `csrf cookie has a token: ${c.raw}`);
  assert.equal(c.attrs.httponly, undefined, `csrf cookie is readable by the page: ${c.raw}`);
  assert.equal(c.attrs.path, '/', c.raw);
  assert.equal(String(c.attrs.samesite).toLowerCase(), 'strict', c.raw);
  assert.notEqual(c.value, r.value);
  if (isSecure) {
    assert.equal(r.attrs.secure, true, `Secure: ${r.raw}`);
    assert.equal(c.attrs.secure, true, `Secure: ${c.raw}`);
  } else {
    // Without Secure the cookie cannot carry the __Host- prefix.
    assert.ok(!Object.keys(cookies).some((k) => k.startsWith('__Host-')), describe(res));
  }
  // Neither the plain nor the prefixed name of the other mode is set.
  const otherNames = names(!isSecure);
  assert.equal(cookies[otherNames.refresh], undefined, describe(res));
}

for (const isSecure of [false, true]) {
  const label = isSecure ? 'cookie_secure=true' : 'cookie_secure=false';
  const srv = () => (isSecure ? secure : plain);

  test(`${label}: cookie login sets the refresh and CSRF cookies and no refresh_token in the body`, async () => {
    const api = client(srv().url);
    const user = await signup(api);
    const { res, cookies, jar } = await cookieLogin(api, isSecure, user);
    assert.equal(res.body.refresh_token, undefined, `no refresh_token in the body${describe(res)}`);
    assert.equal(res.body.token_type, 'Bearer');
    assert.equal(typeof res.body.access_token, 'string');
    assert.match(res.headers.get('cache-control') ?? '', /no-store/);
    assertCookieShape(res, cookies, isSecure);
    const me = await api.get('/api/me', { token: res.body.access_token });
    assertStatus(me, 200);
    // Every login gets fresh cookie values.
    const second = await cookieLogin(api, isSecure, user);
    const n = names(isSecure);
    assert.notEqual(second.jar[n.refresh], jar[n.refresh]);
    assert.notEqual(second.jar[n.csrf], jar[n.csrf]);
  });

  test(`${label}: refresh with the cookie needs the matching X-CSRF-Token`, async () => {
    const api = client(srv().url);
    const n = names(isSecure);
    const user = await signup(api);
    const { jar } = await cookieLogin(api, isSecure, user);
    const body = { mode: 'cookie' };
    // Missing, wrong, or present without the CSRF cookie: 403 and the cookie is not consumed.
    assertProblem(await api.post('/api/auth/refresh', body, { cookies: jar }), 403, 'csrf_failed');
    assertProblem(
      await api.post('/api/auth/refresh', body, { cookies: jar, headers: { 'x-csrf-token': `${jar[n.csrf]}x` } }),
      403,
      'csrf_failed',
    );
    assertProblem(
      await api.post('/api/auth/refresh', body, { cookies: jar, headers: { 'x-csrf-token': '' } }),
      403,
      'csrf_failed',
    );
    assertProblem(
      await api.post('/api/auth/refresh', body, {
        cookies: { [n.refresh]: jar[n.refresh] },
        headers: { 'x-csrf-token': jar[n.csrf] },
      }),
      403,
      'csrf_failed',
    );
    // A CSRF token from another login does not match either.
    const otherLogin = await cookieLogin(api, isSecure, user);
    assertProblem(
      await api.post('/api/auth/refresh', body, { cookies: jar, headers: { 'x-csrf-token': otherLogin.jar[n.csrf] } }),
      403,
      'csrf_failed',
    );

    const ok = await api.post('/api/auth/refresh', body, { cookies: jar, headers: { 'x-csrf-token': jar[n.csrf] } });
    assertStatus(ok, 200);
    assert.equal(ok.body.refresh_token, undefined, describe(ok));
    assert.equal(typeof ok.body.access_token, 'string');
    const cookies = parseSetCookies(ok.setCookies);
    assert.ok(cookies[n.refresh], `a new refresh cookie${describe(ok)}`);
    assert.notEqual(cookies[n.refresh].value, jar[n.refresh]);
    assertCookieShape(ok, cookies, isSecure);
    assertStatus(await api.get('/api/me', { token: ok.body.access_token }), 200);

    // The rotated cookie works in turn.
    const next = { [n.refresh]: cookies[n.refresh].value, [n.csrf]: cookies[n.csrf].value };
    const again = await api.post('/api/auth/refresh', body, { cookies: next, headers: { 'x-csrf-token': next[n.csrf] } });
    assertStatus(again, 200);
  });

  test(`${label}: two tabs refreshing with the same cookie at once get the same successor`, async () => {
    const api = client(srv().url);
    const n = names(isSecure);
    const user = await signup(api);
    const { jar } = await cookieLogin(api, isSecure, user);
    const opts = { cookies: jar, headers: { 'x-csrf-token': jar[n.csrf] } };
    const [a, b] = await Promise.all([
      api.post('/api/auth/refresh', { mode: 'cookie' }, opts),
      api.post('/api/auth/refresh', { mode: 'cookie' }, opts),
    ]);
    assertStatus(a, 200);
    assertStatus(b, 200);
    const ra = parseSetCookies(a.setCookies)[n.refresh]?.value;
    const rb = parseSetCookies(b.setCookies)[n.refresh]?.value;
    assert.ok(ra, describe(a));
    assert.equal(rb, ra, 'the same successor refresh cookie');
    assertStatus(await api.get('/api/me', { token: b.body.access_token }), 200);
  });

  test(`${label}: cookie logout needs X-CSRF-Token, then clears the cookies and ends the session`, async () => {
    const api = client(srv().url);
    const n = names(isSecure);
    const user = await signup(api);
    const { res, jar } = await cookieLogin(api, isSecure, user);
    const access = res.body.access_token;

    assertProblem(await api.post('/api/auth/logout', undefined, { cookies: jar }), 403, 'csrf_failed');
    assertProblem(
      await api.post('/api/auth/logout', undefined, { cookies: jar, headers: { 'x-csrf-token': 'nope' } }),
      403,
      'csrf_failed',
    );
    // Still signed in.
    assertStatus(await api.get('/api/auth/check', { token: access }), 200);

    const out = await api.post('/api/auth/logout', undefined, { cookies: jar, headers: { 'x-csrf-token': jar[n.csrf] } });
    assertStatus(out, 204);
    const cleared = parseSetCookies(out.setCookies);
    for (const name of [n.refresh, n.csrf]) {
      const c = cleared[name];
      assert.ok(c, `logout clears ${name}${describe(out)}`);
      const expired =
        c.attrs['max-age'] === '0' || (c.attrs.expires && Date.parse(c.attrs.expires) < Date.now());
      assert.ok(expired && c.value === '', `${name} is emptied and expired: ${c.raw}`);
    }
    assertProblem(await api.get('/api/auth/check', { token: access }), 401, 'session_revoked');
    const after = await api.post('/api/auth/refresh', { mode: 'cookie' }, { cookies: jar, headers: { 'x-csrf-token': jar[n.csrf] } });
    assertProblem(after, 401, 'invalid_refresh_token');
  });
}
