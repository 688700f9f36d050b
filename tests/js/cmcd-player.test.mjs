// CMCD from livekpi/player in a real browser (issue 4): real hls.js in headless Chromium plays a
// live channel of the local server (www/live.mjs) with livekpi/player and the `cmcdHls` adapter
// of livekpi/player/cmcd; the CMCD of
// the playlist and segment requests is captured where it arrives (a server-side hook in front
// of the live origin), decoded with @svta/cml-cmcd and compared field by field with the
// monitor's own values read in the page when hls.js sent the request (XMLHttpRequest.send,
// same task as the payload was written), with the element's buffer and hls.js's estimate, and
// with the origin's ground truth (segment durations, the next segment's name):
//   - query mode and header mode, across a scripted stall (`su`, `bs` around it);
//   - CMCD v2 event mode (livekpi/player/cmcd): the reports POSTed to a local endpoint are
//     decoded the same way and checked against the monitor (sta, bsa, bsda, dfa, msd, ltc,
//     pb, sid, cid) and for delivery (every sn once, in order, content-type application/cmcd),
//     and the encoder's lines equal the crate's (examples/cmcd_samples) byte for byte.
// Run: node --test tests/js/cmcd-player.test.mjs   (needs scripts/build.sh player first)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { decodeCmcd, fromCmcdHeaders, fromCmcdQuery, validateCmcdEvents } from '@svta/cml-cmcd';
import { startServer } from '../../www/server.mjs';
import { encodeCmcdEvent } from '../../pkg/player/cmcd.js';
import { launchChromium } from './support/chromium.mjs';

const NO_DNS = '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1';
const root = fileURLToPath(new URL('../..', import.meta.url));

// The test page: hls.js + livekpi/player with CMCD (?mode=query|headers), and optionally the v2
// event reporter (?events=1). It records, for every XHR hls.js sends, the monitor's metrics and
// the player's state at that moment (window.sent).
const PAGE = `<!doctype html><meta charset="utf-8"><video id="v" muted playsinline width="320" height="180"></video>
<script type="module">
import Hls from '/vendor/hls.js/hls.mjs';
import { attach, hlsjs, ready } from '/pkg/dist/player/index.js';
import { cmcdHls, reportCmcdEvents } from '/pkg/dist/player/cmcd.js';
const q = new URLSearchParams(location.search);
const video = document.getElementById('v');
const room = q.get('name');
const hls = new Hls({ liveDurationInfinity: true, maxBufferLength: 3, maxMaxBufferLength: 3, backBufferLength: 10 });
const qoe = attach(video, { adapters: [hlsjs(hls), cmcdHls(hls, { mode: q.get('mode') })], roomId: room });
window.qoe = qoe; window.hls = hls; window.sent = [];
const ahead = () => {
  const t = video.currentTime, b = video.buffered;
  for (let i = 0; i < b.length; i++) if (b.start(i) <= t + 0.1 && t < b.end(i)) return (b.end(i) - t) * 1000;
  return 0;
};
const open = XMLHttpRequest.prototype.open;
XMLHttpRequest.prototype.open = function (m, url, ...rest) { this._url = new URL(url, location.href).href; return open.call(this, m, url, ...rest); };
const send = XMLHttpRequest.prototype.send;
XMLHttpRequest.prototype.send = function (...a) {
  try {
    window.sent.push({ url: this._url, at: Date.now(), m: qoe.metrics(), sid: qoe.sessionId, bufferMs: ahead(),
      bw: hls.bandwidthEstimate, rate: video.playbackRate, bitrates: hls.levels.map((l) => l.bitrate), maxAuto: hls.maxAutoLevel });
  } catch (e) { window.sent.push({ url: this._url, error: String(e) }); }
  return send.apply(this, a);
};
await ready; // requests before the wasm module is ready carry no CMCD
if (q.get('events') === '1') {
  window.reporter = reportCmcdEvents(qoe, video, { url: '/cmcd/events', hls, contentId: room, streamType: 'l', batchMs: 2000, intervalMs: 4000 });
}
hls.loadSource('/live/' + room + '.m3u8');
hls.attachMedia(video);
video.play().catch(() => {});
</script>`;

