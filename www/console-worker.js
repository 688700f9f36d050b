// The operator console's engine: livekpi/console in a Web Worker. It follows the simulated room
// over Server-Sent Events, ingests each batch, and posts a snapshot once a second, so the page's
// main thread only draws.
import { Room } from '/pkg/console/index.js';

let room = null;
let simNowMs = 0;
let ingested = 0;
let rejected = 0;
let dirty = true;

const source = new EventSource('/api/room/stream');
source.addEventListener('meta', (e) => {
  const meta = JSON.parse(e.data);
  room = new Room({ streamStartMs: meta.streamStartMs, streamEndMs: meta.streamEndMs });
  simNowMs = meta.simNowMs;
  postMessage({ type: 'meta', meta });
});
source.addEventListener('batch', (e) => {
  if (!room) return;
  const { simNowMs: now, ndjson } = JSON.parse(e.data);
  simNowMs = now;
  if (ndjson) {
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
  postMessage({ type: 'snapshot', snapshot, simNowMs, ingested, rejected, snapshotMs, qoe });
}, 1000);
