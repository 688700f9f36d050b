// The operator console's engine: livekpi/console in a Web Worker. It follows the simulated room
// over Server-Sent Events, ingests each batch, polls the collector's merged viewer summaries, and
// posts once a second only what changed on the page: the HTML of the panels whose content moved and
// the chart series that moved (www/console-view.js formats them here), so the page's main thread
// only assigns and draws.
import { Room, Timeline, Debrief, defaultScorecardConfig, generateEventsNdjson, sentimentSeries, topTerms } from '/pkg/console/index.js';
import { view } from '/console-view.js';

/**
 * QoE targets of the region table's secondary "vs target" mark (per region, over its merged viewer
 * summaries since the start; the state column itself comes from the crate's regional alert rules):
 * 秒开率 (startup ≤ 1 s / measured startups) at least `fastStartMin`, 卡顿率 (stall ms / playing ms)
 * at most `stallRateMax`, median glass-to-glass latency at most `latencyP50MaxMs`.
 */
const QOE_TARGETS = Object.freeze({ fastStartMin: 0.8, stallRateMax: 0.02, latencyP50MaxMs: 6000 });

/**
 * The regional QoE rules' cool-down (minutes; `stall_spike` / `latency_spike`, src/insight/rules.rs):
 * a region is shown in alert from its alert's minute through this many minutes after it (an alert
 * does not carry the detector's release, so the cool-down bounds the state).
 */
const QOE_ALERT_MINUTES = 15;
/**
 * A viewers' minute is complete (pushed to `room.pushQoe`) once the clock is this far past its
 * end: the viewer pages flush a summary every 10 s (www/viewer.html), so two flushes.
 */
const QOE_SETTLE_MS = 20_000;

let room = null;
let simNowMs = 0;
let ingested = 0;
let rejected = 0;
let meta = null;
let history = []; // past streams' per-minute GMV: the same room's earlier (simulated) streams
let timeline = null; // this stream's activity minute by minute (for the after-stream debrief)
let previous = null; // { room, timeline }: the previous stream (seed + 1), for the review
let recommendations = null; // the after-stream debrief, made once when the stream ends
let scorecardConfig = null; // this stream's plan: targets from the previous stream (see planTargets)
const comments = []; // { minute, text } for the sentiment series (the newest 50,000)

const source = new EventSource('/api/room/stream');
source.addEventListener('meta', (e) => {
  meta = JSON.parse(e.data);
  room = new Room({ streamStartMs: meta.streamStartMs, streamEndMs: meta.streamEndMs });
  // Each alert, room rules (raised by snapshot()) and regional QoE rules (raised by pushQoe()),
  // as it is raised, with its evidence: the alert feed, and the page's `livekpi:alert` event.
  room.onAlert(onAlert);
  qoePushed.clear();
  alertFeed.length = 0;
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
  scorecardConfig = planTargets(previous.room, meta.streamEndMs);
});

/**
 * Plan–do–measure–learn: this stream's scorecard targets are the previous stream's final values,
 * 10 % better (× 1.1 where higher is better, × 0.9 where lower is); a KPI the previous stream has
 * no value for (the technical layer when no viewer of it reported) keeps the documented default.
 */
function planTargets(prevRoom, endMs) {
  const prev = new Map(prevRoom.scorecards(endMs, null).flatMap((c) => c.items.map((i) => [i.kpi, i])));
  const config = defaultScorecardConfig();
  for (const role of config.roles) {
    for (const item of role.items) {
      const p = prev.get(item.kpi);
      if (p?.value > 0) item.target = p.better === 'higher' ? p.value * 1.1 : p.value * 0.9;
    }
  }
  return config;
}
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

/** The alerts raised so far, oldest first (from `room.onAlert`; the feed shows the newest 8). */
const alertFeed = [];
const posted = new Set(); // alerts already sent to the page (a reconnect replays the stream)
function onAlert(alert) {
  alertFeed.push(alert);
  const key = `${alert.rule}|${alert.region ?? ''}|${alert.minute}`;
  if (posted.has(key)) return;
  posted.add(key);
  // The page dispatches it as a DOM CustomEvent `livekpi:alert` (www/console.js).
  postMessage({ type: 'alert', alert });
}

// The technical layer: viewer summaries merged by the demo's collector (room "demo"): the room
// and its regions (RoomView), and the per-minute export rows for the QoE charts and rules.
let qoe = null;
let qoeRows = [];
const qoePushed = new Map(); // region → last minute index given to room.pushQoe
let qoeError = null;
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

/**
 * One row of the region QoE table from a region's merged aggregate (AggregateView): the numbers,
 * the state from the regional alerts in force (`alerts`), and the targets breached (`breaches`).
 */
