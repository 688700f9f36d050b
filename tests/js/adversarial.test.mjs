// Adversarial input suite, JS-boundary part (issue 9; native part tests/adversarial.rs, the case
// table docs/adversarial.md). Hostile values as they reach livekpi/console from JavaScript (the
// real wasm package in Node: objects, NDJSON strings, typed-array columns, options) and hostile
// summaries as they reach the reference collector over HTTP. Every case checks the expected clear
// error (field and reason / code), that the rejection is counted, and that the valid rest of the
// batch is kept (the room or merger equals a control that only got the valid inputs).
//
// Cases that would take the whole wasm instance down if they misbehaved run in a Worker (its own
// instance). Known findings not fixed yet are `todo` tests asserting the wanted behaviour (they
// run and report, without failing the suite), like the `#[ignore]`d tests of tests/fuzz_regressions.rs.
//
// Build first: scripts/build.sh console. Run: node --test tests/js/adversarial.test.mjs
// (the 10^7-distinct-viewers case with the default caps: ADVERSARIAL_VIEWERS=1e7; by default 10^6
// against a cap of 200,000, to keep the suite short).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Room, SummaryMerger, decodeSummary, eventKinds, initSync,
} from '../../pkg/console/node.js';
import { startCollectorServer, issueToken } from '../../www/collector.mjs';
import { encodeSummary, hex } from './support/summaries.mjs';

const wasm = initSync(); // the already-initialised instance: its exports, for wasm.memory
const MiB = 2 ** 20;
const START = Date.UTC(2026, 10, 25, 12, 0, 0);
const MIN = 60_000;
const END = START + 120 * MIN;
const T1 = START + 30 * MIN; // where the valid events are (the watermark is about here)
const T = T1 + 5000; // the hostile events' time unless the case is about time

const room = () => new Room({ streamStartMs: START, streamEndMs: END });

/** The valid events around every hostile one: an enter, a paid order, a comment, a leave. */
const VALID = [
  { id: 'ok-1', ts: T1, kind: 'enter', viewer: 'u1', session: 's1', region: 'north' },
  { id: 'ok-2', ts: T1 + 1000, kind: 'order_paid', viewer: 'u1', order: 'o1', product: 'p1', amount: 9900, units: 1 },
  { id: 'ok-3', ts: T1 + 2000, kind: 'comment', viewer: 'u1', text: 'nice' },
  { id: 'ok-4', ts: T1 + MIN, kind: 'leave', viewer: 'u1', session: 's1' },
];
const like = (o = {}) => ({ id: 'x', ts: T, kind: 'like', viewer: 'u2', ...o });
const gift = (amount) => ({ id: 'x', ts: T, kind: 'gift', viewer: 'u2', amount });

/** A snapshot without its ingestion statistics (checked on their own). */
function kpis(r) {
  const { stats, ...rest } = r.snapshot(END); // (the snapshot may be frozen: copy, don't delete)
  assert.equal(typeof stats.accepted, 'number');
  return rest;
}

/** The control: a room that got only `events` (valid ones) as objects. */
function control(events) {
  const r = room();
  const rep = r.ingest(events);
  assert.equal(rep.rejected, 0, JSON.stringify(rep.errors));
  return kpis(r);
}

/**
 * Checks one report + room: `expect` is { field, reason } (rejected at position `pos`), or
 * { as: event } (accepted as if it were `event`), or 'duplicate'.
 */
function check(name, rep, r, expect, pos, valid = VALID) {
  if (expect.reason) {
    assert.deepEqual(rep.errors, [{ field: expect.field, reason: expect.reason, line: pos }], name);
    assert.deepEqual([rep.accepted, rep.rejected], [valid.length, 1], name);
    const st = r.stats();
    assert.equal(st.rejected, 1, name);
    assert.deepEqual(st.rejected_by_reason.map((x) => [x.reason, x.count]), [[expect.reason, 1]], name);
    assert.deepEqual(kpis(r), control(valid), `${name}: the valid rest is kept`);
  } else if (expect === 'duplicate') {
    assert.deepEqual([rep.accepted, rep.duplicates, rep.rejected], [valid.length, 1, 0], name);
    assert.deepEqual(kpis(r), control(valid), name);
  } else {
    assert.deepEqual([rep.accepted, rep.rejected], [valid.length + 1, 0], `${name}: ${JSON.stringify(rep.errors)}`);
    assert.deepEqual(kpis(r), control([...valid.slice(0, 2), expect.as, ...valid.slice(2)]), name);
  }
  assert.equal(kpis(r).result.gmv_fen, 9900, `${name}: the paid order is in`);
}

// ---------------------------------------------------------------------------------------------
// Objects path: room.ingest(events)

