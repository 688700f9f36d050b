// The console's role scorecards and its after-stream recommendations: a short accelerated room runs
// to its end with one viewer's summaries in the collector; the page shows what an independent Node
// run of livekpi/console computes for the same events (Room.scorecards with the collector's
// RoomView; Debrief with this stream's Timeline and the previous stream, seed + 1).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../www/server.mjs';
import { launchChromium } from './support/chromium.mjs';
import { Room, Timeline, Debrief, defaultScorecardConfig, generateEventsNdjson } from '../../pkg/console/node.js';

const OUT = fileURLToPath(new URL('../e2e/out/', import.meta.url));

/** A screenshot of the whole page: the viewport grows to the page first, so the sections that the
 * console renders only near the viewport (content-visibility: auto) are drawn. */
async function shootWhole(page, path) {
  const { width } = page.viewportSize();
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.setViewportSize({ width, height });
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  await page.screenshot({ path, fullPage: true });
}
const ROOM = { seed: 4242, speed: 120, durationMin: 30, arrivals: 2000, products: 8 };

let server;
let browser;
before(async () => {
  server = await startServer({ port: 0, room: ROOM });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test('scorecards and after-stream recommendations: the page shows the engine\'s numbers for the delivered room', { timeout: 120_000 }, async () => {
  mkdirSync(OUT, { recursive: true });
  const errors = [];
  // One viewer reports and ends its view, so the technical items have values.
  const viewer = await browser.newPage();
  viewer.on('pageerror', (e) => errors.push(e.message));
  await viewer.goto(`${server.url}/viewer.html?region=上海`);
  await viewer.waitForFunction(() => window.qoe?.metrics()?.startupMs > 0 && window.qoe.metrics().latencySamples > 0, null, { timeout: 30_000 });
  await viewer.evaluate(() => window.qoe.flush());
  await viewer.waitForFunction(() => window.qoe.upstream()?.acked >= 1, null, { timeout: 15_000 });
  await viewer.evaluate(() => window.qoe.detach());
  for (let i = 0; ; i++) {
    const r = await fetch(`${server.url}/api/collector/rooms?room=demo`);
    if (r.ok && (await r.json()).total.counters.finished_views === 1) break;
    assert.ok(i < 100, 'the final summary reached the collector');
    await new Promise((res) => setTimeout(res, 100));
  }
  await viewer.close();
  const roomView = await (await fetch(`${server.url}/api/collector/rooms?room=demo`)).json();

  const page = await browser.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  await page.setViewportSize({ width: 1400, height: 1100 });
  await page.goto(`${server.url}/console.html`);
  // Live: the scorecards refresh with the stream.
  await page.waitForFunction(() => document.querySelectorAll('#scorecards .card').length === 3, null, { timeout: 30_000 });
  const pending = await page.evaluate(() => document.getElementById('recommendations').textContent);
  assert.match(pending, /after the stream ends/);
  // 30 simulated minutes at 120× end after 15 s; the debrief is made once, at the end.
  await page.waitForFunction(() => window.__console?.recommendations === true, null, { timeout: 60_000 });
  const got = await page.evaluate(async () => {
    const dump = await window.__consoleDump();
    const text = (sel) => [...document.querySelectorAll(sel)].map((el) => el.textContent);
    return {
      ...dump,
      cards: [...document.querySelectorAll('#scorecards .card')].map((c) => ({
        role: c.dataset.role,
        score: c.querySelector('.big').textContent,
        rows: [...c.querySelectorAll('tr[data-kpi]')].map((tr) => [...tr.cells].map((td) => td.textContent)),
      })),
      order: text('#recommendations tr[data-product] td:nth-child(2)'),
      moments: text('#recommendations tr[data-minute] td:first-child'),
      header: document.getElementById('clock').innerText,
    };
  });
  await shootWhole(page, `${OUT}console-ended.png`);
  await page.close();

  // Independent computation: the seeded log delivered by the same rule, up to the page's clock.
  const meta = await (await fetch(`${server.url}/api/room/meta`)).json();
  assert.equal(got.simNowMs, meta.streamEndMs, 'the page is at the stream end');
  const lines = generateEventsNdjson({ seed: ROOM.seed, streamStartMs: meta.streamStartMs, durationMin: ROOM.durationMin, arrivals: ROOM.arrivals, products: ROOM.products })
    .split('\n').filter(Boolean);
  let maxTs = -Infinity;
  const delivered = [];
  for (const l of lines) {
    maxTs = Math.max(maxTs, JSON.parse(l).ts);
    if (maxTs > got.simNowMs) break;
    delivered.push(l);
  }
  const text = delivered.join('\n');
  const opts = { streamStartMs: meta.streamStartMs, streamEndMs: meta.streamEndMs };
  const room = new Room(opts);
  room.ingestNdjson(text);
  const timeline = new Timeline(opts);
  timeline.ingestNdjson(text);
  const prevText = generateEventsNdjson({ seed: ROOM.seed + 1, streamStartMs: meta.streamStartMs, durationMin: ROOM.durationMin, arrivals: ROOM.arrivals, products: ROOM.products });
  const prev = new Room(opts);
  prev.ingestNdjson(prevText);
  const prevTimeline = new Timeline(opts);
  prevTimeline.ingestNdjson(prevText);

  assert.deepEqual(got.snapshot, room.snapshot(got.simNowMs));
  // The page's plan: the previous stream's final values 10 % better (the technical KPIs, which the
  // previous stream has no viewers for, keep the documented defaults).
  const prevSnap = prev.snapshot(meta.streamEndMs);
  const planned = { gmv_fen: prevSnap.result.gmv_fen * 1.1, orders: prevSnap.result.orders * 1.1, gpm: prevSnap.result.gpm.value * 1.1 };
  const config = defaultScorecardConfig();
  const prevItems = new Map(prev.scorecards(meta.streamEndMs, null).flatMap((c) => c.items.map((i) => [i.kpi, i])));
  for (const r of config.roles) {
    for (const it of r.items) {
      const v = prevItems.get(it.kpi)?.value;
      if (v > 0) it.target = ['first_frame_ms', 'stall_rate', 'latency_ms'].includes(it.kpi) ? v * 0.9 : v * 1.1;
    }
  }
  const cards = room.scorecards(got.simNowMs, roomView, config);
  for (const [kpi, target] of Object.entries(planned)) {
    const item = cards[0].items.find((i) => i.kpi === kpi) ?? cards[1].items.find((i) => i.kpi === kpi);
    assert.ok(Math.abs(item.target - target) <= 1e-6 * target, `${kpi} target ${item.target} = previous stream × 1.1 (${target})`);
  }
  assert.ok(cards.flatMap((c) => c.items).filter((i) => i.layer === 'technical').every((i) => i.target === defaultScorecardConfig().roles
    .flatMap((r) => r.items).find((d) => d.kpi === i.kpi).target), 'technical targets stay the defaults');
  assert.deepEqual(got.qoe, roomView);
  assert.deepEqual(got.scorecards, cards);
  assert.deepEqual(cards.map((c) => c.role), ['host', 'operations', 'field_control']);
  assert.ok(cards.every((c) => c.missing.length === 0), 'every KPI has a value (technical from the viewer)');
  const d = new Debrief(room, meta.streamEndMs);
  d.setTimeline(timeline);
  d.setPrevious(prev, meta.streamEndMs);
  d.setPreviousTimeline(prevTimeline);
  const recs = d.result();
  assert.deepEqual(got.recommendations, recs);

  // What the page shows: each card's score and items, the running order, the moments.
  assert.deepEqual(got.cards.map((c) => c.role), cards.map((c) => c.role));
  for (const [k, c] of cards.entries()) {
    assert.equal(got.cards[k].score, c.score.toFixed(1), `${c.role} score`);
    assert.equal(got.cards[k].rows.length, c.items.length);
    for (const [j, i] of c.items.entries()) {
      const row = got.cards[k].rows[j];
      assert.equal(row[3], `${(i.attainment * 100).toFixed(0)}%`, `${c.role} ${i.kpi} attainment`);
      assert.equal(row[4], i.points.toFixed(1), `${c.role} ${i.kpi} points`);
    }
  }
  const gmvRow = got.cards[0].rows[cards[0].items.findIndex((i) => i.kpi === 'gmv_fen')];
  assert.equal(gmvRow[1], `¥${(got.snapshot.result.gmv_fen / 100).toLocaleString('zh-CN', { maximumFractionDigits: 0 })}`);
  assert.deepEqual(got.order, recs.products.suggested_order);
  assert.deepEqual(got.moments, recs.moments.map((m) => String(m.minute)));
  assert.ok(recs.moments.length > 0 && recs.review.has_previous);
  assert.match(got.header, /已下播 stream ended/);
  console.log(`scorecards: ${cards.map((c) => `${c.role} ${c.score.toFixed(1)}`).join(', ')}; order ${recs.products.suggested_order.join(' ')}; ` +
    `moments at ${recs.moments.map((m) => m.minute).join(', ')}; learnings ${recs.review.learnings.length}`);
  assert.deepEqual(errors, []);
});
