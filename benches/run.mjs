#!/usr/bin/env node
// Every benchmark in one run (issue 8): builds the package, runs each bench as its own process,
// reads their results (benches/results/*.json, or the native examples' output), prints one table of
// ratios livekpi / peer and writes it to BENCHMARKS.md with the machine described and the load
// average during the run. Not part of the test command.
//
//   node benches/run.mjs [--quick | --full] [--no-build] [--only a,b] [--skip a,b]
//                        [--console-events N] [--upstream-minutes M] [--scaling-max N] [--report-only]
//
// --report-only re-makes the table and BENCHMARKS.md from the last run's files without running
// anything (the load average and durations are then those of the last run's steps, if recorded).
// With --only / --skip the steps not run keep their last results (each step's row in "Steps" says
// when it ran), so one step can be re-measured after a change without re-running the others.
// Profiles (the step list and each step's command are printed at the start):
//   --quick  a smoke run of a few minutes: small workloads (2·10^5 console events, scaling to 10^6),
//            15 s of playback CPU, 1 min of upstream bytes;
//   default  console 10^6 events (peers 10^6, streaming budget 45 s), native scaling to 10^8,
//            60 s of playback CPU, 3 min of upstream bytes (real time), the 1 h memory simulation;
//   --full   as default, plus console 10^7 events (2 repeats; peers' bulk 10^6, extrapolated) and
//            10 min of upstream bytes.
// Steps: build, size, bandwidth, native, merge, memory, overhead, upstream, console, perspective,
// insight, sentiment (the last two: issue 6's detection-delay / forecast and sentiment figures,
// printed verbatim).
// A failing step is reported (and its rows shown as failed); the others still run.
// BENCHMARKS.md keeps its hand-written part (between the `hand-written` markers) across runs.
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { cpus, totalmem, loadavg, release } from 'node:os';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RES = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(RES, { recursive: true });
const argv = process.argv.slice(2);
const flag = (f) => argv.includes(f);
const opt = (f, d) => { const i = argv.indexOf(f); return i >= 0 ? argv[i + 1] : d; };
const QUICK = flag('--quick'), FULL = flag('--full');
let profile = QUICK ? 'quick' : FULL ? 'full' : 'default';
const P = {
  quick: { consoleEvents: 200_000, peerEvents: 200_000, budget: 10, repeat: 1, perspEvents: 200_000, upstream: 1, overhead: 15,
    memoryMinutes: 60, nativeEvents: 100_000, scalingMax: 1_000_000, reps: 1, bwMiB: 128, bwPasses: 3, merge: ['1000000', '1'] },
  default: { consoleEvents: 1_000_000, peerEvents: 1_000_000, budget: 45, repeat: 1, perspEvents: 1_000_000, upstream: 3, overhead: 60,
    memoryMinutes: 60, nativeEvents: 450_000, scalingMax: 100_000_000, reps: 3, bwMiB: 512, bwPasses: 5, merge: [] },
  full: { consoleEvents: 10_000_000, peerEvents: 1_000_000, budget: 60, repeat: 2, perspEvents: 1_000_000, upstream: 10, overhead: 60,
    memoryMinutes: 60, nativeEvents: 450_000, scalingMax: 100_000_000, reps: 3, bwMiB: 512, bwPasses: 5, merge: [] },
}[profile];
if (opt('--console-events')) P.consoleEvents = Number(opt('--console-events'));
if (opt('--upstream-minutes')) P.upstream = Number(opt('--upstream-minutes'));
if (opt('--scaling-max')) P.scalingMax = Number(opt('--scaling-max'));
P.peerEvents = Math.min(P.peerEvents, P.consoleEvents);
P.perspEvents = Math.min(P.perspEvents, P.consoleEvents);

const cargo = (profileName, features, example, args) => ['cargo', ['run', '--quiet', '--profile', profileName, ...(features ? ['--features', features] : []), '--example', example, ...(args.length ? ['--', ...args] : [])]];
const STEPS = [
  { id: 'build', cmd: ['scripts/build.sh', []] },
  { id: 'size', cmd: ['node', ['benches/size.mjs']] },
  { id: 'bandwidth', cmd: cargo('console', null, 'mem_bandwidth', [String(P.bwMiB), String(P.bwPasses)]) },
  { id: 'native', cmd: cargo('console', 'console', 'kpi_bench', ['--events', String(P.nativeEvents), '--max', String(P.scalingMax), '--reps', String(P.reps)]) },
  { id: 'merge', cmd: cargo('console', 'player,console', 'summary_merge_bench', P.merge) },
  { id: 'memory', cmd: ['node', ['benches/player-memory.mjs', '--minutes', String(P.memoryMinutes)]] },
  { id: 'overhead', cmd: ['node', ['benches/player-overhead.mjs', '--seconds', String(P.overhead)]] },
  { id: 'upstream', cmd: ['node', ['benches/upstream-bytes.mjs', '--minutes', String(P.upstream)]] },
  { id: 'console', cmd: ['node', ['benches/console-throughput.mjs', '--events', String(P.consoleEvents), '--peer-events', String(P.peerEvents), '--budget', String(P.budget), '--repeat', String(P.repeat)]] },
  { id: 'perspective', cmd: ['node', ['benches/console-perspective.mjs', '--events', String(P.perspEvents), '--budget', String(P.budget)]] },
  // quality figures issue 6 asks for (no peer here: shown verbatim under "Other figures")
  { id: 'insight', cmd: cargo('console', 'console', 'insight_eval', QUICK ? ['4'] : []) },
  { id: 'sentiment', cmd: cargo('console', 'console', 'sentiment_eval', []) },
];
const only = opt('--only')?.split(','), skip = new Set([...(opt('--skip')?.split(',') ?? []), ...(flag('--no-build') ? ['build'] : [])]);
const steps = STEPS.filter((s) => (!only || only.includes(s.id)) && !skip.has(s.id));

