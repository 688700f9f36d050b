// The live HLS origin of the local server: simulated live channels over the cached test media of
// www/media.mjs, with an exact ground-truth schedule for tests.
//
// Model. A channel has an encoder that "captured" segment 0 from t0 on; segment i is the media file
// i mod N (N = 120 one-second segments, looped with EXT-X-DISCONTINUITY), its first frame was captured
// at pdt(i) (its EXT-X-PROGRAM-DATE-TIME) and frame j of it at pdt(i) + j·40 ms; it is published (appears
// in the playlist, its URI stops answering 404) when its last frame has been captured, at
// pdt(i) + duration(i) = pdt(i + 1). A new channel is backdated by `backfill` segments so a full window
// can be played at once. All times are wall-clock ms (Date.now(); integers).
//   hold (mode=encoder, the default) — the encoder stalls: nothing more is published until release.
//              On release, if the next segment is overdue it is published at once and stamped as
//              captured in the last duration before the release (its PDT and every later PDT move
//              later by the overdue time, `shift_ms`): the PDT timeline has a gap of shift_ms. A viewer
//              that starved meanwhile resumes right at the live edge (latency ≈ one segment), with
//              no buffer, so a few short after-stalls (~20 ms) follow as it re-settles.
//   hold (mode=delivery) — the encoder keeps capturing but nothing is published until release,
//              when every overdue segment is published at once (PDTs unchanged, published_ms = the
//              release): the viewer stalls once and resumes with latency higher by its stall. This
//              is the mode for scripted stalls of a set length (tests/js/live-rig.test.mjs).
//   withhold — segment N (not yet published) is delivered `ms` late: published at natural + ms with
//              its PDT unchanged (a packager/CDN delay: latency rises). Later segments wait for it.
// Publishing is evaluated lazily from the clock (no timers), except for blocking playlist requests.
//
// Routes (127.0.0.1 only, through the server's hook; every JSON answer is `application/json`):
//   GET  /live/<name>.m3u8            sliding-window media playlist (auto-creates the channel);
//                                     with blocking on, `?_HLS_msn=M` waits until segment M is published
//                                     (or 9 s, then answers the unchanged playlist: hls.js then
//                                     polls every half target duration until the playlist moves)
//   GET  /live/<name>/<seq>.ts        a published segment, else 404
//   GET  /media/clip.mp4              20 s faststart MP4 (Range requests supported)
//   GET  /media/freeze.mp4, /media/broken.mp4   derived clips (www/media.mjs ensureDerived: frames
//                                     left out = render freezes; corrupt media data = decode error)
//   GET  /api/live/derived?file=freeze.mp4|broken.mp4   the truth of a derived clip (frame times, …)
//   GET  /api/live/media              the media manifest (params, per-file frames, barcode layout)
//   GET  /api/live/schedule?name=X[&from=SEQ]   the truth: see Channel.schedule()
//   POST /api/live/reset?name=X[&window=6&backfill=6&blocking=0|1&audio=1|0&ttfb=0]   a fresh channel starting now
//                                     (backdated by `backfill` segments; blocking adds
//                                     EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES for hls.js's blocking
//                                     reloads, so a released segment is fetched without polling delay;
//                                     audio=0 serves the same segments without their AAC track;
//                                     ttfb=MS holds every segment response MS before its headers)
//   POST /api/live/hold?name=X[&mode=encoder|delivery]           → { name, held, mode, at_ms, next_seq }
//   POST /api/live/release?name=X                                → { name, held, mode, at_ms, held_ms, shift_ms, next }
//   POST /api/live/withhold?name=X&seq=N&ms=T                    → { name, seq, ms }  (409 if N is out)
// `name` defaults to "main" and matches [A-Za-z0-9_-]{1,64}; at most 64 channels per server.
import { join } from 'node:path';
import { ensureDerived, ensureMedia, MEDIA_PARAMS, sendFile } from './media.mjs';

const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_CHANNELS = 64;
const MAX_TRUTH = 20_000; // published segments kept for /api/live/schedule (5.5 h at 1 s)
const BLOCK_TIMEOUT_MS = 9_000; // below hls.js's 10 s playlist time-to-first-byte limit

