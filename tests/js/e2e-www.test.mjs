// End-to-end: the local server serves www/ and pkg/; headless Chromium (playwright-core driving
// /usr/bin/chromium) loads both entries of the package in a real page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../www/server.mjs';
import { launchChromium } from './support/chromium.mjs';

let server;
let browser;

before(async () => {
  server = await startServer({ port: 0 });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test('the demo page loads livekpi/player and livekpi/console from pkg/', async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.url}/`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
  const results = await page.evaluate(() => window.__livekpi);
  assert.deepEqual(results, { player: 'player', console: 'console' });
  const session = await page.textContent('#session');
  assert.match(session, /^[0-9a-f]{32}$/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('the time-sync endpoint answers with the server clock', async () => {
  const before = Date.now();
  const res = await fetch(`${server.url}/api/time`);
  const body = await res.json();
  assert.equal(res.status, 200);
  assert.ok(body.server_ms >= before && body.server_ms <= Date.now(), `server_ms ${body.server_ms}`);
});

test('the server never serves files outside its mounts', async () => {
  for (const path of ['/../Cargo.toml', '/%2e%2e/Cargo.toml', '/pkg/%2e%2e/Cargo.toml', '/vendor/hls.js/..%2f..%2f..%2fCargo.toml']) {
    const res = await fetch(`${server.url}${path}`);
    assert.equal(res.status, 404, path);
  }
});
