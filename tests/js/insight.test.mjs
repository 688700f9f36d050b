// livekpi/console's scorecards and after-stream recommendations through the built package
// (`scripts/build.sh console`): role scorecards with and without player summaries, the Timeline,
// the Debrief builder (products, moments, audience, plan–do–measure–learn review), errors that
// name the field, JSON equal to the objects, and the objects type-checking exactly against the
// published TypeScript types.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Room, Timeline, Debrief, defaultScorecardConfig, generateEventsNdjson } from '../../pkg/console/node.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const START = Date.UTC(2026, 10, 25, 12, 0, 0);
const END = START + 120 * 60_000;

function stream(seed) {
  const text = generateEventsNdjson({ seed, streamStartMs: START, durationMin: 120, arrivals: 3000 });
  const room = new Room({ streamStartMs: START, streamEndMs: END });
  room.ingestNdjson(text);
  const timeline = new Timeline({ streamStartMs: START, streamEndMs: END });
  const counted = timeline.ingestNdjson(text);
  return { text, room, timeline, counted };
}

const cur = stream(21);
const prev = stream(20);

const close = (a, b) => Math.abs(a - b) <= 1e-9 * (1 + Math.max(Math.abs(a), Math.abs(b)));
const livekpiError = (re) => (e) => e instanceof Error && e.name === 'LivekpiError' && re.test(e.message);

test('scorecards: three roles over all three layers; no player summaries → technical null, weight redistributed', () => {
  const cards = cur.room.scorecards(END);
  assert.deepEqual(cards.map((c) => c.role), ['host', 'operations', 'field_control']);
  for (const c of cards) {
    assert.deepEqual(new Set(c.items.map((i) => i.layer)), new Set(['result', 'process', 'technical']));
    const tech = c.items.filter((i) => i.layer === 'technical');
    assert.ok(tech.length > 0 && tech.every((i) => i.value === null && i.points === null && i.effective_weight === 0));
    assert.deepEqual(c.missing, tech.map((i) => i.kpi));
    assert.ok(c.notes.some((n) => n.includes('no player summaries yet')), c.notes.join('; '));
    assert.ok(close(c.items.reduce((s, i) => s + i.effective_weight, 0), 1));
    assert.ok(close(c.missing_weight, tech.reduce((s, i) => s + i.weight, 0)));
    for (const i of c.items.filter((x) => x.value !== null)) {
      const a = Math.min(Math.max(i.value / i.target, 0), 1.2);
      assert.ok(close(i.attainment, a) && close(i.points, 100 * i.effective_weight * a), JSON.stringify(i));
    }
    assert.ok(close(c.score, c.items.reduce((s, i) => s + (i.points ?? 0), 0)));
  }
  // GMV is the snapshot's
  const snap = cur.room.snapshot(END);
  assert.equal(cards[0].items.find((i) => i.kpi === 'gmv_fen').value, snap.result.gmv_fen);
  assert.deepEqual(JSON.parse(cur.room.scorecardsJson(END)), cards);
});

