#!/usr/bin/env node
// The reference summary collector: accepts the viewers' binary summaries (livekpi/player), merges
// them with the Node build of livekpi/console (SummaryMerger: de-duplication by (session, seq),
// room / region / minute aggregates with DataSketches sketches), and acknowledges a summary only
// once it is durable. See docs/collector.md.
//
// Durability. Every applied summary is appended to `<logDir>/summaries.log` and fsync'd before
// any 2xx goes back (group commit: the summaries that arrived in one event-loop turn share one
// write + fsync). On start the log is replayed into a fresh merger (the merger is deterministic,
// so the state is the same as before the stop), and a torn tail (a record cut by a crash or with
// a bad checksum) is truncated. kill -9 at any moment therefore loses nothing acknowledged, and
// since the merger de-duplicates by (session, seq), a resent summary counts once. Duplicates and
// superseded summaries are acknowledged (200) but not logged: what they repeat is in the log.
//   file   = "LKCLOG1\n" record*
//   record = u32le n | u32le crc32(payload) | payload (n bytes)
//   payload = u8 r | region (r bytes of UTF-8) | summary bytes
// If an append or fsync fails, the in-memory state is rebuilt from the log (so it never holds
// anything unacknowledgeable) and the batch is answered 503.
//
// Security (docs/collector.md, "Security"), checked in this order for POST /api/summary, each
// before the body is read:
//   origin      a browser `Origin` must be the collector's own or in `allowedOrigins` (403
//               origin_not_allowed); CORS preflights answered for allowed origins only.
//   token       auth "token": a per-room ingest token `v1.<b64url room>.<exp s>.<b64url origin>.
//               <b64url HMAC-SHA256>` in `Authorization: Bearer` or `?token=` (sendBeacon cannot
//               set headers); 401 token_missing / token_malformed / token_invalid /
//               token_expired, 403 token_origin / wrong_room; the summary's own room id must be
//               the token's (403 wrong_room). auth "open" (dev, the demo): no token.
//   rate        token bucket per (client address, room), 429 rate_limited + Retry-After; the
//               bucket table is capped (least recently used evicted).
//   size        > maxBodyBytes → 413, streamed bodies cut off without buffering them.
// Nothing from the request is ever echoed: error messages are fixed strings per code, the ack
// carries only the validated session id and numbers, JSON has `<`, `>`, `&` escaped, and every
// answer is `application/json` (the NDJSON export `application/x-ndjson`) with `nosniff`.
//
// Routes (127.0.0.1 only):
//   POST /api/summary[?room=R][&token=T]   body = one binary summary (≤ 8192 bytes); region from
//                                the `x-region` header (default "unknown"). 200 {status, session,
//                                seq, is_final} (status applied | duplicate | superseded: all are
//                                acks); 400 {code, field, message} for a malformed summary or a
//                                room / region mismatch; 401 / 403 (above); 409 for one that
//                                conflicts with the session's history (base_regressed,
//                                unknown_base, non_monotone, overflow, after_final); 413 over the
//                                size limit; 429; 405 other methods; 503 when the log cannot be
//                                written.
//   OPTIONS /api/summary         CORS preflight (allowed origins: 204, others: 403 no CORS)
//   GET  /api/collector/stats    {collector, merger: MergerStats, http, log, security}
//   GET  /api/collector/rooms[?room=R]   RoomView[] (or one RoomView, 404 if unknown)
//   GET  /api/collector/export[?format=ndjson|json[&room=R]]   rows per room / region / minute with base64
//                                DataSketches columns (NDJSON by default)
// CLI: node www/collector.mjs [--port 8090] [--log-dir target/collector] [--id collector]
//        [--auth token|open] [--allow-origin https://a.example[,https://b.example]]
//        [--rate 10] [--burst 100] [--max-buckets 10000] [--no-rate-limit]
//      prints "collector listening <url>" once ready. Secret: env LIVEKPI_COLLECTOR_SECRET.
//      node www/collector.mjs --issue-token ROOM [--ttl-s 86400] [--origin https://a.example]
//      prints a token (for a host's backend without Node code of its own).
import { createServer } from 'node:http';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  closeSync, fsyncSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readFileSync, existsSync,
  rmSync, unlinkSync, writeFileSync, writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { crc32 } from 'node:zlib';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SummaryMerger } from '../pkg/console/node.js';

