// Ground truth from the browser's own media pipeline, independent of anything page JS reports.
//
// attachMediaTruth(page) opens a separate CDP session on the page, enables the `Media` domain and
// keeps every Media.playerEventsAdded / playerPropertiesChanged / playerMessagesLogged /
// playerErrorsRaised. Buffering-state changes (kBufferingStateChanged events for the video
// renderer, the audio renderer and the pipeline) become stall intervals.
//
// Clock. A Media event's `timestamp` is Chromium's base::TimeTicks in seconds (on Linux
// CLOCK_MONOTONIC, the clock under the page's performance.now()), not wall time. The mapping
// wall_ms = timestamp·1000 + offset takes `offset` from the browser itself: the Network domain is
// enabled on the same session and every Network.requestWillBeSent carries both `timestamp` (the same
// TimeTicks) and `wallTime` (seconds since the epoch); offset is the median of wallTime − timestamp
// over those samples. Node's process.hrtime is the same CLOCK_MONOTONIC on Linux, so
// Date.now() − hrtime gives a second, independent estimate (`clock().node_offset_ms`); the two
// agree to well under 1 ms here. Without any network sample the node estimate is used.
//
// Caveats (Chromium 156, see issue 3): the renderer batches its media log and sends it about once a
// second, keeping only the last buffering-state change of each kind per batch, so (1) truth arrives
// up to ~1 s late — use waitForStalls() / settle() rather than reading at once — and (2) a stall
// shorter than a batch can lose its pipeline-level HAVE_NOTHING; its start is taken from the first
// BUFFERING_HAVE_NOTHING of video, audio or pipeline, its end from the first moment after that when
// every stream that reported HAVE_NOTHING has reported BUFFERING_HAVE_ENOUGH again. Player-level
// kSeek / kPause events are kept so callers can tell seeks from stalls; buffering during a seek
// (from kSeek until every stream is back to HAVE_ENOUGH) and before the first HAVE_ENOUGH (startup)
// is not a stall.

