// What every browser test shares: free ports, waiting for authgate, and headless Chromium.

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
