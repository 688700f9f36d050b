#!/usr/bin/env node
// Perspective (@finos/perspective 3.8, its WebAssembly engine in a Web Worker, headless Chromium) on
// the console benchmark's workload (benches/workload.mjs, the same room as
// benches/console-throughput.mjs), for the KPI subset Perspective views can express.
// Not part of the test command.
//
// Expressible (checked equal to benches/plain-kpi.js over the same events, `agrees`):
//   viewers, entries, sessions (enter rows: distinct count viewer / count / distinct count session),
//   interaction people (comment/like/share: distinct count viewer), room-exposure people, product
//   exposure people, clickers, impressions, clicks (group_by kind), the five funnel steps (people),
//   per-product impressions / clicks (group_by product, kind), GMV / orders / units / buyers and
//   per-product orders / units / GMV (a second table of payments indexed by order), per-minute
//   interaction people (an expression column `min(floor((ts − start) / 60 000), minutes − 1)`,
//   group_by it, distinct count viewer) and per-minute orders / GMV.
// Not expressible in a view (so not computed): watch time and sessions' 60 s timeout, PCU, per-minute
//   online (distinct viewers with a session overlapping the minute), new vs returning (first enter
//   per viewer), refunds of paid vs unknown orders (a join) — each needs per-session or per-viewer
//   state that must be pre-computed outside Perspective.
// Help given in JavaScript (timed as part of ingestion): exact duplicates are dropped by the events
// table's index (`id`: an update with a known id overwrites the row); an order paid twice counts
// once with its earliest payment — Perspective has no first-by-time aggregate, so a Map order →
// earliest payment time decides which payment rows are written to the `paid` table (indexed by
// order; a later-arriving earlier payment overwrites). Peers get global integer ids (no strings),
// in their favour, as in console-throughput.mjs. Batches are encoded as Arrow IPC (untimed).
//
// Modes as console-throughput.mjs: bulk = 100k-row updates, then the views are created and read once;
// streaming = 1,000-event updates with the views created up front (Perspective keeps them
// incrementally), all views read (to_columns) every 100 batches and at the end. Events/s = events /
// (update + read time). Streaming stops at --budget seconds and is then extrapolated to N (update
// time linear; read time at the mean of the last three reads) and marked `*`. Memory: the worker
// engine's used heap (client.system_info().used_size) and the page's JS heap growth.
//
// Usage: node benches/console-perspective.mjs [--events 1000000] [--budget 60] [--modes bulk,streaming]
// Writes benches/results/console-perspective.json.
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { launchChromium } from '../tests/js/support/chromium.mjs';
import { startStaticServer } from './serve.mjs';
import { buildWorkload, STREAM_START, STREAM_END } from './workload.mjs';
import { encodeBatch } from './columns.js';
import { PlainRoom, diffKpis } from './plain-kpi.js';

const arg = (name, d) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : d; };
const EVENTS = Number(arg('--events', 1_000_000));
const BUDGET_MS = Number(arg('--budget', 60)) * 1000;
const MODES = arg('--modes', 'bulk,streaming').split(',');
const log = (...a) => console.log(...a);

/** The subset of a picked KPI object (plain-kpi.js shape) that the Perspective views compute. */
export function subset(k) {
  return {
    viewers: k.viewers, entries: k.entries, sessions: k.sessions, interaction_people: k.interaction_people,
    product_exposure_people: k.product_exposure_people, clickers: k.clickers, impressions: k.impressions, clicks: k.clicks,
    gmv_fen: k.gmv_fen, orders: k.orders, buyers: k.buyers, units: k.units, funnel_people: k.funnel_people,
    goods: k.goods.map((g) => ({ product: g.product, impressions: g.impressions, clicks: g.clicks, orders: g.orders, units: g.units, gmv_fen: g.gmv_fen })),
    minutes: k.minutes.map((m) => ({ minute: m.minute, interaction_people: m.interaction_people, orders: m.orders, gmv_fen: m.gmv_fen })),
  };
}