// ---- machine ----
const sh = (c, a) => { try { return execFileSync(c, a, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { return null; } };
const cpuModel = (() => {
  const l = sh('lscpu', []);
  const m = l && /^Model name:\s*(.+)$/m.exec(l);
  return m ? m[1].trim() : cpus()[0]?.model ?? 'unknown';
})();
const osName = (() => { try { return /^PRETTY_NAME="?([^"\n]+)/m.exec(readFileSync('/etc/os-release', 'utf8'))[1]; } catch { return 'unknown'; } })();
const machine = {
  cpu: cpuModel,
  cpu_flags: (() => { const l = sh('lscpu', []); return l && /Hypervisor vendor:\s*(\S+)/.exec(l) ? `virtual machine (${/Hypervisor vendor:\s*(\S+)/.exec(l)[1]})` : 'bare metal or unknown'; })(),
  cores: cpus().length,
  ram_gib: Math.round(totalmem() / 2 ** 30 * 10) / 10,
  os: `${osName}, Linux ${release()}`,
  node: process.version,
  chromium: sh('/usr/bin/chromium', ['--version'])?.split('\n').pop() ?? 'unknown',
  rustc: sh('rustc', ['--version']) ?? 'unknown',
};

// ---- load average during the run ----
const loads = [];
const sampleLoad = () => loads.push(loadavg()[0]);
sampleLoad();
const loadTimer = setInterval(sampleLoad, 5000);

const logLines = [];
const say = (s = '') => { console.log(s); logLines.push(s); };
function runStep(step) {
  const [cmd, args] = step.cmd;
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const pipe = (stream, toErr) => {
      let pending = '';
      stream.on('data', (d) => {
        const s = d.toString();
        if (!toErr) out += s;
        pending += s;
        const lines = pending.split('\n');
        pending = lines.pop();
        for (const l of lines) { const line = `[${step.id}] ${l}`; (toErr ? process.stderr : process.stdout).write(`${line}\n`); logLines.push(line); }
      });
      stream.on('end', () => { if (pending) { const line = `[${step.id}] ${pending}`; console.log(line); logLines.push(line); } });
    };
    pipe(child.stdout, false);
    pipe(child.stderr, true);
    child.on('close', (code) => resolve({ id: step.id, cmd: [cmd, ...args].join(' '), code, out, seconds: Math.round((Date.now() - t0) / 100) / 10, load: loadavg()[0], at: new Date(t0).toISOString() }));
  });
}

const t0 = Date.now();
say(`# livekpi benchmarks, profile ${profile}: ${steps.map((s) => s.id).join(', ')}`);
for (const s of steps) say(`#   ${s.id}: ${[s.cmd[0], ...s.cmd[1]].join(' ')}`);
const outcome = {};
const REPORT_ONLY = flag('--report-only');
const PARTIAL = !REPORT_ONLY && (only !== undefined || skip.size > 0);
let shownArgv = argv;
if (PARTIAL) {
  // steps not run now keep their last results (their files in benches/results/ stay as they are)
  try {
    const kept = JSON.parse(readFileSync(`${RES}run-steps.json`, 'utf8'));
    for (const [id, o] of Object.entries(kept)) if (!steps.some((s) => s.id === id)) outcome[id] = { ...o, kept: true };
  } catch { /* no earlier run */ }
  try {
    const prev = JSON.parse(readFileSync(`${RES}run.json`, 'utf8'));
    if (prev.loads?.length) loads.unshift(...prev.loads);
  } catch { /* no earlier run */ }
}
if (REPORT_ONLY) {
  // Re-make the table from the last run's files (benches/results/*.json and run-steps.json).
  try { Object.assign(outcome, JSON.parse(readFileSync(`${RES}run-steps.json`, 'utf8'))); } catch { /* none yet */ }
  try {
    const prev = JSON.parse(readFileSync(`${RES}run.json`, 'utf8'));
    if (prev.loads?.length) loads.splice(0, loads.length, ...prev.loads);
    if (prev.profile) profile = prev.profile;
    if (prev.argv) shownArgv = prev.argv;
    if (prev.params) Object.assign(P, prev.params);
  } catch { /* none yet */ }
  for (const s of steps) {
    const file = { size: 'size.json', memory: 'player-memory.json', overhead: 'player-overhead.json', upstream: 'upstream-bytes.json', console: 'console-throughput.json', perspective: 'console-perspective.json' }[s.id];
    if (file && existsSync(`${RES}${file}`)) outcome[s.id] ??= { id: s.id, code: 0, out: '', seconds: null, load: null };
  }
}
for (const s of REPORT_ONLY ? [] : steps) {
  say(`\n## ${s.id} (load ${loadavg()[0].toFixed(2)})`);
  outcome[s.id] = await runStep(s);
  say(`## ${s.id}: exit ${outcome[s.id].code} in ${outcome[s.id].seconds} s`);
  if (s.id === 'build' && outcome[s.id].code !== 0) { say('build failed: stopping'); break; }
}
clearInterval(loadTimer);
if (REPORT_ONLY) loads.pop(); // keep the recorded run's samples
if (!REPORT_ONLY) {
  writeFileSync(`${RES}run-steps.json`, `${JSON.stringify(Object.fromEntries(Object.entries(outcome).map(([k, v]) => [k, { ...v, out: ['native', 'merge', 'bandwidth', 'insight', 'sentiment'].includes(k) ? v.out : '' }])), null, 2)}\n`);
}
sampleLoad();
const wallMin = REPORT_ONLY ? Object.values(outcome).reduce((a, o) => a + (o.seconds ?? 0), 0) / 60 : (Date.now() - t0) / 60_000;

