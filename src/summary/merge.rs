//! Collector side: de-duplication by (session, seq) ([`Ledger`]), mergeable aggregates
//! ([`Aggregate`]) and the room / region front door ([`Merger`]).

use std::collections::{BTreeMap, HashMap};

use datasketches::hash::value::raw_bytes;
use datasketches::hll::{Coupon, HllSketch, HllType, HllUnion};
use datasketches::kll::{KllFloat, KllSketch};

use super::decode::{decode, DecodeError};
use super::wire::{
    Counter, Summary, Totals, COUNTERS, COUNTER_NAMES, DEGRADED_REASONS, STARTUP_AUTOPLAY_BLOCKED,
    STARTUP_HIDDEN, STARTUP_PRELOADED,
};

/// `lg_k` of the distinct-viewer HLL sketch (4096 registers, ≈ 1.6 % relative standard error).
pub const HLL_LG_K: u8 = 12;
/// Register type of the distinct-viewer HLL sketch: HLL_8 (the type Spark's `hll_sketch_agg`
/// writes; the fastest to update; 4 KiB serialized in dense mode). Unions accept any type.
pub const HLL_TYPE: HllType = HllType::Hll8;
/// `k` of the KLL quantile sketches (≈ 1.65 % normalized rank error).
pub const KLL_K: u16 = 200;
/// Views with a startup time ≤ this count as fast starts (秒开), ms.
pub const FAST_START_MS: u64 = 1000;
/// Views with a startup time ≥ this count as slow starts (慢开), ms.
pub const SLOW_START_MS: u64 = 3000;
/// Acknowledgeable summaries a session's ledger remembers (≈ 32 min of lost acks at 30 s).
pub const LEDGER_WINDOW: usize = 64;
/// Largest region name, bytes.
pub const MAX_REGION_BYTES: usize = 64;
/// The region that collects a room's summaries from regions beyond
/// [`MergerOptions::max_regions_per_room`].
pub const OTHER_REGION: &str = "other";

/// The 32 lowercase hex digits of a session id (the same text as [`crate::ids`]), the value whose
/// UTF-8 bytes are hashed into the HLL sketch.
pub fn session_hex(id: &[u8; 16]) -> [u8; 32] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 32];
    for (i, b) in id.iter().enumerate() {
        out[2 * i] = HEX[usize::from(b >> 4)];
        out[2 * i + 1] = HEX[usize::from(b & 0x0f)];
    }
    out
}

/// The HLL coupon of a session: DataSketches MurmurHash3 (seed 9001) of the UTF-8 bytes of the
/// 32-hex-digit session id, exactly as Java/C++/Python `update(String)` and Spark's
/// `hll_sketch_agg` on a string column hash it.
pub fn session_coupon(id: &[u8; 16]) -> Coupon {
    let hex = session_hex(id);
    Coupon::from_value(raw_bytes::from_slice(&hex))
}

/// Every stable rejection code: the decoder's (`DecodeError::code`, in number order) then the
/// ledger's and merger's (`MergeError::code`).
pub const REJECTION_CODES: [&str; 21] = [
    "oversized",
    "truncated",
    "bad_magic",
    "unsupported_version",
    "reserved_flags",
    "bad_varint",
    "bad_room_id",
    "bad_sequence",
    "bad_time",
    "absurd_value",
    "bad_wire_type",
    "duplicate_field",
    "bad_tag",
    "base_regressed",
    "unknown_base",
    "non_monotone",
    "overflow",
    "bad_region",
    "after_final",
    "room_mismatch",
    "out_of_window",
];

/// Why the ledger refused a (well-formed) summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MergeError {
    /// `base_regressed`: the base is older than a base this session already used (a player never
    /// moves its base back).
    BaseRegressed,
    /// `unknown_base`: the base is a summary this collector did not apply (or no longer
    /// remembers), so the deltas cannot be placed.
    UnknownBase,
    /// `non_monotone`: the named counter would decrease (cumulative values must not).
    NonMonotone(&'static str),
    /// `overflow`: a cumulative counter would overflow 64 bits.
    Overflow,
    /// `bad_region`: the region name is longer than 64 bytes.
    BadRegion,
    /// `after_final`: a summary newer than the session's final summary.
    AfterFinal,
    /// `room_mismatch`: the summary's room id is not the room the request was addressed to.
    RoomMismatch,
    /// `out_of_window`: the summary's client end time (`start_ms + span_ms`) is outside the
    /// merger's time window around the server time of the request
    /// ([`MergerOptions::window_past_ms`] / [`MergerOptions::window_future_ms`]).
    OutOfWindow,
}

impl MergeError {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            MergeError::BaseRegressed => "base_regressed",
            MergeError::UnknownBase => "unknown_base",
            MergeError::NonMonotone(_) => "non_monotone",
            MergeError::Overflow => "overflow",
            MergeError::BadRegion => "bad_region",
            MergeError::AfterFinal => "after_final",
            MergeError::RoomMismatch => "room_mismatch",
            MergeError::OutOfWindow => "out_of_window",
        }
    }

    /// A static description.
    pub fn message(&self) -> &'static str {
        match self {
            MergeError::BaseRegressed => "base_seq older than a base this session already used",
            MergeError::UnknownBase => "base_seq names a summary this collector did not apply",
            MergeError::NonMonotone(_) => "a cumulative counter would decrease",
            MergeError::Overflow => "a cumulative counter would overflow",
            MergeError::BadRegion => "region longer than 64 bytes",
            MergeError::AfterFinal => "summary newer than the session's final summary",
            MergeError::RoomMismatch => "room_id differs from the room the summary was sent to",
            MergeError::OutOfWindow => {
                "summary end time too far from the collector's clock (outside the time window)"
            }
        }
    }

    /// The field concerned.
    pub fn field(&self) -> &'static str {
        match *self {
            MergeError::BaseRegressed | MergeError::UnknownBase => "base_seq",
            MergeError::AfterFinal => "seq",
            MergeError::NonMonotone(f) => f,
            MergeError::Overflow => "counters",
            MergeError::BadRegion => "region",
            MergeError::RoomMismatch => "room_id",
            MergeError::OutOfWindow => "end_ms",
        }
    }
}

