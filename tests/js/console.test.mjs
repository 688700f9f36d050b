// livekpi/console in Node, as a collector or a test would use it: the three ingestion paths
// agree, the article's goods table comes out exactly, and bad input gets clear, counted errors
// while the valid rest is kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Room, generateEventsNdjson, eventKinds } from '../../pkg/console/node.js';

const START = Date.UTC(2026, 10, 25, 12, 0, 0);
const END = START + 120 * 60_000;

/** Builds a columnar batch (typed arrays + one string table) from event objects. */
function toColumns(events) {
  const codes = Object.fromEntries(eventKinds().map((k, i) => [k, i]));
  const strings = [];
  const index = new Map();
  const ref = (s) => {
    if (s === undefined || s === null) return 0xffffffff;
    const key = String(s);
    if (!index.has(key)) { index.set(key, strings.length); strings.push(key); }
    return index.get(key);
  };
  const n = events.length;
  const u32 = () => new Uint32Array(n);
  const f64 = () => new Float64Array(n).fill(NaN);
  const c = {
    kind: new Uint8Array(n), ts: new Float64Array(n), idRef: u32(), viewer: u32(), session: u32(),
    product: u32(), order: u32(), amount: f64(), units: f64(), count: f64(), text: u32(), option: u32(),
    cohost: u32(), region: u32(), tier: u32(), source: u32(), followerSinceMs: f64(),
    seenBefore: new Uint8Array(n).fill(2), strings,
  };
  events.forEach((e, i) => {
    c.kind[i] = codes[e.kind];
    c.ts[i] = e.ts;
    c.idRef[i] = ref(e.id);
    for (const f of ['viewer', 'session', 'product', 'order', 'text', 'option', 'cohost', 'region', 'tier', 'source']) c[f][i] = ref(e[f]);
    for (const f of ['amount', 'units', 'count']) if (e[f] !== undefined) c[f][i] = e[f];
    if (e.follower_since_ms !== undefined) c.followerSinceMs[i] = e.follower_since_ms;
    if (e.seen_before !== undefined) c.seenBefore[i] = e.seen_before ? 1 : 0;
  });
  return c;
}

test('objects, NDJSON and columns give the same snapshot for a generated room', () => {
  const text = generateEventsNdjson({ seed: 11, streamStartMs: START, durationMin: 120, arrivals: 1500 });
  const events = text.trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(events.length > 5000, `generator made ${events.length} events`);
  const rooms = [0, 1, 2].map(() => new Room({ streamStartMs: START, streamEndMs: END }));
  const reports = [
    rooms[0].ingest(events),
    rooms[1].ingestNdjson(text),
    rooms[2].ingestColumns(toColumns(events)),
  ];
  for (const r of reports.slice(1)) {
    assert.equal(r.accepted, reports[0].accepted);
    assert.equal(r.duplicates, reports[0].duplicates);
    assert.equal(r.rejected, reports[0].rejected);
  }
  const snaps = rooms.map((r) => r.snapshot(END));
  assert.deepEqual(snaps[1], snaps[0]);
  assert.deepEqual(snaps[2], snaps[0]);
  assert.ok(snaps[0].result.gmv_fen > 0 && snaps[0].process.viewers > 0);
  assert.deepEqual(JSON.parse(rooms[0].snapshotJson(END)), snaps[0]);
});

test("the article's goods table comes out exactly (A 50,000/5,000/10%/500/10%, B 30,000/2,100/7%/105/5%)", () => {
  const room = new Room({ streamStartMs: START, streamEndMs: END });
  const events = [];
  let id = 0;
  const add = (kind, fields) => events.push({ id: `e${id++}`, ts: START + (id % 7_000_000), kind, ...fields });
  const product = (p, impressions, clicks, units) => {
    for (let i = 0; i < impressions; i++) add('product_impression', { viewer: `${p}v${i}`, product: p });
    for (let i = 0; i < clicks; i++) add('product_click', { viewer: `${p}v${i}`, product: p });
    for (let i = 0; i < units; i++) add('order_paid', { viewer: `${p}v${i}`, product: p, order: `${p}o${i}`, amount: 9900, units: 1 });
  };
  product('A', 50_000, 5_000, 500);
  product('B', 30_000, 2_100, 105);
  const report = room.ingest(events);
  assert.equal(report.rejected, 0, JSON.stringify(report.errors.slice(0, 3)));
  const goods = Object.fromEntries(room.snapshot(END).goods.map((g) => [g.product, g]));
  assert.deepEqual(
    [goods.A.impressions, goods.A.clicks, goods.A.ctr.value, goods.A.units, goods.A.conversion.value],
    [50_000, 5_000, 0.1, 500, 0.1],
  );
  assert.deepEqual(
    [goods.B.impressions, goods.B.clicks, goods.B.ctr.value, goods.B.units, goods.B.conversion.value],
    [30_000, 2_100, 0.07, 105, 0.05],
  );
});

