// The hls.js adapter of livekpi/player against a scripted stand-in for hls.js (its event names and
// payload shapes): declared and measured bitrates, TTFB, errors, and that no payload — however
// odd — throws into hls.js's event dispatch. The real hls.js path is proved in Chromium by
// player-qoe.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hlsjs } from '../../pkg/dist/player/index.js';

/** The part of hls.js the adapter uses: on / off / levels / latency, and a way to emit. */
function fakeHls(levels) {
  const handlers = new Map();
  return {
    levels,
    latency: 2.5,
    on(ev, fn) { handlers.set(ev, [...(handlers.get(ev) ?? []), fn]); },
    off(ev, fn) { handlers.set(ev, (handlers.get(ev) ?? []).filter((f) => f !== fn)); },
    emit(ev, data) { for (const fn of handlers.get(ev) ?? []) fn(ev, data); },
    count() { return [...handlers.values()].reduce((a, l) => a + l.length, 0); },
  };
}

function recorder() {
  const calls = [];
  const sink = new Proxy({}, { get: (_, name) => (...args) => { calls.push([name, ...args]); } });
  return { sink, calls, of: (name) => calls.filter((c) => c[0] === name).map((c) => c.slice(1)) };
}

const frag = (level, sn, bytes, duration, extra = {}) => ({ level, sn, duration, start: sn * duration, programDateTime: 1e12 + sn * 1000, stats: { total: bytes, loading: { start: 100, first: 130 } }, ...extra });

test('declared bitrates come from the level; a level without BANDWIDTH is measured from its fragments', () => {
  const hls = fakeHls([{ bitrate: 0 }, { bitrate: 0 }, { bitrate: 2_500_000 }]);
  const { sink, of } = recorder();
  const off = hlsjs(hls)(sink);
  hls.emit('hlsFragLoaded', { frag: frag(0, 'initSegment', 900, 0) });
  hls.emit('hlsFragLoaded', { frag: frag(0, 1, 60_000, 1) }); // 480 kbit/s
  hls.emit('hlsFragLoaded', { frag: frag(0, 2, 65_000, 1) }); // 520 kbit/s
  hls.emit('hlsLevelSwitched', { level: 0 }); // no declared bitrate: nothing yet
  hls.emit('hlsFragChanged', { frag: frag(0, 1, 60_000, 1) });
  hls.emit('hlsFragChanged', { frag: frag(0, 2, 65_000, 1) }); // same level: no new report
  assert.deepEqual(of('bitrate'), [[500_000]], 'mean of the loaded fragments of level 0');
  hls.emit('hlsFragLoaded', { frag: frag(1, 3, 150_000, 1) });
  hls.emit('hlsFragChanged', { frag: frag(1, 3, 150_000, 1) });
  hls.emit('hlsLevelSwitched', { level: 2 });
  hls.emit('hlsFragLoaded', { frag: frag(2, 4, 400_000, 1) }); // declared: not measured
  hls.emit('hlsFragChanged', { frag: frag(2, 4, 400_000, 1) });
  assert.deepEqual(of('bitrate'), [[500_000], [1_200_000], [2_500_000]]);
  assert.equal(of('segmentTtfb').length, 5);
  assert.deepEqual(of('segmentTtfb')[1], [30]);
  assert.deepEqual(of('programDate')[0], [1, 1e12 + 1000]);
  off();
  assert.equal(hls.count(), 0, 'off() removes every handler');
});

test('errors: hls.js stall notices are not errors; fatal ones carry their type', () => {
  const hls = fakeHls([]);
  const { sink, of } = recorder();
  hlsjs(hls)(sink);
  hls.emit('hlsError', { fatal: false, type: 'mediaError', details: 'bufferStalledError' });
  hls.emit('hlsError', { fatal: true, type: 'networkError', details: 'manifestLoadError' });
  hls.emit('hlsError', { fatal: false, type: 'otherError', details: 'x' });
  assert.deepEqual(of('error'), [[2, true], [1000, false]]);
});

test('odd payloads never throw into hls.js', () => {
  const hls = fakeHls(null);
  const { sink } = recorder();
  hlsjs(hls)(sink);
  const hostile = { get frag() { throw new Error('payload getter'); }, get level() { throw new Error('level getter'); } };
  for (const ev of ['hlsLevelSwitched', 'hlsFragChanged', 'hlsFragLoaded', 'hlsError']) {
    [undefined, null, {}, hostile, { frag: null }, { frag: { stats: null } }].forEach((d, k) => {
      assert.doesNotThrow(() => hls.emit(ev, d), `${ev}, payload ${k}`);
    });
  }
});
