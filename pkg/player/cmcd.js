// livekpi/player/cmcd: CMCD from livekpi/player (docs/cmcd.md), a separate entry so that pages
// that send no CMCD download none of this:
//   - `cmcdHls(hls, { mode })`: an adapter for `attach` that puts CMCD v1 (CTA-5004) on every
//     playlist and segment request hls.js makes (query or header mode), written here (not in
//     the player's wasm) from the monitor's state and what hls.js knows of the requested object
//     by an encoder that writes exactly what the crate's `cmcd::encode_v1_query` /
//     `encode_v1_headers` write (tests/js/cmcd-v1.test.mjs); loading this entry also makes
//     livekpi/player's `qoe.cmcdQuery()` work;
//   - `reportCmcdEvents(qoe, video, { url })`: CMCD v2 event-mode reports (CTA-5004-B), from
//     what the monitor measured, POSTed in batches to a reporting endpoint. Its encoder is here
//     (not in the wasm) and writes exactly what the crate's `cmcd::encode_v2_event` writes:
//     tests/js/cmcd-player.test.mjs compares them line for line.
//
// Event delivery follows the summaries' discipline (uplink.js): nothing throws into or slows the
// page; lines are batched (one `application/cmcd` POST body, lines joined by "\n") and sent every
// `batchMs`; on failure (network, 408, 429, 5xx) the batch stays queued and is retried with
// jittered exponential backoff (cut short by `online`); a batch refused for good (other 4xx) is
// dropped; the queue is bounded (oldest lines dropped first, counted); when the page is hidden or
// closed the queue goes by navigator.sendBeacon, or fetch keepalive when the beacon is refused.
//
// What is reported: state-change events — `ps` (play state, polled every `pollMs` and on every
// media event), `bc` (selected bitrate, with an hls.js instance), `b` (page hidden / shown), `e`
// (fatal error) — and a `t` (time interval) report every `intervalMs`. Each line carries the
// monitor's `sta`, `bsa` (stalls), `bsda` (stall ms), `dfa` (dropped frames), `ltc` (latency),
// `pb` (bitrate shown), `msd` (startup time, once), `bs` (a stall since the previous report),
// the element's `bl`, `pt`, `pr`, hls.js's `br`, `tb`, `mtp`, and `sid`, `cid`, `sf`, `st`,
// `sn` (from 0 for each session: a source change starts a new one), `ts`, `v=2`.

// ---- CMCD v1 on hls.js requests ----
//
// hls.js reads `config.pLoader` / `config.fLoader` on every load, so wrapping them after the
// instance exists works; each request's context gets `CMCD=` in its URL (query mode) or
// `CMCD-*` headers (header mode: the origin must allow them in CORS). Nothing here throws into
// the page or into hls.js: a failure leaves the request as it was.

/**
 * The request's CMCD object type code (1 m, 2 a, 3 v, 4 av, 5 i, 7 tt; 0 unknown): hls.js's own
 * rule, with the streams of the level's previous fragment (parsed by now) for a muxed level.
 */
function objectType(hls, frag, level, es) {
  if (frag.type === 'subtitle') return 7;
  if (frag.sn === 'initSegment') return 5;
  if (frag.type === 'audio') return 2;
  if (es) return es.audiovideo || (es.video && es.audio) ? 4 : es.video ? 3 : es.audio ? 2 : 0;
  return level?.videoCodec ? (level.audioCodec && !hls.audioTracks?.length ? 4 : 3) : 0;
}

/**
 * Wraps hls.js's loaders so that each playlist / fragment request carries the CMCD payload
 * `write(info)` returns ({ query } or { headers }; undefined = none). Returns the undo.
 */