/** Attaches to `page`; resolves to the truth collector (see the methods below). */
export async function attachMediaTruth(page) {
  const cdp = await page.context().newCDPSession(page);
  const raw = { events: [], properties: [], messages: [], errors: [] };
  const clockSamples = [];
  const nodeOffset = () => Date.now() - Number(process.hrtime.bigint()) / 1e6;
  const nodeOffsets = [nodeOffset()];
  let batches = 0;
  const listeners = new Set();
  const notify = () => { for (const f of listeners) f(); };
  const recv = () => Date.now();

  cdp.on('Media.playerEventsAdded', ({ playerId, events }) => {
    batches++;
    for (const e of events) {
      let value;
      try {
        value = JSON.parse(e.value);
      } catch {
        value = { event: String(e.value) };
      }
      raw.events.push({ playerId, ts: e.timestamp, value, recv_ms: recv() });
    }
    notify();
  });
  cdp.on('Media.playerPropertiesChanged', ({ playerId, properties }) => {
    for (const p of properties) raw.properties.push({ playerId, name: p.name, value: p.value, recv_ms: recv() });
    notify();
  });
  cdp.on('Media.playerMessagesLogged', ({ playerId, messages }) => {
    for (const m of messages) raw.messages.push({ playerId, level: m.level, message: m.message, recv_ms: recv() });
    notify();
  });
  cdp.on('Media.playerErrorsRaised', ({ playerId, errors }) => {
    for (const e of errors) raw.errors.push({ playerId, ...e, recv_ms: recv() });
    notify();
  });
  cdp.on('Network.requestWillBeSent', ({ timestamp, wallTime }) => {
    if (typeof timestamp === 'number' && typeof wallTime === 'number') clockSamples.push(wallTime * 1000 - timestamp * 1000);
  });
  await cdp.send('Network.enable', { maxTotalBufferSize: 0, maxResourceBufferSize: 0 }).catch(() => {});
  await cdp.send('Media.enable');

  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length ? s[Math.floor(s.length / 2)] : NaN;
  };

  function clock() {
    nodeOffsets.push(nodeOffset());
    const node = median(nodeOffsets);
    const net = median(clockSamples);
    return { offset_ms: clockSamples.length ? net : node, network_offset_ms: net, node_offset_ms: node, samples: clockSamples.length };
  }

  /** Wall-clock ms (epoch) of a Media-domain timestamp (TimeTicks seconds). */
  const toWall = (ts) => ts * 1000 + clock().offset_ms;

  function players() {
    return [...new Set(raw.events.map((e) => e.playerId))];
  }

  /** Every buffering-state change, in timestamp order: { wall_ms, ts, stream, state, reason, playerId }. */
  function bufferingChanges(playerId = players().at(-1)) {
    const off = clock().offset_ms;
    const out = [];
    for (const e of raw.events) {
      if (e.playerId !== playerId || e.value.event !== 'kBufferingStateChanged') continue;
      for (const stream of ['video', 'audio', 'pipeline']) {
        const s = e.value[`${stream}_buffering_state`];
        if (s) out.push({ wall_ms: e.ts * 1000 + off, ts: e.ts, stream, state: s.state, reason: s.reason ?? null, playerId });
      }
    }
    return out.sort((a, b) => a.ts - b.ts);
  }

  /** Player-level events other than buffering changes: { wall_ms, event, value }. */
  function playerEvents(playerId = players().at(-1)) {
    const off = clock().offset_ms;
    return raw.events
      .filter((e) => e.playerId === playerId && e.value.event !== 'kBufferingStateChanged')
      .map((e) => ({ wall_ms: e.ts * 1000 + off, event: e.value.event, value: e.value }))
      .sort((a, b) => a.wall_ms - b.wall_ms);
  }

  /**
   * Stall intervals from the pipeline's buffering states:
   * [{ start_ms, end_ms (null while ongoing), duration_ms, start_stream, reason }], wall-clock ms.
   */
  function stalls(playerId = players().at(-1)) {
    const seeks = playerEvents(playerId).filter((e) => e.event === 'kSeek').map((e) => e.wall_ms);
    const changes = bufferingChanges(playerId);
    const out = [];
    const nothing = new Set(); // streams currently at HAVE_NOTHING
    let started = false; // first HAVE_ENOUGH seen (startup over)
    let cur = null; // { start_ms, start_stream, reason, seek }
    let seekIdx = 0;
    for (const c of changes) {
      while (seekIdx < seeks.length && seeks[seekIdx] <= c.wall_ms) {
        seekIdx++;
        if (cur) cur.seek = true; else cur = { seek: true, start_ms: seeks[seekIdx - 1] };
      }
      if (c.state === 'BUFFERING_HAVE_NOTHING') {
        nothing.add(c.stream);
        if (!cur && started) cur = { start_ms: c.wall_ms, start_stream: c.stream, reason: c.reason, seek: false };
      } else if (c.state === 'BUFFERING_HAVE_ENOUGH') {
        nothing.delete(c.stream);
        if (!started) {
          started = true;
          cur = null;
          nothing.clear();
          continue;
        }
        if (cur && nothing.size === 0) {
          if (!cur.seek) out.push({ start_ms: cur.start_ms, end_ms: c.wall_ms, duration_ms: c.wall_ms - cur.start_ms, start_stream: cur.start_stream, reason: cur.reason });
          cur = null;
        }
      }
    }
    if (cur && !cur.seek && started) out.push({ start_ms: cur.start_ms, end_ms: null, duration_ms: null, start_stream: cur.start_stream, reason: cur.reason });
    return out;
  }

  /** Resolves when `pred()` holds (re-checked on every CDP Media message), or rejects after timeoutMs. */
  function waitFor(pred, timeoutMs = 10_000, what = 'media truth') {
    return new Promise((ok, fail) => {
      if (pred()) return ok();
      const t = setTimeout(() => { listeners.delete(check); fail(new Error(`timed out waiting for ${what}`)); }, timeoutMs);
      function check() {
        if (!pred()) return;
        clearTimeout(t);
        listeners.delete(check);
        ok();
      }
      listeners.add(check);
    });
  }

  return {
    cdp,
    raw,
    clock,
    toWall,
    players,
    bufferingChanges,
    playerEvents,
    stalls,
    waitFor,
    /** Resolves once at least n complete stalls are known (truth lags up to ~1 s). */
    waitForStalls: (n, timeoutMs = 10_000) =>
      waitFor(() => stalls().filter((s) => s.end_ms != null).length >= n, timeoutMs, `${n} stalls`),
    /**
     * Resolves after the next media-log batch arrives or `maxMs` passed (a healthy player may log
     * nothing): either way everything logged before the call has been delivered (batches ≈ 1 s).
     */
    settle: (maxMs = 1_500) => {
      const n = batches;
      return waitFor(() => batches > n, maxMs, 'the next media log batch').catch(() => {});
    },
    async detach() {
      listeners.clear();
      await cdp.detach().catch(() => {});
    },
  };
}