const r = (field, reason) => ({ field, reason });
const OBJECT_CASES = [
  ['ts NaN', like({ ts: NaN }), r('ts', 'not_finite')],
  ['ts -Infinity', like({ ts: -Infinity }), r('ts', 'not_finite')],
  ['amount NaN on a gift', gift(NaN), r('amount', 'not_finite')],
  ['kind unknown before a NaN ts (the first problem in check order wins)', like({ kind: 'nope', ts: NaN }), r('kind', 'unknown_kind')],
  ['viewer as an object before a NaN amount', { ...gift(NaN), viewer: { id: 'u2' } }, r('viewer', 'wrong_type')],
  ['ts Infinity', like({ ts: Infinity }), r('ts', 'not_finite')],
  ['amount -Infinity', gift(-Infinity), r('amount', 'not_finite')],
  ['ts undefined (absent)', like({ ts: undefined }), r('ts', 'missing_field')],
  ['ts as a Date object', like({ ts: new Date(T) }), r('ts', 'wrong_type')],
  ['ts as a numeric string', like({ ts: String(T) }), r('ts', 'wrong_type')],
  ['ts as a BigInt (read as its integer value)', like({ ts: BigInt(T) }), { as: like() }],
  ['ts 10 years ahead', like({ ts: START + 3650 * 86_400_000 }), r('ts', 'out_of_range')],
  ['ts far past (0)', like({ ts: 0 }), r('ts', 'out_of_range')],
  ['ts -1e300', like({ ts: -1e300 }), r('ts', 'out_of_range')],
  ['ts Number.MAX_VALUE', like({ ts: Number.MAX_VALUE }), r('ts', 'out_of_range')],
  ['ts behind the lateness window', like({ ts: START + MIN }), r('ts', 'too_late')],
  ['ts fractional (floored)', like({ ts: T + 0.999 }), { as: like() }],
  ['amount -0 (is 0)', gift(-0), { as: gift(0) }],
  ['amount negative', gift(-1), r('amount', 'negative')],
  ['amount 2^53 + 2', gift(2 ** 53 + 2), r('amount', 'out_of_range')],
  ['amount 2^63 (i64 overflow)', gift(2 ** 63), r('amount', 'out_of_range')],
  ['amount 2^64 (u64 overflow)', gift(2 ** 64), r('amount', 'out_of_range')],
  ['amount fractional fen', gift(0.1 + 0.2), r('amount', 'not_integer')],
  ['amount as a BigInt beyond u64', gift(2n ** 70n), r('amount', 'out_of_range')],
  ['amount as a negative BigInt beyond i64', gift(-(2n ** 70n)), r('amount', 'negative')],
  ['amount as a BigInt within u64 beyond i64', gift(2n ** 63n), r('amount', 'out_of_range')],
  ['id as a BigInt beyond u64', like({ id: 2n ** 70n }), r('id', 'out_of_range')],
  ['amount as a string', gift('9900'), r('amount', 'wrong_type')],
  ['count 1e7', like({ count: 1e7 }), r('count', 'out_of_range')],
  ['viewer as a Symbol', like({ viewer: Symbol('v') }), r('viewer', 'wrong_type')],
  ['kind as a Symbol', like({ kind: Symbol('like') }), r('kind', 'wrong_type')],
  ['viewer as a function', like({ viewer: () => 'u2' }), r('viewer', 'wrong_type')],
  ['viewer as a cyclic object (not walked)', (() => { const v = {}; v.v = v; return like({ viewer: v }); })(), r('viewer', 'wrong_type')],
  ['a Symbol-keyed property (ignored)', { ...like(), [Symbol('x')]: 1 }, { as: like() }],
  ['a getter that throws on an unknown field (ignored like the field)', (() => { const e = like(); Object.defineProperty(e, 'extra', { enumerable: true, get() { throw new Error('boom'); } }); return e; })(), { as: like() }],
  ['a getter that throws on viewer (viewer wrong_type)', (() => { const e = like(); Object.defineProperty(e, 'viewer', { enumerable: true, get() { throw new Error('boom'); } }); return e; })(), r('viewer', 'wrong_type')],
  ['a non-enumerable own field (not read, as JSON.stringify)', (() => { const e = like(); Object.defineProperty(e, 'amount', { enumerable: false, value: -5 }); return e; })(), { as: like() }],
  ['viewer as a nested object', like({ viewer: { id: 'u2' } }), r('viewer', 'wrong_type')],
  ['viewer negative', like({ viewer: -7 }), r('viewer', 'negative')],
  ['viewer with a lone surrogate (becomes U+FFFD)', like({ viewer: '\ud800' }), { as: like({ viewer: '\ufffd' }) }],
  ['id missing', { ts: T, kind: 'like', viewer: 'u2' }, r('id', 'missing_field')],
  ['id 2^53 + 2', like({ id: 2 ** 53 + 2 }), r('id', 'out_of_range')],
  ['id -0 (is 0)', like({ id: -0 }), { as: like({ id: 0 }) }],
  ['kind unknown', like({ kind: '__proto__' }), r('kind', 'unknown_kind')],
  ['kind as a number', like({ kind: 5 }), r('kind', 'wrong_type')],
  ['event is null', null, r('', 'not_an_object')],
  ['event is undefined (array hole)', undefined, r('', 'not_an_object')],
  ['event is a string', 'like', r('', 'not_an_object')],
  ['event is an array', [like()], r('', 'not_an_object')],
  ['event is a Map (read as its entries)', new Map(Object.entries(like())), { as: like() }],
  ['__proto__ key (no prototype pollution)', JSON.parse(`{"id":"x","ts":${T},"kind":"like","viewer":"u2","__proto__":{"amount":5}}`), { as: like() }],
  ['inherited fields are not read', Object.create(like()), r('kind', 'missing_field')],
  ['huge string: 16 MiB comment text (cap 64 KiB)', { id: 'x', ts: T, kind: 'comment', viewer: 'u2', text: 'x'.repeat(16 * MiB) }, r('text', 'cap_exceeded')],
  ['comment text of 64 KiB (the cap; hashed, not kept)', { id: 'x', ts: T, kind: 'comment', viewer: 'u2', text: 'x'.repeat(65_536) }, { as: { id: 'x', ts: T, kind: 'comment', viewer: 'u2' } }],
  ['viewer id of 1 MiB (cap 256 bytes)', like({ viewer: 'v'.repeat(MiB) }), r('viewer', 'cap_exceeded')],
  ['event id of 257 bytes', like({ id: 'i'.repeat(257) }), r('id', 'cap_exceeded')],
  ['exact duplicate of a valid event', { ...VALID[0] }, 'duplicate'],
  ['same id, other content', like({ id: 'ok-1' }), r('id', 'id_conflict')],
];

for (const [name, event, expect, todo] of OBJECT_CASES) {
  test(`objects: ${name}`, { todo }, () => {
    const rm = room();
    const batch = [VALID[0], VALID[1], event, VALID[2], VALID[3]];
    check(name, rm.ingest(batch), rm, expect, 3);
  });
}

