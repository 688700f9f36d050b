// livekpi/player summary delivery (issue 4, "Must hold"), proved in a real browser against the
// reference collector's own state — its stats, its room aggregates and the summaries it applied
// (replayed from its durable log, www/collector.mjs) — never the page's word:
//   - close the page mid-session → the collector has the view's final summary, equal to the page's
//     last metrics (stall count exact, playing time within the time the close took);
//   - offline for 60 s (context.setOffline) while playing with a 2 s flush, then online → the
//     newest summary written offline arrives, totals equal the page's metrics, nothing counted twice;
//   - reload while the collector is down (503 from a server-side test hook, the final pagehide
//     beacon too) → the next load sends the persisted summary, counted once;
//   - sampleRate 0 → nothing is sent, metrics still work.
// Each test gets its own Chromium (its own localStorage). Nothing leaves 127.0.0.1.
// Run: node --test tests/js/player-delivery.test.mjs   (needs scripts/build.sh player first)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../../www/server.mjs';
import { decodeSummary } from '../../pkg/console/node.js';
import { launchChromium } from './support/chromium.mjs';

const NO_DNS = '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1';
const COUNTERS = ['watch_ms', 'playing_ms', 'stall_ms', 'stall_count', 'total_frames', 'dropped_frames',
  'latency_samples', 'hidden_ms', 'paused_ms', 'error_count', 'seek_count', 'started'];

let server;
let logDir;
// Every summary request that reached the server (a server-side test hook around the collector's
// route): { s (decoded, or null), status, at }. Keepalive fetches and beacons are not reliably
// visible to Playwright's page-side network events, so delivery is observed where it arrives.
const arrivals = [];
// Server-side test hooks: `refuse` answers every summary 503 (the collector down); `beforeWasm`
// (async) delays serving the player's wasm (so a test can order a page load after an event).
const hooks = { refuse: false, beforeWasm: null };
const WASM = new URL('../../pkg/dist/player/livekpi_player_bg.wasm', import.meta.url);

