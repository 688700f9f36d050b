//! Plain, serializable views of the merge state (console feature): what the JS bindings and a
//! collector hand out as JSON, and the export rows (one per room × region × minute, with the
//! DataSketches sketches as base64) that downstream engines load and merge.
//!
//! Every struct here derives `Serialize` with plain public fields: `scripts/gen-types.mjs`
//! generates the TypeScript declarations of the console package from this file.

use std::collections::BTreeMap;

use datasketches::common::{NumStdDev, SearchCriteria};
use datasketches::hll::{HllSketch, HllUnion};
use datasketches::kll::KllSketch;
use serde::{Deserialize, Serialize};

use super::merge::{
    session_hex, Aggregate, Counters, IngestStats, Ingested, Kll, Merger, Rate, RoomAggregate,
};
use super::merge::{HLL_LG_K, HLL_TYPE};
use super::wire::{Summary, Totals, COUNTERS, COUNTER_NAMES, DEGRADED_REASONS};

/// Number of exact sums in [`CounterSums`] (10 merge counts, the 25 per-view counters, the 9
/// degraded-reason session counts).
pub const FLAT_COUNTERS: usize = 10 + COUNTERS + DEGRADED_REASONS;

/// Conversions between [`Counters`] and the flat sums of [`CounterSums`] / [`ExportRow`], from
/// the field list.
macro_rules! sums_conv {
    ($($f:ident),*) => {
        impl CounterSums {
            /// The sums of `c`.
            pub fn from_counters(c: &Counters) -> CounterSums {
                let [$($f),*] = flat_values(c);
                CounterSums { $($f),* }
            }

            /// Back to [`Counters`].
            pub fn to_counters(&self) -> Counters {
                counters_from_flat(&[$(self.$f),*])
            }
        }

        impl ExportRow {
            fn counters(&self) -> Counters {
                counters_from_flat(&[$(self.$f),*])
            }

            fn build(
                collector: &str,
                room: &str,
                region: &str,
                minute_start_ms: u64,
                a: &Aggregate,
            ) -> ExportRow {
                let [$($f),*] = flat_values(&a.counters);
                ExportRow {
                    collector: collector.to_owned(),
                    room: room.to_owned(),
                    region: region.to_owned(),
                    minute: iso_minute(minute_start_ms),
                    minute_start_ms,
                    $($f,)*
                    distinct_viewers: a.distinct_viewers(),
                    hll_viewers: base64_encode(&a.viewers_sketch().serialize()),
                    kll_startup_ms: base64_encode(&a.startup_ms_sketch().serialize()),
                    kll_latency_ms: base64_encode(&a.latency_ms_sketch().serialize()),
                    kll_stall_ratio: base64_encode(&a.stall_ratio_sketch().serialize()),
                    kll_watch_ms: base64_encode(&a.watch_ms_sketch().serialize()),
                }
            }
        }
    };
}