// ---- results ----
const readJson = (name) => { try { return JSON.parse(readFileSync(`${RES}${name}`, 'utf8')); } catch { return null; } };
const ok = (id) => outcome[id]?.code === 0;
const R = {};
if (ok('size')) R.size = readJson('size.json');
if (ok('memory')) R.memory = readJson('player-memory.json');
if (ok('overhead')) R.overhead = readJson('player-overhead.json');
if (ok('upstream')) R.upstream = readJson('upstream-bytes.json');
if (ok('console')) R.console = readJson('console-throughput.json');
if (ok('perspective')) R.perspective = readJson('console-perspective.json');
if (ok('bandwidth')) { try { R.bandwidth = JSON.parse(outcome.bandwidth.out.trim().split('\n').pop()); } catch { /* shown as failed */ } }
if (ok('native')) {
  const out = outcome.native.out;
  const paths = {};
  for (const m of out.matchAll(/^(columns|columns-stream|ndjson|ndjson-stream|objects|objects-stream)\s+([\d.]+)\s+(\d+)\s+(\d+)\s*$/gm)) paths[m[1]] = { meps: Number(m[2]), ns: Number(m[3]) };
  const scaling = [];
  for (const m of out.matchAll(/^\s*(\d+)\s+(\d+)\s+([\d.]+)ms\s+([\d.]+)ms\s+([\d.]+)\s+([\d.]+)\s+(\d+)\s+(\d+)(?:\s+\d+\s+\d+\s+\d+\s+(\d+))?/gm)) {
    scaling.push({ events: Number(m[1]), ns: Number(m[2]), p50: Number(m[3]), p99: Number(m[4]), roomMB: Number(m[5]), bPerEvent: Number(m[6]), rssMB: Number(m[7]), peakMB: Number(m[8]), rejected: m[9] === undefined ? null : Number(m[9]) });
  }
  const wl = /workload:[^\n]*/.exec(out)?.[0] ?? '';
  R.native = { paths, scaling, workload: wl, replayed: /replayed/.test(out) };
  writeFileSync(`${RES}kpi-bench.txt`, out);
}
if (ok('merge')) {
  R.merge = [...outcome.merge.out.matchAll(/^(\d+) summaries \((\d+) sessions x (\d+)[^)]*?([\d.]+) B\/summary\): decode\+dedup\+merge ([\d.]+) s wall \(([\d.]+|NaN) s CPU\), (\d+) summaries\/s/gm)]
    .map((m) => ({ summaries: Number(m[1]), sessions: Number(m[2]), per: Number(m[3]), bytes: Number(m[4]), wallS: Number(m[5]), cpuS: Number(m[6]), perSec: Number(m[7]) }));
  // each shape's second line: the same summaries sharded by session id over N threads
  const sharded = [...outcome.merge.out.matchAll(/^\s+sharded by session id over (\d+) threads: decode\+dedup\+merge ([\d.]+) s wall \(([\d.]+|NaN) s CPU/gm)];
  sharded.forEach((m, i) => { if (R.merge[i]) R.merge[i].sharded = { threads: Number(m[1]), wallS: Number(m[2]), cpuS: Number(m[3]) }; });
}

// Bytes per event of the columnar workload: the typed-array columns (per event) plus each 1,000-event
// batch's own strings table (UTF-8), averaged over the console run's workload.
async function bytesPerEvent() {
  try {
    const { buildWorkload } = await import('./workload.mjs');
    const { encodeBatch } = await import('./columns.js');
    const w = await buildWorkload({ events: P.consoleEvents });
    const size = { Uint8Array: 1, Uint32Array: 4, Float64Array: 8 };
    const cols = w.meta.layout.reduce((a, l) => a + size[l.type], 0);
    const n = w.meta.events;
    let strBytes = 0, sampled = 0;
    const stride = Math.max(1000, Math.floor(n / 200 / 1000) * 1000);
    for (let lo = 0; lo + 1000 <= n; lo += stride) {
      const b = encodeBatch(w.columns, lo, lo + 1000);
      strBytes += b.strings.reduce((a, s) => a + Buffer.byteLength(s), 0);
      sampled += 1000;
    }
    return { columns: cols, strings: strBytes / sampled, total: cols + strBytes / sampled, fields: w.meta.layout.length };
  } catch (e) {
    return { error: e.message };
  }
}
const bpe = R.bandwidth ? await bytesPerEvent() : null;

