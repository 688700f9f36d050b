// The operator console's engine: livekpi/console in a Web Worker. It follows the simulated room
// over Server-Sent Events, ingests each batch, polls the collector's merged viewer summaries, and
// posts once a second only what changed on the page: the HTML of the panels whose content moved and
// the chart series that moved (www/console-view.js formats them here), so the page's main thread
// only assigns and draws.
import { Room, Timeline, Debrief, generateEventsNdjson, sentimentSeries, topTerms } from '/pkg/console/index.js';
import { view } from '/console-view.js';

/**
 * QoE targets of the region table's state column (per region, over its merged viewer summaries):
 * 秒开率 (startup ≤ 1 s / measured startups) at least `fastStartMin`, 卡顿率 (stall ms / playing ms)
 * at most `stallRateMax`, median glass-to-glass latency at most `latencyP50MaxMs`.
 */
const QOE_TARGETS = Object.freeze({ fastStartMin: 0.8, stallRateMax: 0.02, latencyP50MaxMs: 6000 });

let room = null;
let simNowMs = 0;
let ingested = 0;
let rejected = 0;
let meta = null;
let history = []; // past streams' per-minute GMV: the same room's earlier (simulated) streams
let timeline = null; // this stream's activity minute by minute (for the after-stream debrief)
let previous = null; // { room, timeline }: the previous stream (seed + 1), for the review
let recommendations = null; // the after-stream debrief, made once when the stream ends
const comments = []; // { minute, text } for the sentiment series (the newest 50,000)

const source = new EventSource('/api/room/stream');
source.addEventListener('meta', (e) => {
  meta = JSON.parse(e.data);
  room = new Room({ streamStartMs: meta.streamStartMs, streamEndMs: meta.streamEndMs });
  simNowMs = meta.simNowMs;
  // Three earlier streams of the room (other seeds, same length, audience and goods) give the
  // forecast its completion curves; the first (seed + 1) is the previous stream of the review.
  timeline = new Timeline({ streamStartMs: meta.streamStartMs, streamEndMs: meta.streamEndMs });
  recommendations = null;
  history = [1, 2, 3].map((k) => {
    const past = new Room({ streamStartMs: meta.streamStartMs, streamEndMs: meta.streamEndMs });
    const text = generateEventsNdjson({
      seed: meta.seed + k, streamStartMs: meta.streamStartMs, durationMin: meta.durationMin, arrivals: meta.arrivals, products: meta.products,
    });
    past.ingestNdjson(text);
    if (k === 1) {
      const pastTimeline = new Timeline({ streamStartMs: meta.streamStartMs, streamEndMs: meta.streamEndMs });
      pastTimeline.ingestNdjson(text);
      previous = { room: past, timeline: pastTimeline };
    }
    return past.snapshot(meta.streamEndMs).scene.minutes.map((m) => m.gmv_fen);
  });
});
source.addEventListener('batch', (e) => {
  if (!room) return;
  const { simNowMs: now, ndjson } = JSON.parse(e.data);
  simNowMs = now;
  if (!ndjson) return;
  for (const line of ndjson.split('\n')) {
    if (!line.includes('"kind":"comment"')) continue;
    const ev = JSON.parse(line);
    if (typeof ev.text === 'string' && ev.ts >= meta.streamStartMs) comments.push({ minute: Math.floor((ev.ts - meta.streamStartMs) / 60_000), text: ev.text });
  }
  if (comments.length > 50_000) comments.splice(0, comments.length - 50_000);
  const report = room.ingestNdjson(ndjson);
  timeline.ingestNdjson(ndjson);
  ingested += report.accepted + report.duplicates;
  rejected += report.rejected;
});
source.onerror = () => postMessage({ type: 'status', status: 'reconnecting' });

// The technical layer: viewer summaries merged by the demo's collector (room "demo"): the room
// and its regions (RoomView), and the per-minute export rows for the QoE charts.
let qoe = null;
let qoeRows = [];
async function pollQoe() {
  try {
    const [view, rows] = await Promise.all([
      fetch('/api/collector/rooms?room=demo', { cache: 'no-store' }),
      fetch('/api/collector/export?format=json&room=demo', { cache: 'no-store' }),
    ]);
    qoe = view.ok ? await view.json() : null;
    qoeRows = rows.ok ? await rows.json() : [];
  } catch {
    /* the collector is optional: the technical layer then shows dashes */
  }
}