impl std::fmt::Display for MergeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} (field {})",
            self.code(),
            self.message(),
            self.field()
        )
    }
}

impl std::error::Error for MergeError {}

/// Startup outcome of a view, emitted once per view (when its first outcome flag is applied).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StartupOutcome {
    /// The view started (first frame presented).
    pub started: bool,
    /// Startup time, ms, when known.
    pub startup_ms: Option<u64>,
    /// `STARTUP_*` flags (0 when unknown).
    pub flags: u8,
}

/// Per-view figures emitted once, when the view's final summary is applied. Computed from the
/// view's cumulative counters as this collector knows them (since view start when the session was
/// routed here from its first summary).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ViewFinal {
    /// Watch time, ms.
    pub watch_ms: u64,
    /// `stall_ms / (playing_ms + stall_ms)`, when the denominator is > 0.
    pub stall_ratio: Option<f64>,
    /// Mean glass-to-glass latency `latency_sum_ms / latency_samples`, ms, when samples > 0.
    pub latency_mean_ms: Option<f64>,
}

/// What applying one summary adds to aggregates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Applied {
    /// Counter increments (cumulative after this summary minus cumulative already applied).
    pub delta: Totals,
    /// First summary of this session seen by this ledger.
    pub new_session: bool,
    /// The view's startup outcome, the first time one is known.
    pub startup: Option<StartupOutcome>,
    /// The view's final figures, the first time its final summary is applied.
    pub finished: Option<ViewFinal>,
    /// Degraded-capability bits (`crate::qoe::DEGRADED_*`) this session reports for the first
    /// time (each bit counts once per session).
    pub degraded_new: u32,
}

/// What the ledger did with a summary.
#[derive(Clone, Copy, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // returned by value once per summary, never stored
pub enum Verdict {
    /// New information: apply it to aggregates.
    Applied(Applied),
    /// The same (session, seq) as the newest applied summary of the session: nothing to do
    /// (acknowledge it again).
    Duplicate,
    /// Older than the newest applied summary of the session (a late or repeated one), whose
    /// cumulative values already include it: nothing to do (acknowledge it).
    Superseded,
}

/// One session's ledger: the cumulative counters (relative to the first base this collector
/// saw, normally the view start) at each applied summary from the newest base on.
#[derive(Clone, Debug)]
struct SessionLedger {
    /// Oldest base this session's summaries may still use (bases never move back).
    min_base: u32,
    /// Sequence number of the newest applied summary.
    last_seq: u32,
    /// Cumulative counters at `last_seq`.
    last: Totals,
    /// Degraded-capability bits reported so far (OR).
    degraded: u32,
    /// (seq, cumulative) of older applied summaries (and of an adopted foreign base) with
    /// `seq ≥ min_base`, ascending; base 0 (all zero) is implicit while `min_base` is 0.
    older: Older,
}

/// A session's older (seq, cumulative) entries, ascending. The first is kept inline: in the
/// common case (every ack received) a session holds exactly one, and a heap block per session
/// made the wasm build's allocator crawl (10^5 sessions: 36 s for their second summaries).
#[derive(Clone, Debug, Default)]
struct Older {
    /// The oldest entry (`None` only when there is none at all).
    head: Option<(u32, Totals)>,
    /// The newer ones.
    tail: Vec<(u32, Totals)>,
}

impl Older {
    fn find(&self, seq: u32) -> Option<&Totals> {
        self.head
            .iter()
            .chain(self.tail.iter())
            .find(|&&(q, _)| q == seq)
            .map(|(_, t)| t)
    }

    fn len(&self) -> usize {
        usize::from(self.head.is_some()) + self.tail.len()
    }

    /// Drops the oldest entry.
    fn pop_front(&mut self) {
        self.head = if self.tail.is_empty() {
            None
        } else {
            Some(self.tail.remove(0))
        };
    }

    /// Keeps the entries with seq ≥ `b`.
    fn retain_from(&mut self, b: u32) {
        self.tail.retain(|&(q, _)| q >= b);
        if self.head.is_some_and(|(q, _)| q < b) {
            self.pop_front();
        }
    }

    /// Appends a newer entry.
    fn push(&mut self, e: (u32, Totals)) {
        if self.head.is_none() {
            self.head = Some(e);
        } else {
            self.tail.push(e);
        }
    }
}

/// De-duplication and delta placement per session (see `docs/summary-format.md`, "Merge").
///
/// For a summary (seq n, base b, delta D) of a known session whose newest applied summary is m:
/// n ≤ m → [`Verdict::Duplicate`] / [`Verdict::Superseded`]; otherwise the cumulative at n is
/// `cum(b) + D` and the increment `cum(n) − cum(m)`. `cum(0)` is zero. A base b > m that this
/// collector never applied was acknowledged elsewhere: its cumulative is taken as `cum(m)` (what
/// was counted here), so the increment is D. Final state therefore depends only on the set of
/// summaries received, not on their order or repetition.
///
/// Sessions are keyed by **(room, session id)**: a session id reused in another room is another
/// session there (its own view, its own increments from zero), and summaries addressed to one
/// room can never move, block or finish a session of another room. A player draws 128 random bits
/// per view (`getrandom`, i.e. `crypto.getRandomValues`), so a legitimate reuse has probability
/// ≈ n²/2¹²⁹; a reuse is a bug or a forgery, and keying by room confines it to the room whose
/// ingest token it used (see `docs/summary-format.md`, "Sessions and rooms").
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    /// Every session seen, by (session id, room number): open ones with their ledger (boxed: a
    /// finished session keeps only the sequence number of its final summary, all that
    /// de-duplication needs afterwards). One map, so that a summary costs one session lookup.
    sessions: HashMap<([u8; 16], u32), Slot, IdHashBuilder>,
    /// Room id → room number (4 bytes per session key instead of the room id).
    rooms: HashMap<String, u32, IdHashBuilder>,
}