test('objects: an index getter of the events array that throws rejects that element (not_an_object), the rest kept', () => {
  const rm = room();
  const batch = [VALID[0], VALID[1], null, VALID[2], VALID[3]];
  Object.defineProperty(batch, 2, { get() { throw new Error('boom'); } });
  check('index getter', rm.ingest(batch), rm, r('', 'not_an_object'), 3);
  assert.equal(rm.ingest([like({ id: 'after' })]).accepted, 1); // the room is not left borrowed
});

// ---------------------------------------------------------------------------------------------
// Objects that could take the instance down: each in a Worker with its own wasm instance. The
// wanted behaviour: the event is rejected (or the call throws a LivekpiError), and the room, and
// every other room of the instance, keep working.

// (Finding 1, fixed: src/web/console.rs EventReader reads only the known fields, one level deep,
// through catching bindings; a throwing getter rejects that field, unknown fields are never
// visited, so cycles and deep nesting there are ignored.)
const ISOLATED = [
  ['a getter that throws (viewer wrong_type)', `const e = { id: 'x', ts: T, kind: 'like' }; Object.defineProperty(e, 'viewer', { enumerable: true, get() { throw new Error('boom'); } }); return e;`, undefined, [2, 1], [{ field: 'viewer', reason: 'wrong_type', line: 2 }]],
  // Room.ingest reads plain objects in JS before the engine runs (pkg/console/objects.js), so the
  // getter's call into the same room is an ordinary call and the event is kept.
  ['a getter that calls back into the same room (read before the engine runs: kept)', `const e = { id: 'x', ts: T, kind: 'like' }; Object.defineProperty(e, 'viewer', { enumerable: true, get() { r.ingest([]); return 'u2'; } }); return e;`, undefined, [3, 0]],
  // Not a plain object, so the binding's reader takes it while the room is busy: the nested call
  // fails, is caught, and the field is reported.
  ['a class instance whose getter calls back into the same room (its error is caught: viewer wrong_type)', `class Ev { constructor() { this.id = 'x'; this.ts = T; this.kind = 'like'; Object.defineProperty(this, 'viewer', { enumerable: true, get() { r.ingest([]); return 'u2'; } }); } } return new Ev();`, undefined, [2, 1], [{ field: 'viewer', reason: 'wrong_type', line: 2 }]],
  ['a cyclic object (the cycle is in an unknown field: ignored)', `const e = { id: 'x', ts: T, kind: 'like', viewer: 'u2' }; e.self = e; return e;`, undefined, [3, 0]],
  ['100,000 levels of nested arrays in an unknown field (ignored)', `let d = []; for (let i = 0; i < 100000; i++) d = [d]; return { id: 'x', ts: T, kind: 'like', viewer: 'u2', extra: d };`, undefined, [3, 0]],
  ['100,000 levels of nested arrays in a known field (viewer wrong_type, not walked)', `let d = []; for (let i = 0; i < 100000; i++) d = [d]; return { id: 'x', ts: T, kind: 'like', viewer: d };`, undefined, [2, 1], [{ field: 'viewer', reason: 'wrong_type', line: 2 }]],
  ['a Proxy whose traps throw (rejected not_an_object)', `return new Proxy({}, { ownKeys() { throw new Error('trap'); }, get() { throw new Error('trap'); }, getPrototypeOf() { throw new Error('trap'); } });`, undefined, [2, 1], [{ field: '', reason: 'not_an_object', line: 2 }]],
  ['a revoked Proxy (rejected not_an_object)', `const { proxy, revoke } = Proxy.revocable({}, {}); revoke(); return proxy;`, undefined, [2, 1], [{ field: '', reason: 'not_an_object', line: 2 }]],
  ['a 200-level nested array in an unknown field (ignored)', `let d = []; for (let i = 0; i < 200; i++) d = [d]; return { id: 'x', ts: T, kind: 'like', viewer: 'u2', extra: d };`, undefined, [3, 0]],
];

function inWorker(makeEvent) {
  const pkg = new URL('../../pkg/console/node.js', import.meta.url).href;
  const code = `
    const { parentPort } = require('node:worker_threads');
    import(${JSON.stringify(pkg)}).then(({ Room }) => {
      const T = ${T};
      const make = () => { ${makeEvent} };
      const out = {};
      const other = new Room({ streamStartMs: ${START}, streamEndMs: ${END} });
      const r = new Room({ streamStartMs: ${START}, streamEndMs: ${END} });
      const ok = (id) => ({ id, ts: T, kind: 'like', viewer: 'u1' });
      try {
        const rep = r.ingest([ok('a'), make(), ok('b')]);
        out.report = { accepted: rep.accepted, rejected: rep.rejected, errors: rep.errors };
      } catch (e) {
        out.threw = { name: e?.name, code: e?.code, message: String(e?.message).slice(0, 200) };
      }
      for (const [k, f] of [['after', () => r.ingest([ok('c')]).accepted], ['otherRoom', () => other.ingest([ok('d')]).accepted], ['newRoom', () => new Room({ streamStartMs: ${START} }).ingest([ok('e')]).accepted]]) {
        try { out[k] = f(); } catch (e) { out[k] = 'threw: ' + String(e?.message).slice(0, 120); }
      }
      parentPort.postMessage(out);
    }, (e) => parentPort.postMessage({ loadError: String(e) }));
  `;
  return new Promise((ok, fail) => {
    const w = new Worker(code, { eval: true, resourceLimits: { stackSizeMb: 4 } });
    w.once('message', (m) => { ok(m); w.terminate(); });
    w.once('error', fail);
  });
}

