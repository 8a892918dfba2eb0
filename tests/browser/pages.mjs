// A new user, in a real browser, through every page of the reference server:
// - signs up, lands on the account page, verifies the address through the mailed link (twice:
//   the second time says it is already verified);
// - logs out, is refused with a wrong password (in words, not a code), logs in through the
//   form, is sent away from /login while signed in, and back to /account after a login
//   started at /login?next=/account;
// - is told in words that the address is taken, not an address, or the password unusable;
// - forgets the password: asks for a link, opens the mailed link, sets a new password, is
//   refused a second use of the link, and logs in with the new password only;
// - reads the articles page anonymously, then writes an article as an author;
// - is throttled after too many wrong logins and told when to try again, and told when the
//   server cannot be reached;
// - opens the API explorer at /docs, which loads only files of this site, and tries a request.
// Screenshots of every step go to ARTIFACT_DIR.
//
// Usage: AUTHOR_EMAIL=... AUTHOR_PASSWORD=... node pages.mjs BASE_URL ARTIFACT_DIR OUTBOX_DIR
// Run by tests/tests/browser.rs against a server process it starts (which writes its mail
// to OUTBOX_DIR); tests/run.sh installs Debian's chromium and this folder's node_modules.
// CHROMIUM overrides /usr/bin/chromium.

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';

const [base, artifacts, outbox] = process.argv.slice(2);
const authorEmail = process.env.AUTHOR_EMAIL;
const authorPassword = process.env.AUTHOR_PASSWORD;
if (!base || !artifacts || !outbox || !authorEmail || !authorPassword) {
  console.error('usage: AUTHOR_EMAIL=... AUTHOR_PASSWORD=... node pages.mjs BASE_URL ARTIFACT_DIR OUTBOX_DIR');
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });
const origin = new URL(base).origin;

const email = `browser.${Date.now()}.${Math.floor(Math.random() * 1e6)}@example.com`;
const password = 'a long and unusual browser passphrase';
const newPassword = 'another quite unusual passphrase';

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

// Anything unexpected is a problem: a script error, a request to another site, a failed
// request, an error status. Steps that provoke an error say which (`expecting`).
const problems = [];
const allowed = new Set();
let allowAborted = false;
page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
page.on('console', (message) => {
  // Failed loads are judged by the response and requestfailed handlers below.
  if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
    problems.push(`console error: ${message.text()}`);
  }
});
page.on('request', (request) => {
  const url = new URL(request.url());
  if (url.protocol !== 'data:' && url.origin !== origin) {
    problems.push(`a request to another site: ${request.url()}`);
  }
});
page.on('requestfailed', (request) => {
  const error = request.failure()?.errorText;
  // Chromium reports a fetch as aborted when the page it belongs to navigates away as the
  // fetch ends (the logout buttons send, then move to the login page); every step checks what
  // the user sees, so such an abort is judged there. Any other failure is a problem.
  if (allowAborted || error === 'net::ERR_ABORTED') return;
  problems.push(`request failed: ${request.url()} ${error}`);
});
page.on('response', (response) => {
  const { pathname } = new URL(response.url());
  if (response.status() >= 400 && !allowed.has(`${response.status()} ${pathname}`)) {
    problems.push(`${response.status()} for ${response.request().method()} ${response.url()}`);
  }
});

async function expecting(answers, step) {
  answers.forEach((answer) => allowed.add(answer));
  try {
    return await step();
  } finally {
    answers.forEach((answer) => allowed.delete(answer));
  }
}

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

// Clicks `button` and returns the message the page then shows in #msg.
async function submit(button) {
  await page.evaluate(() => { document.getElementById('msg').textContent = ''; });
  await page.getByRole('button', { name: button, exact: true }).click();
  await page.waitForFunction(() => document.getElementById('msg').textContent !== '');
  const msg = page.locator('#msg');
  return { text: await msg.innerText(), ok: (await msg.getAttribute('class')) === 'ok' };
}

