// Browser journeys past sign-up: the Korean locale, a keyboard-only login, forgot/reset password
// by mail, revoking another session, and two tabs sharing one login. Accounts are made with the
// CLI (`latchkey user create`), as an operator would; each test has its own browser context.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  TEST_TIMEOUT_MS,
  heading,
  launchBrowser,
  openContext,
  randomEmail,
  section,
  startStack,
  strongPassword,
} from './support.mjs';

let stack;
let browser;

before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

async function login(page, { email, password }, lang = 'en') {
  const ko = lang === 'ko';
  await heading(page, ko ? '로그인' : 'Sign in');
  await page.getByLabel(ko ? '이메일' : 'E-mail', { exact: true }).fill(email);
  await page.getByLabel(ko ? '비밀번호' : 'Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: ko ? '로그인' : 'Sign in', exact: true }).click();
}

test('Korean: a browser that prefers Korean gets every page in Korean, and can switch', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const user = await stack.createUser({ email: randomEmail('ko'), password: strongPassword(), name: '김하나' });
  const ctx = await openContext(browser, t.name, { locale: 'ko-KR' });
  t.after(() => ctx.close());
  const page = await ctx.newPage();

  await page.goto(`${stack.url}/signup`);
  await heading(page, '계정 만들기');
  assert.equal(await page.locator('html').getAttribute('lang'), 'ko');
  await page.getByRole('button', { name: '계정 만들기' }).click();
  await page.getByRole('alert').first().waitFor();
  await ctx.shot(page, 'signup-ko');

  await page.goto(`${stack.url}/forgot-password`);
  await heading(page, '비밀번호 재설정');
  await ctx.shot(page, 'forgot-ko');

  await page.goto(`${stack.url}/login`);
  await login(page, { email: user.email, password: `${user.password}-wrong` }, 'ko');
  await page.getByRole('alert').filter({ hasText: '이메일 주소 또는 비밀번호가' }).waitFor();
  await ctx.shot(page, 'login-error-ko');

  await login(page, user, 'ko');
  await heading(page, '내 계정');
  await section(page, '활성 세션').getByText('현재 기기').waitFor();
  await ctx.shot(page, 'profile-ko');

  // The switcher changes the language at once and remembers it across a reload.
  await page.getByLabel('언어').selectOption('en');
  await heading(page, 'Your account');
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  await page.reload();
  await heading(page, 'Your account');
  await ctx.shot(page, 'profile-en');
  assert.deepEqual(ctx.problems, []);
});

test('keyboard only: Tab to the fields, type, Enter signs in; Tab and Enter sign out', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const user = await stack.createUser({ email: randomEmail('keys'), password: strongPassword() });
  const ctx = await openContext(browser, t.name);
  t.after(() => ctx.close());
  const page = await ctx.newPage();
  await page.goto(`${stack.url}/login`);
  await heading(page, 'Sign in');

  /** Presses Tab until the focused element matches, and says what it passed on the way. */
  async function tabTo(describe, matches, limit = 25) {
    const seen = [];
    for (let i = 0; i < limit; i++) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => {
        const el = document.activeElement;
        if (!el || el === document.body) return null;
        return { tag: el.tagName.toLowerCase(), name: el.getAttribute('name'), text: (el.textContent || '').trim(), type: el.getAttribute('type') };
      });
      seen.push(focused);
      if (focused && matches(focused)) return focused;
    }
    assert.fail(`Tab never reached ${describe}; focus went through ${JSON.stringify(seen)}`);
  }

  // The first Tab reaches the skip link.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), 'Skip to content');
  await tabTo('the e-mail field', (f) => f.tag === 'input' && f.name === 'email');
  await page.keyboard.type(user.email);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('name')), 'password');
  await page.keyboard.type(user.password);
  await ctx.shot(page, 'login-typed');
  await page.keyboard.press('Enter');
  await heading(page, 'Your account');
  await ctx.shot(page, 'profile');

  await tabTo('the sign-out button', (f) => f.tag === 'button' && f.text === 'Sign out', 80);
  await page.keyboard.press('Enter');
  await heading(page, 'Sign in');
  await page.getByRole('status').filter({ hasText: 'You have signed out.' }).waitFor();
  await ctx.shot(page, 'signed-out');
  assert.deepEqual(ctx.problems, []);
});