for (const [name, make, todo, counts = [2, 1], errors] of ISOLATED) {
  test(`objects, isolated: ${name}`, { todo }, async () => {
    const out = await inWorker(make);
    assert.equal(out.loadError, undefined);
    if (out.threw) assert.equal(out.threw.name, 'LivekpiError', JSON.stringify(out.threw));
    else assert.deepEqual([out.report.accepted, out.report.rejected], counts, JSON.stringify(out.report));
    if (errors) assert.deepEqual(out.report?.errors, errors, JSON.stringify(out));
    assert.deepEqual([out.after, out.otherRoom, out.newRoom], [1, 1, 1], JSON.stringify(out));
  });
}

// ---------------------------------------------------------------------------------------------
// NDJSON path: room.ingestNdjson(text)

const line = (o) => JSON.stringify(o);
const NDJSON_CASES = [
  ['truncated JSON', line(like()).slice(0, 25), r('', 'invalid_json')],
  ['NaN literal', line(like()).replace(`"ts":${T}`, '"ts":NaN'), r('', 'invalid_json')],
  ['1e400 (overflows a double)', line(like()).replace(`"ts":${T}`, '"ts":1e400'), r('', 'invalid_json')],
  ['amount 2^64 as a JSON integer', line(gift(0)).replace('"amount":0', '"amount":18446744073709551616'), r('amount', 'out_of_range')],
  ['amount -0', line(gift(0)).replace('"amount":0', '"amount":-0'), { as: gift(0) }],
  ['duplicate key: the last value wins', line(like()).replace('"viewer":"u2"', '"viewer":"ghost","viewer":"u2"'), { as: like() }],
  ['escaped lone surrogate', line(like()).replace('"viewer":"u2"', '"viewer":"\\ud800"'), r('', 'invalid_json')],
  ['raw lone surrogate in the JS string (becomes U+FFFD)', line(like()).replace('"viewer":"u2"', '"viewer":"\ud800"'), { as: like({ viewer: '\ufffd' }) }],
  ['U+2028 / U+2029 inside a string (not line breaks)', line(like({ viewer: 'a\u2028b\u2029c' })), { as: like({ viewer: 'a\u2028b\u2029c' }) }],
  ['CRLF ending', `${line(like())}\r`, { as: like() }],
  ['deep nesting (100,000 levels) in a known field', line(like()).replace('"viewer":"u2"', `"viewer":${'['.repeat(100_000)}${']'.repeat(100_000)}`), r('', 'invalid_json')],
  ['huge string: 15 MiB comment text', line({ id: 'x', ts: T, kind: 'comment', viewer: 'u2', text: '好'.repeat(5 * MiB) }), r('text', 'cap_exceeded')],
  ['4-byte UTF-8 in a 256-byte viewer id (64 × 😀, at the cap)', line(like({ viewer: '😀'.repeat(64) })), { as: like({ viewer: '😀'.repeat(64) }) }],
  ['viewer id one byte over the cap (64 × 😀 + "x")', line(like({ viewer: `${'😀'.repeat(64)}x` })), r('viewer', 'cap_exceeded')],
  ['wrong type: ts as a string', line(like({ ts: String(T) })), r('ts', 'wrong_type')],
  ['ts far future', line(like({ ts: 4e15 })), r('ts', 'out_of_range')],
];

for (const [name, bad, expect, todo] of NDJSON_CASES) {
  test(`ndjson: ${name}`, { todo }, () => {
    const rm = room();
    const text = [VALID[0], VALID[1]].map(line).concat(bad, [VALID[2], VALID[3]].map(line)).join('\n');
    check(name, rm.ingestNdjson(text), rm, expect, 3);
  });
}

test('ndjson: empty and whitespace-only lines are skipped and keep line numbers', () => {
  const rm = room();
  const text = `\n${line(VALID[0])}\r\n \t\n\n${line(VALID[1])}\n${line(like({ count: -1 }))}\n${VALID.slice(2).map(line).join('\r\n')}\n\n`;
  check('blank lines', rm.ingestNdjson(text), rm, r('count', 'negative'), 6);
});

test('ndjson: bad UTF-8 bytes decoded by TextDecoder become U+FFFD, never an exception', () => {
  const rm = room();
  const bytes = Buffer.concat([
    Buffer.from(`${line(VALID[0])}\n${line(VALID[1])}\n{"id":"x","ts":${T},"kind":"like","viewer":"`),
    Buffer.from([0xff, 0xfe, 0xc0, 0xaf]),
    Buffer.from(`"}\n${line(VALID[2])}\n${line(VALID[3])}\n`),
  ]);
  const text = new TextDecoder().decode(bytes); // what a collector reading a file gets
  check('bad utf-8', rm.ingestNdjson(text), rm, { as: like({ viewer: '\ufffd'.repeat(4) }) }, 3);
  // fatal decoding is the caller's choice: it throws before the engine sees anything
  assert.throws(() => new TextDecoder('utf-8', { fatal: true }).decode(bytes), TypeError);
});

test('ndjson: a byte-order mark before the first line does not lose that event', () => {
  const rm = room();
  const rep = rm.ingestNdjson(`\ufeff${VALID.map(line).join('\n')}`);
  assert.deepEqual([rep.accepted, rep.rejected], [4, 0], JSON.stringify(rep.errors));
  // only a BOM at the start of the batch is skipped; one before line 2 costs that line
  const rm2 = room();
  const rep2 = rm2.ingestNdjson(`${line(VALID[0])}\n\ufeff${VALID.slice(1).map(line).join('\n')}`);
  assert.deepEqual([rep2.accepted, rep2.rejected, rep2.errors], [3, 1, [{ field: '', reason: 'invalid_json', line: 2 }]]);
});