let server;
const captured = []; // { path, query, headers, at } of every /live/ request
const reports = []; // { contentType, body, at } of every POST /cmcd/events

before(async () => {
  server = await startServer({ port: 0 });
  await server.live.ready();
  const handle = server.live.handle.bind(server.live);
  server.live.handle = (req, res, url) => {
    if (url.pathname === '/test/cmcd-rig.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(PAGE);
      return true;
    }
    if (url.pathname === '/cmcd/events' && req.method === 'POST') {
      const chunks = [];
      req.on('data', (d) => chunks.push(d));
      req.on('end', () => {
        reports.push({ contentType: req.headers['content-type'], body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
        res.writeHead(204);
        res.end();
      });
      return true;
    }
    if (url.pathname.startsWith('/live/')) {
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k.startsWith('cmcd-')));
      const all = url.searchParams.getAll('CMCD');
      captured.push({ key: requestKey(url), path: url.pathname, query: all[0] ?? null, queries: all.length, headers, at: Date.now() });
    }
    return handle(req, res, url);
  };
});
after(async () => {
  await server?.close();
});

/** A request's path and query without its CMCD argument (hls.js's `_HLS_msn` tells reloads apart). */
function requestKey(url) {
  const u = new URL(url);
  u.searchParams.delete('CMCD');
  return `${u.pathname}${u.search}`;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const post = async (path) => {
  const res = await fetch(`${server.url}${path}`, { method: 'POST' });
  assert.equal(res.status, 200, `POST ${path}`);
  return res.json();
};
const uid = () => Math.random().toString(36).slice(2, 8);
const r100 = (x) => Math.floor(x / 100 + 0.5) * 100;

async function openView(browser, query) {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.url}/test/cmcd-rig.html?${query}`);
  await page.waitForFunction(() => window.qoe?.metrics()?.playingMs > 3000, null, { timeout: 30_000 });
  return { page, errors };
}
/** One stall: the origin withholds delivery until the player starves, then `ms` more. */
async function stall(page, name, ms) {
  await post(`/api/live/hold?name=${name}&mode=delivery`);
  await page.waitForFunction(() => window.qoe.metrics().stallOngoing, null, { polling: 20, timeout: 20_000 });
  await sleep(ms);
  await post(`/api/live/release?name=${name}`);
  try {
    await page.waitForFunction(() => !window.qoe.metrics().stallOngoing && window.qoe.metrics().stallCount >= 1, null, { timeout: 30_000 });
  } catch (e) {
    const state = await page.evaluate(() => ({ m: window.qoe.metrics(), rs: window.hls.media.readyState, t: window.hls.media.currentTime, paused: window.hls.media.paused }));
    throw new Error(`${e.message}: ${JSON.stringify(state)}`);
  }
}

/**
 * Compares the CMCD of every request of channel `name` with the page's record of it. Returns
 * counts of what was checked.
 */
async function checkRequests(records, name, mode) {
  const sent = records.filter((s) => new URL(s.url).pathname.startsWith(`/live/${name}`));
  const schedule = await (await fetch(`${server.url}/api/live/schedule?name=${name}`)).json();
  const truth = new Map(schedule.segments.map((s) => [s.seq, s]));
  const byKey = new Map();
  for (const c of captured.filter((c) => c.path.startsWith(`/live/${name}`))) {
    if (!byKey.has(c.key)) byKey.set(c.key, []);
    byKey.get(c.key).push(c);
  }
  const seen = new Map();
  let prevStalls = null; // the request-mode `bs` mark: stall count at the previous CMCD request
  const n = { requests: 0, playlists: 0, segments: 0, withBl: 0, withNor: 0, su: 0, bs: 0, d: 0 };
  for (const s of sent) {
    assert.ok(!s.error, s.error);
    const path = new URL(s.url).pathname;
    const key = requestKey(s.url);
    const k = seen.get(key) ?? 0;
    seen.set(key, k + 1);
    const arrived = byKey.get(key)?.[k];
    if (!arrived) continue; // still in flight at the end of the test
    const cmcd = mode === 'headers' ? fromCmcdHeaders(arrived.headers) : fromCmcdQuery(`CMCD=${encodeURIComponent(arrived.query ?? '')}`);
    if (!s.m) {
      assert.equal(Object.keys(cmcd).length, 0, `${path}: no CMCD before the monitor is ready`);
      continue;
    }
    n.requests++;
    assert.ok(arrived.queries <= 1, `${path}: one CMCD argument at most (${arrived.queries})`);
    if (mode === 'headers') assert.equal(arrived.query, null, `${path}: header mode leaves the URL alone`);
    else assert.deepEqual(arrived.headers, {}, `${path}: query mode sends no CMCD headers`);
    const m = s.m;
    const what = `${mode} ${key} #${k}`;
    // Session keys: the monitor's session id, the room, HLS, live.
    assert.equal(cmcd.sid, s.sid, `${what}: sid`);
    assert.equal(cmcd.cid, name, `${what}: cid`);
    assert.equal(cmcd.sf, 'h', `${what}: sf`);
    if (cmcd.st !== undefined) assert.equal(cmcd.st, 'l', `${what}: st`);
    // su: not started yet or stalled, per the monitor at the request.
    if (process.env.CMCD_DEBUG && (cmcd.su === true) !== (!m.started || m.stallOngoing)) console.log('DEBUG', what, s.at, JSON.stringify(cmcd), arrived.at, JSON.stringify({ started: m.started, watch: m.watchMs, playing: m.playingMs }), sent.map((x) => [requestKey(x.url), x.at, x.m?.started, x.m?.watchMs]).slice(0, 12));
    assert.equal(cmcd.su === true, !m.started || m.stallOngoing, `${what}: su (started ${m.started}, stalled ${m.stallOngoing})`);
    // bs: a stall is running or one started since the previous request (the monitor's count).
    const bs = m.stallOngoing || (prevStalls === null ? m.stallCount > 0 : m.stallCount > prevStalls);
    assert.equal(cmcd.bs === true, bs, `${what}: bs (stalls ${m.stallCount}, before ${prevStalls})`);
    prevStalls = m.stallCount;
    n.su += cmcd.su === true;
    n.bs += cmcd.bs === true;
    if (cmcd.pr !== undefined) assert.equal(cmcd.pr, s.rate, `${what}: pr`);
    if (path.endsWith('.m3u8')) {
      n.playlists++;
      assert.equal(cmcd.ot, 'm', `${what}: ot`);
      for (const key of ['bl', 'br', 'd', 'nor', 'mtp', 'tb']) assert.equal(cmcd[key], undefined, `${what}: no ${key} on a playlist`);
      continue;
    }
    n.segments++;
    const seq = Number(/\/(\d+)\.ts$/.exec(path)[1]);
    // d: the segment's duration as the origin published it (EXTINF has ms precision).
    const seg = truth.get(seq);
    if (seg) {
      assert.ok(Math.abs(cmcd.d - seg.duration_ms) <= 1, `${what}: d ${cmcd.d} vs origin ${seg.duration_ms}`);
      n.d++;
    }
    // ot: video only (this channel has no audio); unknown only before a first segment was parsed.
    if (cmcd.ot !== undefined) assert.equal(cmcd.ot, 'v', `${what}: ot`);
    else assert.ok(n.segments <= 2, `${what}: ot known once a segment was parsed`);
    // mtp: hls.js's bandwidth estimate at the request, rounded to 100 kbit/s.
    if (Number.isFinite(s.bw) && s.bw > 0) assert.equal(cmcd.mtp, r100(s.bw / 1000), `${what}: mtp`);
    // br / tb: the rendition's declared bitrate (a media playlist alone declares none: absent).
    const top = Math.max(0, ...s.bitrates.filter((_, i) => s.maxAuto < 0 || i <= s.maxAuto));
    if (top > 0) assert.equal(cmcd.tb?.[0] ?? cmcd.tb, Math.round(top / 1000), `${what}: tb`);
    else assert.equal(cmcd.tb, undefined, `${what}: tb unknown`);
    if (cmcd.ot !== undefined) {
      // bl: the element's buffer ahead at the request (hls.js's forward buffer info, which
      // also bridges holes < 0.1 s), rounded to 100 ms; dl = bl / playback rate.
      assert.ok(cmcd.bl !== undefined, `${what}: bl`);
      const bl = cmcd.bl?.[0] ?? cmcd.bl;
      assert.ok(Math.abs(bl - s.bufferMs) <= 200, `${what}: bl ${bl} vs element ${s.bufferMs.toFixed(0)}`);
      assert.ok(Math.abs(cmcd.dl - s.bufferMs / s.rate) <= 200, `${what}: dl ${cmcd.dl}`);
      n.withBl++;
    }
    // nor: the next segment's name (relative to this one), when the playlist had it.
    if (cmcd.nor !== undefined) {
      assert.equal(cmcd.nor, `${seq + 1}.ts`, `${what}: nor`);
      n.withNor++;
    }
  }
  return n;
}

