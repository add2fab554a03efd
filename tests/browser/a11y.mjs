// Accessibility: axe-core in headless Chromium on every page a person meets (login, a failed
// login, second factor, enrolment, recovery codes, account, consent, the admin console, device,
// an error, sign-out), in
// English and in German, in the light and the dark theme. Any violation of impact serious or
// critical fails; every result is printed. With SCREENSHOTS=DIR it also saves the login page
// in English and Japanese and in the dark theme.
//
// Run by scripts/test. Needs AUTHGATE_BIN (the built binary) and /usr/bin/chromium.

import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor, startAuthgate, run } from './harness.mjs';

const require = createRequire(import.meta.url);
const axePath = require.resolve('axe-core');
const bin = process.env.AUTHGATE_BIN;
if (!bin) throw new Error('AUTHGATE_BIN is not set');
const shots = process.env.SCREENSHOTS;
if (shots) mkdirSync(shots, { recursive: true });



// RFC 6238 with SHA-1, 30-second steps, six digits: the code an authenticator app shows.
function totp(base32) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of base32.replace(/=+$/, '')) bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const off = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(off) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

const dir = mkdtempSync(join(tmpdir(), 'authgate-a11y-'));
const port = await freePort();
const hash = execFileSync(bin, ['hash-password'], { input: 'correct horse' }).toString().trim();
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

[[clients]]
client_id = "third"
name = "Third app"
client_secret_sha256 = "${'0'.repeat(64)}"
redirect_uris = ["https://third.test/cb"]
consent = true

[audit]
file = "${dir}/audit.jsonl"

${['en-light', 'de-light', 'en-dark'].map((u) => `[[users]]
username = "${u}"
password_hash = "${hash}"
groups = ["authgate-admins"]
`).join('\n')}`);
const gateway = startAuthgate(bin, join(dir, 'authgate.toml'));
const base = `http://localhost:${port}`;

let failures = 0;
async function audit(page, name) {
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(() => axe.run(document, { resultTypes: ['violations'] }));
  const serious = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const minor = result.violations.length - serious.length;
  console.log(`axe ${name}: ${serious.length} serious or critical, ${minor} minor, ${result.passes.length} rules passed`);
  for (const v of result.violations) {
    console.log(`  ${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  }
  failures += serious.length;
}

async function signIn(page, user, password = 'correct horse') {
  await page.goto(`${base}/account`);
  await page.fill('#username', user);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
}

await run('a11y', { seconds: 120, gateways: [gateway] }, async (browser) => {
  await waitFor(port, 'localhost');
  // The harness itself: a page with an unlabelled field must be reported.
  {
    const probe = await (await browser.newContext()).newPage();
    await probe.setContent('<!doctype html><html lang="en"><title>t</title><main><input type="text"></main></html>');
    await probe.addScriptTag({ path: axePath });
    const found = await probe.evaluate(() => axe.run(document, { resultTypes: ['violations'] }));
    if (!found.violations.some((v) => v.id === 'label' && v.impact === 'critical')) {
      throw new Error('axe did not report an unlabelled field: the audit cannot fail');
    }
  }
  for (const [lang, scheme] of [['en', 'light'], ['de', 'light'], ['en', 'dark']]) {
    const tag = `${lang}/${scheme}`;
    const user = `${lang}-${scheme}`;
    // The pages allow no inline script: axe is injected past the CSP, the pages are not changed.
    const context = await browser.newContext({
      bypassCSP: true, colorScheme: scheme, extraHTTPHeaders: { 'Accept-Language': lang },
    });
    const page = await context.newPage();
    await page.goto(`${base}/login`);
    await audit(page, `${tag} login`);
    if (shots && scheme === 'dark') await page.screenshot({ path: join(shots, 'login-dark.png') });
    if (shots && lang === 'en' && scheme === 'light') await page.screenshot({ path: join(shots, 'login-en.png') });
    await signIn(page, user, 'wrong');
    await page.waitForSelector('#login-error');
    const focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
    if (focused !== 'login-error') throw new Error(`focus is on ${focused}, not the error`);
    await audit(page, `${tag} failed login`);
    await signIn(page, user);
    await page.waitForURL(`${base}/account`);
    await audit(page, `${tag} account`);
    await page.click('#add-totp');
    await page.waitForSelector('#totp-secret');
    await audit(page, `${tag} enrolment`);
    const secret = (await page.textContent('#totp-secret')).trim();
    await page.fill('#otp', totp(secret));
    await page.click('button[type=submit]');
    await page.waitForSelector('#recovery-codes');
    await audit(page, `${tag} recovery codes`);
    await page.click('#continue');
    await page.goto(`${base}/oauth2/authorize?client_id=third&response_type=code&scope=openid+email+profile`);
    await page.waitForSelector('#consent-allow');
    await audit(page, `${tag} consent`);
    for (const view of ['', '/sessions', '/app-passwords', '/clients', '/audit']) {
      await page.goto(`${base}/admin${view}`);
      await page.waitForSelector('.admin-nav');
      await audit(page, `${tag} admin${view || ' users'}`);
    }
    await page.goto(`${base}/device`);
    await audit(page, `${tag} device`);
    await page.goto(`${base}/oauth2/logout`);
    await audit(page, `${tag} signed out`);
    await signIn(page, user);
    await page.waitForSelector('#otp');
    await audit(page, `${tag} second factor`);
    await page.goto(`${base}/login?auth=expired`);
    await audit(page, `${tag} error`);
    // Keyboard alone: Tab from the top reaches the username, then the password, then the button.
    await page.goto(`${base}/login`);
    await page.keyboard.press('Tab');
    const order = [];
    for (let i = 0; i < 3; i++) {
      order.push(await page.evaluate(() => document.activeElement.id || document.activeElement.tagName));
      await page.keyboard.press('Tab');
    }
    if (order[0] !== 'password' && order[0] !== 'username') throw new Error(`tab order: ${order}`);
    await context.close();
  }
  if (shots) {
    const ja = await browser.newContext({ extraHTTPHeaders: { 'Accept-Language': 'ja' } });
    const p = await ja.newPage();
    await p.goto(`${base}/login`);
    await p.screenshot({ path: join(shots, 'login-ja.png') });
  }
  if (failures > 0) throw new Error(`${failures} serious or critical accessibility violation(s)`);
});