test('ndjson: huge batch — 500,000 lines, every other one bad: all counted, 1,000 errors kept, valid rest in', () => {
  const n = 250_000;
  const parts = [];
  for (let i = 0; i < n; i++) {
    parts.push(`{"id":${i},"ts":${T1 + (i % 60_000)},"kind":"like","viewer":"v${i % 1000}"}`);
    parts.push(`{"id":"bad${i}","ts":${T1},"kind":"like","viewer":"v1","amount":-1}`);
  }
  const rm = room();
  const rep = rm.ingestNdjson(parts.join('\n'));
  assert.deepEqual([rep.accepted, rep.rejected, rep.errors.length], [n, n, 1000]);
  assert.deepEqual(rep.errors[999], { field: 'amount', reason: 'negative', line: 2000 });
  assert.equal(rm.stats().rejected_by_reason[0].count, n);
  assert.equal(rm.snapshot(END).process.likes, n);
});

// ---------------------------------------------------------------------------------------------
// Columnar path: room.ingestColumns(columns)

const KIND = Object.fromEntries(eventKinds().map((k, i) => [k, i]));

/** The valid events + one gift at row 3 as columns (all columns present). */
function columns() {
  const events = [VALID[0], VALID[1], { id: 'row3', ts: T, kind: 'gift', viewer: 'u2', amount: 500 }, VALID[2], VALID[3]];
  const strings = [];
  const index = new Map();
  const ref = (s) => {
    if (s === undefined) return 0xffffffff;
    if (!index.has(s)) { index.set(s, strings.length); strings.push(s); }
    return index.get(s);
  };
  const n = events.length;
  const c = {
    kind: new Uint8Array(n), ts: new Float64Array(n), id: new Float64Array(n).fill(NaN), idRef: new Uint32Array(n),
    viewer: new Uint32Array(n), session: new Uint32Array(n), product: new Uint32Array(n), order: new Uint32Array(n),
    amount: new Float64Array(n).fill(NaN), units: new Float64Array(n).fill(NaN), text: new Uint32Array(n), region: new Uint32Array(n),
    strings,
  };
  events.forEach((e, i) => {
    c.kind[i] = KIND[e.kind];
    c.ts[i] = e.ts;
    c.idRef[i] = ref(e.id);
    for (const f of ['viewer', 'session', 'product', 'order', 'text', 'region']) c[f][i] = ref(e[f]);
    for (const f of ['amount', 'units']) if (e[f] !== undefined) c[f][i] = e[f];
  });
  return c;
}

const R3 = 2;
const ROW3 = { id: 'row3', ts: T, kind: 'gift', viewer: 'u2', amount: 500 };
const COLUMN_CASES = [
  ['ts NaN', (c) => { c.ts[R3] = NaN; }, r('ts', 'not_finite')],
  ['ts -Infinity', (c) => { c.ts[R3] = -Infinity; }, r('ts', 'not_finite')],
  ['ts 1e300', (c) => { c.ts[R3] = 1e300; }, r('ts', 'out_of_range')],
  ['amount Infinity', (c) => { c.amount[R3] = Infinity; }, r('amount', 'not_finite')],
  ['amount -0 (is 0)', (c) => { c.amount[R3] = -0; }, { as: { ...ROW3, amount: 0 } }],
  ['amount 2^63', (c) => { c.amount[R3] = 2 ** 63; }, r('amount', 'out_of_range')],
  ['id -1 (numeric id column)', (c) => { c.id[R3] = -1; }, r('id', 'negative')],
  ['idRef outside the string table', (c) => { c.idRef[R3] = 99; }, r('id', 'bad_index')],
  ['viewer index outside the string table', (c) => { c.viewer[R3] = c.strings.length; }, r('viewer', 'bad_index')],
  ['kind code 250', (c) => { c.kind[R3] = 250; }, r('kind', 'unknown_kind')],
];

for (const [name, edit, expect] of COLUMN_CASES) {
  test(`columns: ${name}`, () => {
    const c = columns();
    edit(c);
    const rm = room();
    check(name, rm.ingestColumns(c), rm, expect, 3);
  });
}

test('columns: mismatched column lengths reject the whole batch (one error naming the column), nothing applied', () => {
  for (const [field, edit] of [
    ['ts', (c) => { c.ts = c.ts.subarray(0, 4); }],
    ['amount', (c) => { c.amount = new Float64Array(6); }],
    ['viewer', (c) => { c.viewer = c.viewer.subarray(1); }],
  ]) {
    const c = columns();
    edit(c);
    const rm = room();
    const rep = rm.ingestColumns(c);
    assert.deepEqual([rep.accepted, rep.rejected, rep.errors], [0, 1, [{ field, reason: 'column_length', line: null }]], field);
    assert.deepEqual(rm.stats().rejected_by_reason.map((x) => x.reason), ['column_length']);
    assert.equal(rm.snapshot(END).result.gmv_fen, 0, `${field}: nothing applied`);
    assert.equal(rm.ingestColumns(columns()).accepted, 5, `${field}: the next good batch goes in`);
  }
});

test('columns: wrong typed-array types and non-string table entries throw a LivekpiError naming the field, and change nothing', () => {
  const cases = [
    ['ts', (c) => { c.ts = Float32Array.from(c.ts); }, 'bad_column'],
    ['ts', (c) => { c.ts = Array.from(c.ts); }, 'bad_column'],
    ['viewer', (c) => { c.viewer = new Int32Array(c.viewer); }, 'bad_column'],
    ['kind', (c) => { delete c.kind; }, 'bad_column'],
    ['strings', (c) => { c.strings = [...c.strings, 42]; }, 'bad_column'],
    ['strings', (c) => { c.strings = 'u1'; }, 'bad_column'],
  ];
  const rm = room();
  for (const [field, edit, code] of cases) {
    const c = columns();
    edit(c);
    assert.throws(() => rm.ingestColumns(c), (e) => e.name === 'LivekpiError' && e.code === code && e.message.includes(`\`${field}\``), field);
  }
  assert.throws(() => rm.ingestColumns(null), (e) => e.code === 'bad_argument');
  assert.deepEqual([rm.stats().accepted, rm.stats().rejected], [0, 0]);
  assert.equal(rm.ingestColumns(columns()).accepted, 5, 'the room still works');
});

