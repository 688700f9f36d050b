// livekpi/player: the viewer-side QoE monitor.
//
// attach(video) listens to the media element, the page and (through adapters) the player
// library, and forwards every observation as numbers to the wasm QoeMonitor, which owns every
// definition. Nothing here may throw into, or slow down, the host page: every callback is
// guarded, observations made before the wasm module is ready are queued (bounded), and when the
// module cannot load the monitor stays inert and says so (`ready` resolves to false).
import init, {
  QoeMonitor, newSessionId, metricNames, observationKinds,
} from '../dist/player/livekpi_player.js';

let wasmOk = false;
/** Resolves to true once the wasm module is instantiated, false if it could not be (never rejects). */
export const ready = init().then(
  () => (wasmOk = true),
  () => false,
);

import { startUplink } from './uplink.js';
import { startCmcd } from './cmcd-v1.js';

export { newSessionId, version, buildFeatures } from '../dist/player/livekpi_player.js';

const QUEUE_CAP = 1024;
const SAMPLE_MS = 1000; // quality, live edge and program-date-time samples: at most 1 Hz
const now = () => performance.timeOrigin + performance.now();
let kinds = null; // name → code, from the wasm module (one list, owned by Rust)
let fields = null; // [name, tag] in metrics() order
function tables() {
  if (!kinds) {
    kinds = Object.fromEntries(observationKinds().split(',').map((k, i) => [k, i]));
    fields = metricNames().split(',').map((f) => f.split(':'));
  }
}

/** An adapter for hls.js: bitrate switches, fragment program-date-time, fatal errors, TTFB, live edge. */
export function hlsjs(hls) {
  return (sink) => {
    const on = {
      hlsLevelSwitched: (_, d) => sink.bitrate(hls.levels?.[d.level]?.bitrate ?? 0),
      hlsFragChanged: (_, d) => sink.programDate(d.frag?.start, d.frag?.programDateTime),
      hlsFragLoaded: (_, d) => {
        const l = d.frag?.stats?.loading;
        if (l && l.first > 0) sink.segmentTtfb(l.first - l.start);
      },
      hlsError: (_, d) => {
        // hls.js reports its own stall detection and nudges as non-fatal "errors": the monitor
        // measures stalls itself, and they are not errors.
        if (!d.fatal && /^buffer(StalledError|NudgeOnStall|SeekOverHole)$/.test(d.details)) return;
        const code = { networkError: 2, mediaError: 3, muxError: 4 }[d.type] ?? 1000;
        sink.error(code, !!d.fatal);
      },
    };
    for (const [ev, fn] of Object.entries(on)) hls.on(ev, fn);
    sink.liveEdge(() => hls.latency);
    return () => { for (const [ev, fn] of Object.entries(on)) hls.off(ev, fn); };
  };
}

/**
 * Attaches a QoE monitor to a media element. Never throws; returns a handle whose `metrics()`
 * is null until the wasm module is ready (or forever, if it cannot load).
 */
