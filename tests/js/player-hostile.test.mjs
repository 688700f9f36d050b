// Host-page safety (issue 9): livekpi/player on a page that makes its environment hostile
// (www/test/hostile.html + hostile.js: no requestVideoFrameCallback, no sendBeacon, storage that
// throws, fetch that throws, a patched performance.now, a CSP without 'unsafe-eval' but with
// 'wasm-unsafe-eval', and the video element removed mid-session). The page must keep working with
// nothing of ours reaching window.onerror / unhandledrejection, the monitor must still measure what
// it can and say what it could not (`degraded`), and detach() must still work.
// Run: node --test tests/js/player-hostile.test.mjs   (needs scripts/build.sh player first)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../www/server.mjs';
import { launchChromium } from './support/chromium.mjs';

const NO_DNS = '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1';
const FRAME_MS = 40;

let server;
let browser;

before(async () => {
  server = await startServer({ port: 0 });
  await server.live.ready();
  browser = await launchChromium([NO_DNS]);
});

after(async () => {
  await browser?.close();
  await server?.close();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const r1 = (x) => (x == null || !Number.isFinite(x) ? null : Math.round(x * 10) / 10);

test('hostile host page: the page keeps working, the monitor measures what it can and says what it cannot, detach works', async () => {
  const page = await browser.newPage();
  const pwErrors = [];
  page.on('pageerror', (e) => pwErrors.push(e.message));
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  const requests = [];
  page.on('request', (req) => requests.push(new URL(req.url()).pathname));
  await page.goto(`${server.url}/test/hostile.html`);
  await page.waitForFunction(() => window.host?.ready === true && window.host.rec.video.currentTime > 3, null, { timeout: 20_000 });

  const a = await page.evaluate(() => {
    const { rec, qoe } = window.host;
    const pre = rec.frames.filter((f) => f.display_ms <= rec.plays[0].at_ms).at(-1);
    const first = rec.frames.find((f) => f.display_ms > rec.plays[0].at_ms && (!pre || f.media_time !== pre.media_time));
    let storage = 'works';
    try { localStorage.length; } catch (e) { storage = e.name; }
    return { m: qoe.metrics(), first, intent: rec.plays[0].at_ms, readAt: window.h?.wall?.() ?? null, storage, beacon: typeof navigator.sendBeacon,
      rvfc: typeof HTMLVideoElement.prototype.requestVideoFrameCallback, csp: document.querySelector('meta[http-equiv]').content, upstream: qoe.upstream() };
  });
  const startupTruth = a.first.display_ms - a.intent;
  console.log('# hostile: rvfc %s, sendBeacon %s, storage %s | monitor started %s startup %s ms (truth %s), playing %s ms, stalls %d, degraded %d %s, upstream %s',
    a.rvfc, a.beacon, a.storage, a.m.started, r1(a.m.startupMs), r1(startupTruth), r1(a.m.playingMs), a.m.stallCount, a.m.degraded,
    JSON.stringify(a.m.degradedReasons), JSON.stringify(a.upstream));
  assert.deepEqual([a.rvfc, a.beacon, a.storage], ['undefined', 'undefined', 'SecurityError'], 'the environment is hostile');
  assert.doesNotMatch(a.csp, /'unsafe-eval'/);
  assert.match(a.csp, /'wasm-unsafe-eval'/);
  // Still measuring: the wasm module loaded (fetch throws: XHR fallback; CSP allows wasm only).
  assert.equal(a.m.started, true);
  assert.ok(Math.abs(a.m.startupMs - startupTruth) <= 2 * FRAME_MS, `startup ${a.m.startupMs} vs ${startupTruth}`);
  assert.ok(a.m.playingMs > 2500, `playing ${a.m.playingMs}`);
  assert.equal(a.m.stallCount, 0);
  // And saying what it could not do as designed.
  for (const reason of ['noFrameCallbacks', 'noBeacon', 'noStorage', 'noTimeSync', 'clockPatched']) {
    assert.ok(a.m.degradedReasons.includes(reason), `degraded ${reason}: ${JSON.stringify(a.m.degradedReasons)}`);
  }
  assert.ok(!a.m.degradedReasons.includes('elementRemoved'));
  assert.equal(a.m.clockOffsetMs, null);
  assert.ok(a.upstream.failures >= 1 && a.upstream.acked === 0, 'summaries could not be sent (fetch throws) and are retried');

  // The host removes the video element mid-session.
  const b = await page.evaluate(async () => {
    const { rec, qoe } = window.host;
    const work = window.host.work;
    rec.video.remove();
    await new Promise((ok) => setTimeout(ok, 1000));
    document.getElementById('work').click();
    return { m: qoe.metrics(), paused: rec.video.paused, connected: rec.video.isConnected, workDone: window.host.work - work,
      pause: rec.events.filter((e) => e.type === 'pause').length };
  });
  console.log('# hostile, element removed: paused %s (pause events %d), page work ticks %d | monitor degraded %s, pausedMs %s, stalls %d',
    b.paused, b.pause, b.workDone, JSON.stringify(b.m.degradedReasons), r1(b.m.pausedMs), b.m.stallCount);
  assert.deepEqual([b.connected, b.paused], [false, true]);
  assert.ok(b.workDone >= 8, 'the page kept working');
  assert.ok(b.m.degradedReasons.includes('elementRemoved'));
  assert.equal(b.m.stallCount, 0);
  assert.ok(b.m.pausedMs >= 800, `paused ${b.m.pausedMs}`);

  // detach() still works: reads freeze, nothing throws, and the element can come back.
  const c = await page.evaluate(async () => {
    const { rec, qoe } = window.host;
    qoe.detach();
    const at = qoe.metrics();
    document.getElementById('host').append(rec.video);
    await rec.video.play().catch(() => {});
    await new Promise((ok) => setTimeout(ok, 700));
    return { at, after: qoe.metrics(), stalls: qoe.stalls(), playing: !rec.video.paused };
  });
  assert.deepEqual(c.after, c.at, 'no observation after detach');
  assert.equal(c.playing, true, 'the page plays its element again without us');
  const pageErrors = await page.evaluate(() => window.pageErrors);
  console.log('# hostile: errors reaching the page %s, Playwright pageerror %s, console errors %s', JSON.stringify(pageErrors), JSON.stringify(pwErrors), JSON.stringify(consoleErrors));
  assert.deepEqual(pageErrors, [], 'nothing reached window.onerror / unhandledrejection / CSP violations');
  assert.deepEqual(pwErrors, []);
  assert.ok(requests.includes('/pkg/dist/player/livekpi_player_bg.wasm'));
  await page.close();
});