/// Hashing of session ids (128 random bits from the player's CSPRNG): a seeded multiply-fold of
/// the two 64-bit halves, several times cheaper than SipHash. The per-process random seed keeps
/// an adversary who cannot observe it from choosing colliding ids offline.
#[derive(Clone, Debug)]
pub struct IdHashBuilder(u64);

impl Default for IdHashBuilder {
    fn default() -> Self {
        use std::hash::BuildHasher;
        IdHashBuilder(std::collections::hash_map::RandomState::new().hash_one(0x6c6b_7069_u64) | 1)
    }
}

impl std::hash::BuildHasher for IdHashBuilder {
    type Hasher = IdHasher;
    fn build_hasher(&self) -> IdHasher {
        IdHasher(self.0)
    }
}

/// See [`IdHashBuilder`].
#[derive(Clone, Debug)]
pub struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for c in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..c.len()].copy_from_slice(c);
            let x = (self.0 ^ u64::from_le_bytes(b)) as u128 * 0x9e37_79b9_7f4a_7c15_u128;
            self.0 = (x as u64) ^ ((x >> 64) as u64);
        }
    }

    #[inline]
    fn finish(&self) -> u64 {
        let x = u128::from(self.0) * 0xd6e8_feb8_6659_fd93_u128;
        (x as u64) ^ ((x >> 64) as u64)
    }
}

/// A session's entry in the [`Ledger`].
#[derive(Clone, Debug)]
enum Slot {
    /// The final summary was not applied yet.
    Open(Box<SessionLedger>),
    /// The sequence number of the applied final summary.
    Finished(u32),
}

impl Ledger {
    /// An empty ledger.
    pub fn new() -> Ledger {
        Ledger::default()
    }

    /// Number of sessions seen ((room, session id) pairs).
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Places one decoded summary. On `Err` nothing changed.
    pub fn accept(&mut self, s: &Summary<'_>) -> Result<Verdict, MergeError> {
        use std::collections::hash_map::Entry;
        let room = match self.rooms.get(s.room_id) {
            Some(&r) => r,
            None => {
                let r = u32::try_from(self.rooms.len()).map_err(|_| MergeError::Overflow)?;
                self.rooms.insert(s.room_id.to_owned(), r);
                r
            }
        };
        match self.sessions.entry((s.session_id, room)) {
            Entry::Occupied(mut o) => {
                let slot = o.get_mut();
                match slot {
                    Slot::Finished(fin) => match s.seq.cmp(fin) {
                        core::cmp::Ordering::Equal => Ok(Verdict::Duplicate),
                        core::cmp::Ordering::Less => Ok(Verdict::Superseded),
                        core::cmp::Ordering::Greater => Err(MergeError::AfterFinal),
                    },
                    Slot::Open(sl) => {
                        let v = Self::place(sl, s, false)?;
                        if s.is_final && matches!(v, Verdict::Applied(_)) {
                            *slot = Slot::Finished(s.seq);
                        }
                        Ok(v)
                    }
                }
            }
            Entry::Vacant(e) => {
                let mut sl = SessionLedger {
                    min_base: 0,
                    last_seq: 0,
                    last: Totals::ZERO,
                    degraded: 0,
                    older: Older::default(),
                };
                let v = Self::place(&mut sl, s, true)?;
                e.insert(if s.is_final {
                    Slot::Finished(s.seq)
                } else {
                    Slot::Open(Box::new(sl))
                });
                Ok(v)
            }
        }
    }