function regionRow(region, a, nowMs) {
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
    alerts: activeRegionAlerts(region, nowMs),
    state: 'none',
  };
  const measured = [r.fast_start_rate.value, r.stall_rate.value, q.latency_ms.p50].some((x) => x !== null);
  if (r.fast_start_rate.value !== null && r.fast_start_rate.value < QOE_TARGETS.fastStartMin) row.breaches.push('fast_start');
  if (r.stall_rate.value !== null && r.stall_rate.value > QOE_TARGETS.stallRateMax) row.breaches.push('stall');
  if (q.latency_ms.p50 !== null && q.latency_ms.p50 > QOE_TARGETS.latencyP50MaxMs) row.breaches.push('latency');
  row.state = row.alerts.length ? 'alert' : measured ? 'ok' : 'none';
  return row;
}

/**
 * Feeds `room.pushQoe` each region's completed minutes once, in order: 卡顿率 (Σ stall ms /
 * Σ playing ms) and mean latency (Σ latency / Σ samples) of the region's export rows of the minute,
 * null when unmeasured (also for a minute without rows after the region's first). The minute index
 * is the viewers' wall-clock minute (ms since the epoch / 60,000), the clock of the export rows
 * and of the QoE charts (the simulated room runs on its own, faster clock).
 */
function pushQoeMinutes(rows, nowMs) {
  const lastComplete = Math.floor((nowMs - QOE_SETTLE_MS) / 60_000) - 1;
  const by = new Map(); // region → minute index → sums
  for (const r of rows) {
    const m = r.minute_start_ms / 60_000;
    if (m > lastComplete || m <= (qoePushed.get(r.region) ?? -Infinity)) continue;
    const region = by.get(r.region) ?? new Map();
    by.set(r.region, region);
    const x = region.get(m) ?? { stall: 0, playing: 0, latSum: 0, latN: 0 };
    x.stall += r.stall_ms;
    x.playing += r.playing_ms;
    x.latSum += r.latency_sum_ms;
    x.latN += r.latency_samples;
    region.set(m, x);
  }
  const batch = [];
  for (const [region, minutes] of [...by].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const from = qoePushed.has(region) ? qoePushed.get(region) + 1 : Math.min(...minutes.keys());
    for (let m = from; m <= lastComplete; m++) {
      const x = minutes.get(m);
      batch.push({
        region, minute: m,
        stallRate: x && x.playing > 0 ? x.stall / x.playing : null,
        latencyMs: x && x.latN > 0 ? x.latSum / x.latN : null,
      });
    }
    qoePushed.set(region, lastComplete);
  }
  // Regions with nothing new still get their empty minutes (a region whose viewers left).
  for (const [region, last] of qoePushed) {
    if (by.has(region)) continue;
    for (let m = last + 1; m <= lastComplete; m++) batch.push({ region, minute: m, stallRate: null, latencyMs: null });
    qoePushed.set(region, Math.max(last, lastComplete));
  }
  if (!batch.length) return;
  try {
    room.pushQoe(batch); // the alerts raised go to onAlert
    qoeError = null;
  } catch (e) {
    qoeError = e.message; // a malformed entry: nothing of the batch was applied
  }
}

/**
 * The regional alerts in force at `nowMs` for `region`: those of the rules whose minute is within
 * the cool-down (QOE_ALERT_MINUTES) of the current viewers' minute, newest per rule.
 */
function activeRegionAlerts(region, nowMs) {
  const now = Math.floor(nowMs / 60_000);
  const byRule = new Map();
  for (const a of alertFeed) {
    if (a.region !== region || a.action !== 'switch_cdn_route') continue;
    if (now >= a.minute && now <= a.minute + QOE_ALERT_MINUTES) byRule.set(a.rule, a);
  }
  return [...byRule.values()].map((a) => ({
    rule: a.rule, minute: a.minute, sinceMs: a.minute * 60_000, untilMs: (a.minute + QOE_ALERT_MINUTES + 1) * 60_000,
    value: a.value, baseline: a.baseline_mean, shiftRel: a.shift_rel, shiftSigmas: a.shift_sigmas,
  }));
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
  const nowMs = Date.now(); // the viewers' clock (the export rows' minutes)
  pushQoeMinutes(qoeRows, nowMs);
  const t0 = performance.now();
  const snapshot = room.snapshot(simNowMs);
  const snapshotMs = performance.now() - t0;
  const alerts = alertFeed.slice(-8).reverse();
  const forecast = meta && simNowMs > meta.streamStartMs + 5 * 60_000 ? room.forecast(simNowMs, history) : null;
  const sentiment = sentimentSeries(comments);
  const minute = snapshot.minutes;
  const terms = topTerms(comments, Math.max(0, minute - 10), minute + 1, 5);
  const regionQoe = qoe ? qoe.regions.map((g) => regionRow(g.region, g.aggregate, nowMs)) : [];
  const ended = meta !== null && simNowMs >= meta.streamEndMs;
  // Role scorecards (host / operations / field control) over the three layers, the technical
  // one from the collector's merged summaries of this room (null before any viewer reported).
  const scorecards = room.scorecards(simNowMs, qoe, scorecardConfig);
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
    alertMinutes: QOE_ALERT_MINUTES,
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
      qoePushed: Object.fromEntries(qoePushed), qoeError,
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