// ---- the table ----
const rows = []; // { area, metric, livekpi, peer, peerValue, ratio, better: 'lower'|'higher', unit, note }
const fmt = (x, d = 1) => (x == null || Number.isNaN(x) ? '—' : Math.abs(x) >= 100 ? Math.round(x).toLocaleString('en-US') : Number(x).toFixed(d));
const add = (r) => rows.push(r);
const failed = (area, metric, step) => add({ area, metric, failed: `step \`${step}\` ${outcome[step] ? `failed (exit ${outcome[step].code})` : 'not run'}` });

if (R.size) {
  const get = (n) => R.size.rows.find((r) => r.name === n)?.total;
  for (const [mine, peer] of [['livekpi/player', 'mux-embed'], ['livekpi/console', 'arquero'], ['livekpi/console', 'duckdb-wasm'], ['livekpi/console', 'perspective']]) {
    const a = get(mine), b = get(peer);
    if (!a || !b) continue;
    add({ area: 'size', metric: `${mine} brotli bytes (gzip ratio ${(a.gzip / b.gzip).toFixed(3)})`, livekpi: a.brotli, peer, peerValue: b.brotli, better: 'lower', unit: 'B' });
  }
} else failed('size', 'download bytes', 'size');

if (R.overhead) {
  const c = R.overhead.cpu_ms_per_playback_min;
  add({ area: 'viewer', metric: `main-thread CPU ms per playback minute (live HLS, ${R.overhead.seconds_profiled} s profiled; livekpi own JS + wasm ${fmt(c['livekpi own JS + wasm'])}, rVFC scheduling ${fmt(c['livekpi rVFC scheduling'])})`,
    livekpi: c.livekpi, peer: 'mux-embed', peerValue: c['mux-embed'], better: 'lower', unit: 'ms' });
} else failed('viewer', 'main-thread CPU per playback minute', 'overhead');
if (R.memory) {
  const [lk, mux] = R.memory.rows;
  add({ area: 'viewer', metric: `memory after ${R.memory.simulated_minutes} min simulated playback: JS heap over baseline + wasm linear memory (reserved), forced GC`,
    livekpi: lk.total_bytes, peer: 'mux-embed', peerValue: mux.total_bytes, better: 'lower', unit: 'B' });
  add({ area: 'viewer', metric: `same, wasm counted as touched 4 KiB pages only (${fmt(lk.wasm_touched_bytes / 1024)} of ${fmt(lk.wasm_memory_bytes / 1024)} KiB)`,
    livekpi: lk.total_touched_bytes, peer: 'mux-embed', peerValue: mux.total_bytes, better: 'lower', unit: 'B' });
  add({ area: 'viewer', metric: `memory growth from minute 1 to ${R.memory.simulated_minutes} (JS heap over baseline + wasm)`,
    livekpi: lk.growth_bytes, peer: 'mux-embed', peerValue: mux.growth_bytes, better: 'lower', unit: 'B' });
  add({ area: 'viewer', metric: 'monitor CPU self time per simulated hour (synthetic 1 h timeline, sampling profiler)',
    livekpi: lk.script_ms_per_hour, peer: 'mux-embed', peerValue: mux.script_ms_per_hour, better: 'lower', unit: 'ms' });
} else failed('viewer', 'memory after 1 h', 'memory');

if (R.upstream) {
  const [mux, lk, cmcd] = R.upstream.rows;
  const m = R.upstream.session_minutes;
  add({ area: 'upstream', metric: `bytes per viewer-minute, body + HTTP/1.1 headers (${m} min real-time session)`, livekpi: lk.total_per_viewer_minute, peer: 'mux-embed', peerValue: mux.total_per_viewer_minute, better: 'lower', unit: 'B' });
  add({ area: 'upstream', metric: 'bytes per viewer-minute, body only', livekpi: lk.body_per_viewer_minute, peer: 'mux-embed', peerValue: mux.body_per_viewer_minute, better: 'lower', unit: 'B' });
  add({ area: 'upstream', metric: 'bytes per viewer-minute, body + headers (CMCD v2 computed: e=t every 30 s)', livekpi: lk.total_per_viewer_minute, peer: 'CMCD v2 event mode', peerValue: cmcd.total_per_viewer_minute, better: 'lower', unit: 'B' });
  add({ area: 'upstream', metric: 'bytes per viewer-minute, body only (CMCD v2 computed)', livekpi: lk.body_per_viewer_minute, peer: 'CMCD v2 event mode', peerValue: cmcd.body_per_viewer_minute, better: 'lower', unit: 'B' });
} else failed('upstream', 'bytes per viewer-minute', 'upstream');