// ---------------------------------------------------------------------------------------------
// Options and time arguments

test('options and time arguments: each bad one throws a LivekpiError naming the field', () => {
  const bad = [
    [undefined, 'bad_option', 'streamStartMs'],
    [{}, 'bad_option', 'streamStartMs'],
    [{ streamStartMs: NaN }, 'bad_option', 'streamStartMs'],
    [{ streamStartMs: '2026-11-25' }, 'bad_option', 'streamStartMs'],
    [{ streamStartMs: START, streamEndMs: START - 1 }, 'bad_option', 'streamEndMs'],
    [{ streamStartMs: START, latenessMs: -1 }, 'bad_option', 'latenessMs'],
    [{ streamStartMs: START, latenessMs: Infinity }, 'bad_option', 'latenessMs'],
    [{ streamStartMs: START, sessionTimeoutMs: {} }, 'bad_option', 'sessionTimeoutMs'],
  ];
  for (const [o, code, field] of bad) {
    assert.throws(() => new Room(o), (e) => e.name === 'LivekpiError' && e.code === code && e.message.includes(field), JSON.stringify(o));
  }
  const rm = room();
  for (const v of [NaN, Infinity, -Infinity]) {
    assert.throws(() => rm.snapshot(v), (e) => e.code === 'bad_argument' && e.message.includes('nowMs'));
    assert.throws(() => rm.endStream(v), (e) => e.code === 'bad_argument' && e.message.includes('endMs'));
  }
  assert.throws(() => rm.ingest('not an array'), (e) => e.code === 'bad_argument' && e.message.includes('events'));
});

test('options and time arguments: absurd but finite times are refused (bad_argument / bad_option naming the field), never a serialization error', () => {
  const rm = room();
  for (const v of [1e300, -1e300, 2 ** 60, 8.64e15 + 1]) {
    assert.throws(() => rm.snapshot(v), (e) => e.code === 'bad_argument' && e.message.includes('nowMs'), String(v));
    assert.throws(() => rm.endStream(v), (e) => e.code === 'bad_argument' && e.message.includes('endMs'), String(v));
  }
  for (const field of ['streamStartMs', 'streamEndMs', 'latenessMs', 'sessionTimeoutMs', 'maxViewers']) {
    const o = { streamStartMs: START, [field]: 1e300 };
    assert.throws(() => new Room(o), (e) => e.code === 'bad_option' && e.message.includes(field), field);
  }
  // the edges of the JS Date range are accepted, and every time in the snapshot is a safe integer
  for (const [start, now] of [[8.64e15, 8.64e15], [-8.64e15, 8.64e15], [START, -8.64e15], [START, 8.64e15]]) {
    const big = new Room({ streamStartMs: start, latenessMs: 8.64e15, sessionTimeoutMs: 8.64e15 });
    big.ingest([{ id: 'a', ts: start, kind: 'enter', viewer: 'u1', session: 's1' }]);
    const s = big.snapshot(now);
    for (const k of ['now_ms', 'horizon_ms', 'stream_start_ms']) assert.ok(Number.isSafeInteger(s[k]), `${k} ${s[k]}`);
    big.endStream(start);
    assert.ok(Number.isSafeInteger(big.snapshot(now).horizon_ms));
    assert.equal(typeof JSON.parse(big.snapshotJson(now)).now_ms, 'number');
  }
  assert.ok(rm.snapshot(END)); // the room is fine
});

// ---------------------------------------------------------------------------------------------
// Memory: distinct viewer ids (wasm memory only grows, so its size is the high-water mark)

test('memory: a flood of distinct viewer ids plateaus at the viewer cap (wasm memory before / at the cap / after)', () => {
  const n = Number(process.env.ADVERSARIAL_VIEWERS ?? 1e6);
  // 10^7 runs against the default cap (2,000,000 viewers); smaller floods against n / 5
  const cap = n >= 1e7 ? 2_000_000 : n / 5;
  const rm = new Room({ streamStartMs: START, streamEndMs: END, ...(n >= 1e7 ? {} : { maxViewers: cap }) });
  const B = 100_000;
  const like = KIND.like;
  const before = wasm.memory.buffer.byteLength;
  let atCap = before;
  let accepted = 0;
  let rejected = 0;
  const t0 = performance.now();
  for (let b = 0; b < n / B; b++) {
    const strings = new Array(B);
    for (let i = 0; i < B; i++) strings[i] = `viewer-${b * B + i}`;
    const viewer = new Uint32Array(B).map((_, i) => i);
    const id = new Float64Array(B).map((_, i) => b * B + i);
    const rep = rm.ingestColumns({ kind: new Uint8Array(B).fill(like), ts: new Float64Array(B).fill(T1 + b), id, viewer, strings });
    accepted += rep.accepted;
    rejected += rep.rejected;
    for (const e of rep.errors) assert.deepEqual([e.field, e.reason], ['viewer', 'cap_exceeded']);
    if (accepted === cap && atCap === before) atCap = wasm.memory.buffer.byteLength;
  }
  const after = wasm.memory.buffer.byteLength;
  const secs = (performance.now() - t0) / 1000;
  console.log(`# ${n} distinct viewer ids, cap ${cap}: wasm memory ${(before / MiB).toFixed(0)} MiB before, ${(atCap / MiB).toFixed(0)} at the cap, ${(after / MiB).toFixed(0)} after (${((atCap - before) / cap).toFixed(0)} B per kept viewer), ${secs.toFixed(1)} s`);
  assert.deepEqual([accepted, rejected], [cap, n - cap]);
  assert.deepEqual(rm.stats().rejected_by_reason.map((x) => [x.reason, x.count]), [['cap_exceeded', n - cap]]);
  assert.equal(rm.snapshot(END).process.likes, cap);
  // past the cap nothing grows: at most a few pages of slack for the batches' own buffers
  assert.ok(after - atCap <= 16 * MiB, `grew ${(after - atCap) / MiB} MiB past the cap`);
  assert.ok((atCap - before) / cap < 600, `${(atCap - before) / cap} B per kept viewer`);
});

