// The reference collector (www/collector.mjs) as a child process on 127.0.0.1 with a temporary
// log directory: kill -9 in the middle of a stream of summaries, restart, resend what was not
// acknowledged (and some acknowledged duplicates): the totals equal the truth, nothing
// acknowledged is lost and nothing is counted twice; a torn log tail is truncated on restart;
// bad input gets a clear status and reason, is counted, and never stops the collector.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestViewer, encodeSummary, rng, truth } from './support/summaries.mjs';

const COLLECTOR = fileURLToPath(new URL('../../www/collector.mjs', import.meta.url));
const T0 = Date.UTC(2026, 0, 5, 20, 0, 0);

/** Starts the collector; resolves to { child, url } once it listens. */
function spawnCollector(logDir) {
  const child = spawn(process.execPath, [COLLECTOR, '--port', '0', '--log-dir', logDir, '--id', 'durable'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((ok, fail) => {
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    child.stdout.on('data', (d) => {
      out += d;
      const m = /collector listening (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) ok({ child, url: m[1] });
    });
    child.once('exit', (code) => fail(new Error(`collector exited ${code}: ${err}`)));
  });
}

function kill9(child) {
  return new Promise((ok) => {
    if (child.exitCode !== null || child.signalCode !== null) return ok();
    child.once('exit', () => ok());
    child.kill('SIGKILL');
  });
}

async function post(url, bytes, { region = 'north', room } = {}) {
  const q = room ? `?room=${encodeURIComponent(room)}` : '';
  const res = await fetch(`${url}/api/summary${q}`, {
    method: 'POST', body: bytes, headers: { 'content-type': 'application/octet-stream', 'x-region': region },
  });
  return { status: res.status, body: await res.json() };
}

const get = async (url, path) => (await fetch(url + path)).json();

/** Runs `fn` over `items` with at most `n` in flight. */
async function pool(items, n, fn) {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) await fn(items[i++]);
  }));
}

test('kill -9 mid-stream, restart, resend: nothing acknowledged lost, nothing counted twice', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'livekpi-durable-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const random = rng(42);
  const N = 60;
  const PER = 6;
  const vs = Array.from({ length: N }, () => new TestViewer({ random, room: 'live-1', t0: T0, summaries: PER }));
  const region = new Map(vs.map((v, i) => [v, ['north', 'south', 'west'][i % 3]]));
  const pending = new Map(); // viewer → bytes sent but not acknowledged
  const acked = []; // bytes of acknowledged summaries (for duplicate resends)
  let c = await spawnCollector(dir);
  let acks = 0;
  let killed = false;
  let failedSends = 0;

  async function send(v) {
    if (!pending.has(v)) {
      if (v.done) return;
      pending.set(v, v.next());
    }
    const bytes = pending.get(v);
    let r;
    try {
      r = await post(c.url, bytes, { region: region.get(v), room: 'live-1' });
    } catch {
      failedSends += 1; // connection refused or reset: not acknowledged, will be resent
      return;
    }
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok(['applied', 'duplicate'].includes(r.body.status), r.body.status);
    v.ack(r.body.seq);
    pending.delete(v);
    acked.push({ v, bytes });
    acks += 1;
    if (!killed && acks >= 130) {
      killed = true;
      c.child.kill('SIGKILL'); // mid-stream: other requests are in flight
    }
  }

  // Rounds of 30 s: every viewer sends (or resends) one summary per round.
  for (let round = 0; round < PER + 2; round++) {
    await pool(vs, 12, send);
    if (killed && c.child.signalCode === 'SIGKILL') {
      await kill9(c.child);
      assert.ok(failedSends > 0 || pending.size === 0);
      c = await spawnCollector(dir); // same log directory
      const st = await get(c.url, '/api/collector/stats');
      assert.ok(st.log.replayed >= 130, `replayed ${st.log.replayed}`);
      // Acknowledged summaries again (retries whose ack the player lost): acknowledged, not counted.
      for (const { v, bytes } of acked.slice(0, 40)) {
        const r = await post(c.url, bytes, { region: region.get(v) });
        assert.equal(r.status, 200);
        assert.ok(['duplicate', 'superseded'].includes(r.body.status), r.body.status);
      }
    }
  }
  assert.ok(killed, 'the collector was killed mid-stream');
  t.diagnostic(`killed after ${130} acks; ${failedSends} sends failed and were resent`);
  assert.equal(pending.size, 0);
  assert.ok(vs.every((v) => v.done));

  const check = async () => {
    const [room] = await get(c.url, '/api/collector/rooms');
    const want = truth(vs);
    for (const [k, v] of Object.entries(want)) assert.equal(room.total.counters[k], v, k);
    assert.equal(room.total.counters.views, N);
    assert.equal(room.total.counters.finished_views, N);
    assert.equal(Math.round(room.total.distinct_viewers), N);
    assert.equal(room.total.quantiles.watch_ms.n, N);
    const st = await get(c.url, '/api/collector/stats');
    assert.equal(st.merger.applied, N * PER, 'every summary applied exactly once (replayed + new)');
    assert.equal(st.log.records, N * PER);
    return { room, st };
  };
  const before = await check();
  const exportBefore = await (await fetch(`${c.url}/api/collector/export?format=ndjson`)).text();

  // kill -9 while idle, then a torn record at the tail (a crash inside a write): replay truncates
  // it and rebuilds exactly the same state.
  await kill9(c.child);
  const log = join(dir, 'summaries.log');
  const size = statSync(log).size;
  appendFileSync(log, Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 9, 9]));
  c = await spawnCollector(dir);
  const after = await check();
  assert.equal(after.st.log.truncated_bytes, 10);
  assert.equal(statSync(log).size, size);
  assert.deepEqual(after.room, before.room);
  assert.equal(await (await fetch(`${c.url}/api/collector/export?format=ndjson`)).text(), exportBefore);
  await kill9(c.child);
});