test('forgot password: the mailed link sets a new password; the old one stops working', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const user = await stack.createUser({ email: randomEmail('reset'), password: strongPassword() });
  const ctx = await openContext(browser, t.name);
  t.after(() => ctx.close());
  const page = await ctx.newPage();

  await page.goto(`${stack.url}/login`);
  await heading(page, 'Sign in');
  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await heading(page, 'Reset your password');
  await page.getByLabel('E-mail', { exact: true }).fill(user.email);
  await ctx.shot(page, 'forgot');
  await page.getByRole('button', { name: 'Send the link' }).click();
  await heading(page, 'Check your e-mail');
  await ctx.shot(page, 'forgot-sent');

  const mail = await stack.mailTo(user.email, /^Reset your Latchkey password/);
  await page.goto(stack.linkIn(mail, '/reset-password'));
  await heading(page, 'Choose a new password');
  // The token leaves the address bar, so it does not end up in history or a Referer.
  assert.doesNotMatch(page.url(), /token=/);
  const fresh = strongPassword();
  await page.getByLabel('New password', { exact: true }).fill(fresh);
  await page.getByLabel('Confirm new password', { exact: true }).fill(`${fresh}x`);
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByRole('alert').first().waitFor();
  await page.getByLabel('Confirm new password', { exact: true }).fill(fresh);
  await ctx.shot(page, 'reset');
  await page.getByRole('button', { name: 'Change password' }).click();
  await heading(page, 'Password changed');
  await ctx.shot(page, 'reset-done');

  await page.getByRole('main').getByRole('link', { name: 'Sign in' }).click();
  await login(page, user);
  await page.getByRole('alert').filter({ hasText: 'The e-mail address or password is not correct.' }).waitFor();
  await login(page, { email: user.email, password: fresh });
  await heading(page, 'Your account');
  await ctx.shot(page, 'profile');
  assert.deepEqual(ctx.problems, []);
});

test('sessions: one device signs out another; the other finds out on its next request', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const user = await stack.createUser({ email: randomEmail('sessions'), password: strongPassword() });
  const laptop = await openContext(browser, t.name);
  const phone = await openContext(browser, `${t.name} (other device)`, {
    userAgent:
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
  });
  t.after(() => Promise.all([laptop.close(), phone.close()]));

  const other = await phone.newPage();
  await other.goto(`${stack.url}/login`);
  await login(other, user);
  await heading(other, 'Your account');
  await phone.shot(other, 'profile');

  const page = await laptop.newPage();
  await page.goto(`${stack.url}/login`);
  await login(page, user);
  await heading(page, 'Your account');
  const sessions = section(page, 'Active sessions');
  await sessions.getByText('This device').waitFor();
  const revoke = sessions.getByRole('button', { name: 'Sign out the session on Safari · iOS' });
  await revoke.waitFor();
  assert.equal(await sessions.getByRole('listitem').count(), 2);
  await sessions.getByText('IP address 127.0.0.1').first().waitFor();
  await laptop.shot(page, 'sessions');
  await revoke.click();
  await sessions.getByText('The session was signed out.').waitFor();
  await sessions.getByText('There are no other active sessions.').waitFor();
  await laptop.shot(page, 'revoked');

  // The phone's next request is refused, and its app returns to the login page.
  const name = section(other, 'Your name');
  await name.getByLabel('Name').fill('Still me');
  await name.getByRole('button', { name: 'Save' }).click();
  await heading(other, 'Sign in');
  await other.getByRole('status').filter({ hasText: 'Your session has ended' }).waitFor();
  await phone.shot(other, 'signed-out');

  // The laptop's own session goes on.
  await page.reload();
  await heading(page, 'Your account');
  assert.deepEqual([...laptop.problems, ...phone.problems], []);
});

