// `Room.ingest(events)` without a boundary crossing per field. The wasm binding reads each event
// object field by field (one catching call per object, then a crossing per field and per string):
// about 4 µs per event. Here, plain event objects whose fields all have the JS types the schema
// asks for are written into the typed-array columns of `Room.ingestColumns` (one crossing per
// column and one per distinct string of the batch), in order; every other element — not a plain
// object, a field of another type or `undefined`, an unknown kind, an id that is not a safe
// non-negative integer or a string — goes, in its place, through the binding's own reader. The
// engine checks both paths with the same functions, so the accepted events, duplicates,
// rejections (field, reason, 1-based position) and statistics are the same as the reader's alone
// (tests/js/console-objects.test.mjs). If reading the batch throws (a getter, a Proxy trap), the
// whole batch goes to the reader, which reports such elements one by one.

const NONE = 0xffffffff;
const MAX_REPORTED_ERRORS = 1000; // src/kpi/error.rs
const MAX_ROWS = 4096; // rows per ingestColumns call
const STRING_FIELDS = ['viewer', 'session', 'product', 'order', 'option', 'cohost', 'text', 'region', 'tier', 'source'];

/** A safe non-negative integer (not -0): what the reader takes as a numeric id. */
const isId = (v) => Number.isSafeInteger(v) && (v > 0 || (v === 0 && !Object.is(v, -0)));

/** Column buffers for up to `n` rows from batch position `start`, with their string table. */
function newColumns(n, start) {
  const c = {
    kind: new Uint8Array(n), ts: new Float64Array(n), id: new Float64Array(n), idRef: new Uint32Array(n),
    amount: new Float64Array(n), units: new Float64Array(n), count: new Float64Array(n),
    followerSinceMs: new Float64Array(n), seenBefore: new Uint8Array(n), strings: [],
    local: new Map(), rows: 0, start,
  };
  for (const f of STRING_FIELDS) c[f] = new Uint32Array(n);
  return c;
}

function intern(c, s) {
  let k = c.local.get(s);
  if (k === undefined) { k = c.strings.length; c.local.set(s, k); c.strings.push(s); }
  return k;
}

/** Drops the strings added since the table had `n` (a row that was not written). */
function unwind(c, n) {
  for (const s of c.strings.splice(n)) c.local.delete(s);
  return false;
}

/** A string field's value: a string, or an id-like field's safe integer as its decimal text. */
function text(c, v, idLike) {
  if (typeof v === 'string') return intern(c, v);
  if (idLike && isId(v)) return intern(c, String(v));
  return -1;
}

/**
 * Writes event `e` as row `c.rows` of `c` and returns true, or returns false (nothing kept) when
 * `e` is not a plain event object whose fields have the schema's JS types.
 */
function writeRow(e, c, kindCode) {
  if (e === null || typeof e !== 'object' || Object.getPrototypeOf(e) !== Object.prototype) return false;
  const i = c.rows;
  const n0 = c.strings.length;
  let kind = -1;
  let ts = NaN;
  let id = false;
  c.id[i] = NaN; c.idRef[i] = NONE;
  c.amount[i] = NaN; c.units[i] = NaN; c.count[i] = NaN; c.followerSinceMs[i] = NaN; c.seenBefore[i] = 2;
  for (const f of STRING_FIELDS) c[f][i] = NONE;
  for (const k of Object.keys(e)) {
    const v = e[k];
    if (v === null) continue; // absent, as for the reader
    let r;
    switch (k) {
      case 'kind':
        if (typeof v !== 'string' || !kindCode.has(v)) return unwind(c, n0);
        kind = kindCode.get(v);
        break;
      case 'ts':
        if (typeof v !== 'number' || !Number.isFinite(v)) return unwind(c, n0);
        ts = v;
        break;
      case 'id':
        if (typeof v === 'string') c.idRef[i] = intern(c, v);
        else if (isId(v)) c.id[i] = v;
        else return unwind(c, n0);
        id = true;
        break;
      case 'viewer': case 'session': case 'product': case 'order': case 'option': case 'cohost':
        if ((r = text(c, v, true)) < 0) return unwind(c, n0);
        c[k][i] = r;
        break;
      case 'text': case 'region': case 'tier': case 'source':
        if ((r = text(c, v, false)) < 0) return unwind(c, n0);
        c[k][i] = r;
        break;
      case 'amount': case 'units': case 'count':
        if (typeof v !== 'number' || !Number.isFinite(v)) return unwind(c, n0);
        c[k][i] = v;
        break;
      case 'follower_since_ms':
        if (typeof v !== 'number' || !Number.isFinite(v)) return unwind(c, n0);
        c.followerSinceMs[i] = v;
        break;
      case 'seen_before':
        if (typeof v !== 'boolean') return unwind(c, n0);
        c.seenBefore[i] = v ? 1 : 0;
        break;
      default: // a key the schema does not have: ignored, as by the reader
    }
  }
  if (kind < 0 || !id || Number.isNaN(ts)) return unwind(c, n0); // the reader names what is missing
  c.kind[i] = kind;
  c.ts[i] = ts;
  c.rows = i + 1;
  return true;
}

/** The columns of `c`'s rows, for `ingestColumns`. */
function columnsOf(c) {
  const out = { strings: c.strings };
  for (const k of ['kind', 'ts', 'id', 'idRef', 'amount', 'units', 'count', 'followerSinceMs', 'seenBefore', ...STRING_FIELDS]) {
    out[k] = c[k].subarray(0, c.rows);
  }
  return out;
}

/**
 * Replaces `Room.prototype.ingest` with the column-writing path described above; `kinds` is
 * `eventKinds()` (kind name by code).
 */
export function installObjectPath(Room, kinds) {
  const readEach = Room.prototype.ingest;
  const kindCode = new Map(kinds.map((k, i) => [k, i]));
  function ingest(events) {
    if (!Array.isArray(events) || events.length === 0) return readEach.call(this, events);
    // Phase 1, no effect on the room: runs of plain rows as columns, other elements as they are.
    const parts = []; // { start, columns } | { start, elements }
    try {
      let c = null;
      const flush = () => {
        if (c !== null && c.rows > 0) parts.push({ start: c.start, columns: columnsOf(c) });
        c = null;
      };
      for (let i = 0; i < events.length; i++) {
        const e = events[i];
        c ??= newColumns(Math.min(events.length - i, MAX_ROWS), i);
        if (writeRow(e, c, kindCode)) {
          if (c.rows === c.kind.length) flush();
          continue;
        }
        flush();
        const last = parts.at(-1);
        if (last?.elements && last.start + last.elements.length === i) last.elements.push(e);
        else parts.push({ start: i, elements: [e] });
      }
      flush();
    } catch {
      return readEach.call(this, events);
    }
    if (parts.length === 1 && parts[0].elements) return readEach.call(this, events);
    // Phase 2, in order; error positions are the batch's.
    const report = { accepted: 0, duplicates: 0, rejected: 0, errors: [] };
    for (const p of parts) {
      const r = p.columns ? this.ingestColumns(p.columns) : readEach.call(this, p.elements);
      report.accepted += r.accepted;
      report.duplicates += r.duplicates;
      report.rejected += r.rejected;
      for (const e of r.errors) {
        if (report.errors.length >= MAX_REPORTED_ERRORS) break;
        report.errors.push({ ...e, line: e.line + p.start });
      }
    }
    return report;
  }
  Object.defineProperty(Room.prototype, 'ingest', { value: ingest, writable: true, configurable: true });
}
