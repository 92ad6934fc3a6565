// Browser-test support: the real `latchkey serve` (tests/api/harness.mjs) serving the built web
// app from web/dist, a real SMTP sink over STARTTLS (tests/api/mail-sink.mjs), an SMS gateway
// stand-in for the webhook channel (tests/api/sms-receiver.mjs), and Debian's
// chromium driven by playwright-core. Each test gets a fresh browser context; every page it
// visits is saved as a full-page screenshot under output/<test>/.
//
// Environment:
//   LATCHKEY_BIN          the binary (default ../../build/latchkey, as for the API tests)
//   LATCHKEY_WEB_DIST     the built web app (default ../../web/dist: `npm run build` in web/)
//   LATCHKEY_CHROMIUM     the browser (default /usr/bin/chromium, Debian's `chromium` package)
//   LATCHKEY_E2E_OUTPUT   where screenshots go (default ./output)
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { MANY_LOGIN_FAILURES, runCli, startServer } from '../api/harness.mjs';
import { extractLinks, startMailSink } from '../api/mail-sink.mjs';
import { startSmsReceiver } from '../api/sms-receiver.mjs';

export { randomEmail, strongPassword } from '../api/harness.mjs';
export { extractLinks } from '../api/mail-sink.mjs';
export { Authenticator } from '../api/totp.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

export const WEB_DIST = path.resolve(here, process.env.LATCHKEY_WEB_DIST || '../../web/dist');
export const CHROMIUM = process.env.LATCHKEY_CHROMIUM || '/usr/bin/chromium';
export const OUTPUT = path.resolve(here, process.env.LATCHKEY_E2E_OUTPUT || 'output');

const SMS_WEBHOOK_SECRET = 'e2e-webhook-secret-0123456789abcdef';

/** Generous per-step limits for a slow, shared 2-core CI machine: waits end as soon as they can. */
export const STEP_TIMEOUT_MS = 30_000;
export const MAIL_TIMEOUT_MS = 30_000;
/** node:test timeout for one journey. */
export const TEST_TIMEOUT_MS = 240_000;