test('two tabs: both stay signed in across reloads; signing out in one signs out the other', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const user = await stack.createUser({ email: randomEmail('tabs'), password: strongPassword() });
  const ctx = await openContext(browser, t.name);
  t.after(() => ctx.close());

  const first = await ctx.newPage();
  await first.goto(`${stack.url}/login`);
  await heading(first, 'Sign in');
  await ctx.shot(first, 'login');
  await login(first, user);
  await heading(first, 'Your account');

  const second = await ctx.newPage();
  await second.goto(`${stack.url}/profile`);
  await heading(second, 'Your account');
  await second.getByRole('definition').filter({ hasText: user.email }).waitFor();
  await ctx.shot(second, 'second-tab');

  // Each reload refreshes with the rotating cookie; neither trips reuse detection.
  for (const page of [first, second, first, second]) {
    await page.reload();
    await heading(page, 'Your account');
    await page.getByRole('definition').filter({ hasText: user.email }).waitFor();
  }
  // Both reload at once: the refreshes are coordinated, and both stay in.
  await Promise.all([first.reload(), second.reload()]);
  for (const page of [first, second]) {
    await heading(page, 'Your account');
    await page.getByRole('definition').filter({ hasText: user.email }).waitFor();
  }
  await ctx.shot(first, 'first-tab-after-reloads');

  await section(first, 'Sign out').getByRole('button', { name: 'Sign out', exact: true }).click();
  await heading(first, 'Sign in');
  // The other tab follows without a reload.
  await heading(second, 'Sign in');
  await second.getByRole('status').filter({ hasText: 'You signed out in another tab.' }).waitFor();
  await ctx.shot(second, 'second-tab-signed-out');

  // And a reload does not bring the session back.
  await second.reload();
  await heading(second, 'Sign in');
  assert.deepEqual(ctx.problems, []);
});

