#!/usr/bin/env node
// Main-thread CPU cost of livekpi/player beside mux-embed 5.19, both attached to the same <video>
// in the same page and run (headless Chromium, hls.js live playback from the local origin), and
// the player entry's gzip size beside mux-embed's. Not part of the test command.
//
// Method: the CDP Profiler samples the page's main thread (100 µs interval) over ≥ 60 s of live
// playback. Each sample's self time goes to the script of its frame; frames without a script (native
// getters such as currentTime, builtins like JSON.stringify) go to the nearest caller that has one,
// so a monitor pays for the browser work it asks for. livekpi = its bundle
// (/pkg/dist/player/index.js) + its wasm (the page's only wasm module); mux-embed = its module
// (/vendor/mux-embed/). mux-embed's beacons to *.litix.io are answered locally (nothing leaves the
// machine; DNS is disabled for everything but 127.0.0.1).
//
// Usage: node benches/player-overhead.mjs [--seconds 60]   (build first: scripts/build.sh player)
// Writes benches/results/player-overhead.json.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { startServer } from '../www/server.mjs';
import { launchChromium } from '../tests/js/support/chromium.mjs';
import { sizeReport } from '../scripts/size.mjs';

const ROOT = new URL('..', import.meta.url);
const arg = (name, d) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const SECONDS = Math.max(10, arg('--seconds', 60));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const r1 = (x) => Math.round(x * 10) / 10;

const server = await startServer({ port: 0 });
await server.live.ready();
const browser = await launchChromium(['--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1']);
let beacons = 0;
await browser.context.route(/litix\.io/, (route) => {
  beacons++;
  return route.fulfill({ status: 200, contentType: 'text/plain', body: '' });
});

