//! `livekpi/console` collector bindings: a [`SummaryMerger`] that de-duplicates and merges the
//! viewers' binary summaries (written by `livekpi/player`) into room / region aggregates and
//! per-minute export rows, plus [`decode_summary`] (the JSON debug form) and [`merge_exports`]
//! (the downstream merge of many collectors' export rows). The JSON shapes are typed from
//! `src/summary/view.rs` by `scripts/gen-types.mjs`.

use wasm_bindgen::prelude::*;

use super::convert::to_js;
use super::error::js_error;
use crate::summary::{
    self, IngestError, IngestOutcome, Merger, MergerOptions, MergerStats, RoomView,
};

#[wasm_bindgen(typescript_custom_section)]
const TS_COLLECTOR_TYPES: &'static str = r#"
import type { IngestOutcome, RoomView, ExportRow, MergerStats } from './kpi-types.js';

/** Options of a SummaryMerger. */
export interface SummaryMergerOptions {
  /** Id of this collector, written in every export row. Default "collector". */
  collector?: string;
  /** Keep per-minute aggregates for exportRows / exportNdjson. Default true. */
  minuteRows?: boolean;
  /** Distinct regions kept per room; summaries from further regions are merged into region
   * "other" (stats().region_overflow). Integer ≥ 1, default 64. */
  maxRegionsPerRoom?: number;
  /** Minute rows (export rows) kept per room over all regions; a summary that would open a
   * further row is in the room / region aggregates only (stats().minute_overflow). Integer ≥ 1,
   * default 20000. */
  maxMinuteRowsPerRoom?: number;
  /** With a server time passed to ingest: a summary whose client end time is more than this
   * before it is rejected `out_of_window`. ms, default 93600000 (26 h). */
  windowPastMs?: number;
  /** With a server time passed to ingest: a summary whose client end time is more than this
   * after it is rejected `out_of_window`. ms, default 3600000 (1 h). */
  windowFutureMs?: number;
}

/** Wire names of the per-view counters of a summary. */
export type SummaryCounterName =
  | 'watch_ms' | 'playing_ms' | 'stall_ms' | 'stall_count' | 'total_frames' | 'dropped_frames'
  | 'played_kbit' | 'latency_sum_ms' | 'latency_samples' | 'hidden_ms' | 'paused_ms'
  | 'freeze_count' | 'freeze_ms' | 'freeze_500_count' | 'freeze_500_ms' | 'seek_count'
  | 'error_count' | 'bitrate_switch_up' | 'bitrate_switch_down' | 'upscale_ms' | 'downscale_ms'
  | 'started' | 'exit_before_start' | 'startup_failure' | 'playback_failure';

/** State fields of a summary (present when sent). */
export interface SummaryState {
  latency_ms?: number; live_edge_ms?: number; bitrate_kbps?: number; rtt_ms?: number;
  startup_ms?: number; load_to_first_frame_ms?: number; startup_flags?: number; failure_code?: number;
  /** OR of the player monitor's degraded-capability bits (names: degradedNames() of livekpi/player). */
  degraded?: number;
}

/** The JSON debug form of one binary summary (docs/summary-format.md). */
export interface SummaryJson {
  version: number;
  /** 32 lowercase hex digits. */
  session_id: string;
  room_id: string;
  seq: number;
  base_seq: number;
  start_ms: number;
  end_ms: number;
  span_ms: number;
  final: boolean;
  /** Non-zero counter deltas since base_seq, by wire name. */
  delta: Partial<Record<SummaryCounterName, number>>;
  state: SummaryState;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// `SummaryMergerOptions` (TS).
    #[wasm_bindgen(typescript_type = "SummaryMergerOptions")]
    pub type SummaryMergerOptionsJs;
    /// `IngestOutcome` (TS).
    #[wasm_bindgen(typescript_type = "IngestOutcome")]
    pub type IngestOutcomeJs;
    /// `RoomView` (TS).
    #[wasm_bindgen(typescript_type = "RoomView")]
    pub type RoomViewJs;
    /// `RoomView[]` (TS).
    #[wasm_bindgen(typescript_type = "RoomView[]")]
    pub type RoomViewArrayJs;
    /// `ExportRow[]` (TS).
    #[wasm_bindgen(typescript_type = "ExportRow[]")]
    pub type ExportRowArrayJs;
    /// `MergerStats` (TS).
    #[wasm_bindgen(typescript_type = "MergerStats")]
    pub type MergerStatsJs;
    /// `SummaryJson` (TS).
    #[wasm_bindgen(typescript_type = "SummaryJson")]
    pub type SummaryJsonJs;
}