    /// Places `s` in its session's ledger `sl`; on `Err` `sl` is unchanged.
    fn place(
        sl: &mut SessionLedger,
        s: &Summary<'_>,
        new_session: bool,
    ) -> Result<Verdict, MergeError> {
        let last_seq = sl.last_seq;
        if s.seq <= last_seq {
            return Ok(if s.seq == last_seq {
                Verdict::Duplicate
            } else {
                Verdict::Superseded
            });
        }
        let b = s.base_seq;
        if b < sl.min_base {
            return Err(MergeError::BaseRegressed);
        }
        let (base, adopt) = if b == last_seq {
            (&sl.last, false)
        } else if b == 0 {
            (&Totals::ZERO, false)
        } else if b > last_seq {
            (&sl.last, true)
        } else {
            match sl.older.find(b) {
                Some(t) => (t, false),
                None => return Err(MergeError::UnknownBase),
            }
        };
        // cum = base + delta (any overflow wins), increment = cum - last (the first counter that
        // would decrease is named). When the base is the newest applied summary (every ack
        // received, a new session, an adopted base) the increment is the delta itself.
        let mut cum = Totals::ZERO;
        let mut overflow = false;
        let delta = if b >= last_seq {
            for i in 0..COUNTERS {
                let (c, o) = sl.last.values[i].overflowing_add(s.delta.values[i]);
                overflow |= o;
                cum.values[i] = c;
            }
            if overflow {
                return Err(MergeError::Overflow);
            }
            s.delta
        } else {
            let mut delta = Totals::ZERO;
            let mut regressed: u32 = 0;
            for i in 0..COUNTERS {
                let (c, o) = base.values[i].overflowing_add(s.delta.values[i]);
                let (d, u) = c.overflowing_sub(sl.last.values[i]);
                overflow |= o;
                regressed |= u32::from(u) << i;
                cum.values[i] = c;
                delta.values[i] = d;
            }
            if overflow {
                return Err(MergeError::Overflow);
            }
            if regressed != 0 {
                return Err(MergeError::NonMonotone(
                    COUNTER_NAMES[regressed.trailing_zeros() as usize],
                ));
            }
            delta
        };
        let outcome = |t: &Totals| {
            t.get(Counter::Started)
                + t.get(Counter::ExitBeforeStart)
                + t.get(Counter::StartupFailure)
        };
        let first_outcome = outcome(&sl.last) == 0 && outcome(&cum) > 0;
        // Committed from here on.
        sl.min_base = b;
        sl.older.retain_from(b);
        if adopt {
            sl.older.push((b, sl.last));
        } else if last_seq >= b && last_seq > 0 {
            sl.older.push((last_seq, sl.last));
        }
        if sl.older.len() >= LEDGER_WINDOW {
            for _ in 0..sl.older.len() + 1 - LEDGER_WINDOW {
                sl.older.pop_front();
            }
        }
        sl.last_seq = s.seq;
        sl.last = cum;
        let degraded_new = s.state.degraded.unwrap_or(0) & !sl.degraded;
        sl.degraded |= degraded_new;
        let startup = first_outcome.then(|| StartupOutcome {
            started: cum.get(Counter::Started) > 0,
            startup_ms: s.state.startup_ms.filter(|_| cum.get(Counter::Started) > 0),
            flags: s.state.startup_flags.unwrap_or(0),
        });
        let finished = s.is_final.then(|| {
            let playing = cum.get(Counter::PlayingMs);
            let stall = cum.get(Counter::StallMs);
            let samples = cum.get(Counter::LatencySamples);
            ViewFinal {
                watch_ms: cum.get(Counter::WatchMs),
                stall_ratio: (playing + stall > 0).then(|| stall as f64 / (playing + stall) as f64),
                latency_mean_ms: (samples > 0)
                    .then(|| cum.get(Counter::LatencySumMs) as f64 / samples as f64),
            }
        });
        Ok(Verdict::Applied(Applied {
            delta,
            new_session,
            startup,
            finished,
            degraded_new,
        }))
    }
}

/// A rate with its numerator and denominator (the value is `None` when the denominator is 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "console", derive(serde::Serialize))]
pub struct Rate {
    /// Numerator.
    pub numerator: u64,
    /// Denominator.
    pub denominator: u64,
}

impl Rate {
    /// `numerator / denominator`, or `None` when the denominator is 0.
    pub fn value(&self) -> Option<f64> {
        (self.denominator > 0).then(|| self.numerator as f64 / self.denominator as f64)
    }
}

/// The exact part of an aggregate: sums, merged by addition, bit-identical whatever the order in
/// which summaries arrived and aggregates were merged (how many summaries were applied rather
/// than superseded does depend on arrival order, so it is in [`IngestStats`], not here).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Sessions whose first summary was applied here (per ledger; across collectors that share
    /// sessions use the HLL estimate for distinct viewers).
    pub views: u64,
    /// Σ of every per-view counter increment (see [`Counter`]); `totals.get(Counter::Started)`
    /// is the number of started views, and so on for the other flags.
    pub totals: Totals,
    /// Views with a startup outcome (started, exit before start or startup failure): play attempts.
    pub attempts: u64,
    /// Started views whose startup time is known (denominator of 秒开率 / 慢开率).
    pub startup_measured: u64,
    /// Started views with startup ≤ 1000 ms (秒开).
    pub fast_starts: u64,
    /// Started views with startup ≥ 3000 ms (慢开).
    pub slow_starts: u64,
    /// Σ startup time of measured views, ms.
    pub startup_ms_sum: u64,
    /// Attempts whose autoplay was blocked.
    pub autoplay_blocked: u64,
    /// Attempts whose first frame was preloaded.
    pub preloaded: u64,
    /// Attempts hidden during startup.
    pub hidden_during_startup: u64,
    /// Views whose final summary was applied.
    pub finished_views: u64,
    /// Sessions reporting each degraded-capability reason (index = bit of
    /// `crate::qoe::QoeMetrics::degraded`, names in `crate::qoe::DEGRADED_NAMES`), counted once
    /// per session (per ledger, like `views`).
    pub degraded: [u64; DEGRADED_REASONS],
}

impl Counters {
    /// Adds `o` (saturating).
    pub fn add(&mut self, o: &Counters) {
        self.views = self.views.saturating_add(o.views);
        self.totals.add_assign_saturating(&o.totals);
        for (a, b) in [
            (&mut self.attempts, o.attempts),
            (&mut self.startup_measured, o.startup_measured),
            (&mut self.fast_starts, o.fast_starts),
            (&mut self.slow_starts, o.slow_starts),
            (&mut self.startup_ms_sum, o.startup_ms_sum),
            (&mut self.autoplay_blocked, o.autoplay_blocked),
            (&mut self.preloaded, o.preloaded),
            (&mut self.hidden_during_startup, o.hidden_during_startup),
            (&mut self.finished_views, o.finished_views),
        ] {
            *a = a.saturating_add(b);
        }
        for (a, b) in self.degraded.iter_mut().zip(o.degraded) {
            *a = a.saturating_add(b);
        }
    }

    fn rate(n: u64, d: u64) -> Rate {
        Rate {
            numerator: n,
            denominator: d,
        }
    }

    /// Rebuffer ratio: Σ stall_ms / (Σ playing_ms + Σ stall_ms).
    pub fn rebuffer_ratio(&self) -> Rate {
        let s = self.totals.get(Counter::StallMs);
        Self::rate(s, self.totals.get(Counter::PlayingMs).saturating_add(s))
    }

    /// Mux-style rebuffer percentage (as a fraction): Σ stall_ms / Σ watch_ms.
    pub fn rebuffer_ratio_watch(&self) -> Rate {
        Self::rate(
            self.totals.get(Counter::StallMs),
            self.totals.get(Counter::WatchMs),
        )
    }