/** Largest accepted body: the summary format's own limit (docs/summary-format.md). */
export const MAX_BODY_BYTES = 8192;
/** Environment variable holding the token secret (≥ 32 bytes). */
export const SECRET_ENV = 'LIVEKPI_COLLECTOR_SECRET';
/** Default rate limit (per client address and room) when one is on. */
export const DEFAULT_RATE_LIMIT = Object.freeze({ rate: 10, burst: 100, maxBuckets: 10_000 });
const HEADER = Buffer.from('LKCLOG1\n');
const CONFLICTS = new Set(['base_regressed', 'unknown_base', 'non_monotone', 'overflow', 'after_final']);
const ROOM_MAX_BYTES = 64; // the summary format's room id limit
const TOKEN_MAX_CHARS = 1024;
const TOKEN_MAX_TTL_MS = 400 * 86_400_000;
const MAC_CONTEXT = 'livekpi collector ingest token\n';
const DRAIN_CAP_BYTES = 64 * 1024; // a refused body is read (and dropped) up to this, then cut off
const DRAIN_TIMEOUT_MS = 5_000;
const SAFE_NAME = /^[a-z_]{1,40}$/;
const REGION_OK = /^[\p{L}\p{N}._:/ -]+$/u;

/** Fixed descriptions per rejection code: messages never carry request data. */
const REASONS = {
  oversized: 'body longer than the size limit',
  truncated: 'summary truncated inside a field',
  bad_magic: 'not a livekpi summary',
  unsupported_version: 'summary version not supported',
  reserved_flags: 'reserved flag bits set',
  bad_varint: 'malformed varint',
  bad_room_id: 'room id empty, too long or not UTF-8',
  bad_sequence: 'sequence numbers out of range',
  bad_time: 'time out of range',
  absurd_value: 'value out of its plausible range',
  bad_wire_type: 'wrong wire type or unknown field',
  duplicate_field: 'field repeated',
  bad_tag: 'fields out of order or bad tag',
  base_regressed: 'base older than the acknowledged base',
  unknown_base: 'base sequence never applied here',
  non_monotone: 'cumulative value decreased',
  overflow: 'counter overflow',
  bad_region: 'region empty, longer than 64 bytes or with characters outside letters, digits and . _ : / - space',
  after_final: 'summary after the final one of the session',
  room_mismatch: 'room_id differs from the room the summary was sent to',
  out_of_window: 'summary end time too far from the collector clock',
  wrong_room: 'the room is not the room of the ingest token',
  token_missing: 'an ingest token is required (Authorization: Bearer, or the token query argument)',
  token_malformed: 'the ingest token is malformed',
  token_invalid: 'the ingest token signature is not valid',
  token_expired: 'the ingest token has expired',
  token_origin: 'the ingest token is bound to another origin',
  origin_not_allowed: 'requests from this origin are not allowed',
  rate_limited: 'too many summaries from this client for this room, retry after Retry-After seconds',
  log_unavailable: 'the summary log could not be written, retry later',
  method: 'method not allowed',
};
const reason = (code, field) => {
  const c = SAFE_NAME.test(code) ? code : 'rejected';
  const f = SAFE_NAME.test(field) ? field : 'summary';
  return { code: c, field: f, message: `${c}: ${REASONS[c] ?? 'the summary was rejected'} (field \`${f}\`)` };
};

/** JSON with `<`, `>`, `&`, U+2028/9 escaped: inert even if a client sniffs it as HTML. */
const safeJson = (text) => text.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
const BASE_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
};

function json(res, status, body, extra = {}) {
  const text = safeJson(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json', ...BASE_HEADERS, ...extra });
  res.end(text);
}

// ---- ingest tokens ------------------------------------------------------------------------

function secretKey(secret) {
  const key = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret ?? []);
  if (key.length < 32) throw new Error(`collector: the token secret must be at least 32 bytes (${SECRET_ENV})`);
  return key;
}
const mac = (key, payload) => createHmac('sha256', key).update(MAC_CONTEXT).update(payload).digest();
function canonicalOrigin(origin) {
  let u;
  try {
    u = new URL(origin);
  } catch {
    throw new TypeError('collector: an origin is scheme://host[:port]');
  }
  if (u.origin === 'null' || u.origin !== origin) throw new TypeError('collector: an origin is scheme://host[:port] (no path, no trailing slash)');
  return u.origin;
}