/// A `LivekpiError` with `code`, `field` and a message naming the field.
fn field_error(code: &str, field: &str, what: &str, message: &str) -> JsValue {
    let err = js_error(
        code,
        &format!("{what}: {code}: {message} (field `{field}`)"),
    );
    let _ = js_sys::Reflect::set(&err, &JsValue::from_str("field"), &JsValue::from_str(field));
    err
}

fn ingest_error(e: &IngestError, what: &str) -> JsValue {
    field_error(e.code(), e.field(), what, e.message())
}

/// The default region when none is given.
const UNKNOWN_REGION: &str = "unknown";

/// Merges viewer summaries (binary, `livekpi/player`) into room and per-region aggregates,
/// de-duplicating by (session, seq): a retried or replayed summary counts once.
#[wasm_bindgen]
pub struct SummaryMerger {
    inner: Merger,
    collector: String,
}

#[wasm_bindgen]
impl SummaryMerger {
    /// A merger. `options.collector` names this collector in export rows (default
    /// `"collector"`); `options.minuteRows` (default true) keeps per-minute export rows;
    /// `maxRegionsPerRoom`, `maxMinuteRowsPerRoom`, `windowPastMs`, `windowFutureMs`: the memory
    /// caps and the time window (see `SummaryMergerOptions`). Throws `bad_option` naming a bad
    /// field.
    #[wasm_bindgen(constructor)]
    pub fn new(options: Option<SummaryMergerOptionsJs>) -> Result<SummaryMerger, JsValue> {
        let o: JsValue = options.map_or(JsValue::UNDEFINED, Into::into);
        let mut collector = "collector".to_owned();
        let mut opts = MergerOptions {
            minute_rows: true,
            ..MergerOptions::default()
        };
        if !o.is_undefined() && !o.is_null() {
            if !o.is_object() {
                return Err(js_error(
                    "bad_option",
                    "new SummaryMerger(options): options must be an object",
                ));
            }
            let c = js_sys::Reflect::get(&o, &JsValue::from_str("collector"))
                .unwrap_or(JsValue::UNDEFINED);
            if !c.is_undefined() {
                collector = c.as_string().filter(|s| !s.is_empty() && s.len() <= 128).ok_or_else(|| {
                    js_error(
                        "bad_option",
                        "new SummaryMerger(options): field `collector` must be a string of 1..=128 bytes",
                    )
                })?;
            }
            let m = js_sys::Reflect::get(&o, &JsValue::from_str("minuteRows"))
                .unwrap_or(JsValue::UNDEFINED);
            if !m.is_undefined() {
                opts.minute_rows = m.as_bool().ok_or_else(|| {
                    js_error(
                        "bad_option",
                        "new SummaryMerger(options): field `minuteRows` must be a boolean",
                    )
                })?;
            }
            let int = |name: &str, min: f64, max: f64| -> Result<Option<f64>, JsValue> {
                let v = js_sys::Reflect::get(&o, &JsValue::from_str(name))
                    .unwrap_or(JsValue::UNDEFINED);
                if v.is_undefined() {
                    return Ok(None);
                }
                v.as_f64()
                    .filter(|x| x.fract() == 0.0 && *x >= min && *x <= max)
                    .map(Some)
                    .ok_or_else(|| {
                        js_error(
                            "bad_option",
                            &format!(
                                "new SummaryMerger(options): field `{name}` must be an integer in {min}..={max}"
                            ),
                        )
                    })
            };
            const MAX_COUNT: f64 = 4_294_967_295.0;
            const MAX_MS: f64 = 8.64e15;
            if let Some(v) = int("maxRegionsPerRoom", 1.0, MAX_COUNT)? {
                opts.max_regions_per_room = v as usize;
            }
            if let Some(v) = int("maxMinuteRowsPerRoom", 1.0, MAX_COUNT)? {
                opts.max_minute_rows_per_room = v as usize;
            }
            if let Some(v) = int("windowPastMs", 0.0, MAX_MS)? {
                opts.window_past_ms = v as u64;
            }
            if let Some(v) = int("windowFutureMs", 0.0, MAX_MS)? {
                opts.window_future_ms = v as u64;
            }
        }
        Ok(SummaryMerger {
            inner: Merger::with_options(opts),
            collector,
        })
    }

