#!/usr/bin/env node
// Bytes sent upstream per viewer-minute (issue 4): livekpi/player summaries (30 s flush) vs
// mux-embed 5.19 beacons, both attached to the same <video> in the same page and run (headless
// Chromium, hls.js live playback from the local origin, www/test/live.html?monitor=1&mux=1 plus
// the collector options), and CMCD v2 event mode as a computed third column. Not part of the test
// command.
//
// - livekpi: every POST /api/summary is measured where it arrives (a hook around the local
//   collector's route): body bytes as sent, plus the HTTP/1.1 request line and headers as
//   received (raw header names and values + ": " + CRLF each, + the blank line).
// - mux-embed: its beacons to *.litix.io are intercepted by Playwright (context.route) and
//   answered locally (200, empty): NOTHING leaves the machine (DNS is disabled for everything but
//   127.0.0.1). Counted the same way: body as sent + request line + the headers the browser sent
//   (request.allHeaders(), as seen at interception: headers the network stack adds later, such as
//   Host, Connection, Content-Length, Accept-Encoding, may be missing, so mux's header bytes are if
//   anything undercounted — in its favour). Both are counted as uncompressed HTTP/1.1 headers; over
//   HTTP/2 (HPACK) real header bytes would be smaller for both.
// - CMCD v2 (event mode): the player exposes only the v1 query (`cmcdQuery`), so this column is
//   computed: one interval report (`e=t`) every 30 s, its size taken from the Rust example
//   `cargo run --quiet --features player --example cmcd_samples` (the mean length of its `e=t`
//   event lines), plus the same request-line + header bytes as the mean livekpi request (a POST
//   from the same page to the same kind of endpoint).
// Each view ends explicitly (livekpi `detach()` → final summary; mux `destroyMonitor` → its
// viewend beacon) and those final requests are counted too.
//
// The session is played in real time (the page's timers, hls.js and mux-embed's 10 s heartbeat
// cannot be accelerated without changing what they send): default 10 minutes, `--minutes M` for a
// shorter run (the per-minute figures are then over M minutes; say so when quoting them).
// Usage: node benches/upstream-bytes.mjs [--minutes 10]   (build first: scripts/build.sh player)
// Writes benches/results/upstream-bytes.json.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startServer } from '../www/server.mjs';
import { launchChromium } from '../tests/js/support/chromium.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const arg = (name, d) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const MINUTES = Math.max(0.5, arg('--minutes', 10));
const FLUSH_MS = 30_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const r1 = (x) => Math.round(x * 10) / 10;

// ---- CMCD v2 interval report size, from the Rust writer's own samples ----
const samples = execFileSync('cargo', ['run', '--quiet', '--features', 'player', '--example', 'cmcd_samples'], { cwd: ROOT, encoding: 'utf8' })
  .split('\n').filter(Boolean).map((l) => JSON.parse(l));
const intervals = samples.filter((s) => s.mode === 'event' && /(^|,)e=t(,|$)/.test(s.event));
if (intervals.length === 0) throw new Error('cmcd_samples: no interval (e=t) event line');
const cmcdReportBytes = intervals.reduce((a, s) => a + Buffer.byteLength(s.event), 0) / intervals.length;

const server = await startServer({ port: 0 });
await server.live.ready();
const headerBytes = (requestLine, pairs) => Buffer.byteLength(requestLine) + 2
  + pairs.reduce((a, [k, v]) => a + Buffer.byteLength(k) + 2 + Buffer.byteLength(String(v)) + 2, 0) + 2;

const lk = { requests: 0, body: 0, headers: 0 };
const handle = server.collector.handle;
server.collector.handle = (req, res, url) => {
  if (url.pathname === '/api/summary' && req.method === 'POST') {
    lk.requests++;
    const pairs = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) pairs.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
    lk.headers += headerBytes(`POST ${req.url} HTTP/${req.httpVersion}`, pairs);
    req.on('data', (d) => { lk.body += d.length; });
  }
  return handle(req, res, url);
};

const browser = await launchChromium(['--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1']);
const mux = { requests: 0, body: 0, headers: 0 };
await browser.context.route(/litix\.io/, async (route) => {
  const req = route.request();
  mux.requests++;
  mux.body += req.postDataBuffer()?.length ?? 0;
  const u = new URL(req.url());
  const headers = Object.entries(await req.allHeaders()).filter(([k]) => !k.startsWith(':'));
  if (!headers.some(([k]) => k === 'host')) headers.push(['host', u.host]);
  mux.headers += headerBytes(`${req.method()} ${u.pathname}${u.search} HTTP/1.1`, headers);
  return route.fulfill({ status: 200, contentType: 'text/plain', body: '' });
});

