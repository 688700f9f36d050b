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
// Routes (127.0.0.1 only):
//   POST /api/summary[?room=R]   body = one binary summary (≤ 8192 bytes); region from the
//                                `x-region` header (default "unknown"). 200 {status, session, seq,
//                                room, is_final} (status applied | duplicate | superseded: all are
//                                acks); 400 {code, field, message} for a malformed summary or a
//                                room / region mismatch; 409 for one that conflicts with the
//                                session's history (base_regressed, unknown_base, non_monotone,
//                                overflow, after_final); 413 over the size limit; 405 other methods;
//                                503 when the log cannot be written.
//   GET  /api/collector/stats    {collector, merger: MergerStats, http, log}
//   GET  /api/collector/rooms[?room=R]   RoomView[] (or one RoomView, 404 if unknown)
//   GET  /api/collector/export[?format=ndjson|json]   rows per room / region / minute with base64
//                                DataSketches columns (NDJSON by default)
// CLI: node www/collector.mjs [--port 8090] [--log-dir target/collector] [--id collector]
//      prints "collector listening <url>" once ready.
import { createServer } from 'node:http';
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
const HEADER = Buffer.from('LKCLOG1\n');
const CONFLICTS = new Set(['base_regressed', 'unknown_base', 'non_monotone', 'overflow', 'after_final']);

function json(res, status, body, extra = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...extra });
  res.end(text);
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
 * { handle(req, res, url) → boolean, merger(), stats(), close() }.
 */
export function createCollector({ logDir, collectorId = 'collector', maxBodyBytes = MAX_BODY_BYTES } = {}) {
  if (!logDir) throw new Error('createCollector: logDir is required');
  const dir = resolve(logDir);
  mkdirSync(dir, { recursive: true });
  const lockFile = lock(dir);
  const logPath = join(dir, 'summaries.log');
  const http = { requests: 0, acked: 0, rejected: 0, by_status: {} };
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
    merger = new SummaryMerger({ collector: collectorId });
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

  let pending = []; // { rec?: Buffer, res, body }
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
        json(p.res, 200, p.body);
      } else {
        reject(p.res, 503, { code: 'log_unavailable', field: 'log', message: 'log_unavailable: the summary log could not be written, retry later (field `log`)' });
      }
    }
  }

  function count(status) {
    http.by_status[status] = (http.by_status[status] ?? 0) + 1;
  }
  function reject(res, status, body, extra) {
    http.rejected += 1;
    count(status);
    json(res, status, body, extra);
  }

  function accept(res, bytes, region, room) {
    let outcome;
    try {
      outcome = merger.ingest(bytes, region, room);
    } catch (e) {
      if (e?.name !== 'LivekpiError') throw e;
      const status = e.code === 'oversized' ? 413 : CONFLICTS.has(e.code) ? 409 : 400;
      reject(res, status, { code: e.code, field: e.field, message: e.message });
      return;
    }
    pending.push({ rec: outcome.status === 'applied' ? record(region, bytes) : null, res, body: outcome });
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  }

  function postSummary(req, res, url) {
    const room = url.searchParams.get('room') ?? undefined;
    const region = (req.headers['x-region'] ?? '').trim() || 'unknown';
    const tooBig = () => {
      merger.countRejection('oversized');
      reject(res, 413, { code: 'oversized', field: 'message', message: `oversized: body longer than ${maxBodyBytes} bytes (field \`message\`)` }, { connection: 'close' });
    };
    const declared = Number(req.headers['content-length']);
    if (declared > maxBodyBytes) {
      tooBig();
      req.resume();
      return;
    }
    const chunks = [];
    let size = 0;
    let over = false;
    req.on('data', (c) => {
      size += c.length;
      if (size > maxBodyBytes) over = true;
      else chunks.push(c);
    });
    req.on('end', () => {
      if (over) return tooBig();
      accept(res, Buffer.concat(chunks, size), region, room);
    });
    req.on('error', () => res.destroy());
  }

  function handle(req, res, url) {
    const p = url.pathname;
    if (p === '/api/summary') {
      http.requests += 1;
      if (req.method !== 'POST') {
        reject(res, 405, { code: 'method', field: 'method', message: 'POST one binary summary' }, { allow: 'POST' });
        return true;
      }
      postSummary(req, res, url);
      return true;
    }
    if (!p.startsWith('/api/collector/')) return false;
    if (req.method !== 'GET') {
      json(res, 405, { code: 'method', field: 'method', message: 'GET only' }, { allow: 'GET' });
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
        else json(res, 404, { code: 'unknown_room', field: 'room', message: `no summary of room ${room}` });
      }
    } else if (p === '/api/collector/export') {
      const format = url.searchParams.get('format') ?? 'ndjson';
      if (format === 'ndjson') {
        res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
        res.end(merger.exportNdjson());
      } else if (format === 'json') {
        json(res, 200, merger.exportRows());
      } else {
        json(res, 400, { code: 'bad_format', field: 'format', message: 'format must be ndjson or json' });
      }
    } else {
      json(res, 404, { code: 'not_found', field: 'path', message: 'unknown collector route' });
    }
    return true;
  }

  function stats() {
    return { collector: collectorId, merger: merger.stats(), http: structuredClone(http), log: { ...log } };
  }

  function close() {
    if (pending.length > 0) flush();
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
    try { unlinkSync(lockFile); } catch { /* gone */ }
  }

  return { handle, stats, close, merger: () => merger };
}

/**
 * The collector as mounted by www/server.mjs: over `logDir` when given (the demo uses
 * target/collector/), else over a fresh temporary directory removed on close (tests).
 */
export function createServerCollector({ logDir, collectorId } = {}) {
  const temp = logDir ? null : mkdtempSync(join(tmpdir(), 'livekpi-collector-'));
  const c = createCollector({ logDir: logDir ?? temp, collectorId });
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
    const url = new URL(req.url, 'http://localhost');
    if (!collector.handle(req, res, url)) json(res, 404, { code: 'not_found', field: 'path', message: 'not found' });
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
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : dflt;
  };
  const root = fileURLToPath(new URL('..', import.meta.url));
  const { url } = await startCollectorServer({
    port: Number(arg('--port', '8090')),
    logDir: resolve(arg('--log-dir', join(root, 'target', 'collector'))),
    collectorId: arg('--id', 'collector'),
  });
  console.log(`collector listening ${url}`);
}