const PAGE = `<!doctype html><meta charset="utf-8"><title>perspective throughput</title>
<script type="importmap">
{ "imports": {
  "apache-arrow": "/node_modules/apache-arrow/Arrow.dom.mjs",
  "tslib": "/node_modules/tslib/tslib.es6.mjs",
  "flatbuffers": "/node_modules/flatbuffers/mjs/flatbuffers.js"
} }
</script>
<script type="module">
import perspective from '/node_modules/@finos/perspective/dist/cdn/perspective.js';
import * as arrow from 'apache-arrow';
perspective.init_client(fetch('/node_modules/@finos/perspective/dist/wasm/perspective-js.wasm'));
const C = { Uint8Array, Uint32Array, Float64Array };
const NONE = 0xffffffff, MINUTE = 60000;
const now = () => performance.now();
const heap = () => performance.memory.usedJSHeapSize;
const i32 = (a) => { const o = new Int32Array(a.length); for (let i = 0; i < a.length; i++) o[i] = a[i] === NONE ? -1 : a[i]; return o; };
const f64 = (a) => Float64Array.from(a);

window.bench = async ({ mode, events, batch = 1000, every = 100, bulkChunk = 100000, budgetMs }) => {
  const meta = await (await fetch('/data/meta.json')).json();
  const buf = await (await fetch('/data/workload.bin')).arrayBuffer();
  const g = {};
  for (const { field, type, offset, length } of meta.layout) g[field] = new C[type](buf, offset, length);
  const n = Math.min(events, meta.events);
  const S = meta.streamStartMs, E = meta.streamEndMs, M = Math.ceil((E - S) / MINUTE), strings = meta.strings;
  const client = await perspective.worker();
  const ipc = (cols) => arrow.tableToIPC(arrow.tableFromArrays(cols), 'stream');
  const evCols = (lo, hi) => ({ kind: i32(g.kind.subarray(lo, hi)), ts: f64(g.ts.subarray(lo, hi)), id: f64(g.id.subarray(lo, hi)),
    viewer: i32(g.viewer.subarray(lo, hi)), session: i32(g.session.subarray(lo, hi)), product: i32(g.product.subarray(lo, hi)) });
  const schema = { kind: 'integer', ts: 'float', id: 'float', viewer: 'integer', session: 'integer', product: 'integer' };
  const events_t = await client.table(schema, { index: 'id' });
  const paid = await client.table({ order: 'integer', ts: 'float', viewer: 'integer', product: 'integer', amount: 'float', units: 'float' }, { index: 'order' });
  const paidTs = new Map();
  const minuteExpr = 'min(floor(("ts" - ' + S + ') / ' + MINUTE + '), ' + (M - 1) + ')';
  let views = null;
  const makeViews = async () => ({
    enter: await events_t.view({ group_by: ['kind'], columns: ['viewer', 'session', 'id'], aggregates: { viewer: 'distinct count', session: 'distinct count', id: 'count' }, filter: [['kind', '==', 0]] }),
    inter: await events_t.view({ group_by: ['kind'], columns: ['viewer'], aggregates: { viewer: 'distinct count' }, filter: [['kind', 'in', [4, 5, 6]]] }),
    kinds: await events_t.view({ group_by: ['kind'], columns: ['viewer', 'id'], aggregates: { viewer: 'distinct count', id: 'count' }, filter: [['kind', 'in', [3, 10, 11]]] }),
    goods: await events_t.view({ group_by: ['product', 'kind'], columns: ['id'], aggregates: { id: 'count' }, filter: [['kind', 'in', [10, 11]]] }),
    interMin: await events_t.view({ expressions: { m: minuteExpr }, group_by: ['m'], columns: ['viewer'], aggregates: { viewer: 'distinct count' },
      filter: [['kind', 'in', [4, 5, 6]], ['ts', '>=', S], ['ts', '<=', E]] }),
    pay: await paid.view({ group_by: ['product'], columns: ['order', 'amount', 'units', 'viewer'], aggregates: { order: 'count', amount: 'sum', units: 'sum', viewer: 'distinct count' } }),
    payMin: await paid.view({ expressions: { m: minuteExpr }, group_by: ['m'], columns: ['order', 'amount'], aggregates: { order: 'count', amount: 'sum' },
      filter: [['ts', '>=', S], ['ts', '<=', E]] }),
  });
  const ingest = async (lo, hi) => {
    const cols = evCols(lo, hi);
    const data = ipc(cols);
    const t = now();
    // payments: earliest per order (JS decides; the order-indexed table keeps one row per order)
    const po = [], pts = [], pv = [], pp = [], pa = [], pu = [];
    for (let i = lo; i < hi; i++) {
      if (g.kind[i] !== 14) continue;
      const o = g.order[i], ts = g.ts[i], old = paidTs.get(o);
      if (old !== undefined && old <= ts) continue;
      paidTs.set(o, ts);
      po.push(o); pts.push(ts); pv.push(g.viewer[i]); pp.push(g.product[i]);
      pa.push(g.amount[i] === g.amount[i] ? g.amount[i] : 0); pu.push(g.units[i] === g.units[i] ? g.units[i] : 1);
    }
    const w = [events_t.update(data)];
    if (po.length) w.push(paid.update({ order: po, ts: pts, viewer: pv, product: pp, amount: pa, units: pu }));
    await Promise.all(w);
    return now() - t;
  };
  const snapshot = async () => {
    const r = {};
    for (const [k, v] of Object.entries(views)) r[k] = await v.to_columns();
    return r;
  };
  const heap0 = heap();
  let heapPeak = heap0, ingestMs = 0, snapMs = 0, processed = 0, stopped = false, last = null, engine = 0;
  const snaps = [];
  const sample = async () => { heapPeak = Math.max(heapPeak, heap()); const s = await client.system_info(); engine = Math.max(engine, Number(s.used_size)); };
  const t0 = now();
  if (mode === 'bulk') {
    for (let lo = 0; lo < n; lo += bulkChunk) {
      ingestMs += await ingest(lo, Math.min(n, lo + bulkChunk));
      processed = Math.min(n, lo + bulkChunk);
    }
    const t = now(); views = await makeViews(); last = await snapshot(); snapMs = now() - t; snaps.push(snapMs);
  } else {
    views = await makeViews();
    let k = 0;
    for (let lo = 0; lo < n; lo += batch) {
      const hi = Math.min(n, lo + batch);
      ingestMs += await ingest(lo, hi);
      processed = hi;
      if (++k % every === 0 || hi === n) {
        const t = now(); last = await snapshot(); const dt = now() - t;
        snapMs += dt; snaps.push(dt);
        await sample();
        if (now() - t0 > budgetMs && hi < n) { stopped = true; break; }
      }
    }
  }
  await sample();
  // KPI object (plain-kpi.js field names) from the view columns
  const total = (c, col) => c[col][0];
  const byKey = (c, col) => { const m = new Map(); c.__ROW_PATH__.forEach((p, i) => { if (p.length) m.set(p.join('|'), c[col][i]); }); return m; };
  const kinds = last.kinds, kv = byKey(kinds, 'viewer'), kc = byKey(kinds, 'id');
  const pay = last.pay;
  const goods = new Map();
  const row = (p) => { let x = goods.get(p); if (!x) { x = { product: strings[p], impressions: 0, clicks: 0, orders: 0, units: 0, gmv_fen: 0 }; goods.set(p, x); } return x; };
  last.goods.__ROW_PATH__.forEach((p, i) => { if (p.length === 2) { const x = row(p[0]); if (p[1] === 10) x.impressions = last.goods.id[i]; else x.clicks = last.goods.id[i]; } });
  pay.__ROW_PATH__.forEach((p, i) => { if (p.length === 1) { const x = row(p[0]); x.orders = pay.order[i]; x.units = pay.units[i]; x.gmv_fen = pay.amount[i]; } });
  const minutes = Array.from({ length: M }, (_, m) => ({ minute: m, interaction_people: 0, orders: 0, gmv_fen: 0 }));
  last.interMin.__ROW_PATH__.forEach((p, i) => { if (p.length === 1 && p[0] >= 0 && p[0] < M) minutes[p[0]].interaction_people = last.interMin.viewer[i]; });
  last.payMin.__ROW_PATH__.forEach((p, i) => { if (p.length === 1 && p[0] >= 0 && p[0] < M) { minutes[p[0]].orders = last.payMin.order[i]; minutes[p[0]].gmv_fen = last.payMin.amount[i]; } });
  const viewers = total(last.enter, 'viewer') ?? 0, buyers = pay.viewer[0] ?? 0;
  const kpis = {
    viewers, entries: total(last.enter, 'id') ?? 0, sessions: total(last.enter, 'session') ?? 0,
    interaction_people: total(last.inter, 'viewer') ?? 0, product_exposure_people: kv.get('10') ?? 0, clickers: kv.get('11') ?? 0,
    impressions: kc.get('10') ?? 0, clicks: kc.get('11') ?? 0,
    gmv_fen: pay.amount[0] ?? 0, orders: pay.order[0] ?? 0, buyers, units: pay.units[0] ?? 0,
    funnel_people: [kv.get('3') ?? 0, viewers, kv.get('10') ?? 0, kv.get('11') ?? 0, buyers],
    goods: [...goods.values()].sort((a, b) => (a.product < b.product ? -1 : a.product > b.product ? 1 : 0)), minutes,
  };
  const rows = await events_t.size();
  for (const v of Object.values(views)) await v.delete();
  await events_t.delete(); await paid.delete();
  return { engine: 'perspective', mode, events: processed, requested: n, stopped, rows, ingestMs, snapshotMs: snapMs, totalMs: ingestMs + snapMs,
    snapshots: snaps, heapGrowth: heapPeak - heap0, enginePeakBytes: engine, kpis };
};
window.benchReady = true;
</script>`;

