// The reference collector's protections (www/collector.mjs, docs/collector.md "Security"), one
// test each, over real HTTP on 127.0.0.1 (node:http, so Origin and chunked bodies are ours to
// set): per-room HMAC ingest tokens (a page of room A cannot write into room B), the size limit
// with a streamed body cut off early, per-client rate limiting with a bounded bucket table,
// origin checks and CORS preflights, and no echo of request data in any answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCollectorServer, issueToken, verifyToken, createRateLimiter } from '../../www/collector.mjs';
import { TestViewer, rng } from './support/summaries.mjs';

const SECRET = 'test-secret-0123456789abcdef0123456789abcdef';
const T0 = Date.UTC(2026, 0, 7, 9, 0, 0);
const SHOP = 'https://shop.example';

async function collector(t, options = {}) {
  const logDir = mkdtempSync(join(tmpdir(), 'livekpi-sec-'));
  const c = await startCollectorServer({ logDir, collectorId: 'sec', ...options });
  t.after(async () => {
    await c.close();
    rmSync(logDir, { recursive: true, force: true });
  });
  return c;
}

/** One HTTP request; every answer must be JSON (or an empty 204) with nosniff. */
function send(base, path, { method = 'POST', headers = {}, body } = {}) {
  return new Promise((ok, fail) => {
    const req = httpRequest(base + path, { method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        assert.equal(res.headers['x-content-type-options'], 'nosniff', `${method} ${path}`);
        if (res.statusCode !== 204) assert.equal(res.headers['content-type'], 'application/json', `${method} ${path}`);
        ok({ status: res.statusCode, headers: res.headers, text, body: text ? JSON.parse(text) : null });
      });
    });
    req.on('error', fail);
    req.end(body);
  });
}

const viewer = (room, seed = 1) => new TestViewer({ random: rng(seed), room, t0: T0, summaries: 3 });
const bearer = (token) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' });