/**
 * An ingest token for `room`, valid `ttlMs` from `now`, optionally bound to a page origin:
 * `v1.<base64url room>.<expiry, unix seconds>.<base64url origin or empty>.<base64url mac>`,
 * mac = HMAC-SHA256(secret, context ‖ everything before the last dot). The secret defaults to
 * the LIVEKPI_COLLECTOR_SECRET environment variable (the collector's own).
 */
export function issueToken(room, ttlMs, { secret = process.env[SECRET_ENV], origin, now = Date.now() } = {}) {
  if (!secret) throw new Error(`issueToken: no secret (set ${SECRET_ENV} or pass { secret })`);
  const key = secretKey(secret);
  if (typeof room !== 'string' || room.length === 0 || Buffer.byteLength(room) > ROOM_MAX_BYTES) {
    throw new TypeError(`issueToken: room must be 1..${ROOM_MAX_BYTES} bytes of UTF-8`);
  }
  if (!Number.isFinite(ttlMs) || ttlMs <= 0 || ttlMs > TOKEN_MAX_TTL_MS) throw new RangeError('issueToken: ttlMs must be in (0, 400 days]');
  const o = origin === undefined ? '' : canonicalOrigin(origin);
  const exp = Math.ceil((now + ttlMs) / 1000);
  const payload = `v1.${Buffer.from(room, 'utf8').toString('base64url')}.${exp}.${Buffer.from(o, 'utf8').toString('base64url')}`;
  return `${payload}.${mac(key, payload).toString('base64url')}`;
}

const TOKEN_SHAPE = /^v1\.([A-Za-z0-9_-]{2,88})\.([1-9][0-9]{0,11})\.([A-Za-z0-9_-]{0,400})\.([A-Za-z0-9_-]{43})$/;
/**
 * Checks a token: { ok: true, room, expiresMs, origin|null } or { ok: false, status, code }.
 * The signature is compared in constant time, before anything in the token is trusted.
 */
export function verifyToken(token, { secret = process.env[SECRET_ENV], now = Date.now() } = {}) {
  const key = secretKey(secret);
  if (typeof token !== 'string' || token.length > TOKEN_MAX_CHARS) return { ok: false, status: 401, code: 'token_malformed' };
  const m = TOKEN_SHAPE.exec(token);
  if (!m) return { ok: false, status: 401, code: 'token_malformed' };
  const got = Buffer.from(m[4], 'base64url');
  const want = mac(key, token.slice(0, token.length - m[4].length - 1));
  if (got.length !== want.length || !timingSafeEqual(got, want)) return { ok: false, status: 401, code: 'token_invalid' };
  const room = Buffer.from(m[1], 'base64url').toString('utf8');
  const origin = Buffer.from(m[3], 'base64url').toString('utf8');
  const expiresMs = Number(m[2]) * 1000;
  if (!(now < expiresMs)) return { ok: false, status: 401, code: 'token_expired' };
  return { ok: true, room, expiresMs, origin: origin || null };
}

// ---- rate limiting ------------------------------------------------------------------------

/**
 * Token buckets (`rate` per second, up to `burst`) in a Map kept in least-recently-used order;
 * at `maxBuckets` the least recently used bucket is dropped (its client starts again full).
 */
export function createRateLimiter({ rate = DEFAULT_RATE_LIMIT.rate, burst = DEFAULT_RATE_LIMIT.burst, maxBuckets = DEFAULT_RATE_LIMIT.maxBuckets, clock = () => performance.now() } = {}) {
  if (!(rate > 0) || !(burst >= 1) || !(Number.isInteger(maxBuckets) && maxBuckets >= 1)) {
    throw new RangeError('collector: rateLimit needs rate > 0, burst ≥ 1, maxBuckets ≥ 1 (integer)');
  }
  const buckets = new Map();
  const st = { rate, burst, max_buckets: maxBuckets, buckets: 0, evicted: 0, limited: 0 };
  return {
    /** Takes one token for `key`: 0 if allowed, else the milliseconds until one is available. */
    take(key) {
      const t = clock();
      let b = buckets.get(key);
      if (b) {
        buckets.delete(key);
        b.tokens = Math.min(burst, b.tokens + ((t - b.t) * rate) / 1000);
        b.t = t;
      } else {
        b = { tokens: burst, t };
        while (buckets.size >= maxBuckets) {
          buckets.delete(buckets.keys().next().value);
          st.evicted += 1;
        }
      }
      buckets.set(key, b);
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return 0;
      }
      st.limited += 1;
      return Math.ceil(((1 - b.tokens) * 1000) / rate);
    },
    stats: () => ({ ...st, buckets: buckets.size }),
  };
}

