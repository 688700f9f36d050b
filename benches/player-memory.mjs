#!/usr/bin/env node
// Viewer-page memory (and main-thread script time) after 1 h of simulated playback, accelerated:
// livekpi/player vs mux-embed 5.19, each fed the same scripted hour in headless Chromium.
// Not part of the test command.
//
// The timeline (virtual time, Playwright's clock: Date, performance.now and every timer are fake,
// advanced by clock.runFor one minute at a time):
//   - a real <video> element with no media, whose playback state is scripted: currentTime,
//     paused, readyState, videoWidth/Height, duration (live: Infinity) and
//     getVideoPlaybackQuality() are instance getters; requestVideoFrameCallback is the page's
//     own: callbacks run at 30 fps with { mediaTime, presentedFrames, presentationTime,
//     expectedDisplayTime, width, height } while playing (none during a stall);
//   - loadstart, play, loadeddata, playing at the start; timeupdate every 250 ms while playing;
//   - a 2 s stall every 4 minutes (waiting → frames and currentTime stop → playing);
//   - a bitrate switch every 2 minutes cycling 800 k / 1.5 M / 3 M bit/s (resize event with the new
//     videoWidth/Height; livekpi gets it from an adapter's sink.bitrate, as the hls.js adapter
//     does; mux-embed from mux.emit(video, 'renditionchange', …), its documented custom-player
//     call); a dropped frame every 10 s.
// Events carry the virtual time as their timeStamp. Three pages, each in its own browser: the
// driver alone (baseline), driver + livekpi/player (attach, no uplink), driver + mux-embed
// (mux.monitor; its beacons to *.litix.io are answered locally, nothing leaves the machine).
// After each simulated minute the page runs the GC-free loop; at minutes 0, 1, 10, 30 and 60 the
// harness forces a GC (HeapProfiler.collectGarbage ×2) and reads the JS heap (Runtime.getHeapUsage
// usedSize) and, for livekpi, its wasm memory (memory.buffer.byteLength of the player module).
// Reported: JS heap over the baseline page's, wasm memory (reserved, and touched = 4 KiB pages
// holding any non-zero byte), their sum, growth from minute 1 to 60; and the monitor's own CPU
// self time over the simulated hour (CDP sampling profiler at 100 µs, frames attributed to the
// monitor when its script or wasm is anywhere on the sampled stack, so the element getters and the
// fake clock it calls count for it).
//
// Usage: node benches/player-memory.mjs [--minutes 60]   (build first: scripts/build.sh player)
// Writes benches/results/player-memory.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { launchChromium } from '../tests/js/support/chromium.mjs';
import { startStaticServer } from './serve.mjs';

const arg = (name, d) => { const i = process.argv.indexOf(name); return i > 0 ? Number(process.argv[i + 1]) : d; };
const MINUTES = Math.max(1, arg('--minutes', 60));
const STOPS = [...new Set([0, 1, 10, 30, 60, MINUTES].filter((m) => m <= MINUTES))].sort((a, b) => a - b);

