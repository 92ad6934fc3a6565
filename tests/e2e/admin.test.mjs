// The admin pages in a real browser against the real binary: the first admin is made with the
// CLI (`latchkey user create --admin`), 30 users through the admin API; then the admin searches
// and pages the users table, sorts it, opens a user, renames them, disables them (after the
// re-authentication dialog: the reauth window is short here) — and that user's open app is
// refused on its next request and returns to the login page; the audit log shows the changes; a
// user made with an invite gets the set-password mail; a non-admin gets "not allowed".
//
// Until the admin API is in the binary (`GET /api/admin/users` answers 404), the test skips
// itself and says so.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
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

/** Destructive admin actions need a sign-in this recent; short, so the dialog shows up. */
const REAUTH_WINDOW_S = 20;

let stack;
let browser;
/** Why the admin journey cannot run on this binary, or null. */
let missing = null;

before(async () => {
  try {
    stack = await startStack({ env: { LATCHKEY_ADMIN_REAUTH_WINDOW: `${REAUTH_WINDOW_S}s` } });
  } catch (error) {
    // A binary without the admin API does not know the admin.* settings either.
    if (!/LATCHKEY_ADMIN_REAUTH_WINDOW/.test(String(error?.message))) throw error;
    stack = await startStack();
  }
  const probe = await fetch(`${stack.url}/api/admin/users`);
  await probe.arrayBuffer();
  if (probe.status === 404) {
    missing = 'the admin API is not in this binary (GET /api/admin/users answers 404): admin journey skipped';
  } else {
    browser = await launchBrowser();
  }
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

async function login(page, { email, password }) {
  await heading(page, 'Sign in');
  await page.getByLabel('E-mail', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await heading(page, 'Your account');
}

/** A bearer token for seeding through the API (body mode, no cookies). */
async function apiToken({ email, password }) {
  const res = await fetch(`${stack.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const body = await res.json();
  assert.equal(res.status, 200, `API login: ${JSON.stringify(body)}`);
  return body.access_token;
}

async function apiCreateUser(token, user) {
  const res = await fetch(`${stack.url}/api/admin/users`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify(user),
  });
  const body = await res.json();
  assert.equal(res.status, 201, `POST /api/admin/users: ${JSON.stringify(body)}`);
  return body;
}

/** The addresses in the users table, top to bottom. */
const emailsShown = (page) => page.locator('table.data tbody tr td:first-child').allInnerTexts();

test('admin: users table (search, pages, sort), edit, disable with re-authentication, audit log, invite; non-admin not allowed', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (missing) {
    t.skip(missing);
    return;
  }
  // The first admin, as an operator makes it.
  const admin = { email: randomEmail('admin'), password: strongPassword() };
  const made = await stack.cli(['user', 'create', '--email', admin.email, '--name', 'Ada Admin', '--admin', '--password-stdin'], {
    stdin: `${admin.password}\n`,
  });
  assert.equal(made.code, 0, `latchkey user create --admin: ${made.stderr}`);
  const victim = await stack.createUser({ email: randomEmail('victim'), password: strongPassword(), name: 'Victor Victim' });

  // Thirty users through the API, all with one searchable prefix.
  const tag = `pg${randomBytes(4).toString('hex')}`;
  const token = await apiToken(admin);
  for (let i = 1; i <= 30; i++) {
    const nn = String(i).padStart(2, '0');
    await apiCreateUser(token, { email: `${tag}-${nn}@example.com`, name: `Paging ${nn}`, email_verified: true });
  }

  // The user to be disabled is signed in in their own browser; they see no admin pages.
  const vctx = await openContext(browser, 'admin journey, the disabled user');
  t.after(() => vctx.close());
  const vpage = await vctx.newPage();
  await vpage.goto(`${stack.url}/login`);
  await login(vpage, victim);
  assert.equal(await vpage.getByRole('link', { name: 'Administration' }).count(), 0);
  await vpage.goto(`${stack.url}/admin/users`);
  await heading(vpage, 'Not allowed');
  await vctx.shot(vpage, 'not-allowed');
  await vpage.goto(`${stack.url}/profile`);
  await heading(vpage, 'Your account');

  // The admin signs in and opens the users table.
  const ctx = await openContext(browser, 'admin journey, the admin');
  t.after(() => ctx.close());
  const page = await ctx.newPage();
  await page.goto(`${stack.url}/login`);
  await login(page, admin);
  const signedInAt = Date.now();
  await page.getByRole('link', { name: 'Administration' }).click();
  await heading(page, 'Users');
  await page.getByText(/^Users on this page: \d+$/).waitFor();
  await ctx.shot(page, 'users');

  // Search: 30 matches, 20 a page.
  await page.getByLabel('Search', { exact: true }).fill(tag);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.getByText('Users on this page: 20', { exact: true }).waitFor();
  const firstPage = await emailsShown(page);
  assert.equal(firstPage.length, 20);
  await ctx.shot(page, 'users-search-page-1');
  await page.getByRole('button', { name: 'Next page' }).click();
  await page.getByText('Users on this page: 10', { exact: true }).waitFor();
  await page.getByText('Page 2', { exact: true }).waitFor();
  const secondPage = await emailsShown(page);
  // Together the two pages hold each of the 30 once (same-second ties are ordered by id).
  const expected = Array.from({ length: 30 }, (_, i) => `${tag}-${String(i + 1).padStart(2, '0')}@example.com`);
  assert.deepEqual([...firstPage, ...secondPage].sort(), expected);
  assert.equal(await page.getByRole('button', { name: 'Next page' }).isDisabled(), true);
  await ctx.shot(page, 'users-search-page-2');
  await page.getByRole('button', { name: 'Previous page' }).click();
  await page.getByText('Page 1', { exact: true }).waitFor();
  await page.getByText('Users on this page: 20', { exact: true }).waitFor();

  // Sort by name, then the other way round.
  await page.getByRole('button', { name: /^Name/ }).click();
  await page.waitForFunction(() => document.querySelector('table.data tbody tr td:nth-child(2)')?.textContent === 'Paging 01');
  await page.getByRole('button', { name: /^Name/ }).click();
  await page.waitForFunction(() => document.querySelector('table.data tbody tr td:nth-child(2)')?.textContent === 'Paging 30');
  await ctx.shot(page, 'users-sorted-by-name-desc');

  // Open the user and rename them.
  await page.getByLabel('Search', { exact: true }).fill(victim.email);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.getByText('Users on this page: 1', { exact: true }).waitFor();
  await page.getByRole('link', { name: victim.email }).click();
  await heading(page, 'Victor Victim');
  // "Back" returns to the same search (kept in the address), and forward again.
  await page.goBack();
  await page.getByText('Users on this page: 1', { exact: true }).waitFor();
  assert.equal(await page.getByLabel('Search', { exact: true }).inputValue(), victim.email);
  await page.getByRole('link', { name: victim.email }).click();
  await heading(page, 'Victor Victim');
  const victimId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
  const profile = section(page, 'Profile');
  await profile.getByLabel('Name', { exact: true }).fill('Victor Renamed');
  await profile.getByRole('button', { name: 'Save' }).click();
  await profile.getByText('The changes were saved.').waitFor();
  await heading(page, 'Victor Renamed');
  await ctx.shot(page, 'user-renamed');

  // Disabling is destructive: past the reauth window the app asks for the password again.
  const wait = signedInAt + (REAUTH_WINDOW_S + 2) * 1000 - Date.now();
  if (wait > 0) await page.waitForTimeout(wait);
  await section(page, 'Account status').getByRole('button', { name: 'Disable the account' }).click();
  const dialog = page.getByRole('dialog', { name: 'Confirm it is you' });
  await dialog.waitFor();
  await dialog.getByLabel('Password', { exact: true }).fill(admin.password);
  await ctx.shot(page, 'reauthenticate');
  await dialog.getByRole('button', { name: 'Sign in and continue' }).click();
  await page.getByText('The account was disabled and its sessions were ended.').waitFor();
  assert.equal(await dialog.count(), 0);
  await page.getByText('Status: Disabled').waitFor();
  await ctx.shot(page, 'user-disabled');

  // The disabled user's open app: its next request is refused and it returns to the login page.
  await section(vpage, 'Your name').getByLabel('Name').fill('Still here?');
  await section(vpage, 'Your name').getByRole('button', { name: 'Save' }).click();
  await heading(vpage, 'Sign in');
  assert.equal(new URL(vpage.url()).pathname, '/login');
  await vctx.shot(vpage, 'refused-after-disable');

  // The audit log has both changes, field by field.
  await page.getByRole('link', { name: 'Audit log', exact: true }).click();
  await heading(page, 'Audit log');
  await page.getByLabel('Event').selectOption('admin.user.updated');
  await page.getByLabel('User ID').fill(victimId);
  await page.getByRole('button', { name: 'Show' }).click();
  await page.getByText('status: "active" → "disabled"').waitFor();
  await page.getByText('name: "Victor Victim" → "Victor Renamed"').waitFor();
  await ctx.shot(page, 'audit');

  // A user made with an invite gets the set-password link by mail.
  const invitee = randomEmail('invitee');
  await page.getByRole('link', { name: 'New user' }).click();
  await heading(page, 'New user');
  await page.getByLabel('E-mail', { exact: true }).fill(invitee);
  await page.getByLabel('Name (optional)').fill('Ina Invitee');
  await ctx.shot(page, 'create-user');
  await page.getByRole('button', { name: 'Create the user' }).click();
  await heading(page, 'Ina Invitee');
  await page.getByText(`The account ${invitee} was created.`).waitFor();
  await ctx.shot(page, 'user-created');
  const mail = await stack.mailTo(invitee, /./);
  stack.linkIn(mail, '/reset-password');

  // The roles page.
  await page.getByRole('link', { name: 'Roles', exact: true }).click();
  await heading(page, 'Roles');
  await section(page, 'admin').waitFor();
  await ctx.shot(page, 'roles');

  // The admin pages in Korean.
  await page.getByRole('link', { name: 'Users', exact: true }).click();
  await heading(page, 'Users');
  await page.getByLabel('Language').selectOption('ko');
  await heading(page, '사용자');
  await page.getByText(/^이 페이지의 사용자: \d+명$/).waitFor();
  await ctx.shot(page, 'users-korean');

  assert.deepEqual(ctx.problems, [], 'no uncaught errors or console errors in the admin pages');
  assert.deepEqual(vctx.problems, [], 'no uncaught errors or console errors in the user pages');
});