    /// 卡顿率 (Aliyun / Agora "stall time / play time"): Σ stall_ms / Σ playing_ms.
    pub fn stall_rate(&self) -> Rate {
        Self::rate(
            self.totals.get(Counter::StallMs),
            self.totals.get(Counter::PlayingMs),
        )
    }

    /// Stalls per playing minute: Σ stall_count / (Σ playing_ms / 60 000); the rate's
    /// denominator is in ms, so multiply its value by 60 000.
    pub fn stall_frequency(&self) -> Rate {
        Self::rate(
            self.totals.get(Counter::StallCount),
            self.totals.get(Counter::PlayingMs),
        )
    }

    /// 秒开率: fast starts (startup ≤ 1 s) / started views with a known startup time.
    pub fn fast_start_rate(&self) -> Rate {
        Self::rate(self.fast_starts, self.startup_measured)
    }

    /// 慢开率: slow starts (startup ≥ 3 s) / started views with a known startup time.
    pub fn slow_start_rate(&self) -> Rate {
        Self::rate(self.slow_starts, self.startup_measured)
    }

    /// Startup failure rate: views failing before the first frame / play attempts.
    pub fn startup_failure_rate(&self) -> Rate {
        Self::rate(self.totals.get(Counter::StartupFailure), self.attempts)
    }

    /// Exit-before-start rate: views left before the first frame / play attempts.
    pub fn exit_before_start_rate(&self) -> Rate {
        Self::rate(self.totals.get(Counter::ExitBeforeStart), self.attempts)
    }

    /// Playback failure rate: views failing after the first frame / started views.
    pub fn playback_failure_rate(&self) -> Rate {
        Self::rate(
            self.totals.get(Counter::PlaybackFailure),
            self.totals.get(Counter::Started),
        )
    }

    /// Dropped-frame ratio: Σ dropped frames / Σ total frames.
    pub fn dropped_frame_ratio(&self) -> Rate {
        Self::rate(
            self.totals.get(Counter::DroppedFrames),
            self.totals.get(Counter::TotalFrames),
        )
    }

    /// Mean glass-to-glass latency: Σ latency_sum_ms / Σ latency samples (ms).
    pub fn latency_mean(&self) -> Rate {
        Self::rate(
            self.totals.get(Counter::LatencySumMs),
            self.totals.get(Counter::LatencySamples),
        )
    }

    /// Time-weighted bitrate: Σ played kbit / Σ playing ms, in kbit/ms = Mbit/s.
    pub fn bitrate_mean(&self) -> Rate {
        Self::rate(
            self.totals.get(Counter::PlayedKbit),
            self.totals.get(Counter::PlayingMs),
        )
    }

    /// Mean startup time of measured views: Σ startup_ms / measured views (ms).
    pub fn startup_mean(&self) -> Rate {
        Self::rate(self.startup_ms_sum, self.startup_measured)
    }
}

/// A KLL sketch of doubles (the DataSketches `KllDoublesSketch` binary format).
pub type Kll = KllSketch<KllFloat<f64>>;

fn new_kll() -> Kll {
    KllSketch::new(KLL_K).expect("KLL_K is within 8..=65535")
}

fn kll_add(k: &mut Kll, v: f64) {
    if let Ok(x) = KllFloat::<f64>::new(v) {
        k.update(x);
    }
}

/// A mergeable room- or region-level aggregate: exact [`Counters`], the distinct-viewer HLL
/// sketch and four per-view KLL distributions.
#[derive(Clone, Debug)]
pub struct Aggregate {
    /// Exact sums.
    pub counters: Counters,
    viewers: HllSketch,
    startup_ms: Kll,
    latency_ms: Kll,
    stall_ratio: Kll,
    watch_ms: Kll,
}

impl Default for Aggregate {
    fn default() -> Self {
        Aggregate::new()
    }
}

impl Aggregate {
    /// An empty aggregate.
    pub fn new() -> Aggregate {
        Aggregate {
            counters: Counters::default(),
            viewers: HllSketch::new(HLL_LG_K, HLL_TYPE).expect("HLL_LG_K is within 4..=21"),
            startup_ms: new_kll(),
            latency_ms: new_kll(),
            stall_ratio: new_kll(),
            watch_ms: new_kll(),
        }
    }

    /// An aggregate from its parts: exact sums, the distinct-viewer HLL sketch and the KLL
    /// sketches of startup ms, latency ms, stall ratio and watch ms (in that order), e.g. read
    /// back from export rows.
    pub fn from_parts(counters: Counters, viewers: HllSketch, kll: [Kll; 4]) -> Aggregate {
        let [startup_ms, latency_ms, stall_ratio, watch_ms] = kll;
        Aggregate {
            counters,
            viewers,
            startup_ms,
            latency_ms,
            stall_ratio,
            watch_ms,
        }
    }

    /// Adds what one applied summary of session `coupon` ([`session_coupon`]) contributes.
    pub fn apply(&mut self, a: &Applied, coupon: Coupon) {
        let c = &mut self.counters;
        c.views += u64::from(a.new_session);
        c.totals.add_assign_saturating(&a.delta);
        self.viewers.update_with_coupon(coupon);
        if let Some(o) = a.startup {
            c.attempts += 1;
            c.autoplay_blocked += u64::from(o.flags & STARTUP_AUTOPLAY_BLOCKED != 0);
            c.preloaded += u64::from(o.flags & STARTUP_PRELOADED != 0);
            c.hidden_during_startup += u64::from(o.flags & STARTUP_HIDDEN != 0);
            if let Some(ms) = o.startup_ms {
                c.startup_measured += 1;
                c.fast_starts += u64::from(ms <= FAST_START_MS);
                c.slow_starts += u64::from(ms >= SLOW_START_MS);
                c.startup_ms_sum = c.startup_ms_sum.saturating_add(ms);
                kll_add(&mut self.startup_ms, ms as f64);
            }
        }
        if a.degraded_new != 0 {
            for (i, n) in c.degraded.iter_mut().enumerate() {
                *n += u64::from(a.degraded_new >> i & 1);
            }
        }
        if let Some(f) = a.finished {
            c.finished_views += 1;
            kll_add(&mut self.watch_ms, f.watch_ms as f64);
            if let Some(r) = f.stall_ratio {
                kll_add(&mut self.stall_ratio, r);
            }
            if let Some(l) = f.latency_mean_ms {
                kll_add(&mut self.latency_ms, l);
            }
        }
    }

