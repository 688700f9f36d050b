// livekpi/console's collector API in Node: SummaryMerger (ingest outcomes, stable error codes and
// fields, room / region aggregates, export rows), decodeSummary, mergeExports; and the published
// types checked exactly against real data with tsc. Summaries are written by the spec-only test
// encoder (tests/js/support/summaries.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SummaryMerger, decodeSummary, mergeExports } from '../../pkg/console/node.js';
import { TestViewer, encodeSummary, rng, truth } from './support/summaries.mjs';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);

function viewers(n, seed, room = 'room-1', summaries = 4) {
  const random = rng(seed);
  return Array.from({ length: n }, () => new TestViewer({ random, room, t0: T0, summaries }));
}

/** Plays every viewer to its end through `merger`, acking each outcome; returns outcomes. */
function playAll(merger, vs, region = (i) => ['north', 'south'][i % 2]) {
  const out = [];
  vs.forEach((v, i) => {
    while (!v.done) {
      const o = merger.ingest(v.next(), region(i));
      v.ack(o.seq);
      out.push(o);
    }
  });
  return out;
}

function errorOf(fn) {
  try {
    fn();
  } catch (e) {
    return e;
  }
  assert.fail('expected a throw');
}

test('ingest: outcomes, de-duplication, totals equal the truth', () => {
  const m = new SummaryMerger({ collector: 'c1' });
  const vs = viewers(30, 1);
  const outcomes = playAll(m, vs);
  assert.ok(outcomes.every((o) => o.status === 'applied' && o.room === 'room-1' && /^[0-9a-f]{32}$/.test(o.session)));
  assert.deepEqual(outcomes.slice(0, 4).map((o) => [o.seq, o.is_final]), [[1, false], [2, false], [3, false], [4, true]]);
  // Replays of old summaries: the newest is a duplicate, older ones superseded; nothing counts twice.
  const v = new TestViewer({ random: rng(9), room: 'room-1', t0: T0, summaries: 3 });
  const s1 = v.next();
  assert.equal(m.ingest(s1, 'north').status, 'applied');
  const s2 = v.next(); // ack of 1 lost: same base
  assert.equal(m.ingest(s2, 'north').status, 'applied');
  assert.equal(m.ingest(s2, 'north').status, 'duplicate');
  assert.equal(m.ingest(s1, 'north').status, 'superseded');
  vs.push(v);
  const room = m.room('room-1');
  const t = truth(vs);
  for (const k of ['watch_ms', 'playing_ms', 'stall_ms', 'stall_count', 'latency_sum_ms', 'started']) {
    assert.equal(room.total.counters[k], t[k], k);
  }
  assert.equal(room.total.counters.views, 31);
  assert.equal(room.total.counters.finished_views, 30);
  assert.equal(Math.round(room.total.distinct_viewers), 31);
  assert.deepEqual(room.regions.map((r) => r.region), ['north', 'south']);
  assert.equal(room.regions[0].aggregate.counters.watch_ms + room.regions[1].aggregate.counters.watch_ms, t.watch_ms);
  const r = room.total.rates.rebuffer_ratio;
  assert.equal(r.numerator, t.stall_ms);
  assert.equal(r.denominator, t.stall_ms + t.playing_ms);
  assert.equal(r.value, t.stall_ms / (t.stall_ms + t.playing_ms));
  assert.equal(room.total.rates.playback_failure_rate.value, 0);
  assert.equal(room.total.rates.startup_failure_rate.denominator, 31);
  const q = room.total.quantiles.startup_ms;
  assert.equal(q.n, 31);
  const startups = vs.map((x) => x.startupMs).sort((a, b) => a - b);
  assert.equal(q.min, startups[0]);
  assert.equal(q.max, startups[30]);
  assert.ok(q.p50 >= startups[12] && q.p50 <= startups[18], `p50 ${q.p50}`);
  assert.equal(room.total.quantiles.watch_ms.n, 30);
  assert.equal(room.total.quantiles.watch_ms.p50, 120_000);
  assert.equal(m.room('nope'), undefined);
  assert.deepEqual(m.rooms().map((x) => x.room), ['room-1']);
  const st = m.stats();
  assert.deepEqual(
    { applied: st.applied, duplicates: st.duplicates, superseded: st.superseded, rejected: st.rejected, sessions: st.sessions, rooms: st.rooms },
    { applied: 122, duplicates: 1, superseded: 1, rejected: 0, sessions: 31, rooms: 1 },
  );
});