test('tokens: format, signature, expiry, constant-time check, tampering', () => {
  const now = T0;
  const tok = issueToken('room-a', 3_600_000, { secret: SECRET, now });
  assert.match(tok, /^v1\.[A-Za-z0-9_-]+\.\d+\.\.[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(verifyToken(tok, { secret: SECRET, now }), { ok: true, room: 'room-a', expiresMs: now + 3_600_000, origin: null });
  const bound = issueToken('room-a', 60_000, { secret: SECRET, now, origin: SHOP });
  assert.equal(verifyToken(bound, { secret: SECRET, now }).origin, SHOP);
  assert.equal(verifyToken(tok, { secret: SECRET, now: now + 3_600_000 }).code, 'token_expired');
  assert.equal(verifyToken(tok, { secret: `${SECRET}x`, now }).code, 'token_invalid');
  // Another room (or a later expiry) with the old MAC: the signature no longer matches.
  const [v, , exp, o, m] = tok.split('.');
  assert.equal(verifyToken([v, Buffer.from('room-b').toString('base64url'), exp, o, m].join('.'), { secret: SECRET, now }).code, 'token_invalid');
  assert.equal(verifyToken([v, tok.split('.')[1], String(Number(exp) + 10_000), o, m].join('.'), { secret: SECRET, now }).code, 'token_invalid');
  for (const bad of ['', 'v1', 'v2.cm9vbQ.1.', `${tok}.x`, tok.replace('v1.', 'v1..'), 'x'.repeat(5000), `${tok.slice(0, -1)}!`]) {
    assert.equal(verifyToken(bad, { secret: SECRET, now }).code, 'token_malformed', bad.slice(0, 40));
  }
  assert.throws(() => issueToken('room-a', 1000, { secret: 'short' }), /at least 32 bytes/);
  assert.throws(() => issueToken('', 1000, { secret: SECRET }), /room/);
  assert.throws(() => issueToken('r'.repeat(65), 1000, { secret: SECRET }), /room/);
  assert.throws(() => issueToken('room-a', 1000, { secret: SECRET, origin: `${SHOP}/` }), /origin/);
});

test('per-room tokens: a page of room A cannot write into room B', async (t) => {
  const c = await collector(t, { auth: 'token', secret: SECRET, allowedOrigins: [SHOP], rateLimit: false });
  const a = viewer('room-a', 1);
  const b = viewer('room-b', 2);
  const tokA = issueToken('room-a', 600_000, { secret: SECRET });
  const tokB = issueToken('room-b', 600_000, { secret: SECRET });

  const none = await send(c.url, '/api/summary?room=room-a', { body: a.next() });
  assert.deepEqual([none.status, none.body.code, none.body.field], [401, 'token_missing', 'authorization']);
  assert.match(none.headers['www-authenticate'], /^Bearer /);

  // Header (fetch) and query argument (sendBeacon cannot set headers) both work.
  const s1 = viewer('room-a', 1).next(); // the same bytes as the refused one above
  const ok1 = await send(c.url, '/api/summary?room=room-a', { headers: bearer(tokA), body: s1 });
  assert.deepEqual([ok1.status, ok1.body.status, ok1.body.seq], [200, 'applied', 1]);
  assert.deepEqual(Object.keys(ok1.body).sort(), ['is_final', 'seq', 'session', 'status']);
  const ok2 = await send(c.url, `/api/summary?room=room-a&token=${tokA}`, { body: s1 });
  assert.deepEqual([ok2.status, ok2.body.status], [200, 'duplicate']);
  const ok3 = await send(c.url, `/api/summary?token=${tokB}`, { body: b.next() });
  assert.deepEqual([ok3.status, ok3.body.status], [200, 'applied']);

  // Token of A, query room B: refused before the body is read.
  const r1 = await send(c.url, '/api/summary?room=room-b', { headers: bearer(tokA), body: viewer('room-b', 3).next() });
  assert.deepEqual([r1.status, r1.body.code, r1.body.field], [403, 'wrong_room', 'room']);
  // Token of A, no query room, a summary whose own room id is B.
  const r2 = await send(c.url, '/api/summary', { headers: bearer(tokA), body: viewer('room-b', 4).next() });
  assert.deepEqual([r2.status, r2.body.code, r2.body.field], [403, 'wrong_room', 'room_id']);
  const r2q = await send(c.url, `/api/summary?token=${tokA}&room=room-a`, { body: viewer('room-b', 5).next() });
  assert.deepEqual([r2q.status, r2q.body.code], [403, 'wrong_room']);

  const expired = issueToken('room-a', 1000, { secret: SECRET, now: Date.now() - 10_000 });
  const r3 = await send(c.url, '/api/summary', { headers: bearer(expired), body: viewer('room-a', 6).next() });
  assert.deepEqual([r3.status, r3.body.code], [401, 'token_expired']);
  const forged = issueToken('room-a', 600_000, { secret: `${SECRET}-other` });
  const r4 = await send(c.url, '/api/summary', { headers: bearer(forged), body: viewer('room-a', 7).next() });
  assert.deepEqual([r4.status, r4.body.code], [401, 'token_invalid']);
  const r5 = await send(c.url, '/api/summary?token=v1.abc', { body: viewer('room-a', 8).next() });
  assert.deepEqual([r5.status, r5.body.code], [401, 'token_malformed']);
  // A token bound to an origin works from that origin only.
  const boundTok = issueToken('room-a', 600_000, { secret: SECRET, origin: SHOP });
  const r6 = await send(c.url, '/api/summary', { headers: { ...bearer(boundTok), origin: SHOP }, body: viewer('room-a', 9).next() });
  assert.equal(r6.status, 200);
  const r7 = await send(c.url, '/api/summary', { headers: bearer(boundTok), body: viewer('room-a', 10).next() });
  assert.deepEqual([r7.status, r7.body.code], [403, 'token_origin']);

  const rooms = await send(c.url, '/api/collector/rooms', { method: 'GET' });
  assert.deepEqual(rooms.body.map((r) => [r.room, r.total.counters.views]), [['room-a', 2], ['room-b', 1]]);
  const st = (await send(c.url, '/api/collector/stats', { method: 'GET' })).body;
  assert.equal(st.security.auth, 'token');
  assert.equal(st.http.by_code.wrong_room, 3);
  assert.equal(st.log.records, 3);
});

test('limits: x-region values beyond the cap go to "other"; the time window refuses far client times (400 out_of_window); a session id is scoped to its room', async (t) => {
  let clock = T0;
  const c = await collector(t, { auth: 'open', rateLimit: false, now: () => clock, merger: { maxRegionsPerRoom: 2, windowPastMs: 3_600_000 } });
  for (let i = 0; i < 5; i++) {
    const r = await send(c.url, '/api/summary', { headers: { 'x-region': `forged-${i}` }, body: viewer('room-a', 10 + i).next() });
    assert.equal(r.status, 200);
  }
  const rooms = await send(c.url, '/api/collector/rooms?room=room-a', { method: 'GET' });
  assert.deepEqual(rooms.body.regions.map((x) => [x.region, x.aggregate.counters.views]), [['forged-0', 1], ['forged-1', 1], ['other', 3]]);
  // the same session (same seed) in room b: its own session there, room a untouched
  const rb = await send(c.url, '/api/summary', { body: viewer('room-b', 10).next() });
  assert.deepEqual([rb.status, rb.body.status], [200, 'applied']);
  clock = T0 + 2 * 3_600_000; // the client's times are now 2 h behind the collector's clock
  const late = await send(c.url, '/api/summary', { body: viewer('room-a', 99).next() });
  assert.deepEqual([late.status, late.body.code, late.body.field], [400, 'out_of_window', 'end_ms']);
  const st = await send(c.url, '/api/collector/stats', { method: 'GET' });
  assert.equal(st.body.merger.region_overflow, 3);
  assert.equal(st.body.merger.rejected_by_code.find((x) => x.code === 'out_of_window').count, 1);
});

test('dev: auth token without a configured secret uses a random per-process key', async (t) => {
  const c = await collector(t, { auth: 'token', rateLimit: false });
  const tok = c.collector.issueToken('room-a', 60_000);
  const ok = await send(c.url, `/api/summary?token=${tok}`, { body: viewer('room-a').next() });
  assert.equal(ok.status, 200);
  const other = await send(c.url, `/api/summary?token=${issueToken('room-a', 60_000, { secret: SECRET })}`, { body: viewer('room-a', 2).next() });
  assert.deepEqual([other.status, other.body.code], [401, 'token_invalid']);
});

test('size limit: 413; a streamed oversized body is cut off without being read', async (t) => {
  const c = await collector(t, { auth: 'open' });
  const declared = await send(c.url, '/api/summary', { body: Buffer.alloc(9000) });
  assert.deepEqual([declared.status, declared.body.code], [413, 'oversized']);

  // Chunked, no content-length: write up to 32 MiB; the answer must come early and the server
  // must stop reading (the writes then stall or fail), so it never sees more than ~100 KiB.
  const TOTAL = 32 * 1024 * 1024;
  const chunk = Buffer.alloc(16 * 1024, 0x41);
  const result = await new Promise((ok, fail) => {
    let written = 0;
    let answer = null;
    let closed = false;
    const req = httpRequest(`${c.url}/api/summary`, { method: 'POST', agent: false, headers: { 'content-type': 'application/octet-stream' } }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => { answer = { status: res.statusCode, body: JSON.parse(Buffer.concat(parts)) }; });
    });
    req.on('error', () => { closed = true; });
    req.on('close', () => { closed = true; });
    const started = Date.now();
    const pump = () => {
      while (!closed && written < TOTAL && Date.now() - started < 4000) {
        written += chunk.length;
        if (!req.write(chunk)) return req.once('drain', pump);
      }
    };
    pump();
    const check = setInterval(() => {
      if ((answer && (closed || Date.now() - started > 3000)) || Date.now() - started > 6000) {
        clearInterval(check);
        req.destroy();
        ok({ written, answer, closed });
      }
    }, 50);
    setTimeout(() => fail(new Error('no end')), 10_000).unref();
  });
  assert.ok(result.answer, 'an answer arrived while the body was still being sent');
  assert.deepEqual([result.answer.status, result.answer.body.code], [413, 'oversized']);
  assert.ok(result.written < TOTAL, `the client could not send it all (${result.written} bytes)`);
  const st = (await send(c.url, '/api/collector/stats', { method: 'GET' })).body;
  assert.ok(st.http.refused_body_bytes < 200 * 1024, `server read ${st.http.refused_body_bytes} bytes of the refused bodies`);
  assert.ok(st.http.cut_off >= 1);
  assert.equal(st.http.by_status['413'], 2);
  t.diagnostic(`client wrote ${result.written} bytes before the cut; the server read ${st.http.refused_body_bytes}`);
});