before(async () => {
  logDir = mkdtempSync(join(tmpdir(), 'livekpi-delivery-'));
  server = await startServer({ port: 0, collector: { logDir } });
  await server.live.ready();
  const handle = server.collector.handle;
  server.collector.handle = (req, res, url) => {
    if (url.pathname === '/api/summary' && req.method === 'POST') {
      const chunks = [];
      const entry = { s: null, status: null, at: Date.now(), refused: hooks.refuse };
      arrivals.push(entry);
      req.on('data', (d) => chunks.push(d));
      req.on('end', () => { try { entry.s = decodeSummary(Buffer.concat(chunks)); } catch { /* malformed */ } });
      res.on('finish', () => { entry.status = res.statusCode; });
      if (entry.refused) {
        // The collector "down": 503 without looking at the summary.
        req.on('end', () => { res.writeHead(503, { 'content-type': 'application/json' }); res.end('{"code":"log_unavailable"}'); });
        return true;
      }
    }
    if (url.pathname.endsWith('/livekpi_player_bg.wasm') && hooks.beforeWasm) {
      const wait = hooks.beforeWasm();
      (async () => {
        await wait;
        res.writeHead(200, { 'content-type': 'application/wasm', 'cache-control': 'no-store' });
        res.end(readFileSync(WASM));
      })();
      return true;
    }
    return handle(req, res, url);
  };
});
after(async () => {
  await server?.close();
  rmSync(logDir, { recursive: true, force: true });
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const get = async (path) => {
  const res = await fetch(`${server.url}${path}`);
  return { status: res.status, body: await res.json() };
};
const post = async (path) => {
  const res = await fetch(`${server.url}${path}`, { method: 'POST' });
  assert.equal(res.status, 200, `POST ${path}`);
  return res.json();
};
const stats = async () => (await get('/api/collector/stats')).body;
async function roomCounters(room) {
  const { status, body } = await get(`/api/collector/rooms?room=${room}`);
  return status === 200 ? body.total.counters : null;
}

/**
 * The summaries the collector applied (its durable log, in order), replayed per session with the
 * ledger rule of docs/summary-format.md: cum(n) = cum(base) + delta. Returns Map session →
 * { applied: [SummaryJson], cum (the session's counted totals), lastSeq, final }.
 */
function appliedSessions(room) {
  const buf = readFileSync(join(logDir, 'summaries.log'));
  let pos = 8; // "LKCLOG1\n"
  const sessions = new Map();
  while (pos + 8 <= buf.length) {
    const n = buf.readUInt32LE(pos);
    const payload = buf.subarray(pos + 8, pos + 8 + n);
    pos += 8 + n;
    const r = payload[0];
    const s = decodeSummary(payload.subarray(1 + r));
    if (room && s.room_id !== room) continue;
    let v = sessions.get(s.session_id);
    if (!v) sessions.set(s.session_id, (v = { applied: [], cums: new Map([[0, {}]]), lastSeq: 0, cum: {}, final: false }));
    const base = s.base_seq > v.lastSeq ? v.cum : v.cums.get(s.base_seq);
    assert.ok(base, `applied summary ${s.seq} has a base the collector knew (${s.base_seq})`);
    const cum = { ...base };
    for (const [k, d] of Object.entries(s.delta)) cum[k] = (cum[k] ?? 0) + d;
    assert.ok(s.seq > v.lastSeq, `applied seqs increase (${s.seq} after ${v.lastSeq})`);
    v.cums.set(s.seq, cum);
    v.cum = cum;
    v.lastSeq = s.seq;
    v.final ||= s.final;
    v.applied.push(s);
  }
  return sessions;
}
const c = (obj, k) => obj?.[k] ?? 0;

/** A fresh browser (its own profile, so its own localStorage). */
async function rig() {
  return { browser: await launchChromium([NO_DNS]) };
}

async function openView(browser, query) {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.url}/test/live.html?monitor=1&frames=0&${query}`);
  await page.waitForFunction(() => window.qoe?.metrics()?.playingMs > 1500, null, { timeout: 30_000 });
  return { page, errors };
}
const metrics = (page) => page.evaluate(() => window.qoe.metrics());
const upstream = (page) => page.evaluate(() => window.qoe.upstream());

function starved(page, timeoutMs = 15_000) {
  return page.waitForFunction(() => {
    const v = window.rig.video;
    return !v.paused && !v.seeking && v.readyState < 3;
  }, null, { polling: 10, timeout: timeoutMs });
}
/** One stall of about `ms`: the live origin withholds delivery until the player starves + ms. */
async function stall(page, name, ms) {
  await post(`/api/live/hold?name=${name}&mode=delivery`);
  await starved(page);
  await sleep(ms);
  await post(`/api/live/release?name=${name}`);
  await page.waitForFunction(() => window.rig.video.readyState >= 3 && !window.qoe.metrics().stallOngoing, null, { timeout: 20_000 });
}
async function until(fn, timeoutMs, what) {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out: ${what}`);
    await sleep(100);
  }
}
const uid = () => Math.random().toString(36).slice(2, 8);

