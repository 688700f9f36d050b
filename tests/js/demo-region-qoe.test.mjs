// The console's region QoE table against the collector's own export: real viewer pages (hls.js +
// livekpi/player) in three regions, one of them with a scripted stall, send their summaries to the
// demo's collector; the console (livekpi/console in its worker, polling the collector) must show,
// per region, the numbers that mergeExports() gives for the collector's NDJSON export rows.
// The state column comes from the crate's regional alert rules (room.pushQoe → stall_spike /
// latency_spike, 10 warm-up minutes): real viewers cannot play 10+ minutes in test time, so the
// second test posts synthetic viewers' summaries (tests/js/support/summaries.mjs, client times over
// the last 40 minutes, one region with a stall spike) to the real /api/summary route.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../www/server.mjs';
import { launchChromium } from './support/chromium.mjs';
import { mergeExports } from '../../pkg/console/node.js';
import { encodeSummary, rng } from './support/summaries.mjs';

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
// The vs-target mark's targets (www/console-worker.js): 秒开率 ≥ 80 %, 卡顿率 ≤ 2 %, latency P50 ≤ 6 s.
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
    // The vs-target mark, from the targets applied to the export's numbers.
    const breaches = [];
    if (a.rates.fast_start_rate.value !== null && a.rates.fast_start_rate.value < TARGETS.fastStartMin) breaches.push('fast_start');
    if (a.rates.stall_rate.value !== null && a.rates.stall_rate.value > TARGETS.stallRateMax) breaches.push('stall');
    if (q.latency_ms.p50 !== null && q.latency_ms.p50 > TARGETS.latencyP50MaxMs) breaches.push('latency');
    assert.deepEqual(row.breaches, breaches, `${region} breaches`);
    // The state: no regional alert rule can raise within its 10-minute warm-up, so every region
    // with samples is OK, whatever the targets say (those are only marked).
    assert.deepEqual(row.alerts, [], `${region} alerts`);
    assert.equal(row.state, 'ok');
    // The cells: those numbers as shown.
    assert.deepEqual(cells[i].slice(0, 8), [
      region, String(Math.round(a.distinct_viewers)), ms(q.startup_ms.p50), ms(q.startup_ms.p90),
      pct(a.rates.fast_start_rate), pct(a.rates.stall_rate), pct(a.rates.rebuffer_ratio),
      q.latency_ms.p50 === null ? '—' : `${(q.latency_ms.p50 / 1000).toFixed(2)} s`,
    ], `${region} cells`);
    assert.match(cells[i][8], breaches.length ? /^正常 OK · 未达目标 vs target: / : /^正常 OK$/);
  }
  const byRegion = Object.fromEntries(merged.regions.map((g) => [g.region, g.aggregate]));
  assert.equal(Math.round(byRegion['上海'].distinct_viewers), 2);
  assert.equal(byRegion['上海'].quantiles.startup_ms.n, 2);
  assert.ok(byRegion['广东'].counters.stall_ms >= 1500, `广东 stalled ${byRegion['广东'].counters.stall_ms} ms`);
  assert.ok(byRegion['广东'].rates.stall_rate.value > TARGETS.stallRateMax, 'the scripted stall breaches the stall target');
  assert.match(cells[1][8], /vs target: .*卡顿率 stall/);
  assert.ok(regionQoe.every((r) => r.latencyP50Ms !== null), 'every region has a latency median');
  for (const c of cells) console.log(`region QoE: ${c.join(' | ')}`);

  await page.close();
  for (const v of viewers) await v.page.close();
  assert.deepEqual([...errors, ...viewers.flatMap((v) => v.errors)], []);
});

/**
 * One synthetic viewer per region posting one summary per minute (acknowledged each time, so each
 * carries that minute's counters), with client end times in the middle of each of the 40 minutes
 * before the current one. Stall rate (stall ms / playing ms) ≈ 1 % with deterministic noise, latency
 * ≈ 3 s; from `spikeFrom` minutes before now on, `spike` (stall rate) instead.
 */