for (const mode of ['query', 'headers']) {
  test(`CMCD v1 ${mode} mode on hls.js's requests equals the monitor's values`, { timeout: 120_000 }, async () => {
    const browser = await launchChromium([NO_DNS]);
    try {
      const name = `cmcd-${mode}-${uid()}`;
      await post(`/api/live/reset?name=${name}&blocking=1&window=20&audio=0`);
      const { page, errors } = await openView(browser, `name=${name}&mode=${mode}`);
      await stall(page, name, 1500);
      await sleep(4000);
      const m = await page.evaluate(() => window.qoe.metrics());
      const records = await page.evaluate(() => window.sent);
      await page.close();
      await sleep(300);
      const n = await checkRequests(records, name, mode);
      console.log(`${mode}: ${JSON.stringify(n)}; monitor: ${m.stallCount} stall(s), ${m.stallMs.toFixed(0)} ms`);
      assert.deepEqual(errors, []);
      assert.equal(m.stallCount, 1, 'the scripted stall was measured');
      assert.ok(n.playlists >= 3 && n.segments >= 6, 'playlists and segments were checked');
      assert.ok(n.d >= 6 && n.withBl >= 4 && n.withNor >= 3, 'd, bl and nor were checked');
      assert.ok(n.su >= 1 && n.bs >= 1, 'su and bs were seen (startup / the stall)');
    } finally {
      await browser.close();
    }
  });
}