/** Headless chromium with everything that would reach the network on its own turned off. */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`chromium not found at ${CHROMIUM} (install Debian's chromium package or set LATCHKEY_CHROMIUM)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60_000,
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-default-apps',
      '--disable-domain-reliability',
      '--disable-sync',
      '--disable-client-side-phishing-detection',
      '--disable-breakpad',
      '--metrics-recording-only',
      '--no-first-run',
      '--no-default-browser-check',
      '--no-pings',
      '--password-store=basic',
      '--use-mock-keychain',
      '--disable-dev-shm-usage',
    ],
  });
}

/**
 * The server and mail sink for one test file: e-mail verification on, mail over STARTTLS to the
 * sink, the web app from web/dist, plain-http cookies (the browser talks to 127.0.0.1).
 */
export async function startStack({ env = {} } = {}) {
  if (!existsSync(path.join(WEB_DIST, 'index.html'))) {
    throw new Error(`web app not built at ${WEB_DIST} (run \`npm ci && npm run build\` in web/)`);
  }
  const sink = await startMailSink({ tls: true });
  const sms = await startSmsReceiver({ webhookSecret: SMS_WEBHOOK_SECRET });
  let server;
  try {
    server = await startServer({
      sqlite: true,
      cookieSecure: false,
      env: {
        ...MANY_LOGIN_FAILURES,
        LATCHKEY_SERVER_WEB_ROOT: WEB_DIST,
        LATCHKEY_SIGNUP_REQUIRE_EMAIL_VERIFICATION: 'true',
        LATCHKEY_SIGNUP_LOGIN_AFTER_VERIFICATION: 'false',
        LATCHKEY_MAIL_CHANNEL: 'smtp',
        LATCHKEY_MAIL_SMTP_URL: sink.smtpUrl,
        LATCHKEY_MAIL_SMTP_STARTTLS: 'required',
        LATCHKEY_MAIL_SMTP_CA_FILE: sink.caFile,
        LATCHKEY_MAIL_POLL_INTERVAL: '1',
        LATCHKEY_MAIL_FROM: 'Latchkey Test <no-reply@example.test>',
        LATCHKEY_VERIFICATION_IP_HOURLY_CAP: '100000',
        LATCHKEY_SMS_CHANNEL: 'webhook',
        LATCHKEY_SMS_WEBHOOK_URL: sms.webhookUrl,
        LATCHKEY_SMS_WEBHOOK_SECRET: SMS_WEBHOOK_SECRET,
        LATCHKEY_SMS_IP_HOURLY_CAP: '100000',
        LATCHKEY_PHONE_DEFAULT_REGION: 'KR',
        ...env,
      },
    });
  } catch (error) {
    await sink.stop();
    await sms.stop();
    throw error;
  }
  const textsTo = (e164) => sms.requests().filter((r) => r.json?.to === e164 && r.status === 200);
  return {
    server,
    sink,
    url: server.url,
    /** The first mail to `address` whose subject matches, waiting for its delivery. */
    mailTo(address, subject) {
      const to = address.toLowerCase();
      return sink.waitFor(
        (m) => m.envelope.rcptTo.some((a) => a.toLowerCase() === to) && subject.test(m.subject),
        { timeout: MAIL_TIMEOUT_MS },
      );
    },
    /** How many texts `e164` has had so far (pass it to nextSmsCode). */
    smsCount: (e164) => textsTo(e164).length,
    /** The 6-digit code of the first text to `e164` after the first `seen` ones, waiting for it. */
    async nextSmsCode(e164, seen) {
      const deadline = Date.now() + MAIL_TIMEOUT_MS;
      for (;;) {
        const text = textsTo(e164)[seen];
        if (text) {
          const code = /\b(\d{6})\b/.exec(text.json.text ?? '');
          if (!code) throw new Error(`no code in the text to ${e164}: ${text.body}`);
          return code[1];
        }
        if (Date.now() > deadline) throw new Error(`no text to ${e164} within ${MAIL_TIMEOUT_MS} ms (${sms.requests().length} in all)`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    /** The link to this server in a mail (the app's page that the mail points at). */
    linkIn(mail, pathname) {
      const link = extractLinks(mail.text).find((u) => u.startsWith(server.url) && new URL(u).pathname === pathname);
      if (!link) throw new Error(`no ${pathname} link in the mail ${JSON.stringify(mail.subject)}:\n${mail.text}`);
      return link;
    },
    /** Runs a `latchkey` sub-command on the server's database (the CLI, as an operator would). */
    cli(args, { stdin } = {}) {
      return runCli(args, { env: server.env, cwd: server.dir, stdin, timeoutMs: 30_000 });
    },
    /** An active, verified account made with `latchkey user create` (for journeys past sign-up). */
    async createUser({ email, password, name = 'Test User' }) {
      const result = await runCli(['user', 'create', '--email', email, '--name', name, '--password-stdin'], {
        env: server.env,
        cwd: server.dir,
        stdin: `${password}\n`,
        timeoutMs: 30_000,
      });
      if (result.code !== 0) throw new Error(`latchkey user create failed (${result.code}):\n${result.stderr}`);
      return { email, password, name };
    },
    async stop() {
      try {
        await server.stop();
      } finally {
        await sink.stop();
        await sms.stop();
      }
    },
  };
}

/**
 * A fresh browser context for one test, with its screenshot folder. `shot(page, name)` saves a
 * full-page screenshot as output/<test>/<nn>-<name>.png (numbered in the order taken).
 */
export async function openContext(browser, testName, options = {}) {
  const dir = path.join(OUTPUT, slug(testName));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1000, height: 800 }, ...options });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
  const problems = [];
  context.on('page', (page) => watch(page, problems));
  let count = 0;
  return {
    context,
    dir,
    /** Console errors and uncaught exceptions of every page (checked at the end of a test). */
    problems,
    async newPage() {
      const page = await context.newPage();
      return page;
    },
    async shot(page, name) {
      count += 1;
      const file = path.join(dir, `${String(count).padStart(2, '0')}-${slug(name)}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    close: () => context.close(),
  };
}

function watch(page, problems) {
  page.on('pageerror', (error) => problems.push(`${page.url()}: uncaught ${error.message}`));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = message.text();
    // The browser logs every non-2xx fetch answer; those are expected (refused logins etc.).
    if (/^Failed to load resource: the server responded with a status of \d+/.test(text)) return;
    problems.push(`${page.url()}: console error ${text}`);
  });
}

export function slug(text) {
  return String(text)
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 80);
}

/** The page's h1, once it has this name (a string is an exact match, or a RegExp). */
export async function heading(page, name) {
  const h1 = page.getByRole('heading', { level: 1, name, exact: typeof name === 'string' ? true : undefined });
  await h1.waitFor();
  return h1;
}

/** The profile section (a card with an h2) called `name`. */
export function section(page, name) {
  return page.locator('section', { has: page.getByRole('heading', { level: 2, name, exact: true }) });
}
