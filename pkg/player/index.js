// livekpi/player: the viewer-side QoE monitor.
//
// attach(video) listens to the media element, the page and (through adapters) the player
// library, and forwards every observation as numbers to the wasm QoeMonitor, which owns every
// definition. Nothing here may throw into, or slow down, the host page: every callback is
// guarded, observations made before the wasm module is ready are queued (bounded), and when the
// module cannot load the monitor stays inert and says so (`ready` resolves to false).
import init, {
  QoeMonitor, newSessionId, metricNames, observationKinds, degradedNames,
} from '../dist/player/livekpi_player.js';

let wasmOk = false;
// A page whose fetch throws (or is wrapped badly) still gets the module: XHR fetches the bytes.
const xhrWasm = () => new Promise((ok, fail) => {
  const x = new XMLHttpRequest();
  x.open('GET', new URL('livekpi_player_bg.wasm', import.meta.url));
  x.responseType = 'arraybuffer';
  x.onload = () => (x.status === 200 ? ok(x.response) : fail());
  x.onerror = fail;
  x.send();
});
/** Resolves to true once the wasm module is instantiated, false if it could not be (never rejects). */
export const ready = init()
  .catch(() => xhrWasm().then((bytes) => init({ module_or_path: bytes })))
  .then(() => (wasmOk = true), () => false);

import { startUplink } from './uplink.js';

export { newSessionId, version, buildFeatures } from '../dist/player/livekpi_player.js';

const QUEUE_CAP = 1024;
const SAMPLE_MS = 1000; // quality, live edge and program-date-time samples: at most 1 Hz
// The platform clock, as event timestamps and frame callbacks see it: a new Event's timeStamp,
// not performance.now, which pages patch (fingerprinting shields, test fakes).
const now = () => {
  const t = new Event('l').timeStamp;
  return t > 1e12 ? t : performance.timeOrigin + t;
};
// `degraded` bits (names and order owned by Rust: degradedNames()).
const NO_RVFC = 1, NO_QUALITY = 2, NO_BEACON = 4, NO_STORAGE = 8, REMOVED = 16, FAULT = 32,
  NO_TIME_SYNC = 64, CLOCK = 128, NO_RESIZE_OBSERVER = 256;
let kinds = null; // name → code, from the wasm module (one list, owned by Rust)
let fields = null; // [name, tag] in metrics() order
let degradedList = null;
function tables() {
  if (!kinds) {
    kinds = Object.fromEntries(observationKinds().split(',').map((k, i) => [k, i]));
    fields = metricNames().split(',').map((f) => f.split(':'));
    degradedList = degradedNames().split(',');
  }
}

/**
 * An adapter for hls.js: bitrate switches, fragment program-date-time, fatal errors, TTFB, live edge.
 * A rendition whose playlist declares no BANDWIDTH (a single media playlist) gets the bitrate
 * measured from its loaded fragments (bytes × 8 / duration), once each time it starts playing.
 */