// The page: the scripted video and the monitors under test (?lk=1, ?mux=1).
const PAGE = `<!doctype html><meta charset="utf-8"><title>player memory</title>
<video id="v" muted playsinline width="320" height="180"></video>
<script type="module">
const q = new URLSearchParams(location.search);
const video = document.getElementById('v');
const FPS = 30, STALL_EVERY = 240_000, STALL_MS = 2000, SWITCH_EVERY = 120_000;
const LADDER = [[800_000, 640, 360], [1_500_000, 960, 540], [3_000_000, 1280, 720]];
const st = { paused: true, t0: 0, media: 0, mediaAt: 0, stalled: false, frames: 0, dropped: 0, rung: 1, readyState: 0 };
const pnow = () => performance.now();
const media = () => (st.paused || st.stalled ? st.media : st.media + (pnow() - st.mediaAt) / 1000);
const def = (k, get) => Object.defineProperty(video, k, { configurable: true, get });
def('currentTime', media); def('paused', () => st.paused); def('readyState', () => st.readyState);
def('duration', () => Infinity); def('playbackRate', () => 1); def('ended', () => false);
def('videoWidth', () => LADDER[st.rung][1]); def('videoHeight', () => LADDER[st.rung][2]);
def('currentSrc', () => location.origin + '/live/sim.m3u8'); def('src', () => location.origin + '/live/sim.m3u8');
def('error', () => null);
video.getVideoPlaybackQuality = () => ({ totalVideoFrames: st.frames, droppedVideoFrames: st.dropped, creationTime: pnow() });
let cbs = new Map(), nextHandle = 1;
video.requestVideoFrameCallback = (cb) => { const h = nextHandle++; cbs.set(h, cb); return h; };
video.cancelVideoFrameCallback = (h) => { cbs.delete(h); };
const fire = (type) => { const e = new Event(type); Object.defineProperty(e, 'timeStamp', { value: pnow() }); video.dispatchEvent(e); };
let sink = null;
const adapter = (s) => { sink = s; return () => { sink = null; }; };
window.lk = q.get('lk') === '1' ? await import('/pkg/player/index.js') : null;
window.mux = q.get('mux') === '1' ? (await import('/node_modules/mux-embed/dist/mux.mjs')).default : null;
if (lk) { await lk.ready; window.qoe = lk.attach(video, { adapters: [adapter] }); }
if (mux) mux.monitor(video, { debug: false, data: { env_key: 'livekpibench', player_name: 'sim', player_init_time: Date.now(), video_title: 'sim', video_stream_type: 'live' } });
window.wasmBytes = async () => {
  if (!lk) return { reserved: 0, touched: 0 };
  const m = await import('/pkg/dist/player/livekpi_player.js');
  const buf = (await m.default()).memory.buffer;
  // touched: 4 KiB pages holding any non-zero byte (a page never written stays zero)
  const w = new Uint32Array(buf);
  let touched = 0;
  for (let p = 0; p < w.length; p += 1024) {
    for (let i = p; i < p + 1024; i++) if (w[i] !== 0) { touched++; break; }
  }
  return { reserved: buf.byteLength, touched: touched * 4096 };
};
const setRung = (r) => {
  st.rung = r;
  if (sink) sink.bitrate(LADDER[r][0]);
  if (mux) mux.emit(video, 'renditionchange', { video_source_bitrate: LADDER[r][0], video_source_width: LADDER[r][1], video_source_height: LADDER[r][2] });
  fire('resize');
};
window.start = () => {
  st.t0 = pnow();
  fire('loadstart'); st.readyState = 1; fire('loadedmetadata');
  st.paused = false; fire('play');
  setRung(1); st.readyState = 4; fire('loadeddata'); fire('canplay');
  st.media = 0; st.mediaAt = pnow(); fire('playing');
  setInterval(() => {
    if (st.paused || st.stalled) return;
    st.frames++;
    if (st.frames % (10 * FPS) === 0) st.dropped++;
    const now = pnow(), run = cbs; cbs = new Map();
    const meta = { mediaTime: media(), presentedFrames: st.frames, presentationTime: now, expectedDisplayTime: now + 1000 / FPS, width: LADDER[st.rung][1], height: LADDER[st.rung][2] };
    for (const cb of run.values()) cb(now, meta);
  }, 1000 / FPS);
  setInterval(() => { if (!st.paused && !st.stalled) fire('timeupdate'); }, 250);
  setInterval(() => {
    st.media = media(); st.stalled = true; st.readyState = 2; fire('waiting');
    setTimeout(() => { st.mediaAt = pnow(); st.stalled = false; st.readyState = 4; fire('playing'); }, STALL_MS);
  }, STALL_EVERY);
  setInterval(() => setRung((st.rung + 1) % LADDER.length), SWITCH_EVERY);
};
window.state = () => ({ media: media(), frames: st.frames, dropped: st.dropped, metrics: window.qoe?.metrics() ?? null });
window.benchReady = true;
</script>`;

