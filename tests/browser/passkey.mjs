// Passkeys in a real browser: headless Chromium signs in with a password on /account, adds a
// passkey through Chromium's virtual authenticator (the CDP WebAuthn domain), signs out, and
// signs in again with the password and the passkey. Then the passkey alone signs in from a
// fresh browser: through the autofill request pending on page load, and through the button,
// onto a route that needs a second factor. With SCREENSHOTS=DIR it also saves the pages the
// book shows.
//
// Run by scripts/test. Needs AUTHGATE_BIN (the built binary) and /usr/bin/chromium.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { freePort, waitFor, startAuthgate, run } from './harness.mjs';

const bin = process.env.AUTHGATE_BIN;
if (!bin) throw new Error('AUTHGATE_BIN is not set');
const shots = process.env.SCREENSHOTS;
if (shots) mkdirSync(shots, { recursive: true });



async function shot(page, name) {
  if (shots) await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

const dir = mkdtempSync(join(tmpdir(), 'authgate-passkey-'));
const port = await freePort();
// The app behind a step-up route: it answers with the user authgate forwarded.
const app = createHttpServer((req, res) => {
  res.end(`app for ${req.headers['x-forwarded-user'] || 'nobody'}`);
});
await new Promise((r) => app.listen(0, '127.0.0.1', r));
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

[[routes]]
host = "localhost"
path_prefix = "/app"
upstreams = ["127.0.0.1:${app.address().port}"]
require_second_factor = true

[[users]]
username = "demo"
password_hash = "${hash}"
email = "demo@example.com"
`);
const gateway = startAuthgate(bin, join(dir, 'authgate.toml'));

function noAutofill() {
  PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);
}

async function authenticatorOf(cdp) {
  return cdp.authenticatorId;
}

async function signIn(page, base) {
  await page.goto(`${base}/account`);
  assert.match(page.url(), /\/login\?auth=/, 'the account page asks for a sign-in');
  await page.fill('#username', 'demo');
  await page.fill('#password', 'correct horse');
  await page.click('button[type=submit]');
}

await run('passkey', { seconds: 90, gateways: [gateway], cleanup: () => app.close() }, async (browser) => {
  await waitFor(port, 'localhost');
  const context = await browser.newContext();
  // This browser signs in with the password and uses the passkey as a second factor: no
  // passkey autofill here (the fresh browsers below have it).
  await context.addInitScript(noAutofill);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  ({ authenticatorId: cdp.authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  }));
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
  assert.doesNotMatch(used, /second factor only/, 'a new passkey signs in on its own');

  // The passkey moves to a fresh browser (a synced passkey): no session, no password.
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId: (await authenticatorOf(cdp)) });
  assert.equal(credentials.length, 1);
  assert.ok(credentials[0].isResidentCredential, 'the passkey is discoverable');
  // The signature counter moves with each use; each fresh browser gets the passkey as the
  // last one left it (an older copy would look cloned, and be refused).
  let passkey = credentials[0];
  let last;
  const fresh = async (conditional) => {
    if (last) passkey = (await last.cdp.send('WebAuthn.getCredentials', { authenticatorId: last.id })).credentials[0];
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    if (!conditional) await p.addInitScript(noAutofill);
    const c = await ctx.newCDPSession(p);
    await c.send('WebAuthn.enable');
    const { authenticatorId } = await c.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true,
        hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    await c.send('WebAuthn.addCredential', { authenticatorId, credential: passkey });
    last = { cdp: c, id: authenticatorId };
    return p;
  };

  // Autofill: the conditional request is pending as the page loads, and the authenticator
  // answers it: the step-up route opens without a password or a second-factor page.
  const auto = await fresh(true);
  await auto.goto(`${base}/app/`);
  try {
    await auto.waitForURL(`${base}/app/`, { timeout: 10_000 });
  } catch (e) {
    console.error(await auto.content());
    throw e;
  }
  assert.equal((await auto.textContent('body')).trim(), 'app for demo');

  // The button, where the browser has no autofill for passkeys.
  const button = await fresh(false);
  await button.goto(`${base}/app/`);
  assert.match(button.url(), /\/login\?auth=/);
  assert.equal(await button.getAttribute('#username', 'autocomplete'), 'username webauthn');
  await shot(button, 'login-passkey');
  await button.click('#passkey-sign-in');
  try {
    await button.waitForURL(`${base}/app/`, { timeout: 10_000 });
  } catch (e) {
    console.error(await button.content());
    throw e;
  }
  assert.equal((await button.textContent('body')).trim(), 'app for demo');
});
