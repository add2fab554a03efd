// A certified relying party against authgate: openid-client (v6) signs alice in over plain HTTP,
// no browser. A FAPI-style client pushes its request (PAR), proves possession of a DPoP key at
// the token endpoint (with server nonces), refreshes, reads userinfo and calls a proxied route
// with its DPoP-bound token; a private_key_jwt client signs its request object (JAR).
//
// Run by scripts/test. Needs AUTHGATE_BIN (the built binary).

import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { freePort, waitFor, startAuthgate, run } from './harness.mjs';

const bin = process.env.AUTHGATE_BIN;
if (!bin) throw new Error('AUTHGATE_BIN is not set');

const dir = mkdtempSync(join(tmpdir(), 'authgate-openid-client-'));
const [port, cbPort, upPort] = [await freePort(), await freePort(), await freePort()];
const issuer = `http://127.0.0.1:${port}`;
const redirectUri = `http://127.0.0.1:${cbPort}/cb`; // never served: only its query is read
const password = 'correct horse battery';
const fapiSecret = 'fapi-secret-7f3a';

// The jar client's key: ES256, its public half in the client's jwks_file.
const jarKid = 'jar-es256';
const jarKeys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', jarKeys.publicKey);
writeFileSync(join(dir, 'jar.jwks.json'), JSON.stringify({ keys: [{ kty, crv, x, y, kid: jarKid, alg: 'ES256', use: 'sig' }] }));

const hash = execFileSync(bin, ['hash-password'], { input: password }).toString().trim();
const secretHash = execFileSync(bin, ['hash-secret'], { input: fapiSecret }).toString().trim();
writeFileSync(join(dir, 'authgate.toml'), `
[server]
listen = ["127.0.0.1:${port}"]
public_url = "${issuer}"
threads = 1

[tokens]
signing_key_file = "${dir}/signing.pem"
create_key_if_missing = true

[[users]]
username = "alice"
password_hash = "${hash}"
email = "alice@example.com"

[[clients]]
client_id = "fapi"
client_secret_sha256 = "${secretHash}"
redirect_uris = ["${redirectUri}"]
require_pushed_authorization_requests = true
require_dpop = true
dpop_nonce = true

[[clients]]
client_id = "jar"
jwks_file = "${dir}/jar.jwks.json"
redirect_uris = ["${redirectUri}"]
require_signed_request_object = true

[[routes]]
path_prefix = "/api"
upstreams = ["127.0.0.1:${upPort}"]
bearer_clients = ["fapi"]
`);

// The app behind /api: answers with the request headers it got, as JSON.
const app = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(req.headers));
});
await new Promise((resolve) => app.listen(upPort, '127.0.0.1', resolve));

const gateways = [startAuthgate(bin, join(dir, 'authgate.toml'))];

/**
 * What went wrong in an openid-client call, down its chain of causes: each message and code,
 * an OAuth error's fields, and any HTTP answer with its status, challenge and body.
 */
async function describe(e, depth = 0) {
  if (e instanceof Response) {
    const challenge = e.headers.get('www-authenticate');
    let body;
    try { body = await e.clone().text(); } catch { body = '(already read)'; }
    return `HTTP ${e.status} ${e.url}${challenge ? `; www-authenticate: ${challenge}` : ''}; body: ${body}`;
  }
  if (!(e instanceof Error)) {
    try { return JSON.stringify(e); } catch { return String(e); }
  }
  const parts = [e.message];
  if (e.code) parts.push(`code ${e.code}`);
  if (e.error) parts.push(`error ${e.error}${e.error_description ? `: ${e.error_description}` : ''}`);
  if (e.response instanceof Response) parts.push(await describe(e.response, depth + 1));
  if (e.cause !== undefined && depth < 4 && !(e instanceof assert.AssertionError)) {
    parts.push(`cause: ${await describe(e.cause, depth + 1)}`);
  }
  return parts.join('; ');
}

/** Runs one named step; a failure names the step and carries the details of the answer. */
async function step(name, fn) {
  try {
    const value = await fn();
    console.log(`  ok: ${name}`);
    return value;
  } catch (e) {
    const failure = new Error(`step "${name}" failed: ${await describe(e)}`);
    failure.stack = `${failure.message}\n${(e?.stack ?? '').split('\n').slice(1).join('\n')}`;
    throw failure;
  }
}

/** Status, headers and body of an answer, for assertion messages. */
async function show(r) {
  const headers = [...r.headers].map(([k, v]) => `${k}: ${v}`).join('\n  ');
  return `HTTP ${r.status} ${r.url}\n  ${headers}\n${await r.clone().text()}`;
}

