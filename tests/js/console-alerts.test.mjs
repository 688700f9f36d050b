// livekpi/console alert delivery in Node: `room.onAlert(callback)` gets each alert with its
// evidence as it is raised, and `room.pushQoe(minutes)` runs the regional stall-rate / latency
// rules (a region's QoE spiking → the suggested CDN / route switch), with clear errors for bad
// entries. A throwing callback never breaks the caller nor loses the alert.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Room } from '../../pkg/console/node.js';

const START = Date.UTC(2026, 10, 25, 12, 0, 0);
const room = () => new Room({ streamStartMs: START, streamEndMs: START + 120 * 60_000 });

/** 40 minutes of one region's QoE: steady noise, then (from `spikeAt`) a stall spike. */
function minutes(region, spikeAt = Infinity) {
  const out = [];
  for (let m = 0; m < 40; m++) {
    const noise = ((m * 7919) % 13) / 13; // deterministic 0..1
    out.push({
      region,
      minute: m,
      stallRate: m >= spikeAt ? 0.2 : 0.008 + 0.004 * noise,
      latencyMs: 3000 + 200 * noise,
    });
  }
  return out;
}

test('pushQoe: a region whose stall rate spikes raises one stall_spike alert with its evidence; a steady region none', () => {
  const r = room();
  const seen = [];
  r.onAlert((a) => seen.push(a));
  const returned = [...r.pushQoe(minutes('广东', 30)), ...r.pushQoe(minutes('北京'))];
  assert.equal(returned.length, 1, JSON.stringify(returned));
  const [a] = returned;
  assert.equal(a.rule, 'stall_spike');
  assert.equal(a.region, '广东');
  assert.equal(a.series, 'stall_rate');
  assert.equal(a.action, 'switch_cdn_route');
  assert.equal(a.direction, 'up');
  assert.ok(a.minute >= 30 && a.minute <= 32, `detected at minute ${a.minute}`);
  assert.ok(a.baseline_mean > 0.005 && a.baseline_mean < 0.015, `baseline ${a.baseline_mean}`);
  assert.equal(a.value, 0.2);
  assert.ok(a.window.length > 0);
  // the callback got exactly what was returned, and the log keeps it
  assert.deepEqual(seen, returned);
  assert.deepEqual(r.alerts(), returned);
  // a minute already seen for the region is ignored: pushing the same minutes again raises nothing
  assert.deepEqual(r.pushQoe(minutes('广东', 30)), []);
});

test('onAlert: a throwing callback is reported (console.error in Node), never thrown into pushQoe, and the alert is kept', () => {
  const r = room();
  const reported = [];
  const original = console.error;
  console.error = (e) => reported.push(e);
  try {
    r.onAlert(() => { throw new Error('dashboard bug'); });
    const raised = r.pushQoe(minutes('上海', 30));
    assert.equal(raised.length, 1);
  } finally {
    console.error = original;
  }
  assert.equal(reported.length, 1);
  assert.equal(reported[0].message, 'dashboard bug');
  assert.equal(r.alerts().length, 1);
  // cleared: later alerts are only logged
  r.onAlert(null);
  assert.equal(r.pushQoe(minutes('浙江', 30)).length, 1);
  assert.equal(r.alerts().length, 2);
});

test('pushQoe / onAlert: bad input gets a LivekpiError naming the entry and field, and nothing of the batch is applied', () => {
  const r = room();
  const cases = [
    [[{ region: '', minute: 0, stallRate: 0.01 }], /entry 0 field `region`/],
    [[{ region: 'x', minute: 0.5, stallRate: 0.01 }], /entry 0 field `minute`/],
    [[{ region: 'x', minute: 0 }, { region: 'x', minute: 1, stallRate: NaN }], /entry 1 field `stallRate`/],
    [[{ region: 'x', minute: 0, latencyMs: -5 }], /entry 0 field `latencyMs`/],
    [[{ region: 'x'.repeat(300), minute: 0 }], /entry 0 field `region`/],
    [[42], /entry 0 must be an object/],
  ];
  for (const [input, message] of cases) {
    assert.throws(() => r.pushQoe(input), (e) => e.name === 'LivekpiError' && e.code === 'bad_argument' && message.test(e.message));
  }
  assert.throws(() => r.pushQoe('nope'), (e) => e.code === 'bad_argument' && /`minutes` must be an array/.test(e.message));
  assert.throws(() => r.onAlert(42), (e) => e.code === 'bad_argument' && /`callback`/.test(e.message));
  // the rejected batch of case 3 applied nothing: its minute 0 for region x is still new
  const good = minutes('x', 30);
  assert.equal(r.pushQoe(good).length, 1);
});