test('close mid-session: the collector has the final summary, equal to the page\'s last metrics', { timeout: 120_000 }, async () => {
  const { browser } = await rig();
  try {
    const room = `close-${uid()}`;
    await post(`/api/live/reset?name=${room}&blocking=1&window=20&audio=0`);
    const { page, errors } = await openView(browser, `name=${room}&collector=/api/summary&room=${room}&flush=3000`);
    const sid = await page.evaluate(() => window.qoe.sessionId);
    await until(async () => (await upstream(page)).acked >= 1, 15_000, 'a periodic summary acknowledged');
    await stall(page, room, 1200);
    await sleep(1500);
    const before = await stats();
    // The page's last metrics and the page-clock time they were read at.
    const { m, t: tRead } = await page.evaluate(() => ({ m: window.qoe.metrics(), t: performance.timeOrigin + performance.now() }));
    await page.close({ runBeforeUnload: true });

    const fin = await until(() => appliedSessions(room).get(sid)?.final && appliedSessions(room).get(sid), 10_000, 'final summary applied');
    const last = fin.applied.at(-1);
    const counters = await roomCounters(room);
    const after = await stats();
    const gap = last.end_ms - tRead; // the page kept measuring from the read until the final summary
    console.log(`close: page playing ${m.playingMs.toFixed(0)} ms, stalls ${m.stallCount}; collector playing ${fin.cum.playing_ms} ms, stalls ${c(fin.cum, 'stall_count')}, final seq ${last.seq} (base ${last.base_seq}), read→final summary ${gap.toFixed(0)} ms, ${fin.applied.length} applied`);

    assert.deepEqual(errors, []);
    assert.equal(m.stallCount, 1, 'the scripted stall was measured');
    assert.equal(last.final, true, 'the last applied summary is the final one');
    assert.equal(counters.finished_views, 1);
    assert.equal(counters.views, 1);
    // The room (one view) equals the session replayed from the applied summaries.
    for (const k of COUNTERS) assert.equal(c(counters, k), c(fin.cum, k), `room ${k} = session ${k}`);
    assert.equal(c(fin.cum, 'stall_count'), m.stallCount, 'stall count exact');
    assert.equal(c(fin.cum, 'stall_ms'), Math.round(m.stallMs), 'stall time exact (no stall after the read)');
    assert.ok(fin.cum.playing_ms >= Math.round(m.playingMs) - 1, 'final playing time ≥ the page\'s last');
    assert.ok(gap >= -1 && gap < 3000, `the final summary was written at the close (${gap} ms after the read, flush 3 s)`);
    assert.ok(fin.cum.playing_ms <= m.playingMs + gap + 1, `final playing time within the time from the read to the final summary (${gap} ms)`);
    assert.ok(fin.cum.watch_ms >= Math.round(m.watchMs) - 1 && fin.cum.watch_ms <= m.watchMs + gap + 1);
    assert.ok(fin.cum.total_frames >= m.totalFrames);
    // The final summary arrived once: applied, and no copy of it was counted.
    const finals = arrivals.filter((r) => r.s?.session_id === sid && r.s.final);
    assert.equal(finals.length, 1, 'the final summary arrived once');
    assert.equal(finals[0].status, 200);
    assert.equal(after.merger.applied - before.merger.applied, 1, 'the close added exactly one applied summary');
  } finally {
    await browser.close();
  }
});