// The one list of the exact sums: the fields of `CounterSums` below (10 merge counts, then the
// per-view counters in `Counter` index order, by their wire names). `counter_sums!` defines the
// struct as written (so that scripts/gen-types.mjs reads it) and the conversions from its field
// list; `ExportRow` repeats the names (the generator reads struct text, not macros) and the
// conversions make the compiler check them.
macro_rules! counter_sums {
    ($(#[$m:meta])* pub struct CounterSums { $($(#[doc = $d:literal])* pub $f:ident: u64,)* }) => {
        $(#[$m])*
        pub struct CounterSums {
            $($(#[doc = $d])* pub $f: u64,)*
        }

        /// The field names of [`CounterSums`], in order (the export's counter columns).
        pub const SUM_FIELDS: [&str; FLAT_COUNTERS] = [$(stringify!($f)),*];

        sums_conv!($($f),*);
    };
}

counter_sums! {
/// Every exact sum of an aggregate, by name (the per-view counters by their wire name, see
/// `docs/summary-format.md`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterSums {
    /// Sessions whose first summary was applied by this merger (across collectors sharing
    /// sessions, use the distinct-viewer estimate instead).
    pub views: u64,
    /// Views with a startup outcome (play attempts).
    pub attempts: u64,
    /// Started views with a known startup time.
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
    /// Σ watch time, ms.
    pub watch_ms: u64,
    /// Σ playing time, ms.
    pub playing_ms: u64,
    /// Σ stall time, ms.
    pub stall_ms: u64,
    /// Σ stalls.
    pub stall_count: u64,
    /// Σ frames presented.
    pub total_frames: u64,
    /// Σ frames dropped.
    pub dropped_frames: u64,
    /// Σ played kbit.
    pub played_kbit: u64,
    /// Σ latency samples' values, ms.
    pub latency_sum_ms: u64,
    /// Σ latency samples.
    pub latency_samples: u64,
    /// Σ hidden-tab time, ms.
    pub hidden_ms: u64,
    /// Σ paused time, ms.
    pub paused_ms: u64,
    /// Σ WebRTC-rule freezes.
    pub freeze_count: u64,
    /// Σ WebRTC-rule freeze time, ms.
    pub freeze_ms: u64,
    /// Σ Agora-rule (≥ 500 ms) freezes.
    pub freeze_500_count: u64,
    /// Σ Agora-rule freeze time, ms.
    pub freeze_500_ms: u64,
    /// Σ seeks.
    pub seek_count: u64,
    /// Σ errors.
    pub error_count: u64,
    /// Σ up-switches.
    pub bitrate_switch_up: u64,
    /// Σ down-switches.
    pub bitrate_switch_down: u64,
    /// Σ upscaled playing time, ms.
    pub upscale_ms: u64,
    /// Σ downscaled playing time, ms.
    pub downscale_ms: u64,
    /// Started views.
    pub started: u64,
    /// Views that exited before start.
    pub exit_before_start: u64,
    /// Views that failed before the first frame.
    pub startup_failure: u64,
    /// Views that failed after the first frame.
    pub playback_failure: u64,
    /// Sessions reporting degraded capability: no `requestVideoFrameCallback` (progress from `timeupdate`).
    pub degraded_no_frame_callbacks: u64,
    /// Sessions reporting degraded capability: no `getVideoPlaybackQuality()` (dropped frames not measured).
    pub degraded_no_playback_quality: u64,
    /// Sessions reporting degraded capability: no `navigator.sendBeacon`.
    pub degraded_no_beacon: u64,
    /// Sessions reporting degraded capability: `localStorage` missing or throwing.
    pub degraded_no_storage: u64,
    /// Sessions reporting degraded capability: the media element left the document.
    pub degraded_element_removed: u64,
    /// Sessions reporting degraded capability: a monitor callback threw (contained).
    pub degraded_fault: u64,
    /// Sessions reporting degraded capability: every time-sync probe failed (latency on the client clock).
    pub degraded_no_time_sync: u64,
    /// Sessions reporting degraded capability: `performance.now` patched by the page.
    pub degraded_clock_patched: u64,
    /// Sessions reporting degraded capability: no `ResizeObserver`.
    pub degraded_no_resize_observer: u64,
}
}

fn flat_values(c: &Counters) -> [u64; FLAT_COUNTERS] {
    let mut v = [0u64; FLAT_COUNTERS];
    v[..10].copy_from_slice(&[
        c.views,
        c.attempts,
        c.startup_measured,
        c.fast_starts,
        c.slow_starts,
        c.startup_ms_sum,
        c.autoplay_blocked,
        c.preloaded,
        c.hidden_during_startup,
        c.finished_views,
    ]);
    v[10..10 + COUNTERS].copy_from_slice(&c.totals.values);
    v[10 + COUNTERS..].copy_from_slice(&c.degraded);
    v
}

fn counters_from_flat(v: &[u64; FLAT_COUNTERS]) -> Counters {
    let mut totals = Totals::ZERO;
    totals.values.copy_from_slice(&v[10..10 + COUNTERS]);
    let mut degraded = [0u64; DEGRADED_REASONS];
    degraded.copy_from_slice(&v[10 + COUNTERS..]);
    Counters {
        views: v[0],
        attempts: v[1],
        startup_measured: v[2],
        fast_starts: v[3],
        slow_starts: v[4],
        startup_ms_sum: v[5],
        autoplay_blocked: v[6],
        preloaded: v[7],
        hidden_during_startup: v[8],
        finished_views: v[9],
        totals,
        degraded,
    }
}

// The per-view counters' fields are named as their wire names, in order.
const _: () = {
    let mut i = 0;
    while i < COUNTERS {
        let (a, b) = (SUM_FIELDS[10 + i].as_bytes(), COUNTER_NAMES[i].as_bytes());
        assert!(a.len() == b.len());
        let mut j = 0;
        while j < a.len() {
            assert!(a[j] == b[j]);
            j += 1;
        }
        i += 1;
    }
};

/// A rate with its numerator, denominator and value (`null` when the denominator is 0).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct RateView {
    /// Numerator.
    pub numerator: u64,
    /// Denominator.
    pub denominator: u64,
    /// numerator / denominator, or null when the denominator is 0.
    pub value: Option<f64>,
}

impl From<Rate> for RateView {
    fn from(r: Rate) -> RateView {
        RateView {
            numerator: r.numerator,
            denominator: r.denominator,
            value: r.value(),
        }
    }
}

/// The rates of an aggregate (see `docs/summary-format.md`, "Merge").
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Rates {
    /// Σ stall_ms / (Σ playing_ms + Σ stall_ms).
    pub rebuffer_ratio: RateView,
    /// Mux-style: Σ stall_ms / Σ watch_ms.
    pub rebuffer_ratio_watch: RateView,
    /// 卡顿率: Σ stall_ms / Σ playing_ms.
    pub stall_rate: RateView,
    /// Σ stall_count / Σ playing_ms (stalls per ms: × 60000 for per playing minute).
    pub stall_frequency: RateView,
    /// 秒开率: fast starts / measured startups.
    pub fast_start_rate: RateView,
    /// 慢开率: slow starts / measured startups.
    pub slow_start_rate: RateView,
    /// Startup failures / attempts.
    pub startup_failure_rate: RateView,
    /// Exits before start / attempts.
    pub exit_before_start_rate: RateView,
    /// Playback failures / started views.
    pub playback_failure_rate: RateView,
    /// Σ dropped frames / Σ total frames.
    pub dropped_frame_ratio: RateView,
    /// Mean glass-to-glass latency: Σ latency_sum_ms / Σ latency_samples, ms.
    pub latency_mean_ms: RateView,
    /// Time-weighted bitrate: Σ played_kbit / Σ playing_ms (kbit/ms = Mbit/s).
    pub bitrate_mean_mbps: RateView,
    /// Mean startup time of measured views, ms.
    pub startup_mean_ms: RateView,
}

impl Rates {
    /// The rates of `c`.
    pub fn of(c: &Counters) -> Rates {
        Rates {
            rebuffer_ratio: c.rebuffer_ratio().into(),
            rebuffer_ratio_watch: c.rebuffer_ratio_watch().into(),
            stall_rate: c.stall_rate().into(),
            stall_frequency: c.stall_frequency().into(),
            fast_start_rate: c.fast_start_rate().into(),
            slow_start_rate: c.slow_start_rate().into(),
            startup_failure_rate: c.startup_failure_rate().into(),
            exit_before_start_rate: c.exit_before_start_rate().into(),
            playback_failure_rate: c.playback_failure_rate().into(),
            dropped_frame_ratio: c.dropped_frame_ratio().into(),
            latency_mean_ms: c.latency_mean().into(),
            bitrate_mean_mbps: c.bitrate_mean().into(),
            startup_mean_ms: c.startup_mean().into(),
        }
    }
}

/// Summary of one KLL distribution: exact n, min and max; p50 / p90 / p99 within the sketch's
/// rank error (inclusive rule: the smallest retained item whose normalized rank ≥ q). Null when
/// the distribution is empty.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Quantiles {
    /// Number of items (views).
    pub n: u64,
    /// Smallest item.
    pub min: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// Largest item.
    pub max: Option<f64>,
}

impl Quantiles {
    /// The quantiles of `k`.
    pub fn of(k: &Kll) -> Quantiles {
        let q = |r: f64| {
            k.quantile(r, SearchCriteria::Inclusive)
                .ok()
                .flatten()
                .map(|x| x.into_inner())
        };
        Quantiles {
            n: k.n(),
            min: k.min_item().map(|x| **x),
            p50: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
            max: k.max_item().map(|x| **x),
        }
    }
}

/// The four per-view distributions of an aggregate.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Distributions {
    /// Startup time per started view with a known startup time, ms.
    pub startup_ms: Quantiles,
    /// Mean glass-to-glass latency per finished view with samples, ms.
    pub latency_ms: Quantiles,
    /// Stall ratio stall / (playing + stall) per finished view that played.
    pub stall_ratio: Quantiles,
    /// Watch time (dwell) per finished view, ms.
    pub watch_ms: Quantiles,
}