export class LiveChannel {
  constructor(name, media, { window = 6, backfill = 6, blocking = false, audio = true, ttfb = 0 } = {}, now = Date.now()) {
    this.name = name;
    this.media = media;
    this.files = media.segments;
    this.window = window;
    this.blocking = blocking;
    this.audio = audio;
    this.ttfb = ttfb; // ms each segment response waits before its headers
    this.targetDuration = Math.ceil(Math.max(...this.files.map((s) => s.duration_ms)) / 1000);
    let back = 0;
    for (let i = 0; i < backfill; i++) back += this.dur(i);
    this.t0 = now - back;
    this.created = now;
    this.published = []; // { seq, pdt_ms, published_ms, duration_ms, file_index, discontinuity_sequence }
    this.next = 0; // first unpublished seq
    this.nextPdt = this.t0; // its capture start
    this.lastPublished = -Infinity;
    this.held = false;
    this.heldAt = 0;
    this.holdMode = 'encoder';
    this.notBefore = -Infinity; // no publication before (a delivery hold's release)
    this.holds = []; // { mode, from_ms, to_ms, shift_ms, next_seq }
    this.withholds = new Map(); // seq → ms
    this.waiters = new Set(); // blocking playlist requests: { msn, done }
    this.timer = null;
    this.advance(now);
  }

  dur(seq) {
    return this.files[seq % this.files.length].duration_ms;
  }

  /** When the next segment will be published if nothing changes (Infinity while held). */
  nextDue() {
    if (this.held) return Infinity;
    const natural = this.nextPdt + this.dur(this.next);
    return Math.max(natural + (this.withholds.get(this.next) ?? 0), this.lastPublished, this.notBefore);
  }

  advance(now = Date.now()) {
    for (let due = this.nextDue(); due <= now; due = this.nextDue()) {
      const seq = this.next;
      const n = this.files.length;
      this.published.push({
        seq,
        pdt_ms: this.nextPdt,
        published_ms: due,
        duration_ms: this.dur(seq),
        file_index: seq % n,
        discontinuity_sequence: Math.floor(seq / n),
      });
      if (this.published.length > MAX_TRUTH) this.published.splice(0, this.published.length - MAX_TRUTH);
      this.withholds.delete(seq);
      this.lastPublished = due;
      this.nextPdt += this.dur(seq);
      this.next = seq + 1;
    }
    this.wake(now);
  }

  hold(now = Date.now(), mode = 'encoder') {
    this.advance(now);
    if (!this.held) {
      this.held = true;
      this.heldAt = now;
      this.holdMode = mode === 'delivery' ? 'delivery' : 'encoder';
    }
    return { name: this.name, held: true, mode: this.holdMode, at_ms: this.heldAt, next_seq: this.next };
  }

  release(now = Date.now()) {
    const mode = this.holdMode;
    if (!this.held) return { name: this.name, held: false, mode, at_ms: now, held_ms: 0, shift_ms: 0, next: this.nextInfo() };
    this.held = false;
    let shift = 0;
    if (mode === 'encoder') {
      shift = Math.max(0, now - (this.nextPdt + this.dur(this.next)));
      this.nextPdt += shift;
    } else {
      this.notBefore = now;
    }
    this.holds.push({ mode, from_ms: this.heldAt, to_ms: now, shift_ms: shift, next_seq: this.next });
    const out = { name: this.name, held: false, mode, at_ms: now, held_ms: now - this.heldAt, shift_ms: shift, next: this.nextInfo() };
    this.advance(now);
    return out;
  }

  withhold(seq, ms, now = Date.now()) {
    this.advance(now);
    if (seq < this.next) return null;
    this.withholds.set(seq, ms);
    this.wake(now);
    return { name: this.name, seq, ms };
  }

  nextInfo() {
    return { seq: this.next, pdt_ms: this.nextPdt, due_ms: Number.isFinite(this.nextDue()) ? this.nextDue() : null };
  }

  lastSeq() {
    return this.next - 1;
  }