    /// Decodes, de-duplicates and merges one summary received from `region` (default
    /// `"unknown"`, at most 64 bytes). When `room` is given, the summary's room id must equal it.
    /// When `now_ms` (the server's epoch ms at receipt) is given, a summary whose client end
    /// time is outside the options' window around it is rejected `out_of_window` (leave it out
    /// when replaying summaries accepted earlier). Returns what was done (`applied`,
    /// `duplicate` or `superseded`: acknowledge all three). Throws a `LivekpiError` with a
    /// stable `code` and `field` for a bad summary (counted in `stats()`; nothing else changes).
    pub fn ingest(
        &mut self,
        bytes: &[u8],
        region: Option<String>,
        room: Option<String>,
        now_ms: Option<f64>,
    ) -> Result<IngestOutcomeJs, JsValue> {
        let region = region.as_deref().unwrap_or(UNKNOWN_REGION);
        let now =
            match now_ms {
                None => None,
                Some(t) if t.is_finite() && (0.0..=8.64e15).contains(&t) => Some(t as u64),
                Some(_) => return Err(js_error(
                    "bad_argument",
                    "ingest(bytes, region, room, nowMs): `nowMs` must be epoch ms in 0..=8.64e15",
                )),
            };
        match self.inner.ingest_at(bytes, region, room.as_deref(), now) {
            Ok((i, s)) => to_js(&IngestOutcome::of(i, &s)),
            Err(e) => Err(ingest_error(&e, "ingest(bytes)")),
        }
    }

    /// The aggregates of one room (whole room and per region), or undefined when none of its
    /// summaries was applied.
    pub fn room(&self, room_id: &str) -> Result<Option<RoomViewJs>, JsValue> {
        self.inner
            .room(room_id)
            .map(|r| to_js(&RoomView::of(room_id, r)))
            .transpose()
    }

    /// Every room's aggregates, sorted by room id.
    pub fn rooms(&self) -> Result<RoomViewArrayJs, JsValue> {
        to_js(&summary::room_views(&self.inner))
    }

    /// The export rows: one per room × region × minute, counters and base64 DataSketches
    /// sketches (empty when `minuteRows` is off).
    #[wasm_bindgen(js_name = exportRows)]
    pub fn export_rows(&self) -> Result<ExportRowArrayJs, JsValue> {
        to_js(&summary::export_rows(&self.inner, &self.collector))
    }

    /// The export rows as NDJSON text (one row per line), as Spark / Druid / Pinot load it.
    #[wasm_bindgen(js_name = exportNdjson)]
    pub fn export_ndjson(&self) -> String {
        summary::export_ndjson(&summary::export_rows(&self.inner, &self.collector))
    }

    /// What was applied, ignored and rejected (by code), and the state's size.
    pub fn stats(&self) -> Result<MergerStatsJs, JsValue> {
        to_js(&MergerStats::of(&self.inner))
    }

    /// Counts a rejection decided outside the merger (e.g. an HTTP body over the size limit) under
    /// its code, so that `stats()` has every rejection. `code` must be a known rejection code.
    #[wasm_bindgen(js_name = countRejection)]
    pub fn count_rejection(&mut self, code: &str) -> Result<(), JsValue> {
        let known = summary::REJECTION_CODES
            .iter()
            .find(|&&c| c == code)
            .ok_or_else(|| {
                js_error(
                    "bad_argument",
                    &format!("countRejection(code): unknown rejection code `{code}`"),
                )
            })?;
        self.inner.count_rejection(known);
        Ok(())
    }
}

/// The JSON debug form of one binary summary. Throws a `LivekpiError` (stable `code`, `field`)
/// when the bytes are not a valid summary.
#[wasm_bindgen(js_name = decodeSummary)]
pub fn decode_summary(bytes: &[u8]) -> Result<SummaryJsonJs, JsValue> {
    let s = summary::decode(bytes)
        .map_err(|e| field_error(e.code(), e.field(), "decodeSummary(bytes)", e.message()))?;
    to_js(&s)
}

/// Merges export rows (NDJSON; rows of several collectors concatenated, any order) as a
/// downstream engine does: counters summed, HLL unioned, KLL merged, per room and region over all
/// minutes. Throws a `LivekpiError` (code `bad_row`) naming the line and column of a bad row.
#[wasm_bindgen(js_name = mergeExports)]
pub fn merge_exports(ndjson: &str) -> Result<RoomViewArrayJs, JsValue> {
    let rows = summary::parse_rows(ndjson)
        .map_err(|e| field_error("bad_row", e.field, "mergeExports(ndjson)", &e.to_string()))?;
    let rooms = summary::merge_rows(&rows)
        .map_err(|e| field_error("bad_row", e.field, "mergeExports(ndjson)", &e.to_string()))?;
    to_js(&rooms)
}