/// An aggregate as plain data: exact sums, rates, distinct viewers and distributions.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AggregateView {
    /// Exact sums.
    pub counters: CounterSums,
    /// Rates with numerator and denominator.
    pub rates: Rates,
    /// Distinct viewers (sessions): the HLL composite estimate (merge-order independent).
    pub distinct_viewers: f64,
    /// Lower bound of the distinct-viewer estimate, 2 standard deviations (≈ 95 %).
    pub distinct_viewers_low: f64,
    /// Upper bound of the distinct-viewer estimate, 2 standard deviations.
    pub distinct_viewers_high: f64,
    /// Per-view distributions (KLL sketches).
    pub quantiles: Distributions,
}

impl AggregateView {
    /// The view of `a`.
    pub fn of(a: &Aggregate) -> AggregateView {
        let hll = a.viewers_sketch();
        AggregateView {
            counters: CounterSums::from_counters(&a.counters),
            rates: Rates::of(&a.counters),
            distinct_viewers: a.distinct_viewers(),
            distinct_viewers_low: hll.lower_bound(NumStdDev::Two),
            distinct_viewers_high: hll.upper_bound(NumStdDev::Two),
            quantiles: Distributions {
                startup_ms: Quantiles::of(a.startup_ms_sketch()),
                latency_ms: Quantiles::of(a.latency_ms_sketch()),
                stall_ratio: Quantiles::of(a.stall_ratio_sketch()),
                watch_ms: Quantiles::of(a.watch_ms_sketch()),
            },
        }
    }
}