/** Takes `<dir>/collector.lock` for this process (refuses a live other owner). */
function lock(dir) {
  const file = join(dir, 'collector.lock');
  if (existsSync(file)) {
    const pid = Number(readFileSync(file, 'utf8'));
    let alive = false;
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
      try {
        process.kill(pid, 0);
        alive = true;
      } catch (e) {
        alive = e.code === 'EPERM';
      }
    }
    if (alive) throw new Error(`collector: ${dir} is in use by process ${pid}`);
  }
  writeFileSync(file, String(process.pid));
  return file;
}

/** Reads the log: the valid records and the offset after the last one. */
function readLog(path) {
  let buf;
  try {
    buf = readFileSync(path);
  } catch (e) {
    if (e.code === 'ENOENT') return { records: [], end: 0, size: 0 };
    throw e;
  }
  if (buf.length < HEADER.length || !buf.subarray(0, HEADER.length).equals(HEADER)) {
    if (HEADER.subarray(0, buf.length).equals(buf)) return { records: [], end: 0, size: buf.length }; // torn header
    throw new Error(`collector: ${path} is not a collector log`);
  }
  const records = [];
  let pos = HEADER.length;
  while (pos + 8 <= buf.length) {
    const n = buf.readUInt32LE(pos);
    const sum = buf.readUInt32LE(pos + 4);
    if (n < 1 || n > 1 + 255 + MAX_BODY_BYTES || pos + 8 + n > buf.length) break;
    const payload = buf.subarray(pos + 8, pos + 8 + n);
    if (crc32(payload) !== sum) break;
    const r = payload[0];
    if (1 + r > n) break;
    records.push({ region: payload.subarray(1, 1 + r).toString('utf8'), bytes: payload.subarray(1 + r) });
    pos += 8 + n;
  }
  return { records, end: pos, size: buf.length };
}

function record(region, bytes) {
  const r = Buffer.from(region, 'utf8');
  const payload = Buffer.concat([Buffer.from([r.length]), r, bytes]);
  const head = Buffer.alloc(8);
  head.writeUInt32LE(payload.length, 0);
  head.writeUInt32LE(crc32(payload), 4);
  return Buffer.concat([head, payload]);
}

/**
 * A collector over the log directory `logDir` (created if missing). Returns
 * { handle(req, res, url) → boolean, merger(), stats(), issueToken(room, ttlMs, {origin}), close() }.
 *
 * Security options (docs/collector.md):
 *   auth            'token' (a per-room ingest token on every POST) or 'open' (no token: dev and
 *                   the demo). Default 'token' when a secret is configured, else 'open' — and
 *                   with NODE_ENV=production a missing secret is an error unless auth is 'open'.
 *   secret          HMAC key (≥ 32 bytes; default env LIVEKPI_COLLECTOR_SECRET; auth 'token'
 *                   without one: a random key per process, tokens from `collector.issueToken`).
 *   allowedOrigins  exact browser origins allowed besides the collector's own (default none).
 *   allowSameOrigin accept the collector's own origin (Origin host = Host) (default true).
 *   rateLimit       { rate, burst, maxBuckets } | false; default DEFAULT_RATE_LIMIT with auth
 *                   'token', off with auth 'open' (key: client address and token room; with auth
 *                   'open', client address only, as the room is unauthenticated).
 *   clientAddress   (req) → string, the rate-limit client (default the socket's peer address;
 *                   behind a trusted proxy, take it from the proxy's header here).
 */
