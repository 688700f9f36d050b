#!/usr/bin/env node
// Console KPI throughput in headless Chromium: livekpi (columnar and object ingestion) vs a careful
// plain-JS incremental implementation (benches/plain-kpi.js), Arquero and DuckDB-WASM, on the same
// generated room (benches/workload.mjs), in two modes:
//   bulk      — load everything (100k-row chunks), then one snapshot of the KPIs at stream end;
//   streaming — append 1,000-event batches, snapshot every 100 batches (a dashboard refreshing each
//               second at 100k events/s), final snapshot at stream end.
// Events/s = events / (ingest time + snapshot time); batch encoding (re-encoding the workload as the
// batch's own columns or objects) is not timed. Snapshot latency p50/p99 over the snapshots taken.
// Memory: JS heap growth over the page's baseline (performance.memory, precise) and the engine's own
// memory (livekpi: wasm memory.buffer; DuckDB: pragma database_size memory_usage, in its worker).
// Peers recompute from all rows at each snapshot (no incremental mode), so streaming costs them
// O(N²): they stop at a time budget and their full-N figures are extrapolated (labelled).
// Each engine × mode runs in a fresh page (its own renderer process). Agreement: the final KPI
// subset of every engine must equal plain-JS's over the same events (livekpi over all N).
//
// Usage: node benches/console-throughput.mjs [--events 10000000] [--peer-events 1000000]
//        [--budget 60] [--repeat 2] [--engines livekpi-columns,livekpi-objects,plain,arquero,duckdb]
// Build first: scripts/build.sh console. Writes benches/results/console-throughput.json.
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { loadavg, cpus, totalmem } from 'node:os';
import { launchChromium } from '../tests/js/support/chromium.mjs';
import { startStaticServer } from './serve.mjs';
import { buildWorkload, STREAM_START, STREAM_END } from './workload.mjs';
import { encodeBatch } from './columns.js';
import { PlainRoom, diffKpis } from './plain-kpi.js';

const arg = (name, d) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : d; };
const EVENTS = Number(arg('--events', 10_000_000));
const PEER_EVENTS = Math.min(EVENTS, Number(arg('--peer-events', 1_000_000)));
const BUDGET_MS = Number(arg('--budget', 60)) * 1000;
const REPEAT = Number(arg('--repeat', 2));
const ENGINES = arg('--engines', 'livekpi-columns,livekpi-objects,plain,arquero,duckdb').split(',');
const PEERS = new Set(['arquero', 'duckdb']);
const log = (...a) => console.log(...a);
const q = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] : null; };
const median = (xs) => q(xs, 0.5);

const load0 = loadavg();
log(`load average at start: ${load0.map((x) => x.toFixed(2)).join(' ')} (${cpus().length} CPUs)`);
log(`workload: ~${EVENTS} events (generating or loading from cache)…`);
const w = await buildWorkload({ events: EVENTS, log });
const N = w.meta.events;
log(`workload: ${N} events, ${w.meta.audiences} audiences, ${w.meta.strings.length} distinct strings`);
writeFileSync(`${w.file}.meta-page.json`, JSON.stringify(w.meta));
const server = await startStaticServer({ files: { '/data/workload.bin': w.file, '/data/meta.json': w.metaFile } });
const browser = await launchChromium(['--enable-precise-memory-info', '--js-flags=--max-old-space-size=8192']);

// plain-JS reference over the first k events (Node), for the agreement checks
const refs = new Map();
function reference(k) {
  if (!refs.has(k)) {
    const r = new PlainRoom({ streamStartMs: STREAM_START, streamEndMs: STREAM_END, kinds: w.meta.kinds });
    for (let lo = 0; lo < k; lo += 100_000) r.ingestColumns(encodeBatch(w.columns, lo, Math.min(k, lo + 100_000)));
    refs.set(k, r.snapshot(STREAM_END));
  }
  return refs.get(k);
}