test('rate limit: token bucket per client and room, 429 + Retry-After, bounded table', async (t) => {
  const c = await collector(t, { auth: 'token', secret: SECRET, rateLimit: { rate: 0.5, burst: 3, maxBuckets: 4 } });
  const tok = issueToken('room-a', 600_000, { secret: SECRET });
  const statuses = [];
  let limited;
  for (let i = 0; i < 6; i++) {
    const r = await send(c.url, `/api/summary?token=${tok}`, { body: viewer('room-a', 100 + i).next() });
    statuses.push(r.status);
    if (r.status === 429) limited = r;
  }
  assert.deepEqual(statuses, [200, 200, 200, 429, 429, 429]);
  assert.deepEqual([limited.body.code, limited.body.field], ['rate_limited', 'client']);
  assert.ok(Number(limited.headers['retry-after']) >= 1 && Number(limited.headers['retry-after']) <= 2, limited.headers['retry-after']);
  // Another room from the same client has its own bucket.
  const tokB = issueToken('room-b', 600_000, { secret: SECRET });
  assert.equal((await send(c.url, `/api/summary?token=${tokB}`, { body: viewer('room-b').next() })).status, 200);
  // Bad tokens spend from the client's unauthenticated bucket: guessing is throttled too.
  const bad = [];
  for (let i = 0; i < 5; i++) bad.push((await send(c.url, '/api/summary?token=v1.x', { body: Buffer.alloc(10) })).status);
  assert.deepEqual(bad, [401, 401, 401, 429, 429]);
  // Many rooms: the bucket table stays at its cap (least recently used evicted).
  for (let i = 0; i < 10; i++) {
    const tr = issueToken(`room-${i}`, 600_000, { secret: SECRET });
    assert.equal((await send(c.url, `/api/summary?token=${tr}`, { body: viewer(`room-${i}`, 200 + i).next() })).status, 200);
  }
  const st = (await send(c.url, '/api/collector/stats', { method: 'GET' })).body;
  assert.equal(st.security.rate_limit.buckets, 4);
  assert.ok(st.security.rate_limit.evicted >= 9, JSON.stringify(st.security.rate_limit));
  assert.equal(st.security.rate_limit.limited, 5);
  // The bucket refills at `rate` (injectable clock).
  let now = 0;
  const rl = createRateLimiter({ rate: 2, burst: 2, maxBuckets: 2, clock: () => now });
  assert.deepEqual([rl.take('x'), rl.take('x'), rl.take('x')], [0, 0, 500]);
  now += 500;
  assert.equal(rl.take('x'), 0);
  rl.take('y');
  rl.take('z');
  assert.deepEqual([rl.stats().buckets, rl.stats().evicted], [2, 1]);
});