test('CMCD v2 event mode: reports at a local endpoint equal the monitor\'s values', { timeout: 120_000 }, async () => {
  const browser = await launchChromium([NO_DNS]);
  try {
    const name = `cmcd-ev-${uid()}`;
    const from = reports.length;
    await post(`/api/live/reset?name=${name}&blocking=1&window=20&audio=0`);
    const { page, errors } = await openView(browser, `name=${name}&mode=query&events=1`);
    await stall(page, name, 1500);
    await sleep(2500);
    // A time-interval report now, with the monitor's metrics read in the same task.
    const { m, sid, t0, t1 } = await page.evaluate(() => {
      const t0 = Date.now();
      window.reporter.flush(true);
      return { m: window.qoe.metrics(), sid: window.qoe.sessionId, t0, t1: Date.now() };
    });
    const deadline = Date.now() + 10_000;
    const lines = () => reports.slice(from).flatMap((r) => r.body.split('\n'));
    while (!lines().some((l) => decodeCmcd(l).ts >= t0 && decodeCmcd(l).e === 't') && Date.now() < deadline) await sleep(100);
    const status = await page.evaluate(() => window.reporter.status());
    await page.close();

    const got = reports.slice(from);
    assert.ok(got.length >= 1, 'batches arrived');
    for (const r of got) {
      assert.equal(r.contentType, 'application/cmcd');
      assert.ok(!r.body.endsWith('\n'));
      const v = validateCmcdEvents(r.body);
      assert.ok(v.valid, `cml-cmcd validates the batch: ${JSON.stringify(v.issues)}`);
    }
    const events = lines().map((l) => decodeCmcd(l));
    console.log(`events: ${events.length} lines in ${got.length} batches; ${events.map((e) => `${e.e}${e.sta ? `:${e.sta}` : ''}`).join(' ')}; status ${JSON.stringify(status)}`);
    // Every report once, in order, from sn 0.
    assert.deepEqual(events.map((e) => e.sn), events.map((_, i) => i), 'sn 0, 1, 2, … without gaps or repeats');
    for (const e of events) {
      assert.equal(e.v, 2);
      assert.equal(e.sid, sid);
      assert.equal(e.cid, name);
      assert.equal(e.sf, 'h');
      assert.equal(e.st, 'l');
    }
    // Play states: starting or playing first, then rebuffering during the stall, playing after.
    const states = events.filter((e) => e.e === 'ps').map((e) => e.sta);
    assert.ok(['s', 'p'].includes(states[0]), `first state ${states[0]}`);
    const r = states.indexOf('r');
    assert.ok(r > 0 && states.slice(r + 1).includes('p'), `rebuffering then playing: ${states.join(' ')}`);
    // msd once: the monitor's startup time.
    const msd = events.filter((e) => e.msd !== undefined);
    assert.equal(msd.length, 1, 'msd sent once');
    assert.equal(msd[0].msd, Math.round(m.startupMs));
    // bs on the first report after the stall started (and on reports during it).
    const firstR = events.find((e) => e.sta === 'r');
    assert.equal(firstR.bs, true, 'bs on the rebuffering report');
    // The flushed time-interval report equals the monitor's values read with it.
    const t = events.findLast((e) => e.e === 't' && e.ts >= t0);
    assert.ok(t, 'the flushed time-interval report arrived');
    assert.ok(t.ts >= t0 && t.ts <= t1, 'ts when flushed');
    assert.equal(t.sta, 'p');
    assert.deepEqual(t.bsa, [m.stallCount]);
    assert.deepEqual(t.bsda, [Math.round(m.stallMs)]);
    assert.equal(t.dfa, m.droppedFrames);
    if (m.latencyLastMs != null && m.latencyLastMs >= 0) assert.equal(t.ltc, Math.round(m.latencyLastMs));
    if (m.bitrateLastBps != null) assert.deepEqual(t.pb, [Math.round(m.bitrateLastBps / 1000)]);
    assert.equal(t.bs, undefined, 'no stall since the previous report');
    assert.deepEqual(errors, []);
    assert.equal(status.failures, 0);
    assert.equal(status.dropped, 0);
  } finally {
    await browser.close();
  }
});

