// livekpi/player upstream delivery: the view's summaries to the collector, so that nothing
// acknowledged is lost and nothing is counted twice, across retries, offline spells, page close
// and reloads. The wasm Uplink encodes; this file only decides when and how to send.
//
// - Every summary is cumulative since the last acknowledged one, so only the newest
//   unacknowledged summary is ever kept (the retry "queue" is bounded by construction) and the
//   collector de-duplicates by (session, seq).
// - Periodic flush (default 30 s) with fetch; on failure a jittered exponential backoff (the
//   periodic flush waits for it), cut short by the `online` event.
// - On `visibilitychange` → hidden and on a non-persisted `pagehide`: navigator.sendBeacon
//   (final on pagehide), or fetch with keepalive when the beacon is refused.
// - The newest unacknowledged summary is persisted in localStorage when storage allows, and sent
//   by the next page load of the same origin (the collector counts it once).
import { Uplink } from '../dist/player/livekpi_player.js';

const STORE_PREFIX = 'livekpi:pending:';
const KEEPALIVE_MAX = 60 * 1024; // the keepalive budget is 64 KiB for the whole page

function toBase64(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}
function fromBase64(text) {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
function storage() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null; // storage access can throw (sandboxed frames, privacy modes)
  }
}

/** Sends summaries persisted by earlier page loads (from any session), once. */
async function resendPersisted(current) {
  const store = storage();
  if (!store) return;
  const keys = [];
  try {
    for (let i = 0; i < store.length; i++) {
      const k = store.key(i);
      if (k && k.startsWith(STORE_PREFIX) && k !== current) keys.push(k);
    }
  } catch {
    return;
  }
  for (const k of keys) {
    try {
      const { url, bytes } = JSON.parse(store.getItem(k));
      const res = await fetch(url, { method: 'POST', body: fromBase64(bytes), keepalive: true });
      // Counted (2xx) or refused for good (4xx): either way it must not be sent again.
      if (res.ok || (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429)) {
        store.removeItem(k);
      }
    } catch {
      /* offline: the next load tries again */
    }
  }
}

/**
 * Starts summary delivery for one view. `monitor` is the wasm QoeMonitor, `now` the epoch-ms
 * clock, `guard` wraps callbacks so nothing throws into the page. Returns { sessionId, stop(),
 * flush(), status() } or null when sampled out or misconfigured.
 */
export function startUplink(monitor, options, now, guard) {
  const { collectorUrl, roomId } = options;
  if (!collectorUrl || !roomId) return null;
  if (!(Math.random() < (options.sampleRate ?? 1))) return null; // sampled out: measure, don't send
  const up = new Uplink(String(roomId), now());
  const url = `${collectorUrl}${collectorUrl.includes('?') ? '&' : '?'}room=${encodeURIComponent(roomId)}`;
  const key = `${STORE_PREFIX}${up.sessionId}`;
  const intervalMs = Math.max(1000, options.flushIntervalMs ?? 30_000);
  let pending = null; // { seq, bytes }: the newest unacknowledged summary
  let inflight = false;
  let backoffMs = 0;
  let retryTimer = 0;
  let finished = false;
  let sent = 0;
  let acked = 0;
  let failures = 0;

  const persist = () => {
    const store = storage();
    if (!store) return;
    try {
      if (pending) store.setItem(key, JSON.stringify({ url, bytes: toBase64(pending.bytes) }));
      else store.removeItem(key);
    } catch {
      /* quota or privacy mode: delivery still works while the page lives */
    }
  };
  const write = (isFinal, t = now()) => {
    const bytes = up.summary(monitor, t, isFinal);
    pending = { seq: up.lastSeq, bytes };
    persist();
    return pending;
  };
  let retryAt = 0; // while backing off, the periodic flush waits for the retry timer
  const retryLater = () => {
    failures++;
    backoffMs = Math.min(60_000, backoffMs ? backoffMs * 2 : 2_000);
    clearTimeout(retryTimer);
    const wait = backoffMs * (0.5 + Math.random());
    retryAt = Date.now() + wait;
    retryTimer = setTimeout(() => { retryAt = 0; flush(); }, wait);
  };
  const send = guard(async (p) => {
    inflight = true;
    sent++;
    try {
      const res = await fetch(url, {
        method: 'POST',
        body: p.bytes,
        keepalive: p.bytes.length < KEEPALIVE_MAX,
        headers: { 'content-type': 'application/octet-stream' },
      });
      if (res.ok) {
        acked++;
        up.ack(p.seq);
        backoffMs = retryAt = 0;
        if (pending && pending.seq === p.seq) {
          pending = null;
          persist();
        }
      } else if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
        // Refused for good (the reason is in the body): never resend this one.
        if (pending && pending.seq === p.seq) {
          pending = null;
          persist();
        }
      } else {
        retryLater();
      }
    } catch {
      retryLater();
    } finally {
      inflight = false;
    }
  });
  const flush = guard(() => {
    if (finished || inflight) return;
    send(write(false));
  });
  const beacon = guard((isFinal, t = now()) => {
    if (finished) return;
    const p = write(isFinal, t);
    if (isFinal) finished = true;
    sent++;
    const queued = navigator.sendBeacon?.(url, new Blob([p.bytes], { type: 'application/octet-stream' }));
    if (!queued) fetch(url, { method: 'POST', body: p.bytes, keepalive: true }).catch(() => {});
  });
  const onVisibility = guard(() => {
    if (document.visibilityState === 'hidden') beacon(false);
  });
  const onPageHide = guard((e) => beacon(!e.persisted));
  // Back online: send now (not after the remaining backoff), and what earlier loads left.
  const onOnline = guard(() => {
    clearTimeout(retryTimer);
    retryAt = 0;
    flush();
    resendPersisted(key);
  });
  const tick = () => { if (Date.now() >= retryAt) flush(); };

  const timer = setInterval(tick, intervalMs);
  document.addEventListener('visibilitychange', onVisibility);
  addEventListener('pagehide', onPageHide);
  addEventListener('online', onOnline);
  resendPersisted(key);

  return {
    sessionId: up.sessionId,
    flush,
    /** Ends the view: sends its final summary (beacon) and stops the timers and listeners. */
    /** `t`: the view's end (epoch ms), so the final summary and the handle's frozen reads agree. */
    stop: guard((sendFinal = true, t = now()) => {
      if (sendFinal) beacon(true, t);
      finished = true;
      clearInterval(timer);
      clearTimeout(retryTimer);
      document.removeEventListener('visibilitychange', onVisibility);
      removeEventListener('pagehide', onPageHide);
      removeEventListener('online', onOnline);
    }),
    status: () => ({ sent, acked, failures, pendingSeq: pending?.seq ?? null, backoffMs }),
    uplink: up,
  };
}
