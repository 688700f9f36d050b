// The console's region QoE table against the collector's own export: real viewer pages (hls.js +
// livekpi/player) in three regions, one of them with a scripted stall, send their summaries to the
// demo's collector; the console (livekpi/console in its worker, polling the collector) must show,
// per region, the numbers that mergeExports() gives for the collector's NDJSON export rows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../www/server.mjs';
import { launchChromium } from './support/chromium.mjs';
import { mergeExports } from '../../pkg/console/node.js';

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
// The state column's targets (www/console-worker.js): 秒开率 ≥ 80 %, 卡顿率 ≤ 2 %, latency P50 ≤ 6 s.
const TARGETS = { fastStartMin: 0.8, stallRateMax: 0.02, latencyP50MaxMs: 6000 };

let server;
let browser;
before(async () => {
  server = await startServer({ port: 0, room: { seed: 7, speed: 30, durationMin: 60, arrivals: 1500, products: 8 } });
  // Four viewer tabs play at once: keep background tabs rendering and their timers unthrottled
  // (otherwise Chromium stops compositing their video and the players see frozen frames).
  browser = await launchChromium(['--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows']);
});
after(async () => {
  await browser?.close();
  await server?.close();
});

const api = (path) => fetch(`${server.url}${path}`, { method: 'POST' }).then((r) => r.json());
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function openViewer(region, channel) {
  await api(`/api/live/reset?name=${channel}&blocking=1`);
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.setViewportSize({ width: 1100, height: 600 });
  await page.goto(`${server.url}/viewer.html?region=${encodeURIComponent(region)}&channel=${channel}`);
  await page.waitForFunction(() => window.qoe?.metrics()?.startupMs > 0, null, { timeout: 30_000 });
  return { page, errors, region, channel };
}

const pct = (r) => (r.value === null ? '—' : `${(r.value * 100).toFixed(1)}%`);
const ms = (x) => (x === null ? '—' : `${Math.round(x)} ms`);