// ---------------------------------------------------------------------------------------------
// Summary decoder / merger through the wasm package

const SID = (n) => Uint8Array.from({ length: 16 }, (_, i) => (i === 15 ? n : 0xa5));
const summary = (o) => encodeSummary({
  sessionId: SID(o.sid ?? 9), seq: o.seq ?? 1, baseSeq: o.base ?? 0, room: o.room ?? 'room-a',
  startMs: o.startMs ?? START, spanMs: o.spanMs ?? 30_000, final: o.final ?? false,
  delta: o.delta ?? { watch_ms: 30_000, playing_ms: 29_000, started: 1, total_frames: 700 },
  state: o.state ?? { startup_ms: 900 }, version: o.version, flags: o.flags,
});

test('summaries: decodeSummary names the code and field of each malformed message', () => {
  const good = summary({});
  const flip = (i, bit) => { const b = Uint8Array.from(good); b[i] ^= 1 << bit; return b; };
  const cases = [
    ['empty', new Uint8Array(0), 'truncated', 'magic'],
    ['truncated in the session id', good.subarray(0, 10), 'truncated', 'session_id'],
    ['oversized', new Uint8Array(8193), 'oversized', 'message'],
    ['wrong version', summary({ version: 2 }), 'unsupported_version', 'version'],
    ['reserved flag', summary({ flags: 4 }), 'reserved_flags', 'flags'],
    ['bit flip in the magic', flip(0, 0), 'bad_magic', 'magic'],
    ['room id of 65 bytes', summary({ room: 'r'.repeat(65) }), 'bad_room_id', 'room_id'],
    ['start beyond 10^15 ms', summary({ startMs: 1e15 + 1 }), 'bad_time', 'start_ms'],
    ['absurd watch time', summary({ delta: { watch_ms: 10 ** 9 } }), 'absurd_value', 'watch_ms'],
  ];
  for (const [name, bytes, code, field] of cases) {
    assert.throws(() => decodeSummary(bytes), (e) => e.name === 'LivekpiError' && e.code === code && e.field === field && e.message.includes(`\`${field}\``), name);
  }
  assert.equal(decodeSummary(good).session_id, hex(SID(9)));
});

test('summaries: every bit flip of a summary is rejected with a known code or decodes; the merger counts each once', () => {
  const m = new SummaryMerger({ collector: 'adv' });
  const good = summary({ sid: 7, seq: 2, base: 1, final: true });
  let rejected = 0;
  let n = 0;
  for (let i = 0; i < good.length * 8; i++) {
    const b = Uint8Array.from(good);
    b[i >> 3] ^= 1 << (i & 7);
    n++;
    try {
      m.ingest(b, 'north');
    } catch (e) {
      assert.equal(e.name, 'LivekpiError');
      assert.match(e.code, /^[a-z_]+$/);
      rejected++;
    }
  }
  const st = m.stats();
  assert.equal(st.rejected, rejected);
  assert.equal(st.applied + st.duplicates + st.superseded + st.rejected, n);
  assert.ok(rejected > good.length, `${rejected} of ${n} rejected`);
});

test('summaries: new regions and minutes are capped (finding 6: regions → "other", minute rows bounded; memory per summary, fresh instance)', async () => {
  // a fresh wasm instance (Worker), so that the figure is not hidden by memory other tests freed
  const pkg = new URL('../../pkg/console/node.js', import.meta.url).href;
  const support = new URL('./support/summaries.mjs', import.meta.url).href;
  const n = 20_000;
  const code = `
    const { parentPort } = require('node:worker_threads');
    Promise.all([import(${JSON.stringify(pkg)}), import(${JSON.stringify(support)})]).then(([{ SummaryMerger, initSync }, { encodeSummary }]) => {
      const wasm = initSync();
      const m = new SummaryMerger({ collector: 'adv', maxMinuteRowsPerRoom: 1000 });
      const sid = (i) => Uint8Array.from({ length: 16 }, (_, k) => (k < 4 ? (i >> (8 * k)) & 255 : 0x5a));
      const delta = { watch_ms: 30000, playing_ms: 29000, started: 1, total_frames: 700 };
      const before = wasm.memory.buffer.byteLength;
      for (let i = 0; i < ${n}; i++) {
        // hostile but well-formed: a fresh session, a new region and a new minute each time
        m.ingest(encodeSummary({ sessionId: sid(i), seq: 1, baseSeq: 0, room: 'room-a', startMs: ${START} + i * 60000, spanMs: 30000, delta, state: {} }), 'r' + i);
      }
      parentPort.postMessage({ stats: m.stats(), regions: m.room('room-a').regions.length, grown: wasm.memory.buffer.byteLength - before });
    }, (e) => parentPort.postMessage({ loadError: String(e) }));
  `;
  const out = await new Promise((ok, fail) => {
    const w = new Worker(code, { eval: true });
    w.once('message', (msg) => { ok(msg); w.terminate(); });
    w.once('error', fail);
  });
  assert.equal(out.loadError, undefined);
  const per = out.grown / n;
  console.log(`# ${n} summaries, each a new session, region and minute: ${out.regions} regions, ${out.stats.minute_rows} export rows (cap 1000), ${per.toFixed(0)} B of wasm memory per summary`);
  // every summary is applied (nothing lost from the room / region aggregates); the 64-region
  // default cap sends the rest to "other"; rows stop at the cap
  assert.deepEqual([out.stats.applied, out.stats.rejected, out.stats.minute_rows], [n, 0, 1000]);
  assert.deepEqual([out.regions, out.stats.region_overflow, out.stats.minute_overflow], [65, n - 64, n - 1000]);
  // was ≈ 8,800 B per summary (one row each); now the rows are bounded and a summary costs its
  // session's ledger entry plus the bounded rows' share
  assert.ok(per < 1500, `${per.toFixed(0)} B per summary`);
});

