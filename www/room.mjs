// The demo's simulated live room: a seeded event log from livekpi/console's generator, replayed
// in delivery order against a simulated stream clock (optionally accelerated) and pushed to
// operator consoles over Server-Sent Events. Every console sees the same room: a late joiner
// first gets everything delivered so far, then the live batches.
//   GET /api/room/meta    → { seed, speed, durationMin, arrivals, products, streamStartMs, streamEndMs,
//                             simNowMs, delivered, total }
//   GET /api/room/stream  → text/event-stream: `meta`, then `batch` events { simNowMs, ndjson }
import { generateEventsNdjson } from '../pkg/console/node.js';

const TICK_MS = 250;

/** A simulated room; `handle(req, res, url)` serves its routes and returns true when it did. */
export function createRoomSimulator({
  seed = 20261125,
  speed = 10,
  durationMin = 120,
  arrivals = 4000,
  products = 12,
  streamStartMs = Date.UTC(2026, 10, 25, 12, 0, 0),
} = {}) {
  let lines = null; // generated on first use (about a second for a 2-hour room)
  let ts = null;
  const streamEndMs = streamStartMs + durationMin * 60_000;
  let startedWall = 0;
  let delivered = 0;
  const clients = new Set();
  let timer = null;

  function ensure() {
    if (lines) return;
    const text = generateEventsNdjson({ seed, streamStartMs, durationMin, arrivals, products });
    lines = text.split('\n').filter((l) => l.length > 0);
    // Delivery order with late events mixed in: an event is delivered once the simulated clock
    // passes the latest time seen so far (a late event rides with the batch that reaches it).
    ts = new Float64Array(lines.length);
    let maxTs = -Infinity;
    lines.forEach((l, i) => {
      const m = /"ts":(-?\d+)/.exec(l);
      maxTs = Math.max(maxTs, m ? Number(m[1]) : maxTs);
      ts[i] = maxTs;
    });
    startedWall = Date.now();
    timer = setInterval(tick, TICK_MS);
    timer.unref?.();
  }

  const simNow = () => Math.min(streamEndMs, streamStartMs + (Date.now() - startedWall) * speed);

  function advance() {
    const now = simNow();
    const from = delivered;
    while (delivered < lines.length && ts[delivered] <= now) delivered++;
    return { now, batch: lines.slice(from, delivered).join('\n') };
  }

  function send(res, event, data) {
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  function tick() {
    const { now, batch } = advance();
    for (const res of clients) send(res, 'batch', { simNowMs: now, ndjson: batch });
  }

  const meta = () => ({
    seed, speed, durationMin, arrivals, products, streamStartMs, streamEndMs, simNowMs: simNow(), delivered, total: lines.length,
  });

  return {
    handle(req, res, url) {
      if (url.pathname === '/api/room/meta') {
        ensure();
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify(meta()));
        return true;
      }
      if (url.pathname === '/api/room/stream') {
        ensure();
        const { now } = advance();
        res.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-store',
          connection: 'keep-alive',
        });
        send(res, 'meta', meta());
        // Catch-up: everything delivered so far, in chunks of 20,000 lines.
        for (let i = 0; i < delivered; i += 20_000) {
          send(res, 'batch', { simNowMs: now, ndjson: lines.slice(i, Math.min(delivered, i + 20_000)).join('\n') });
        }
        clients.add(res);
        req.on('close', () => clients.delete(res));
        return true;
      }
      return false;
    },
    close() {
      clearInterval(timer);
      for (const res of clients) res.end();
      clients.clear();
    },
  };
}
