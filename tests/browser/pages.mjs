// A new user, in a real browser: signs up, lands on the account page, logs out, logs in
// through the HTML form, is sent away from /login while signed in, logs out, and is sent to
// /login?next=/account when opening /account anonymously. Screenshots go to ARTIFACT_DIR.
//
// Usage: node signup.mjs BASE_URL ARTIFACT_DIR
// Run by tests/tests/browser.rs against a server process it starts; tests/run.sh installs
// Debian's chromium and this folder's node_modules. CHROMIUM overrides /usr/bin/chromium.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [base, artifacts] = process.argv.slice(2);
if (!base || !artifacts) {
  console.error('usage: node signup.mjs BASE_URL ARTIFACT_DIR');
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });

const email = `browser.${Date.now()}.${Math.floor(Math.random() * 1e6)}@example.com`;
const password = 'a long and unusual browser passphrase';

function check(condition, message) {
  if (!condition) throw new Error(message);
}

// Flags this machine needs (see the test docs): no sandbox as root, no GPU, and no
// background connections, which a closed network refuses.
const profile = mkdtempSync(join(tmpdir(), 'auth-e2e-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
  viewport: { width: 900, height: 700 },
});
const page = context.pages()[0] ?? (await context.newPage());
page.setDefaultTimeout(15_000);
const problems = [];
page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
page.on('console', (message) => {
  // The one refused login below answers 400 on purpose, and Chromium logs it; any other
  // failed load (a favicon the server refuses, say) is a problem.
  const expected = 'Failed to load resource: the server responded with a status of 400';
  if (message.type() === 'error' && !message.text().startsWith(expected)) {
    problems.push(`console error: ${message.text()}`);
  }
});
page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()}`));
page.on('response', (response) => {
  const { pathname } = new URL(response.url());
  // The one refused login below answers 400 on purpose.
  if (response.status() >= 400 && !(response.status() === 400 && pathname === '/auth/cookie/login')) {
    problems.push(`${response.status()} for ${response.request().method()} ${response.url()}`);
  }
});

let step = 0;
async function shot(name) {
  step += 1;
  const file = join(artifacts, `${String(step).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot ${file}`);
}

function path() {
  const url = new URL(page.url());
  return url.pathname + url.search;
}

async function expectAccountPage() {
  await page.waitForURL((url) => url.pathname === '/account');
  const who = await page.locator('#who').innerText();
  check(who.includes(email), `the account page names ${email}: ${who}`);
  check(who.includes('Ada Lovelace'), `the account page shows the names: ${who}`);
}

async function logOut() {
  await page.getByRole('button', { name: 'Log out', exact: true }).click();
  await page.waitForURL((url) => url.pathname === '/login');
  const names = (await context.cookies()).map((cookie) => cookie.name);
  check(!names.includes('access_token') && !names.includes('refresh_token'),
    `logging out clears the cookies: ${names}`);
}

let failed = false;
try {
  // Sign up; the page logs the new account in and opens /account.
  await page.goto(`${base}/register`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await page.fill('input[name=first_name]', 'Ada');
  await page.fill('input[name=second_name]', 'Lovelace');
  await shot('register-filled');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await expectAccountPage();
  const cookies = await context.cookies();
  const access = cookies.find((cookie) => cookie.name === 'access_token');
  check(access && access.httpOnly && access.sameSite === 'Lax',
    `the access cookie is HttpOnly and SameSite=Lax: ${JSON.stringify(access)}`);
  const refresh = cookies.find((cookie) => cookie.name === 'refresh_token');
  check(refresh && refresh.httpOnly && refresh.sameSite === 'Strict',
    `the refresh cookie is HttpOnly and SameSite=Strict: ${JSON.stringify(refresh)}`);
  await shot('account-after-sign-up');

  await logOut();
  await shot('logged-out');

  // Log in through the HTML form.
  await page.fill('input[name=username]', email);
  await page.fill('input[name=password]', 'not the password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#msg.error').waitFor();
  await shot('login-refused');
  await page.fill('input[name=password]', password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expectAccountPage();
  await shot('account-after-login');

  // Signed in, /login and /register send the visitor to /account.
  for (const signedInOnly of ['/login', '/register']) {
    await page.goto(`${base}${signedInOnly}`);
    check(path() === '/account', `${signedInOnly} redirects a signed-in visitor to /account, not ${path()}`);
  }
  await shot('login-redirects-to-account');

  await logOut();
  await page.goto(`${base}/account`);
  check(path() === '/login?next=/account', `an anonymous /account goes to /login?next=/account, not ${path()}`);
  await shot('account-needs-login');

  // Logging in from there returns to /account.
  await page.fill('input[name=username]', email);
  await page.fill('input[name=password]', password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expectAccountPage();
  await logOut();
  await shot('logged-out-again');

  check(problems.length === 0, `the pages ran without errors: ${problems.join('; ')}`);
  console.log(`ok: ${email} signed up, logged in, was redirected and logged out`);
} catch (error) {
  failed = true;
  console.error(`FAILED at ${page.url()}: ${error.stack || error}`);
  if (problems.length) console.error(problems.join('\n'));
  try {
    await page.screenshot({ path: join(artifacts, 'failure.png'), fullPage: true });
    console.error(`screenshot ${join(artifacts, 'failure.png')}`);
  } catch (_) {
    // The browser may be gone; the error above says why.
  }
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
