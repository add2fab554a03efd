// Sign in with an upstream identity provider in a real browser: headless Chromium opens a
// protected URL, clicks "Sign in with Corp SSO" on authgate's login page, signs in at the
// upstream (a second authgate process with its own users) and lands on the app.
//
// Run by scripts/test. Needs AUTHGATE_BIN (the built binary) and /usr/bin/chromium.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { freePort, waitFor, startAuthgate, run } from './harness.mjs';

const bin = process.env.AUTHGATE_BIN;
if (!bin) throw new Error('AUTHGATE_BIN is not set');



const dir = mkdtempSync(join(tmpdir(), 'authgate-upstream-'));
const [up, down, echo] = [await freePort(), await freePort(), await freePort()];
const hash = execFileSync(bin, ['hash-password'], { input: 'correct horse' }).toString().trim();
const secretHash = execFileSync(bin, ['hash-secret'], { input: 'corp-secret' }).toString().trim();
writeFileSync(join(dir, 'corp-secret'), 'corp-secret\n');
writeFileSync(join(dir, 'upstream.toml'), `
[server]
listen = ["127.0.0.1:${up}"]
public_url = "http://127.0.0.1:${up}"
threads = 1

[session]
cookie_name = "corp_session"

[tokens]
signing_key_file = "${dir}/upstream.pem"
create_key_if_missing = true

[[users]]
username = "dana"
password_hash = "${hash}"
email = "dana@corp.example"
groups = ["finance"]

[[clients]]
client_id = "authgate"
client_secret_sha256 = "${secretHash}"
redirect_uris = ["http://127.0.0.1:${down}/login/upstream/callback"]
`);
writeFileSync(join(dir, 'gateway.toml'), `
[server]
listen = ["127.0.0.1:${down}"]
public_url = "http://127.0.0.1:${down}"
threads = 1

[tokens]
signing_key_file = "${dir}/gateway.pem"
create_key_if_missing = true

[[upstream_providers]]
id = "corp"
name = "Corp SSO"
issuer = "http://127.0.0.1:${up}"
client_id = "authgate"
client_secret_file = "${dir}/corp-secret"
scopes = ["openid", "email", "profile"]
groups_claim = "groups"
username_prefix = "corp:"

[[routes]]
host = "app.test"
upstreams = ["127.0.0.1:${echo}"]

[demo]
echo_listen = "127.0.0.1:${echo}"
`);
const gateways = ['upstream', 'gateway'].map((name) => startAuthgate(bin, join(dir, `${name}.toml`)));

await run('upstream provider', { seconds: 60, gateways, chromiumArgs: ['--host-resolver-rules=MAP app.test 127.0.0.1'] }, async (browser) => {
  await waitFor(up);
  await waitFor(down);
  const page = await browser.newPage();
  const target = `http://app.test:${down}/ledger`;
  await page.goto(target);
  assert.match(page.url(), new RegExp(`^http://127\\.0\\.0\\.1:${down}/login\\?auth=`));
  await page.click('#upstream-corp');
  assert.match(page.url(), new RegExp(`^http://127\\.0\\.0\\.1:${up}/login\\?auth=`), 'at the upstream\'s login');
  await page.fill('#username', 'dana');
  await page.fill('#password', 'correct horse');
  await page.click('button[type=submit]');
  await page.waitForURL(target);
  const body = await page.textContent('body');
  assert.match(body, /x-forwarded-user: corp:dana/, 'the app sees the federated user');
  assert.match(body, /x-forwarded-email: dana@corp.example/);
  assert.match(body, /x-forwarded-groups: finance/);
});