test('scorecards: technical inputs from a collector RoomView or plain values; custom config', () => {
  const roomView = { room: 'r1', total: { rates: {
    startup_mean_ms: { numerator: 4000, denominator: 4, value: 1000 },
    stall_rate: { numerator: 2, denominator: 100, value: 0.02 },
    latency_mean_ms: { numerator: 6000, denominator: 2, value: 3000 },
  } }, regions: [] };
  const a = cur.room.scorecards(END, roomView);
  const b = cur.room.scorecards(END, { first_frame_ms: 1000, stall_rate: 0.02, latency_ms: 3000 });
  assert.deepEqual(a, b);
  for (const c of a) {
    assert.deepEqual(c.missing, []);
    const stall = c.items.find((i) => i.kpi === 'stall_rate');
    assert.ok(close(stall.attainment, 0.5)); // lower is better: 0.01 / 0.02
  }
  const cfg = defaultScorecardConfig();
  assert.equal(cfg.roles.length, 3);
  cfg.roles[0].items.find((i) => i.kpi === 'gmv_fen').target = 1; // any GMV beats it: capped at 1.2
  const c = cur.room.scorecards(END, null, cfg);
  assert.equal(c[0].items.find((i) => i.kpi === 'gmv_fen').attainment, 1.2);
  cfg.cap = 0.5;
  assert.throws(() => cur.room.scorecards(END, null, cfg), livekpiError(/config\.cap/));
  const gmvOnly = { cap: 1.2, roles: [{ role: 'x', title: 'X', items: [{ kpi: 'gmv_fen', weight: 1, target: 1 }] }] };
  assert.throws(() => cur.room.scorecards(END, null, gmvOnly), livekpiError(/roles\[0\]\.items: needs a KPI .* process layer/));
  assert.throws(() => cur.room.scorecards(END, { stall_rate: 'high' }), livekpiError(/field `stall_rate`/));
  assert.throws(() => cur.room.scorecards(NaN), livekpiError(/nowMs/));
});

test('Timeline: counts the activity minute by minute; bad options name the field', () => {
  assert.ok(cur.counted > 5000, `counted ${cur.counted}`);
  assert.equal(cur.timeline.accepted(), cur.counted);
  const minutes = cur.timeline.minutes();
  assert.equal(minutes.length, 120);
  // the generator's lotteries (minutes 10–12, 30–32, …) are where the red packets are
  const red = (m) => minutes[m].red_packet_claims;
  assert.ok(red(10) > 0 && red(31) > 0 && red(20) === 0, `${red(10)} ${red(31)} ${red(20)}`);
  assert.equal(minutes[45].cohost_active, 1);
  assert.equal(minutes[55].cohost_active, 0);
  // the minute series count events inside the stream, once per id (the generator's arrivals
  // start 2 minutes early; its duplicates repeat an id)
  const ids = new Set(cur.text.trim().split('\n').map((l) => JSON.parse(l))
    .filter((e) => e.kind === 'comment' && e.ts >= START && e.ts <= END).map((e) => e.id));
  assert.equal(minutes.reduce((s, m) => s + m.comments, 0), ids.size);
  assert.throws(() => new Timeline({}), livekpiError(/field `streamStartMs` is required/));
  assert.throws(() => new Timeline({ streamStartMs: START, latenessMs: -1 }), livekpiError(/`latenessMs`/));
  assert.throws(() => cur.timeline.ingest('x'), livekpiError(/`events` must be an array/));
});

