// A real browser signs in through authgate: headless Chromium opens a protected URL on an app
// host, is sent to the login form on the provider host, fails once with a wrong password, signs
// in, lands on the original URL and sees its identity; then signs out.
//
// Run by scripts/test. Needs AUTHGATE_BIN (the built binary) and /usr/bin/chromium.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { freePort, waitFor, startAuthgate, run } from './harness.mjs';

const bin = process.env.AUTHGATE_BIN;
if (!bin) throw new Error('AUTHGATE_BIN is not set');



const dir = mkdtempSync(join(tmpdir(), 'authgate-browser-'));
const port = await freePort();
const echo = await freePort();
const hash = execFileSync(bin, ['hash-password'], { input: 'correct horse' }).toString().trim();
writeFileSync(join(dir, 'authgate.toml'), `
[server]
listen = ["127.0.0.1:${port}"]
public_url = "http://127.0.0.1:${port}"
threads = 2

[tokens]
signing_key_file = "${dir}/signing.pem"
create_key_if_missing = true

[[users]]
username = "demo"
password_hash = "${hash}"
email = "demo@example.com"
groups = ["staff"]

[[routes]]
host = "app.test"
upstreams = ["127.0.0.1:${echo}"]

[demo]
echo_listen = "127.0.0.1:${echo}"
`);
const gateway = startAuthgate(bin, join(dir, 'authgate.toml'));

await run('browser', { seconds: 60, gateways: [gateway], chromiumArgs: ['--host-resolver-rules=MAP app.test 127.0.0.1'] }, async (browser) => {
  await waitFor(port);
  const page = await browser.newPage();
  const target = `http://app.test:${port}/report?month=11`;

  await page.goto(target);
  assert.match(page.url(), new RegExp(`^http://127\\.0\\.0\\.1:${port}/login\\?auth=`), 'sent to the login form');
  assert.equal(await page.title(), 'Sign in · authgate');

  await page.fill('#username', 'demo');
  await page.fill('#password', 'wrong password');
  await page.click('button[type=submit]');
  assert.equal((await page.textContent('#login-error')).trim(), 'Invalid username or password.', 'wrong password shows the error');

  await page.fill('#password', 'correct horse');
  await page.click('button[type=submit]');
  await page.waitForURL(target);
  const body = await page.textContent('body');
  assert.match(body, /x-forwarded-user: demo/, 'the app sees the identity');
  assert.match(body, /x-forwarded-email: demo@example.com/);
  assert.match(body, /GET \/report\?month=11/, 'landed on the original URL');
  assert.doesNotMatch(body, /authgate_session/, 'our cookie is not sent upstream');

  await page.goto(`http://app.test:${port}/.authgate/logout`);
  assert.match(page.url(), new RegExp(`^http://127\\.0\\.0\\.1:${port}/login\\?auth=`), 'signed out, at the login page');
  await page.goto(target);
  assert.match(page.url(), /\/login\?auth=/, 'the app asks for a sign-in again');
});
