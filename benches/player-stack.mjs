// The player wasm's deepest stack use: instantiates pkg/dist/player (built by scripts/build.sh
// player) in Node, drives every export the player calls through a long, varied workload (one
// monitor per view fed every observation kind with ordinary and extreme arguments, metrics,
// stalls, summaries with acks), then finds the lowest non-zero byte of the stack region. Rust's
// wasm32 target puts the stack first (addresses 0 .. stack size, growing down), and that region
// starts zeroed, so `stack size - lowest written address` bounds the deepest use from below
// (a frame that wrote only zeros is not seen: the margin of scripts/build.sh covers it).
// Usage: node benches/player-stack.mjs [wasm path] [stack size bytes, default 65536]
import { readFileSync } from 'node:fs';

const wasmPath = process.argv[2] ?? new URL('../pkg/dist/player/livekpi_player_bg.wasm', import.meta.url);
const stackSize = Number(process.argv[3] ?? 65536);
const glueUrl = new URL(String(wasmPath).replace(/_bg\.wasm$/, '.js'), import.meta.url);
const m = await import(glueUrl.href);
const wasm = m.initSync({ module: readFileSync(wasmPath) });
const mem = () => new Uint8Array(wasm.memory.buffer);
const lowest = () => { const b = mem(); let i = 0; while (i < stackSize && b[i] === 0) i++; return i; };
const before = lowest();

const kinds = m.observationKinds().split(',').length;
m.metricNames(); m.degradedNames(); m.version?.(); m.buildFeatures?.(); m.newSessionId();
const odd = [0, 1, -1, 0.5, 1e308, -1e308, NaN, Infinity, -Infinity, 4294967296, 2 ** 53];
let t = 1.7e12;
for (let view = 0; view < 20; view++) {
  const mon = new m.QoeMonitor(t, view % 3 ? 100 : NaN);
  const up = new m.Uplink(`room-${view}-${'x'.repeat(view)}`, t);
  for (let i = 0; i < 5000; i++) {
    t += (i % 97) * 3 + (i % 500 === 0 ? 5000 : 0);
    const k = i % (kinds + 1) === kinds ? 255 : i % (kinds + 1);
    const a = i % 7 === 0 ? odd[i % odd.length] : (i % 1000) / 10;
    mon.observe(t, k, a, odd[(i + 3) % odd.length], i, 1, 1080);
    if (i % 50 === 0) { mon.metrics(t); mon.stalls(t); }
    if (i % 300 === 0) { up.summary(mon, t, false); if (i % 600 === 0) up.ack(up.lastSeq); }
  }
  up.summary(mon, t, true);
  up.free(); mon.free();
}
const low = lowest();
const depth = low < stackSize ? stackSize - low : 0;
console.log(`stack region ${stackSize} B; lowest written address ${low} (before the workload ${before}); deepest use ≥ ${depth} B`);