/// One region of a room.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RegionView {
    /// Region name as assigned by the collector.
    pub region: String,
    /// The region's aggregate.
    pub aggregate: AggregateView,
}

/// A room: the whole room and each region.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RoomView {
    /// Room id.
    pub room: String,
    /// The whole room.
    pub total: AggregateView,
    /// Per region, sorted by name.
    pub regions: Vec<RegionView>,
}

impl RoomView {
    /// The view of room `room`.
    pub fn of(room: &str, r: &RoomAggregate) -> RoomView {
        RoomView {
            room: room.to_owned(),
            total: AggregateView::of(&r.total),
            regions: r
                .regions
                .iter()
                .map(|(name, a)| RegionView {
                    region: name.clone(),
                    aggregate: AggregateView::of(a),
                })
                .collect(),
        }
    }
}

/// Every room of a merger, sorted by room id.
pub fn room_views(m: &Merger) -> Vec<RoomView> {
    let mut names: Vec<&String> = m.rooms().keys().collect();
    names.sort();
    names
        .into_iter()
        .map(|n| RoomView::of(n, &m.rooms()[n]))
        .collect()
}

/// What a merger did with an accepted summary (every status is acknowledged).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IngestStatus {
    /// Applied to the aggregates.
    Applied,
    /// Same session and seq as the session's newest applied summary: ignored.
    Duplicate,
    /// Older than an applied summary of the session (already included): ignored.
    Superseded,
}

impl From<Ingested> for IngestStatus {
    fn from(i: Ingested) -> IngestStatus {
        match i {
            Ingested::Applied => IngestStatus::Applied,
            Ingested::Duplicate => IngestStatus::Duplicate,
            Ingested::Superseded => IngestStatus::Superseded,
        }
    }
}

/// The outcome of one accepted summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IngestOutcome {
    /// What was done with it.
    pub status: IngestStatus,
    /// Session id, 32 lowercase hex digits.
    pub session: String,
    /// Its sequence number (acknowledge this seq to the player).
    pub seq: u32,
    /// Its room id.
    pub room: String,
    /// Whether it was the session's final summary.
    pub is_final: bool,
}

