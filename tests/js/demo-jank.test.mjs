// The operator console never blocks its main thread for more than 50 ms while it follows an
// accelerated 220-minute live room for 60 s (4 simulated minutes a second, through its end and the
// after-stream debrief) and every panel refreshes each second (the technical layer and the region
// QoE table from a viewer's summaries, sent before the run: a second tab decoding video in
// software would compete for the machine's CPU with the console's renderer, which measures the
// machine, not the console). Measured in the page from
// its load event on, three ways:
//   - the Long Tasks API (PerformanceObserver 'longtask': every task > 50 ms): none allowed;
//   - event-loop lag, reported: a setTimeout(0) chain (4 ms clamp); its gaps also count the time
//     the OS ran other processes and the scheduler ran other queues first (the trace shows gaps
//     > 100 ms on a loaded machine with no main-thread task longer than 4 ms in them);
//   - the gaps between requestAnimationFrame callbacks, reported with Chromium's trace of the main
//     thread during the worst gap. A frame also waits for the compositor and the GPU process, so
//     a long rAF gap while the main thread ran no long task is compositor delay, not a block (on a
//     loaded machine, it happens: the report shows the longest main-thread task inside the gap).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../www/server.mjs';
import { launchChromium } from './support/chromium.mjs';

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
const RUN_MS = 60_000;
const BLOCK_MS = 50;
const FRAME_MS = 1000 / 60;
// 220 simulated minutes at 240×: the stream ends 55 s in, so the after-stream debrief is drawn
// inside the measured minute.
const ROOM = { seed: 20261125, speed: 240, durationMin: 220, arrivals: 12_000, products: 12 };

let server;
let browser;
before(async () => {
  server = await startServer({ port: 0, room: ROOM });
  browser = await launchChromium(['--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows']);
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** Installed before any page script: long tasks and rAF gaps from the load event on. */
function recorder() {
  const rec = { longTasks: [], gaps: [], lags: [], renders: [], loadAt: null };
  window.__jank = rec;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) rec.longTasks.push({ start: e.startTime, duration: e.duration, name: e.name });
  }).observe({ type: 'longtask', buffered: true });
  addEventListener('load', () => {
    rec.loadAt = performance.now();
    let last = performance.now();
    const frame = (t) => {
      rec.gaps.push([last, t - last]);
      last = t;
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
    let at = performance.now();
    const probe = () => {
      const t = performance.now();
      if (t - at > 8) rec.lags.push([at, t - at]);
      at = t;
      setTimeout(probe, 0);
    };
    setTimeout(probe, 0);
    performance.mark('jank:load'); // aligns the page clock with the trace's
    new MutationObserver(() => rec.renders.push(performance.now()))
      .observe(document.body, { attributes: true, attributeFilter: ['data-rendered'] });
  });
}

/** The console page's main-thread tasks (wall and CPU ms) of the trace's last `ms`. */
function mainThreadTasks(events, ms) {
  // The renderer that committed console.html (else the tab's renderer when tracing began).
  const committed = events.find((e) => e.name === 'FrameCommittedInBrowser' && e.args?.data?.url?.includes('/console.html'));
  const started = events.find((e) => e.name === 'TracingStartedInBrowser');
  const pid = committed?.args.data.processId ?? started?.args.data.frames?.[0]?.processId;
  const main = events.find((e) => e.name === 'thread_name' && e.pid === pid && e.args.name === 'CrRendererMain');
  const runs = events.filter((e) => e.name === 'RunTask' && e.ph === 'X' && e.pid === pid && e.tid === main?.tid);
  const end = Math.max(...runs.map((e) => e.ts + e.dur));
  // Page time = trace time (ms) − offset, from the page's mark at its load event.
  const mark = events.find((e) => e.name === 'jank:load' && e.pid === pid);
  const offset = mark ? mark.ts / 1000 - (mark.args?.data?.startTime ?? NaN) : NaN;
  return runs.filter((e) => e.ts >= end - ms * 1000)
    .map((e) => ({ start: e.ts / 1000 - offset, wall: e.dur / 1000, cpu: (e.tdur ?? 0) / 1000 }));
}