// The `n`-th mail (from 1) to `to` whose subject has `subject`, waiting up to ten seconds.
async function mail(to, subject, n = 1) {
  for (let i = 0; i < 100; i += 1) {
    const found = readdirSync(outbox)
      .filter((name) => name.endsWith('.eml'))
      .sort()
      .map((name) => readFileSync(join(outbox, name), 'utf8'))
      .filter((raw) => {
        const head = raw.split('\n\n')[0];
        return head.includes(`To: ${to}`) && head.includes(`Subject: ${subject}`);
      });
    if (found.length >= n) {
      const link = found[n - 1].split(/\s+/).find((word) => word.startsWith('http'));
      check(link && link.startsWith(`${base}/`), `the mail links to this site: ${link}`);
      return link;
    }
    await sleep(100);
  }
  throw new Error(`no mail #${n} "${subject}" to ${to} in ${outbox}`);
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

async function logIn(user, secret) {
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', secret);
  await page.getByRole('button', { name: 'Log in' }).click();
}

const refused = ['400 /auth/cookie/login'];

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
  check((await page.locator('body').innerText()).includes('not verified yet'), 'the new address is not verified');
  await shot('account-after-sign-up');

  // Verify through the mailed link; the token leaves the address bar.
  const verifyLink = await mail(email, 'Confirm your e-mail address');
  await page.goto(verifyLink);
  await page.locator('#msg.ok').waitFor();
  check(await page.locator('#msg').innerText() === 'Your address is verified.', 'the verify page says so');
  check(path() === '/verify' && !page.url().includes('token'), `the token leaves the address bar: ${page.url()}`);
  await shot('verified');
  await expecting(['400 /auth/verify'], async () => {
    // From another page: from /verify itself, the link would only change the fragment.
    await page.goto(`${base}/`);
    await page.goto(verifyLink);
    await page.waitForFunction(() => document.getElementById('msg').textContent !== 'Verifying…');
  });
  const again = await page.locator('#msg').innerText();
  check(again.includes('already verified'), `a second visit says it is already verified: ${again}`);
  await shot('verified-again');
  await page.goto(`${base}/account`);
  check((await page.locator('body').innerText()).includes('Address verified.'), 'the account page shows the address verified');
  check(await page.locator('#resend').count() === 0, 'no resend button once verified');

  await logOut();
  await shot('logged-out');

  // A wrong password is refused in words.
  await page.fill('input[name=username]', email);
  await page.fill('input[name=password]', 'not the password');
  const wrong = await expecting(refused, () => submit('Log in'));
  check(!wrong.ok && wrong.text === 'The e-mail address or the password is wrong.', `a wrong password: ${wrong.text}`);
  await shot('login-refused');
  await logIn(email, password);
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
  await logIn(email, password);
  await expectAccountPage();
  await logOut();
  await shot('logged-out-again');

  // Sign-up mistakes, in words: a taken address, a non-address, an unusable password.
  await page.goto(`${base}/register`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  const taken = await expecting(['400 /auth/register'], () => submit('Sign up'));
  check(taken.text.startsWith('There is already an account with this e-mail address.'), `a taken address: ${taken.text}`);
  await shot('register-taken');
  await page.fill('input[name=email]', 'someone@example');
  const notAnAddress = await expecting(['422 /auth/register'], () => submit('Sign up'));
  check(notAnAddress.text.startsWith('E-mail: this is not a valid e-mail address'), `not an address: ${notAnAddress.text}`);
  await shot('register-not-an-address');
  const other = `other.${Date.now()}@example.com`;
  await page.fill('input[name=email]', other);
  await page.fill('input[name=password]', `${other} is mine`);
  const unusable = await expecting(['400 /auth/register'], () => submit('Sign up'));
  check(unusable.text.startsWith('This password cannot be used: '), `an unusable password: ${unusable.text}`);
  check(!/[A-Z]{3,}_/.test(unusable.text), `no code shown: ${unusable.text}`);
  await shot('register-password-refused');

  // Forgot the password: the mailed link opens the reset page, which sets a new one.
  await page.goto(`${base}/login`);
  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await page.waitForURL((url) => url.pathname === '/forgot-password');
  await page.fill('input[name=email]', email);
  const asked = await submit('Send me a reset link');
  check(asked.ok, `the forgot page confirms: ${asked.text}`);
  await shot('forgot-password-sent');
  const resetLink = await mail(email, 'Reset your password');
  await page.goto(resetLink);
  await shot('reset-password-page');
  await page.fill('input[name=password]', newPassword);
  const reset = await submit('Set password');
  check(reset.ok && reset.text.startsWith('Your password is changed.'), `the reset page confirms: ${reset.text}`);
  check(!page.url().includes('token'), `the token leaves the address bar: ${page.url()}`);
  await shot('reset-password-done');
  // The link works once.
  await page.goto(`${base}/`);
  await page.goto(resetLink);
  await page.fill('input[name=password]', 'yet another long passphrase');
  const reused = await expecting(['400 /auth/reset-password'], () => submit('Set password'));
  check(reused.text.startsWith('This reset link is not valid any more'), `a used link: ${reused.text}`);
  await shot('reset-link-used');
  // The old password no longer works; the new one does.
  await page.goto(`${base}/login`);
  await page.fill('input[name=username]', email);
  await page.fill('input[name=password]', password);
  const old = await expecting(refused, () => submit('Log in'));
  check(old.text === 'The e-mail address or the password is wrong.', `the old password: ${old.text}`);
  await logIn(email, newPassword);
  await expectAccountPage();
  await shot('account-after-reset');
  await logOut();

  // The articles page: anyone reads, an author writes.
  await page.getByRole('link', { name: 'Articles' }).click();
  await page.waitForURL((url) => url.pathname === '/blog');
  check(await page.locator('#none').isVisible(), 'no articles yet');
  check(await page.locator('#write').count() === 0, 'no form for a visitor');
  await shot('articles-anonymous');
  await page.getByRole('link', { name: 'Log in' }).last().click();
  check(path() === '/login?next=/blog', `the page's login link returns to it: ${path()}`);
  await logIn(authorEmail, authorPassword);
  await page.waitForURL((url) => url.pathname === '/blog');
  const title = 'Notes on <the> analytical engine';
  await page.fill('input[name=title]', title);
  await page.fill('textarea[name=body]', 'It weaves algebraic patterns\njust as the Jacquard loom weaves flowers and leaves.');
  await page.getByRole('button', { name: 'Publish' }).click();
  await page.locator('article h2').first().waitFor();
  check(await page.locator('article h2').first().innerText() === title, 'the new article is listed, escaped');
  await shot('articles-written');
  await page.goto(`${base}/logout`);
  await page.getByRole('button', { name: 'Log out', exact: true }).click();
  await page.locator('#msg.ok').waitFor();

  // Too many wrong logins: throttled, and told when to try again.
  await page.goto(`${base}/login`);
  const stranger = `nobody.${Date.now()}@example.com`;
  let throttled = null;
  await expecting([...refused, '429 /auth/cookie/login'], async () => {
    for (let attempt = 0; attempt < 20 && !throttled; attempt += 1) {
      await page.fill('input[name=username]', stranger);
      await page.fill('input[name=password]', `wrong guess ${attempt}`);
      const answer = await submit('Log in');
      if (answer.text.startsWith('Too many attempts.')) throttled = answer.text;
    }
  });
  check(throttled && /^Too many attempts\. Please try again in \d+ (minutes?|seconds?|hours?)\.$/.test(throttled),
    `a throttled login says when to try again: ${throttled}`);
  await shot('login-throttled');

  // The server out of reach.
  await page.route('**/auth/cookie/login', (route) => route.abort('internetdisconnected'));
  allowAborted = true;
  await page.fill('input[name=password]', 'whatever');
  const offline = await submit('Log in');
  allowAborted = false;
  await page.unroute('**/auth/cookie/login');
  check(offline.text.startsWith('The server cannot be reached.'), `no connection: ${offline.text}`);
  await shot('login-offline');

  // The API explorer: Swagger UI from this site's files, with "try it out".
  await page.goto(`${base}/docs`);
  check(path() === '/docs/', `/docs opens the explorer: ${path()}`);
  await page.locator('.opblock').first().waitFor();
  check(await page.locator('.opblock').count() > 10, 'the explorer lists the operations');
  await page.getByText('Accounts reference server', { exact: false }).first().waitFor();
  await shot('docs');
  const health = page.locator('.opblock', { has: page.locator('.opblock-summary-path', { hasText: /^\/health$/ }) });
  await health.locator('.opblock-summary').click();
  // "Try it out" is on from the start: the Execute button is there at once.
  await health.getByRole('button', { name: 'Execute' }).click();
  await health.locator('.live-responses-table tr.response .response-col_status').first().waitFor();
  const status = (await health.locator('.live-responses-table tr.response .response-col_status').first().innerText()).trim();
  check(status === '200', `trying GET /health answers 200: ${status}`);
  await shot('docs-try-it-out');

  check(problems.length === 0, `the pages ran without errors: ${problems.join('; ')}`);
  console.log(`ok: ${email} signed up, verified, logged in, reset the password, read and wrote articles, and used the explorer`);
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
