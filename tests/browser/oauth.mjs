// "Continue with corp" in a real browser, against the reference server and a real OpenID
// provider (oidc-provider's development login and consent pages, tests/oidc):
// - from /login, the visitor follows "Continue with corp", signs in on the provider's own login
//   page, accepts its consent page and lands on /account, which names the provider's address;
// - logs out through the account page, then signs in with the provider again and lands on
//   /account (the provider may skip its login and consent pages this time: both are handled);
// - starts the flow once more and, instead of finishing it, opens the provider's earlier
//   redirect back to the server a second time (a replayed state): the login page says in words
//   that the sign-in link was used, no auth cookie is set, and starting over works.
// Screenshots of every step go to ARTIFACT_DIR.
//
// Usage: PROVIDER_LOGIN=... ACCOUNT_EMAIL=... node oauth.mjs BASE_URL ISSUER ARTIFACT_DIR
// Run by tests/tests/browser_oauth.rs against a server process and a provider process it
// starts; tests/run.sh installs Debian's chromium and this folder's node_modules.
// CHROMIUM overrides /usr/bin/chromium.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [base, issuer, artifacts] = process.argv.slice(2);
const login = process.env.PROVIDER_LOGIN;
const email = process.env.ACCOUNT_EMAIL;
if (!base || !issuer || !artifacts || !login || !email) {
  console.error('usage: PROVIDER_LOGIN=... ACCOUNT_EMAIL=... node oauth.mjs BASE_URL ISSUER ARTIFACT_DIR');
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });
const origin = new URL(base).origin;
const providerOrigin = new URL(issuer).origin;
// The provider's development pages @import a web font; it is answered here (an empty style
// sheet) so that nothing leaves the machine.
const fontHost = 'fonts.googleapis.com';

function check(condition, message) {
  if (!condition) throw new Error(message);
}

// The same Chromium flags as pages.mjs: no sandbox as root, no GPU, no background connections.
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
await context.route(`https://${fontHost}/**`, (route) =>
  route.fulfill({ status: 200, contentType: 'text/css', body: '' }));

