// Room.ingest(events) writes plain event objects into typed-array columns in JS
// (pkg/console/objects.js) and hands every other element to the binding's own field-by-field reader,
// in its place. It must be indistinguishable from the reader alone: same report (counts, errors
// with field, reason and position), same statistics, same snapshot — for generated rooms and for
// batches that mix plain events with every kind of element the reader treats specially.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Room, generateEventsNdjson } from '../../pkg/console/node.js';

// The same wasm build as a second, unpatched module instance (another URL): its Room.ingest is the
// binding's reader alone.
const raw = await import('../../pkg/dist/console/livekpi_console.js?reader-only');
raw.initSync({ module: readFileSync(new URL('../../pkg/dist/console/livekpi_console_bg.wasm', import.meta.url)) });

const START = Date.UTC(2026, 11, 7, 12, 0, 0);
const END = START + 60 * 60_000;
const opts = { streamStartMs: START, streamEndMs: END };

/** Feeds the same batches to a patched and a reader-only room; their reports, stats and snapshots agree. */
function same(batches, label) {
  const a = new Room(opts);
  const b = new raw.Room(opts);
  batches.forEach((batch, k) => {
    const ra = a.ingest(batch);
    const rb = b.ingest(batch);
    assert.deepEqual(ra, rb, `${label}: report of batch ${k}`);
  });
  assert.deepEqual(a.stats(), b.stats(), `${label}: stats`);
  for (const at of [START + 17 * 60_000 + 123, END]) assert.deepEqual(a.snapshot(at), b.snapshot(at), `${label}: snapshot at ${at}`);
  const s = a.stats();
  a.free();
  b.free();
  return s;
}

test('generated rooms: the column path equals the reader (and the NDJSON path)', () => {
  for (const seed of [3, 4]) {
    const text = generateEventsNdjson({ seed, streamStartMs: START, durationMin: 60, arrivals: 1200 });
    const events = text.trim().split('\n').map((l) => JSON.parse(l));
    // numeric ids as numbers half of the time, numeric-looking viewer ids as numbers too
    events.forEach((e, i) => {
      if (i % 2 === 0 && /^\d+$/.test(e.id)) e.id = Number(e.id);
      if (i % 3 === 0 && e.product && /^\d+$/.test(e.product)) e.product = Number(e.product);
    });
    const batches = [];
    for (let lo = 0; lo < events.length; lo += 700) batches.push(events.slice(lo, lo + 700));
    // the plain events really take the column path (one ingestColumns call per batch here)
    const columns = Room.prototype.ingestColumns;
    let calls = 0;
    Room.prototype.ingestColumns = function (c) { calls += 1; return columns.call(this, c); };
    let stats;
    try {
      stats = same(batches, `seed ${seed}`);
    } finally {
      Room.prototype.ingestColumns = columns;
    }
    assert.equal(calls, batches.length, 'each batch of plain events crossed as columns');
    assert.ok(stats.accepted > 5000 && stats.duplicates > 0, JSON.stringify(stats));
    const n = new Room(opts);
    n.ingestNdjson(text);
    assert.deepEqual(n.stats(), stats, `seed ${seed}: NDJSON stats`);
  }
});

test('mixed batches: every element the reader handles itself keeps its place, error and count', () => {
  const ok = (i, extra = {}) => ({ kind: 'enter', id: `e${i}`, ts: START + (i % 60) * 1000, viewer: `v${i % 7}`, session: `s${i % 9}`, region: '广东', ...extra });
  class Ev { constructor() { Object.assign(this, ok(900)); } }
  const throwing = ok(901);
  Object.defineProperty(throwing, 'viewer', { enumerable: true, get() { throw new Error('getter'); } });
  const special = [
    null, 42, 'enter', [], new Map([['kind', 'enter']]), new Ev(), Object.assign(Object.create(null), ok(902)),
    ok(903, { amount: '12' }), ok(904, { viewer: undefined }), ok(905, { kind: 'teleport' }), ok(906, { id: -0 }),
    ok(907, { id: 1.5 }), ok(908, { id: -3 }), ok(909, { ts: NaN }), ok(910, { ts: Infinity }), ok(911, { ts: '1' }),
    ok(912, { seen_before: 'yes' }), ok(913, { viewer: 7.5 }), ok(914, { region: 5 }), ok(915, { viewer: 'x'.repeat(300) }),
    ok(916, { text: 'y'.repeat(70_000), kind: 'comment' }), { kind: 'enter', ts: START }, { id: 'no-kind', ts: START },
    ok(917, { ts: START - 10 * 86_400_000 }), ok(918, { amount: -5, kind: 'order_paid', order: 'o1' }),
    ok(919, { kind: 'order_paid', order: 'o2', amount: 1e13 }), ok(920, { kind: 'order_paid', order: 'o3' }),
    ok(921, { kind: 'like', count: 2.5 }), ok(922, { follower_since_ms: -Infinity }), ok(923, { seen_before: null, amount: null }),
    ok(924, { toString: 5, constructor: 'x', __proto__: Object.prototype }), ok(925, { id: 2 ** 53 + 2 }), ok(926, { viewer: 12, id: 12 }),
    new Proxy(ok(927), {}), BigInt(5),
  ];
  const batch = [];
  special.forEach((s, k) => {
    batch.push(ok(k * 3), ok(k * 3 + 1)); // plain events around each special element
    batch.push(s);
  });
  // a duplicate of a plain event after specials, an exact copy inside a special run, and an id conflict
  batch.push(ok(0), ok(1, { region: '北京' }), ok(2));
  const stats = same([batch, batch.slice(10, 40)], 'mixed');
  assert.ok(stats.rejected >= 25 && stats.duplicates > 0 && stats.accepted > 60, JSON.stringify(stats));
});

test('a batch whose reading throws (an index getter) goes to the reader whole', () => {
  const arr = [{ kind: 'enter', id: 'a', ts: START + 1, viewer: 'v', session: 's' }, null];
  Object.defineProperty(arr, 1, { enumerable: true, get() { throw new Error('index getter'); } });
  same([arr], 'index getter');
});

test('the reader\'s argument errors are unchanged', () => {
  const a = new Room(opts);
  assert.throws(() => a.ingest('not an array'), (e) => e.name === 'LivekpiError' && /must be an array/.test(e.message));
  assert.deepEqual(a.ingest([]), { accepted: 0, duplicates: 0, rejected: 0, errors: [] });
});