function cmcdLoaders(hls, write) {
  const config = hls.config;
  const { pLoader, fLoader } = config;
  const seen = new Map(); // level → elementary streams of its last parsed fragment
  let last = null; // the previous main fragment requested
  const wrap = (Base, describe) => class {
    constructor(c) { this.loader = new Base(c); }
    get stats() { return this.loader.stats; }
    get context() { return this.loader.context; }
    destroy() { this.loader.destroy(); }
    abort() { this.loader.abort(); }
    load(context, cfg, callbacks) {
      try {
        const r = write(describe(context));
        if (r?.query) {
          // hls.js builds playlist reload URLs on the previous response's URL: drop its CMCD first.
          const url = context.url.replace(/([?&])CMCD=[^&#]*&?/g, '$1').replace(/[?&]$/, '');
          context.url = `${url}${url.includes('?') ? '&' : '?'}CMCD=${r.query}`;
        }
        else if (r?.headers) context.headers = { ...context.headers, ...r.headers };
      } catch { /* the request goes as it was */ }
      this.loader.load(context, cfg, callbacks);
    }
  };
  config.pLoader = wrap(pLoader || config.loader, () => ({ ot: 1 }));
  config.fLoader = wrap(fLoader || config.loader, ({ frag, part, url }) => {
    if (last?.hasStreams) seen.set(last.level, last.elementaryStreams);
    if (frag.type === 'main') last = frag;
    const level = hls.levels?.[frag.level];
    const ot = objectType(hls, frag, level, seen.get(frag.level));
    const media = ot > 1 && ot < 5;
    const details = level?.details;
    const next = part ? null : details?.fragments?.[frag.sn - details.startSN + 1];
    const buf = frag.type === 'audio' ? hls.audioForwardBufferInfo : hls.mainForwardBufferInfo;
    let tb = 0;
    (hls.levels ?? []).forEach((l, i) => { if ((hls.maxAutoLevel < 0 || i <= hls.maxAutoLevel) && l.bitrate > tb) tb = l.bitrate; });
    // `nor` relative to the request's directory when the next object shares it (as hls.js does).
    const dir = url.slice(0, url.lastIndexOf('/', (url + '?').indexOf('?')) + 1);
    const nor = next?.url && next.url !== frag.url ? next.url : '';
    return {
      live: details?.live,
      ot,
      d: (part || frag).duration * 1000,
      bl: media && buf ? buf.len * 1000 : NaN,
      br: media && level?.bitrate > 0 ? level.bitrate / 1000 : NaN,
      tb: (ot === 3 || ot === 4) && tb > 0 ? tb / 1000 : NaN,
      mtp: hls.bandwidthEstimate / 1000,
      nor: nor.startsWith(dir) ? nor.slice(dir.length) : nor,
    };
  });
  return () => { config.pLoader = pLoader; config.fLoader = fLoader; };
}


// ---- the v1 request-payload encoder (the rules of src/cmcd's `write_v1`, which stays the
// reference: tests/js/cmcd-v1.test.mjs compares the two over generated inputs byte for byte) ----

const OT = ['m', 'a', 'v', 'av', 'i', 'c', 'tt', 'k', 'o']; // object type codes 1..9
const SHARDS = ['CMCD-Object', 'CMCD-Request', 'CMCD-Session', 'CMCD-Status'];
const utf8 = new TextEncoder();
/** `s` is a CMCD `nrr` byte range: `<start>-`, `<start>-<end>` or `-<suffix>`, ≤ 64 characters. */
const rangeOk = (s) => typeof s === 'string' && s.length <= 64 && s !== '-' && /^[0-9]*-[0-9]*$/.test(s);

/**
 * The CMCD v1 members of CMCD-keyed data (raw numbers; `bs`, `su` booleans; `ot`, `sf`, `st`
 * tokens) in key order, each as [header shard (0 Object, 1 Request, 2 Session, 3 Status),
 * member]: integers rounded (`bl`, `dl`, `mtp`, `rtp` to 100), invalid values omitted, `pr`
 * only when ≠ 1, `st` `ll` written `l`, `nor` URL-encoded inside its quotes.
 */
function v1Members(d) {
  const out = [];
  const put = (shard, k, v) => { if (v !== undefined) out.push([shard, v === true ? k : `${k}=${v}`]); };
  const nor = typeof d.nor === 'string' ? d.nor.toWellFormed?.() ?? d.nor : '';
  const pr = decimal(d.pr);
  put(1, 'bl', round(d.bl, 100));
  put(0, 'br', round(d.br));
  put(3, 'bs', d.bs ? true : undefined);
  put(2, 'cid', text(d.cid, 64) ? quote(d.cid) : undefined);
  put(0, 'd', round(d.d));
  put(1, 'dl', round(d.dl, 100));
  put(1, 'mtp', round(d.mtp, 100));
  put(1, 'nor', nor && utf8.encode(nor).length <= 2048 ? `"${encodeURIComponent(nor)}"` : undefined);
  put(1, 'nrr', rangeOk(d.nrr) ? `"${d.nrr}"` : undefined);
  put(0, 'ot', OT.includes(d.ot) ? d.ot : undefined);
  put(2, 'pr', pr !== '1.0' ? pr : undefined);
  put(3, 'rtp', round(d.rtp, 100));
  put(2, 'sf', ['d', 'h', 's', 'o'].includes(d.sf) ? d.sf : undefined);
  put(2, 'sid', text(d.sid, 64) ? quote(d.sid) : undefined);
  put(2, 'st', d.st === 'v' ? 'v' : d.st === 'l' || d.st === 'll' ? 'l' : undefined);
  put(1, 'su', d.su ? true : undefined);
  put(0, 'tb', round(d.tb));
  return out;
}

/** The CMCD v1 query-argument value of CMCD-keyed data (URL-encoded; the URL gets `CMCD=` + this). */
export function encodeCmcdQuery(d) {
  return encodeURIComponent(v1Members(d).map((m) => m[1]).join(','));
}

/** The CMCD v1 headers of CMCD-keyed data (`CMCD-Object`, `-Request`, `-Session`, `-Status`; empty ones left out). */
export function encodeCmcdHeaders(d) {
  const h = {};
  for (const [shard, m] of v1Members(d)) h[SHARDS[shard]] = h[SHARDS[shard]] ? `${h[SHARDS[shard]]},${m}` : m;
  return Object.fromEntries(SHARDS.filter((n) => h[n]).map((n) => [n, h[n]]));
}

const known = (x) => (typeof x === 'number' && Number.isFinite(x) && x >= 0 ? x : undefined);

/**
 * The CMCD v1 writer of one view (one `sid`), made by livekpi/player's `attach` through the
 * registration below: `request(info, o, roomId)` for an adapter (`{ query }` or `{ headers }`
 * per `o.mode`), `query(...)` for `qoe.cmcdQuery`. From the monitor: `sid`, `su` (not started
 * or stalled) and `bs` (a stall running, or started since the previous request: one mark for
 * both); `cid` is fixed by the first request.
 */
function v1Writer(sessionId, metrics, video) {
  let st; // stream type once a playlist was read
  let cid;
  let seen = null; // stall count at the previous request
  const write = (info, headers, roomId, rtp, stream = st) => {
    const m = metrics();
    if (!m) return undefined;
    cid ??= String(roomId ?? '');
    const bs = m.stallOngoing || m.stallCount > (seen ?? 0);
    seen = m.stallCount;
    const rate = known(info.pr);
    const bl = known(info.bl);
    const d = {
      bl, br: known(info.br), bs, cid, d: known(info.d), mtp: known(info.mtp), nor: info.nor,
      dl: bl !== undefined && rate > 0 ? bl / rate : undefined, ot: OT[info.ot - 1], pr: rate,
      rtp: known(rtp), sf: 'h', sid: sessionId, st: stream, su: !m.started || m.stallOngoing, tb: known(info.tb),
    };
    return headers ? encodeCmcdHeaders(d) : encodeCmcdQuery(d);
  };
  return {
    request: (info, o = {}, roomId = '') => {
      if (info.live !== undefined) st = info.live ? 'l' : 'v';
      const headers = o.mode === 'headers';
      const v = write({ ...info, pr: video.playbackRate }, headers, o.contentId ?? roomId, o.rtpFactor > 0 ? info.br * o.rtpFactor : NaN);
      return !v ? undefined : headers ? (Object.keys(v).length ? { headers: v } : undefined) : { query: v };
    },
    query: (roomId, bl, mtp, tb, d) => write({ bl, tb, mtp, d }, false, roomId, NaN, 'l') ?? '',
  };
}

// livekpi/player finds the v1 writer here once this entry is loaded (no import between the two
// bundles): its `sink.cmcd` (the adapter's hook) and `qoe.cmcdQuery()` call it.
globalThis[Symbol.for('livekpi.cmcd.v1')] = v1Writer;

/**
 * An adapter for `attach` (next to `hlsjs(hls)`): CMCD v1 on every request of `hls`, in
 * `options.mode` 'query' (default) or 'headers'; `contentId` (default the `roomId`) and
 * `rtpFactor` as in docs/cmcd.md. Requests made before the wasm module is ready carry none.
 */
export function cmcdHls(hls, options = {}) {
  return (sink) => (sink.cmcd ? cmcdLoaders(hls, (info) => sink.cmcd(info, options)) : undefined);
}

// ---- CMCD v2 event reports ----

const MIME = 'application/cmcd';
const KEEPALIVE_MAX = 60 * 1024; // the keepalive budget is 64 KiB for the whole page
const MEDIA_EVENTS = ['play', 'playing', 'pause', 'waiting', 'seeking', 'seeked', 'ended', 'error', 'ratechange'];
const MAX_INT = 999_999_999_999_999; // largest RFC 8941 integer
const MEDIA_ERRORS = ['', 'MEDIA_ERR_ABORTED', 'MEDIA_ERR_NETWORK', 'MEDIA_ERR_DECODE', 'MEDIA_ERR_SRC_NOT_SUPPORTED'];

// ---- the v2 event-line encoder (the rules of src/cmcd: rounding, omission, order, quoting) ----

/** `x` rounded half up to a multiple of `step` when finite, ≥ 0 and an RFC 8941 integer; else undefined. */
const round = (x, step = 1) => {
  if (!(typeof x === 'number' && x >= 0 && Number.isFinite(x))) return undefined;
  const r = step === 1 ? Math.floor(x + 0.5) : Math.floor(x / 100 + 0.5) * 100;
  return r <= MAX_INT ? r : undefined;
};
/** An RFC 8941 decimal (thousandths rounded half to even), e.g. `2.0`, `0.5`, `1.25`. */
const decimal = (x) => {
  if (!(typeof x === 'number' && x >= 0 && Number.isFinite(x)) || x * 1000 >= 1e15) return undefined;
  const s = x * 1000;
  const f = Math.floor(s);
  const d = s - f;
  const m = d > 0.5 || (d === 0.5 && f % 2 === 1) ? f + 1 : f;
  if (m >= 1e15) return undefined;
  const frac = String(m % 1000).padStart(3, '0').replace(/0{1,2}$/, '');
  return `${Math.floor(m / 1000)}.${frac}`;
};
const text = (s, max) => typeof s === 'string' && s.length > 0 && s.length <= max && /^[\x20-\x7e]*$/.test(s);
const quote = (s) => `"${s.replace(/["\\]/g, '\\$&')}"`;
const list = (xs, step) => {
  const v = (Array.isArray(xs) ? xs : [xs]).map((x) => round(x, step)).filter((x) => x !== undefined);
  return v.length ? `(${v.join(' ')})` : undefined;
};

/**
 * One CMCD v2 event-mode line from CMCD-keyed data (raw numbers; inner-list keys as arrays or
 * numbers): keys in alphabetical order, integers rounded (`bl`, `mtp` to 100), invalid values
 * omitted, `pr` only when ≠ 1 (or on a `pr` event), `bg=?0` on a `b` event when not
 * backgrounded, `v=2` last. Undefined when `ts` is invalid or the event's state key is missing.
 */
export function encodeCmcdEvent(d) {
  const e = d.e;
  const ts = round(d.ts);
  const pr = decimal(d.pr);
  const ec = Array.isArray(d.ec) ? d.ec[0] : d.ec;
  const need = { ps: d.sta, pr, c: text(d.cid, 128) || undefined, bc: list(d.br), e: text(ec, 256) || undefined }[e];
  if (ts === undefined || !text(e, 8) || (e in { ps: 1, pr: 1, c: 1, bc: 1, e: 1 } && need === undefined)) return undefined;
  if (!(Number.isInteger(d.sn) && d.sn >= 0 && d.sn <= MAX_INT)) return undefined;
  const out = [];
  const put = (k, v) => { if (v !== undefined) out.push(v === true ? k : `${k}=${v}`); };
  put('bg', d.bg ? true : e === 'b' ? '?0' : undefined);
  put('bl', list(d.bl, 100));
  put('br', list(d.br));
  put('bs', d.bs ? true : undefined);
  put('bsa', list(d.bsa));
  put('bsd', list(d.bsd ?? []));
  put('bsda', list(d.bsda));
  put('cid', text(d.cid, 128) ? quote(d.cid) : undefined);
  put('dfa', round(d.dfa));
  put('e', e);
  put('ec', text(ec, 256) ? `(${quote(ec)})` : undefined);
  put('ltc', round(d.ltc));
  put('msd', round(d.msd));
  put('mtp', list(d.mtp, 100));
  put('pb', list(d.pb));
  put('pr', pr !== undefined && (pr !== '1.0' || e === 'pr') ? pr : undefined);
  put('pt', round(d.pt));
  put('sf', d.sf);
  put('sid', text(d.sid, 64) ? quote(d.sid) : undefined);
  put('sn', d.sn);
  put('st', d.st);
  put('sta', d.sta);
  put('tb', list(d.tb));
  put('ts', ts);
  put('v', 2);
  return out.join(',');
}

/**
 * CTA-5004-B `sta` from the monitor's metrics and the element's `paused` / `seeking` (the rule
 * of the crate's `cmcd::PlayState::from_metrics`): fatal error `f`, ended `e`, seeking `k`
 * (after start), rebuffering `r`, paused `a`, starting `s` (before the first frame), playing
 * `p`; undefined before any play intent.
 */
export function playState(m, paused, seeking) {
  if (m.startupFailure || m.playbackFailure) return 'f';
  if (m.ended) return 'e';
  if (seeking && m.started) return 'k';
  if (m.stallOngoing) return 'r';
  if (paused && (m.started || m.watchMs > 0)) return 'a';
  if (!m.started) return m.watchMs <= 0 && !m.autoplayBlocked ? undefined : 's';
  return 'p';
}

// ---- the reporter ----

/**
 * Starts CMCD v2 event reporting for the view measured by `qoe` (the handle of `attach`) on
 * `video`, to `options.url`. Returns { flush(interval), stop(), status() }, or null without a
 * url. Never throws.
 */
export function reportCmcdEvents(qoe, video, options = {}) {
  try {
    return start(qoe, video, options);
  } catch {
    return null;
  }
}

function start(qoe, video, options) {
  const url = options.url;
  if (!url) return null;
  const { hls } = options;
  const batchMs = Math.max(1000, options.batchMs ?? 10_000);
  const intervalMs = Math.max(1000, options.intervalMs ?? 30_000);
  const maxLines = Math.max(1, options.maxQueuedLines ?? 500);
  const base = {
    cid: options.contentId,
    sf: options.streamingFormat ?? (hls ? 'h' : undefined),
    st: options.streamType,
  };
  let queue = []; // report lines not yet acknowledged, oldest first
  let inflight = 0; // lines of the batch being sent (the head of the queue)
  let backoffMs = 0;
  let retryAt = 0;
  let retryTimer = 0;
  let stopped = false;
  let sid = null; // the view's session: a new one (source change) restarts sn, msd, bs and states
  let sn = 0;
  let msdSent = false;
  let stallsSeen = 0;
  let last = {};
  const counts = { sent: 0, acked: 0, failures: 0, dropped: 0, lines: 0 };

  const guard = (fn) => (...a) => {
    if (stopped) return undefined;
    try { return fn(...a); } catch { return undefined; }
  };
  const bufferMs = () => {
    const t = video.currentTime;
    const b = video.buffered;
    for (let i = 0; i < b.length; i++) if (b.start(i) <= t + 0.1 && t < b.end(i)) return (b.end(i) - t) * 1000;
    return 0;
  };
  const topKbps = () => {
    let top = 0;
    const max = hls.maxAutoLevel ?? -1;
    (hls.levels ?? []).forEach((l, i) => { if ((max < 0 || i <= max) && l.bitrate > top) top = l.bitrate; });
    return top / 1000 || undefined;
  };
  /** The view's state now, as CMCD-keyed data. */
  const data = (m) => {
    const failed = m.startupFailure || m.playbackFailure;
    const level = hls?.levels?.[hls.currentLevel];
    return {
      ...base,
      sid: qoe.sessionId,
      sta: playState(m, video.paused, video.seeking),
      bg: document.visibilityState === 'hidden',
      bl: [bufferMs()],
      br: level?.bitrate > 0 ? [level.bitrate / 1000] : undefined,
      tb: hls ? [topKbps()] : undefined,
      mtp: hls ? [hls.bandwidthEstimate / 1000] : undefined,
      pb: m.bitrateLastBps != null ? [m.bitrateLastBps / 1000] : undefined,
      ltc: m.latencyLastMs ?? undefined,
      pt: video.currentTime * 1000,
      pr: video.playbackRate,
      bsa: [m.stallCount],
      bsda: [m.stallMs],
      dfa: m.started ? m.droppedFrames : undefined,
      ec: failed ? MEDIA_ERRORS[m.failureCode] || undefined : undefined,
      startupMs: m.startupMs,
      starving: m.stallOngoing,
    };
  };
  const line = (d, e, ts) => {
    const l = encodeCmcdEvent({
      ...d, e, ts, sn, bs: d.bsa[0] > stallsSeen || d.starving, msd: msdSent ? undefined : d.startupMs ?? undefined,
    });
    if (l === undefined) return;
    queue.push(l);
    counts.lines++;
    sn++;
    stallsSeen = d.bsa[0];
    msdSent ||= d.startupMs != null;
  };
  const collect = guard((interval = false) => {
    const m = qoe.metrics();
    if (!m || !qoe.sessionId) return;
    if (qoe.sessionId !== sid) {
      sid = qoe.sessionId;
      sn = stallsSeen = 0;
      msdSent = false;
      last = { sta: undefined, br: undefined, bg: false, ec: '' };
    }
    const d = data(m);
    const ts = Date.now();
    const br = d.br && Math.floor(d.br[0] + 0.5);
    if (d.sta && d.sta !== last.sta) { last.sta = d.sta; line(d, 'ps', ts); }
    if (br !== undefined) { if (last.br !== undefined && br !== last.br) line(d, 'bc', ts); last.br = br; }
    if (d.bg !== last.bg) { last.bg = d.bg; line(d, 'b', ts); }
    if (d.ec && d.ec !== last.ec) line(d, 'e', ts);
    last.ec = d.ec ?? '';
    if (interval) line(d, 't', ts);
    const over = queue.length - maxLines;
    if (over > 0) {
      // Never drop the batch in flight (its ack removes it): drop the oldest after it.
      queue.splice(Math.min(inflight, queue.length - over), over);
      counts.dropped += over;
    }
  });
  const refusedForGood = (s) => s >= 400 && s < 500 && s !== 408 && s !== 429;
  const retryLater = () => {
    counts.failures++;
    backoffMs = Math.min(60_000, backoffMs ? backoffMs * 2 : 2_000);
    const wait = backoffMs * (0.5 + Math.random());
    retryAt = Date.now() + wait;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => { retryAt = 0; send(); }, wait);
  };
  const send = guard(async () => {
    if (inflight || !queue.length || Date.now() < retryAt) return;
    const n = queue.length;
    const body = queue.slice(0, n).join('\n');
    inflight = n;
    counts.sent++;
    try {
      const res = await fetch(url, {
        method: 'POST', body, headers: { 'content-type': MIME }, keepalive: body.length < KEEPALIVE_MAX,
      });
      if (res.ok || refusedForGood(res.status)) {
        if (res.ok) counts.acked++;
        queue.splice(0, n);
        backoffMs = retryAt = 0;
      } else {
        retryLater();
      }
    } catch {
      retryLater();
    } finally {
      inflight = 0;
    }
  });
  // Page hidden or closing: hand the queue to the browser now (a beacon outlives the page).
  const beacon = guard(() => {
    collect(false);
    if (!queue.length || inflight) return;
    const body = queue.join('\n');
    let queued = false;
    try { queued = navigator.sendBeacon?.(url, new Blob([body], { type: MIME })) ?? false; } catch { queued = false; }
    counts.sent++;
    if (!queued) fetch(url, { method: 'POST', body, headers: { 'content-type': MIME }, keepalive: true }).catch(() => {});
    queue = [];
  });

  const onMedia = () => collect(false);
  const onVisibility = guard(() => {
    collect(false);
    if (document.visibilityState === 'hidden') beacon();
  });
  const onPageHide = () => beacon();
  const onOnline = guard(() => { clearTimeout(retryTimer); retryAt = 0; send(); });
  for (const ev of MEDIA_EVENTS) video.addEventListener(ev, onMedia, { passive: true });
  document.addEventListener('visibilitychange', onVisibility);
  addEventListener('pagehide', onPageHide);
  addEventListener('online', onOnline);
  const poll = setInterval(onMedia, Math.max(250, options.pollMs ?? 1000));
  const tick = setInterval(guard(() => { collect(true); send(); }), intervalMs);
  const batch = setInterval(send, batchMs);

  return {
    /** Collects the events due (and a time-interval report with `interval`) and sends the queue now. */
    flush: guard((interval = false) => { collect(interval); send(); }),
    /** Stops reporting: sends what is queued (beacon) and removes every timer and listener. */
    stop: guard((sendQueued = true) => {
      if (sendQueued) beacon();
      stopped = true;
      clearInterval(poll);
      clearInterval(tick);
      clearInterval(batch);
      clearTimeout(retryTimer);
      for (const ev of MEDIA_EVENTS) video.removeEventListener(ev, onMedia);
      document.removeEventListener('visibilitychange', onVisibility);
      removeEventListener('pagehide', onPageHide);
      removeEventListener('online', onOnline);
    }),
    /** Delivery counters: batches sent / acknowledged, failures, lines made / dropped / queued. */
    status: () => ({ ...counts, queued: queue.length, backoffMs }),
  };
}