  /** Resolves once segment `msn` is published, or after `timeoutMs`. */
  waitFor(msn, timeoutMs) {
    return new Promise((resolveWait) => {
      const w = { msn, done: null };
      const t = setTimeout(() => w.done(), timeoutMs);
      w.done = () => { clearTimeout(t); this.waiters.delete(w); resolveWait(); };
      this.waiters.add(w);
      this.wake(Date.now());
    });
  }

  /** Answers satisfied waiters and arms one timer for the next publication while any wait. */
  wake(now) {
    for (const w of [...this.waiters]) if (w.msn <= this.lastSeq()) w.done();
    clearTimeout(this.timer);
    this.timer = null;
    if (this.waiters.size === 0) return;
    const due = this.nextDue();
    if (Number.isFinite(due)) this.timer = setTimeout(() => this.advance(Date.now()), Math.max(0, due - now));
  }

  close() {
    clearTimeout(this.timer);
    for (const w of [...this.waiters]) w.done();
  }

  playlist(now = Date.now()) {
    this.advance(now);
    const win = this.published.slice(-this.window);
    const n = this.files.length;
    const first = win.length ? win[0].seq : this.next;
    const lines = ['#EXTM3U', '#EXT-X-VERSION:6', `#EXT-X-TARGETDURATION:${this.targetDuration}`];
    if (this.blocking) lines.push(`#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,HOLD-BACK=${(3 * this.targetDuration).toFixed(1)}`);
    lines.push(`#EXT-X-MEDIA-SEQUENCE:${first}`, `#EXT-X-DISCONTINUITY-SEQUENCE:${Math.floor(first / n)}`,
      '#EXT-X-INDEPENDENT-SEGMENTS');
    for (const s of win) {
      if (s.file_index === 0 && s.seq !== first) lines.push('#EXT-X-DISCONTINUITY');
      lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.pdt_ms).toISOString()}`,
        `#EXTINF:${(s.duration_ms / 1000).toFixed(3)},`, `${this.name}/${s.seq}.ts`);
    }
    return lines.join('\n') + '\n';
  }

  schedule(now = Date.now(), from = -Infinity) {
    this.advance(now);
    return {
      name: this.name,
      now_ms: now,
      t0_ms: this.t0,
      created_ms: this.created,
      target_duration_s: this.targetDuration,
      window: this.window,
      blocking: this.blocking,
      audio: this.audio,
      ttfb_ms: this.ttfb,
      held: this.held,
      held_since_ms: this.held ? this.heldAt : null,
      hold_mode: this.held ? this.holdMode : null,
      frame_ms: this.media.frame_ms,
      files: this.files.length,
      next: this.nextInfo(),
      holds: this.holds,
      withholds: [...this.withholds].map(([seq, ms]) => ({ seq, ms })),
      segments: this.published.filter((s) => s.seq >= from),
    };
  }
}

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/**
 * Creates the origin for one server. `handle(req, res, url)` answers the routes above and returns
 * true, or returns false for any other path. Media are generated on first use (await `ready()` first
 * in tests: the first generation takes ~8 s).
 */