export function createCollector({
  logDir, collectorId = 'collector', maxBodyBytes = MAX_BODY_BYTES,
  auth, secret, allowedOrigins = [], allowSameOrigin = true, rateLimit, clientAddress,
  now = Date.now, merger: mergerOptions = {},
} = {}) {
  if (!logDir) throw new Error('createCollector: logDir is required');
  const configured = secret ?? process.env[SECRET_ENV];
  const mode = auth ?? (configured ? 'token' : 'open');
  if (mode !== 'token' && mode !== 'open') throw new Error("createCollector: auth is 'token' or 'open'");
  if (mode === 'open' && auth === undefined && process.env.NODE_ENV === 'production') {
    throw new Error(`createCollector: NODE_ENV=production without ${SECRET_ENV}: set the secret, or pass auth 'open' explicitly`);
  }
  const key = mode === 'token' ? (configured ? secretKey(configured) : randomBytes(32)) : null;
  const origins = new Set([...allowedOrigins].map(canonicalOrigin));
  const limiter = rateLimit === false ? null
    : rateLimit || mode === 'token' ? createRateLimiter({ ...DEFAULT_RATE_LIMIT, ...(rateLimit || {}) }) : null;
  const addressOf = clientAddress ?? ((req) => req.socket.remoteAddress ?? '');
  // the time window is enforced (server time passed to ingest) when one of its bounds is set
  const windowed = mergerOptions.windowPastMs !== undefined || mergerOptions.windowFutureMs !== undefined;

  const dir = resolve(logDir);
  mkdirSync(dir, { recursive: true });
  const lockFile = lock(dir);
  const logPath = join(dir, 'summaries.log');
  const http = { requests: 0, acked: 0, rejected: 0, by_status: {}, by_code: {}, refused_body_bytes: 0, cut_off: 0 };
  const log = { path: logPath, records: 0, bytes: 0, replayed: 0, replay_rejected: 0, truncated_bytes: 0, batches: 0, fsyncs: 0, failures: 0 };
  let merger;
  let fd;

  /** (Re)opens the log, truncating a torn tail, and replays it into a fresh merger. */
  function open() {
    if (fd !== undefined) {
      try { closeSync(fd); } catch { /* already broken */ }
    }
    const { records, end, size } = readLog(logPath);
    fd = openSync(logPath, existsSync(logPath) ? 'r+' : 'w+');
    if (end === 0) {
      ftruncateSync(fd, 0);
      writeSync(fd, HEADER, 0, HEADER.length, 0);
    } else if (end < size) {
      ftruncateSync(fd, end);
    }
    log.truncated_bytes += size - end;
    fsyncSync(fd);
    closeSync(fd);
    const dfd = openSync(dir, 'r'); // make the file's directory entry durable too
    try { fsyncSync(dfd); } catch { /* some filesystems refuse directory fsync */ } finally { closeSync(dfd); }
    fd = openSync(logPath, 'a');
    merger?.free();
    // caps and time window (maxRegionsPerRoom, maxMinuteRowsPerRoom, windowPastMs,
    // windowFutureMs: SummaryMergerOptions); the log replay below passes no server time, so
    // what was acknowledged is applied again whenever the collector restarts
    merger = new SummaryMerger({ ...mergerOptions, collector: collectorId });
    log.replayed = 0;
    for (const r of records) {
      try {
        merger.ingest(r.bytes, r.region);
        log.replayed += 1;
      } catch {
        log.replay_rejected += 1;
      }
    }
    log.records = records.length;
    log.bytes = Math.max(end, HEADER.length);
  }
  open();

  let pending = []; // { rec?: Buffer, res, body, headers }
  let scheduled = false;
  function flush() {
    scheduled = false;
    const batch = pending;
    pending = [];
    const recs = batch.filter((p) => p.rec).map((p) => p.rec);
    let ok = true;
    if (recs.length > 0) {
      try {
        const buf = Buffer.concat(recs);
        let off = 0;
        while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
        fsyncSync(fd);
        log.fsyncs += 1;
        log.records += recs.length;
        log.bytes += buf.length;
      } catch {
        ok = false;
        log.failures += 1;
        try { open(); } catch { /* stays broken: later writes fail too */ }
      }
    }
    log.batches += 1;
    for (const p of batch) {
      if (ok) {
        http.acked += 1;
        count(200);
        json(p.res, 200, p.body, p.headers);
      } else {
        reject(p.res, 503, 'log_unavailable', 'log', p.headers);
      }
    }
  }

  function count(status, code) {
    http.by_status[status] = (http.by_status[status] ?? 0) + 1;
    if (code) http.by_code[code] = (http.by_code[code] ?? 0) + 1;
  }
  /** A rejection: a fixed message for `code`, never anything from the request. */
  function reject(res, status, code, field, headers = {}) {
    const body = reason(code, field);
    http.rejected += 1;
    count(status, body.code);
    json(res, status, body, headers);
  }
  /**
   * Rejects a request whose body is not (or no longer) wanted: the answer goes out at once; the
   * body is dropped as it arrives up to DRAIN_CAP_BYTES (so a small one leaves the connection
   * reusable), then reading stops and the connection is cut: nothing is buffered.
   */
  function refuse(req, res, status, code, field, headers) {
    reject(res, status, code, field, headers);
    let dropped = 0;
    const cut = () => {
      http.cut_off += 1;
      req.removeAllListeners('data');
      req.pause();
      req.socket?.end(); // FIN after the answer: the client reads it, then sees the close
      setTimeout(() => req.socket?.destroy(), 1000).unref();
    };
    const timer = setTimeout(() => { if (!req.complete) cut(); }, DRAIN_TIMEOUT_MS);
    timer.unref();
    req.on('data', (c) => {
      dropped += c.length;
      http.refused_body_bytes += c.length;
      if (dropped > DRAIN_CAP_BYTES) {
        clearTimeout(timer);
        cut();
      }
    });
    req.on('end', () => clearTimeout(timer));
    req.on('error', () => req.socket?.destroy());
  }

  function accept(res, bytes, region, room, tokenRoom, headers) {
    let outcome;
    try {
      outcome = merger.ingest(bytes, region, tokenRoom ?? room, windowed ? now() : undefined);
    } catch (e) {
      if (e?.name !== 'LivekpiError') throw e;
      if (tokenRoom !== undefined && e.code === 'room_mismatch') return reject(res, 403, 'wrong_room', 'room_id', headers);
      const status = e.code === 'oversized' ? 413 : CONFLICTS.has(e.code) ? 409 : 400;
      return reject(res, status, e.code, e.field, headers);
    }
    // The ack: only what the player needs, all validated (hex session id, integers, booleans).
    const body = { status: outcome.status, session: outcome.session, seq: outcome.seq, is_final: outcome.is_final };
    pending.push({ rec: outcome.status === 'applied' ? record(region, bytes) : null, res, body, headers });
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  }

  /** The request's browser origin: allowed? cross-origin (so CORS headers are due)? */
  function originOf(req) {
    const origin = req.headers.origin;
    if (origin === undefined) return { origin: null, ok: true, cross: false };
    if (origins.has(origin)) return { origin, ok: true, cross: true };
    if (allowSameOrigin && origin !== 'null') {
      try {
        if (new URL(origin).host === req.headers.host) return { origin, ok: true, cross: false };
      } catch { /* malformed: not allowed */ }
    }
    return { origin, ok: false, cross: true };
  }
  const corsHeaders = (o) => (o.cross && o.ok
    ? { 'access-control-allow-origin': o.origin, 'access-control-allow-credentials': 'true', vary: 'Origin' }
    : { vary: 'Origin' });

  function preflight(req, res, o) {
    count(o.ok ? 204 : 403, o.ok ? undefined : 'origin_not_allowed');
    if (!o.ok || !o.cross) {
      if (!o.ok) http.rejected += 1;
      res.writeHead(o.ok ? 204 : 403, o.ok ? { ...BASE_HEADERS, allow: 'POST, OPTIONS' } : { 'content-type': 'application/json', ...BASE_HEADERS, vary: 'Origin' });
      res.end(o.ok ? undefined : safeJson(JSON.stringify(reason('origin_not_allowed', 'origin'))));
      return;
    }
    res.writeHead(204, {
      ...BASE_HEADERS,
      ...corsHeaders(o),
      'access-control-allow-methods': 'POST',
      'access-control-allow-headers': 'authorization, content-type, x-region',
      'access-control-max-age': '600',
    });
    res.end();
  }

  function postSummary(req, res, url, o) {
    const headers = corsHeaders(o);
    const address = addressOf(req);
    let tokenRoom;
    if (mode === 'token') {
      const bearer = /^Bearer +([^ ]+) *$/i.exec(req.headers.authorization ?? '');
      const token = bearer ? bearer[1] : url.searchParams.get('token');
      let failure;
      if (token === null || token === '') failure = { status: 401, code: 'token_missing', field: 'authorization' };
      else {
        const v = verifyToken(token, { secret: key, now: now() });
        if (!v.ok) failure = { status: v.status, code: v.code, field: 'token' };
        else if (v.origin !== null && v.origin !== o.origin) failure = { status: 403, code: 'token_origin', field: 'origin' };
        else if (url.searchParams.has('room') && url.searchParams.get('room') !== v.room) failure = { status: 403, code: 'wrong_room', field: 'room' };
        else tokenRoom = v.room;
      }
      if (failure) {
        // Failed attempts spend from the client's unauthenticated bucket: guessing is throttled.
        const wait = limiter?.take(`${address}\u0000`) ?? 0;
        if (wait > 0) return refuse(req, res, 429, 'rate_limited', 'client', { ...headers, 'retry-after': String(Math.ceil(wait / 1000)) });
        return refuse(req, res, failure.status, failure.code, failure.field, failure.status === 401 ? { ...headers, 'www-authenticate': 'Bearer realm="livekpi-collector"' } : headers);
      }
    }
    if (limiter) {
      const wait = limiter.take(`${address}\u0000${tokenRoom ?? '*'}`);
      if (wait > 0) return refuse(req, res, 429, 'rate_limited', 'client', { ...headers, 'retry-after': String(Math.ceil(wait / 1000)) });
    }
    const room = url.searchParams.get('room') ?? undefined;
    const regionHeader = req.headers['x-region'];
    const region = (typeof regionHeader === 'string' ? regionHeader : '').trim() || 'unknown';
    if (Buffer.byteLength(region) > 64 || !REGION_OK.test(region)) {
      merger.countRejection('bad_region');
      return refuse(req, res, 400, 'bad_region', 'region', headers);
    }
    const tooBig = () => {
      merger.countRejection('oversized');
      refuse(req, res, 413, 'oversized', 'message', headers);
    };
    const declared = Number(req.headers['content-length']);
    if (declared > maxBodyBytes) return tooBig();
    const chunks = [];
    let size = 0;
    const onData = (c) => {
      size += c.length;
      if (size > maxBodyBytes) {
        // Streamed past the limit (no or a false content-length): answer now, stop buffering.
        req.off('data', onData);
        req.off('end', onEnd);
        http.refused_body_bytes += size;
        chunks.length = 0;
        tooBig();
      } else chunks.push(c);
    };
    const onEnd = () => accept(res, Buffer.concat(chunks, size), region, room, tokenRoom, headers);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', () => res.destroy());
  }

  function handle(req, res, url) {
    const p = url.pathname;
    if (p === '/api/summary') {
      http.requests += 1;
      const o = originOf(req);
      if (req.method === 'OPTIONS') {
        preflight(req, res, o);
        return true;
      }
      if (!o.ok) {
        refuse(req, res, 403, 'origin_not_allowed', 'origin', { vary: 'Origin' });
        return true;
      }
      if (req.method !== 'POST') {
        refuse(req, res, 405, 'method', 'method', { ...corsHeaders(o), allow: 'POST, OPTIONS' });
        return true;
      }
      postSummary(req, res, url, o);
      return true;
    }
    if (!p.startsWith('/api/collector/')) return false;
    if (req.method !== 'GET') {
      json(res, 405, reason('method', 'method'), { allow: 'GET' });
      return true;
    }
    if (p === '/api/collector/stats') {
      json(res, 200, stats());
    } else if (p === '/api/collector/rooms') {
      const room = url.searchParams.get('room');
      if (room === null) json(res, 200, merger.rooms());
      else {
        const r = merger.room(room);
        if (r) json(res, 200, r);
        else json(res, 404, { code: 'unknown_room', field: 'room', message: 'unknown_room: no summary of that room (field `room`)' });
      }
    } else if (p === '/api/collector/export') {
      const format = url.searchParams.get('format') ?? 'ndjson';
      if (format === 'ndjson') {
        res.writeHead(200, { 'content-type': 'application/x-ndjson', ...BASE_HEADERS });
        res.end(safeJson(merger.exportNdjson()));
      } else if (format === 'json') {
        const room = url.searchParams.get('room');
        const rows = merger.exportRows();
        json(res, 200, room === null ? rows : rows.filter((r) => r.room === room));
      } else {
        json(res, 400, { code: 'bad_format', field: 'format', message: 'bad_format: format must be ndjson or json (field `format`)' });
      }
    } else {
      json(res, 404, { code: 'not_found', field: 'path', message: 'not_found: unknown collector route (field `path`)' });
    }
    return true;
  }

  function stats() {
    return {
      collector: collectorId,
      merger: merger.stats(),
      http: structuredClone(http),
      log: { ...log },
      security: { auth: mode, allowed_origins: [...origins], allow_same_origin: allowSameOrigin, rate_limit: limiter ? limiter.stats() : null, max_body_bytes: maxBodyBytes },
    };
  }

  function close() {
    if (pending.length > 0) flush();
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
    try { unlinkSync(lockFile); } catch { /* gone */ }
  }

  /** A token for this collector (its own secret: the random per-process one in dev). */
  function issue(room, ttlMs, { origin } = {}) {
    if (!key) throw new Error("collector.issueToken: auth is 'open' (no tokens)");
    return issueToken(room, ttlMs, { secret: key, origin, now: now() });
  }

  return { handle, stats, close, merger: () => merger, issueToken: issue, auth: mode };
}

