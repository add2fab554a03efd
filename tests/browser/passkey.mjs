// Passkeys in a real browser: headless Chromium signs in with a password on /account, adds a
// passkey through Chromium's virtual authenticator (the CDP WebAuthn domain), signs out, and
// signs in again with the password and the passkey. With SCREENSHOTS=DIR it also saves the
// pages the README shows.
//
// Run by scripts/test. Needs AUTHGATE_BIN (the built binary) and /usr/bin/chromium.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const bin = process.env.AUTHGATE_BIN;
if (!bin) throw new Error('AUTHGATE_BIN is not set');
const shots = process.env.SCREENSHOTS;
if (shots) mkdirSync(shots, { recursive: true });

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function waitFor(port) {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`http://localhost:${port}/healthz`)).ok) return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`authgate did not start on ${port}`);
}

async function shot(page, name) {
  if (shots) await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

const dir = mkdtempSync(join(tmpdir(), 'authgate-passkey-'));
const port = await freePort();
const hash = execFileSync(bin, ['hash-password'], { input: 'correct horse' }).toString().trim();
// The relying party id must be a domain: localhost, not 127.0.0.1.
writeFileSync(join(dir, 'authgate.toml'), `
[server]
listen = ["127.0.0.1:${port}", "[::1]:${port}"]
public_url = "http://localhost:${port}"
threads = 2

[tokens]
signing_key_file = "${dir}/signing.pem"
create_key_if_missing = true

[login]
second_factor = "optional"

[storage]
url = "sqlite://${dir}/authgate.db"
encryption_key_file = "${dir}/storage.key"
create_key_if_missing = true

[[users]]
username = "demo"
password_hash = "${hash}"
email = "demo@example.com"
`);
const gateway = spawn(bin, ['--config', join(dir, 'authgate.toml')], { stdio: ['ignore', 'ignore', 'pipe'] });
let stderr = '';
gateway.stderr.on('data', (d) => { stderr += d; });

async function signIn(page, base) {
  await page.goto(`${base}/account`);
  assert.match(page.url(), /\/login\?auth=/, 'the account page asks for a sign-in');
  await page.fill('#username', 'demo');
  await page.fill('#password', 'correct horse');
  await page.click('button[type=submit]');
}

const timeout = setTimeout(() => { console.error('passkey test timed out'); process.exit(2); }, 90_000);
let browser;
try {
  await waitFor(port);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run'],
  });
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  const base = `http://localhost:${port}`;

  await signIn(page, base);
  await page.waitForURL(`${base}/account`);
  assert.equal(await page.title(), 'Your account · authgate');
  await shot(page, 'account');

  // The authenticator-app enrolment page (shown for the README, not completed here).
  await page.click('#add-totp');
  assert.match(await page.textContent('#totp-uri'), /^otpauth:\/\/totp\/authgate:demo\?/);
  await shot(page, 'enrol');
  await page.goto(`${base}/account`);

  // Another browser, signed in with the password alone before the passkey is added.
  const elsewhere = await (await browser.newContext()).newPage();
  await signIn(elsewhere, base);
  await elsewhere.waitForURL(`${base}/account`);

  await page.click('#add-passkey');
  await page.waitForSelector('#account-notice');
  assert.equal((await page.textContent('#account-notice')).trim(), 'Passkey added.');
  assert.equal(await page.locator('li.factor[data-kind="passkey"]').count(), 1);
  // Adding a passkey ends the other sessions, as adding an authenticator app does.
  await elsewhere.goto(`${base}/account`);
  assert.match(elsewhere.url(), /\/login\?auth=/, 'the other session has ended');

  await page.goto(`${base}/oauth2/logout`);
  await signIn(page, base);
  await page.waitForSelector('#use-passkey');
  await shot(page, 'second-factor');
  await page.click('#use-passkey');
  await page.waitForURL(`${base}/account`);
  const used = await page.textContent('li.factor[data-kind="passkey"]');
  assert.doesNotMatch(used, /last used never/, 'the passkey was used');
  console.log('passkey test: ok');
} catch (e) {
  console.error(e);
  console.error('authgate stderr:\n' + stderr);
  process.exitCode = 1;
} finally {
  clearTimeout(timeout);
  if (browser) await browser.close();
  gateway.kill('SIGKILL');
}