impl IngestOutcome {
    /// The outcome of `s` ingested as `i`.
    pub fn of(i: Ingested, s: &Summary<'_>) -> IngestOutcome {
        let hex = session_hex(&s.session_id);
        IngestOutcome {
            status: i.into(),
            session: String::from_utf8_lossy(&hex).into_owned(),
            seq: s.seq,
            room: s.room_id.to_owned(),
            is_final: s.is_final,
        }
    }
}

/// Rejections of one code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CodeCount {
    /// Stable rejection code (see `docs/summary-format.md`, "Rejections").
    pub code: String,
    /// How many.
    pub count: u64,
}

/// What a merger did, plus the size of its state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MergerStats {
    /// Summaries applied.
    pub applied: u64,
    /// Duplicates acknowledged and ignored (same session and seq as the newest applied).
    pub duplicates: u64,
    /// Older summaries acknowledged and ignored (already included in a newer one).
    pub superseded: u64,
    /// Rejections in total.
    pub rejected: u64,
    /// Rejections by code, sorted by code.
    pub rejected_by_code: Vec<CodeCount>,
    /// Sessions in the de-duplication ledger (open and finished).
    pub sessions: u64,
    /// Rooms with at least one applied summary.
    pub rooms: u64,
    /// Export rows (room × region × minute) kept; 0 when minute rows are off.
    pub minute_rows: u64,
    /// Applied summaries from a region beyond the room's region cap, merged into region
    /// `other`.
    pub region_overflow: u64,
    /// Applied summaries that would have opened a minute row beyond the room's row cap (in the
    /// room and region aggregates, in no export row).
    pub minute_overflow: u64,
}

impl MergerStats {
    /// The stats of `m`.
    pub fn of(m: &Merger) -> MergerStats {
        let s: &IngestStats = m.stats();
        MergerStats {
            applied: s.applied,
            duplicates: s.duplicates,
            superseded: s.superseded,
            rejected: s.rejected.values().sum(),
            rejected_by_code: s
                .rejected
                .iter()
                .map(|(c, n)| CodeCount {
                    code: (*c).to_owned(),
                    count: *n,
                })
                .collect(),
            sessions: m.ledger().sessions() as u64,
            rooms: m.rooms().len() as u64,
            minute_rows: m
                .rooms()
                .values()
                .flat_map(|r| r.minutes.values())
                .map(|mins| mins.len() as u64)
                .sum(),
            region_overflow: s.region_overflow,
            minute_overflow: s.minute_overflow,
        }
    }
}

