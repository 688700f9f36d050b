//! Wire vocabulary shared by the encoder and the decoder: constants, counters, state fields,
//! the [`Summary`] message and the encoder. See `docs/summary-format.md` for the byte layout.

use alloc::vec::Vec;

/// First two bytes of every summary: ASCII `"LQ"` (livekpi QoE).
pub const MAGIC: [u8; 2] = *b"LQ";
/// The format version written by this crate and the only one the decoder accepts. Additive
/// changes (new tags) keep the version: old decoders skip unknown tags by their wire type.
pub const VERSION: u8 = 1;
/// Header flag bit 0: the view is over; this is the last summary of the session.
pub const FLAG_FINAL: u8 = 0x01;
/// Largest accepted message, bytes (a typical summary is 50–90 bytes).
pub const MAX_MESSAGE_BYTES: usize = 8192;
/// Largest room id, bytes of UTF-8 (at least 1 byte).
pub const MAX_ROOM_ID_BYTES: usize = 64;
/// Largest time span a summary may cover (its acked base to its end), ms: 24 h.
pub const MAX_SPAN_MS: u64 = 86_400_000;
/// Largest accepted client time, ms since the Unix epoch (about year 33 658).
pub const MAX_TIME_MS: u64 = 1_000_000_000_000_000;

/// Wire type of a field whose value is one varint (unsigned, or zigzag where stated).
pub const WIRE_VARINT: u8 = 0;
/// Wire type of a field whose value is 8 raw bytes (not used by version 1; skipped).
pub const WIRE_FIXED64: u8 = 1;
/// Wire type of a field whose value is a varint length and that many bytes (skipped when unknown).
pub const WIRE_BYTES: u8 = 2;
/// Wire type of a field whose value is 4 raw bytes (not used by version 1; skipped).
pub const WIRE_FIXED32: u8 = 5;

/// Number of per-view counters ([`Counter`]).
pub const COUNTERS: usize = 25;

/// Upper limit of a counter's delta over a summary's span (checked by the decoder).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Limit {
    /// A duration: ≤ span + 1 s.
    Ms,
    /// Events at least `n` ms apart: ≤ (span + 1 s) / n + 1.
    Every(u64),
    /// At most `n` per ms: ≤ n × (span + 1 s).
    PerMs(u64),
    /// 0 or 1.
    Flag,
    /// Latency sum: ≤ latency samples × 24 h (checked across fields).
    LatencySum,
}