const cs = R.console?.summary ?? [];
const ps = R.perspective?.summary ?? [];
const find = (mode, engine) => (engine === 'perspective' ? ps.find((s) => s.mode === mode) : cs.find((s) => s.mode === mode && s.engine === engine));
if (cs.length) {
  const N = R.console.workload?.events;
  for (const mode of ['bulk', 'streaming']) {
    const lk = find(mode, 'livekpi-columns'), lko = find(mode, 'livekpi-objects');
    for (const peer of ['plain', 'arquero', 'duckdb', 'perspective']) {
      const p = find(mode, peer);
      if (!lk || !p) continue;
      const star = p.extrapolated ? ' (peer extrapolated to N)' : '';
      const sub = peer === 'perspective' ? ` (Perspective: KPI subset, ${R.perspective.events} events)` : '';
      add({ area: 'console', metric: `${mode} events/s, columns, N = ${N}${sub}${star}${p.agrees === false || lk.agrees === false ? ' — DISAGREES' : ''}`, livekpi: lk.eventsPerSec, peer, peerValue: p.eventsPerSec, better: 'higher', unit: 'ev/s' });
      if (peer === 'plain' && lko) add({ area: 'console', metric: `${mode} events/s, objects (Room.ingest), N = ${N}`, livekpi: lko.eventsPerSec, peer, peerValue: p.eventsPerSec, better: 'higher', unit: 'ev/s' });
    }
    for (const peer of ['plain', 'arquero', 'duckdb', 'perspective']) {
      const p = find(mode, peer);
      if (!lk || !p || mode !== 'streaming') continue;
      const at = p.events < lk.events ? ` (peer measured over ${p.events} events)` : '';
      add({ area: 'console', metric: `streaming snapshot latency p99 (every 100k events + final)${at}`, livekpi: lk.snapshotP99, peer, peerValue: p.snapshotP99, better: 'lower', unit: 'ms' });
    }
    for (const peer of ['plain', 'arquero', 'duckdb', 'perspective']) {
      const p = find(mode, peer);
      if (!lk || !p) continue;
      const at = p.events < lk.events ? ` — peer measured over ${p.events} events, livekpi over ${lk.events}` : '';
      add({ area: 'console', metric: `${mode} peak memory, JS heap growth + engine (wasm / DuckDB / Perspective worker)${at}`, livekpi: (lk.heapGrowthMiB + lk.engineMiB) * 2 ** 20, peer, peerValue: (p.heapGrowthMiB + p.engineMiB) * 2 ** 20, better: 'lower', unit: 'B' });
    }
  }
} else failed('console', 'events/s in Chromium', 'console');
if (!ps.length) failed('console', 'Perspective events/s', 'perspective');

if (R.bandwidth && bpe && !bpe.error) {
  const bound = (R.bandwidth.best_gb_per_s * 1e9) / bpe.total;
  R.bound = { bytesPerEvent: bpe, gbPerS: R.bandwidth.best_gb_per_s, eventsPerSec: bound };
  const nat = R.native?.paths?.columns?.meps;
  if (nat) add({ area: 'limit', metric: `native bulk columns events/s vs memory-bandwidth bound (${fmt(R.bandwidth.best_gb_per_s, 2)} GB/s ÷ ${fmt(bpe.total)} B/event)`, livekpi: nat * 1e6, peer: 'bandwidth bound', peerValue: bound, better: 'higher', unit: 'ev/s', fraction: true });
  const lk = find('bulk', 'livekpi-columns');
  if (lk) add({ area: 'limit', metric: 'Chromium bulk columns events/s vs the same bound', livekpi: lk.eventsPerSec, peer: 'bandwidth bound', peerValue: bound, better: 'higher', unit: 'ev/s', fraction: true });
} else failed('limit', 'memory-bandwidth bound', 'bandwidth');

if (R.native?.scaling?.length) {
  const s = R.native.scaling;
  // The first decade (10^5) carries the room's warm-up (first allocations, cold caches): compare
  // with 10^6 when the run reached it.
  const a = s.find((x) => x.events === 1_000_000 && x !== s[s.length - 1]) ?? s[0], b = s[s.length - 1];
  add({ area: 'scaling', metric: `native ns per event (columns streaming; each decade's own events) at ${b.events.toExponential(0)} vs at ${a.events.toExponential(0)} events`, livekpi: b.ns, peer: `itself at ${a.events.toExponential(0)}`, peerValue: a.ns, better: 'lower', unit: 'ns', self: true });
} else failed('scaling', 'cost per event vs stream size', 'native');
if (!R.merge?.length) failed('scaling', 'summary merge of 10^6 viewers', 'merge');

// verdicts
for (const r of rows) {
  if (r.failed) continue;
  r.ratio = r.peerValue ? r.livekpi / r.peerValue : null;
  if (r.ratio == null) { r.verdict = '—'; continue; }
  if (r.fraction) { r.verdict = `${(r.ratio * 100).toFixed(1)} % of the bound`; continue; }
  if (r.self) { r.verdict = r.ratio <= 1.25 ? 'flat (≤ 1.25×)' : `grows ${r.ratio.toFixed(2)}×`; continue; }
  const good = r.better === 'lower' ? r.ratio < 1 : r.ratio > 1;
  r.verdict = Math.abs(r.ratio - 1) < 0.05 ? 'par (±5 %)' : good ? 'win' : '**LOSS**';
}
const val = (x, unit) => {
  if (x == null) return '—';
  if (unit === 'B') return x >= 2 ** 20 ? `${(x / 2 ** 20).toFixed(2)} MiB` : x >= 10 * 1024 ? `${(x / 1024).toFixed(1)} KiB` : `${fmt(x)} B`;
  if (unit === 'ev/s') return x >= 1e6 ? `${(x / 1e6).toFixed(2)} M/s` : `${(x / 1e3).toFixed(1)} k/s`;
  return `${fmt(x, x < 10 ? 2 : 1)} ${unit}`;
};
const tableMd = ['| area | metric | livekpi | peer | peer value | livekpi / peer | verdict |', '|---|---|---:|---|---:|---:|---|'];
for (const r of rows) {
  if (r.failed) tableMd.push(`| ${r.area} | ${r.metric} | — | — | — | — | ${r.failed} |`);
  else tableMd.push(`| ${r.area} | ${r.metric} | ${val(r.livekpi, r.unit)} | ${r.peer} | ${val(r.peerValue, r.unit)} | ${r.ratio == null ? '—' : r.ratio.toFixed(r.ratio < 0.1 ? 4 : 3)} | ${r.verdict} |`);
}
const lmin = Math.min(...loads), lmax = Math.max(...loads), lmean = loads.reduce((a, b) => a + b, 0) / loads.length;
const loadLine = `1-min load average during the run: start ${loads[0].toFixed(2)}, end ${loads.at(-1).toFixed(2)}, min ${lmin.toFixed(2)}, mean ${lmean.toFixed(2)}, max ${lmax.toFixed(2)} (${machine.cores} cores; ${loads.length} samples, every 5 s)`;