test('bad summaries throw LivekpiError with a stable code and the field, counted, nothing changes', () => {
  const m = new SummaryMerger();
  const v = viewers(1, 2)[0];
  const good = v.next();
  const base = { sessionId: v.sessionId, seq: 1, baseSeq: 0, room: 'room-1', startMs: T0, spanMs: 30_000 };
  const cases = [
    ['truncated', good.subarray(0, 30), 'truncated'],
    ['oversized', new Uint8Array(8193), 'message'],
    ['wrong version', encodeSummary({ ...base, version: 2 }), 'version'],
    ['bad magic', Uint8Array.from([0x4c, 0x52, ...good.subarray(2)]), 'magic'],
    ['absurd watch', encodeSummary({ ...base, delta: { watch_ms: 40_000 } }), 'watch_ms'],
    ['absurd startup', encodeSummary({ ...base, state: { startup_ms: 90_000_000 } }), 'startup_ms'],
    ['seq 0', encodeSummary({ ...base, seq: 0 }), 'seq'],
    ['span > 24 h', encodeSummary({ ...base, spanMs: 86_400_001 }), 'span_ms'],
    ['empty', new Uint8Array(0), 'magic'],
  ];
  const codes = [];
  for (const [what, bytes, field] of cases) {
    const e = errorOf(() => m.ingest(bytes, 'north'));
    assert.ok(e instanceof Error, what);
    assert.equal(e.name, 'LivekpiError', what);
    assert.equal(e.field, field === 'truncated' ? e.field : field, what);
    assert.match(e.message, new RegExp(`field \`${e.field}\``), what);
    codes.push(e.code);
  }
  assert.deepEqual(codes, ['truncated', 'oversized', 'unsupported_version', 'bad_magic', 'absurd_value', 'absurd_value', 'bad_sequence', 'bad_time', 'truncated']);
  // Ledger conflicts and addressing.
  assert.equal(m.ingest(good, 'north').status, 'applied');
  assert.equal(m.ingest(encodeSummary({ ...base, seq: 3, spanMs: 90_000, delta: { ...decodeSummary(good).delta, watch_ms: 90_000 } }), 'north').status, 'applied');
  // Base 2 was never applied here and is older than the newest applied summary (3).
  const e1 = errorOf(() => m.ingest(encodeSummary({ ...base, seq: 4, baseSeq: 2, startMs: T0 + 60_000 }), 'north'));
  assert.deepEqual([e1.code, e1.field], ['unknown_base', 'base_seq']);
  const e2 = errorOf(() => m.ingest(good, 'x'.repeat(65)));
  assert.deepEqual([e2.code, e2.field], ['bad_region', 'region']);
  const e3 = errorOf(() => m.ingest(viewers(1, 3, 'room-2')[0].next(), 'north', 'room-1'));
  assert.deepEqual([e3.code, e3.field], ['room_mismatch', 'room_id']);
  m.countRejection('oversized');
  assert.equal(errorOf(() => m.countRejection('nope')).code, 'bad_argument');
  const st = m.stats();
  assert.equal(st.rejected, cases.length + 4);
  assert.deepEqual(Object.fromEntries(st.rejected_by_code.map((c) => [c.code, c.count])), {
    absurd_value: 2, bad_magic: 1, bad_region: 1, bad_sequence: 1, bad_time: 1, oversized: 2, room_mismatch: 1,
    truncated: 2, unknown_base: 1, unsupported_version: 1,
  });
  assert.equal(st.applied, 2);
  assert.equal(m.room('room-1').total.counters.watch_ms, 90_000);
  assert.equal(m.room('room-2'), undefined);
});

test('decodeSummary gives the JSON debug form and throws with code and field', () => {
  const v = viewers(1, 4)[0];
  const j = decodeSummary(v.next());
  assert.equal(j.version, 1);
  assert.equal(j.session_id, v.id);
  assert.equal(j.room_id, 'room-1');
  assert.deepEqual([j.seq, j.base_seq, j.start_ms, j.span_ms, j.end_ms, j.final], [1, 0, T0, 30_000, T0 + 30_000, false]);
  assert.equal(j.delta.watch_ms, 30_000);
  assert.equal(j.delta.started, 1);
  assert.equal(j.delta.paused_ms, undefined);
  assert.equal(j.state.startup_ms, v.startupMs);
  assert.equal(j.state.latency_ms, 2000);
  const e = errorOf(() => decodeSummary(Uint8Array.from([0x4c, 0x51, 1, 2])));
  assert.deepEqual([e.name, e.code, e.field], ['LivekpiError', 'reserved_flags', 'flags']);
});

