//! Compact binary viewer summaries: written by `livekpi/player`, read and merged by
//! `livekpi/console` (browser or Node collector). The byte layout and the delivery / merge
//! protocol are specified in `docs/summary-format.md`.
//!
//! - [`SummaryWriter`] (player, `no_std`, no formatting): one per view; [`SummaryWriter::write`]
//!   appends the next summary for a [`crate::qoe::QoeMetrics`] snapshot, [`SummaryWriter::ack`]
//!   advances the base when the collector acknowledges a sequence number.
//! - [`decode`] (everywhere): strict validation, a [`DecodeError`] with a stable code naming the
//!   field; never panics.
//! - `Merger` / `Ledger` / `Aggregate` (console feature): de-duplication by (session, seq),
//!   exact counter sums, a DataSketches HLL of distinct viewers and KLL distributions, mergeable
//!   in any order.
//!
//! Delta scheme in one paragraph: a summary carries the view's cumulative counters minus those of
//! the last summary the collector acknowledged (`base_seq`; 0 = view start). Every summary written
//! since that ack is relative to the same base, so a newer one supersedes older unacknowledged
//! ones, and a collector that keeps, per session, the cumulative values at the summaries it
//! applied computes each increment as `cum(base) + delta − cum(newest applied)`. Duplicates and
//! older summaries add nothing; the final sums equal the cumulative values of the newest summary
//! received, whatever the arrival order.
#![forbid(unsafe_code)]

mod decode;
#[cfg(feature = "console")]
mod merge;
#[cfg(test)]
mod tests;
#[cfg(feature = "console")]
mod view;
mod wire;
mod writer;

pub use decode::{decode, DecodeError};
#[cfg(feature = "console")]
pub use merge::{
    session_coupon, session_hex, Aggregate, Applied, Counters, IdHashBuilder, IdHasher,
    IngestError, IngestStats, Ingested, Kll, Ledger, MergeError, Merger, MergerOptions, Rate,
    RoomAggregate, StartupOutcome, Verdict, ViewFinal, DEFAULT_MAX_MINUTE_ROWS_PER_ROOM,
    DEFAULT_MAX_REGIONS_PER_ROOM, DEFAULT_WINDOW_FUTURE_MS, DEFAULT_WINDOW_PAST_MS, FAST_START_MS,
    HLL_LG_K, HLL_TYPE, KLL_K, LEDGER_WINDOW, MAX_REGION_BYTES, MINUTE_MS, OTHER_REGION,
    REJECTION_CODES, SLOW_START_MS,
};
#[cfg(feature = "console")]
pub use view::{
    base64_decode, base64_encode, export_ndjson, export_rows, iso_minute, merge_rows, parse_rows,
    room_views, AggregateView, CodeCount, CounterSums, Distributions, ExportRow, IngestOutcome,
    IngestStatus, MergerStats, Quantiles, RateView, Rates, RegionView, RoomView, RowError,
    FLAT_COUNTERS,
};
pub use wire::{
    encode, Counter, State, Summary, Totals, ALL_COUNTERS, COUNTERS, COUNTER_NAMES,
    DEGRADED_REASONS, FLAG_FINAL, MAGIC, MAX_MESSAGE_BYTES, MAX_ROOM_ID_BYTES, MAX_SPAN_MS,
    MAX_TIME_MS, STARTUP_AUTOPLAY_BLOCKED, STARTUP_HIDDEN, STARTUP_PRELOADED, VERSION, WIRE_BYTES,
    WIRE_FIXED32, WIRE_FIXED64, WIRE_VARINT,
};
pub use writer::{state_from_metrics, totals_from_metrics, SummaryWriter, UNACKED_MEMORY};

#[cfg(feature = "console")]
impl serde::Serialize for Summary<'_> {
    /// The JSON debug form: `{"version":1,"session_id":"<32 hex>","room_id":…,"seq":…,
    /// "base_seq":…,"start_ms":…,"end_ms":…,"span_ms":…,"final":…,"delta":{<non-zero counters by
    /// wire name>},"state":{<present state fields>}}`.
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        struct Delta<'a>(&'a Totals);
        impl serde::Serialize for Delta<'_> {
            fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
                let mut m = ser.serialize_map(None)?;
                for (i, name) in COUNTER_NAMES.iter().enumerate() {
                    if self.0.values[i] != 0 {
                        m.serialize_entry(name, &self.0.values[i])?;
                    }
                }
                m.end()
            }
        }
        struct St<'a>(&'a State);
        impl serde::Serialize for St<'_> {
            fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
                let s = self.0;
                let mut m = ser.serialize_map(None)?;
                if let Some(v) = s.latency_ms {
                    m.serialize_entry("latency_ms", &v)?;
                }
                for (k, v) in [
                    ("live_edge_ms", s.live_edge_ms),
                    ("bitrate_kbps", s.bitrate_kbps),
                    ("rtt_ms", s.rtt_ms),
                    ("startup_ms", s.startup_ms),
                    ("load_to_first_frame_ms", s.load_to_first_frame_ms),
                    ("startup_flags", s.startup_flags.map(u64::from)),
                    ("failure_code", s.failure_code.map(u64::from)),
                    ("degraded", s.degraded.map(u64::from)),
                ] {
                    if let Some(v) = v {
                        m.serialize_entry(k, &v)?;
                    }
                }
                m.end()
            }
        }
        let hex = session_hex(&self.session_id);
        let hex = core::str::from_utf8(&hex).unwrap_or("");
        let mut m = ser.serialize_map(Some(11))?;
        m.serialize_entry("version", &VERSION)?;
        m.serialize_entry("session_id", hex)?;
        m.serialize_entry("room_id", self.room_id)?;
        m.serialize_entry("seq", &self.seq)?;
        m.serialize_entry("base_seq", &self.base_seq)?;
        m.serialize_entry("start_ms", &self.start_ms)?;
        m.serialize_entry("end_ms", &self.end_ms())?;
        m.serialize_entry("span_ms", &self.span_ms)?;
        m.serialize_entry("final", &self.is_final)?;
        m.serialize_entry("delta", &Delta(&self.delta))?;
        m.serialize_entry("state", &St(&self.state))?;
        m.end()
    }
}

/// The JSON debug form of a summary (see its `Serialize` impl).
#[cfg(feature = "console")]
pub fn to_json(s: &Summary<'_>) -> String {
    serde_json::to_string(s).unwrap_or_default()
}