async function runOne(engine, mode) {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('crash', () => errors.push('page crashed'));
  await page.goto(`${server.url}/benches/console-page.html`);
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60_000 });
  const events = PEERS.has(engine) && mode === 'bulk' ? PEER_EVENTS : N;
  const budgetMs = PEERS.has(engine) ? BUDGET_MS : 3_600_000;
  const t0 = Date.now();
  const r = await page.evaluate((o) => window.bench(o), { engine, mode, events, budgetMs });
  r.wallMs = Date.now() - t0;
  r.loadavg = loadavg();
  await page.close();
  const diffs = diffKpis(reference(r.events), r.kpis);
  r.agrees = diffs.length === 0;
  if (!r.agrees) r.diffs = diffs.slice(0, 10);
  delete r.kpis;
  r.eventsPerSec = r.events / (r.totalMs / 1000);
  r.snapshotP50 = q(r.snapshots, 0.5); r.snapshotP99 = q(r.snapshots, 0.99); r.snapshotMax = Math.max(...r.snapshots);
  if (r.events < N) {
    // Extrapolation to N: ingest linear; snapshot latency fitted linear in table size.
    const xs = r.snapshots.slice(0, -1).map((_, i) => (i + 1) * 100_000), ys = r.snapshots.slice(0, -1);
    let perSnap;
    if (mode === 'streaming' && xs.length >= 2) {
      const mx = xs.reduce((a, b) => a + b) / xs.length, my = ys.reduce((a, b) => a + b) / ys.length;
      const b = xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0) / xs.reduce((a, x) => a + (x - mx) ** 2, 0);
      const a = my - b * mx;
      const K = Math.ceil(N / 100_000);
      perSnap = { a, b };
      const snapTotal = K * a + b * 100_000 * K * (K + 1) / 2;
      r.extrapolated = { events: N, totalMs: (r.ingestMs / r.events) * N + snapTotal, snapshotAtNMs: a + b * N, note: 'linear fit of snapshot latency vs rows; ingest linear' };
    } else {
      r.extrapolated = { events: N, totalMs: (r.totalMs / r.events) * N, note: 'linear in events' };
    }
    r.extrapolated.eventsPerSec = N / (r.extrapolated.totalMs / 1000);
    r.fit = perSnap;
  }
  if (errors.length) r.errors = errors;
  delete r.snapshotAt;
  return r;
}

const runs = [];
try {
  for (let rep = 0; rep < REPEAT; rep++) {
    for (const mode of ['bulk', 'streaming']) {
      for (const engine of ENGINES) {
        const r = await runOne(engine, mode);
        r.repeat = rep;
        runs.push(r);
        log(`[${rep}] ${mode.padEnd(9)} ${engine.padEnd(16)} ${r.events} ev  ${(r.eventsPerSec / 1e6).toFixed(3)} M ev/s` +
          `${r.extrapolated ? ` (at ${N}: ${(r.extrapolated.eventsPerSec / 1e6).toFixed(4)} M ev/s, extrapolated)` : ''}` +
          `  construct ${r.constructMs.toFixed(1)} ms  snap p50 ${r.snapshotP50?.toFixed(2)} p99 ${r.snapshotP99?.toFixed(2)} ms  heap +${(r.heapGrowth / 2 ** 20).toFixed(0)} MiB` +
          `  engine ${(r.enginePeakBytes / 2 ** 20).toFixed(0)} MiB  agrees ${r.agrees}${r.diffs ? ' ' + r.diffs.join('; ') : ''}  load ${r.loadavg[0].toFixed(2)}`);
      }
    }
  }
} finally {
  await browser.close();
  await server.close();
}

