// Passkeys and an authenticator app, in a real browser, through the pages of the reference
// server. Chromium's own WebAuthn stack answers the pages' `navigator.credentials` calls with a
// virtual authenticator of the DevTools protocol (CTAP2, internal, resident keys, user
// verification): real keys, real signatures, nothing stubbed in the page. The visitor
// - signs up, and on /account adds a passkey (the fresh session stands in for the password);
// - logs out and signs in with the passkey alone ("Sign in with a passkey");
// - sets up an authenticator app (the script reads the key shown, computes the codes itself:
//   RFC 6238, HMAC-SHA1, 6 digits, 30 s), confirms it and sees the recovery codes;
// - logs in with the password and finishes with a code (the next step's: the confirming step's
//   code is spent), is refused a spent code in words, finishes with a recovery code, and with
//   the passkey ("Use a passkey") as the second step;
// - removes the passkey, is refused it in words, and is no longer offered it as second step;
// - adds a passkey and signs in with it again where the browser lacks the JSON helpers of
//   WebAuthn (the pages' own base64url encoding);
// - is told in words that passkeys need the site's name when the page is opened at 127.0.0.1.
// Screenshots of every step go to ARTIFACT_DIR.
//
// Usage: ACCOUNT_EMAIL=... node mfa.mjs BASE_URL LOOPBACK_URL ARTIFACT_DIR
// BASE_URL is the server as http://localhost:PORT (the relying party of its passkeys is
// localhost), LOOPBACK_URL the same server as http://127.0.0.1:PORT. Run by
// tests/tests/browser_mfa.rs; tests/run.sh installs Debian's chromium and this folder's
// node_modules. CHROMIUM overrides /usr/bin/chromium.

import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';

const [base, loopback, artifacts] = process.argv.slice(2);
const email = process.env.ACCOUNT_EMAIL;
if (!base || !loopback || !artifacts || !email) {
  console.error('usage: ACCOUNT_EMAIL=... node mfa.mjs BASE_URL LOOPBACK_URL ARTIFACT_DIR');
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });
const origins = new Set([new URL(base).origin, new URL(loopback).origin]);
const password = 'a long and unusual passkey passphrase';

function check(condition, message) {
  if (!condition) throw new Error(message);
}