test('bad input: clear status and reason, counted, no crash', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'livekpi-bad-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const c = await spawnCollector(dir);
  t.after(() => kill9(c.child));
  const random = rng(7);
  const v = new TestViewer({ random, room: 'r1', t0: T0, summaries: 2 });
  const s1 = v.next();
  const base = { sessionId: v.sessionId, seq: 1, baseSeq: 0, room: 'r1', startMs: T0, spanMs: 30_000 };
  const expect = async (bytes, status, code, field, opts) => {
    const r = await post(c.url, bytes, opts);
    assert.equal(r.status, status, `${code}: ${JSON.stringify(r.body)}`);
    if (code) {
      assert.equal(r.body.code, code);
      if (field) assert.equal(r.body.field, field);
      assert.equal(typeof r.body.message, 'string');
      assert.match(r.body.message, new RegExp(r.body.field));
    }
    return r.body;
  };
  await expect(s1.subarray(0, 25), 400, 'truncated', 'start_ms');
  await expect(new Uint8Array(9000), 413, 'oversized', 'message');
  await expect(encodeSummary({ ...base, version: 2 }), 400, 'unsupported_version', 'version');
  await expect(encodeSummary({ ...base, delta: { watch_ms: 10_000_000 } }), 400, 'absurd_value', 'watch_ms');
  await expect(encodeSummary({ ...base, delta: { total_frames: 10, dropped_frames: 11 } }), 400, 'absurd_value', 'dropped_frames');
  await expect(s1, 400, 'room_mismatch', 'room_id', { room: 'other' });
  await expect(s1, 400, 'bad_region', 'region', { region: 'r'.repeat(65) });
  assert.equal((await expect(s1, 200)).status, 'applied');
  assert.equal((await expect(s1, 200)).status, 'duplicate'); // retried
  v.ack(1);
  const s2 = v.next(); // final
  assert.equal((await expect(s2, 200)).status, 'applied');
  assert.equal((await expect(s1, 200)).status, 'superseded'); // replayed late
  await expect(encodeSummary({ ...base, seq: 3, baseSeq: 2, startMs: T0 + 60_000 }), 409, 'after_final', 'seq');
  for (let i = 0; i < 50; i++) {
    const junk = Uint8Array.from({ length: 1 + Math.floor(random() * 120) }, () => Math.floor(random() * 256));
    if (i % 2) junk.set([0x4c, 0x51, 1, 0]);
    const r = await post(c.url, junk);
    assert.ok([400, 409].includes(r.status), `junk ${i}: ${r.status}`);
    assert.ok(r.body.code && r.body.field && r.body.message);
  }
  const wrongMethod = await fetch(`${c.url}/api/summary`);
  assert.equal(wrongMethod.status, 405);
  const st = await get(c.url, '/api/collector/stats');
  const by = Object.fromEntries(st.merger.rejected_by_code.map((x) => [x.code, x.count]));
  for (const code of ['truncated', 'oversized', 'unsupported_version', 'absurd_value', 'room_mismatch', 'bad_region', 'after_final']) {
    assert.ok(by[code] >= 1, `${code} counted: ${JSON.stringify(by)}`);
  }
  assert.equal(st.merger.rejected, 7 + 1 + 50);
  assert.equal(st.merger.applied, 2);
  assert.equal(st.merger.duplicates, 1);
  assert.equal(st.merger.superseded, 1);
  assert.equal(st.http.by_status['413'], 1);
  assert.equal(st.http.by_status['405'], 1);
  assert.equal(st.log.records, 2);
  assert.equal(c.child.exitCode, null, 'still running');
  const [room] = await get(c.url, '/api/collector/rooms');
  assert.equal(room.total.counters.watch_ms, 60_000);
  assert.equal((await fetch(`${c.url}/api/collector/rooms?room=nope`)).status, 404);
  const rows = (await (await fetch(`${c.url}/api/collector/export`)).text()).trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(rows.length, 2); // two minutes: the summaries ended at T0 + 30 s and T0 + 60 s
  assert.deepEqual(rows.map((r) => r.collector), ['durable', 'durable']);
});