/// The one table of the per-view counters: for each, in index order, its docs, [`Counter`]
/// variant, wire name (JSON debug form, export columns, error messages), field number (tag >> 3;
/// the most frequent below 16 so that their tag is one byte) and decoder limit. Expands to
/// [`Counter`], [`ALL_COUNTERS`], [`COUNTER_NAMES`], `COUNTER_FIELDS` and `COUNTER_LIMITS`.
macro_rules! counter_table {
    ($($(#[doc = $doc:literal])* $v:ident = $name:literal, field $f:literal, limit $l:expr;)*) => {
        /// A per-view cumulative counter: monotone non-decreasing over a view, summed at merge
        /// time. Durations are wall-clock ms on the client clock (rounded to the nearest ms); flags
        /// are 0 or 1. Definitions are those of [`crate::qoe::QoeMetrics`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u8)]
        pub enum Counter {
            $($(#[doc = $doc])* $v,)*
        }

        /// Every counter in index order.
        pub const ALL_COUNTERS: [Counter; COUNTERS] = [$(Counter::$v),*];

        /// Wire name of each counter, by [`Counter`] index.
        pub const COUNTER_NAMES: [&str; COUNTERS] = [$($name),*];

        /// Field number (tag >> 3) of each counter, by [`Counter`] index.
        pub(crate) const COUNTER_FIELDS: [u8; COUNTERS] = [$($f),*];

        /// Decoder limit of each counter, by [`Counter`] index.
        pub(crate) const COUNTER_LIMITS: [Limit; COUNTERS] = {
            use Limit::*;
            [$($l),*]
        };
    };
}

// Stall count: minimum detectable stall 100 ms; frames: ≤ 1000 fps; played kbit: ≤ 10 Gbit/s;
// latency samples: ≤ one per frame; freezes: a WebRTC freeze gap is ≥ 150 ms.
counter_table! {
    /// Watch time (play intent to exit, not paused, not ended), ms.
    WatchMs = "watch_ms", field 1, limit Ms;
    /// Playing time (after the first frame, wanted, visible, not stalled), ms.
    PlayingMs = "playing_ms", field 2, limit Ms;
    /// Stall (rebuffer) time, ms.
    StallMs = "stall_ms", field 3, limit Ms;
    /// Number of stalls.
    StallCount = "stall_count", field 4, limit Every(100);
    /// Σ Δ`totalVideoFrames` over playing intervals, frames.
    TotalFrames = "total_frames", field 5, limit PerMs(1);
    /// Σ Δ`droppedVideoFrames` over the same intervals, frames.
    DroppedFrames = "dropped_frames", field 6, limit PerMs(1);
    /// Played content volume: time-weighted bitrate × playing time, kbit
    /// (`bitrate_mean_bps × playing_ms / 10⁶`).
    PlayedKbit = "played_kbit", field 7, limit PerMs(10_000);
    /// Σ glass-to-glass latency samples, ms (`max(latency_mean_ms, 0) × latency_samples`).
    LatencySumMs = "latency_sum_ms", field 8, limit LatencySum;
    /// Number of glass-to-glass latency samples.
    LatencySamples = "latency_samples", field 9, limit PerMs(1);
    /// Hidden-tab time between play intent and exit, ms.
    HiddenMs = "hidden_ms", field 10, limit Ms;
    /// Paused time between play intent and exit, ms.
    PausedMs = "paused_ms", field 11, limit Ms;
    /// WebRTC-rule render freezes.
    FreezeCount = "freeze_count", field 16, limit Every(100);
    /// Σ duration of WebRTC-rule freezes, ms.
    FreezeMs = "freeze_ms", field 17, limit Ms;
    /// Agora-rule (≥ 500 ms gap) render freezes.
    Freeze500Count = "freeze_500_count", field 18, limit Every(500);
    /// Σ duration of Agora-rule freezes, ms.
    Freeze500Ms = "freeze_500_ms", field 19, limit Ms;
    /// Seeks started.
    SeekCount = "seek_count", field 20, limit Every(10);
    /// Errors observed, fatal or not.
    ErrorCount = "error_count", field 21, limit Every(1);
    /// Rendition switches to a higher bitrate.
    BitrateSwitchUp = "bitrate_switch_up", field 22, limit Every(10);
    /// Rendition switches to a lower bitrate.
    BitrateSwitchDown = "bitrate_switch_down", field 23, limit Every(10);
    /// Playing time upscaled, ms.
    UpscaleMs = "upscale_ms", field 24, limit Ms;
    /// Playing time downscaled, ms.
    DownscaleMs = "downscale_ms", field 25, limit Ms;
    /// Flag: the first frame after the play intent was presented.
    Started = "started", field 26, limit Flag;
    /// Flag: exit before start (play intent, no first frame, no fatal error, left).
    ExitBeforeStart = "exit_before_start", field 27, limit Flag;
    /// Flag: fatal error before the first frame.
    StartupFailure = "startup_failure", field 28, limit Flag;
    /// Flag: fatal error after the first frame.
    PlaybackFailure = "playback_failure", field 29, limit Flag;
}

/// Field number of the latest glass-to-glass latency, ms (zigzag varint: may be negative).
pub(crate) const F_LATENCY: u8 = 12;
/// Field number of the latest live-edge distance, ms.
pub(crate) const F_LIVE_EDGE: u8 = 13;
/// Field number of the current rendition bitrate, kbit/s.
pub(crate) const F_BITRATE: u8 = 14;
/// Field number of the latest time-sync RTT, ms.
pub(crate) const F_RTT: u8 = 15;
/// Field number of the startup time, ms.
pub(crate) const F_STARTUP: u8 = 40;
/// Field number of the load-to-first-frame time, ms.
pub(crate) const F_LOAD_TO_FIRST_FRAME: u8 = 41;
/// Field number of the startup flags ([`STARTUP_AUTOPLAY_BLOCKED`] …).
pub(crate) const F_STARTUP_FLAGS: u8 = 42;
/// Field number of the fatal error code.
pub(crate) const F_FAILURE_CODE: u8 = 43;
/// Field number of the monitor's degraded-capability bits.
pub(crate) const F_DEGRADED: u8 = 44;

/// Number of degraded-capability reasons the merger counts: bits 0..9 of
/// [`crate::qoe::QoeMetrics::degraded`] (`DEGRADED_*`, names in [`crate::qoe::DEGRADED_NAMES`]).
/// Higher bits (reasons added by a newer player) are accepted and not counted.
pub const DEGRADED_REASONS: usize = 9;

/// Startup flag: an autoplay attempt was blocked.
pub const STARTUP_AUTOPLAY_BLOCKED: u8 = 0x01;
/// Startup flag: a frame was already presented (preloaded) at the play intent.
pub const STARTUP_PRELOADED: u8 = 0x02;
/// Startup flag: the page was hidden between the play intent and the first frame.
pub const STARTUP_HIDDEN: u8 = 0x04;

impl Counter {
    /// The index of this counter in [`Totals::values`].
    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Values of every [`Counter`], by index: cumulative since view start on the player, a delta on
/// the wire, a sum in an aggregate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// The value of counter `c` is `values[c.index()]`.
    pub values: [u64; COUNTERS],
}

impl Totals {
    /// All zero.
    pub const ZERO: Totals = Totals {
        values: [0; COUNTERS],
    };

    /// The value of counter `c`.
    #[inline]
    pub fn get(&self, c: Counter) -> u64 {
        self.values[c.index()]
    }

    /// Sets counter `c`.
    #[inline]
    pub fn set(&mut self, c: Counter, v: u64) {
        self.values[c.index()] = v;
    }

    /// Component-wise `self - other`, or `None` if some component of `other` is larger.
    pub fn checked_sub(&self, other: &Totals) -> Option<Totals> {
        let mut out = Totals::ZERO;
        for i in 0..COUNTERS {
            out.values[i] = self.values[i].checked_sub(other.values[i])?;
        }
        Some(out)
    }

    /// Component-wise `self + other`, or `None` on overflow.
    pub fn checked_add(&self, other: &Totals) -> Option<Totals> {
        let mut out = Totals::ZERO;
        for i in 0..COUNTERS {
            out.values[i] = self.values[i].checked_add(other.values[i])?;
        }
        Some(out)
    }

    /// Component-wise saturating `self += other` (sums of aggregates).
    pub fn add_assign_saturating(&mut self, other: &Totals) {
        for i in 0..COUNTERS {
            self.values[i] = self.values[i].saturating_add(other.values[i]);
        }
    }

    /// Component-wise maximum (the player's high-water mark keeps counters monotone).
    pub fn max_assign(&mut self, other: &Totals) {
        for i in 0..COUNTERS {
            if other.values[i] > self.values[i] {
                self.values[i] = other.values[i];
            }
        }
    }
}

/// State fields: latest values and once-per-view values, not summed. `None` = not sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct State {
    /// Latest glass-to-glass latency sample, ms (may be negative with a bad clock offset).
    pub latency_ms: Option<i64>,
    /// Latest live-edge distance, ms.
    pub live_edge_ms: Option<u64>,
    /// Bitrate of the current rendition, kbit/s.
    pub bitrate_kbps: Option<u64>,
    /// RTT of the latest time-sync probe, ms.
    pub rtt_ms: Option<u64>,
    /// Startup time (play intent → first presented frame, paused time excluded), ms. Sent while
    /// the acknowledged base has not started.
    pub startup_ms: Option<u64>,
    /// Source attached → first presented frame, ms. Sent with `startup_ms`.
    pub load_to_first_frame_ms: Option<u64>,
    /// Startup flags (`STARTUP_*` bits), sent with `startup_ms` while the base has not started.
    pub startup_flags: Option<u8>,
    /// Code of the fatal error (MediaError 1..4 or player-specific). Sent while the acknowledged
    /// base has no failure.
    pub failure_code: Option<u32>,
    /// What the monitor could not measure as designed: an OR of `crate::qoe::DEGRADED_*` bits,
    /// accumulated over the view (so never fewer bits than an earlier summary). Sent when
    /// non-zero; absent = fully capable (or a player older than this field).
    pub degraded: Option<u32>,
}

/// One summary message. Counters in `delta` are the view's cumulative values at the end of the
/// summary minus those of the acknowledged base summary `base_seq` (0: view start, all zero).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary<'a> {
    /// Random 128-bit viewing-session id (not derived from any user or device identifier).
    pub session_id: [u8; 16],
    /// Room (stream) id, 1..=64 bytes of UTF-8.
    pub room_id: &'a str,
    /// Sequence number of this summary within the session, from 1.
    pub seq: u32,
    /// Sequence number of the acknowledged summary the deltas are relative to (< `seq`); 0 = view
    /// start.
    pub base_seq: u32,
    /// Client time (epoch ms) at the end of the base summary (view start when `base_seq` is 0).
    pub start_ms: u64,
    /// Client ms from `start_ms` to the end of this summary (≤ 24 h).
    pub span_ms: u64,
    /// The view is over: this is the last summary of the session.
    pub is_final: bool,
    /// Cumulative counters minus the base's.
    pub delta: Totals,
    /// Latest and once-per-view state.
    pub state: State,
}

impl Summary<'_> {
    /// Client time (epoch ms) at the end of this summary: `start_ms + span_ms`.
    pub fn end_ms(&self) -> u64 {
        self.start_ms.saturating_add(self.span_ms)
    }
}

/// Appends `v` as an unsigned LEB128 varint (7 bits per byte, low first, minimal length).
#[inline]
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Zigzag mapping of a signed value to an unsigned one (0, −1, 1, −2 … → 0, 1, 2, 3 …).
#[inline]
pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Inverse of [`zigzag`].
#[inline]
pub(crate) fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Appends a varint field (`field << 3 | WIRE_VARINT`, then the value).
#[inline]
fn put_field(out: &mut Vec<u8>, field: u8, v: u64) {
    put_varint(out, u64::from(field) << 3);
    put_varint(out, v);
}

/// Appends an optional varint field.
#[inline]
fn put_opt(out: &mut Vec<u8>, field: u8, v: Option<u64>) {
    if let Some(v) = v {
        put_field(out, field, v);
    }
}

/// Appends the encoding of `s` to `out`: header, then the non-zero counters, then the present
/// state fields (see `docs/summary-format.md`). The encoder does not validate; keep `room_id`
/// within 1..=64 bytes and `span_ms` ≤ 24 h ([`crate::summary::SummaryWriter`] does), or the
/// decoder rejects the message.
pub fn encode(s: &Summary<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.push(if s.is_final { FLAG_FINAL } else { 0 });
    out.extend_from_slice(&s.session_id);
    put_varint(out, u64::from(s.seq));
    put_varint(out, u64::from(s.base_seq));
    put_varint(out, s.room_id.len() as u64);
    out.extend_from_slice(s.room_id.as_bytes());
    put_varint(out, s.start_ms);
    put_varint(out, s.span_ms);
    for (i, &field) in COUNTER_FIELDS.iter().enumerate() {
        let v = s.delta.values[i];
        if v != 0 {
            put_field(out, field, v);
        }
    }
    let st = &s.state;
    put_opt(out, F_LATENCY, st.latency_ms.map(zigzag));
    put_opt(out, F_LIVE_EDGE, st.live_edge_ms);
    put_opt(out, F_BITRATE, st.bitrate_kbps);
    put_opt(out, F_RTT, st.rtt_ms);
    put_opt(out, F_STARTUP, st.startup_ms);
    put_opt(out, F_LOAD_TO_FIRST_FRAME, st.load_to_first_frame_ms);
    put_opt(out, F_STARTUP_FLAGS, st.startup_flags.map(u64::from));
    put_opt(out, F_FAILURE_CODE, st.failure_code.map(u64::from));
    put_opt(out, F_DEGRADED, st.degraded.map(u64::from));
}