export function hlsjs(hls) {
  return (sink) => {
    const declared = (level) => hls.levels?.[level]?.bitrate || 0;
    const measured = new Map(); // level without a declared bitrate → [bytes, seconds] loaded
    let shown; // level of the fragment being played
    const on = {
      hlsLevelSwitched: (_, d) => { const b = declared(d.level); if (b) sink.bitrate(b); },
      hlsFragChanged: (_, d) => {
        const f = d.frag;
        sink.programDate(f?.start, f?.programDateTime);
        if (f && f.level !== shown) {
          shown = f.level;
          const m = !declared(shown) && measured.get(shown);
          if (m && m[1] > 0) sink.bitrate(Math.round((m[0] * 8) / m[1]));
        }
      },
      hlsFragLoaded: (_, d) => {
        const f = d.frag;
        const l = f?.stats?.loading;
        if (l && l.first > 0) sink.segmentTtfb(l.first - l.start);
        const bytes = f?.stats?.total;
        if (f?.sn !== 'initSegment' && bytes > 0 && f.duration > 0 && !declared(f.level)) {
          const m = measured.get(f.level) ?? [0, 0];
          m[0] += bytes;
          m[1] += f.duration;
          measured.set(f.level, m);
        }
      },
      hlsError: (_, d) => {
        // hls.js reports its own stall detection and nudges as non-fatal "errors": the monitor
        // measures stalls itself, and they are not errors.
        if (!d.fatal && /^buffer(StalledError|NudgeOnStall|SeekOverHole)$/.test(d.details)) return;
        const code = { networkError: 2, mediaError: 3, muxError: 4 }[d.type] ?? 1000;
        sink.error(code, !!d.fatal);
      },
    };
    for (const [ev, fn] of Object.entries(on)) {
      // a fault in a handler (an odd event payload) never reaches hls.js's event dispatch
      on[ev] = (e, d) => { try { fn(e, d); } catch { /* dropped */ } };
      hls.on(ev, on[ev]);
    }
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
  // The view's CMCD v1 writer: it lives in livekpi/player/cmcd (so pages that send no CMCD
  // download none of it), which registers itself under this symbol when loaded.
  let cmcd = null;
  const cmcdV1 = () => (cmcd ??= (monitor && globalThis[Symbol.for('livekpi.cmcd.v1')]?.(sessionId, handle.metrics, video)) || null);
  const detachers = [];

  let faulted = false;
  const guard = (fn) => (...args) => {
    if (dead) return undefined;
    try {
      return fn(...args);
    } catch {
      // Never into the host page; said once in `degraded`.
      if (!faulted) {
        faulted = true;
        try { emit('degraded', now(), FAULT); } catch { /* nothing more to do */ }
      }
      return undefined;
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

  let envBits = 0; // `degraded` bits of the environment, carried into every view
  const probes = []; // time-sync probe results, carried into every view
  const emit = (kind, t = now(), a = 0, b = 0, c = 0, d = 0, e = 0) => {
    if (dead) return;
    if (kind === 'degraded') envBits |= a;
    else if (kind === 'timeSync') probes.push([t, a, b, c]);
    // The monitor's reads count open intervals up to the read time, so no timer has to deliver
    // ticks: while playback is healthy this layer runs no timer at all.
    if (monitor) monitor.observe(t, kinds[kind], a, b, c, d, e);
    else if (queue && queue.length < QUEUE_CAP) queue.push([kind, t, a, b, c, d, e]);
  };

  let dpr = 0;
  const dims = guard(() => {
    dpr = globalThis.devicePixelRatio || 1;
    emit('dimensions', now(), video.clientWidth, video.clientHeight, dpr, video.videoWidth, video.videoHeight);
  });
  // Dropped/total frame counters, at ≤ 1 Hz while frames flow and at every boundary of a
  // measured interval (pause, seek, end, hide, read), so no interval's frames are missed.
  const quality = guard((t = now()) => {
    const q = video.getVideoPlaybackQuality?.();
    if (q) emit('quality', t, q.droppedVideoFrames, q.totalVideoFrames);
  });
  const sample = guard((t) => {
    lastSample = t;
    quality(t);
    const edge = liveEdgeFn?.();
    if (Number.isFinite(edge)) emit('liveEdge', t, edge);
    if ((globalThis.devicePixelRatio || 1) !== dpr) dims(); // zoom or a move to another screen
    if (!video.isConnected) emit('degraded', t, REMOVED);
  });
  const onFrame = guard((rvfcNow, meta) => {
    // Re-arm first: a fault below must not end the frame chain (the monitor would then see a
    // frozen playhead, i.e. a false stall).
    frameHandle = video.requestVideoFrameCallback(onFrame);
    // The frame's time is when it reaches the screen (a stall runs from the display of the last
    // frame to the display of the next: the media pipeline's own stall, see qoe::monitor).
    const shown = meta.expectedDisplayTime ?? rvfcNow;
    const t = performance.timeOrigin + shown;
    // The playhead read in the callback, moved to the display time at the playback rate: the
    // stall rule measures its shortfall, so frames late or dropped while the media clock runs
    // (a render hiccup) are not taken for a stall, nor is a callback run late by a busy thread.
    const rate = video.playbackRate;
    let pos = video.currentTime;
    const late = now() - t;
    if (!video.paused && Math.abs(late) < 1000 && rate > 0) pos -= (late / 1000) * rate;
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
      // The loadstart of the source that was set right before attach() is not a change, nor is a
      // new MediaSource of an MSE player (blob: → blob:): hls.js re-attaches on media-error
      // recovery, which is the same view.
      if (hadSource && (src === source || (/^blob:/.test(src) && /^blob:/.test(source)))) { source = src; return; }
      if (hadSource) {
        // The view ends (its final summary goes out); the next source is a new view.
        emit('sourceChanged', t);
        intent = false;
        pdtMap = null;
        if (monitor) { startView(t); dims(); }
        else if (queue) queue.length = 0; // the module is not ready: only the new view is kept
      }
      hadSource = true;
      source = src;
      emit('sourceAttached', t);
      if (video.autoplay && !intent) { intent = true; emit('playIntent', t, 1); }
    },
    play: (e) => {
      const t = at(e);
      if (!intent) { intent = true; emit('playIntent', t, 0); }
      emit('play', t);
      // Without frame callbacks, the playhead where playback starts: the first timeupdate's
      // advance from it dates the first frame.
      if (!video.requestVideoFrameCallback) emit('timeUpdate', t, video.currentTime);
    },
    playing: (e) => emit('playing', at(e)),
    pause: (e) => {
      const t = at(e);
      quality(t);
      // Taken out of the document: the browser paused it.
      if (!video.isConnected) emit('degraded', t, REMOVED);
      emit('pause', t);
    },
    waiting: (e) => emit('waiting', at(e)),
    seeking: (e) => { const t = at(e); quality(t); emit('seeking', t); },
    seeked: (e) => emit('seeked', at(e)),
    ended: (e) => { const t = at(e); quality(t); emit('ended', t); },
    timeupdate: () => {
      const t = now();
      emit('timeUpdate', t, video.currentTime);
      // Without requestVideoFrameCallback, samples ride on timeupdate (≤ 4 Hz) instead.
      if (!video.requestVideoFrameCallback && t - lastSample >= SAMPLE_MS) sample(t);
    },
    error: (e) => emit('error', at(e), video.error?.code ?? 0, 1),
    resize: dims,
  };
  const onVisibility = guard(() => {
    const hidden = document.visibilityState === 'hidden';
    if (hidden) quality();
    emit('visibility', now(), hidden ? 1 : 0);
  });
  const onPageHide = guard(() => emit('pageHide'));

  const sink = {
    bitrate: guard((bps) => emit('bitrate', now(), bps)),
    programDate: guard((startS, pdtMs) => {
      pdtMap = Number.isFinite(startS) && Number.isFinite(pdtMs) ? [startS, pdtMs] : null;
    }),
    segmentTtfb: guard((ms) => emit('segmentTtfb', now(), ms)),
    error: guard((code, fatal) => emit('error', now(), code, fatal ? 1 : 0)),
    liveEdge: guard((fn) => { liveEdgeFn = fn; }),
    cmcd: guard((info, o) => cmcdV1()?.request(info, o, options.roomId)),
  };

  const handle = {
    /** The id of this viewing session (32 hex digits), or null until the wasm module is ready. */
    get sessionId() { return sessionId; },
    /** The QoE metrics now, or null while (or if) the wasm module is not ready. */
    metrics: read((t) => {
      if (!dead) quality(t); // the counters as of the read
      const v = monitor.metrics(t);
      const out = {};
      fields.forEach(([name, tag], i) => {
        const x = v[i];
        out[name] = tag === 'b' ? x === 1 : tag === 'o' && Number.isNaN(x) ? null : x;
      });
      out.degradedReasons = degradedList.filter((_, i) => out.degraded & (1 << i));
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
     * object duration ms; undefined = unknown). Written by livekpi/player/cmcd: empty until that
     * entry is loaded and the wasm module is ready.
     */
    cmcdQuery: guard((bufferMs, throughputKbps, topBitrateKbps, objectDurationMs) =>
      cmcdV1()?.query(options.roomId, bufferMs, throughputKbps, topBitrateKbps, objectDurationMs) ?? ''),
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
    else emit('degraded', now(), NO_RVFC);
    if (!video.getVideoPlaybackQuality) emit('degraded', now(), NO_QUALITY);
    try {
      // A patched performance.now (the monitor does not use it; the host's other tools might).
      if (Math.abs(performance.timeOrigin + performance.now() - now()) > 50) emit('degraded', now(), CLOCK);
    } catch {
      emit('degraded', now(), CLOCK);
    }
    if (globalThis.ResizeObserver) {
      const ro = new ResizeObserver(dims);
      ro.observe(video);
      detachers.push(() => ro.disconnect());
    } else {
      emit('degraded', now(), NO_RESIZE_OBSERVER);
    }
    // State already reached before attach (a source set, a preloaded frame, a hidden page).
    if (document.visibilityState === 'hidden') onVisibility();
    if (video.currentSrc || video.src) { hadSource = true; source = video.currentSrc || video.src; emit('sourceAttached'); }
    if (!video.paused) { intent = true; emit('playIntent', now(), video.autoplay ? 1 : 0); emit('play'); }
    for (const a of options.adapters ?? []) handle.use(a);
  } catch {
    /* partial attach: the monitor measures what it could attach to */
  }

  // A view: one monitor, session id, summary stream and CMCD session per source.
  const startView = (t0) => {
    try { uplink?.stop(true, t0); } catch { /* the previous view's final summary */ }
    monitor = new QoeMonitor(t0, options.stallThresholdMs ?? 100);
    try {
      uplink = startUplink(monitor, options, now, guard);
    } catch {
      uplink = null; // a bad roomId or no CSPRNG: measure without sending
    }
    if (uplink) {
      if (typeof navigator.sendBeacon !== 'function') emit('degraded', t0, NO_BEACON);
      try {
        localStorage.getItem('livekpi');
      } catch {
        emit('degraded', t0, NO_STORAGE);
      }
    }
    sessionId = uplink?.sessionId ?? newSessionId();
    cmcd = null; // a new view: a new CMCD v1 writer (sid, bs mark) on first use
    if (envBits) emit('degraded', t0, envBits);
    for (const [t, a, b, c] of probes.splice(0)) emit('timeSync', t, a, b, c);
    if (document.visibilityState === 'hidden') emit('visibility', t0, 1);
  };

  ready.then(guard(() => {
    if (!wasmOk) return;
    tables();
    // Born at the first queued observation: the monitor takes earlier times as its creation time,
    // which would move a queued play intent or autoplay refusal to when the module got ready.
    startView(queue.reduce((t, q) => Math.min(t, q[1]), now()));
    const pending = queue;
    queue = null;
    for (const [kind, t, a, b, c, d, e] of pending) emit(kind, t, a, b, c, d, e);
    dims();
    if (options.timeSyncUrl) probeClock(options.timeSyncUrl);
  }));

  // Clock offset from three time-sync probes (the monitor keeps the lowest-RTT one).
  const probeClock = guard(async (url) => {
    let ok = false;
    for (let i = 0; i < 3 && !dead; i++) {
      try {
        const sent = now();
        const res = await fetch(url, { cache: 'no-store' });
        const body = await res.json();
        const received = now();
        if (Number.isFinite(body?.server_ms)) { ok = true; emit('timeSync', received, sent, received, body.server_ms); }
      } catch { /* offline: latency falls back to the client clock */ }
    }
    if (!ok) emit('degraded', now(), NO_TIME_SYNC);
  });

  return handle;
}