// summary: per engine × mode, median over repeats and spread (min–max)
const summary = [];
for (const mode of ['bulk', 'streaming']) {
  for (const engine of ENGINES) {
    const rs = runs.filter((r) => r.engine === engine && r.mode === mode);
    if (!rs.length) continue;
    const eps = rs.map((r) => r.extrapolated?.eventsPerSec ?? r.eventsPerSec);
    summary.push({
      mode, engine, events: rs[0].events, extrapolated: !!rs[0].extrapolated,
      eventsPerSec: median(eps), eventsPerSecMin: Math.min(...eps), eventsPerSecMax: Math.max(...eps),
      measuredEventsPerSec: median(rs.map((r) => r.eventsPerSec)),
      snapshotP50: median(rs.map((r) => r.snapshotP50)), snapshotP99: median(rs.map((r) => r.snapshotP99)),
      snapshotMax: Math.max(...rs.map((r) => r.snapshotMax)),
      snapshotAtNMs: rs[0].extrapolated?.snapshotAtNMs ?? null,
      heapGrowthMiB: Math.max(...rs.map((r) => r.heapGrowth)) / 2 ** 20,
      engineMiB: Math.max(...rs.map((r) => r.enginePeakBytes)) / 2 ** 20,
      agrees: rs.every((r) => r.agrees),
    });
  }
}
const f = (x, d = 2) => (x == null ? '—' : Number(x).toFixed(d));
log(`\nN = ${N} events (peers bulk on ${PEER_EVENTS}, streaming stopped at ${BUDGET_MS / 1000} s; * = extrapolated to N)`);
log('mode       engine            M ev/s (min–max)             snap p50 ms  p99 ms   heap+ MiB  engine MiB  agrees');
for (const s of summary) {
  log(`${s.mode.padEnd(10)} ${s.engine.padEnd(16)} ${f(s.eventsPerSec / 1e6, 4).padStart(8)}${s.extrapolated ? '*' : ' '} (${f(s.eventsPerSecMin / 1e6, 4)}–${f(s.eventsPerSecMax / 1e6, 4)})`.padEnd(60) +
    `${f(s.snapshotP50).padStart(9)} ${f(s.snapshotP99).padStart(8)} ${f(s.heapGrowthMiB, 0).padStart(10)} ${f(s.engineMiB, 0).padStart(11)}  ${s.agrees}`);
}
log('\nratios livekpi-columns / peer (events/s, same mode; > 1 = livekpi faster)');
const ratios = [];
for (const mode of ['bulk', 'streaming']) {
  const lk = summary.find((s) => s.mode === mode && s.engine === 'livekpi-columns');
  const lko = summary.find((s) => s.mode === mode && s.engine === 'livekpi-objects');
  for (const s of summary.filter((x) => x.mode === mode && !x.engine.startsWith('livekpi'))) {
    const row = { mode, peer: s.engine, columns: lk ? lk.eventsPerSec / s.eventsPerSec : null, objects: lko ? lko.eventsPerSec / s.eventsPerSec : null,
      snapshotP99: lk ? lk.snapshotP99 / s.snapshotP99 : null, extrapolated: s.extrapolated };
    ratios.push(row);
    log(`${mode.padEnd(10)} vs ${s.engine.padEnd(8)} columns ×${f(row.columns)}  objects ×${f(row.objects)}  snapshot p99 livekpi/peer ${f(row.snapshotP99, 3)}${s.extrapolated ? '  (peer extrapolated)' : ''}`);
  }
}
const load1 = loadavg();
log(`load average at end: ${load1.map((x) => x.toFixed(2)).join(' ')}`);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
const chromiumVersion = browser.context.browser?.()?.version?.() ?? null;
writeFileSync(new URL('./results/console-throughput.json', import.meta.url), JSON.stringify({
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memGiB: totalmem() / 2 ** 30, loadavgStart: load0, loadavgEnd: load1 },
  workload: { events: N, audiences: w.meta.audiences, arrivalsPerAudience: w.meta.arrivalsPerAudience, products: w.meta.products, seed: w.meta.seed, durationMin: 240, strings: w.meta.strings.length },
  options: { peerBulkEvents: PEER_EVENTS, budgetMs: BUDGET_MS, repeat: REPEAT, batch: 1000, snapshotEvery: 100, bulkChunk: 100_000 },
  versions: Object.fromEntries(['arquero', '@duckdb/duckdb-wasm', 'playwright-core'].map((p) => [p, JSON.parse(readFileSync(new URL(`../node_modules/${p}/package.json`, import.meta.url))).version])),
  summary, ratios, runs,
}, null, 2));
log('wrote benches/results/console-throughput.json');