test('origins: allow-list, same origin, CORS preflight, ACAO only for allowed origins', async (t) => {
  const c = await collector(t, { auth: 'open', allowedOrigins: [SHOP] });
  const host = new URL(c.url).host;
  const pre = await send(c.url, '/api/summary', {
    method: 'OPTIONS', headers: { origin: SHOP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers['access-control-allow-origin'], SHOP);
  assert.equal(pre.headers['access-control-allow-methods'], 'POST');
  assert.match(pre.headers['access-control-allow-headers'], /authorization/);
  assert.match(pre.headers['access-control-allow-headers'], /content-type/);
  assert.equal(pre.headers['access-control-max-age'], '600');
  assert.match(pre.headers.vary, /Origin/);
  const preBad = await send(c.url, '/api/summary', { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
  assert.equal(preBad.status, 403);
  assert.equal(preBad.headers['access-control-allow-origin'], undefined);
  assert.equal(preBad.headers['access-control-allow-methods'], undefined);

  const allowed = await send(c.url, '/api/summary?room=r1', { headers: { origin: SHOP }, body: viewer('r1').next() });
  assert.equal(allowed.status, 200);
  assert.equal(allowed.headers['access-control-allow-origin'], SHOP);
  const allowedErr = await send(c.url, '/api/summary', { headers: { origin: SHOP }, body: Buffer.from('nope') });
  assert.equal(allowedErr.status, 400);
  assert.equal(allowedErr.headers['access-control-allow-origin'], SHOP, 'the page can read the reason');
  for (const origin of ['https://evil.example', 'null', `${SHOP}.evil.example`, 'http://shop.example', 'garbage']) {
    const r = await send(c.url, '/api/summary?room=r1', { headers: { origin }, body: viewer('r1', 2).next() });
    assert.deepEqual([r.status, r.body.code, r.body.field], [403, 'origin_not_allowed', 'origin'], origin);
    assert.equal(r.headers['access-control-allow-origin'], undefined);
  }
  // The collector's own origin (the demo's viewer page) and non-browser clients (no Origin).
  const same = await send(c.url, '/api/summary?room=r1', { headers: { origin: `http://${host}` }, body: viewer('r1', 3).next() });
  assert.equal(same.status, 200);
  assert.equal(same.headers['access-control-allow-origin'], undefined);
  assert.equal((await send(c.url, '/api/summary?room=r1', { body: viewer('r1', 4).next() })).status, 200);
  const st = (await send(c.url, '/api/collector/stats', { method: 'GET' })).body;
  assert.equal(st.http.by_code.origin_not_allowed, 6);
  assert.equal(st.merger.applied, 3);
});

test('never echoes input; every answer is JSON with nosniff', async (t) => {
  const c = await collector(t, { auth: 'open' });
  const XSS = '<script>alert(1)</script>';
  const q = encodeURIComponent(XSS);
  const answers = [
    await send(c.url, `/api/summary?room=${q}`, { body: viewer('r1').next() }), // room_mismatch
    await send(c.url, '/api/summary', { headers: { 'x-region': XSS }, body: viewer('r1').next() }), // bad_region
    await send(c.url, '/api/summary', { body: Buffer.from(`LQ\x01\x00${XSS}${XSS}`) }), // malformed body
    await send(c.url, '/api/summary', { body: Buffer.from(XSS.repeat(400)) }), // oversized
    await send(c.url, `/api/summary?room=${q}`, { method: 'PUT', body: XSS }),
    await send(c.url, '/api/summary', { headers: { origin: `https://${XSS.replace(/[<>()/]/g, '')}.example`, 'x-evil': XSS }, body: XSS }),
    await send(c.url, `/api/collector/rooms?room=${q}`, { method: 'GET' }),
    await send(c.url, `/api/collector/export?format=${q}`, { method: 'GET' }),
    await send(c.url, `/api/collector/${q}`, { method: 'GET' }),
    // A valid summary whose own room id is markup: acknowledged without repeating it...
    await send(c.url, '/api/summary', { body: viewer(XSS, 5).next() }),
    // ...and the data routes escape it (\u003c), never a literal `<`.
    await send(c.url, '/api/collector/rooms', { method: 'GET' }),
    await send(c.url, '/api/collector/export?format=json', { method: 'GET' }),
  ];
  assert.deepEqual(answers.map((a) => a.status), [400, 400, 400, 413, 405, 403, 404, 400, 404, 200, 200, 200]);
  answers.forEach((a, i) => {
    assert.ok(!a.text.includes('<') && !a.text.includes('>'), a.text.slice(0, 200));
    if (i < 10) assert.ok(!a.text.includes('alert') && !a.text.includes('script'), a.text.slice(0, 200));
  });
  assert.equal(answers[10].body[0].room, XSS, 'the escaped JSON still parses to the room id');
  const tok = await collector(t, { auth: 'token', secret: SECRET, rateLimit: false });
  for (const headers of [{ authorization: `Bearer ${XSS}` }, { authorization: XSS }]) {
    const r = await send(tok.url, '/api/summary', { headers, body: XSS });
    assert.equal(r.status, 401);
    assert.ok(!r.text.includes('<') && !r.text.includes('alert'), r.text);
  }
  const r = await send(tok.url, `/api/summary?token=${q}`, { body: XSS });
  assert.deepEqual([r.status, r.body.code], [401, 'token_malformed']);
  assert.ok(!r.text.includes('<'));
});
