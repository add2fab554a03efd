// What every browser test shares: free ports, waiting for authgate, and headless Chromium.

import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { chromium } from 'playwright-core';

/** A loopback port that was free a moment ago. */
export function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** Waits (up to 10 s) until authgate answers /healthz on `host:port`. */
export async function waitFor(port, host = '127.0.0.1') {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`http://${host}:${port}/healthz`)).ok) return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`authgate did not start on ${port}`);
}

/** Headless Chromium (Debian's), with `extra` command-line switches. */
export function launch(extra = []) {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', ...extra],
  });
}

/** Starts authgate on the config file `config`; its stderr is kept for a failure's report. */
export function startAuthgate(bin, config) {
  const child = spawn(bin, ['--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  const gateway = { child, stderr: '' };
  child.stderr.on('data', (d) => { gateway.stderr += d; });
  return gateway;
}

/**
 * Runs `body(browser)` against a deadline of `seconds`, with headless Chromium given
 * `chromiumArgs` (with `browser: false` no Chromium is started and `body` gets `undefined`).
 * Prints `NAME test: ok`, or the error and every gateway's stderr (exit code 1).
 * Chromium and the gateways are stopped either way, then `cleanup` runs.
 */
export async function run(name, { seconds, gateways, browser: withBrowser = true, chromiumArgs = [], cleanup = () => {} }, body) {
  const timer = setTimeout(() => { console.error(`${name} test timed out`); process.exit(2); }, seconds * 1000);
  let browser;
  try {
    if (withBrowser) browser = await launch(chromiumArgs);
    await body(browser);
    console.log(`${name} test: ok`);
  } catch (e) {
    console.error(e);
    for (const g of gateways) console.error(`authgate stderr:\n${g.stderr}`);
    process.exitCode = 1;
  } finally {
    clearTimeout(timer);
    if (browser) await browser.close();
    for (const g of gateways) g.child.kill('SIGKILL');
    await cleanup();
  }
}