/// One export row: what a collector merged for one room, region and minute. Counters are exact
/// sums (add them across rows); the sketches are the Apache DataSketches binary formats, base64
/// (standard alphabet, padded): `hll_viewers` an HLL_8 sketch (lg_k 12) of session ids hashed as
/// their 32-hex-digit UTF-8 text (union them), the `kll_*` columns `KllDoublesSketch`es (k 200;
/// merge them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportRow {
    /// Id of the collector that wrote the row (replace a collector's rows by its newer export).
    pub collector: String,
    /// Room id.
    pub room: String,
    /// Region as assigned by the collector.
    pub region: String,
    /// Start of the minute, ISO 8601 UTC (`2025-11-24T16:00:00Z`).
    pub minute: String,
    /// Start of the minute, ms since the epoch (client end time of the summaries, floored).
    pub minute_start_ms: u64,
    /// Sessions first seen by this collector in this minute.
    pub views: u64,
    /// Play attempts.
    pub attempts: u64,
    /// Started views with a known startup time.
    pub startup_measured: u64,
    /// Fast starts (≤ 1000 ms).
    pub fast_starts: u64,
    /// Slow starts (≥ 3000 ms).
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
    /// Σ watch time, ms.
    pub watch_ms: u64,
    /// Σ playing time, ms.
    pub playing_ms: u64,
    /// Σ stall time, ms.
    pub stall_ms: u64,
    /// Σ stalls.
    pub stall_count: u64,
    /// Σ frames presented.
    pub total_frames: u64,
    /// Σ frames dropped.
    pub dropped_frames: u64,
    /// Σ played kbit.
    pub played_kbit: u64,
    /// Σ latency samples' values, ms.
    pub latency_sum_ms: u64,
    /// Σ latency samples.
    pub latency_samples: u64,
    /// Σ hidden-tab time, ms.
    pub hidden_ms: u64,
    /// Σ paused time, ms.
    pub paused_ms: u64,
    /// Σ WebRTC-rule freezes.
    pub freeze_count: u64,
    /// Σ WebRTC-rule freeze time, ms.
    pub freeze_ms: u64,
    /// Σ Agora-rule freezes.
    pub freeze_500_count: u64,
    /// Σ Agora-rule freeze time, ms.
    pub freeze_500_ms: u64,
    /// Σ seeks.
    pub seek_count: u64,
    /// Σ errors.
    pub error_count: u64,
    /// Σ up-switches.
    pub bitrate_switch_up: u64,
    /// Σ down-switches.
    pub bitrate_switch_down: u64,
    /// Σ upscaled playing time, ms.
    pub upscale_ms: u64,
    /// Σ downscaled playing time, ms.
    pub downscale_ms: u64,
    /// Started views.
    pub started: u64,
    /// Views that exited before start.
    pub exit_before_start: u64,
    /// Views that failed before the first frame.
    pub startup_failure: u64,
    /// Views that failed after the first frame.
    pub playback_failure: u64,
    /// Sessions first reporting degraded capability in this row: no `requestVideoFrameCallback` (progress from `timeupdate`).
    #[serde(default)]
    pub degraded_no_frame_callbacks: u64,
    /// Sessions first reporting degraded capability in this row: no `getVideoPlaybackQuality()` (dropped frames not measured).
    #[serde(default)]
    pub degraded_no_playback_quality: u64,
    /// Sessions first reporting degraded capability in this row: no `navigator.sendBeacon`.
    #[serde(default)]
    pub degraded_no_beacon: u64,
    /// Sessions first reporting degraded capability in this row: `localStorage` missing or throwing.
    #[serde(default)]
    pub degraded_no_storage: u64,
    /// Sessions first reporting degraded capability in this row: the media element left the document.
    #[serde(default)]
    pub degraded_element_removed: u64,
    /// Sessions first reporting degraded capability in this row: a monitor callback threw (contained).
    #[serde(default)]
    pub degraded_fault: u64,
    /// Sessions first reporting degraded capability in this row: every time-sync probe failed (latency on the client clock).
    #[serde(default)]
    pub degraded_no_time_sync: u64,
    /// Sessions first reporting degraded capability in this row: `performance.now` patched by the page.
    #[serde(default)]
    pub degraded_clock_patched: u64,
    /// Sessions first reporting degraded capability in this row: no `ResizeObserver`.
    #[serde(default)]
    pub degraded_no_resize_observer: u64,
    /// This row's distinct viewers (HLL composite estimate; not additive across rows: union the
    /// sketches).
    pub distinct_viewers: f64,
    /// HLL_8 sketch (lg_k 12) of the sessions with an applied summary in this minute, base64.
    pub hll_viewers: String,
    /// KLL doubles sketch of per-view startup time, ms, base64.
    pub kll_startup_ms: String,
    /// KLL doubles sketch of per-view mean latency, ms, base64.
    pub kll_latency_ms: String,
    /// KLL doubles sketch of per-view stall ratio, base64.
    pub kll_stall_ratio: String,
    /// KLL doubles sketch of per-view watch time, ms, base64.
    pub kll_watch_ms: String,
}

/// The export rows of a merger kept with [`Merger::with_minute_rows`], sorted by room, region and
/// minute (empty otherwise). `collector` names the writer in each row.
pub fn export_rows(m: &Merger, collector: &str) -> Vec<ExportRow> {
    let mut names: Vec<&String> = m.rooms().keys().collect();
    names.sort();
    let mut out = Vec::new();
    for room in names {
        for (region, mins) in &m.rooms()[room].minutes {
            for (minute, a) in mins {
                out.push(ExportRow::build(collector, room, region, *minute, a));
            }
        }
    }
    out
}

/// The rows as NDJSON (one JSON object per line, each line ending in `\n`).
pub fn export_ndjson(rows: &[ExportRow]) -> String {
    let mut s = String::new();
    for r in rows {
        if let Ok(line) = serde_json::to_string(r) {
            s.push_str(&line);
            s.push('\n');
        }
    }
    s
}

