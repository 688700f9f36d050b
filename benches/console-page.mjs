// Page side of benches/console-throughput.mjs: loads the workload columns from the local server
// and runs one engine in one mode; window.bench(options) resolves to the measurements.
import init, { Room } from '/pkg/dist/console/livekpi_console.js';
// The package entry, as a page imports it (it also installs Room.ingest's column path for objects).
import '/pkg/console/index.js';
import { encodeBatch, toObjects } from '/benches/columns.js';
import { PlainRoom, pickLivekpi } from '/benches/plain-kpi.js';
import { arqueroKpis, duckdbKpis } from '/benches/peer-kpi.js';

const C = { Uint8Array, Uint32Array, Float64Array };
const now = () => performance.now();
const heap = () => performance.memory.usedJSHeapSize;

async function loadWorkload() {
  const meta = await (await fetch('/data/meta.json')).json();
  const buf = await (await fetch('/data/workload.bin')).arrayBuffer();
  const g = { strings: meta.strings };
  for (const { field, type, offset, length } of meta.layout) g[field] = new C[type](buf, offset, length);
  return { meta, g };
}

const PEER_COLS = ['kind', 'ts', 'id', 'viewer', 'session', 'product', 'order', 'amount', 'units', 'followerSinceMs', 'seenBefore'];
const slice = (g, lo, hi) => Object.fromEntries(PEER_COLS.map((f) => [f, g[f].subarray(lo, hi)]));