test('the player\'s v2 encoder writes what the crate writes (examples/cmcd_samples)', () => {
  const out = execFileSync('cargo', ['run', '--quiet', '--features', 'player', '--example', 'cmcd_samples'],
    { cwd: root, encoding: 'utf8', maxBuffer: 1 << 24 });
  const revive = (v) => (v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v);
  const samples = out.trim().split('\n').map((l) => JSON.parse(l)).filter((s) => s.mode === 'event');
  assert.ok(samples.length >= 8);
  for (const s of samples) {
    const data = Object.fromEntries(Object.entries(s.input).map(([k, v]) => [k, Array.isArray(v) ? v.map(revive) : revive(v)]));
    assert.equal(encodeCmcdEvent(data), s.event, s.name);
  }
  // Invalid values are omitted as the crate omits them; a report without its state key is none.
  assert.equal(encodeCmcdEvent({ e: 't', ts: 1, sn: 0, bl: [-5], ltc: NaN, sid: 'x'.repeat(65), cid: 'é' }), 'e=t,sn=0,ts=1,v=2');
  assert.equal(encodeCmcdEvent({ e: 'ps', ts: 1, sn: 0 }), undefined);
  assert.equal(encodeCmcdEvent({ e: 't', ts: NaN, sn: 0 }), undefined);
  assert.equal(encodeCmcdEvent({ e: 'pr', ts: 1, sn: 3, pr: 1 }), 'e=pr,pr=1.0,sn=3,ts=1,v=2');
  assert.equal(encodeCmcdEvent({ e: 't', ts: 1, sn: 3, pr: 1.2345 }), 'e=t,pr=1.234,sn=3,ts=1,v=2');
});