// ---- goals other issues set (measured here) ----
const goals = []; // { issue, goal, measured, met }
const g = (issue, goal, measured, met) => goals.push({ issue, goal, measured, met });
if (R.size) {
  const pl = R.size.rows.find((r) => r.name === 'livekpi/player')?.total;
  if (pl) {
    g(3, 'livekpi/player ≤ 28,000 B gzip (budget; mux-embed 5.19 is 28.8 KB)', `${pl.gzip} B`, pl.gzip <= 28_000);
    g(3, 'livekpi/player ≤ 15,000 B gzip (goal)', `${pl.gzip} B`, pl.gzip <= 15_000);
  }
}
if (R.overhead) g(3, 'main-thread CPU per playback minute below mux-embed\'s on the same element', `${fmt(R.overhead.cpu_ms_per_playback_min.livekpi)} vs ${fmt(R.overhead.cpu_ms_per_playback_min['mux-embed'])} ms`, R.overhead.cpu_ms_per_playback_min.livekpi < R.overhead.cpu_ms_per_playback_min['mux-embed']);
if (R.upstream) g(4, '≥ 10× fewer bytes upstream per viewer-minute than mux-embed (body + headers)', `${R.upstream.rows[1].mux_over_this_total}× fewer (${R.upstream.session_minutes} min session${R.upstream.session_minutes < 10 ? '; the issue asks for 10 min: --full' : ''})`, R.upstream.rows[1].mux_over_this_total >= 10);
if (R.merge?.length) {
  const m = R.merge.filter((x) => x.summaries >= 1_000_000);
  // met per shape when one thread needs < 1 s of CPU (the load-independent figure on a shared
  // machine) or the merge sharded by session id over the machine's cores takes < 1 s of wall time
  if (m.length) g(4, '10^6 viewer summaries merged natively in < 1 s (one thread\'s CPU, or wall time sharded over the cores)', m.map((x) => `${x.sessions.toLocaleString('en-US')} × ${x.per}: ${x.wallS.toFixed(2)} s wall (${x.cpuS} s CPU)${x.sharded ? `, sharded over ${x.sharded.threads} threads ${x.sharded.wallS.toFixed(2)} s wall` : ''}`).join('; '), m.every((x) => x.cpuS < 1 || x.wallS < 1 || x.sharded?.wallS < 1));
}
// Issue 5's streaming goals, from this run's console step and, when present, from the last run at the
// issue's own workload size (benches/results/console-throughput-10m.json, `--events 10000000`).
const consoleGoals = (summary, label) => {
  const at = (engine) => summary.find((s) => s.mode === 'streaming' && s.engine === engine);
  const lk = at('livekpi-columns');
  if (!lk) return;
  const plain = at('plain');
  if (plain) g(5, `streaming events/s ≥ 2× plain JS (${label})`, `${(lk.eventsPerSec / plain.eventsPerSec).toFixed(2)}×`, lk.eventsPerSec / plain.eventsPerSec >= 2);
  for (const peer of ['arquero', 'duckdb']) {
    const p = at(peer);
    if (p) g(5, `streaming events/s ≥ 50× ${peer} (${label})`, `${(lk.eventsPerSec / p.eventsPerSec).toFixed(1)}×${p.extrapolated ? ' (peer extrapolated)' : ''}`, lk.eventsPerSec / p.eventsPerSec >= 50);
  }
  g(5, `snapshot of every KPI < 1 ms (Chromium, streaming p99; ${label})`, `${fmt(lk.snapshotP99, 2)} ms p99, p50 ${fmt(lk.snapshotP50, 2)} ms`, lk.snapshotP99 < 1);
};
if (cs.length) consoleGoals(cs, `N = ${R.console.workload?.events}`);
const tenM = readJson('console-throughput-10m.json');
if (tenM?.summary) consoleGoals(tenM.summary, `N = ${tenM.workload?.events}, ${tenM.date?.slice(0, 10)} run of console-throughput-10m`);
if (R.native?.scaling?.length) {
  const worst = Math.max(...R.native.scaling.map((s) => s.p99));
  g(5, 'snapshot < 1 ms at any stream size (native p99 over the scaling stops)', `max p99 ${worst.toFixed(3)} ms up to ${R.native.scaling.at(-1).events.toExponential(0)} events`, worst < 1);
  const a = R.native.scaling[0], b = R.native.scaling.at(-1);
  g(5, 'memory grows with keys, not with events (room bytes per event fall as the stream grows)', `${a.bPerEvent.toFixed(1)} B/event at ${a.events.toExponential(0)} → ${b.bPerEvent.toFixed(1)} at ${b.events.toExponential(0)} (room ${b.roomMB.toFixed(0)} MB)`, b.bPerEvent < a.bPerEvent);
}
const goalsMd = ['| issue | goal | measured | met |', '|---:|---|---|---|', ...goals.map((x) => `| ${x.issue} | ${x.goal} | ${x.measured} | ${x.met ? 'yes' : '**no**'} |`)];