/** One row of the region QoE table from a region's merged aggregate (AggregateView). */
function regionRow(region, a) {
  const q = a.quantiles;
  const r = a.rates;
  const row = {
    region,
    viewers: a.distinct_viewers,
    startupP50Ms: q.startup_ms.p50,
    startupP90Ms: q.startup_ms.p90,
    fastStartRate: r.fast_start_rate,
    stallRate: r.stall_rate,
    stallRatio: r.rebuffer_ratio,
    latencyP50Ms: q.latency_ms.p50,
    breaches: [],
    state: 'none',
  };
  const measured = [r.fast_start_rate.value, r.stall_rate.value, q.latency_ms.p50].some((x) => x !== null);
  if (r.fast_start_rate.value !== null && r.fast_start_rate.value < QOE_TARGETS.fastStartMin) row.breaches.push('fast_start');
  if (r.stall_rate.value !== null && r.stall_rate.value > QOE_TARGETS.stallRateMax) row.breaches.push('stall');
  if (q.latency_ms.p50 !== null && q.latency_ms.p50 > QOE_TARGETS.latencyP50MaxMs) row.breaches.push('latency');
  row.state = row.breaches.length ? 'alert' : measured ? 'ok' : 'none';
  return row;
}

/** Per wall-clock minute of the viewers: 卡顿率 (Σ stall / Σ playing) and mean latency, all regions. */
function qoeMinutes(rows) {
  const by = new Map();
  for (const r of rows) {
    const m = by.get(r.minute_start_ms) ?? { stall: 0, playing: 0, latSum: 0, latN: 0 };
    m.stall += r.stall_ms;
    m.playing += r.playing_ms;
    m.latSum += r.latency_sum_ms;
    m.latN += r.latency_samples;
    by.set(r.minute_start_ms, m);
  }
  const xs = [...by.keys()].sort((a, b) => a - b);
  return {
    t: xs.map((x) => x / 1000),
    stallPct: xs.map((x) => (by.get(x).playing > 0 ? (100 * by.get(x).stall) / by.get(x).playing : null)),
    latencyS: xs.map((x) => (by.get(x).latN > 0 ? by.get(x).latSum / by.get(x).latN / 1000 : null)),
  };
}

const sentPanels = new Map(); // panel id → HTML last posted
const sentCharts = new Map(); // chart id → JSON of the series last posted
let last = null; // what the last posted refresh was computed from (for tests: `dump` message)

async function tick() {
  await pollQoe();
  if (!room) return;
  const t0 = performance.now();
  const snapshot = room.snapshot(simNowMs);
  const snapshotMs = performance.now() - t0;
  const alerts = room.alerts().slice(-8).reverse();
  const forecast = meta && simNowMs > meta.streamStartMs + 5 * 60_000 ? room.forecast(simNowMs, history) : null;
  const sentiment = sentimentSeries(comments);
  const minute = snapshot.minutes;
  const terms = topTerms(comments, Math.max(0, minute - 10), minute + 1, 5);
  const regionQoe = qoe ? qoe.regions.map((g) => regionRow(g.region, g.aggregate)) : [];
  const ended = meta !== null && simNowMs >= meta.streamEndMs;
  // Role scorecards (host / operations / field control) over the three layers, the technical
  // one from the collector's merged summaries of this room (null before any viewer reported).
  const scorecards = room.scorecards(simNowMs, qoe);
  if (ended && !recommendations) {
    // After the stream: products and running order, top moments with what happened around them,
    // buyers vs viewers, and the review against the previous stream.
    const d = new Debrief(room, meta.streamEndMs);
    d.setTimeline(timeline);
    d.setPrevious(previous.room, meta.streamEndMs);
    d.setPreviousTimeline(previous.timeline);
    recommendations = d.result();
    d.free();
  }
  const { panels, charts } = view({
    snapshot, simNowMs, ended, ingested, rejected, snapshotMs, qoe, regionQoe, scorecards, recommendations,
    qoeMinutes: qoeMinutes(qoeRows), alerts, forecast, sentiment, terms, targets: QOE_TARGETS,
  });
  const changedPanels = {};
  for (const [id, html] of Object.entries(panels)) {
    if (sentPanels.get(id) === html) continue;
    sentPanels.set(id, html);
    changedPanels[id] = html;
  }
  const changedCharts = {};
  for (const [id, data] of Object.entries(charts)) {
    const key = JSON.stringify(data);
    if (sentCharts.get(id) === key) continue;
    sentCharts.set(id, key);
    changedCharts[id] = data;
  }
  last = { snapshot, simNowMs, qoe, scorecards, recommendations };
  postMessage({
    type: 'refresh', panels: changedPanels, charts: changedCharts,
    // A few plain facts about this refresh, for tests and scripts (window.__console).
    probe: {
      simNowMs, ended, minute, points: snapshot.scene.minutes.length, regionQoe,
      viewerSessions: qoe ? Math.round(qoe.total.distinct_viewers) : 0,
      finishedViews: qoe ? qoe.total.counters.finished_views : 0,
      recommendations: recommendations !== null,
    },
  });
}

// `dump`: the full inputs of the last refresh (the snapshot is large: it is sent only on request).
self.onmessage = (e) => {
  if (e.data?.type === 'dump') postMessage({ type: 'dump', id: e.data.id, ...last });
};

let busy = false;
setInterval(async () => {
  if (busy) return; // one tick at a time: a slow collector answer skips a second, never piles up
  busy = true;
  try {
    await tick();
  } finally {
    busy = false;
  }
}, 1000);