test('export rows per room / region / minute merge back (mergeExports) to the live aggregates', () => {
  // Three collectors each get a subset of the summaries; a viewer's summaries may go to several.
  const vs = viewers(200, 5, 'room-1', 5).concat(viewers(50, 6, 'room-2', 3));
  const whole = new SummaryMerger({ collector: 'all' });
  const parts = [0, 1, 2].map((i) => new SummaryMerger({ collector: `c${i}` }));
  vs.forEach((v, i) => {
    let k = 0;
    while (!v.done) {
      const b = v.next();
      const region = ['north', 'south', 'west'][i % 3];
      const o = whole.ingest(b, region);
      parts[(i + (k++ >> 1)) % 3].ingest(b, region);
      v.ack(o.seq);
    }
  });
  const rows = whole.exportRows();
  const minutes = new Set(rows.map((r) => r.minute_start_ms));
  assert.ok(minutes.size >= 3, `${minutes.size} minutes`);
  for (const r of rows) {
    assert.equal(r.collector, 'all');
    assert.equal(r.minute_start_ms % 60_000, 0);
    assert.equal(new Date(r.minute_start_ms).toISOString().replace('.000Z', 'Z'), r.minute);
    assert.match(r.hll_viewers, /^[A-Za-z0-9+/]+=*$/);
    assert.equal(Buffer.from(r.hll_viewers, 'base64')[0] > 0, true);
  }
  const ndjson = whole.exportNdjson();
  assert.deepEqual(ndjson.trimEnd().split('\n').map((l) => JSON.parse(l)), rows);
  const direct = whole.rooms();
  const back = mergeExports(ndjson);
  assert.deepEqual(back.map((r) => r.room), ['room-1', 'room-2']);
  for (let i = 0; i < 2; i++) {
    assert.deepEqual(back[i].total.counters, direct[i].total.counters);
    assert.equal(back[i].total.distinct_viewers, direct[i].total.distinct_viewers);
    assert.deepEqual(back[i].regions.map((r) => r.aggregate.counters), direct[i].regions.map((r) => r.aggregate.counters));
  }
  const t = truth(vs.slice(0, 200));
  assert.equal(back[0].total.counters.watch_ms, t.watch_ms);
  // Several collectors: exact sums (views aside: a view seen by two collectors counts at each),
  // the same distinct viewers as one collector that saw everything.
  const three = mergeExports(parts.map((p) => p.exportNdjson()).join(''));
  for (let i = 0; i < 2; i++) {
    const { views: va, ...a } = three[i].total.counters;
    const { views: vb, ...b } = direct[i].total.counters;
    assert.ok(va > vb);
    assert.deepEqual(a, b);
    assert.equal(three[i].total.distinct_viewers, direct[i].total.distinct_viewers);
  }
  assert.equal(Math.round(three[0].total.distinct_viewers), 200);
  const e = errorOf(() => mergeExports(ndjson + '{"room":1}\n'));
  assert.deepEqual([e.code, e.field], ['bad_row', 'row']);
  assert.match(e.message, new RegExp(`line ${rows.length + 1}`));
  assert.deepEqual(new SummaryMerger({ minuteRows: false }).exportRows(), []);
  assert.equal(errorOf(() => new SummaryMerger({ minuteRows: 1 })).code, 'bad_option');
});

test('degraded reasons: decoded, counted once per session and reason, exported; old decoders skip the field', () => {
  const m = new SummaryMerger({ collector: 'c1' });
  const sid = (k) => Uint8Array.from({ length: 16 }, (_, i) => (i === 0 ? k : 0x33));
  const delta = { watch_ms: 30_000, playing_ms: 29_000, started: 1, total_frames: 700 };
  // field 44 (varint tag E0 02), value: noBeacon | noStorage = 12, then | noTimeSync (64) = 76
  const withDegraded = (bytes, v) => Uint8Array.from([...bytes, 0xe0, 0x02, v]);
  const s = (k, seq, fin) => encodeSummary({ sessionId: sid(k), seq, baseSeq: 0, room: 'room-d', startMs: T0, spanMs: 30_000 * seq, delta: { ...delta, watch_ms: 30_000 * seq }, state: {}, final: fin });
  assert.equal(decodeSummary(withDegraded(s(1, 1), 12)).state.degraded, 12);
  assert.equal(decodeSummary(s(1, 1)).state.degraded, undefined);
  m.ingest(withDegraded(s(1, 1), 12), 'north');
  m.ingest(withDegraded(s(1, 2), 76), 'north');
  m.ingest(withDegraded(s(1, 2), 76), 'north'); // duplicate: nothing
  m.ingest(withDegraded(s(2, 1), 12), 'south');
  const c = m.room('room-d').total.counters;
  assert.deepEqual([c.degraded_no_beacon, c.degraded_no_storage, c.degraded_no_time_sync, c.degraded_fault], [2, 2, 1, 0]);
  const north = m.room('room-d').regions.find((r) => r.region === 'north').aggregate.counters;
  assert.equal(north.degraded_no_beacon, 1);
  const rows = m.exportRows();
  assert.equal(rows.reduce((a, r) => a + r.degraded_no_time_sync, 0), 1);
  assert.equal(mergeExports(m.exportNdjson())[0].total.counters.degraded_no_storage, 2);
});

