// The CMCD v1 request-payload encoder of livekpi/player/cmcd (JS, outside the player's wasm)
// against the crate's reference encoder (src/cmcd `encode_v1_query` / `encode_v1_headers`, itself
// checked against @svta/cml-cmcd in tests/js/cmcd.test.mjs): `examples/cmcd_v1_random` writes
// thousands of generated inputs (every edge of rounding, omission, quoting, URL encoding, `nor`
// length, `nrr` ranges, `pr` decimals) with the crate's payloads; the JS encoder must write the
// same bytes for each.
// Run: node --test tests/js/cmcd-v1.test.mjs   (builds and runs the example with cargo)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { encodeCmcdHeaders, encodeCmcdQuery } from '../../pkg/player/cmcd.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const revive = (v) => (v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v);
const samples = (count, seed) => execFileSync('cargo',
  ['run', '--quiet', '--features', 'player', '--example', 'cmcd_v1_random', '--', String(count), String(seed)],
  { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 })
  .trim().split('\n').map((l) => JSON.parse(l))
  .map((s) => ({ ...s, input: Object.fromEntries(Object.entries(s.input).map(([k, v]) => [k, revive(v)])) }));

test('the JS v1 encoder writes what the crate writes, over generated inputs', () => {
  let n = 0;
  const seen = new Set();
  for (const seed of [1, 0x5eed, 20261125]) {
    for (const s of samples(4000, seed)) {
      assert.equal(encodeCmcdQuery(s.input), s.query, JSON.stringify(s.input));
      assert.deepEqual(encodeCmcdHeaders(s.input), s.headers, JSON.stringify(s.input));
      // …and in the same header order (Object, Request, Session, Status).
      assert.deepEqual(Object.keys(encodeCmcdHeaders(s.input)), Object.keys(s.headers));
      for (const m of decodeURIComponent(s.query).split(',')) seen.add(m.split('=')[0]);
      n++;
    }
  }
  assert.equal(n, 12000);
  // The inputs reached every v1 key (so no key's rules went unchecked).
  for (const k of ['bl', 'br', 'bs', 'cid', 'd', 'dl', 'mtp', 'nor', 'nrr', 'ot', 'pr', 'rtp', 'sf', 'sid', 'st', 'su', 'tb']) {
    assert.ok(seen.has(k), `some sample carries ${k}`);
  }
});

test('the JS v1 encoder omits what the crate omits (hand-picked edges)', () => {
  assert.equal(encodeCmcdQuery({}), '');
  assert.deepEqual(encodeCmcdHeaders({}), {});
  assert.equal(encodeCmcdQuery({ bl: -1, br: NaN, d: Infinity, pr: 1, nrr: '-', sid: 'é', cid: 'x'.repeat(65) }), '');
  assert.equal(encodeCmcdQuery({ pr: 0.5, st: 'll', ot: 'av', bl: 150, su: true }),
    encodeURIComponent('bl=200,ot=av,pr=0.5,st=l,su'));
  assert.deepEqual(encodeCmcdHeaders({ nor: 'a b.ts', sid: 'a"b', bs: true }),
    { 'CMCD-Request': 'nor="a%20b.ts"', 'CMCD-Session': 'sid="a\\"b"', 'CMCD-Status': 'bs' });
});