// CPU time per monitor from a CDP sampling profile: a sample counts for a monitor when the monitor's
// script or wasm is on its stack (the leaf or any caller), so a monitor pays for everything it calls
// (the scripted element's getters, the fake clock's performance.now / Date.now, builtins).
function attribute(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const owner = (url) => (!url ? null : url.includes('/pkg/') || url.startsWith('wasm://') ? 'livekpi' : url.includes('/mux-embed/') ? 'mux-embed' : null);
  const memo = new Map();
  const ownerOf = (id) => {
    if (memo.has(id)) return memo.get(id);
    const n = byId.get(id);
    const o = owner(n.callFrame.url) ?? (parent.has(id) ? ownerOf(parent.get(id)) : 'other');
    memo.set(id, o);
    return o;
  };
  const out = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const o = ownerOf(profile.samples[i]);
    out.set(o, (out.get(o) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  }
  return out;
}

const server = await startStaticServer();
const r1 = (x) => Math.round(x * 10) / 10;
const MiB = (b) => b / 2 ** 20;

async function run(variant) {
  const browser = await launchChromium(['--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1', '--enable-precise-memory-info']);
  let beacons = 0;
  try {
    await browser.context.route(/litix\.io/, (route) => { beacons++; return route.fulfill({ status: 200, contentType: 'text/plain', body: '' }); });
    await browser.context.route(`${server.url}/bench/player-memory.html*`, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: PAGE }));
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.clock.install({ time: new Date('2026-11-25T12:00:00Z') });
    const qs = variant === 'livekpi' ? 'lk=1' : variant === 'mux-embed' ? 'mux=1' : '';
    await page.goto(`${server.url}/bench/player-memory.html?${qs}`);
    const t0 = Date.now();
    while (!(await page.evaluate(() => window.benchReady === true))) {
      if (Date.now() - t0 > 30_000) throw new Error(`${variant}: page not ready (${errors.join('; ')})`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
    const measure = async (minute) => {
      await cdp.send('HeapProfiler.collectGarbage');
      await cdp.send('HeapProfiler.collectGarbage');
      const { usedSize } = await cdp.send('Runtime.getHeapUsage');
      const w = await page.evaluate(() => window.wasmBytes());
      return { minute, heap: usedSize, wasm: w.reserved, wasmTouched: w.touched };
    };
    await page.evaluate(() => window.start());
    const samples = [];
    const wall0 = Date.now();
    const cpu = new Map();
    for (let m = 0; m <= MINUTES; m++) {
      if (m > 0) {
        await cdp.send('Profiler.start');
        await page.clock.runFor(60_000);
        const { profile } = await cdp.send('Profiler.stop');
        for (const [k, us] of attribute(profile)) cpu.set(k, (cpu.get(k) ?? 0) + us);
      }
      if (STOPS.includes(m)) samples.push(await measure(m));
    }
    const scriptMs = ((variant === 'livekpi' ? cpu.get('livekpi') : variant === 'mux-embed' ? cpu.get('mux-embed') : 0) ?? 0) / 1000;
    const state = await page.evaluate(() => window.state());
    await cdp.detach();
    await page.close();
    return { variant, samples, scriptMs, wallMs: Date.now() - wall0, beacons, errors, state };
  } finally {
    await browser.close();
  }
}

const load0 = loadavg();
const runs = {};
try {
  for (const v of ['baseline', 'livekpi', 'mux-embed']) {
    runs[v] = await run(v);
    process.stderr.write(`  ${v}: ${MINUTES} simulated min in ${r1(runs[v].wallMs / 1000)} s wall\n`);
  }
} finally {
  await server.close();
}
const at = (v, m) => runs[v].samples.find((s) => s.minute === m);
const last = MINUTES;
const first = STOPS.includes(1) && MINUTES > 1 ? 1 : 0;
const row = (v) => {
  const end = at(v, last), base = at('baseline', last), start = at(v, first), baseStart = at('baseline', first);
  const heapOver = end.heap - base.heap;
  return {
    monitor: v,
    js_heap_over_baseline_bytes: heapOver,
    wasm_memory_bytes: end.wasm,
    wasm_touched_bytes: end.wasmTouched,
    total_touched_bytes: heapOver + end.wasmTouched,
    total_bytes: heapOver + end.wasm,
    growth_bytes: (end.heap - base.heap + end.wasm) - (start.heap - baseStart.heap + start.wasm),
    script_ms_per_hour: runs[v].scriptMs * (60 / MINUTES),
    by_minute: runs[v].samples.map((s) => ({ minute: s.minute, js_heap_over_baseline: s.heap - at('baseline', s.minute).heap, wasm: s.wasm })),
  };
};
const rows = [row('livekpi'), row('mux-embed')];
const lk = rows[0], mux = rows[1];
console.log(`viewer page after ${MINUTES} simulated min (30 fps rVFC, timeupdate 4 Hz, 2 s stall / 4 min, switch / 2 min), forced GC:`);
console.log(`monitor       JS heap over baseline   wasm memory (touched)      total (touched)   growth min ${first}→${last}   CPU ms / sim h`);
for (const r of rows) {
  console.log(`${r.monitor.padEnd(12)} ${MiB(r.js_heap_over_baseline_bytes).toFixed(2).padStart(10)} MiB ${MiB(r.wasm_memory_bytes).toFixed(2).padStart(10)} MiB (${MiB(r.wasm_touched_bytes).toFixed(2)}) ${MiB(r.total_bytes).toFixed(2).padStart(8)} MiB (${MiB(r.total_touched_bytes).toFixed(2)}) ${(r.growth_bytes / 1024).toFixed(0).padStart(10)} KiB ${r1(r.script_ms_per_hour).toString().padStart(12)}`);
}
console.log('wasm memory = the player module\'s linear memory (memory.buffer.byteLength, allocated at instantiation: the 64 KiB wasm stack of scripts/build.sh + data + heap); touched = its 4 KiB pages holding any non-zero byte');
const ratio = { memory: lk.total_bytes / mux.total_bytes, memory_touched: lk.total_touched_bytes / mux.total_bytes, script: lk.script_ms_per_hour / mux.script_ms_per_hour };
console.log(`ratio livekpi / mux-embed: memory ${ratio.memory.toFixed(3)} (touched ${ratio.memory_touched.toFixed(3)}), script time ${ratio.script.toFixed(3)}`);
console.log(`livekpi saw: ${JSON.stringify({ stallCount: runs.livekpi.state.metrics?.stallCount, playingMs: runs.livekpi.state.metrics?.playingMs, frames: runs.livekpi.state.frames })}; mux beacons answered locally: ${runs['mux-embed'].beacons}; page errors: ${Object.values(runs).reduce((a, r) => a + r.errors.length, 0)}`);
const out = {
  date: new Date().toISOString(), command: `node benches/player-memory.mjs --minutes ${MINUTES}`, simulated_minutes: MINUTES,
  loadavg_start: load0, loadavg_end: loadavg(), rows, ratio,
  livekpi_metrics: runs.livekpi.state.metrics, mux_beacons: runs['mux-embed'].beacons,
  wall_ms: Object.fromEntries(Object.entries(runs).map(([k, r]) => [k, r.wallMs])),
  page_errors: Object.fromEntries(Object.entries(runs).map(([k, r]) => [k, r.errors])),
  samples: Object.fromEntries(Object.entries(runs).map(([k, r]) => [k, r.samples])),
};
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/player-memory.json', import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
console.log('wrote benches/results/player-memory.json');