test('phone: confirm a number in the profile, then sign in with a texted code', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const user = await stack.createUser({ email: randomEmail('phone'), password: strongPassword() });
  // A Korean mobile number: 010, then 8 digits that do not start with 0 or 1.
  const national = `010${2 + Math.floor(Math.random() * 8)}${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
  const e164 = `+82${national.slice(1)}`;
  const ctx = await openContext(browser, t.name);
  t.after(() => ctx.close());
  const page = await ctx.newPage();
  await page.goto(`${stack.url}/login`);
  await login(page, user);
  await heading(page, 'Your account');

  const phone = section(page, 'Phone number');
  await phone.getByLabel('Mobile phone number').fill(national);
  let seen = stack.smsCount(e164);
  await phone.getByRole('button', { name: 'Send the code' }).click();
  await phone.getByLabel('Code from the text message').fill(await stack.nextSmsCode(e164, seen));
  await ctx.shot(page, 'phone-code');
  await phone.getByRole('button', { name: 'Confirm the number' }).click();
  await phone.getByText(`${e164} is confirmed.`).waitFor();
  await ctx.shot(page, 'phone-confirmed');

  await section(page, 'Sign out').getByRole('button', { name: 'Sign out', exact: true }).click();
  await heading(page, 'Sign in');
  await page.getByRole('link', { name: 'Sign in with a code by text message' }).click();
  await heading(page, 'Sign in with a text message');
  await page.getByLabel('Mobile phone number').fill(national);
  seen = stack.smsCount(e164);
  await page.getByRole('button', { name: 'Text me a code' }).click();
  const code = await stack.nextSmsCode(e164, seen);
  await page.getByLabel('Code from the text message').fill(code);
  await ctx.shot(page, 'sms-login');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await heading(page, 'Your account');
  await page.getByRole('definition').filter({ hasText: user.email }).waitFor();
  assert.deepEqual(ctx.problems, []);
});

test('pages a visitor may land on: unknown address, a failed social login, the SMS sign-in page', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const ctx = await openContext(browser, t.name);
  t.after(() => ctx.close());
  const page = await ctx.newPage();

  // Any app path is the SPA's index.html: never cached, under the strict CSP; the hashed
  // assets it loads are cached for good.
  const assets = [];
  page.on('response', (r) => {
    if (new URL(r.url()).pathname.startsWith('/assets/')) assets.push(r);
  });
  const answer = await page.goto(`${stack.url}/no/such/page`);
  assert.equal(answer.status(), 200);
  assert.equal(answer.headers()['cache-control'], 'no-cache');
  assert.match(answer.headers()['content-security-policy'] ?? '', /script-src 'self'/);
  await heading(page, 'Page not found');
  assert.ok(assets.length > 0, 'the app loaded its assets');
  for (const r of assets) assert.match(r.headers()['cache-control'] ?? '', /immutable/, r.url());
  await ctx.shot(page, 'not-found');

  // A social login that failed comes back to /login?error=<code>: announced once, then dropped.
  await page.goto(`${stack.url}/login?error=social_cancelled`);
  await heading(page, 'Sign in');
  await page.getByRole('alert').filter({ hasText: 'Signing in with the other service was cancelled.' }).waitFor();
  await page.waitForURL((url) => url.pathname === '/login' && url.search === '');
  await ctx.shot(page, 'login-social-error');

  await page.goto(`${stack.url}/login/sms`);
  await heading(page, 'Sign in with a text message');
  await page.getByRole('button', { name: 'Text me a code' }).click();
  await page.getByRole('alert').filter({ hasText: 'Please fill in this field.' }).waitFor();
  await ctx.shot(page, 'sms-login-empty');

  await page.goto(`${stack.url}/verify-email`);
  await heading(page, 'Confirm your e-mail address');
  await ctx.shot(page, 'verify-code');
  assert.deepEqual(ctx.problems, []);
});

test('account settings: change the address by mailed link, change the password, delete the account', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const user = await stack.createUser({ email: randomEmail('settings'), password: strongPassword() });
  const ctx = await openContext(browser, t.name);
  t.after(() => ctx.close());
  const page = await ctx.newPage();
  await page.goto(`${stack.url}/login`);
  await login(page, user);
  await heading(page, 'Your account');

  // A new address counts only once its link is followed.
  const newEmail = randomEmail('moved');
  const change = section(page, 'Change e-mail address');
  await change.getByLabel('New e-mail address').fill(newEmail);
  await change.getByLabel('Current password').fill(user.password);
  await change.getByRole('button', { name: 'Send the confirmation link' }).click();
  await change.getByRole('status').filter({ hasText: newEmail }).waitFor();
  await ctx.shot(page, 'email-change-sent');
  const mail = await stack.mailTo(newEmail, /^Confirm your new e-mail address/);
  await page.goto(stack.linkIn(mail, '/verify-email'));
  await heading(page, 'E-mail address changed');
  await ctx.shot(page, 'email-changed');
  await page.getByRole('main').getByRole('link').first().click();
  await heading(page, 'Your account');
  await page.getByRole('definition').filter({ hasText: newEmail }).waitFor();

  // A wrong current password is reported at its field; the right one changes the password.
  const fresh = strongPassword();
  const pw = section(page, 'Change password');
  await pw.getByLabel('Current password').fill(`${user.password}-not`);
  await pw.getByLabel('New password', { exact: true }).fill(fresh);
  await pw.getByLabel('Confirm new password').fill(fresh);
  await pw.getByRole('button', { name: 'Change password' }).click();
  await pw.getByRole('alert').first().waitFor();
  assert.equal(await pw.getByLabel('Current password').getAttribute('aria-invalid'), 'true');
  await pw.getByLabel('Current password').fill(user.password);
  await pw.getByRole('button', { name: 'Change password' }).click();
  await pw.getByText('Your password was changed.').waitFor();
  await ctx.shot(page, 'password-changed');

  // Deleting needs the password and the confirmation box; then the app is back at login.
  const del = section(page, 'Delete account');
  const button = del.getByRole('button', { name: 'Delete my account' });
  assert.equal(await button.isDisabled(), true, 'disabled until the box is ticked');
  await del.getByLabel('Your password').fill(fresh);
  await del.getByLabel('I understand that my account will be deleted permanently.').check();
  await ctx.shot(page, 'delete');
  await button.click();
  await heading(page, 'Sign in');
  await page.getByRole('status').filter({ hasText: 'Your account has been deleted.' }).waitFor();
  await ctx.shot(page, 'deleted');
  await login(page, { email: newEmail, password: fresh });
  await page.getByRole('alert').filter({ hasText: 'The e-mail address or password is not correct.' }).waitFor();
  assert.deepEqual(ctx.problems, []);
});