/** A browser's cookies for the issuer, as far as this test needs them: name=value, sent back. */
class CookieJar {
  #cookies = new Map();
  take(r) {
    for (const line of r.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const gone = attributes.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a));
      if (gone || value === '') this.#cookies.delete(name); else this.#cookies.set(name, value);
    }
  }
  header() { return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; '); }
  async fetch(url, init = {}) {
    const headers = new Headers(init.headers);
    if (this.#cookies.size) headers.set('cookie', this.header());
    const r = await fetch(url, { ...init, headers, redirect: 'manual' });
    this.take(r);
    return r;
  }
}

function unescapeHtml(s) {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|amp|lt|gt|quot|apos);/gi, (_, e) => {
    const named = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[e.toLowerCase()];
    if (named) return named;
    return String.fromCodePoint(e[1].toLowerCase() === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  });
}

function hidden(html, name) {
  const m = html.match(new RegExp(`name="${name}" value="([^"]*)"`));
  return m && unescapeHtml(m[1]);
}

/**
 * What a browser does between the authorization URL and the redirect back to the client: the
 * login form, answered as alice. Returns the callback URL (with code, state and iss).
 */
async function signIn(authorizationUrl) {
  const jar = new CookieJar();
  let r = await jar.fetch(authorizationUrl);
  assert.equal(r.status, 302, `authorize: ${await show(r)}`);
  const login = new URL(r.headers.get('location'), issuer);
  assert.equal(`${login.origin}${login.pathname}`, `${issuer}/login`, `authorize redirects to the login page: ${login}`);
  assert.ok(login.searchParams.get('auth'), `the login URL carries auth: ${login}`);

  r = await jar.fetch(login);
  assert.equal(r.status, 200, `login page: ${await show(r)}`);
  const html = await r.text();
  const auth = hidden(html, 'auth');
  const csrf = hidden(html, 'csrf');
  assert.ok(auth, `hidden input auth on the login page:\n${html}`);
  assert.ok(csrf, `hidden input csrf on the login page:\n${html}`);

  r = await jar.fetch(`${issuer}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: issuer },
    body: new URLSearchParams({ auth, csrf, username: 'alice', password }),
  });
  assert.equal(r.status, 302, `POST /login: ${await show(r)}`);
  const callback = new URL(r.headers.get('location'), issuer);
  assert.equal(`${callback.origin}${callback.pathname}`, redirectUri, `sign-in redirects to the client: ${callback}`);
  for (const p of ['code', 'state', 'iss']) assert.ok(callback.searchParams.get(p), `the callback carries ${p}: ${callback}`);
  assert.equal(callback.searchParams.get('iss'), issuer, `iss in the callback: ${callback}`);
  return callback;
}

/** The claims of a JWT, unverified (the middle part). */
function payload(jwt) {
  const parts = jwt.split('.');
  assert.equal(parts.length, 3, `a JWS compact token: ${jwt}`);
  return JSON.parse(Buffer.from(parts[1], 'base64url').toString());
}

const insecure = { execute: [client.allowInsecureRequests] };

await run('openid-client', {
  seconds: 60,
  gateways,
  browser: false,
  cleanup: () => new Promise((resolve) => { app.closeAllConnections(); app.close(() => resolve()); }),
}, async () => {
  await waitFor(port);

  // 1. FAPI-style: PAR + PKCE S256 + DPoP (with server nonces), client_secret_basic.
  const fapi = await step('discovery (fapi)', async () => {
    const config = await client.discovery(new URL(issuer), 'fapi', undefined, client.ClientSecretBasic(fapiSecret), insecure);
    const m = config.serverMetadata();
    assert.equal(m.issuer, issuer);
    assert.ok(m.pushed_authorization_request_endpoint, `pushed_authorization_request_endpoint in discovery: ${JSON.stringify(m)}`);
    assert.ok(m.dpop_signing_alg_values_supported?.includes('ES256'), `dpop_signing_alg_values_supported has ES256: ${JSON.stringify(m)}`);
    assert.equal(m.authorization_response_iss_parameter_supported, true, 'authorization_response_iss_parameter_supported');
    assert.ok(m.code_challenge_methods_supported?.includes('S256'), `code_challenge_methods_supported has S256: ${JSON.stringify(m)}`);
    return config;
  });
  const DPoP = client.getDPoPHandle(fapi, await client.randomDPoPKeyPair());
  const jkt = await DPoP.calculateThumbprint();
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const parUrl = await step('buildAuthorizationUrlWithPAR', async () => {
    const url = await client.buildAuthorizationUrlWithPAR(fapi, {
      redirect_uri: redirectUri,
      scope: 'openid profile offline_access',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    assert.deepEqual([...url.searchParams.keys()].sort(), ['client_id', 'request_uri'], `only client_id and request_uri: ${url}`);
    assert.match(url.searchParams.get('request_uri'), /^urn:ietf:params:oauth:request_uri:/);
    return url;
  });
  const fapiCallback = await step('sign in as alice (PAR request)', () => signIn(parUrl));
  const fapiTokens = await step('authorizationCodeGrant with DPoP', async () => {
    const tokens = await client.authorizationCodeGrant(fapi, fapiCallback,
      { pkceCodeVerifier: verifier, expectedState: state, idTokenExpected: true }, undefined, { DPoP });
    assert.equal(tokens.token_type, 'dpop', `token_type: ${JSON.stringify(tokens)}`);
    assert.equal(payload(tokens.access_token).cnf?.jkt, jkt, `cnf.jkt of the access token: ${JSON.stringify(payload(tokens.access_token))}`);
    assert.ok(tokens.refresh_token, `a refresh token (offline_access): ${JSON.stringify(tokens)}`);
    assert.equal(tokens.claims()?.sub, 'alice', `ID token sub: ${JSON.stringify(tokens.claims())}`);
    return tokens;
  });
  const refreshed = await step('refreshTokenGrant with DPoP', async () => {
    const tokens = await client.refreshTokenGrant(fapi, fapiTokens.refresh_token, undefined, { DPoP });
    assert.equal(tokens.token_type, 'dpop', `token_type: ${JSON.stringify(tokens)}`);
    assert.equal(payload(tokens.access_token).cnf?.jkt, jkt, `cnf.jkt of the refreshed access token: ${JSON.stringify(payload(tokens.access_token))}`);
    return tokens;
  });
  await step('fetchUserInfo with DPoP', async () => {
    const info = await client.fetchUserInfo(fapi, refreshed.access_token, fapiTokens.claims().sub, { DPoP });
    assert.equal(info.sub, 'alice');
    return info;
  });
  const api = new URL(`${issuer}/api/whoami?x=1`);
  await step('fetchProtectedResource on a bearer_clients route with DPoP', async () => {
    const r = await client.fetchProtectedResource(fapi, refreshed.access_token, api, 'GET', undefined, undefined, { DPoP });
    assert.equal(r.status, 200, `GET ${api}: ${await show(r)}`);
    const seen = await r.json();
    assert.equal(seen['x-forwarded-user'], 'alice', `the app sees the user: ${JSON.stringify(seen)}`);
  });
  await step('the DPoP-bound token as a plain Bearer token is refused', async () => {
    const r = await fetch(api, { headers: { authorization: `Bearer ${refreshed.access_token}` }, redirect: 'manual' });
    assert.equal(r.status, 401, `GET ${api} with Bearer: ${await show(r)}`);
    const challenge = r.headers.get('www-authenticate') ?? '';
    assert.match(challenge, /^DPoP\b/, `www-authenticate: ${await show(r)}`);
  });

  // 2. A signed request object (JAR), private_key_jwt.
  const jarKey = { key: jarKeys.privateKey, kid: jarKid };
  const jar = await step('discovery (jar)', () =>
    client.discovery(new URL(issuer), 'jar', undefined, client.PrivateKeyJwt(jarKey), insecure));
  const jarVerifier = client.randomPKCECodeVerifier();
  const jarState = client.randomState();
  const nonce = client.randomNonce();
  const jarUrl = await step('buildAuthorizationUrlWithJAR', async () => {
    const url = await client.buildAuthorizationUrlWithJAR(jar, {
      redirect_uri: redirectUri,
      scope: 'openid profile',
      code_challenge: await client.calculatePKCECodeChallenge(jarVerifier),
      code_challenge_method: 'S256',
      state: jarState,
      nonce,
    }, jarKey);
    assert.deepEqual([...url.searchParams.keys()].sort(), ['client_id', 'request'], `only client_id and request: ${url}`);
    return url;
  });
  const jarCallback = await step('sign in as alice (signed request object)', () => signIn(jarUrl));
  await step('authorizationCodeGrant with private_key_jwt', async () => {
    const tokens = await client.authorizationCodeGrant(jar, jarCallback,
      { pkceCodeVerifier: jarVerifier, expectedState: jarState, expectedNonce: nonce, idTokenExpected: true });
    assert.equal(tokens.token_type, 'bearer', `token_type: ${JSON.stringify(tokens)}`);
    const claims = tokens.claims();
    assert.equal(claims.sub, 'alice', `ID token sub (public subject type): ${JSON.stringify(claims)}`);
    assert.equal(claims.iss, issuer);
    assert.ok([claims.aud].flat().includes('jar'), `ID token aud: ${JSON.stringify(claims)}`);
    assert.equal(claims.nonce, nonce);
  });
});