    /// Merges `other` into `self`: counters added, HLL sketches unioned, KLL sketches merged.
    /// Associative and commutative: counters bit-identical, the HLL registers (and so
    /// [`Self::distinct_viewers`]) identical, KLL quantiles within the sketch's rank error.
    pub fn merge(&mut self, other: &Aggregate) {
        self.counters.add(&other.counters);
        let mut u = HllUnion::new(HLL_LG_K).expect("HLL_LG_K is within 4..=21");
        u.update(&self.viewers);
        u.update(&other.viewers);
        self.viewers = u.to_sketch(HLL_TYPE);
        for (a, b) in [
            (&mut self.startup_ms, &other.startup_ms),
            (&mut self.latency_ms, &other.latency_ms),
            (&mut self.stall_ratio, &other.stall_ratio),
            (&mut self.watch_ms, &other.watch_ms),
        ] {
            // Only fails when the total weight would exceed 2^64 items.
            let _ = a.merge(b);
        }
    }

    /// Distinct viewers (sessions): the HLL composite estimate, a function of the registers only,
    /// hence identical whatever the merge order (the HIP estimate, [`HllSketch::estimate`], is
    /// more accurate for a sketch built in one pass but depends on update order).
    pub fn distinct_viewers(&self) -> f64 {
        self.viewers.composite_estimate()
    }

    /// The distinct-viewer sketch (HLL_8, lg_k 12, session ids hashed as their hex text).
    pub fn viewers_sketch(&self) -> &HllSketch {
        &self.viewers
    }

    /// Per-view startup time, ms (one item per started view with a known startup time).
    pub fn startup_ms_sketch(&self) -> &Kll {
        &self.startup_ms
    }

    /// Per-view mean glass-to-glass latency, ms (one item per finished view with samples).
    pub fn latency_ms_sketch(&self) -> &Kll {
        &self.latency_ms
    }

    /// Per-view stall ratio `stall / (playing + stall)` (one item per finished view that played).
    pub fn stall_ratio_sketch(&self) -> &Kll {
        &self.stall_ratio
    }

    /// Per-view watch time (dwell), ms (one item per finished view).
    pub fn watch_ms_sketch(&self) -> &Kll {
        &self.watch_ms
    }
}

/// A room's aggregates: the whole room and one per region.
#[derive(Clone, Debug, Default)]
pub struct RoomAggregate {
    /// The whole room.
    pub total: Aggregate,
    /// Per region, as given by the collector (e.g. from a GeoIP header; `""` when unknown).
    pub regions: BTreeMap<String, Aggregate>,
    /// Per region and minute (start of the minute, epoch ms, of each applied summary's client end
    /// time `start_ms + span_ms`), when the merger keeps minute rows ([`Merger::with_minute_rows`]);
    /// the rows a collector exports. Every applied increment is in exactly one minute, so the
    /// minutes of a region sum (counters) / union (HLL) / merge (KLL) to the region.
    pub minutes: BTreeMap<String, BTreeMap<u64, Aggregate>>,
}

impl RoomAggregate {
    /// Merges another room aggregate (same room) into this one.
    pub fn merge(&mut self, other: &RoomAggregate) {
        self.total.merge(&other.total);
        for (r, a) in &other.regions {
            self.regions.entry(r.clone()).or_default().merge(a);
        }
        for (r, mins) in &other.minutes {
            let mine = self.minutes.entry(r.clone()).or_default();
            for (m, a) in mins {
                mine.entry(*m).or_default().merge(a);
            }
        }
    }
}

/// Length of an export row's time bucket, ms.
pub const MINUTE_MS: u64 = 60_000;

/// Why [`Merger::ingest`] rejected a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IngestError {
    /// The bytes are not a valid summary.
    Decode(DecodeError),
    /// The summary cannot be placed.
    Merge(MergeError),
}

impl IngestError {
    /// Stable snake_case code (the decoder's or the ledger's).
    pub fn code(&self) -> &'static str {
        match self {
            IngestError::Decode(e) => e.code(),
            IngestError::Merge(e) => e.code(),
        }
    }

    /// The field concerned.
    pub fn field(&self) -> &'static str {
        match self {
            IngestError::Decode(e) => e.field(),
            IngestError::Merge(e) => e.field(),
        }
    }

    /// A static description.
    pub fn message(&self) -> &'static str {
        match self {
            IngestError::Decode(e) => e.message(),
            IngestError::Merge(e) => e.message(),
        }
    }
}

impl std::fmt::Display for IngestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IngestError::Decode(e) => e.fmt(f),
            IngestError::Merge(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for IngestError {}

/// What [`Merger::ingest`] did with an accepted message (all three may be acknowledged).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ingested {
    /// Applied to the room and region aggregates.
    Applied,
    /// Same (session, seq) as the session's newest applied summary: ignored.
    Duplicate,
    /// Older than an applied summary of the session: ignored.
    Superseded,
}