async function postRegion(url, region, seed, { spikeFrom = 0, spike = 0.2 } = {}) {
  const random = rng(seed);
  const sessionId = Uint8Array.from({ length: 16 }, () => Math.floor(random() * 256));
  const nowMin = Math.floor(Date.now() / 60_000);
  let end = (nowMin - 41) * 60_000 + 30_000;
  const rates = [];
  for (let k = 40, seq = 1; k >= 1; k--, seq++) {
    const rate = k <= spikeFrom ? spike : 0.008 + 0.004 * random();
    const playing = 50_000;
    const stall = Math.round(rate * playing);
    const latency = 3000 + Math.floor(200 * random());
    const bytes = encodeSummary({
      sessionId, seq, baseSeq: seq - 1, room: 'demo', startMs: end, spanMs: 60_000, final: false,
      delta: {
        watch_ms: 60_000, playing_ms: playing, stall_ms: stall, stall_count: stall > 0 ? 1 : 0, total_frames: 1250,
        played_kbit: 100_000, latency_sum_ms: 60 * latency, latency_samples: 60, ...(seq === 1 ? { started: 1 } : {}),
      },
      state: { latency_ms: latency, bitrate_kbps: 2000, rtt_ms: 40, ...(seq === 1 ? { startup_ms: 600, startup_flags: 0 } : {}) },
    });
    end += 60_000;
    // ?region=R: the demo server's stand-in for the CDN edge's GeoIP (as the viewer pages post).
    const res = await fetch(`${url}/api/summary?room=demo&region=${encodeURIComponent(region)}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
    const ack = await res.json();
    assert.equal(res.status, 200, `${region} minute -${k}: ${JSON.stringify(ack)}`);
    assert.equal(ack.status, 'applied');
    rates.push(stall / playing);
  }
  return rates;
}

test('region QoE table: a stall spike on one region\'s viewers → that region in stall_spike alert (rule, shift), the route-switch event; the others OK', { timeout: 120_000 }, async () => {
  // A fresh server: only the synthetic viewers' summaries in its collector.
  const own = await startServer({ port: 0, room: { seed: 7, speed: 30, durationMin: 60, arrivals: 1500, products: 8 } });
  try {
    // The spike covers the last 6 minutes before the current one: ≥ 4 of them are complete
    // (settled 20 s past their end) whenever the console looks.
    await postRegion(own.url, '广东', 11, { spikeFrom: 6 });
    await postRegion(own.url, '北京', 12);
    await postRegion(own.url, '上海', 13);

    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // The host-page hook: collect every `livekpi:alert` event the page dispatches.
    await page.addInitScript(() => {
      window.__events = [];
      addEventListener('livekpi:alert', (e) => window.__events.push(e.detail));
    });
    await page.setViewportSize({ width: 1400, height: 1100 });
    await page.goto(`${own.url}/console.html`);
    await page.waitForFunction(() => window.__console?.regionQoe?.length === 3 && window.__console.regionQoe.some((r) => r.state === 'alert'), null, { timeout: 30_000 });
    const { probe, cells, events, feed, switches } = await page.evaluate(() => ({
      probe: window.__console,
      cells: Object.fromEntries([...document.querySelectorAll('#region-qoe tr[data-region]')].map((tr) => [tr.dataset.region, tr.cells[8].textContent])),
      events: window.__events,
      feed: [...document.querySelectorAll('#alerts .alert[data-region]')].map((d) => d.textContent),
      switches: [...document.querySelectorAll('#route-switch .route-switch')].map((d) => d.textContent),
    }));
    mkdirSync(OUT, { recursive: true });
    await shootWhole(page, `${OUT}console-region-alert.png`);
    await page.close();

    const row = Object.fromEntries(probe.regionQoe.map((r) => [r.region, r]));
    // 广东: the stall_spike rule raised, with the minute within the spike and the shift's size.
    assert.equal(row['广东'].state, 'alert');
    assert.equal(row['广东'].alerts.length, 1, JSON.stringify(row['广东'].alerts));
    const [a] = row['广东'].alerts;
    const nowMin = Math.floor(Date.now() / 60_000);
    assert.equal(a.rule, 'stall_spike');
    assert.ok(a.minute >= nowMin - 7 && a.minute <= nowMin - 3, `raised at minute ${a.minute - nowMin} from now`);
    assert.ok(Math.abs(a.value - 0.2) < 1e-9, `value ${a.value}`);
    assert.ok(a.baseline > 0.005 && a.baseline < 0.015, `baseline ${a.baseline}`);
    assert.ok(a.shiftRel > 10, `shift ${a.shiftRel}`);
    assert.match(cells['广东'], new RegExp(`^告警 alert · 卡顿飙升 stall spike \\+${(a.shiftRel * 100).toFixed(0)}%, ${a.shiftSigmas.toFixed(1)}σ · \\d\\d:\\d\\d–\\d\\d:\\d\\d`));
    // The others: pushed the same minutes, no alert.
    for (const r of ['北京', '上海']) {
      assert.equal(row[r].state, 'ok', `${r}: ${JSON.stringify(row[r].alerts)}`);
      assert.deepEqual(row[r].alerts, []);
      assert.match(cells[r], /^正常 OK$/);
    }
    // Every region's complete minutes were pushed once, up to the same last complete minute.
    const pushed = Object.values(probe.qoePushed);
    assert.equal(pushed.length, 3);
    assert.ok(pushed.every((m) => m === pushed[0] && m >= nowMin - 3), JSON.stringify(probe.qoePushed));
    assert.equal(probe.qoeError, null);
    // The hook: one `livekpi:alert` event for the region, detail = the alert with its evidence.
    const regional = events.filter((e) => e.region !== null);
    assert.equal(regional.length, 1, JSON.stringify(regional));
    assert.equal(regional[0].region, '广东');
    assert.equal(regional[0].rule, 'stall_spike');
    assert.equal(regional[0].action, 'switch_cdn_route');
    assert.equal(regional[0].minute, a.minute);
    assert.ok(regional[0].window.length > 10);
    assert.equal(switches.length, 1);
    assert.match(switches[0], /^已请求切换线路 route switch requested for 广东 · stall_spike @ \d\d:\d\d UTC/);
    assert.equal(feed.length, 1);
    assert.match(feed[0], /卡顿飙升 stall spike.*· 广东/s);
    console.log(`region alert: 广东 ${cells['广东']} | 北京 ${cells['北京']} | 上海 ${cells['上海']} | ${switches[0]}`);
    assert.deepEqual(errors, []);
  } finally {
    await own.close();
  }
});