test('region QoE table: per region, the numbers of the collector\'s merged export, with the alert state', { timeout: 180_000 }, async () => {
  const viewers = [];
  viewers.push(await openViewer('上海', 'sh1'));
  viewers.push(await openViewer('上海', 'sh2'));
  viewers.push(await openViewer('广东', 'gd'));
  viewers.push(await openViewer('海外', 'os'));
  const gd = viewers[2];

  // 广东: a delivery hold starves the player; release 2 s after the stall began. (Its tab is
  // brought to the front: Chromium does not composite background tabs' video.)
  await gd.page.bringToFront();
  await sleep(3000);
  await api('/api/live/hold?name=gd&mode=delivery');
  await gd.page.waitForFunction(() => window.qoe.metrics().stallOngoing, null, { timeout: 30_000, polling: 50 });
  await sleep(2000);
  await api('/api/live/release?name=gd');
  await gd.page.waitForFunction(() => !window.qoe.metrics().stallOngoing && window.qoe.metrics().stallMs >= 1500, null, { timeout: 30_000 }).catch(async (e) => {
    console.log(JSON.stringify(await gd.page.evaluate(() => { const v = document.getElementById('video'); return { m: window.qoe.metrics(), rs: v.readyState, t: v.currentTime, paused: v.paused }; })));
    throw e;
  });
  await sleep(3000);
  await gd.page.screenshot({ path: `${OUT}viewer-region.png`, fullPage: true });
  // End every view: detach sends each view's final summary; wait until the collector has all four.
  for (const v of viewers) {
    const m = await v.page.evaluate(() => window.qoe.metrics());
    console.log(`viewer ${v.region} (${v.channel}): startup ${Math.round(m.startupMs)} ms, ${m.stallCount} stalls ${Math.round(m.stallMs)} ms, playing ${Math.round(m.playingMs)} ms`);
  }
  for (const v of viewers) await v.page.evaluate(() => window.qoe.detach());
  for (let i = 0; ; i++) {
    const room = await (await fetch(`${server.url}/api/collector/rooms?room=demo`)).json();
    if (room.total?.counters?.finished_views === viewers.length) break;
    assert.ok(i < 100, `the collector has ${room.total?.counters?.finished_views} final summaries of ${viewers.length}`);
    await sleep(100);
  }
  const exported = await (await fetch(`${server.url}/api/collector/export?format=ndjson`)).text();
  const merged = mergeExports(exported).find((r) => r.room === 'demo');
  assert.deepEqual(merged.regions.map((g) => g.region), ['上海', '广东', '海外']);

  mkdirSync(OUT, { recursive: true });
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.setViewportSize({ width: 1400, height: 1100 });
  await page.goto(`${server.url}/console.html`);
  // The worker polls the collector each second: wait for a render that has all four final views.
  await page.waitForFunction(() => window.__console?.finishedViews === 4 && window.__console.regionQoe.length === 3, null, { timeout: 30_000 });
  const { regionQoe, cells } = await page.evaluate(() => ({
    regionQoe: window.__console.regionQoe,
    cells: [...document.querySelectorAll('#region-qoe tr[data-region]')].map((tr) => [...tr.cells].map((td) => td.textContent)),
  }));
  await shootWhole(page, `${OUT}console-region-qoe.png`);

  assert.equal(regionQoe.length, merged.regions.length);
  for (const [i, { region, aggregate: a }] of merged.regions.entries()) {
    const row = regionQoe[i];
    const q = a.quantiles;
    // The numbers: exactly what mergeExports makes of the collector's export rows.
    assert.equal(row.region, region);
    assert.equal(row.viewers, a.distinct_viewers, `${region} viewers`);
    assert.equal(row.startupP50Ms, q.startup_ms.p50, `${region} first frame p50`);
    assert.equal(row.startupP90Ms, q.startup_ms.p90, `${region} first frame p90`);
    assert.deepEqual(row.fastStartRate, a.rates.fast_start_rate, `${region} 秒开率`);
    assert.deepEqual(row.stallRate, a.rates.stall_rate, `${region} stall rate`);
    assert.deepEqual(row.stallRatio, a.rates.rebuffer_ratio, `${region} stall ratio`);
    assert.equal(row.latencyP50Ms, q.latency_ms.p50, `${region} latency p50`);
    // The state, from the targets applied to the export's numbers.
    const breaches = [];
    if (a.rates.fast_start_rate.value !== null && a.rates.fast_start_rate.value < TARGETS.fastStartMin) breaches.push('fast_start');
    if (a.rates.stall_rate.value !== null && a.rates.stall_rate.value > TARGETS.stallRateMax) breaches.push('stall');
    if (q.latency_ms.p50 !== null && q.latency_ms.p50 > TARGETS.latencyP50MaxMs) breaches.push('latency');
    assert.deepEqual(row.breaches, breaches, `${region} breaches`);
    assert.equal(row.state, breaches.length ? 'alert' : 'ok');
    // The cells: those numbers as shown.
    assert.deepEqual(cells[i].slice(0, 8), [
      region, String(Math.round(a.distinct_viewers)), ms(q.startup_ms.p50), ms(q.startup_ms.p90),
      pct(a.rates.fast_start_rate), pct(a.rates.stall_rate), pct(a.rates.rebuffer_ratio),
      q.latency_ms.p50 === null ? '—' : `${(q.latency_ms.p50 / 1000).toFixed(2)} s`,
    ], `${region} cells`);
    assert.match(cells[i][8], breaches.length ? /^告警 alert · / : /^正常 OK$/);
  }
  const byRegion = Object.fromEntries(merged.regions.map((g) => [g.region, g.aggregate]));
  assert.equal(Math.round(byRegion['上海'].distinct_viewers), 2);
  assert.equal(byRegion['上海'].quantiles.startup_ms.n, 2);
  assert.ok(byRegion['广东'].counters.stall_ms >= 1500, `广东 stalled ${byRegion['广东'].counters.stall_ms} ms`);
  assert.ok(byRegion['广东'].rates.stall_rate.value > TARGETS.stallRateMax, 'the scripted stall breaches the stall target');
  assert.match(cells[1][8], /卡顿率 stall/);
  assert.ok(regionQoe.every((r) => r.latencyP50Ms !== null), 'every region has a latency median');
  for (const c of cells) console.log(`region QoE: ${c.join(' | ')}`);

  await page.close();
  for (const v of viewers) await v.page.close();
  assert.deepEqual([...errors, ...viewers.flatMap((v) => v.errors)], []);
});