// ---- detail sections ----
const det = [];
if (R.size) {
  det.push('### Size (gzip -9 / brotli q11, each file compressed on its own)', '', '| package | version | raw | gzip | brotli |', '|---|---|---:|---:|---:|');
  for (const r of R.size.rows) det.push(`| ${r.name} | ${r.version} | ${val(r.total.raw, 'B')} | ${val(r.total.gzip, 'B')} | ${val(r.total.brotli, 'B')} |`);
  det.push('');
}
if (R.memory) {
  det.push(`### Viewer memory, ${R.memory.simulated_minutes} min simulated playback (\`${R.memory.command}\`)`, '',
    '| monitor | minute | JS heap over baseline | wasm reserved |', '|---|---:|---:|---:|');
  for (const r of R.memory.rows) for (const b of r.by_minute) det.push(`| ${r.monitor} | ${b.minute} | ${val(b.js_heap_over_baseline, 'B')} | ${val(b.wasm, 'B')} |`);
  det.push('', `livekpi counted ${R.memory.livekpi_metrics?.stallCount} stalls over the simulated hour (the timeline has ${Math.floor(R.memory.simulated_minutes / 4)}); mux-embed sent ${R.memory.mux_beacons} beacons (answered locally).`, '');
}
if (R.native) {
  det.push(`### Native KPI engine (\`examples/kpi_bench.rs\`, profile \`console\`)`, '', R.native.workload ? `${R.native.workload}` : '', '', '| path | M events/s | ns/event |', '|---|---:|---:|');
  for (const [k, v] of Object.entries(R.native.paths)) det.push(`| ${k} | ${v.meps.toFixed(2)} | ${v.ns} |`);
  det.push('');
  if (R.native.scaling.length) {
    det.push(`### Scaling: cost per event as the stream grows (native${R.native.replayed ? '; beyond 10^7 the 10^7-event log is replayed time-shifted with fresh ids' : ''})`, '',
      'Native only: 10^8 events in Chromium would need the whole stream in the page (≈ 10 GB of columns); the Chromium runs stop at the console step\'s N.', '',
      '| events | ns/event (this decade) | snapshot p50 ms | snapshot p99 ms | room MB | B/event | peak RSS MB | rejected so far |', '|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const s of R.native.scaling) det.push(`| ${s.events.toLocaleString('en-US')} | ${s.ns} | ${s.p50.toFixed(3)} | ${s.p99.toFixed(3)} | ${s.roomMB.toFixed(1)} | ${s.bPerEvent.toFixed(1)} | ${s.peakMB} | ${s.rejected?.toLocaleString('en-US') ?? '—'} |`);
    det.push('');
  }
}
if (R.merge?.length) {
  det.push('### Summary merge (`examples/summary_merge_bench.rs`, one collector thread, and sharded by session id over the cores; profile `console`)', '', '| summaries | sessions × per session | B/summary | wall s | CPU s | summaries/s | sharded: threads, wall s |', '|---:|---|---:|---:|---:|---:|---|');
  for (const m of R.merge) det.push(`| ${m.summaries.toLocaleString('en-US')} | ${m.sessions.toLocaleString('en-US')} × ${m.per} | ${m.bytes} | ${m.wallS.toFixed(3)} | ${m.cpuS} | ${m.perSec.toLocaleString('en-US')} | ${m.sharded ? `${m.sharded.threads}, ${m.sharded.wallS.toFixed(3)}` : '—'} |`);
  det.push('');
}
if (R.bound) {
  const b = R.bound.bytesPerEvent;
  det.push('### Memory-bandwidth bound', '', `Sequential read, one thread (\`examples/mem_bandwidth.rs\`, ${R.bandwidth.buffer_bytes / 2 ** 20} MiB buffer): best ${R.bandwidth.best_gb_per_s} GB/s, median ${R.bandwidth.median_gb_per_s} GB/s.`,
    `Columnar input per event: ${b.columns} B of typed-array columns (${b.fields} fields) + ${b.strings.toFixed(1)} B of batch string tables (UTF-8, 1,000-event batches) = ${b.total.toFixed(1)} B.`,
    `Bound = ${(R.bound.eventsPerSec / 1e6).toFixed(1)} M events/s: an engine that reads its input once cannot ingest faster on one core. In Chromium the batch is also copied into wasm memory, so the real bound there is lower still.`, '');
}
if (cs.length || ps.length) {
  det.push('### Console throughput in Chromium (all engines)', '', `\`${R.console ? `node benches/console-throughput.mjs --events ${P.consoleEvents} --peer-events ${P.peerEvents} --budget ${P.budget} --repeat ${P.repeat}` : ''}\`${R.perspective ? ` and \`${R.perspective.command}\`` : ''}; * = extrapolated to N.`, '',
    '| mode | engine | events | M events/s | snapshot p50 ms | p99 ms | heap growth MiB | engine MiB | agrees |', '|---|---|---:|---:|---:|---:|---:|---:|---|');
  for (const s of [...cs, ...ps.map((x) => ({ ...x, engine: 'perspective (subset)' }))].sort((a, b) => (a.mode < b.mode ? -1 : a.mode > b.mode ? 1 : 0))) {
    det.push(`| ${s.mode} | ${s.engine} | ${s.events} | ${(s.eventsPerSec / 1e6).toFixed(4)}${s.extrapolated ? '*' : ''} | ${fmt(s.snapshotP50, 2)} | ${fmt(s.snapshotP99, 2)} | ${fmt(s.heapGrowthMiB, 0)} | ${fmt(s.engineMiB, 0)} | ${s.agrees} |`);
  }
  det.push('');
}

for (const [id, title] of [['insight', 'Alerts and forecast (issue 6): `examples/insight_eval.rs`'], ['sentiment', 'Comment sentiment (issue 6): `examples/sentiment_eval.rs`']]) {
  if (!outcome[id]) continue;
  det.push(`### ${title}${outcome[id].code === 0 ? '' : ` — exit ${outcome[id].code}`}`, '', '```', outcome[id].out.trim().split('\n').slice(-60).join('\n'), '```', '');
}

// ---- print + BENCHMARKS.md ----
say('\n# livekpi / peer');
say(`machine: ${machine.cpu} (${machine.cpu_flags}), ${machine.cores} cores, ${machine.ram_gib} GiB RAM, ${machine.os}; Node ${machine.node}; ${machine.chromium}; ${machine.rustc}`);
say(loadLine);
for (const l of tableMd) say(l);
say('');
for (const l of goalsMd) say(l);
say(`\nprofile ${profile}, ${wallMin.toFixed(1)} min; steps: ${Object.values(outcome).map((o) => `${o.id} ${o.code === 0 ? 'ok' : `FAILED (${o.code})`} ${o.seconds} s`).join(', ')}`);

const MD = `${ROOT}BENCHMARKS.md`;
const BEGIN = '<!-- hand-written: begin (kept by benches/run.mjs) -->', END = '<!-- hand-written: end -->';
let hand = `${BEGIN}\n## Where we lose, and why\n\n(to be written)\n${END}`;
if (existsSync(MD)) {
  const old = readFileSync(MD, 'utf8');
  const a = old.indexOf(BEGIN), b = old.indexOf(END);
  if (a >= 0 && b > a) hand = old.slice(a, b + END.length);
}
const losses = rows.filter((r) => r.verdict === '**LOSS**');
const md = [
  '# Benchmarks', '',
  `Generated by \`node benches/run.mjs${shownArgv.length ? ` ${shownArgv.join(' ')}` : ''}\` (profile ${profile}${REPORT_ONLY ? '; table re-made from its files with `--report-only`' : ''}${PARTIAL ? '; the steps not run this time keep their last results: see "Steps of this run"' : ''}) on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC in ${wallMin.toFixed(0)} min. Re-run it to refresh this file: everything above the hand-written part is regenerated; each step's own command is listed at the end.`, '',
  '## Machine', '',
  `- CPU: ${machine.cpu}, ${machine.cores} cores (${machine.cpu_flags}); RAM ${machine.ram_gib} GiB`,
  `- OS: ${machine.os}`,
  `- Node ${machine.node}; ${machine.chromium} (headless, playwright-core); ${machine.rustc}`,
  `- ${loadLine}. The machine was shared while this ran: figures that depend on CPU time are noisy; compare ratios, not absolute values, and re-run on a quiet machine.`, '',
  '## livekpi / peer', '',
  'Ratio = livekpi ÷ peer. For bytes, milliseconds and memory lower is better (ratio < 1 = livekpi wins); for events/s higher is better (ratio > 1 = livekpi wins). "par" = within 5 %.', '',
  ...tableMd, '',
  losses.length ? `Losses in this run: ${losses.length} (${losses.map((r) => `${r.area}: ${r.metric.split(/[(—]/)[0].trim()} vs ${r.peer}`).join('; ')}). Why: see "Where we lose, and why" below.` : 'No losses in this run.', '',
  '## Goals set by the other issues', '',
  ...goalsMd, '',
  '## Details', '',
  ...det,
  '## Steps of this run', '',
  '| step | command | exit | seconds | load at end | run at (UTC) |', '|---|---|---:|---:|---:|---|',
  ...STEPS.filter((s) => steps.includes(s) || outcome[s.id]).map((s) => `| ${s.id} | \`${outcome[s.id]?.cmd ?? [s.cmd[0], ...s.cmd[1]].join(' ')}\` | ${outcome[s.id]?.code ?? 'not run'} | ${outcome[s.id]?.seconds ?? '—'} | ${outcome[s.id]?.load?.toFixed(2) ?? '—'} | ${outcome[s.id]?.at?.slice(0, 16).replace('T', ' ') ?? '—'}${outcome[s.id]?.kept ? ' (kept from an earlier run)' : ''} |`), '',
  hand, '',
].join('\n');
writeFileSync(MD, md);
writeFileSync(`${RES}run.json`, `${JSON.stringify({ date: new Date().toISOString(), profile, argv: shownArgv, machine, loads, params: P, outcome: Object.fromEntries(Object.entries(outcome).map(([k, v]) => [k, { code: v.code, seconds: v.seconds }])), rows, goals, results: { native: R.native, merge: R.merge, bandwidth: R.bandwidth, bound: R.bound } }, null, 2)}\n`);
writeFileSync(`${RES}run.log`, `${logLines.join('\n')}\n`);
say('wrote BENCHMARKS.md, benches/results/run.json, benches/results/run.log');
process.exit(Object.values(outcome).every((o) => o.code === 0) ? 0 : 1);
