// The demo's operator console: the page (livekpi/console in a Web Worker, following the simulated
// room over SSE) shows the numbers of an independent computation of the same room in Node.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../www/server.mjs';
import { launchChromium } from './support/chromium.mjs';
import { Room, generateEventsNdjson } from '../../pkg/console/node.js';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const OUT = fileURLToPath(new URL('../e2e/out/', import.meta.url));

/** A screenshot of the whole page: the viewport grows to the page first, so the sections that the
 * console renders only near the viewport (content-visibility: auto) are drawn. */
async function shootWhole(page, path) {
  const { width } = page.viewportSize();
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.setViewportSize({ width, height });
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  await page.screenshot({ path, fullPage: true });
}

const ROOM = { seed: 99, speed: 60, durationMin: 60, arrivals: 1500, products: 8 };
let server;
let browser;

before(async () => {
  server = await startServer({ port: 0, room: ROOM });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test('the console renders the KPIs the engine computes for the events delivered so far', async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.url}/console.html`);
  await page.waitForFunction(() => Number(document.body.dataset.rendered ?? 0) >= 3, null, { timeout: 30_000 });
  // The worker's inputs of the last refresh and the page as that refresh left it (the dump's reply
  // is handled after every refresh the worker posted before it, and before any later one).
  const { snapshot, simNowMs, shown } = await page.evaluate(async () => {
    const dump = await window.__consoleDump();
    return {
      ...dump,
      shown: {
        result: document.getElementById('layer-result').innerText,
        process: document.getElementById('layer-process').innerText,
        goodsRows: document.querySelectorAll('#goods tr').length - 1,
      },
    };
  });
  await page.close();

  // Independent computation: the same seeded log, delivered by the same rule (an event is out once
  // the simulated clock passes the latest event time delivered before it).
  const meta = await (await fetch(`${server.url}/api/room/meta`)).json();
  const lines = generateEventsNdjson({ seed: ROOM.seed, streamStartMs: meta.streamStartMs, durationMin: ROOM.durationMin, arrivals: ROOM.arrivals, products: ROOM.products })
    .split('\n').filter(Boolean);
  let maxTs = -Infinity;
  const delivered = [];
  for (const l of lines) {
    maxTs = Math.max(maxTs, JSON.parse(l).ts);
    if (maxTs > simNowMs) break;
    delivered.push(l);
  }
  const room = new Room({ streamStartMs: meta.streamStartMs, streamEndMs: meta.streamEndMs });
  room.ingestNdjson(delivered.join('\n'));
  const expected = room.snapshot(simNowMs);
  assert.ok(expected.process.viewers > 0, 'the room has viewers by now');
  assert.deepEqual(snapshot, expected);

  const yuan = (fen) => `¥${(fen / 100).toLocaleString('zh-CN', { maximumFractionDigits: 0 })}`;
  assert.ok(shown.result.includes(yuan(expected.result.gmv_fen)), `GMV ${yuan(expected.result.gmv_fen)} in ${shown.result}`);
  assert.ok(shown.process.includes(String(expected.process.viewers)), `viewers ${expected.process.viewers}`);
  assert.equal(shown.goodsRows, Math.min(12, expected.goods.length));
  assert.deepEqual(errors, []);
});

test("a viewer page's summary shows up in the console's technical layer (screenshots in tests/e2e/out)", async () => {
  mkdirSync(OUT, { recursive: true });
  const viewer = await browser.newPage();
  const errors = [];
  viewer.on('pageerror', (e) => errors.push(e.message));
  await viewer.setViewportSize({ width: 1100, height: 600 });
  await viewer.goto(`${server.url}/viewer.html`);
  await viewer.waitForFunction(() => window.qoe?.metrics()?.startupMs > 0, null, { timeout: 30_000 });
  // Send a summary now instead of waiting for the 10 s flush, and wait for the collector's ack.
  await viewer.evaluate(() => window.qoe.flush());
  await viewer.waitForFunction(() => window.qoe.upstream()?.acked >= 1, null, { timeout: 15_000 });
  const startupMs = await viewer.evaluate(() => window.qoe.metrics().startupMs);
  // The panel redraws every 500 ms: shoot it once it has drawn what is known now.
  const drawn = await viewer.evaluate(() => Number(document.body.dataset.rendered ?? 0));
  await viewer.waitForFunction((n) => Number(document.body.dataset.rendered ?? 0) > n, drawn, { timeout: 5_000 });
  assert.match(await viewer.evaluate(() => document.getElementById('qoe').innerText), new RegExp(`${Math.round(startupMs)} ms`));
  await viewer.screenshot({ path: `${OUT}viewer.png`, fullPage: true });

  const rooms = await (await fetch(`${server.url}/api/collector/rooms?room=demo`)).json();
  assert.equal(Math.round(rooms.total.distinct_viewers), 1);
  assert.equal(rooms.total.quantiles.startup_ms.n, 1);
  assert.ok(Math.abs(rooms.total.quantiles.startup_ms.p50 - startupMs) <= 1, `${rooms.total.quantiles.startup_ms.p50} vs ${startupMs}`);

  const page = await browser.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  await page.setViewportSize({ width: 1400, height: 1100 });
  await page.goto(`${server.url}/console.html`);
  await page.waitForFunction(() => window.__console?.viewerSessions >= 1, null, { timeout: 30_000 });
  const tech = await page.evaluate(() => document.getElementById('layer-tech').innerText);
  assert.match(tech, /viewer sessions\s*1\b/);
  assert.match(tech, new RegExp(`${Math.round(startupMs)} ms`));
  await shootWhole(page, `${OUT}console.png`);
  await viewer.close();
  await page.close();
  assert.deepEqual(errors, []);
});