test('offline 60 s while playing, then online: every summary arrives, counted once', { timeout: 180_000 }, async () => {
  const { browser } = await rig();
  try {
    const room = `offline-${uid()}`;
    await post(`/api/live/reset?name=${room}&window=20&audio=0`);
    // hls.js keeps retrying through the outage (no fatal error ends playback).
    const hls = encodeURIComponent(JSON.stringify({ manifestLoadingMaxRetry: 100, levelLoadingMaxRetry: 100, fragLoadingMaxRetry: 100 }));
    const { page, errors } = await openView(browser, `name=${room}&collector=/api/summary&room=${room}&flush=2000&hls=${hls}`);
    const sid = await page.evaluate(() => window.qoe.sessionId);
    await until(async () => (await upstream(page)).acked >= 2, 15_000, 'two periodic summaries acknowledged');
    const s0 = await stats();
    const onlineBefore = appliedSessions(room).get(sid);
    const lastAckedBefore = onlineBefore.lastSeq;

    const tOff = Date.now();
    await browser.context.setOffline(true);
    const tOffApplied = Date.now(); // offline is in effect from here on
    await sleep(60_000);
    const offUp = await upstream(page);
    const mOff = await metrics(page);
    await browser.context.setOffline(false);
    const tOn = Date.now();
    // Delivered soon after the network is back (the `online` event cuts the backoff short).
    await until(async () => appliedSessions(room).get(sid).lastSeq > lastAckedBefore && (await upstream(page)).pendingSeq === null, 20_000, 'the offline summaries delivered');
    const tDelivered = Date.now();
    await until(async () => (await metrics(page)).playingMs > mOff.playingMs + 2000, 30_000, 'playing again');
    await sleep(3000);

    // End the view: detach sends the final summary; metrics stay readable as of the detach.
    await page.evaluate(() => window.qoe.detach());
    const m = await metrics(page);
    const fin = await until(() => appliedSessions(room).get(sid)?.final && appliedSessions(room).get(sid), 10_000, 'final summary applied');
    const counters = await roomCounters(room);
    const s1 = await stats();

    const mine = arrivals.filter((r) => r.s?.session_id === sid);
    // Written once offline was in effect, yet arrived before the network came back: must be none.
    // (A summary sent just before may still be in flight at tOff and land later on a loaded machine.)
    // end_ms is on the page's clock (timeOrigin + performance.now), tOffApplied on Node's
    // Date.now: 50 ms of slack between the two (a run counted one summary at the boundary).
    const CLOCKS_MS = 50;
    const offline = mine.filter((r) => r.s.end_ms >= tOffApplied + CLOCKS_MS && r.at < tOn);
    const written = Math.max(...mine.map((r) => r.s.seq));
    // The first summary applied after the outage covers it, relative to the base acked before it.
    const firstAfter = fin.applied.find((s) => s.seq > lastAckedBefore);
    const edge = mine.filter((r) => r.s.end_ms >= tOffApplied - CLOCKS_MS && r.at < tOn).map((r) => `seq ${r.s.seq} end ${r.s.end_ms} at ${r.at}`);
    console.log(`offline: around the switch (tOffApplied ${tOffApplied}): ${edge.join('; ') || 'none'}`);
    console.log(`offline: ${mine.length} summaries arrived (${offline.length} while offline; upstream offline ${JSON.stringify(offUp)}), delivered ${tDelivered - tOn} ms after online; first after: seq ${firstAfter.seq} base ${firstAfter.base_seq} span ${firstAfter.start_ms}..${firstAfter.end_ms} (offline ${tOff}..${tOn}); applied ${fin.applied.length}, Δstats applied ${s1.merger.applied - s0.merger.applied} dup ${s1.merger.duplicates - s0.merger.duplicates} superseded ${s1.merger.superseded - s0.merger.superseded}; page playing ${m.playingMs.toFixed(0)} stalls ${m.stallCount} errors ${m.errorCount}; collector playing ${fin.cum.playing_ms} stalls ${c(fin.cum, 'stall_count')}`);

    assert.deepEqual(errors, []);
    assert.ok(offUp.failures >= 1 && offUp.pendingSeq !== null, 'summaries were written and failed while offline');
    assert.equal(offline.length, 0, 'nothing got through while offline');
    assert.ok(offUp.failures <= 12, `the backoff spaces the offline retries out (${offUp.failures} in 60 s with a 2 s flush)`);
    assert.ok(mine.every((r) => r.status === 200), 'every summary that arrived was acknowledged (200)');
    // Every summary the page wrote arrived: the collector's last seq is the page's last (the final).
    assert.equal(fin.lastSeq, written, 'the collector has the newest summary the page wrote');
    assert.equal(fin.applied.at(-1).final, true);
    assert.ok(firstAfter.base_seq <= lastAckedBefore, 'relative to a base acknowledged before the outage');
    assert.ok(firstAfter.start_ms <= tOff && firstAfter.end_ms >= tOn - 2000, 'it covers the whole outage');
    // Nothing counted twice: room = the session replayed from the applied log = the page.
    for (const k of COUNTERS) assert.equal(c(counters, k), c(fin.cum, k), `room ${k} = session ${k}`);
    assert.equal(counters.views, 1);
    assert.equal(c(fin.cum, 'stall_count'), m.stallCount, 'stall count exact');
    assert.equal(c(fin.cum, 'error_count'), m.errorCount, 'error count exact');
    assert.ok(Math.abs(fin.cum.playing_ms - m.playingMs) <= 5, `playing time ${fin.cum.playing_ms} vs page ${m.playingMs}`);
    assert.ok(Math.abs(fin.cum.watch_ms - m.watchMs) <= 5, `watch time ${fin.cum.watch_ms} vs page ${m.watchMs}`);
    assert.ok(Math.abs(c(fin.cum, 'stall_ms') - m.stallMs) <= 5, `stall time ${fin.cum.stall_ms} vs page ${m.stallMs}`);
    // The collector's own accounting: every acknowledged request is applied, duplicate or superseded.
    const acks = (s1.merger.applied - s0.merger.applied) + (s1.merger.duplicates - s0.merger.duplicates) + (s1.merger.superseded - s0.merger.superseded);
    assert.equal(acks, mine.filter((r) => r.at >= tOff).length, 'every arrival accounted for');
    assert.equal(s1.merger.applied - s0.merger.applied, fin.applied.length - onlineBefore.applied.length);
  } finally {
    await browser.close();
  }
});