export function createLiveOrigin({ params = MEDIA_PARAMS } = {}) {
  const channels = new Map();
  const ready = () => ensureMedia(params);

  async function channel(name, create) {
    const media = await ready();
    let ch = channels.get(name);
    if (!ch || create) {
      if (!ch && channels.size >= MAX_CHANNELS) throw Object.assign(new Error('too many channels'), { status: 429 });
      ch?.close();
      ch = new LiveChannel(name, media, create ?? {});
      channels.set(name, ch);
    }
    return ch;
  }

  async function route(req, res, url) {
    const p = url.pathname;
    const q = url.searchParams;
    const name = q.get('name') ?? 'main';
    const post = req.method === 'POST';
    let m;
    if (p === '/media/clip.mp4') {
      const media = await ready();
      return sendFile(req, res, join(media.dir, media.clip), 'video/mp4');
    }
    if (p === '/media/freeze.mp4' || p === '/media/broken.mp4') {
      const { file } = await ensureDerived(await ready(), p.slice('/media/'.length));
      return sendFile(req, res, file, 'video/mp4');
    }
    if ((m = /^\/live\/([^/]+)\.m3u8$/.exec(p))) {
      if (!NAME.test(m[1])) return json(res, 404, { error: 'bad channel name' });
      const ch = await channel(m[1]);
      const msn = q.has('_HLS_msn') ? Number(q.get('_HLS_msn')) : null;
      if (ch.blocking && Number.isInteger(msn)) {
        ch.advance();
        if (msn > ch.lastSeq() + 2) return json(res, 400, { error: '_HLS_msn too far ahead' });
        if (msn > ch.lastSeq()) await ch.waitFor(msn, BLOCK_TIMEOUT_MS);
      }
      const body = ch.playlist();
      res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl', 'cache-control': 'no-store' });
      return res.end(body);
    }
    if ((m = /^\/live\/([^/]+)\/(\d+)\.ts$/.exec(p))) {
      const ch = NAME.test(m[1]) ? channels.get(m[1]) : undefined;
      const seq = Number(m[2]);
      ch?.advance();
      if (!ch || seq > ch.lastSeq() || seq < ch.published[0]?.seq) return json(res, 404, { error: 'no such segment' });
      const f = ch.files[seq % ch.files.length];
      if (ch.ttfb > 0) await new Promise((r) => setTimeout(r, ch.ttfb));
      return sendFile(req, res, join(ch.media.dir, ch.audio ? f.file : f.video_only_file), 'video/mp2t');
    }
    if (!p.startsWith('/api/live/')) return json(res, 404, { error: 'not found' });
    if (!NAME.test(name)) return json(res, 400, { error: 'bad channel name' });
    const action = p.slice('/api/live/'.length);
    if (action === 'media' && !post) {
      const { dir, ...media } = await ready();
      return json(res, 200, media);
    }
    if (action === 'derived' && !post) {
      const file = q.get('file');
      if (file !== 'freeze.mp4' && file !== 'broken.mp4') return json(res, 404, { error: 'no such derived media' });
      return json(res, 200, (await ensureDerived(await ready(), file)).truth);
    }
    if (action === 'schedule' && !post) {
      const from = q.has('from') ? Number(q.get('from')) : -Infinity;
      return json(res, 200, (await channel(name)).schedule(Date.now(), from));
    }
    if (!post) return json(res, 405, { error: 'use POST' });
    if (action === 'reset') {
      const int = (k, d, lo, hi) => {
        const v = Number.parseInt(q.get(k) ?? '', 10);
        return Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : d;
      };
      const opts = { window: int('window', 6, 2, 60), backfill: int('backfill', 6, 0, 100_000), blocking: q.get('blocking') === '1',
        audio: q.get('audio') !== '0', ttfb: int('ttfb', 0, 0, 5000) };
      return json(res, 200, (await channel(name, opts)).schedule());
    }
    if (action === 'hold') return json(res, 200, (await channel(name)).hold(Date.now(), q.get('mode') ?? 'encoder'));
    if (action === 'release') return json(res, 200, (await channel(name)).release());
    if (action === 'withhold') {
      const seq = Number(q.get('seq'));
      const ms = Number(q.get('ms'));
      if (!Number.isInteger(seq) || !(ms >= 0)) return json(res, 400, { error: 'need seq and ms' });
      const out = (await channel(name)).withhold(seq, Math.round(ms));
      return out ? json(res, 200, out) : json(res, 409, { error: 'segment already published' });
    }
    return json(res, 404, { error: 'unknown live action' });
  }

  return {
    ready,
    channels,
    /** Answers a live/media route (true) or leaves the request alone (false). */
    handle(req, res, url) {
      const p = url.pathname;
      if (!(p.startsWith('/media/') || p.startsWith('/live/') || p.startsWith('/api/live/'))) return false;
      route(req, res, url).catch((e) => {
        if (!res.headersSent) json(res, e.status ?? 500, { error: e.message });
        else res.destroy();
      });
      return true;
    },
    close() {
      for (const ch of channels.values()) ch.close();
    },
  };
}
