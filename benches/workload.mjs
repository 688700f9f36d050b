// The console benchmark workload: a generated 4-hour room of ~N events, built in Node with
// livekpi's seeded generator and stored as global columns in one binary file (cached in the OS
// temp dir). One generator call cannot produce 10 M events (the NDJSON would pass V8's
// ~512 M-character string limit), so the room is K = ⌈N / 1 M⌉ generated audiences (seeds
// seed … seed+K−1, each with ~N/K events; viewer, session, order and co-host ids prefixed by the
// audience, event ids offset by audience × 10^9) merged into one delivery order by timestamp of
// each audience's next event — each audience keeps its own order (late events and duplicates
// stay as the generator made them, inside the lateness window).
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NONE, STRING_FIELDS, F64_FIELDS, U8_FIELDS } from './columns.js';

export const STREAM_START = 1_735_000_000_000;
export const DURATION_MIN = 240;
export const STREAM_END = STREAM_START + DURATION_MIN * 60_000;
const EVENTS_PER_ARRIVAL = 7.4;
const PREFIXED = new Set(['viewer', 'session', 'order', 'cohost']);

function parseChunk(text, c, intern, kindCode) {
  const lines = text.split('\n');
  const n = lines.length - (lines[lines.length - 1] === '' ? 1 : 0);
  const cols = {};
  for (const f of U8_FIELDS) cols[f] = new Uint8Array(n);
  cols.seenBefore.fill(2);
  for (const f of F64_FIELDS) cols[f] = new Float64Array(n).fill(NaN);
  for (const f of STRING_FIELDS) cols[f] = new Uint32Array(n).fill(NONE);
  for (let i = 0; i < n; i++) {
    const e = JSON.parse(lines[i]);
    cols.kind[i] = kindCode[e.kind];
    cols.ts[i] = e.ts;
    cols.id[i] = c * 1e9 + Number(e.id);
    for (const f of STRING_FIELDS) {
      const v = e[f];
      if (v !== undefined) cols[f][i] = intern(PREFIXED.has(f) ? `a${c}.${v}` : String(v));
    }
    if (e.amount !== undefined) cols.amount[i] = e.amount;
    if (e.units !== undefined) cols.units[i] = e.units;
    if (e.count !== undefined) cols.count[i] = e.count;
    if (e.follower_since_ms !== undefined) cols.followerSinceMs[i] = e.follower_since_ms;
    if (e.seen_before !== undefined) cols.seenBefore[i] = e.seen_before ? 1 : 0;
  }
  return cols;
}

/** Builds (or loads from cache) the workload; returns { file, meta, columns }. */
export async function buildWorkload({ events, seed = 7, products = 50, log = () => {} }) {
  const dir = join(tmpdir(), 'livekpi-bench');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `workload-${events}-${seed}-${products}.bin`);
  const metaFile = `${file}.json`;
  if (existsSync(file) && existsSync(metaFile)) {
    const meta = JSON.parse(readFileSync(metaFile, 'utf8'));
    return { file, metaFile, meta, columns: fromBytes(readFileSync(file), meta) };
  }
  const { generateEventsNdjson, eventKinds } = await import('../pkg/console/node.js');
  const kinds = eventKinds();
  const kindCode = Object.fromEntries(kinds.map((k, i) => [k, i]));
  const K = Math.max(1, Math.ceil(events / 1e6));
  const arrivals = Math.max(10, Math.round(events / K / EVENTS_PER_ARRIVAL));
  const strings = [];
  const index = new Map();
  const intern = (s) => { let i = index.get(s); if (i === undefined) { i = strings.length; index.set(s, i); strings.push(s); } return i; };
  const chunks = [];
  for (let c = 0; c < K; c++) {
    const t0 = performance.now();
    const text = generateEventsNdjson({ seed: seed + c, streamStartMs: STREAM_START, durationMin: DURATION_MIN, arrivals, products });
    chunks.push(parseChunk(text, c, intern, kindCode));
    log(`  audience ${c + 1}/${K}: ${chunks[c].kind.length} events (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  const n = chunks.reduce((a, ch) => a + ch.kind.length, 0);
  const g = { strings };
  for (const f of U8_FIELDS) g[f] = new Uint8Array(n);
  for (const f of F64_FIELDS) g[f] = new Float64Array(n);
  for (const f of STRING_FIELDS) g[f] = new Uint32Array(n);
  const all = [...U8_FIELDS, ...F64_FIELDS, ...STRING_FIELDS];
  const pos = new Array(K).fill(0);
  for (let o = 0; o < n; o++) {
    let best = -1, bt = Infinity;
    for (let c = 0; c < K; c++) {
      const p = pos[c];
      if (p < chunks[c].kind.length && chunks[c].ts[p] < bt) { bt = chunks[c].ts[p]; best = c; }
    }
    const p = pos[best]++;
    const ch = chunks[best];
    for (const f of all) g[f][o] = ch[f][p];
  }
  const meta = { events: n, audiences: K, arrivalsPerAudience: arrivals, seed, products, streamStartMs: STREAM_START, streamEndMs: STREAM_END, kinds, layout: [] };
  const parts = [];
  let off = 0;
  for (const f of all) {
    const b = Buffer.from(g[f].buffer, g[f].byteOffset, g[f].byteLength);
    const pad = (8 - (off % 8)) % 8;
    if (pad) { parts.push(Buffer.alloc(pad)); off += pad; }
    meta.layout.push({ field: f, type: g[f].constructor.name, offset: off, length: n });
    parts.push(b); off += b.length;
  }
  meta.strings = strings;
  const fd = (await import('node:fs')).openSync(file, 'w');
  for (const p of parts) (await import('node:fs')).writeSync(fd, p);
  (await import('node:fs')).closeSync(fd);
  writeFileSync(metaFile, JSON.stringify(meta));
  return { file, metaFile, meta, columns: g };
}

/** Typed-array views over the workload file's bytes. */
export function fromBytes(bytes, meta) {
  const buf = bytes.buffer.slice ? bytes : bytes;
  const g = { strings: meta.strings };
  const C = { Uint8Array, Uint32Array, Float64Array };
  for (const { field, type, offset, length } of meta.layout) {
    g[field] = new C[type](buf.buffer, buf.byteOffset + offset, length);
  }
  return g;
}
