// livekpi::cmcd against @svta/cml-cmcd 2.7.0: the Rust example `cmcd_samples` prints, per sample,
// the raw inputs under their CMCD key names and what livekpi wrote (CMCD v1 query value and
// header values, or one CMCD v2 event-mode line). Here each output is decoded with cml-cmcd and
// compared field by field with what cml-cmcd itself makes of the same raw inputs
// (prepareCmcdData / encodeCmcd: its rounding, omission, ordering and quoting), and the strings
// are compared with cml-cmcd's encoding where both follow the same canonical form.
//
// Known, deliberate differences (normalized below and printed as diagnostics):
// - `pr` is an RFC 8941 Decimal in CTA-5004: livekpi writes `pr=2.0`, cml-cmcd writes an integral
//   rate as the Integer `pr=2` (both decode to 2);
// - CMCD v1 header mode: CTA-5004 (2020) puts `pr` in CMCD-Session; cml-cmcd 2.7 shards by the
//   CTA-5004-B (v2) table, which moved it to CMCD-Status;
// - cml-cmcd leaves integer-millisecond keys it has no formatter for (`ts`, `ltc`, `pt`, `msd`,
//   `dfa`, `pb`, `bsd`, `bsda`) to the caller: they are rounded here with Math.round first;
// - livekpi omits values cml-cmcd would still send (negative numbers, strings over the length
//   limits or not printable ASCII, malformed `nrr`): each sample lists those keys in `omit`.
//
// Run: node --test tests/js/cmcd.test.mjs   (builds and runs the example with cargo)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  CMCD_HEADER_MAP,
  decodeCmcd,
  encodeCmcd,
  fromCmcdHeaders,
  fromCmcdQuery,
  toCmcdHeaders,
  toCmcdQuery,
  validateCmcd,
  validateCmcdEvents,
  validateCmcdHeaders,
} from '@svta/cml-cmcd';

const root = fileURLToPath(new URL('../..', import.meta.url));
const stdout = execFileSync(
  'cargo',
  ['run', '--quiet', '--features', 'player', '--example', 'cmcd_samples'],
  { cwd: root, encoding: 'utf8', maxBuffer: 1 << 24 },
);
const samples = stdout.trim().split('\n').map((l) => JSON.parse(l));

const revive = (v) =>
  v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v;
const INTEGER_MS_KEYS = new Set(['ts', 'ltc', 'pt', 'msd', 'dfa', 'pb', 'bsd', 'bsda']);

/** The raw input as cml-cmcd data: special numbers revived, livekpi-omitted keys dropped, the
 * integer keys cml-cmcd does not round rounded with Math.round. */
function cmlData(sample) {
  const data = {};
  for (const [k, raw] of Object.entries(sample.input)) {
    if (sample.omit.includes(k)) continue;
    let v = Array.isArray(raw) ? raw.map(revive) : revive(raw);
    if (INTEGER_MS_KEYS.has(k)) v = Array.isArray(v) ? v.map(Math.round) : Math.round(v);
    data[k] = v;
  }
  return data;
}

/** Differences between two decoded CMCD objects, key by key. */
function diff(ours, theirs) {
  const out = [];
  for (const k of new Set([...Object.keys(ours), ...Object.keys(theirs)])) {
    const a = JSON.stringify(ours[k]);
    const b = JSON.stringify(theirs[k]);
    if (a !== b) out.push(`${k}: livekpi ${a ?? '(absent)'} vs cml-cmcd ${b ?? '(absent)'}`);
  }
  return out;
}

function assertSame(t, what, ours, theirs) {
  const d = diff(ours, theirs);
  if (d.length) t.diagnostic(`${what} differs:\n  ${d.join('\n  ')}`);
  assert.deepEqual(d, [], what);
}

/** livekpi's RFC 8941 decimal for an integral `pr` (`2.0`) in cml-cmcd's form (`2`). */
const normalizePr = (payload) => payload.replace(/(^|,)pr=(\d+)\.0(?=,|$)/, '$1pr=$2');

/** CTA-5004 (v1) header shard of a key: cml-cmcd's table with `pr` back in CMCD-Session. */
const v1Shard = (k) => (k === 'pr' ? 'CMCD-Session' : CMCD_HEADER_MAP[k] ?? 'CMCD-Request');

const requests = samples.filter((s) => s.mode === 'request');
const events = samples.filter((s) => s.mode === 'event');

test('the example printed request and event samples', () => {
  assert.ok(requests.length >= 8, `${requests.length} request samples`);
  assert.ok(events.length >= 8, `${events.length} event samples`);
});