test('reload: the summary persisted while the collector was unreachable is sent by the next load, once', { timeout: 120_000 }, async () => {
  const { browser } = await rig();
  try {
    const room = `reload-${uid()}`;
    await post(`/api/live/reset?name=${room}&window=20&audio=0`);
    // The collector is down (503, a server-side test hook) for the whole first load, including its
    // final pagehide beacon. The next load's wasm is served only once that beacon was refused, then
    // the collector is back: only the next load can deliver the first view's summary.
    hooks.refuse = true;
    let loads = 0;
    hooks.beforeWasm = async () => {
      if (++loads !== 2) return;
      await until(() => arrivals.some((a) => a.refused && a.status === 503 && a.s?.final && a.s.session_id === sid1), 5000, 'the first load\'s final beacon refused').catch(() => {});
      hooks.refuse = false;
    };
    let sid1 = null;
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}/test/live.html?monitor=1&frames=0&name=${room}&collector=/api/summary&room=${room}&flush=2000`);
    await page.waitForFunction(() => window.qoe?.metrics()?.playingMs > 4000, null, { timeout: 30_000 });
    sid1 = await page.evaluate(() => window.qoe.sessionId);
    await until(async () => (await upstream(page)).failures >= 2, 10_000, 'two refused summaries');
    const stored = await page.evaluate((k) => localStorage.getItem(k), `livekpi:pending:${sid1}`);
    assert.ok(stored, 'the unacknowledged summary is persisted');
    const s0 = await stats();
    assert.equal(await roomCounters(room), null, 'nothing reached the collector during the first load');
    const { m: m1, t: tRead } = await page.evaluate(() => ({ m: window.qoe.metrics(), t: performance.timeOrigin + performance.now() }));
    await page.reload();
    const tReloaded = Date.now();
    await page.waitForFunction(() => window.qoe?.sessionId, null, { timeout: 30_000 });
    const sid2 = await page.evaluate(() => window.qoe.sessionId);

    const v1 = await until(() => appliedSessions(room).get(sid1), 15_000, 'the first load\'s summary applied');
    await until(async () => (await page.evaluate((k) => localStorage.getItem(k), `livekpi:pending:${sid1}`)) === null, 5000, 'the persisted entry removed');
    hooks.beforeWasm = null;
    const refused = arrivals.filter((r) => r.refused && r.s?.session_id === sid1);
    const finalAborted = refused.filter((r) => r.s.final);
    const resent = arrivals.filter((r) => !r.refused && r.s?.session_id === sid1);
    console.log(`reload: first load ${refused.length} summaries refused (final refused: ${finalAborted.length}); next load resent ${resent.length}: seq ${v1.applied.map((s) => `${s.seq}/${s.base_seq}${s.final ? ' final' : ''}`).join(', ')}; page playing ${m1.playingMs.toFixed(0)} stalls ${m1.stallCount}, collector playing ${v1.cum.playing_ms} stalls ${c(v1.cum, 'stall_count')} (read→final summary ${(v1.applied[0].end_ms - tRead).toFixed(0)} ms)`);

    assert.notEqual(sid2, sid1, 'the new load is a new view');
    assert.ok(finalAborted.length >= 1, 'the final pagehide beacon was refused too: only the next load could deliver it');
    assert.ok(resent.length >= 1 && resent.every((r) => r.status === 200), 'the next load delivered it');
    assert.equal(v1.applied.length, 1, 'the first view counted by one summary');
    assert.equal(v1.final, true, 'the persisted summary is the final one');
    assert.equal(v1.applied[0].base_seq, 0);
    assert.equal(c(v1.cum, 'stall_count'), m1.stallCount);
    const gap = v1.applied[0].end_ms - tRead; // from the last read to the final summary (pagehide)
    assert.ok(gap >= -1 && gap < 2000, `final summary written at the reload (${gap} ms after the read)`);
    // `gap` compares the page's read (timeOrigin + performance.now) with the summary's end time
    // (the monitor's clock: event timestamps), and both are whole ms on the wire: 10 ms of slack
    // (runs measured the playing time growing 12–20 ms over gaps of 16–24 ms).
    assert.ok(v1.cum.playing_ms >= Math.round(m1.playingMs) - 1 && v1.cum.playing_ms <= m1.playingMs + gap + 10,
      `playing time ${v1.cum.playing_ms} within the reload time of the page's ${m1.playingMs} (+ ${gap} ms)`);

    // Another reload: nothing of the first view is sent again (and it would count once anyway).
    await sleep(2500);
    await page.reload();
    await page.waitForFunction(() => window.qoe?.sessionId, null, { timeout: 30_000 });
    await sleep(2500);
    const again = arrivals.filter((r) => !r.refused && r.s?.session_id === sid1).slice(resent.length);
    const v1b = appliedSessions(room).get(sid1);
    const s1 = await stats();
    const counters = await roomCounters(room);
    const all = appliedSessions(room);
    console.log(`reload: later requests of the first view ${again.length}; room views ${counters.views}, finished ${counters.finished_views}; Δ applied ${s1.merger.applied - s0.merger.applied}, dup ${s1.merger.duplicates - s0.merger.duplicates}, superseded ${s1.merger.superseded - s0.merger.superseded}`);
    assert.equal(v1b.applied.length, 1, 'still counted once');
    assert.deepEqual(v1b.cum, v1.cum);
    assert.ok(again.every((r) => r.s.seq === v1.lastSeq), 'only copies of the delivered summary, if any');
    // The room is the sum of its sessions, each counted from its applied summaries.
    for (const k of COUNTERS) assert.equal(c(counters, k), [...all.values()].reduce((a, v) => a + c(v.cum, k), 0), `room ${k}`);
    assert.deepEqual(errors, []);
  } finally {
    hooks.refuse = false;
    hooks.beforeWasm = null;
    await browser.close();
  }
});