// Anything unexpected is a problem: a script error, a request to a site other than the server
// and the provider, a failed request, an error status.
const problems = [];
// Every redirect from the provider back to the server, in order.
const callbacks = [];
page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
page.on('console', (message) => {
  if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
    problems.push(`console error: ${message.text()}`);
  }
});
page.on('request', (request) => {
  const url = new URL(request.url());
  if (url.origin === origin && url.pathname === '/auth/cookie/corp/callback') {
    callbacks.push(request.url());
  }
  if (url.protocol !== 'data:' && url.origin !== origin && url.origin !== providerOrigin
    && url.hostname !== fontHost) {
    problems.push(`a request to another site: ${request.url()}`);
  }
});
page.on('requestfailed', (request) => {
  const error = request.failure()?.errorText;
  // The logout button's fetch ends as the page moves to /login (see pages.mjs).
  if (error === 'net::ERR_ABORTED') return;
  problems.push(`request failed: ${request.url()} ${error}`);
});
page.on('response', (response) => {
  if (response.status() >= 400) {
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

function here() {
  const url = new URL(page.url());
  return url.origin === origin ? url.pathname + url.search : url.href;
}

async function authCookies() {
  return (await context.cookies(base))
    .map((cookie) => cookie.name)
    .filter((name) => name === 'access_token' || name === 'refresh_token');
}

// Runs `action` (a click that leaves the page) and waits for the next page to load: the
// redirects between the server and the provider are one navigation each.
async function leaving(action) {
  await Promise.all([page.waitForEvent('load'), action()]);
}

// Follows "Continue with corp" on the login page, then goes through whatever the provider
// shows (its login page, its consent page, or neither) until the browser is back on the
// server. Returns the provider pages seen, in order.
async function continueWithProvider(label) {
  const link = page.getByRole('link', { name: 'Continue with corp', exact: true });
  const href = await link.getAttribute('href');
  check(href.startsWith('/auth/cookie/corp/authorize?next='), `the provider link: ${href}`);
  await leaving(() => link.click());
  const seen = [];
  for (let i = 0; i < 4 && new URL(page.url()).origin === providerOrigin; i += 1) {
    const { pathname } = new URL(page.url());
    check(pathname.startsWith('/interaction/'), `a provider page that is no interaction: ${page.url()}`);
    const prompt = await page.locator('form input[name=prompt]').getAttribute('value');
    seen.push(prompt);
    if (prompt === 'login') {
      await page.fill('input[name=login]', login);
      await page.fill('input[name=password]', 'any password');
      await shot(`${label}-provider-login`);
      await leaving(() => page.getByRole('button', { name: 'Sign-in', exact: true }).click());
    } else if (prompt === 'consent') {
      await shot(`${label}-provider-consent`);
      await leaving(() => page.getByRole('button', { name: 'Continue', exact: true }).click());
    } else {
      throw new Error(`an unknown provider page (${prompt}) at ${page.url()}`);
    }
  }
  check(new URL(page.url()).origin === origin, `back on the server after the provider: ${page.url()}`);
  return seen;
}

async function expectAccountPage() {
  check(here() === '/account', `the provider sign-in lands on /account, not ${here()}`);
  const who = await page.locator('#who').innerText();
  check(who.includes(email), `the account page names ${email}: ${who}`);
  check((await authCookies()).length === 2, `both auth cookies are set: ${await authCookies()}`);
  const csrf = (await context.cookies(base)).find((cookie) => cookie.name === 'fastapiusersoauthcsrf');
  check(!csrf, 'the CSRF cookie of the flow is gone once it is over');
}

async function logOut() {
  await page.getByRole('button', { name: 'Log out', exact: true }).click();
  await page.waitForURL((url) => url.origin === origin && url.pathname === '/login');
  check((await authCookies()).length === 0, `logging out clears the cookies: ${await authCookies()}`);
}

let failed = false;
try {
  // First sign-in: the provider's login page, then its consent page, then /account.
  await page.goto(`${base}/login`);
  await shot('login-page');
  const first = await continueWithProvider('first');
  check(first.join(',') === 'login,consent', `the first sign-in shows the provider's login and consent pages: ${first}`);
  await expectAccountPage();
  check(callbacks.length === 1, `one redirect back to the server: ${callbacks}`);
  await shot('account-after-first-sign-in');

  await logOut();
  await shot('logged-out');

  // Again: the provider remembers the browser (and the consent), so it may show nothing.
  const second = await continueWithProvider('second');
  check(['', 'login', 'consent', 'login,consent'].includes(second.join(',')), `the second sign-in: ${second}`);
  await expectAccountPage();
  check(callbacks.length === 2, `a second redirect back to the server: ${callbacks}`);
  await shot(`account-after-second-sign-in${second.length ? `-via-${second.join('-')}` : ''}`);
  await logOut();

  // A replayed callback: start the flow (the provider is made to forget this browser, so the
  // flow stops at its login page), then open the earlier redirect back to the server again.
  await context.clearCookies({ domain: new URL(issuer).hostname, name: /^_session/ });
  const link = page.getByRole('link', { name: 'Continue with corp', exact: true });
  await leaving(() => link.click());
  check(new URL(page.url()).origin === providerOrigin, `the flow stops at the provider's login page: ${page.url()}`);
  check(await page.locator('input[name=login]').count() === 1, 'the provider asks for a login');
  await shot('replay-flow-started');
  check((await context.cookies(base)).some((cookie) => cookie.name === 'fastapiusersoauthcsrf'),
    'the started flow has its CSRF cookie');
  await page.goto(callbacks[1]);
  check(here() === '/login?error=OAUTH_INVALID_STATE', `a replayed state goes to the login page with its code: ${here()}`);
  const message = await page.locator('#oauth-error').innerText();
  check(message === 'That sign-in link was used or has expired: please try again.', `the login page says why: ${message}`);
  check((await authCookies()).length === 0, `a replayed state signs nobody in: ${await authCookies()}`);
  await shot('replayed-callback-refused');

  // Starting over from there works.
  const retry = await continueWithProvider('retry');
  check(retry[0] === 'login', `the provider asks for a login again: ${retry}`);
  await expectAccountPage();
  await shot('account-after-retry');

  check(problems.length === 0, `the pages ran without errors: ${problems.join('; ')}`);
  console.log(`ok: ${email} signed in with the provider (${first}), again (${second.join(',') || 'no provider page'}), was refused a replayed callback, and signed in after it (${retry})`);
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