// RFC 4648 base 32, as authenticator apps read the key.
function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const out = [];
  let bits = 0;
  let value = 0;
  for (const c of text.replace(/[\s=-]/g, '').toUpperCase()) {
    const digit = alphabet.indexOf(c);
    check(digit >= 0, `the key is base 32: ${text}`);
    value = ((value << 5) | digit) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

// The RFC 6238 code of `step` (30-second steps since the epoch): HMAC-SHA1, 6 digits.
function totp(key, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}
const currentStep = () => Math.floor(Date.now() / 30_000);

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
// A browser without WebAuthn's JSON helpers (parse…FromJSON, toJSON), while the page's origin
// has `webauthn-by-hand` in its local storage: the pages then encode and decode by hand.
await context.addInitScript(() => {
  try {
    if (window.localStorage.getItem('webauthn-by-hand') === '1' && window.PublicKeyCredential) {
      delete window.PublicKeyCredential.parseCreationOptionsFromJSON;
      delete window.PublicKeyCredential.parseRequestOptionsFromJSON;
      delete window.PublicKeyCredential.prototype.toJSON;
    }
  } catch (_) {
    // No storage on this page (about:blank).
  }
});
const page = context.pages()[0] ?? (await context.newPage());
page.setDefaultTimeout(15_000);

// The virtual authenticator: a platform passkey with user verification.
const cdp = await context.newCDPSession(page);
await cdp.send('WebAuthn.enable');
const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
  options: {
    protocol: 'ctap2',
    transport: 'internal',
    hasResidentKey: true,
    hasUserVerification: true,
    isUserVerified: true,
    automaticPresenceSimulation: true,
  },
});
async function credentials() {
  return (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
}

// Anything unexpected is a problem: a script error, a request to another site, a failed
// request, an error status. Steps that provoke an error say which (`expecting`).
const problems = [];
const allowed = new Set();
page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
page.on('console', (message) => {
  // Failed loads are judged by the response and requestfailed handlers below.
  if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
    problems.push(`console error: ${message.text()}`);
  }
});
page.on('request', (request) => {
  const url = new URL(request.url());
  if (url.protocol !== 'data:' && !origins.has(url.origin)) {
    problems.push(`a request to another site: ${request.url()}`);
  }
});
page.on('requestfailed', (request) => {
  const error = request.failure()?.errorText;
  // A fetch whose page navigates away as it ends (the logout button) reports as aborted;
  // every step checks what the user sees.
  if (error === 'net::ERR_ABORTED') return;
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

const button = (name) => page.getByRole('button', { name, exact: true });

// The message the page shows in #`id` once it is not `pending` (a "waiting" note) any more.
async function message(id, pending = []) {
  await page.waitForFunction(
    ([id, pending]) => {
      const text = document.getElementById(id).textContent;
      return text !== '' && !pending.includes(text);
    },
    [id, pending],
  );
  const el = page.locator(`#${id}`);
  return { text: await el.innerText(), ok: (await el.getAttribute('class')) === 'ok' };
}

async function clearMessage(id) {
  await page.evaluate((id) => { document.getElementById(id).textContent = ''; }, id);
}

async function expectAccountPage() {
  await page.waitForURL((url) => url.pathname === '/account');
  const who = await page.locator('#who').innerText();
  check(who.includes(email), `the account page names ${email}: ${who}`);
}

async function logOut() {
  await page.goto(`${base}/account`);
  await button('Log out').click();
  await page.waitForURL((url) => url.pathname === '/login');
}

// The password form; returns when the second step's form shows (the login's answer is a
// 403 that asks for it).
async function passwordStep() {
  await page.fill('input[name=username]', email);
  await page.fill('input[name=password]', password);
  await expecting(['403 /auth/cookie/login'], async () => {
    await button('Log in').click();
    await page.locator('#second').waitFor({ state: 'visible' });
  });
  check(await page.locator('#f').isHidden(), 'the password form gives way to the second step');
}

async function passkeyRows() {
  return page.locator('#passkeys tr:has(button[data-passkey])').allInnerTexts();
}

async function addPasskey(name) {
  await page.fill('#passkey-name', name);
  await clearMessage('msg-passkeys');
  await button('Add a passkey').click();
  return message('msg-passkeys', ['Waiting for your device…']);
}

async function passkeySignIn(id, msg) {
  await clearMessage(msg);
  await page.locator(`#${id}`).click();
}

const waiting = ['Waiting for your passkey…'];

let failed = false;
try {
  // Sign up; the page logs the new account in and opens /account.
  await page.goto(`${base}/register`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await page.fill('input[name=first_name]', 'Ada');
  await button('Sign up').click();
  await expectAccountPage();
  check(await page.locator('#passkeys-none').isVisible(), 'no passkeys yet');
  check(await page.locator('#passkeys').isHidden(), 'no empty passkey table');
  check(await page.locator('#passkey-password').isHidden(), 'a fresh session adds a passkey without the password');
  await shot('account-no-passkeys');

  // Add a passkey: the virtual authenticator makes a resident credential.
  const name = 'Laptop <b>&</b>';
  const added = await addPasskey(name);
  check(added.ok && added.text.startsWith('The passkey is added.'), `the passkey is added: ${added.text}`);
  let rows = await passkeyRows();
  check(rows.length === 1 && rows[0].includes(name) && rows[0].includes('never'), `the new passkey is listed: ${rows}`);
  let held = await credentials();
  check(held.length === 1 && held[0].isResidentCredential && held[0].rpId === 'localhost',
    `the authenticator holds one resident passkey for localhost: ${JSON.stringify(held)}`);
  await shot('passkey-added');
  await page.reload();
  rows = await passkeyRows();
  check(rows.length === 1 && rows[0].includes(name), `the page lists the passkey, its name as text: ${rows}`);
  check(await page.locator('#passkeys b').count() === 0, 'no markup from the name');
  check(await page.locator('#passkeys-none').isHidden(), 'no "no passkeys" beside the list');

  // Log out; "Sign in with a passkey" alone opens /account.
  await logOut();
  await shot('login-page');
  await passkeySignIn('passkey-login', 'msg');
  await expectAccountPage();
  rows = await passkeyRows();
  check(rows.length === 1 && !rows[0].includes('never'), `the passkey was used: ${rows}`);
  await shot('signed-in-with-passkey');

  // Set up an authenticator app: the key shown, a code of it, the recovery codes.
  await page.locator('#totp-on input[name=current_password]').fill(password);
  await button('Set up an authenticator app').click();
  await page.locator('#totp-setup').waitFor({ state: 'visible' });
  const secret = (await page.locator('#totp-secret').innerText()).trim();
  const key = base32(secret);
  check(key.length >= 16, `a key of 128 bits or more: ${key.length} bytes`);
  check(await page.locator('#totp-qr').evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR code shows');
  await shot('totp-setup');
  let confirmedStep = currentStep();
  await page.fill('#totp-code', totp(key, confirmedStep));
  await button('Turn on').click();
  await page.locator('#recovery').waitFor({ state: 'visible' });
  const recoveryCodes = await page.locator('#recovery-codes li').allInnerTexts();
  check(recoveryCodes.length === 10, `ten recovery codes: ${recoveryCodes}`);
  check((await message('msg-2fa')).text === 'Two-step sign-in is on.', 'the page says two-step sign-in is on');
  await shot('totp-on-recovery-codes');

  // The password, then a code: the confirming step's code is spent, so the next step's.
  await logOut();
  await passwordStep();
  check(await page.locator('#code').isVisible(), 'the second step asks for a code');
  check(await page.locator('#use-passkey').isVisible(), 'the second step offers the passkey');
  const intro = await page.locator('#second-intro').innerText();
  check(intro.includes('recovery codes') && intro.includes('passkey'), `the second step says what it takes: ${intro}`);
  await shot('second-step');
  const loginStep = Math.max(confirmedStep + 1, currentStep());
  const loginCode = totp(key, loginStep);
  await page.fill('#code', loginCode);
  await button('Continue').click();
  await expectAccountPage();
  check((await page.locator('#totp-state').innerText()).includes('on'), 'the account page shows the app on');
  await shot('signed-in-with-code');

  // A spent code is refused in words; a recovery code finishes the login, once.
  await logOut();
  await passwordStep();
  await page.fill('#code', loginCode);
  await clearMessage('msg2');
  const spent = await expecting(['400 /auth/cookie/mfa'], async () => {
    await button('Continue').click();
    return message('msg2');
  });
  check(!spent.ok && spent.text.startsWith('This code is wrong, or was used already.'), `a spent code: ${spent.text}`);
  await shot('second-step-code-spent');
  await page.fill('#code', recoveryCodes[0]);
  await page.check('#use-recovery');
  await button('Continue').click();
  await expectAccountPage();
  const state = await page.locator('#totp-state').innerText();
  check(state.includes('Recovery codes left: 9'), `one recovery code is spent: ${state}`);
  await shot('signed-in-with-recovery-code');

  // The password, then the passkey as the second step.
  await logOut();
  await passwordStep();
  await passkeySignIn('use-passkey', 'msg2');
  await expectAccountPage();
  await shot('signed-in-with-password-and-passkey');

  // Remove the passkey: the list empties, the server refuses it, the second step no longer
  // offers it.
  await clearMessage('msg-passkeys');
  await page.locator('#passkeys button[data-passkey]').click();
  const removed = await message('msg-passkeys');
  check(removed.ok && removed.text.startsWith('The passkey is removed.'), `the passkey is removed: ${removed.text}`);
  check(await page.locator('#passkeys-none').isVisible() && await page.locator('#passkeys').isHidden(), 'no passkeys any more');
  await page.reload();
  check((await passkeyRows()).length === 0 && await page.locator('#passkeys-none').isVisible(), 'none after a reload either');
  await shot('passkey-removed');
  await logOut();
  await expecting(['400 /auth/cookie/passkey/finish'], async () => {
    await passkeySignIn('passkey-login', 'msg');
    const refused = await message('msg', waiting);
    check(!refused.ok && refused.text.startsWith('This passkey was not accepted'), `a removed passkey: ${refused.text}`);
  });
  check(new URL(page.url()).pathname === '/login', 'still on the login page');
  await shot('removed-passkey-refused');
  await passwordStep();
  check(await page.locator('#use-passkey').isHidden(), 'no passkey offered as the second step');
  await shot('second-step-without-passkey');
  await page.fill('#code', recoveryCodes[1]);
  await page.check('#use-recovery');
  await button('Continue').click();
  await expectAccountPage();

  // A browser without WebAuthn's JSON helpers: the pages encode by hand. The removed
  // credential leaves the authenticator, so that the sign-in below has one to offer.
  await cdp.send('WebAuthn.removeCredential', { authenticatorId, credentialId: held[0].credentialId });
  await page.evaluate(() => window.localStorage.setItem('webauthn-by-hand', '1'));
  await page.reload();
  check(await page.evaluate(() => typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'undefined'
    && typeof PublicKeyCredential.prototype.toJSON === 'undefined'), 'the JSON helpers are gone');
  const byHand = await addPasskey('Security key');
  check(byHand.ok, `a passkey added by hand: ${byHand.text}`);
  rows = await passkeyRows();
  check(rows.length === 1 && rows[0].includes('Security key'), `the new passkey is listed: ${rows}`);
  held = await credentials();
  check(held.length === 1, `the authenticator holds the new passkey: ${held.length}`);
  await shot('passkey-added-by-hand');
  await logOut();
  await passkeySignIn('passkey-login', 'msg');
  await expectAccountPage();
  await shot('signed-in-with-passkey-by-hand');
  await page.evaluate(() => window.localStorage.removeItem('webauthn-by-hand'));

  // At 127.0.0.1 the browser refuses the relying party localhost: the page says so.
  await page.goto(`${loopback}/login`);
  await passkeySignIn('passkey-login', 'msg');
  const elsewhere = await message('msg', waiting);
  check(!elsewhere.ok && elsewhere.text.includes('opened as localhost'), `passkeys at 127.0.0.1: ${elsewhere.text}`);
  await shot('passkey-at-ip-address');

  // Give the page's last requests a moment, then judge them.
  await sleep(200);
  check(problems.length === 0, `the pages ran without errors: ${problems.join('; ')}`);
  console.log(`ok: ${email} signed in with a passkey, with the password and a code, a recovery code and a passkey, and removed and re-added a passkey`);
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
