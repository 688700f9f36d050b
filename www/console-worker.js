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

setInterval(() => {
  if (!room || !dirty) return;
  dirty = false;
  const t0 = performance.now();
  const snapshot = room.snapshot(simNowMs);
  const snapshotMs = performance.now() - t0;
  postMessage({ type: 'snapshot', snapshot, simNowMs, ingested, rejected, snapshotMs });
}, 1000);