test('bad options throw an Error naming the field', () => {
  const cases = [
    [undefined, /streamStartMs/],
    [{}, /`streamStartMs` is required/],
    [{ streamStartMs: NaN }, /`streamStartMs` must be a finite number/],
    [{ streamStartMs: START, streamEndMs: START - 1 }, /`streamEndMs` is before/],
    [{ streamStartMs: START, latenessMs: -5 }, /`latenessMs` must not be negative/],
  ];
  for (const [options, message] of cases) {
    assert.throws(() => new Room(options), (e) => e instanceof Error && e.name === 'LivekpiError' && message.test(e.message));
  }
  const room = new Room({ streamStartMs: START });
  assert.throws(() => room.ingest('not an array'), /`events` must be an array/);
  assert.throws(() => room.snapshot(NaN), /snapshot\(nowMs\)/);
  assert.throws(() => room.ingestColumns({ ts: new Float64Array(1) }), /field `kind` is required/);
  assert.throws(() => room.ingestColumns({ kind: new Float64Array(1), ts: new Float64Array(1) }), /field `kind` has the wrong typed-array type/);
});

test('bad events are reported with field and position, counted, and the valid rest is kept', () => {
  const room = new Room({ streamStartMs: START, streamEndMs: END });
  const good = (i) => ({ id: `g${i}`, ts: START + 1000 * i, kind: 'enter', viewer: `v${i}`, session: `s${i}` });
  const batch = [
    good(1),
    { id: 'b1', ts: START, kind: 'teleport', viewer: 'x' },
    { id: 'b2', kind: 'enter', viewer: 'x', session: 'y' },
    { id: 'b3', ts: START, kind: 'order_paid', viewer: 'x', order: 'o', amount: -5, units: 1 },
    good(2),
    null,
    () => 1,
    good(3),
  ];
  const r = room.ingest(batch);
  assert.equal(r.accepted, 3);
  assert.equal(r.rejected, 5);
  const got = r.errors.map((e) => [e.line, e.field, e.reason]);
  assert.deepEqual(got, [
    [2, 'kind', 'unknown_kind'],
    [3, 'ts', 'missing_field'],
    [4, 'amount', 'negative'],
    [6, '', 'not_an_object'],
    [7, '', 'not_an_object'],
  ]);
  const ndjson = room.ingestNdjson('{"id":"n1","ts":1,"kind":"enter"\n{"id":"n2","ts":' + START + ',"kind":"like","viewer":"v1","count":"many"}\n');
  assert.deepEqual(ndjson.errors.map((e) => [e.line, e.field, e.reason]), [[1, '', 'invalid_json'], [2, 'count', 'wrong_type']]);
  const stats = room.stats();
  assert.equal(stats.accepted, 3);
  assert.equal(stats.rejected, 7);
  assert.equal(room.snapshot(END).process.viewers, 3);
});

test('snapshots reuse unchanged minute and goods rows (frozen, shared) and equal the JSON export', () => {
  const text = generateEventsNdjson({ seed: 3, streamStartMs: START, durationMin: 120, arrivals: 1500, products: 8 });
  const lines = text.trim().split('\n');
  const room = new Room({ streamStartMs: START, streamEndMs: END });
  const half = Math.floor(lines.length / 2);
  room.ingestNdjson(lines.slice(0, half).join('\n'));
  const at1 = JSON.parse(lines[half - 1]).ts;
  const s1 = room.snapshot(at1);
  assert.deepEqual(s1, JSON.parse(room.snapshotJson(at1)));
  room.ingestNdjson(lines.slice(half).join('\n'));
  const s2 = room.snapshot(END);
  assert.deepEqual(s2, JSON.parse(room.snapshotJson(END)));
  assert.ok(Object.isFrozen(s2.scene.minutes[0]) && Object.isFrozen(s2.goods[0]) && Object.isFrozen(s2.goods[0].ctr));
  // the second half's events are all later than minute 0 (lateness 5 min): its row is the same object
  assert.equal(s2.scene.minutes[0], s1.scene.minutes[0]);
  // a changed row is a new object
  const last = s1.scene.minutes.length - 1;
  assert.notDeepEqual(s2.scene.minutes[last], s1.scene.minutes[last]);
  assert.notEqual(s2.scene.minutes[last], s1.scene.minutes[last]);
  // a snapshot of the same moment again reuses every row
  const s3 = room.snapshot(END);
  assert.ok(s3.scene.minutes.every((r, i) => r === s2.scene.minutes[i]) && s3.goods.every((r, i) => r === s2.goods[i]));
});