/// Counts of what a merger did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IngestStats {
    /// Summaries applied.
    pub applied: u64,
    /// Duplicates ignored.
    pub duplicates: u64,
    /// Superseded summaries ignored.
    pub superseded: u64,
    /// Rejections by code.
    pub rejected: BTreeMap<&'static str, u64>,
    /// Applied summaries from a region beyond the room's region cap, merged into
    /// [`OTHER_REGION`].
    pub region_overflow: u64,
    /// Applied summaries whose new minute row would exceed the room's row cap: in the room and
    /// region aggregates, in no minute row.
    pub minute_overflow: u64,
}

/// Memory bounds and options of a [`Merger`] (each new region or client minute of a room costs an
/// aggregate, ≈ 8.8 KB; see `docs/collector.md`, "Limits").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MergerOptions {
    /// Keep per-minute aggregates ([`RoomAggregate::minutes`], the export rows). Default false.
    pub minute_rows: bool,
    /// Distinct regions kept per room (default 64). A summary from a further region is merged
    /// into region [`OTHER_REGION`] (which is not counted in the cap) and counted in
    /// [`IngestStats::region_overflow`].
    pub max_regions_per_room: usize,
    /// Minute rows kept per room, over all its regions (default 20,000: e.g. 10 regions × 33 h).
    /// A summary that would open a further row is applied to the room and region aggregates but
    /// to no minute row, and counted in [`IngestStats::minute_overflow`].
    pub max_minute_rows_per_room: usize,
    /// With a server time ([`Merger::ingest_at`]): a summary whose client end time is more than
    /// this before it is rejected `out_of_window` (default 26 h: the longest span, 24 h, plus 2 h
    /// of queueing and clock skew).
    pub window_past_ms: u64,
    /// With a server time: a summary whose client end time is more than this after it is
    /// rejected `out_of_window` (default 1 h of client clock skew).
    pub window_future_ms: u64,
}

/// Default of [`MergerOptions::max_regions_per_room`].
pub const DEFAULT_MAX_REGIONS_PER_ROOM: usize = 64;
/// Default of [`MergerOptions::max_minute_rows_per_room`].
pub const DEFAULT_MAX_MINUTE_ROWS_PER_ROOM: usize = 20_000;
/// Default of [`MergerOptions::window_past_ms`]: 26 h.
pub const DEFAULT_WINDOW_PAST_MS: u64 = 26 * 3_600_000;
/// Default of [`MergerOptions::window_future_ms`]: 1 h.
pub const DEFAULT_WINDOW_FUTURE_MS: u64 = 3_600_000;

impl Default for MergerOptions {
    fn default() -> Self {
        MergerOptions {
            minute_rows: false,
            max_regions_per_room: DEFAULT_MAX_REGIONS_PER_ROOM,
            max_minute_rows_per_room: DEFAULT_MAX_MINUTE_ROWS_PER_ROOM,
            window_past_ms: DEFAULT_WINDOW_PAST_MS,
            window_future_ms: DEFAULT_WINDOW_FUTURE_MS,
        }
    }
}

/// A collector's merge state: one [`Ledger`] and the room / region aggregates.
#[derive(Clone, Debug, Default)]
pub struct Merger {
    ledger: Ledger,
    rooms: HashMap<String, RoomAggregate, IdHashBuilder>,
    stats: IngestStats,
    options: MergerOptions,
}

impl Merger {
    /// An empty merger.
    pub fn new() -> Merger {
        Merger::default()
    }

    /// An empty merger that also keeps per-minute aggregates ([`RoomAggregate::minutes`]): what
    /// a collector exports as rows per (room, region, minute).
    pub fn with_minute_rows() -> Merger {
        Merger::with_options(MergerOptions {
            minute_rows: true,
            ..MergerOptions::default()
        })
    }

    /// An empty merger with these options.
    pub fn with_options(options: MergerOptions) -> Merger {
        Merger {
            options,
            ..Merger::default()
        }
    }

    /// The options.
    pub fn options(&self) -> &MergerOptions {
        &self.options
    }

    /// Whether per-minute aggregates are kept.
    pub fn keeps_minute_rows(&self) -> bool {
        self.options.minute_rows
    }

    /// Decodes, de-duplicates and merges one message received from `region` (≤ 64 bytes, `""`
    /// when unknown). Rejections are counted in [`Self::stats`] and change nothing else.
    pub fn ingest(&mut self, bytes: &[u8], region: &str) -> Result<Ingested, IngestError> {
        self.ingest_at(bytes, region, None, None).map(|(i, _)| i)
    }