/**
 * The collector as mounted by www/server.mjs: over `logDir` when given (the demo uses
 * target/collector/), else over a fresh temporary directory removed on close (tests). Open dev
 * mode unless told otherwise: no token, but browsers only from the demo's own origin (and
 * `allowedOrigins`), rate-limited per client address.
 */
export function createServerCollector({ logDir, ...options } = {}) {
  const temp = logDir ? null : mkdtempSync(join(tmpdir(), 'livekpi-collector-'));
  const c = createCollector({
    auth: 'open',
    rateLimit: { rate: 20, burst: 200 },
    ...options,
    logDir: logDir ?? temp,
  });
  return {
    ...c,
    close() {
      c.close();
      if (temp) rmSync(temp, { recursive: true, force: true });
    },
  };
}

/** A standalone collector server on 127.0.0.1; resolves to { url, port, collector, close() }. */
export function startCollectorServer({ port = 0, host = '127.0.0.1', ...options } = {}) {
  const collector = createCollector(options);
  const server = createServer((req, res) => {
    let url;
    try {
      url = new URL(req.url, 'http://localhost');
    } catch {
      json(res, 400, { code: 'bad_url', field: 'path', message: 'bad_url: the request target is not a URL path (field `path`)' });
      return;
    }
    if (!collector.handle(req, res, url)) json(res, 404, { code: 'not_found', field: 'path', message: 'not_found: no such route (field `path`)' });
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      const bound = server.address().port;
      ok({
        url: `http://${host}:${bound}`,
        port: bound,
        collector,
        close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => { collector.close(); r(); }); }),
      });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv;
  const arg = (name, dflt) => {
    const i = argv.indexOf(name);
    return i > 0 ? argv[i + 1] : dflt;
  };
  const num = (name) => (argv.includes(name) ? Number(arg(name)) : undefined);
  if (argv.includes('--issue-token')) {
    const origin = arg('--origin');
    console.log(issueToken(arg('--issue-token'), Number(arg('--ttl-s', '86400')) * 1000, { origin }));
    process.exit(0);
  }
  if (arg('--auth') === 'token' && !process.env[SECRET_ENV]) {
    console.error(`collector: --auth token needs ${SECRET_ENV} (≥ 32 bytes), shared with the token issuer`);
    process.exit(2);
  }
  const root = fileURLToPath(new URL('..', import.meta.url));
  const rate = num('--rate');
  const burst = num('--burst');
  const maxBuckets = num('--max-buckets');
  const custom = rate !== undefined || burst !== undefined || maxBuckets !== undefined;
  const limits = Object.fromEntries(Object.entries({ rate, burst, maxBuckets }).filter(([, v]) => v !== undefined));
  const c = await startCollectorServer({
    port: Number(arg('--port', '8090')),
    logDir: resolve(arg('--log-dir', join(root, 'target', 'collector'))),
    collectorId: arg('--id', 'collector'),
    auth: arg('--auth'),
    allowedOrigins: (arg('--allow-origin') ?? '').split(',').filter(Boolean),
    rateLimit: argv.includes('--no-rate-limit') ? false : custom ? limits : undefined,
  });
  if (c.collector.auth === 'open') console.error(`collector: ingest is OPEN (no token required; set ${SECRET_ENV} or --auth token)`);
  console.log(`collector listening ${c.url}`);
}
