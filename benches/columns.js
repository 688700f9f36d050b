// Workload columns shared by the Node driver and the benchmark page. A workload is one set of
// "global" columns (typed arrays, strings as refs into one global table, numeric event ids); the
// engines receive batches re-encoded as a client would receive them: columns with the batch's own
// `strings` table (EventColumns of Room.ingestColumns), or plain event objects (Room.ingest).
export const NONE = 0xffffffff;
export const STRING_FIELDS = ['viewer', 'session', 'product', 'order', 'text', 'option', 'cohost', 'region', 'tier', 'source'];
export const F64_FIELDS = ['ts', 'id', 'amount', 'units', 'count', 'followerSinceMs'];
export const U8_FIELDS = ['kind', 'seenBefore'];

/** Columns of rows [lo, hi) with a batch-local strings table. */
export function encodeBatch(g, lo, hi) {
  const n = hi - lo;
  const strings = [];
  const local = new Map();
  const out = { strings };
  for (const f of U8_FIELDS) out[f] = g[f].slice(lo, hi);
  for (const f of F64_FIELDS) out[f] = g[f].slice(lo, hi);
  const gs = g.strings;
  for (const f of STRING_FIELDS) {
    const src = g[f];
    const dst = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const r = src[lo + i];
      if (r === NONE) { dst[i] = NONE; continue; }
      let l = local.get(r);
      if (l === undefined) { l = strings.length; local.set(r, l); strings.push(gs[r]); }
      dst[i] = l;
    }
    out[f] = dst;
  }
  return out;
}

/** Rows [lo, hi) as LiveEvent objects (what Room.ingest takes). */
export function toObjects(g, lo, hi, kinds) {
  const out = new Array(hi - lo);
  const gs = g.strings;
  for (let i = lo; i < hi; i++) {
    const e = { id: g.id[i], ts: g.ts[i], kind: kinds[g.kind[i]] };
    for (const f of STRING_FIELDS) { const r = g[f][i]; if (r !== NONE) e[f] = gs[r]; }
    const a = g.amount[i]; if (a === a) e.amount = a;
    const u = g.units[i]; if (u === u) e.units = u;
    const c = g.count[i]; if (c === c) e.count = c;
    const fs = g.followerSinceMs[i]; if (fs === fs) e.follower_since_ms = fs;
    const sb = g.seenBefore[i]; if (sb !== 2) e.seen_before = sb === 1;
    out[i - lo] = e;
  }
  return out;
}