try {
  const name = 'bench';
  const reset = await fetch(`${server.url}/api/live/reset?name=${name}&blocking=1&window=20`, { method: 'POST' });
  if (!reset.ok) throw new Error(`reset: ${reset.status}`);
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  await page.goto(`${server.url}/test/live.html?name=${name}&monitor=1&mux=1&frames=0`);
  await page.waitForFunction(() => window.qoe?.metrics()?.started, null, { timeout: 30_000 });
  await sleep(2000); // past startup: measure steady playback
  const m0 = await page.evaluate(() => window.qoe.metrics());
  const t0 = Date.now();
  await cdp.send('Profiler.start');
  await sleep(SECONDS * 1000);
  const { profile } = await cdp.send('Profiler.stop');
  const wallMs = Date.now() - t0;
  const m1 = await page.evaluate(() => window.qoe.metrics());
  const playingMs = m1.playingMs - m0.playingMs;

  // Self time per node, then per owner (URL-less nodes go to the nearest ancestor with a URL).
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    const dt = profile.timeDeltas[i + 1] ?? 0; // time until the next sample belongs to this one
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  }
  const ownerOf = (url) => {
    if (!url) return null;
    if (url.includes('/pkg/dist/player/') || url.startsWith('wasm://')) return 'livekpi';
    if (url.includes('/vendor/mux-embed/')) return 'mux-embed';
    if (url.includes('/vendor/hls.js/')) return 'hls.js';
    if (url.includes('/test/live.html')) return 'test page';
    return 'other script';
  };
  const totals = new Map();
  const fns = new Map(); // owner · function → µs, for the top-functions list
  for (const [id, us] of selfUs) {
    let n = byId.get(id);
    let owner = ownerOf(n.callFrame.url);
    const special = n.callFrame.functionName;
    while (!owner && parent.has(n.id)) {
      n = byId.get(parent.get(n.id));
      owner = ownerOf(n.callFrame.url);
    }
    owner ??= ['(idle)', '(program)', '(garbage collector)'].includes(special) ? special : 'browser (no script)';
    totals.set(owner, (totals.get(owner) ?? 0) + us);
    const key = `${owner} · ${byId.get(id).callFrame.functionName || '(anonymous)'}${byId.get(id).callFrame.url ? '' : ' [native]'}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
  }
  const profiledMs = (profile.endTime - profile.startTime) / 1000;
  const perMin = (us) => (us / 1000) / (profiledMs / 60_000);
  const rows = [...totals].sort((a, b) => b[1] - a[1]).map(([owner, us]) => ({ owner, cpu_ms: r1(us / 1000), cpu_ms_per_playback_min: r1(perMin(us)) }));
  const lk = totals.get('livekpi') ?? 0;
  const mux = totals.get('mux-embed') ?? 0;

  // Sizes: the player entry (wasm + JS, gzip -9 per file, as served) and mux-embed's dist files.
  const player = sizeReport().find((r) => r.entry === 'livekpi/player');
  const muxSize = {};
  for (const f of ['mux.js', 'mux.mjs']) {
    const bytes = readFileSync(new URL(`node_modules/mux-embed/dist/${f}`, ROOT));
    muxSize[f] = { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  }

  console.log(`# main-thread CPU over ${r1(profiledMs / 1000)} s of live playback (playing ${r1(playingMs / 1000)} s; sampling 100 µs; ${profile.samples.length} samples)`);
  console.table(rows);
  const top = (owner) => [...fns].filter(([k]) => k.startsWith(`${owner} · `)).sort((a, b) => b[1] - a[1]).slice(0, 6)
    .map(([k, us]) => `${k.slice(owner.length + 3)} ${r1(perMin(us))}`).join(', ');
  console.log(`# top self time, ms per playback minute — livekpi: ${top('livekpi')}`);
  console.log(`# top self time, ms per playback minute — mux-embed: ${top('mux-embed')}`);
  // Chromium charges the first requestVideoFrameCallback() of each video frame ~100 µs (it
  // schedules the compositor callback; further calls in the same frame cost ~3 µs): any rVFC user
  // pays it once per frame. Shown apart so livekpi's own JS + wasm is visible.
  const rvfcUs = fns.get('livekpi · requestVideoFrameCallback [native]') ?? 0;
  console.log(`livekpi   ${r1(perMin(lk))} ms CPU per playback minute (of which requestVideoFrameCallback scheduling ${r1(perMin(rvfcUs))}, own JS + wasm ${r1(perMin(lk - rvfcUs))})`);
  console.log(`mux-embed ${r1(perMin(mux))} ms CPU per playback minute`);
  console.log(`ratio livekpi / mux-embed = ${mux > 0 ? (lk / mux).toFixed(3) : 'n/a'}`);
  console.log(`size (gzip -9): livekpi/player ${player.total.gzip} B (wasm ${player.wasm.gzip} + js ${player.js.gzip}) · mux-embed dist/mux.js ${muxSize['mux.js'].gzip} B, dist/mux.mjs ${muxSize['mux.mjs'].gzip} B`);
  console.log(`mux-embed beacons answered locally: ${beacons}; page errors: ${errors.length}`);

  const out = {
    generated_at: new Date().toISOString(),
    chromium: browser.context.browser()?.version() ?? null,
    seconds_profiled: r1(profiledMs / 1000),
    wall_ms: wallMs,
    playing_s: r1(playingMs / 1000),
    sampling_interval_us: 100,
    cpu_ms: Object.fromEntries([...totals].map(([k, v]) => [k, r1(v / 1000)])),
    cpu_ms_per_playback_min: { livekpi: r1(perMin(lk)), 'livekpi rVFC scheduling': r1(perMin(rvfcUs)), 'livekpi own JS + wasm': r1(perMin(lk - rvfcUs)), 'mux-embed': r1(perMin(mux)) },
    top_functions_ms_per_playback_min: { livekpi: top('livekpi'), 'mux-embed': top('mux-embed') },
    ratio_livekpi_over_mux: mux > 0 ? Number((lk / mux).toFixed(3)) : null,
    size_gzip: { 'livekpi/player': player.total, 'mux-embed': muxSize },
    mux_beacons: beacons,
    page_errors: errors,
    monitor: { stallCount: m1.stallCount, freezeCount: m1.freezeCount, latencyLastMs: m1.latencyLastMs },
  };
  const dir = fileURLToPath(new URL('benches/results/', ROOT));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}player-overhead.json`, JSON.stringify(out, null, 2) + '\n');
  console.log('wrote benches/results/player-overhead.json');
  await cdp.detach();
  await page.close();
} finally {
  await browser.close();
  await server.close();
}