test('Debrief: products, moments with what happened, audience lift, review vs plan and previous stream; JSON equal', () => {
  const d = new Debrief(cur.room, END);
  d.setTimeline(cur.timeline);
  d.setPrevious(prev.room, END);
  d.setPreviousTimeline(prev.timeline);
  const snap = cur.room.snapshot(END);
  d.setPlan({ targets: [{ kpi: 'result.gmv_fen', target: snap.result.gmv_fen * 2 }, { kpi: 'process.interaction_rate', target: 0.01 }] });
  const r = d.result();
  assert.deepEqual(JSON.parse(d.json()), r);

  // products: conversion = units / clicks, GPM = 1000 × GMV / impressions; ranked first have a score
  assert.match(r.products.rule, /conversion percentile \+ GPM percentile/);
  for (const p of r.products.ranking) {
    const g = snap.goods.find((x) => x.product === p.product);
    assert.equal(p.conversion, g.conversion.value);
    assert.equal(p.gpm, g.gpm_impressions.value);
  }
  assert.equal(new Set(r.products.suggested_order).size, snap.goods.length);
  assert.ok(['traffic', 'steady', 'profit'].includes(r.products.ranking.find((p) => p.product === r.products.suggested_order[0]).role));

  // moments: the lotteries, with red packets around them
  assert.equal(r.moments.length, 5);
  for (const m of r.moments) {
    assert.ok(m.minute >= 10 && (m.minute - 10) % 20 < 3, `moment at ${m.minute}`);
    assert.ok(m.tags.includes('lottery_red_packet') && m.around.red_packet_claims > 0, JSON.stringify(m));
  }

  // audience: lift = buyer share / viewer share
  const src = r.audience.dimensions.find((x) => x.dimension === 'source');
  for (const g of src.groups) {
    const row = snap.people.sources.find((x) => x.key === g.key);
    assert.ok(close(g.lift, row.buyer_share.value / row.viewer_share.value));
  }

  // review: plan vs actual vs previous
  const gmv = r.review.rows.find((x) => x.kpi === 'result.gmv_fen');
  assert.equal(gmv.previous, prev.room.snapshot(END).result.gmv_fen);
  assert.equal(gmv.actual, snap.result.gmv_fen);
  assert.ok(close(gmv.attainment, 0.5) && gmv.met === false);
  assert.equal(r.review.rows.find((x) => x.kpi === 'process.interaction_rate').met, true);
  assert.ok(r.review.learnings.some((l) => l.startsWith('plan missed: result.gmv_fen at 50 %')));
  assert.ok(r.review.changes.some((c) => c.area === 'activity' && c.what === 'red-packet claims'));
  assert.throws(() => d.setPlan({ targets: [{ kpi: 'result.nope', target: 1 }] }), livekpiError(/plan\.targets\[0\]\.kpi/));
  assert.throws(() => d.setPlan({ targets: [{ kpi: 'result.gmv_fen' }] }), livekpiError(/setPlan: plan: .*missing field `target`/));

  // without a timeline or previous stream: no activity detail, no deltas
  const bare = new Debrief(cur.room, END, { moments: 3 }).result();
  assert.equal(bare.moments.length, 3);
  assert.ok(bare.moments.every((m) => m.around === null));
  assert.equal(bare.review.has_previous, false);
  assert.ok(bare.review.rows.every((x) => x.previous === null));
});

test('scorecards, timeline minutes and recommendations type-check exactly against the published types', () => {
  const d = new Debrief(cur.room, END);
  d.setTimeline(cur.timeline);
  d.setPrevious(prev.room, END);
  d.setPlan({ targets: [{ kpi: 'result.gmv_fen', target: 1 }] });
  const data = {
    cards: cur.room.scorecards(END),
    config: defaultScorecardConfig(),
    minutes: cur.timeline.minutes().slice(9, 12),
    rec: d.result(),
  };
  const dir = mkdtempSync(join(tmpdir(), 'livekpi-insight-'));
  try {
    const entry = join(REPO, 'pkg', 'console', 'index.js');
    writeFileSync(join(dir, 'shapes.ts'), `
      import type { Scorecard, ScorecardConfig, ActivityMinute, Recommendations } from '${entry}';
      import { Room, Timeline, Debrief } from '${entry}';
      export const cards: Scorecard[] = ${JSON.stringify(data.cards)};
      export const config: ScorecardConfig = ${JSON.stringify(data.config)};
      export const minutes: ActivityMinute[] = ${JSON.stringify(data.minutes)};
      export const rec: Recommendations = ${JSON.stringify(data.rec)};
      export function use(room: Room, t: Timeline, prev: Room): Recommendations {
        const c: Scorecard[] = room.scorecards(0, { first_frame_ms: 900, stall_rate: null, latency_ms: 2000 }, config);
        const d = new Debrief(room, 0, { moments: 3 });
        d.setTimeline(t);
        d.setPrevious(prev, 0);
        d.setPlan({ targets: [{ kpi: 'result.gmv_fen', target: c.length }] });
        // @ts-expect-error a plan target needs its value
        d.setPlan({ targets: [{ kpi: 'result.gmv_fen' }] });
        return d.result();
      }
    `);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: 'esnext', moduleResolution: 'bundler', target: 'es2022', lib: ['es2022', 'dom'] },
      files: ['shapes.ts'],
    }));
    try {
      execFileSync(join(REPO, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      throw new Error(`tsc failed:\n${e.stdout}\n${e.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
