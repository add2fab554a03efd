// People in a real browser: headless Chromium follows the invitation link from a mail that a
// real SMTP server (aiosmtpd, STARTTLS under a throwaway CA) received, chooses a password,
// signs in, then asks for a reset at "Forgot your password?" and follows that mail's link too.
// axe-core audits the set-password and forgot pages on the way.
//
// Run by scripts/test. Needs AUTHGATE_BIN, /usr/bin/chromium and python3-aiosmtpd.

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { freePort, waitFor, startAuthgate, run } from './harness.mjs';

const require = createRequire(import.meta.url);
const axePath = require.resolve('axe-core');
const bin = process.env.AUTHGATE_BIN;
if (!bin) throw new Error('AUTHGATE_BIN is not set');
const here = dirname(fileURLToPath(import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'authgate-people-'));
const openssl = (...args) => execFileSync('openssl', args, { stdio: 'ignore' });
openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=people test CA',
  '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.pem'));
openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1',
  '-keyout', join(dir, 'server.key'), '-out', join(dir, 'server.csr'));
writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
openssl('x509', '-req', '-days', '2', '-CAcreateserial', '-in', join(dir, 'server.csr'), '-CA', join(dir, 'ca.pem'),
  '-CAkey', join(dir, 'ca.key'), '-extfile', join(dir, 'ext.cnf'), '-out', join(dir, 'server.pem'));

const [port, smtpPort] = [await freePort(), await freePort()];
const mailDir = join(dir, 'mail');
const smtp = spawn('/usr/bin/python3', [join(here, '../fixtures/smtp_server.py'), '--port', String(smtpPort),
  '--dir', mailDir, '--tls', 'starttls', '--cert', join(dir, 'server.pem'), '--key', join(dir, 'server.key')],
{ stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise((resolve, reject) => {
  smtp.stdout.on('data', (d) => { if (String(d).includes('ready')) resolve(); });
  smtp.on('exit', (c) => reject(new Error(`the SMTP server exited (${c})`)));
});

writeFileSync(join(dir, 'authgate.toml'), `
[server]
listen = ["127.0.0.1:${port}"]
public_url = "http://127.0.0.1:${port}"
threads = 2

[tokens]
signing_key_file = "${dir}/signing.pem"
create_key_if_missing = true

[storage]
url = "sqlite://${dir}/authgate.db"
encryption_key_file = "${dir}/storage.key"
create_key_if_missing = true

[smtp]
url = "smtp://127.0.0.1:${smtpPort}"
from = "Example Corp <auth@example.com>"
ca_file = "${dir}/ca.pem"

[branding]
name = "Example Corp"
`);
const config = join(dir, 'authgate.toml');
const gateway = startAuthgate(bin, config);
const base = `http://127.0.0.1:${port}`;

/** The link to `path` in mail number `n` (waiting up to 10 s for it). */
async function mailedLink(n, path) {
  for (let i = 0; i < 200; i++) {
    const files = readdirSync(mailDir, { withFileTypes: true }).filter((f) => f.name.endsWith('.json')).map((f) => f.name).sort();
    if (files.length >= n) {
      const mail = JSON.parse(readFileSync(join(mailDir, files[n - 1]), 'utf8'));
      const found = mail.text.split(/\s+/).find((w) => w.includes(path));
      if (found) return found;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no mail ${n} with ${path}`);
}

async function audit(page, name) {
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(() => axe.run(document, { resultTypes: ['violations'] }));
  const serious = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  console.log(`axe ${name}: ${serious.length} serious or critical`);
  for (const v of result.violations) console.log(`  ${v.impact} ${v.id}: ${v.help}`);
  assert.equal(serious.length, 0, `${name}: accessibility violations`);
}

async function choosePassword(page, password) {
  await page.fill('#new-password', password);
  await page.fill('#new-password-again', password);
  await page.click('#save-password');
}

await run('people', { seconds: 120, gateways: [gateway], cleanup: () => smtp.kill('SIGTERM') }, async (browser) => {
  await waitFor(port);
  execFileSync(bin, ['users', 'add', '--config', config, '--user', 'nora', '--email', 'nora@example.com', '--invite']);
  const invite = await mailedLink(1, '/invite?token=');
  const context = await browser.newContext({ bypassCSP: true });
  const page = await context.newPage();

  await page.goto(invite);
  await audit(page, 'set password');
  await choosePassword(page, 'short');
  // The browser's own check (minlength) stops it; the server's refusal is checked over HTTP.
  assert.equal(await page.locator('#new-password:invalid').count(), 1);
  await choosePassword(page, 'quiet-lantern-mosaic-41');
  await page.waitForSelector('text=Password saved');

  await page.goto(`${base}/login`);
  await page.fill('#username', 'nora');
  await page.fill('#password', 'quiet-lantern-mosaic-41');
  await page.click('button[type=submit]');
  await page.waitForSelector('text=nora');

  const fresh = await (await browser.newContext({ bypassCSP: true })).newPage();
  await fresh.goto(`${base}/login`);
  await fresh.click('#forgot-password');
  await audit(fresh, 'forgot');
  await fresh.fill('#who', 'nora@example.com');
  await fresh.click('#forgot-send');
  await fresh.waitForSelector('#forgot-sent');
  const reset = await mailedLink(3, '/login/reset?token=');
  await fresh.goto(reset);
  await choosePassword(fresh, 'harbour-violet-anchor-5');
  await fresh.waitForSelector('text=Password saved');
  // The session opened before the reset has ended.
  await page.goto(`${base}/account`);
  assert.ok(page.url().includes('/login'), `still signed in at ${page.url()}`);
});