for (const s of requests) {
  test(`v1 query: ${s.name}`, (t) => {
    const data = cmlData(s);
    const ours = fromCmcdQuery(`CMCD=${s.query}`);
    const theirs = decodeCmcd(encodeCmcd(data, { version: 1 }));
    assertSame(t, 'decoded query', ours, theirs);
    // Strings: the value is encodeURIComponent of the payload, which is cml-cmcd's payload.
    const payload = decodeURIComponent(s.query);
    assert.equal(s.query, encodeURIComponent(payload));
    if (normalizePr(payload) !== payload) t.diagnostic(`pr decimal form: ${payload}`);
    assert.equal(normalizePr(payload), encodeCmcd(data, { version: 1 }));
    assert.equal(`CMCD=${encodeURIComponent(normalizePr(payload))}`, toCmcdQuery(data, { version: 1 }));
    assert.ok(!('v' in ours), 'v is omitted for version 1');
    const v = validateCmcd(ours, { version: 1, reportingMode: 'request' });
    assert.deepEqual(v.issues, [], JSON.stringify(v.issues));
  });

  test(`v1 headers: ${s.name}`, (t) => {
    const data = cmlData(s);
    const ours = fromCmcdHeaders(s.headers);
    const theirs = decodeCmcd(encodeCmcd(data, { version: 1 }));
    assertSame(t, 'decoded headers', ours, theirs);
    // Each shard holds exactly its CTA-5004 keys, encoded as cml-cmcd encodes that subset.
    const keys = Object.keys(theirs);
    const fields = ['CMCD-Object', 'CMCD-Request', 'CMCD-Session', 'CMCD-Status'];
    const expected = {};
    for (const f of fields) {
      const sub = Object.fromEntries(
        Object.entries(data).filter(([k]) => keys.includes(k) && v1Shard(k) === f),
      );
      const enc = encodeCmcd(sub, { version: 1 });
      if (enc) expected[f] = enc;
    }
    const normalized = Object.fromEntries(
      Object.entries(s.headers).map(([f, v]) => [f, normalizePr(v)]),
    );
    assert.deepEqual(normalized, expected);
    // cml-cmcd's own sharding (CTA-5004-B) agrees except for where `pr` goes.
    const cml = toCmcdHeaders(data, { version: 1 });
    for (const f of ['CMCD-Object', 'CMCD-Request']) assert.equal(normalized[f], cml[f], f);
    if ('pr' in theirs) {
      t.diagnostic(
        `pr shard: livekpi CMCD-Session (CTA-5004) ${JSON.stringify(s.headers['CMCD-Session'])},` +
          ` cml-cmcd CMCD-Status (CTA-5004-B) ${JSON.stringify(cml['CMCD-Status'])}`,
      );
    } else {
      for (const f of ['CMCD-Session', 'CMCD-Status']) assert.equal(normalized[f], cml[f], f);
    }
    const v = validateCmcdHeaders(s.headers, { version: 1 });
    const issues = v.issues.filter(
      (i) => !(i.key === 'pr' && /should be in "CMCD-Status"/.test(i.message)),
    );
    assert.deepEqual(issues, [], JSON.stringify(issues));
  });
}

test('v1 explicit values (CTA-5004 rules, not taken from cml-cmcd)', () => {
  const all = fromCmcdQuery(`CMCD=${requests[0].query}`);
  assert.deepEqual(all, {
    bl: 21300, // 21345 ms → nearest 100 ms
    br: 3200,
    bs: true, // key alone
    cid: 'faec5fc2-ac30-11ea-bb37-0242ac130002',
    d: 4004,
    dl: 18500, // 18549 → nearest 100
    mtp: 25400, // 25432 kbps → nearest 100
    nor: '..%2F300kbps%2Ftrack.m4v', // URL-encoded inside the string
    nrr: '12323-48763',
    ot: 'v',
    pr: 2,
    rtp: 12100, // 12050 → halves up
    sf: 'd',
    sid: '6e2fb550-c457-11e9-bb97-0800200c9a66',
    st: 'v',
    su: true,
    tb: 6000,
  });
  const esc = requests.find((s) => s.name.startsWith('escaping'));
  assert.equal(
    esc.headers['CMCD-Session'],
    'cid="say \\"hi\\" \\\\ 50% off, a=b;c",sid="id with spaces & stuff"',
  );
  assert.equal(fromCmcdHeaders(esc.headers).cid, 'say "hi" \\ 50% off, a=b;c');
  const bad = requests.find((s) => s.name.startsWith('invalid'));
  assert.equal(bad.query, 'd%3D1500');
});

for (const [i, s] of events.entries()) {
  test(`v2 event: ${s.name}`, (t) => {
    const data = cmlData(s);
    const opts = { version: 2, reportingMode: 'event' };
    const ours = decodeCmcd(s.event);
    const theirs = decodeCmcd(encodeCmcd(data, opts));
    assertSame(t, 'decoded event', ours, theirs);
    if (normalizePr(s.event) !== s.event) t.diagnostic(`pr decimal form: ${s.event}`);
    assert.equal(normalizePr(s.event), encodeCmcd(data, opts));
    assert.equal(ours.v, 2);
    assert.equal(ours.sn, i, 'sequence numbers count the reports from 0');
    assert.equal(ours.e, s.input.e);
    const v = validateCmcdEvents(s.event, { version: 2 });
    assert.equal(v.valid, true, JSON.stringify(v.issues));
    assert.deepEqual(v.issues, []);
  });
}

test('v2 event session facts: msd once, bs after the stalls, bg=?0 back to foreground', () => {
  const decoded = events.map((s) => decodeCmcd(s.event));
  assert.deepEqual(
    decoded.map((d) => d.msd),
    decoded.map((_, i) => (i === 1 ? 812 : undefined)),
  );
  assert.deepEqual(
    decoded.map((d) => d.bs === true),
    events.map((s) => s.name === 'interval after two stalls'),
  );
  const stalls = decoded.find((d) => d.bsd);
  assert.deepEqual([stalls.bsa, stalls.bsd, stalls.bsda], [[2], [400, 834], [1235]]);
  const fg = events.findIndex((s) => s.name === 'foreground again');
  assert.equal(decoded[fg].bg, false);
  assert.match(events[fg].event, /^bg=\?0,/);
  const err = decoded.find((d) => d.e === 'e');
  assert.deepEqual([err.sta, err.ec], ['f', ['MEDIA_ERR_DECODE']]);
  const body = events.map((s) => s.event).join('\n');
  assert.equal(validateCmcdEvents(body, { version: 2 }).valid, true, 'one application/cmcd body');
});
