// The demo's operator console: the page (livekpi/console in a Web Worker, following the simulated
// room over SSE) shows the numbers of an independent computation of the same room in Node.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../www/server.mjs';
import { launchChromium } from './support/chromium.mjs';
import { Room, generateEventsNdjson } from '../../pkg/console/node.js';

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
  const { snapshot, simNowMs } = await page.evaluate(() => window.__console);
  const shown = await page.evaluate(() => ({
    result: document.getElementById('layer-result').innerText,
    process: document.getElementById('layer-process').innerText,
    goodsRows: document.querySelectorAll('#goods tr').length - 1,
  }));
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