// ---------------------------------------------------------------------------------------------
// The collector over HTTP: replayed, wrong room, truncated / oversized / bit-flipped, wrong
// version, sequence gaps, session id collisions

const SECRET = 'adversarial-secret-0123456789abcdef0123456789';

function send(base, path, { method = 'POST', headers = {}, body } = {}) {
  return new Promise((ok, fail) => {
    const req = httpRequest(base + path, { method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        ok({ status: res.statusCode, text, body: text ? JSON.parse(text) : null });
      });
    });
    req.on('error', fail);
    req.end(body);
  });
}

test('collector: hostile summaries get a clear status / code / field, are counted, and never cost the valid ones', async (t) => {
  const logDir = mkdtempSync(join(tmpdir(), 'livekpi-adv-'));
  const c = await startCollectorServer({ logDir, collectorId: 'adv', auth: 'token', secret: SECRET, rateLimit: false });
  t.after(async () => {
    await c.close();
    rmSync(logDir, { recursive: true, force: true });
  });
  const tokA = issueToken('room-a', 600_000, { secret: SECRET });
  const post = (bytes, { token = tokA, region, query = '' } = {}) => send(c.url, `/api/summary${query}`, {
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', ...(region ? { 'x-region': region } : {}) },
    body: bytes,
  });
  // valid background: sessions 1..4, one summary each, around every hostile message
  let bg = 0;
  const background = async () => {
    bg++;
    const res = await post(summary({ sid: 100 + bg }), { region: 'north' });
    assert.equal(res.status, 200);
  };
  const good = summary({ sid: 9 });
  const flipped = Uint8Array.from(good);
  flipped[2] ^= 0x40; // version byte
  const cases = [
    ['first summary of a view', good, {}, 200, 'applied'],
    ['replayed summary', good, {}, 200, 'duplicate'],
    ['sequence gap (seq 4 after 1)', summary({ sid: 9, seq: 4, spanMs: 120_000, delta: { watch_ms: 120_000, playing_ms: 119_000, started: 1, total_frames: 2800 } }), {}, 200, 'applied'],
    ['older summary (superseded)', summary({ sid: 9, seq: 2, spanMs: 60_000, delta: { watch_ms: 60_000, started: 1 } }), {}, 200, 'superseded'],
    ['session id collision: another view reuses the id with lower counters', summary({ sid: 9, seq: 5, delta: { watch_ms: 1000 } }), {}, 409, 'non_monotone', 'watch_ms'],
    ['wrong room (summary for room-b with a room-a token)', summary({ sid: 10, room: 'room-b' }), {}, 403, 'wrong_room', 'room_id'],
    ['wrong room in the query', good, { query: '?room=room-b' }, 403, 'wrong_room', 'room'],
    ['truncated payload', good.subarray(0, 30), {}, 400, 'truncated', 'start_ms'],
    ['empty payload', new Uint8Array(0), {}, 400, 'truncated', 'magic'],
    ['oversized payload (9000 bytes)', new Uint8Array(9000), {}, 413, 'oversized', 'message'],
    ['bit-flipped version byte', flipped, {}, 400, 'unsupported_version', 'version'],
    ['wrong version 2', summary({ sid: 11, version: 2 }), {}, 400, 'unsupported_version', 'version'],
    ['JSON instead of a summary', Buffer.from('{"seq":1}'), {}, 400, 'bad_magic', 'magic'],
    ['markup in the region header (not echoed)', summary({ sid: 12 }), { region: '<script>alert(1)</script>' }, 400, 'bad_region', 'region'],
    ['region header of 65 bytes', summary({ sid: 13 }), { region: 'r'.repeat(65) }, 400, 'bad_region', 'region'],
    ['final summary', summary({ sid: 14, seq: 1, final: true }), {}, 200, 'applied'],
    ['summary after the final one', summary({ sid: 14, seq: 2 }), {}, 409, 'after_final', 'seq'],
    ['forged token', summary({ sid: 15 }), { token: `${tokA.slice(0, -2)}AA` }, 401, 'token_invalid', 'token'],
  ];
  const codes = {};
  for (const [name, bytes, opts, status, code, field] of cases) {
    await background();
    const res = await post(bytes, opts);
    assert.equal(res.status, status, `${name}: ${res.text}`);
    if (status === 200) assert.equal(res.body.status, code, name);
    else {
      assert.deepEqual([res.body.code, res.body.field], [code, field], name);
      assert.ok(res.body.message.includes(`\`${field}\``), name);
      assert.ok(!res.text.includes('<script>'), `${name}: nothing echoed`);
      codes[code] = (codes[code] ?? 0) + 1;
    }
  }
  await background();
  const st = (await send(c.url, '/api/collector/stats', { method: 'GET' })).body;
  assert.deepEqual(st.http.by_code, codes, 'every rejection counted by code');
  const rooms = (await send(c.url, '/api/collector/rooms?room=room-a', { method: 'GET' })).body;
  // the background views (one each) + session 9 + session 14
  assert.equal(rooms.total.counters.views, bg + 2);
  // the merger counts what reached it (the query / token refusals never do; a wrong room in
  // the summary is its room_mismatch, answered wrong_room)
  assert.deepEqual(Object.fromEntries(st.merger.rejected_by_code.map((x) => [x.code, x.count])), {
    after_final: 1, bad_magic: 1, bad_region: 2, non_monotone: 1, oversized: 1, room_mismatch: 1, truncated: 2, unsupported_version: 2,
  });
  // the background, session 9's first and gap summaries, session 14's final one
  assert.equal(st.merger.applied, bg + 3);
});