test('memory caps: events over a cap are rejected naming the field, counted, the rest kept; far-future snapshots stay bounded', () => {
  const room = new Room({ streamStartMs: START, streamEndMs: END, maxViewers: 2, maxStringBytes: 16, maxMinutes: 30 });
  const enter = (i, viewer) => ({ id: `c${i}`, ts: START + 1000 * i, kind: 'enter', viewer, session: `s${i}` });
  const objects = room.ingest([enter(1, 'v1'), enter(2, 'v2'), enter(3, 'v3'), enter(4, 'v1'), enter(5, 'x'.repeat(17))]);
  assert.equal(objects.accepted, 3);
  assert.deepEqual(objects.errors.map((e) => [e.line, e.field, e.reason]), [[3, 'viewer', 'cap_exceeded'], [5, 'viewer', 'cap_exceeded']]);
  const cols = room.ingestColumns(toColumns([enter(6, 'v4'), enter(7, 'v2')]));
  assert.equal(cols.accepted, 1);
  assert.deepEqual(cols.errors.map((e) => [e.line, e.field, e.reason]), [[1, 'viewer', 'cap_exceeded']]);
  const stats = room.stats();
  assert.deepEqual(stats.rejected_by_reason.map((r) => [r.reason, r.count]), [['cap_exceeded', 3]]);
  const snap = room.snapshot(END);
  assert.equal(snap.process.viewers, 2);
  assert.equal(snap.minutes, 30);
  // unknown end, a snapshot ten years ahead: at most the default 4,320 minute rows
  const open = new Room({ streamStartMs: START });
  open.ingest([enter(1, 'v1')]);
  const far = open.snapshot(START + 10 * 365 * 86_400_000);
  assert.equal(far.minutes, 4320);
  assert.equal(far.scene.minutes.length, 4320);
  assert.throws(() => new Room({ streamStartMs: START, maxViewers: -1 }), /`maxViewers` must not be negative/);
  // absurd timestamps: far future and far past are out_of_range on ts
  const r = open.ingest([{ id: 'f', ts: START + 30 * 365 * 86_400_000, kind: 'like', viewer: 'v1' }, { id: 'p', ts: 0, kind: 'like', viewer: 'v1' }]);
  assert.deepEqual(r.errors.map((e) => [e.field, e.reason]), [['ts', 'out_of_range'], ['ts', 'out_of_range']]);
});

test('alerts: an interaction drop is raised once with its evidence; the clean stream raises none of it', async () => {
  const { analyzeComment } = await import('../../pkg/console/node.js');
  assert.equal(typeof analyzeComment, 'function');
  const text = generateEventsNdjson({ seed: 5, streamStartMs: START, durationMin: 120, arrivals: 8000 });
  const lines = text.trim().split('\n');
  const interaction = new Set(['like', 'comment', 'share']);
  const inIncident = (e) => e.ts >= START + 40 * 60_000 && e.ts < START + 50 * 60_000;
  const run = (keep) => {
    const room = new Room({ streamStartMs: START, streamEndMs: END });
    room.ingest(lines.map((l) => JSON.parse(l)).filter(keep));
    for (let t = START; t <= END; t += 60_000) room.snapshot(t);
    return room.alerts().filter((a) => a.rule === 'interaction_drop');
  };
  assert.deepEqual(run(() => true), [], 'no interaction-drop alert on the clean stream');
  const alerts = run((e) => !(interaction.has(e.kind) && inIncident(e)));
  assert.equal(alerts.length, 1, JSON.stringify(alerts));
  const [a] = alerts;
  assert.ok(a.minute >= 40 && a.minute <= 44, `raised at minute ${a.minute}`);
  assert.equal(a.direction, 'down');
  assert.equal(a.action, 'change_script_or_lottery');
  assert.ok(a.value < a.baseline_mean && a.window.length > 0);
});