test('sampleRate 0: nothing is sent, the metrics still work', { timeout: 60_000 }, async () => {
  const { browser } = await rig();
  try {
    const room = `sampled-${uid()}`;
    await post(`/api/live/reset?name=${room}&window=20&audio=0`);
    const s0 = await stats();
    const { page, errors } = await openView(browser, `name=${room}&collector=/api/summary&room=${room}&flush=1000&sample=0`);
    await sleep(3000);
    const m = await metrics(page);
    const up = await upstream(page);
    const flushed = await page.evaluate(() => window.qoe.flush());
    await page.evaluate(() => window.qoe.detach());
    await page.close({ runBeforeUnload: true });
    await sleep(1000);
    const s1 = await stats();
    console.log(`sampled out: playing ${m.playingMs.toFixed(0)} ms, frames ${m.totalFrames}, upstream ${JSON.stringify(up)}, `);
    assert.deepEqual(errors, []);
    assert.ok(m.playingMs > 3000 && m.totalFrames > 50 && m.started, 'metrics work');
    assert.equal(up, null, 'no upstream');
    assert.equal(flushed, undefined);
    assert.equal(arrivals.filter((r) => r.s?.room_id === room).length, 0, 'no summary arrived');
    assert.equal(s1.http.requests, s0.http.requests, 'the collector saw nothing');
    assert.equal(await roomCounters(room), null);
  } finally {
    await browser.close();
  }
});