const load0 = loadavg();
log(`load average at start: ${load0.map((x) => x.toFixed(2)).join(' ')}`);
const w = await buildWorkload({ events: EVENTS, log });
const N = w.meta.events;
log(`workload: ${N} events, ${w.meta.audiences} audiences`);
const server = await startStaticServer({ files: { '/data/workload.bin': w.file, '/data/meta.json': w.metaFile } });
const browser = await launchChromium(['--enable-precise-memory-info', '--js-flags=--max-old-space-size=8192']);
await browser.context.route(`${server.url}/bench/perspective.html`, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: PAGE,
  headers: { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } }));

const refs = new Map();
function reference(k) {
  if (!refs.has(k)) {
    const r = new PlainRoom({ streamStartMs: STREAM_START, streamEndMs: STREAM_END, kinds: w.meta.kinds });
    for (let lo = 0; lo < k; lo += 100_000) r.ingestColumns(encodeBatch(w.columns, lo, Math.min(k, lo + 100_000)));
    refs.set(k, subset(r.snapshot(STREAM_END)));
  }
  return refs.get(k);
}
const q = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] : null; };
const runs = [];
try {
  for (const mode of MODES) {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('crash', () => errors.push('page crashed'));
    await page.goto(`${server.url}/bench/perspective.html`);
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60_000 });
    const r = await page.evaluate((o) => window.bench(o), { mode, events: N, budgetMs: BUDGET_MS });
    await page.close();
    r.loadavg = loadavg();
    const diffs = diffKpis(reference(r.events), r.kpis);
    r.agrees = diffs.length === 0;
    if (!r.agrees) r.diffs = diffs.slice(0, 10);
    delete r.kpis;
    r.eventsPerSec = r.events / (r.totalMs / 1000);
    r.snapshotP50 = q(r.snapshots, 0.5); r.snapshotP99 = q(r.snapshots, 0.99);
    if (r.stopped) {
      const K = Math.ceil(N / 100_000);
      const lastReads = r.snapshots.slice(-3);
      const perRead = lastReads.reduce((a, b) => a + b, 0) / lastReads.length;
      const totalMs = (r.ingestMs / r.events) * N + perRead * K;
      r.extrapolated = { events: N, totalMs, eventsPerSec: N / (totalMs / 1000), note: 'update time linear in events; each of the remaining reads at the mean of the last three' };
    }
    if (errors.length) r.errors = errors;
    runs.push(r);
    log(`${mode.padEnd(9)} perspective ${r.events} ev  ${(r.eventsPerSec / 1e6).toFixed(4)} M ev/s${r.extrapolated ? ` (at ${N}: ${(r.extrapolated.eventsPerSec / 1e6).toFixed(4)} M ev/s, extrapolated)` : ''}` +
      `  read p50 ${r.snapshotP50?.toFixed(2)} p99 ${r.snapshotP99?.toFixed(2)} ms  heap +${(r.heapGrowth / 2 ** 20).toFixed(0)} MiB  engine ${(r.enginePeakBytes / 2 ** 20).toFixed(0)} MiB` +
      `  agrees ${r.agrees}${r.diffs ? ' ' + r.diffs.join('; ') : ''}${r.errors ? ' errors: ' + r.errors.join('; ') : ''}  load ${r.loadavg[0].toFixed(2)}`);
  }
} finally {
  await browser.close();
  await server.close();
}
const version = JSON.parse(readFileSync(new URL('../node_modules/@finos/perspective/package.json', import.meta.url))).version;
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/console-perspective.json', import.meta.url), `${JSON.stringify({
  date: new Date().toISOString(), command: `node benches/console-perspective.mjs --events ${EVENTS} --budget ${BUDGET_MS / 1000}`,
  perspective: version, events: N, loadavgStart: load0, loadavgEnd: loadavg(),
  subset: Object.keys(subset({ goods: [], minutes: [] })),
  summary: runs.map((r) => ({ mode: r.mode, events: r.events, extrapolated: !!r.extrapolated, eventsPerSec: r.extrapolated?.eventsPerSec ?? r.eventsPerSec,
    measuredEventsPerSec: r.eventsPerSec, snapshotP50: r.snapshotP50, snapshotP99: r.snapshotP99,
    heapGrowthMiB: r.heapGrowth / 2 ** 20, engineMiB: r.enginePeakBytes / 2 ** 20, agrees: r.agrees })),
  runs,
}, null, 2)}\n`);
log('wrote benches/results/console-perspective.json');
