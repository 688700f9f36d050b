// The operator console's engine: livekpi/console in a Web Worker. It follows the simulated room
// over Server-Sent Events, ingests each batch, and posts a snapshot once a second, so the page's
// main thread only draws.
import { Room, generateEventsNdjson, sentimentSeries, topTerms } from '/pkg/console/index.js';

let room = null;
let simNowMs = 0;
let ingested = 0;
let rejected = 0;
let dirty = true;
let meta = null;
let history = []; // past streams' per-minute GMV: the same room's earlier (simulated) streams
const comments = []; // { minute, text } for the sentiment series (the newest 50,000)

const source = new EventSource('/api/room/stream');
source.addEventListener('meta', (e) => {
  meta = JSON.parse(e.data);
  room = new Room({ streamStartMs: meta.streamStartMs, streamEndMs: meta.streamEndMs });
  simNowMs = meta.simNowMs;
  postMessage({ type: 'meta', meta });
  // Three earlier streams of the room (other seeds) give the forecast its completion curves.
  const durationMin = Math.round((meta.streamEndMs - meta.streamStartMs) / 60_000);
  history = [1, 2, 3].map((k) => {
    const past = new Room({ streamStartMs: meta.streamStartMs, streamEndMs: meta.streamEndMs });
    past.ingestNdjson(generateEventsNdjson({ seed: meta.seed + k, streamStartMs: meta.streamStartMs, durationMin }));
    return past.snapshot(meta.streamEndMs).scene.minutes.map((m) => m.gmv_fen);
  });
});
source.addEventListener('batch', (e) => {
  if (!room) return;
  const { simNowMs: now, ndjson } = JSON.parse(e.data);
  simNowMs = now;
  if (ndjson) {
    for (const line of ndjson.split('\n')) {
      if (!line.includes('"kind":"comment"')) continue;
      const ev = JSON.parse(line);
      if (typeof ev.text === "string" && ev.ts >= meta.streamStartMs) comments.push({ minute: Math.floor((ev.ts - meta.streamStartMs) / 60_000), text: ev.text });
    }
    if (comments.length > 50_000) comments.splice(0, comments.length - 50_000);
    const report = room.ingestNdjson(ndjson);
    ingested += report.accepted + report.duplicates;
    rejected += report.rejected;
  }
  dirty = true;
});
source.onerror = () => postMessage({ type: 'status', status: 'reconnecting' });

// The technical layer: viewer summaries merged by the demo's collector (room "demo").
let qoe = null;
async function pollQoe() {
  try {
    const res = await fetch('/api/collector/rooms?room=demo', { cache: 'no-store' });
    qoe = res.ok ? await res.json() : null;
    dirty = true;
  } catch {
    /* the collector is optional: the technical layer then shows dashes */
  }
}
pollQoe();
setInterval(pollQoe, 5000);

setInterval(() => {
  if (!room || !dirty) return;
  dirty = false;
  const t0 = performance.now();
  const snapshot = room.snapshot(simNowMs);
  const snapshotMs = performance.now() - t0;
  const alerts = room.alerts().slice(-8).reverse();
  const forecast = meta && simNowMs > meta.streamStartMs + 5 * 60_000 ? room.forecast(simNowMs, history) : null;
  const sentiment = sentimentSeries(comments);
  const minute = snapshot.minutes;
  const terms = topTerms(comments, Math.max(0, minute - 10), minute + 1, 5);
  postMessage({ type: 'snapshot', snapshot, simNowMs, ingested, rejected, snapshotMs, qoe, alerts, forecast, sentiment, terms });
}, 1000);