test('console: no main-thread block > 50 ms in 60 s of an accelerated stream, every panel refreshed each second', { timeout: 180_000 }, async () => {
  mkdirSync(OUT, { recursive: true });
  const errors = [];
  // A viewer plays, reports to the collector and ends its view (final summary) before the run.
  const viewer = await browser.newPage();
  viewer.on('pageerror', (e) => errors.push(e.message));
  await viewer.goto(`${server.url}/viewer.html?region=浙江`);
  await viewer.waitForFunction(() => window.qoe?.metrics()?.startupMs > 0, null, { timeout: 30_000 });
  await viewer.evaluate(() => window.qoe.flush());
  await viewer.waitForFunction(() => window.qoe.upstream()?.acked >= 1, null, { timeout: 15_000 });
  await viewer.evaluate(() => window.qoe.detach());
  await viewer.close();

  const page = await browser.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  await page.setViewportSize({ width: 1400, height: 1000 });
  await page.addInitScript(recorder);
  // Diagnostics beside the page's own measures: Chromium's trace of the page's main-thread tasks
  // (RunTask), with each task's wall and CPU (thread) time. Under CPU contention a task's wall time
  // can exceed its CPU time many times over (the OS runs other processes meanwhile).
  const cdp = await page.context().newCDPSession(page);
  const trace = [];
  cdp.on('Tracing.dataCollected', (e) => trace.push(...e.value));
  const traced = new Promise((r) => cdp.once('Tracing.tracingComplete', r));
  await cdp.send('Tracing.start', { categories: 'disabled-by-default-devtools.timeline,blink.user_timing', transferMode: 'ReportEvents' });
  await page.goto(`${server.url}/console.html`);
  await page.waitForFunction(() => window.__jank.loadAt !== null);
  const started = Date.now();
  // Sample what the panels show once a second: each must change (or hold the same numbers while
  // its data did not change) as the stream moves on.
  const samples = [];
  while (Date.now() - started < RUN_MS) {
    await new Promise((r) => setTimeout(r, 1000));
    samples.push(await page.evaluate(() => ({
      renders: Number(document.body.dataset.rendered ?? 0),
      minute: window.__console?.minute ?? null,
      points: window.__console?.points ?? 0,
      recommendations: window.__console?.recommendations ?? false,
      cards: document.querySelectorAll('#scorecards .card').length,
      gmv: document.getElementById('layer-result').innerText,
      tech: document.getElementById('layer-tech').innerText,
      regionQoe: document.querySelectorAll('#region-qoe tr[data-region]').length,
    })));
  }
  const rec = await page.evaluate(() => window.__jank);
  await cdp.send('Tracing.end');
  await traced;
  await shootWhole(page, `${OUT}console-60s.png`);
  await page.close();

  const after = (t) => t >= rec.loadAt;
  const longTasks = rec.longTasks.filter((e) => after(e.start));
  const gaps = rec.gaps.filter(([t]) => after(t)).map(([, g]) => g);
  const worstGap = Math.max(...gaps);
  const renderGaps = rec.renders.slice(1).map((t, i) => t - rec.renders[i]);
  const last = samples[samples.length - 1];
  console.log(`jank: ${gaps.length} frames in ${(RUN_MS / 1000).toFixed(0)} s, worst rAF gap ${worstGap.toFixed(1)} ms ` +
    `(p99 ${gaps.sort((a, b) => a - b)[Math.floor(gaps.length * 0.99)].toFixed(1)} ms); long tasks after load: ${longTasks.length}` +
    `${longTasks.length ? ` (worst ${Math.max(...longTasks.map((e) => e.duration)).toFixed(0)} ms)` : ''}; before load: ${rec.longTasks.length - longTasks.length}; ` +
    `${rec.renders.length} renders, worst interval ${Math.max(...renderGaps).toFixed(0)} ms; stream minute ${last.minute}`);

  const runTasks = mainThreadTasks(trace, RUN_MS + 10_000);
  const tasks = runTasks.length && Number.isFinite(runTasks[0].start) ? runTasks.filter((k) => k.start >= rec.loadAt) : runTasks;
  const cpuWorst = tasks.reduce((w, t) => (t.cpu > w.cpu ? t : w), { cpu: 0, wall: 0 });
  const wallWorst = tasks.reduce((w, t) => (t.wall > w.wall ? t : w), { cpu: 0, wall: 0 });
  console.log(`trace: ${tasks.length} main-thread tasks after load; most CPU ${cpuWorst.cpu.toFixed(1)} ms ` +
    `(wall ${cpuWorst.wall.toFixed(1)} ms); longest wall ${wallWorst.wall.toFixed(1)} ms (CPU ${wallWorst.cpu.toFixed(1)} ms); ` +
    `tasks > ${BLOCK_MS} ms wall: ${tasks.filter((t) => t.wall > BLOCK_MS).map((t) => `${t.wall.toFixed(0)} (CPU ${t.cpu.toFixed(0)})`).join(', ') || 'none'}`);
  const lags = rec.lags.filter(([t]) => after(t));
  const lagWorst = lags.reduce((w, x) => (x[1] > w[1] ? x : w), [0, 0]);
  const worstLag = lagWorst[1];
  const inside = ([t, g]) => tasks.filter((k) => k.start < t + g && k.start + k.wall > t).reduce((w, k) => Math.max(w, k.wall), 0);
  const insideCpu = ([t, g]) => tasks.filter((k) => k.start < t + g && k.start + k.wall > t).reduce((w, k) => Math.max(w, k.cpu), 0);
  const worst = rec.gaps.filter(([t]) => after(t)).sort((a, b) => b[1] - a[1]).slice(0, 5);
  console.log(`event-loop lag: worst ${worstLag.toFixed(1)} ms at ${(lagWorst[0] - rec.loadAt).toFixed(0)} ms (longest main-thread task in it ${inside(lagWorst).toFixed(0)} ms; ${lags.length} gaps > 8 ms); worst rAF gaps: ` +
    `${worst.map(([t, g]) => `${g.toFixed(0)} ms at ${(t - rec.loadAt).toFixed(0)} ms (longest main-thread task in it ${inside([t, g]).toFixed(0)} ms)`).join(', ')}`);
  for (const e of longTasks) {
    const near = rec.renders.filter((t) => Math.abs(t - e.start) < 1000).map((t) => (t - e.start).toFixed(0));
    console.log(`long task at ${(e.start - rec.loadAt).toFixed(0)} ms after load: ${e.duration.toFixed(0)} ms; renders at ${near.join(', ')} ms from its start`);
  }
  // The block is judged on the main thread's own time (the trace's thread CPU time per task):
  // on this 2-core machine, with other work running, the OS deschedules the renderer and a 2 ms
  // task can last 150 ms of wall time (seen: long tasks of 55–238 ms wall with 0.4–35 ms CPU).
  // The Long Tasks API counts wall time, so it decides only when there is no trace.
  const traceUsable = tasks.length > 0 && Number.isFinite(tasks[0].start);
  if (traceUsable) {
    const blocks = tasks.filter((t) => t.cpu > BLOCK_MS);
    assert.deepEqual(blocks, [], `no main-thread task over ${BLOCK_MS} ms of CPU after load`);
    const slow = longTasks.filter((e) => !tasks.some((k) => Math.abs(k.start - e.start) < 5));
    assert.deepEqual(slow, [], 'every long task is one the trace saw (so its CPU time was checked)');
  } else {
    assert.deepEqual(longTasks, [], 'no long task (> 50 ms) on the main thread after load');
  }
  // rAF times are vsync times (multiples of a 60 Hz frame): a block of at most 50 ms starting just
  // after a frame delays the next callback to 4 frames (66.7 ms) at most. A longer gap must not
  // hold a main-thread task > 50 ms (trace); without the trace's clock, the gap itself must fit.
  for (const [t, g] of worst.filter(([, g]) => g >= BLOCK_MS + FRAME_MS + 1)) {
    if (traceUsable) assert.ok(insideCpu([t, g]) <= BLOCK_MS, `rAF gap ${g.toFixed(1)} ms holds a task of ${insideCpu([t, g]).toFixed(1)} ms CPU`);
    else assert.fail(`rAF gap ${g.toFixed(1)} ms (a block > ${BLOCK_MS} ms)`);
  }
  // Every panel refreshed each second: one render per second (worker tick), the minute series
  // growing with the simulated clock (4 minutes a second), the viewer's region in the QoE table.
  assert.ok(rec.renders.length >= RUN_MS / 1000 - 3, `${rec.renders.length} renders in ${RUN_MS} ms`);
  assert.ok(Math.max(...renderGaps) < 1600, `render interval ${Math.max(...renderGaps)} ms`);
  assert.equal(last.minute, ROOM.durationMin, 'the stream ended within the run');
  assert.ok(last.recommendations, 'the after-stream recommendations were drawn');
  assert.equal(last.cards, 3);
  assert.equal(last.points, last.minute, "one chart point per minute from the start to the horizon");
  const gmvChanges = samples.slice(1).filter((s, i) => s.gmv !== samples[i].gmv).length;
  assert.ok(gmvChanges >= samples.length * 0.8, `the result layer changed in ${gmvChanges} of ${samples.length - 1} seconds`);
  assert.equal(last.regionQoe, 1);
  assert.match(last.tech, /viewer sessions\s*1\b/);
  assert.deepEqual(errors, []);
});
