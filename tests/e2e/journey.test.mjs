// The main journey in a real browser against the real binary and a real SMTP sink: sign up →
// read the mail → open the link → log in → edit the profile → turn on TOTP → log out → log in
// with TOTP → an admin disables the account on the admin page (with a binary that has no admin
// API yet: an operator, with the CLI) → the app refuses to go on and returns to the login page.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Authenticator,
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

/** True once the binary serves the admin API (before the merge, /api/admin/users is a 404). */
async function adminApiServed() {
  const res = await fetch(`${stack.url}/api/admin/users`);
  await res.arrayBuffer();
  return res.status !== 404;
}

after(async () => {
  await browser?.close();
  await stack?.stop();
});

test('sign up, confirm by mail, log in, edit profile, TOTP, log out and in with TOTP, disabled', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const ctx = await openContext(browser, t.name);
  t.after(() => ctx.close());
  const page = await ctx.newPage();
  const email = randomEmail('journey');
  const password = strongPassword();

  // Sign up.
  await page.goto(`${stack.url}/signup`);
  await heading(page, 'Create your account');
  await page.getByLabel('Name', { exact: true }).fill('Ada Journey');
  await page.getByLabel('E-mail', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByLabel('Confirm password', { exact: true }).fill(password);
  await ctx.shot(page, 'signup');
  await page.getByRole('button', { name: 'Create account' }).click();
  await heading(page, 'Check your e-mail');
  await ctx.shot(page, 'check-email');

  // Before the address is confirmed, the password does not open the account.
  await page.goto(`${stack.url}/login`);
  await heading(page, 'Sign in');
  await page.getByLabel('E-mail', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('alert').filter({ hasText: 'Please confirm your e-mail address first' }).waitFor();
  await ctx.shot(page, 'login-pending');

  // The mail, and its link.
  const mail = await stack.mailTo(email, /^Confirm your e-mail/);
  assert.equal(mail.secure, true, 'the mail was delivered over STARTTLS');
  await page.goto(stack.linkIn(mail, '/verify-email'));
  await heading(page, 'E-mail verified');
  await ctx.shot(page, 'verified');

  // Log in.
  await page.getByRole('main').getByRole('link', { name: 'Sign in' }).click();
  await heading(page, 'Sign in');
  await page.getByLabel('E-mail', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await heading(page, 'Your account');
  await page.getByRole('definition').filter({ hasText: email }).waitFor();
  await ctx.shot(page, 'profile');

  // Nothing secret is stored where scripts can read it: the refresh token is an HttpOnly cookie,
  // the access token lives in memory only.
  const stored = await page.evaluate(() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage } }));
  assert.doesNotMatch(stored, /eyJ|token/i, `web storage: ${stored}`);
  const cookies = await ctx.context.cookies(stack.url);
  const readable = cookies.filter((c) => !c.httpOnly).map((c) => c.name);
  assert.ok(cookies.some((c) => c.httpOnly), `an HttpOnly refresh cookie: ${JSON.stringify(cookies.map((c) => c.name))}`);
  assert.deepEqual(readable.filter((name) => !/csrf/.test(name)), [], 'only the CSRF cookie is readable');
  assert.ok(cookies.every((c) => c.sameSite === 'Strict'), 'every cookie is SameSite=Strict');

  // Edit the profile: the new name is saved on the server (it survives a reload).
  const nameCard = section(page, 'Your name');
  await nameCard.getByLabel('Name').fill('Ada Lovelace');
  await nameCard.getByRole('button', { name: 'Save' }).click();
  await nameCard.getByText('Your name was saved.').waitFor();
  await page.reload();
  await heading(page, 'Your account');
  // The field fills in once the user has loaded after the reload.
  await page.waitForFunction(
    (el) => el.value === 'Ada Lovelace',
    await section(page, 'Your name').getByLabel('Name').elementHandle(),
  );

  // Turn on TOTP: the test is the authenticator app.
  const twoStep = section(page, 'Two-step verification');
  await twoStep.getByRole('button', { name: 'Set up an authenticator app' }).click();
  await twoStep.getByRole('img', { name: 'QR code for your authenticator app' }).waitFor();
  const secret = (await twoStep.locator('code.secret').innerText()).replace(/\s+/g, '');
  assert.match(secret, /^[A-Z2-7]+=*$/, 'the key is base32');
  const app = new Authenticator(secret);
  await ctx.shot(page, 'totp-setup');
  await twoStep.getByLabel('Code from the app').fill(await app.next());
  await twoStep.getByRole('button', { name: 'Turn on' }).click();
  await twoStep.getByRole('heading', { name: 'Your recovery codes' }).waitFor();
  const codes = await twoStep.getByRole('list', { name: 'Your recovery codes' }).getByRole('listitem').allInnerTexts();
  assert.ok(codes.length >= 8, `recovery codes shown once: ${codes.length}`);
  await ctx.shot(page, 'recovery-codes');
  await twoStep.getByRole('button', { name: 'I have saved the codes' }).click();
  await twoStep.getByText('Two-step verification is on.').first().waitFor();

  // Log out.
  await section(page, 'Sign out').getByRole('button', { name: 'Sign out', exact: true }).click();
  await heading(page, 'Sign in');
  await page.getByRole('status').filter({ hasText: 'You have signed out.' }).waitFor();
  await ctx.shot(page, 'logged-out');

  // Log in again: now the second step asks for the app's code.
  await page.getByLabel('E-mail', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await heading(page, 'Two-step verification');
  await ctx.shot(page, 'mfa-step');
  await page.getByLabel('Code from your authenticator app').fill(app.wrong());
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('alert').filter({ hasText: 'This code is not correct' }).waitFor();
  await page.getByLabel('Code from your authenticator app').fill(await app.next());
  await page.getByRole('button', { name: 'Verify' }).click();
  await heading(page, 'Your account');
  const nameField = section(page, 'Your name').getByLabel('Name');
  await page.waitForFunction((el) => el.value === 'Ada Lovelace', await nameField.elementHandle());
  await ctx.shot(page, 'profile-after-mfa');

  if (await adminApiServed()) {
    // An admin disables the account on the admin page; the user's open app is refused on its
    // very next request (no reload) and returns to the login page.
    const admin = { email: randomEmail('journey-admin'), password: strongPassword() };
    const made = await stack.cli(['user', 'create', '--email', admin.email, '--name', 'Journey Admin', '--admin', '--password-stdin'], {
      stdin: `${admin.password}\n`,
    });
    assert.equal(made.code, 0, `latchkey user create --admin: ${made.stderr}`);
    const actx = await openContext(browser, 'journey, the admin');
    t.after(() => actx.close());
    const apage = await actx.newPage();
    await apage.goto(`${stack.url}/login`);
    await heading(apage, 'Sign in');
    await apage.getByLabel('E-mail', { exact: true }).fill(admin.email);
    await apage.getByLabel('Password', { exact: true }).fill(admin.password);
    await apage.getByRole('button', { name: 'Sign in', exact: true }).click();
    await heading(apage, 'Your account');
    await apage.getByRole('link', { name: 'Administration' }).click();
    await heading(apage, 'Users');
    await apage.getByLabel('Search', { exact: true }).fill(email);
    await apage.getByRole('button', { name: 'Search', exact: true }).click();
    await apage.getByRole('link', { name: email }).click();
    await heading(apage, 'Ada Lovelace');
    await section(apage, 'Account status').getByRole('button', { name: 'Disable the account' }).click();
    await apage.getByText('The account was disabled and its sessions were ended.').waitFor();
    await actx.shot(apage, 'admin-disabled-the-user');
    assert.deepEqual(actx.problems, [], 'no uncaught errors or console errors in the admin pages');

    await section(page, 'Your name').getByLabel('Name').fill('Ada again');
    await section(page, 'Your name').getByRole('button', { name: 'Save' }).click();
    await heading(page, 'Sign in');
    assert.equal(new URL(page.url()).pathname, '/login');
    await ctx.shot(page, 'after-disable');
  } else {
    // Without the admin API, an operator disables the account (the CLI on the same database ends
    // its sessions). The running server's revocation list does not hear of it, so the access
    // token held in memory would work until it expires: the next page load meets the refusal.
    const disabled = await stack.cli(['user', 'disable', '--email', email]);
    assert.equal(disabled.code, 0, `latchkey user disable: ${disabled.stderr}`);
    await page.reload();
    await heading(page, 'Sign in');
    assert.equal(new URL(page.url()).pathname, '/login');
    await ctx.shot(page, 'after-disable');
  }

  // And the password no longer opens the account; the page says why.
  await page.getByLabel('E-mail', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('alert').filter({ hasText: 'This account has been disabled.' }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/login');
  await ctx.shot(page, 'disabled-login');

  assert.deepEqual(ctx.problems, [], 'no uncaught errors or console errors in the pages');
});