test('forecast: final GMV with an 80 % interval from the stream so far and past streams', () => {
  const history = [1, 2, 3, 4].map((seed) => {
    const r = new Room({ streamStartMs: START, streamEndMs: END });
    r.ingestNdjson(generateEventsNdjson({ seed, streamStartMs: START }));
    return r.snapshot(END).scene.minutes.map((m) => m.gmv_fen);
  });
  const room = new Room({ streamStartMs: START, streamEndMs: END });
  room.ingestNdjson(generateEventsNdjson({ seed: 9, streamStartMs: START }));
  const now = START + 60 * 60_000;
  const f = room.forecast(now, history);
  const soFar = room.snapshot(now).scene.minutes.reduce((s, m) => s + m.gmv_fen, 0);
  assert.equal(f.elapsed_minutes, 60);
  assert.equal(f.total_minutes, 120);
  assert.equal(f.gmv_so_far_fen, soFar);
  assert.equal(f.level, 0.8);
  assert.ok(f.low_fen >= soFar && f.low_fen <= f.point_fen && f.point_fen <= f.high_fen, JSON.stringify(f));
  assert.throws(() => new Room({ streamStartMs: START }).forecast(now, []), /stream end is unknown/);
  assert.throws(() => room.forecast(now, 'x'), /`history` must be an array/);
});

test('comment sentiment: labels, per-minute series, top terms, and errors naming the field', async () => {
  const { analyzeComment, sentimentSeries, topTerms } = await import('../../pkg/console/node.js');
  assert.equal(analyzeComment('质量很好，已经回购三次了').label, 'positive');
  assert.equal(analyzeComment('这个质量太差了，不值这个价 👎').label, 'negative');
  assert.equal(analyzeComment('不贵').label, 'positive');
  const series = sentimentSeries([{ minute: 0, text: '好看' }, { minute: 2, text: '假货' }]);
  assert.deepEqual(series.map((p) => [p.minute, p.positive, p.negative, p.comments]), [[0, 1, 0, 1], [1, 0, 0, 0], [2, 0, 1, 1]]);
  assert.equal(series[1].mean_score, null);
  const top = topTerms([{ minute: 0, text: '好看' }, { minute: 1, text: '太贵了' }, { minute: 9, text: '好看' }], 0, 5, 3);
  assert.deepEqual(top, { positive: [{ term: '好看', count: 1 }], negative: [{ term: '太贵', count: 1 }] });
  assert.throws(() => sentimentSeries([{ minute: 'x', text: 'a' }]), /comments\[0\]: field `minute`/);
  assert.throws(() => sentimentSeries([{ minute: 1 }]), /comments\[0\]: field `text`/);
});

test('the string table crosses packed: non-ASCII, emoji, lone surrogates and split pairs keep their own entries', () => {
  const names = ['直播间', 'é', '😀x', 'a\uD83D', '\uDE00b', '\uD800', 'plain', ''];
  // what each entry becomes in wasm (a lone surrogate is U+FFFD, as TextEncoder makes it)
  const want = ['直播间', 'é', '😀x', 'a\uFFFD', '\uFFFDb', '\uFFFD', 'plain', ''];
  for (const order of [names, [...names].reverse(), names.filter((s) => !/[\uD800-\uDFFF]/.test(s))]) {
    const room = new Room({ streamStartMs: START, streamEndMs: END });
    const events = order.map((region, i) => ({ id: `e${i}`, ts: START + 1000 + i, kind: 'enter', viewer: `v${i}`, session: `s${i}`, region }));
    const r = room.ingestColumns(toColumns(events));
    assert.equal(r.accepted, order.length, JSON.stringify(r.errors));
    const regions = room.snapshot(END).people.regions.map((g) => g.key).sort();
    const expect = order.map((s) => want[names.indexOf(s)]).sort();
    assert.deepEqual(regions, expect);
  }
  // an entry that is not a string is named, nothing of the batch is applied
  const room = new Room({ streamStartMs: START, streamEndMs: END });
  const c = toColumns([{ id: 'x', ts: START + 5, kind: 'enter', viewer: 'v', session: 's' }]);
  c.strings = [...c.strings, 7];
  assert.throws(() => room.ingestColumns(c), /field `strings` must hold only strings/);
  assert.equal(room.stats().accepted, 0);
});