/**
 * Installs, in the page, a requestVideoFrameCallback recorder on the first <video> matching
 * `selector` (waits for it). Each presented frame is kept as { wall_ms, expected_ms, media_time,
 * presented_frames, frame }: wall_ms = performance.timeOrigin + metadata.presentationTime (when the
 * frame was handed to the compositor), expected_ms the same for expectedDisplayTime, and, with
 * `barcode` (the layout of /api/live/media's params.barcode), `frame` = the source frame number read
 * from the pixels of the frame (null if the strip is unreadable). Read with readFrames(page).
 */
export async function installFrameRecorder(page, { selector = 'video', barcode = null } = {}) {
  await page.waitForSelector(selector, { state: 'attached' });
  await page.evaluate(([sel, bc]) => {
    const video = document.querySelector(sel);
    const rec = (window.__frames = { frames: [], video });
    let ctx = null;
    if (bc) {
      const canvas = document.createElement('canvas');
      canvas.width = video.videoWidth || 320;
      canvas.height = video.videoHeight || 180;
      ctx = canvas.getContext('2d', { willReadFrequently: true });
    }
    const read = () => {
      const w = video.videoWidth;
      const h = video.videoHeight;
      if (!w || !h) return null;
      if (ctx.canvas.width !== w || ctx.canvas.height !== h) { ctx.canvas.width = w; ctx.canvas.height = h; }
      ctx.drawImage(video, 0, 0, w, h);
      const y = Math.round((bc.y + bc.height / 2) * (h / 180));
      const row = ctx.getImageData(0, y, w, 1).data;
      let n = 0;
      for (let b = 0; b < bc.bits; b++) {
        const x = Math.round((b * bc.cell + (bc.cell + bc.rule) / 2) * (w / 320));
        if (x >= w) break;
        const lum = (row[4 * x] + row[4 * x + 1] + row[4 * x + 2]) / 3;
        if (lum > 128) n |= 1 << b;
      }
      return n;
    };
    const onFrame = (_now, m) => {
      rec.frames.push({
        wall_ms: performance.timeOrigin + m.presentationTime,
        expected_ms: performance.timeOrigin + m.expectedDisplayTime,
        media_time: m.mediaTime,
        presented_frames: m.presentedFrames,
        frame: ctx ? read() : null,
      });
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }, [selector, barcode]);
}

/** The frames recorded so far by installFrameRecorder (optionally only those after `since_ms`). */
export function readFrames(page, since_ms = 0) {
  return page.evaluate((s) => window.__frames.frames.filter((f) => f.wall_ms >= s), since_ms);
}

/**
 * Gaps between consecutive presented frames longer than `minGapMs` (default 2.5 frame intervals of
 * 40 ms): [{ start_ms (last frame before), end_ms (first frame after), duration_ms }].
 */
export function frameGaps(frames, minGapMs = 100) {
  const out = [];
  for (let i = 1; i < frames.length; i++) {
    const d = frames[i].wall_ms - frames[i - 1].wall_ms;
    if (d > minGapMs) out.push({ start_ms: frames[i - 1].wall_ms, end_ms: frames[i].wall_ms, duration_ms: d });
  }
  return out;
}