test('caps: regions beyond maxRegionsPerRoom go to "other", minute rows stop at maxMinuteRowsPerRoom, out-of-window summaries are refused', () => {
  const m = new SummaryMerger({ collector: 'c1', maxRegionsPerRoom: 2, maxMinuteRowsPerRoom: 3 });
  const sid = (k) => Uint8Array.from({ length: 16 }, (_, i) => (i < 2 ? (k >> (8 * i)) & 255 : 0x44));
  const delta = { watch_ms: 30_000, playing_ms: 29_000, started: 1, total_frames: 700 };
  const s = (k) => encodeSummary({ sessionId: sid(k), seq: 1, baseSeq: 0, room: 'room-c', startMs: T0 + k * 60_000, spanMs: 30_000, delta, state: {} });
  for (let k = 0; k < 6; k++) m.ingest(s(k), `r${k}`);
  const room = m.room('room-c');
  assert.deepEqual(room.regions.map((r) => [r.region, r.aggregate.counters.views]), [['other', 4], ['r0', 1], ['r1', 1]]);
  assert.equal(room.total.counters.views, 6);
  const st = m.stats();
  assert.deepEqual([st.minute_rows, st.region_overflow, st.minute_overflow], [3, 4, 3]);
  // the time window applies when the server time is given
  const now = T0 + 30_000;
  const late = encodeSummary({ sessionId: sid(100), seq: 1, baseSeq: 0, room: 'room-c', startMs: T0 - 27 * 3_600_000, spanMs: 30_000, delta, state: {} });
  const e = errorOf(() => m.ingest(late, 'r0', undefined, now));
  assert.deepEqual([e.name, e.code, e.field], ['LivekpiError', 'out_of_window', 'end_ms']);
  assert.equal(m.stats().rejected_by_code.find((x) => x.code === 'out_of_window').count, 1);
  assert.equal(m.ingest(late, 'r0').status, 'applied', 'no server time (a log replay): no window');
  assert.equal(m.ingest(s(0), 'r0', undefined, now).status, 'duplicate');
  for (const bad of [{ maxRegionsPerRoom: 0 }, { maxMinuteRowsPerRoom: 1.5 }, { windowPastMs: -1 }, { windowFutureMs: 'x' }]) {
    const b = errorOf(() => new SummaryMerger(bad));
    assert.equal(b.code, 'bad_option');
    assert.match(b.message, new RegExp(Object.keys(bad)[0]));
  }
  assert.equal(errorOf(() => m.ingest(s(0), 'r0', undefined, NaN)).code, 'bad_argument');
});

test('the published types match real collector data exactly (tsc, strict)', () => {
  const m = new SummaryMerger({ collector: 'c1' });
  const vs = viewers(5, 7);
  const outcome = m.ingest(vs[0].next(), 'north');
  playAll(m, vs);
  const data = {
    outcome, room: m.room('room-1'), rooms: m.rooms(), rows: m.exportRows(), stats: m.stats(),
    merged: mergeExports(m.exportNdjson()), summary: decodeSummary(new TestViewer({ random: rng(1), room: 'r', t0: T0, summaries: 1 }).next()),
  };
  const dir = mkdtempSync(join(tmpdir(), 'livekpi-collector-types-'));
  try {
    const api = join(REPO, 'pkg', 'console', 'index.js');
    writeFileSync(join(dir, 'shapes.ts'), `
      import { SummaryMerger, decodeSummary, mergeExports } from ${JSON.stringify(api)};
      import type { IngestOutcome, RoomView, ExportRow, MergerStats, SummaryJson, IngestStatus } from ${JSON.stringify(api)};
      export const outcome: IngestOutcome = ${JSON.stringify(data.outcome)};
      export const room: RoomView = ${JSON.stringify(data.room)};
      export const rooms: RoomView[] = ${JSON.stringify(data.rooms)};
      export const rows: ExportRow[] = ${JSON.stringify(data.rows)};
      export const stats: MergerStats = ${JSON.stringify(data.stats)};
      export const merged: RoomView[] = ${JSON.stringify(data.merged)};
      export const summary: SummaryJson = ${JSON.stringify(data.summary)};
      export function use(m: SummaryMerger, b: Uint8Array): [IngestStatus, RoomView | undefined, string, RoomView[], SummaryJson] {
        const o: IngestOutcome = m.ingest(b, 'north', 'room-1');
        // @ts-expect-error the region is a string
        m.ingest(b, 7);
        return [o.status, m.room('room-1'), m.exportNdjson(), mergeExports(''), decodeSummary(b)];
      }
    `);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: 'esnext', moduleResolution: 'bundler', target: 'es2022', lib: ['es2022', 'dom', 'esnext.disposable'] },
      files: ['shapes.ts'],
    }));
    try {
      execFileSync(join(REPO, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      assert.fail(`tsc:\n${e.stdout}\n${e.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