let result;
try {
  const name = 'bytes';
  const reset = await fetch(`${server.url}/api/live/reset?name=${name}&window=20`, { method: 'POST' });
  if (!reset.ok) throw new Error(`reset: ${reset.status}`);
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const t0 = Date.now();
  await page.goto(`${server.url}/test/live.html?name=${name}&monitor=1&mux=1&frames=0&collector=/api/summary&room=bench-room&flush=${FLUSH_MS}`);
  await page.waitForFunction(() => window.qoe?.metrics()?.started, null, { timeout: 30_000 });
  const end = t0 + MINUTES * 60_000;
  while (Date.now() < end) {
    await sleep(Math.min(30_000, end - Date.now()));
    process.stderr.write(`  ${r1((Date.now() - t0) / 60_000)} min: livekpi ${lk.requests} req ${lk.body} B body; mux ${mux.requests} req ${mux.body} B body\n`);
  }
  const m = await page.evaluate(() => window.qoe.metrics());
  const up = await page.evaluate(() => window.qoe.upstream());
  await page.evaluate(() => { window.qoe.detach(); window.rig.mux.destroyMonitor(window.rig.video); });
  await sleep(2000);
  const minutes = (Date.now() - t0) / 60_000;
  await page.close();
  const stats = await (await fetch(`${server.url}/api/collector/stats`)).json();

  const row = (label, c, note) => {
    const total = c.body + c.headers;
    return { label, requests: c.requests, body_bytes: Math.round(c.body), header_bytes: Math.round(c.headers), total_bytes: Math.round(total),
      body_per_viewer_minute: r1(c.body / minutes), total_per_viewer_minute: r1(total / minutes), note };
  };
  const lkHeaderMean = lk.requests ? lk.headers / lk.requests : 0;
  const cmcdReports = Math.floor((minutes * 60_000) / FLUSH_MS);
  const cmcd = { requests: cmcdReports, body: cmcdReports * cmcdReportBytes, headers: cmcdReports * lkHeaderMean };
  const rows = [
    row('mux-embed 5.19 beacons', mux, 'JSON beacons to *.litix.io (intercepted, answered locally)'),
    row('livekpi summaries (30 s flush)', lk, 'binary summaries to the local collector'),
    row('CMCD v2 event mode (e=t every 30 s)', cmcd, `computed: ${r1(cmcdReportBytes)} B per report (mean of the e=t lines of examples/cmcd_samples.rs) + livekpi's mean request headers`),
  ];
  for (const r of rows) {
    r.mux_over_this_total = r.total_bytes ? r1(rows[0].total_bytes / r.total_bytes) : null;
    r.mux_over_this_body = r.body_bytes ? r1(rows[0].body_bytes / r.body_bytes) : null;
  }
  result = {
    date: new Date().toISOString(),
    command: `node benches/upstream-bytes.mjs --minutes ${MINUTES}`,
    session_minutes: r1(minutes),
    realtime: true,
    flush_interval_ms: FLUSH_MS,
    rows,
    goal: 'livekpi ≥ 10× fewer bytes than mux-embed (issue 4)',
    goal_met: rows[1].mux_over_this_total >= 10,
    page: { playing_ms: Math.round(m.playingMs), stall_count: m.stallCount, upstream: up, errors },
    collector: { applied: stats.merger.applied, duplicates: stats.merger.duplicates, superseded: stats.merger.superseded, rejected: stats.merger.rejected },
    cmcd_v2_report_bytes: r1(cmcdReportBytes),
    notes: [
      'Header bytes are uncompressed HTTP/1.1 (request line + headers + CRLFs) for every column; HTTP/2 HPACK would shrink them for all.',
      'CMCD v2 is computed, not captured: the player exposes only the CMCD v1 query (cmcdQuery).',
    ],
  };
} finally {
  await browser.close();
  await server.close();
}

const pad = (s, n) => String(s).padEnd(n);
const padl = (s, n) => String(s).padStart(n);
console.log(`upstream bytes, one viewer, ${result.session_minutes} min real-time session (same page, same <video>):`);
console.log(`${pad('', 38)}${padl('req', 5)}${padl('body B', 10)}${padl('hdr B', 10)}${padl('B/min body', 12)}${padl('B/min total', 13)}${padl('mux/x total', 13)}`);
for (const r of result.rows) {
  console.log(`${pad(r.label, 38)}${padl(r.requests, 5)}${padl(r.body_bytes, 10)}${padl(r.header_bytes, 10)}${padl(r.body_per_viewer_minute, 12)}${padl(r.total_per_viewer_minute, 13)}${padl(r.mux_over_this_total ?? '', 13)}`);
}
console.log(`goal ≥ 10× fewer bytes than mux-embed: ${result.goal_met ? 'met' : 'NOT met'} (livekpi ${result.rows[1].mux_over_this_total}× fewer, body only ${result.rows[1].mux_over_this_body}×)`);
mkdirSync(new URL('results/', import.meta.url), { recursive: true });
writeFileSync(new URL('results/upstream-bytes.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
