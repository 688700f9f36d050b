// Test-only writer of livekpi viewer summaries, built from docs/summary-format.md alone (not
// from the Rust encoder), so that the tests exercise the spec as an independent implementation
// would. `TestViewer` follows the player's delivery protocol: every summary carries the
// cumulative counters minus those of the last *acknowledged* summary (base_seq).

/** Counter wire names → field numbers (docs/summary-format.md, "Counter fields"). */
export const COUNTER_FIELDS = {
  watch_ms: 1, playing_ms: 2, stall_ms: 3, stall_count: 4, total_frames: 5, dropped_frames: 6,
  played_kbit: 7, latency_sum_ms: 8, latency_samples: 9, hidden_ms: 10, paused_ms: 11,
  freeze_count: 16, freeze_ms: 17, freeze_500_count: 18, freeze_500_ms: 19, seek_count: 20,
  error_count: 21, bitrate_switch_up: 22, bitrate_switch_down: 23, upscale_ms: 24, downscale_ms: 25,
  started: 26, exit_before_start: 27, startup_failure: 28, playback_failure: 29,
};
/** State field numbers (latency_ms is zigzag). */
export const STATE_FIELDS = {
  latency_ms: 12, live_edge_ms: 13, bitrate_kbps: 14, rtt_ms: 15,
  startup_ms: 40, load_to_first_frame_ms: 41, startup_flags: 42, failure_code: 43,
};

/** Appends an unsigned LEB128 varint (a non-negative safe integer). */
export function putVarint(out, v) {
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`varint: ${v}`);
  while (v >= 128) {
    out.push((v % 128) | 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

/**
 * Encodes one summary: { sessionId: Uint8Array(16), seq, baseSeq, room, startMs, spanMs, final,
 * delta: {counter: n}, state: {field: n} } → Uint8Array. `version` / `flags` override the header
 * bytes (for rejection tests).
 */
export function encodeSummary(s) {
  const out = [0x4c, 0x51, s.version ?? 1, s.flags ?? (s.final ? 1 : 0), ...s.sessionId];
  putVarint(out, s.seq);
  putVarint(out, s.baseSeq);
  const room = new TextEncoder().encode(s.room);
  putVarint(out, room.length);
  out.push(...room);
  putVarint(out, s.startMs);
  putVarint(out, s.spanMs);
  const counters = Object.entries(s.delta ?? {}).filter(([, v]) => v !== 0)
    .sort(([a], [b]) => COUNTER_FIELDS[a] - COUNTER_FIELDS[b]);
  for (const [name, v] of counters) {
    if (!(name in COUNTER_FIELDS)) throw new Error(`unknown counter ${name}`);
    putVarint(out, COUNTER_FIELDS[name] * 8);
    putVarint(out, v);
  }
  for (const [name, field] of Object.entries(STATE_FIELDS)) {
    const v = s.state?.[name];
    if (v === undefined) continue;
    putVarint(out, field * 8);
    putVarint(out, name === 'latency_ms' ? (v >= 0 ? 2 * v : -2 * v - 1) : v);
  }
  return Uint8Array.from(out);
}

/** Deterministic PRNG (mulberry32). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * One simulated view following the player's protocol. `next()` advances the view by 30 s and
 * returns the next summary's bytes (relative to the acknowledged base); `ack(seq)` moves the
 * base. `cum` is the view's true cumulative counters (the truth the collector must reach).
 */
export class TestViewer {
  constructor({ random, room, t0, summaries }) {
    this.random = random;
    this.sessionId = Uint8Array.from({ length: 16 }, () => Math.floor(random() * 256));
    this.id = hex(this.sessionId);
    this.room = room;
    this.t0 = t0;
    this.total = summaries;
    this.cum = Object.fromEntries(Object.keys(COUNTER_FIELDS).map((k) => [k, 0]));
    this.startupMs = 200 + Math.floor(random() * 4000);
    this.seq = 0;
    this.baseSeq = 0;
    this.baseCum = { ...this.cum };
    this.baseEnd = t0;
    this.sent = new Map(); // seq → { cum, end }
    this.end = t0;
  }

  get done() {
    return this.seq >= this.total;
  }

  next() {
    const r = this.random;
    const c = this.cum;
    const first = this.seq === 0;
    const stall = r() < 0.3 ? 300 + Math.floor(r() * 1500) : 0;
    c.watch_ms += 30_000;
    c.playing_ms += 30_000 - stall - (first ? this.startupMs : 0);
    c.stall_ms += stall;
    c.stall_count += stall > 0 ? 1 : 0;
    c.total_frames += 750;
    c.dropped_frames += Math.floor(r() * 5);
    c.played_kbit += 60_000;
    c.latency_samples += 30;
    c.latency_sum_ms += 30 * (1500 + Math.floor(r() * 2000));
    if (first) c.started = 1;
    this.end += 30_000;
    this.seq += 1;
    this.sent.set(this.seq, { cum: { ...c }, end: this.end });
    const delta = {};
    for (const k of Object.keys(c)) delta[k] = c[k] - this.baseCum[k];
    const state = { latency_ms: 2000, bitrate_kbps: 2000, rtt_ms: 40 };
    if (this.baseCum.started === 0) Object.assign(state, { startup_ms: this.startupMs, startup_flags: 0 });
    return encodeSummary({
      sessionId: this.sessionId, seq: this.seq, baseSeq: this.baseSeq, room: this.room,
      startMs: this.baseEnd, spanMs: this.end - this.baseEnd, final: this.seq === this.total, delta, state,
    });
  }

  ack(seq) {
    const s = this.sent.get(seq);
    if (!s || seq <= this.baseSeq) return;
    this.baseSeq = seq;
    this.baseCum = { ...s.cum };
    this.baseEnd = s.end;
  }
}

/** Σ of the viewers' cumulative counters (at the newest summary each one wrote). */
export function truth(viewers) {
  const t = Object.fromEntries(Object.keys(COUNTER_FIELDS).map((k) => [k, 0]));
  for (const v of viewers) for (const k of Object.keys(t)) t[k] += v.cum[k];
  return t;
}