window.bench = async ({ engine, mode, events, batch = 1000, every = 100, bulkChunk = 100_000, budgetMs = 120_000 }) => {
  const wasm = await init();
  const { meta, g } = await loadWorkload();
  const n = Math.min(events ?? meta.events, meta.events);
  const S = meta.streamStartMs, E = meta.streamEndMs, kinds = meta.kinds;
  const strings = g.strings;
  const heap0 = heap();
  let heapPeak = heap0, wasmPeak = 0;
  const sample = () => { const h = heap(); if (h > heapPeak) heapPeak = h; };
  let ingestMs = 0, snapMs = 0, processed = 0, stopped = false, last = null;
  const snaps = [];
  let duck = null;
  // engine adapters: ingest(lo, hi) returns timed ms (encoding untimed); snapshot(nowMs) returns the KPI object
  let ingest, snapshot, memory = () => 0;
  // Construction is timed for livekpi and plain JS and counted in totalMs: the first livekpi Room
  // of a page primes its snapshot path (src/web/console.rs, prime_snapshot_path). The peers'
  // set-up (DuckDB instantiation, …) is not timed.
  let constructMs = 0;
  if (engine === 'livekpi-columns' || engine === 'livekpi-objects') {
    const tc = now();
    const room = new Room({ streamStartMs: S, streamEndMs: E });
    constructMs = now() - tc;
    memory = () => wasm.memory.buffer.byteLength;
    ingest = (lo, hi) => {
      const input = engine === 'livekpi-columns' ? encodeBatch(g, lo, hi) : toObjects(g, lo, hi, kinds);
      const t = now();
      const r = engine === 'livekpi-columns' ? room.ingestColumns(input) : room.ingest(input);
      const dt = now() - t;
      if (r.rejected) throw new Error(`rejected ${r.rejected}`);
      return dt;
    };
    snapshot = (at) => room.snapshot(at);
  } else if (engine === 'plain') {
    const tc = now();
    const room = new PlainRoom({ streamStartMs: S, streamEndMs: E, kinds });
    constructMs = now() - tc;
    ingest = (lo, hi) => { const input = encodeBatch(g, lo, hi); const t = now(); room.ingestColumns(input); return now() - t; };
    snapshot = (at) => room.snapshot(at);
  } else if (engine === 'arquero') {
    const aq = window.aq;
    let table = null, pending = [];
    ingest = (lo, hi) => {
      const t = now();
      pending.push(aq.table(slice(g, lo, hi)));
      if (mode === 'bulk' && hi < n) return now() - t;
      return now() - t;
    };
    snapshot = (at) => {
      if (pending.length) { table = table ? table.concat(...pending) : pending[0].concat(...pending.slice(1)); pending = []; }
      return arqueroKpis(aq, table, { S, E, horizon: at, strings });
    };
  } else if (engine === 'duckdb') {
    const duckdb = await import('/node_modules/@duckdb/duckdb-wasm/dist/duckdb-browser.mjs');
    const arrow = await import('apache-arrow');
    const worker = new Worker('/node_modules/@duckdb/duckdb-wasm/dist/duckdb-browser-eh.worker.js');
    const db = new duckdb.AsyncDuckDB(new duckdb.VoidLogger(), worker);
    await db.instantiate('/node_modules/@duckdb/duckdb-wasm/dist/duckdb-eh.wasm');
    const conn = await db.connect();
    duck = { db, conn };
    let created = false;
    ingest = async (lo, hi) => {
      const tbl = arrow.tableFromArrays(slice(g, lo, hi));
      const t = now();
      await conn.insertArrowTable(tbl, { name: 'ev', create: !created });
      created = true;
      return now() - t;
    };
    snapshot = (at) => duckdbKpis(conn, { S, E, horizon: at, strings });
    memory = async () => {
      const r = (await conn.query('SELECT memory_usage FROM pragma_database_size()')).toArray()[0]?.toJSON();
      const s = String(r?.memory_usage ?? '0');
      const m = /([\d.]+)\s*([KMGT]?i?B)/.exec(s);
      const mult = { B: 1, KiB: 1024, MiB: 2 ** 20, GiB: 2 ** 30, KB: 1e3, MB: 1e6, GB: 1e9 };
      return m ? Number(m[1]) * (mult[m[2]] ?? 1) : 0;
    };
  } else throw new Error(`unknown engine ${engine}`);

  const t0 = now();
  if (mode === 'bulk') {
    for (let lo = 0; lo < n; lo += bulkChunk) {
      ingestMs += await ingest(lo, Math.min(n, lo + bulkChunk));
      processed = Math.min(n, lo + bulkChunk);
      sample(); wasmPeak = Math.max(wasmPeak, await memory());
      if (now() - t0 > budgetMs) { stopped = true; break; }
    }
    const t = now(); last = await snapshot(E); snapMs = now() - t; snaps.push(snapMs);
  } else {
    let k = 0;
    for (let lo = 0; lo < n; lo += batch) {
      const hi = Math.min(n, lo + batch);
      ingestMs += await ingest(lo, hi);
      processed = hi;
      if (++k % every === 0 || hi === n) {
        const at = hi === n ? E : g.ts[hi - 1];
        const t = now(); last = await snapshot(at); const dt = now() - t;
        snapMs += dt; snaps.push(dt);
        sample(); wasmPeak = Math.max(wasmPeak, await memory());
        if (now() - t0 > budgetMs && hi < n) { stopped = true; break; }
      }
    }
    if (stopped) { const t = now(); last = await snapshot(E); const dt = now() - t; snapMs += dt; snaps.push(dt); }
  }
  sample(); wasmPeak = Math.max(wasmPeak, await memory());
  const kpis = engine.startsWith('livekpi') ? pickLivekpi(last) : last;
  if (duck) { await duck.conn.close(); await duck.db.terminate(); }
  return {
    engine, mode, events: processed, requested: n, stopped, constructMs, ingestMs, snapshotMs: snapMs, totalMs: constructMs + ingestMs + snapMs,
    snapshots: snaps, snapshotAt: snaps.map((_, i) => (i + 1) * batch * every),
    heapBaseline: heap0, heapPeak, heapGrowth: heapPeak - heap0, enginePeakBytes: wasmPeak, kpis,
  };
};
window.benchReady = true;