/// Why export rows could not be merged: the 1-based line and the column at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line (row) number.
    pub line: usize,
    /// The column (or `row` for JSON errors).
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}: field `{}`: {}",
            self.line, self.field, self.message
        )
    }
}

impl std::error::Error for RowError {}

fn kll_column(line: usize, field: &'static str, b64: &str) -> Result<Kll, RowError> {
    let err = |message: String| RowError {
        line,
        field,
        message,
    };
    let bytes = base64_decode(b64).ok_or_else(|| err("not base64".into()))?;
    KllSketch::deserialize(&bytes).map_err(|e| err(format!("not a KLL doubles sketch: {e}")))
}

/// Merges export rows (of one or several collectors, any order) the way a downstream engine
/// does: counters summed, HLL sketches unioned, KLL sketches merged, per room and per room ×
/// region (over all minutes). Rooms sorted by id.
pub fn merge_rows(rows: &[ExportRow]) -> Result<Vec<RoomView>, RowError> {
    struct Acc {
        counters: Counters,
        hll: HllUnion,
        kll: [Kll; 4],
    }
    let new_acc = || Acc {
        counters: Counters::default(),
        hll: HllUnion::new(HLL_LG_K).expect("HLL_LG_K is within 4..=21"),
        kll: std::array::from_fn(|_| KllSketch::new(super::merge::KLL_K).expect("KLL_K")),
    };
    let mut rooms: BTreeMap<&str, (Acc, BTreeMap<&str, Acc>)> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        let line = i + 1;
        let hll_bytes = base64_decode(&r.hll_viewers).ok_or(RowError {
            line,
            field: "hll_viewers",
            message: "not base64".into(),
        })?;
        let hll = HllSketch::deserialize(&hll_bytes).map_err(|e| RowError {
            line,
            field: "hll_viewers",
            message: format!("not an HLL sketch: {e}"),
        })?;
        let klls = [
            kll_column(line, "kll_startup_ms", &r.kll_startup_ms)?,
            kll_column(line, "kll_latency_ms", &r.kll_latency_ms)?,
            kll_column(line, "kll_stall_ratio", &r.kll_stall_ratio)?,
            kll_column(line, "kll_watch_ms", &r.kll_watch_ms)?,
        ];
        let counters = r.counters();
        let (room, regions) = rooms
            .entry(r.room.as_str())
            .or_insert_with(|| (new_acc(), BTreeMap::new()));
        let region = regions.entry(r.region.as_str()).or_insert_with(new_acc);
        for acc in [room, region] {
            acc.counters.add(&counters);
            acc.hll.update(&hll);
            for (a, b) in acc.kll.iter_mut().zip(&klls) {
                a.merge(b).map_err(|e| RowError {
                    line,
                    field: "kll",
                    message: e.to_string(),
                })?;
            }
        }
    }
    let view = |acc: &Acc| {
        let a = Aggregate::from_parts(acc.counters, acc.hll.to_sketch(HLL_TYPE), acc.kll.clone());
        AggregateView::of(&a)
    };
    Ok(rooms
        .iter()
        .map(|(room, (total, regions))| RoomView {
            room: (*room).to_owned(),
            total: view(total),
            regions: regions
                .iter()
                .map(|(name, acc)| RegionView {
                    region: (*name).to_owned(),
                    aggregate: view(acc),
                })
                .collect(),
        })
        .collect())
}

/// Parses NDJSON export rows (blank lines skipped).
pub fn parse_rows(text: &str) -> Result<Vec<ExportRow>, RowError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        out.push(serde_json::from_str(line).map_err(|e| RowError {
            line: i + 1,
            field: "row",
            message: e.to_string(),
        })?);
    }
    Ok(out)
}

/// `YYYY-MM-DDTHH:MM:00Z` of a minute start, ms since the epoch (proleptic Gregorian, UTC).
pub fn iso_minute(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let sod = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 (RFC 4648, padded).
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= c.len() {
                s.push(B64[(n >> shift & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// Decodes standard base64 (padding optional; no whitespace). `None` when malformed.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=').as_bytes();
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &ch in s {
        let v = match ch {
            b'A'..=b'Z' => ch - b'A',
            b'a'..=b'z' => ch - b'a' + 26,
            b'0'..=b'9' => ch - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}