export function attach(video, options = {}) {
  let monitor = null;
  let queue = [];
  let dead = false;
  let endedAt = Infinity; // detach time: reads after it report the view as of then
  let frameHandle = 0;
  let lastSample = -Infinity;
  let pdtMap = null; // [media start s, program-date ms] of the fragment being played
  let liveEdgeFn = null;
  let sessionId = null;
  let uplink = null; // summary delivery (options.collectorUrl + options.roomId), see uplink.js
  let cmcd = null; // CMCD v1 writer, see cmcd-v1.js (its hls.js adapter: livekpi/player/cmcd)
  const detachers = [];

  const guard = (fn) => (...args) => {
    if (dead) return undefined;
    try {
      return fn(...args);
    } catch {
      return undefined; // never into the host page
    }
  };
  // Reads stay available after detach (as of the detach time).
  const read = (fn, fallback) => () => {
    try {
      return monitor ? fn(Math.min(now(), endedAt)) : fallback;
    } catch {
      return fallback;
    }
  };

  const emit = (kind, t = now(), a = 0, b = 0, c = 0, d = 0, e = 0) => {
    if (dead) return;
    // The monitor's reads count open intervals up to the read time, so no timer has to deliver
    // ticks: while playback is healthy this layer runs no timer at all.
    if (monitor) monitor.observe(t, kinds[kind], a, b, c, d, e);
    else if (queue && queue.length < QUEUE_CAP) queue.push([kind, t, a, b, c, d, e]);
  };

  const dims = () => emit('dimensions', now(), video.clientWidth, video.clientHeight,
    globalThis.devicePixelRatio || 1, video.videoWidth, video.videoHeight);
  const sample = guard((t) => {
    lastSample = t;
    const q = video.getVideoPlaybackQuality?.();
    if (q) emit('quality', t, q.droppedVideoFrames, q.totalVideoFrames);
    const edge = liveEdgeFn?.();
    if (Number.isFinite(edge)) emit('liveEdge', t, edge);
  });
  const onFrame = guard((rvfcNow, meta) => {
    // Re-arm first: a fault below must not end the frame chain (the monitor would then see a
    // frozen playhead, i.e. a false stall).
    frameHandle = video.requestVideoFrameCallback(onFrame);
    const t = performance.timeOrigin + rvfcNow;
    // The playhead read in the callback: the stall rule measures its shortfall, so frames late or
    // dropped while the media clock runs (a render hiccup) are not taken for a stall. A busy main
    // thread can run this callback well after its `now`: the playhead is taken back to `now`.
    const rate = video.playbackRate;
    let pos = video.currentTime;
    const late = performance.now() - rvfcNow;
    if (!video.paused && late > 0 && late < 1000 && rate > 0) pos -= (late / 1000) * rate;
    emit('frame', t, meta.mediaTime, meta.presentedFrames, pos, rate);
    if (t - lastSample >= SAMPLE_MS) {
      lastSample = t;
      if (pdtMap) emit('frameProgramTime', t, pdtMap[1] + (meta.mediaTime - pdtMap[0]) * 1000);
      sample(t);
    }
  });

  let hadSource = false;
  let source = ''; // the URL of the view's source
  let intent = false;
  // When a media event was queued (its timeStamp), not when a busy main thread got to it: a
  // `play` event can run tens of ms after the play() call while the page is still loading.
  const at = (e) => {
    const t = performance.timeOrigin + e?.timeStamp;
    const n = now();
    return t > 0 && t <= n ? t : n;
  };
  const on = {
    loadstart: (e) => {
      const t = at(e);
      const src = video.currentSrc || video.src;
      // The loadstart of the source that was set right before attach() is not a change.
      if (hadSource && src === source) return;
      if (hadSource) emit('sourceChanged', t);
      hadSource = true;
      source = src;
      emit('sourceAttached', t);
      if (video.autoplay && !intent) { intent = true; emit('playIntent', t, 1); }
    },
    play: (e) => {
      const t = at(e);
      if (!intent) { intent = true; emit('playIntent', t, 0); }
      emit('play', t);
    },
    playing: (e) => emit('playing', at(e)),
    pause: (e) => emit('pause', at(e)),
    waiting: (e) => emit('waiting', at(e)),
    seeking: (e) => emit('seeking', at(e)),
    seeked: (e) => emit('seeked', at(e)),
    ended: (e) => emit('ended', at(e)),
    timeupdate: () => {
      const t = now();
      emit('timeUpdate', t, video.currentTime);
      // Without requestVideoFrameCallback, samples ride on timeupdate (≤ 4 Hz) instead.
      if (!video.requestVideoFrameCallback && t - lastSample >= SAMPLE_MS) sample(t);
    },
    error: (e) => emit('error', at(e), video.error?.code ?? 0, 1),
    resize: dims,
  };
  const onVisibility = guard(() => emit('visibility', now(), document.visibilityState === 'hidden' ? 1 : 0));
  const onPageHide = guard(() => emit('pageHide'));

  const sink = {
    bitrate: guard((bps) => emit('bitrate', now(), bps)),
    programDate: guard((startS, pdtMs) => {
      pdtMap = Number.isFinite(startS) && Number.isFinite(pdtMs) ? [startS, pdtMs] : null;
    }),
    segmentTtfb: guard((ms) => emit('segmentTtfb', now(), ms)),
    error: guard((code, fatal) => emit('error', now(), code, fatal ? 1 : 0)),
    liveEdge: guard((fn) => { liveEdgeFn = fn; }),
    cmcd: guard((info, o) => cmcd?.request(info, o, options.roomId)),
  };

  const handle = {
    /** The id of this viewing session (32 hex digits), or null until the wasm module is ready. */
    get sessionId() { return sessionId; },
    /** The QoE metrics now, or null while (or if) the wasm module is not ready. */
    metrics: read((t) => {
      const v = monitor.metrics(t);
      const out = {};
      fields.forEach(([name, tag], i) => {
        const x = v[i];
        out[name] = tag === 'b' ? x === 1 : tag === 'o' && Number.isNaN(x) ? null : x;
      });
      return out;
    }, null),
    /** The recent stalls, oldest first (an ongoing one last). */
    stalls: read((t) => {
      const out = [];
      const v = monitor.stalls(t);
      for (let i = 0; i + 2 < v.length; i += 3) {
        out.push({ positionS: Number.isNaN(v[i]) ? null : v[i], startMs: v[i + 1], durationMs: v[i + 2] });
      }
      return out;
    }, []),
    /** Connects a player-library adapter (see `hlsjs`). */
    use: guard((adapter) => {
      const off = adapter(sink);
      if (typeof off === 'function') detachers.push(off);
    }),
    /** Reports a play intent the element has not shown yet (e.g. right before calling play()). */
    playIntent: guard((autoplay = false) => {
      if (!intent) { intent = true; emit('playIntent', now(), autoplay ? 1 : 0); }
    }),
    /** Reports that the browser's autoplay policy rejected play(). */
    autoplayBlocked: guard(() => emit('autoplayBlocked')),
    /** Summary delivery counters ({ sent, acked, failures, pendingSeq, backoffMs }), or null when not sending. */
    upstream: guard(() => uplink?.status() ?? null),
    /** Sends a summary now (also done every `flushIntervalMs`). */
    flush: guard(() => uplink?.flush()),
    /**
     * The CMCD v1 query-argument value for a media request (`CMCD=` + this), from the monitor's
     * state and what the player knows (buffer ms, measured throughput kbit/s, top bitrate kbit/s,
     * object duration ms; undefined = unknown). Empty until the wasm module is ready.
     */
    cmcdQuery: guard((bufferMs, throughputKbps, topBitrateKbps, objectDurationMs) =>
      cmcd?.query(options.roomId, bufferMs, throughputKbps, topBitrateKbps, objectDurationMs) ?? ''),
    /** Removes every listener, callback and timer. The handle stays readable (as of now). */
    detach: guard(() => {
      // One end time for the view's final summary and the handle's frozen reads.
      const end = now();
      try { uplink?.stop(true, end); } catch { /* never into the page */ }
      dead = true;
      endedAt = end;
      for (const off of detachers.splice(0)) {
        try { off(); } catch { /* the host's player may already be gone */ }
      }
      try { if (frameHandle) video.cancelVideoFrameCallback?.(frameHandle); } catch { /* ignore */ }
      queue = null;
    }),
  };

  try {
    for (const [ev, fn] of Object.entries(on)) {
      const g = guard(fn);
      video.addEventListener(ev, g, { passive: true });
      detachers.push(() => video.removeEventListener(ev, g));
    }
    document.addEventListener('visibilitychange', onVisibility);
    detachers.push(() => document.removeEventListener('visibilitychange', onVisibility));
    addEventListener('pagehide', onPageHide);
    detachers.push(() => removeEventListener('pagehide', onPageHide));
    if (video.requestVideoFrameCallback) frameHandle = video.requestVideoFrameCallback(onFrame);
    // State already reached before attach (a source set, a preloaded frame, a hidden page).
    if (document.visibilityState === 'hidden') onVisibility();
    if (video.currentSrc || video.src) { hadSource = true; source = video.currentSrc || video.src; emit('sourceAttached'); }
    if (!video.paused) { intent = true; emit('playIntent', now(), video.autoplay ? 1 : 0); emit('play'); }
    for (const a of options.adapters ?? []) handle.use(a);
  } catch {
    /* partial attach: the monitor measures what it could attach to */
  }

  ready.then(guard(() => {
    if (!wasmOk) return;
    tables();
    monitor = new QoeMonitor(now(), options.stallThresholdMs ?? 100);
    try {
      uplink = startUplink(monitor, options, now, guard);
    } catch {
      uplink = null; // a bad roomId or no CSPRNG: measure without sending
    }
    sessionId = uplink?.sessionId ?? newSessionId();
    cmcd = startCmcd(monitor, sessionId, now, video);
    const pending = queue;
    queue = null;
    for (const [kind, t, a, b, c, d, e] of pending) emit(kind, t, a, b, c, d, e);
    dims();
    if (options.timeSyncUrl) probeClock(options.timeSyncUrl);
  }));

  // Clock offset from three time-sync probes (the monitor keeps the lowest-RTT one).
  const probeClock = guard(async (url) => {
    for (let i = 0; i < 3 && !dead; i++) {
      try {
        const sent = now();
        const res = await fetch(url, { cache: 'no-store' });
        const body = await res.json();
        const received = now();
        if (Number.isFinite(body?.server_ms)) emit('timeSync', received, sent, received, body.server_ms);
      } catch { /* offline: latency falls back to the client clock */ }
    }
  });

  return handle;
}