    /// [`Self::ingest`] for a request addressed to `room` (when given, the summary's room id must
    /// equal it: `room_mismatch`), also returning the decoded summary (it borrows `bytes`).
    pub fn ingest_to<'b>(
        &mut self,
        bytes: &'b [u8],
        region: &str,
        room: Option<&str>,
    ) -> Result<(Ingested, Summary<'b>), IngestError> {
        self.ingest_at(bytes, region, room, None)
    }

    /// [`Self::ingest_to`] received at server time `now_ms` (epoch ms): when given, a summary
    /// whose client end time is outside `[now − window_past_ms, now + window_future_ms]` is
    /// rejected `out_of_window`. Pass `None` when replaying summaries accepted earlier (a
    /// collector's log), so that what was acknowledged is applied again whatever the time.
    /// (Inlined, so that [`Self::ingest`] does not move the summary it drops around.)
    #[inline(always)]
    pub fn ingest_at<'b>(
        &mut self,
        bytes: &'b [u8],
        region: &str,
        room: Option<&str>,
        now_ms: Option<u64>,
    ) -> Result<(Ingested, Summary<'b>), IngestError> {
        let r = match decode(bytes) {
            Err(e) => Err(IngestError::Decode(e)),
            Ok(s) if room.is_some_and(|r| r != s.room_id) => {
                Err(IngestError::Merge(MergeError::RoomMismatch))
            }
            Ok(s) => match self.ingest_summary_at(&s, region, now_ms) {
                Ok(i) => Ok((i, s)),
                Err(e) => Err(IngestError::Merge(e)),
            },
        };
        if let Err(e) = &r {
            self.count_rejection(e.code());
        }
        r
    }

    /// Counts a rejection decided outside the merger (e.g. a collector's `oversized` body it never
    /// read) under its stable code.
    pub fn count_rejection(&mut self, code: &'static str) {
        *self.stats.rejected.entry(code).or_insert(0) += 1;
    }

    /// [`Self::ingest`] for an already decoded summary (rejections are not counted in stats).
    pub fn ingest_summary(
        &mut self,
        s: &Summary<'_>,
        region: &str,
    ) -> Result<Ingested, MergeError> {
        self.ingest_summary_at(s, region, None)
    }

    /// [`Self::ingest_summary`] at server time `now_ms` (see [`Self::ingest_at`]).
    pub fn ingest_summary_at(
        &mut self,
        s: &Summary<'_>,
        region: &str,
        now_ms: Option<u64>,
    ) -> Result<Ingested, MergeError> {
        if region.len() > MAX_REGION_BYTES {
            return Err(MergeError::BadRegion);
        }
        if let Some(now) = now_ms {
            let end = s.end_ms();
            if end < now.saturating_sub(self.options.window_past_ms)
                || end > now.saturating_add(self.options.window_future_ms)
            {
                return Err(MergeError::OutOfWindow);
            }
        }
        let verdict = self.ledger.accept(s)?;
        let applied = match &verdict {
            Verdict::Applied(a) => a,
            Verdict::Duplicate => {
                self.stats.duplicates += 1;
                return Ok(Ingested::Duplicate);
            }
            Verdict::Superseded => {
                self.stats.superseded += 1;
                return Ok(Ingested::Superseded);
            }
        };
        self.stats.applied += 1;
        let coupon = session_coupon(&s.session_id);
        let room = match self.rooms.get_mut(s.room_id) {
            Some(r) => r,
            None => self.rooms.entry(s.room_id.to_owned()).or_default(),
        };
        room.total.apply(applied, coupon);
        // One region lookup when the region exists (the common case).
        let region = match room.regions.get_mut(region) {
            Some(agg) => {
                agg.apply(applied, coupon);
                region
            }
            None => {
                let region = if room.regions.len() < self.options.max_regions_per_room {
                    region
                } else {
                    self.stats.region_overflow += 1;
                    OTHER_REGION
                };
                room.regions
                    .entry(region.to_owned())
                    .or_default()
                    .apply(applied, coupon);
                region
            }
        };
        if self.options.minute_rows {
            let minute = s.end_ms() / MINUTE_MS * MINUTE_MS;
            let existing = room
                .minutes
                .get(region)
                .is_some_and(|m| m.contains_key(&minute));
            if existing
                || room.minutes.values().map(BTreeMap::len).sum::<usize>()
                    < self.options.max_minute_rows_per_room
            {
                let mins = match room.minutes.get_mut(region) {
                    Some(m) => m,
                    None => room.minutes.entry(region.to_owned()).or_default(),
                };
                mins.entry(minute).or_default().apply(applied, coupon);
            } else {
                self.stats.minute_overflow += 1;
            }
        }
        Ok(Ingested::Applied)
    }

    /// The aggregates of `room`, if any summary of it was applied.
    pub fn room(&self, room: &str) -> Option<&RoomAggregate> {
        self.rooms.get(room)
    }

    /// Every room's aggregates.
    pub fn rooms(&self) -> &HashMap<String, RoomAggregate, IdHashBuilder> {
        &self.rooms
    }

    /// What was applied, ignored and rejected.
    pub fn stats(&self) -> &IngestStats {
        &self.stats
    }

    /// The de-duplication ledger.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The shard, in `0..shards`, of a message for a collector that merges on `shards` threads:
    /// a function of the session id alone (bytes 4..20), so every summary of a session lands in
    /// the same shard and each shard's own [`Merger`] (its own [`Ledger`]) de-duplicates exactly;
    /// a message too short to hold a session id goes to shard 0 (which rejects it). Union the
    /// shards with [`Merger::absorb`]. Session ids are random, so shards are balanced; a client
    /// choosing its ids can unbalance them, not change any result.
    pub fn shard_of(bytes: &[u8], shards: usize) -> usize {
        let Some(id) = bytes.get(4..20) else {
            return 0;
        };
        let mut x = [0u8; 8];
        for (i, b) in id.iter().enumerate() {
            x[i % 8] ^= b;
        }
        let h = u64::from_le_bytes(x).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        ((u128::from(h) * shards as u128) >> 64) as usize
    }

    /// Adds the aggregates and stats of `other`, a merger that saw other sessions (another shard
    /// of [`Merger::shard_of`]): rooms merged ([`RoomAggregate::merge`]), stats added. The
    /// ledgers stay where they are (keep routing each session to its shard). Over all shards the
    /// result equals one merger fed every message in the same per-session order — counters and
    /// stats bit-identical, HLL registers identical, KLL sketches within their rank error —
    /// unless a cap of [`MergerOptions`] was reached, which each shard applies on its own.
    pub fn absorb(&mut self, other: &Merger) {
        for (name, room) in &other.rooms {
            match self.rooms.get_mut(name) {
                Some(mine) => mine.merge(room),
                None => {
                    self.rooms.insert(name.clone(), room.clone());
                }
            }
        }
        let (s, o) = (&mut self.stats, &other.stats);
        s.applied += o.applied;
        s.duplicates += o.duplicates;
        s.superseded += o.superseded;
        s.region_overflow += o.region_overflow;
        s.minute_overflow += o.minute_overflow;
        for (code, n) in &o.rejected {
            *s.rejected.entry(code).or_insert(0) += n;
        }
    }
}
