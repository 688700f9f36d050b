//! `livekpi/console` bindings (browser, Web Worker and Node): a [`Room`] fed with live-room
//! events (JS objects, NDJSON text or typed-array columns) that gives KPI snapshots as plain JS
//! objects or JSON. The JSON shapes are typed by declarations generated from the core's structs
//! (`scripts/gen-types.mjs` → `kpi-types.d.ts`).

use js_sys::{Array, Float64Array, Reflect, Uint32Array, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::convert::to_js;
use super::error::js_error;
use crate::insight::{
    self, Alert, AlertEngine, AlertEngineConfig, ForecastConfig, PastStream, QoeMinute,
    StreamMinute,
};
use crate::kpi::{self, Columns, IngestReport, RoomConfig};
use crate::sentiment;
use crate::tape::Tape;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
import type { Snapshot, IngestReport, IngestStats, Comparison, Alert, Forecast, Sentiment, MinutePoint, TopTerms } from './kpi-types.js';
export type * from './kpi-types.js';

/** Options of a Room. Times are ms since the epoch; durations ms. */
export interface RoomOptions {
  /** Stream start (ms since epoch): minute 0 starts here. Required. */
  streamStartMs: number;
  /** Stream end, when known in advance (else call endStream). Once the end is known, sessions and
   * minutes older than the lateness window + session timeout are retired, so memory follows the
   * live audience (docs/kpi-engine.md); with no end the room keeps every session. */
  streamEndMs?: number;
  /** Events older than the highest accepted time minus this are rejected as too_late. Default 300000.
   * A session silent longer than this + sessionTimeoutMs is final: a later event with its id opens a new session. */
  latenessMs?: number;
  /** A session without a leave closes at its last heartbeat (or enter) + this. Default 60000. */
  sessionTimeoutMs?: number;
  /** Opening segment length. Default 30 min. */
  openingMs?: number;
  /** Closing segment length. Default 30 min. */
  closingMs?: number;
  /** Number of behaviour paths in a snapshot. Default 10. */
  topPaths?: number;
  /** Largest lag (minutes) tried by the lagged correlations. Default 10. */
  maxLagMinutes?: number;
  /**
   * Memory caps: an event that would pass one is rejected with reason `cap_exceeded` naming the
   * field (counted in `stats()`); the rest of its batch is kept. This one: distinct viewer ids
   * (default 2,000,000).
   */
  maxViewers?: number;
  /** Distinct session ids (default 4,000,000). */
  maxSessions?: number;
  /** Distinct product ids (default 100,000). */
  maxProducts?: number;
  /** Distinct order ids (default 4,000,000). */
  maxOrders?: number;
  /** Distinct regions, tiers, sources, vote options and co-host ids together (default 100,000). */
  maxLabels?: number;
  /** Longest id or label in UTF-8 bytes (default 256). */
  maxStringBytes?: number;
  /** Longest comment text in UTF-8 bytes (default 65,536). */
  maxTextBytes?: number;
  /** Event ids remembered for de-duplication inside the lateness window (default 4,000,000). */
  maxSeenIds?: number;
  /** Minute rows tracked and shown; also bounds the snapshot horizon (default 4,320 = 72 h). */
  maxMinutes?: number;
}

/** One live-room event as a plain object (see the event schema in the README). */
export interface LiveEvent {
  id: string | number;
  ts: number;
  kind: string;
  viewer?: string | number; session?: string | number; product?: string | number; order?: string | number;
  amount?: number; units?: number; count?: number; text?: string; option?: string | number; cohost?: string | number;
  region?: string; tier?: string; source?: string; follower_since_ms?: number; seen_before?: boolean;
}

/**
 * One region's player QoE over one stream minute, for `Room.pushQoe` (e.g. summed from the
 * collector's export rows of that region and minute). Null = not measured in that minute.
 */
export interface QoeMinuteInput {
  /** Region name (as the collector groups viewers). */
  region: string;
  /** Minute index from the stream start (0 = the first minute). */
  minute: number;
  /** 卡顿率: stall time / playing time in the minute (0.02 = 2 %). */
  stallRate?: number | null;
  /** Live latency of the minute in ms (median or mean over its viewers). */
  latencyMs?: number | null;
}

/** Called once for each alert as it is raised (by `snapshot()` or `pushQoe()`). */
export type AlertCallback = (alert: Alert) => void;

/** A comment for the sentiment series: its minute from the stream start and its text. */
export interface TimedComment { minute: number; text: string }

/** Parameters of the seeded room generator (all optional but the seed). */
export interface GeneratorOptions {
  seed: number;
  streamStartMs?: number; durationMin?: number; arrivals?: number; products?: number;
  duplicateRate?: number; lateRate?: number; latenessMs?: number; tooLateRate?: number; conflictRate?: number;
}

/** A columnar batch: one typed array per field, strings as indexes into `strings` (0xFFFFFFFF = absent). */
export interface EventColumns {
  kind: Uint8Array; ts: Float64Array;
  id?: Float64Array; idRef?: Uint32Array;
  viewer?: Uint32Array; session?: Uint32Array; product?: Uint32Array; order?: Uint32Array;
  amount?: Float64Array; units?: Float64Array; count?: Float64Array;
  text?: Uint32Array; option?: Uint32Array; cohost?: Uint32Array;
  region?: Uint32Array; tier?: Uint32Array; source?: Uint32Array;
  followerSinceMs?: Float64Array; seenBefore?: Uint8Array;
  strings: string[];
}
"#;

#[wasm_bindgen]
extern "C" {
    /// `RoomOptions` (TS).
    #[wasm_bindgen(typescript_type = "RoomOptions")]
    pub type RoomOptionsJs;
    /// `LiveEvent[]` (TS).
    #[wasm_bindgen(typescript_type = "LiveEvent[]")]
    pub type LiveEventArray;
    /// `EventColumns` (TS).
    #[wasm_bindgen(typescript_type = "EventColumns")]
    pub type EventColumnsJs;
    /// `Snapshot` (TS).
    #[wasm_bindgen(typescript_type = "Snapshot")]
    pub type SnapshotJs;
    /// `IngestReport` (TS).
    #[wasm_bindgen(typescript_type = "IngestReport")]
    pub type IngestReportJs;
    /// `IngestStats` (TS).
    #[wasm_bindgen(typescript_type = "IngestStats")]
    pub type IngestStatsJs;
    /// `Alert[]` (TS).
    #[wasm_bindgen(typescript_type = "Alert[]")]
    pub type AlertArrayJs;
    /// `QoeMinuteInput[]` (TS).
    #[wasm_bindgen(typescript_type = "QoeMinuteInput[]")]
    pub type QoeMinuteArrayJs;
    /// `AlertCallback | null` (TS).
    #[wasm_bindgen(typescript_type = "AlertCallback | null")]
    pub type AlertCallbackJs;
    /// `Forecast` (TS).
    #[wasm_bindgen(typescript_type = "Forecast")]
    pub type ForecastJs;
    /// `number[][]` (TS): past streams' per-minute GMV in fen.
    #[wasm_bindgen(typescript_type = "number[][]")]
    pub type GmvHistoryJs;
    /// `Sentiment` (TS).
    #[wasm_bindgen(typescript_type = "Sentiment")]
    pub type SentimentJs;
    /// `TimedComment[]` (TS).
    #[wasm_bindgen(typescript_type = "TimedComment[]")]
    pub type TimedCommentArrayJs;
    /// `MinutePoint[]` (TS).
    #[wasm_bindgen(typescript_type = "MinutePoint[]")]
    pub type MinutePointArrayJs;
    /// `TopTerms` (TS).
    #[wasm_bindgen(typescript_type = "TopTerms")]
    pub type TopTermsJs;
    /// `GeneratorOptions` (TS).
    #[wasm_bindgen(typescript_type = "GeneratorOptions")]
    pub type GeneratorOptionsJs;
    /// `Comparison` (TS).
    #[wasm_bindgen(typescript_type = "Comparison")]
    pub type ComparisonJs;
}

/// Reads an optional finite number property; absent or undefined → None; anything else is an
/// error naming the field.
fn opt_number(obj: &JsValue, field: &str, whole: &str) -> Result<Option<f64>, JsValue> {
    let v = Reflect::get(obj, &JsValue::from_str(field)).unwrap_or(JsValue::UNDEFINED);
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    match v.as_f64() {
        Some(x) if x.abs() <= MAX_TIME_MS => Ok(Some(x)),
        _ => Err(js_error(
            "bad_option",
            &format!(
                "{whole}: field `{field}` must be a finite number within ±8.64e15 (the JS Date range)"
            ),
        )),
    }
}

/// Largest time (ms since epoch, either sign) or option accepted: the JS `Date` range, 10^8 days.
/// Far enough below 2^53 that the stream's derived times (start + 72 h + slack) stay safe
/// integers in a snapshot.
const MAX_TIME_MS: f64 = 8.64e15;

/// Reads an optional time (ms) or duration as a whole i64.
fn opt_ms(obj: &JsValue, field: &str, whole: &str) -> Result<Option<i64>, JsValue> {
    Ok(opt_number(obj, field, whole)?.map(|x| x.round() as i64))
}

/// Parses `RoomOptions` into the core's config, naming any bad field.
fn room_config(options: &JsValue) -> Result<RoomConfig, JsValue> {
    const WHERE: &str = "new Room(options)";
    if !options.is_object() {
        return Err(js_error(
            "bad_option",
            "new Room(options): options must be an object with `streamStartMs`",
        ));
    }
    let start = opt_ms(options, "streamStartMs", WHERE)?.ok_or_else(|| {
        js_error(
            "bad_option",
            "new Room(options): field `streamStartMs` is required (ms since epoch)",
        )
    })?;
    let mut cfg = RoomConfig::new(start);
    cfg.stream_end_ms = opt_ms(options, "streamEndMs", WHERE)?;
    let non_negative = |field: &str, v: Option<i64>| -> Result<Option<i64>, JsValue> {
        match v {
            Some(x) if x < 0 => Err(js_error(
                "bad_option",
                &format!("{WHERE}: field `{field}` must not be negative"),
            )),
            other => Ok(other),
        }
    };
    if let Some(end) = cfg.stream_end_ms {
        if end < start {
            return Err(js_error(
                "bad_option",
                "new Room(options): field `streamEndMs` is before `streamStartMs`",
            ));
        }
    }
    if let Some(v) = non_negative("latenessMs", opt_ms(options, "latenessMs", WHERE)?)? {
        cfg.lateness_ms = v;
    }
    if let Some(v) = non_negative(
        "sessionTimeoutMs",
        opt_ms(options, "sessionTimeoutMs", WHERE)?,
    )? {
        cfg.session_timeout_ms = v;
    }
    if let Some(v) = non_negative("openingMs", opt_ms(options, "openingMs", WHERE)?)? {
        cfg.opening_ms = v;
    }
    if let Some(v) = non_negative("closingMs", opt_ms(options, "closingMs", WHERE)?)? {
        cfg.closing_ms = v;
    }
    if let Some(v) = non_negative("topPaths", opt_ms(options, "topPaths", WHERE)?)? {
        cfg.top_paths = v.min(1000) as usize;
    }
    if let Some(v) = non_negative("maxLagMinutes", opt_ms(options, "maxLagMinutes", WHERE)?)? {
        cfg.max_lag_minutes = v.min(240) as usize;
    }
    let caps = &mut cfg.caps;
    for (field, slot) in [
        ("maxViewers", &mut caps.viewers),
        ("maxSessions", &mut caps.sessions),
        ("maxProducts", &mut caps.products),
        ("maxOrders", &mut caps.orders),
        ("maxLabels", &mut caps.labels),
        ("maxStringBytes", &mut caps.string_bytes),
        ("maxTextBytes", &mut caps.text_bytes),
        ("maxSeenIds", &mut caps.seen_ids),
        ("maxMinutes", &mut caps.minutes),
    ] {
        if let Some(v) = non_negative(field, opt_ms(options, field, WHERE)?)? {
            *slot = usize::try_from(v).unwrap_or(usize::MAX);
        }
    }
    Ok(cfg)
}

/// A time argument in ms as the core's i64, naming the argument when it is not finite or beyond
/// the JS `Date` range ([`MAX_TIME_MS`]).
fn time_arg(x: f64, what: &str) -> Result<i64, JsValue> {
    if x.abs() <= MAX_TIME_MS {
        Ok(x.round() as i64)
    } else {
        Err(js_error(
            "bad_argument",
            &format!(
                "{what} must be a finite number of ms since epoch within ±8.64e15 (the JS Date range)"
            ),
        ))
    }
}

/// Reads event objects of `ingest(events)` into the JSON values the core decodes, safely against
/// hostile objects: every JS call that can run user code (a getter, a Proxy trap, a `Map`
/// subclass) goes through a catching binding (`Reflect.get`, `Reflect.ownKeys`,
/// `Function.prototype.call`), so no JS exception unwinds through wasm (which would leave the
/// Room borrowed for good); only the fields of [`kpi::Event::JSON_FIELDS`] are read, one level
/// deep (a nested object or array becomes an empty one, which the core rejects `wrong_type` as
/// any object in a known field), so cycles and deep nesting are never walked and cannot
/// overflow the wasm stack.
struct EventReader {
    /// `Array.isArray`.
    is_array: js_sys::Function,
    /// `Map.prototype.get`.
    map_get: js_sys::Function,
    /// `Object.entries` (one catching call runs every getter of a plain object at once).
    entries: js_sys::Function,
}

impl EventReader {
    fn new() -> Result<EventReader, JsValue> {
        let get = |o: &JsValue, k: &str| -> Result<js_sys::Function, JsValue> {
            Reflect::get(o, &JsValue::from_str(k))?.dyn_into::<js_sys::Function>()
        };
        let fail = |_| {
            js_error(
                "internal",
                "ingest(events): Array.isArray / Map.prototype.get",
            )
        };
        Ok(EventReader {
            is_array: get(&Array::new().constructor(), "isArray").map_err(fail)?,
            map_get: get(&js_sys::Map::new(), "get").map_err(fail)?,
            entries: get(&js_sys::Object::new().constructor(), "entries").map_err(fail)?,
        })
    }

    /// One element: its JSON value, or the error naming the field that could not be read (a
    /// throwing getter → `wrong_type`, NaN / ±Infinity → `not_finite`, in the core's check
    /// order) or `not_an_object` when even its keys cannot be listed.
    fn read(&self, item: &JsValue) -> Result<serde_json::Value, kpi::IngestError> {
        use kpi::{ErrorReason, Event, IngestError};
        use serde_json::Value;
        let not_object = IngestError::new("", ErrorReason::NotAnObject);
        if !item.is_object() {
            return Ok(Value::Null); // not_an_object in the core
        }
        if self
            .is_array
            .call1(&JsValue::NULL, item)
            .map_err(|_| not_object)?
            .is_truthy()
        {
            return Ok(Value::Array(Vec::new())); // not_an_object in the core
        }
        let mut o = serde_json::Map::new();
        let mut bad: Option<(&'static str, ErrorReason)> = None;
        let mut put = |f: &'static str, v: Result<JsValue, JsValue>| match v {
            Err(_) => bad = bad.or(Some((f, ErrorReason::WrongType))),
            Ok(v) if v.is_undefined() => {}
            Ok(v) => match self.scalar(&v) {
                Some(j) => {
                    o.insert(f.to_owned(), j);
                }
                None => bad = bad.or(Some((f, ErrorReason::NotFinite))),
            },
        };
        if item.is_instance_of::<js_sys::Map>() {
            for f in Event::JSON_FIELDS {
                put(f, self.map_get.call1(item, &JsValue::from_str(f)));
            }
        } else if let Ok(e) = self.entries.call1(&JsValue::UNDEFINED, item) {
            // the usual case: own enumerable string keys (inherited fields are not read), every
            // getter already run; the pairs are plain arrays, reading them cannot throw
            let e: Array = e.unchecked_into();
            for i in 0..e.length() {
                let pair: Array = e.get(i).unchecked_into();
                let Some(name) = pair.get(0).as_string() else {
                    continue;
                };
                if let Some(f) = Event::JSON_FIELDS.iter().find(|f| **f == name) {
                    put(f, Ok(pair.get(1)));
                }
            }
        } else {
            // a getter or a Proxy trap threw: read the known fields one at a time (a throw on an
            // unknown field is ignored like the field)
            let keys = Reflect::own_keys(item).map_err(|_| not_object)?;
            for i in 0..keys.length() {
                let k = keys.get(i);
                let Some(name) = k.as_string() else { continue };
                if let Some(f) = Event::JSON_FIELDS.iter().find(|f| **f == name) {
                    put(f, Reflect::get(item, &k));
                }
            }
        }
        match bad {
            // the first problem in the core's order: a field checked before the bad one, or it
            Some(b) => Err(Event::first_error(&o, b)),
            None => Ok(Value::Object(o)),
        }
    }

    /// The JSON value of one field value, without walking into it: `None` for NaN / ±Infinity. A
    /// BigInt is its integer (beyond 64 bits: ±1.8e308, out of every range); a nested object or
    /// array becomes an empty one, a Symbol or function an empty object (both `wrong_type` in the
    /// core).
    fn scalar(&self, v: &JsValue) -> Option<serde_json::Value> {
        use serde_json::Value;
        if let Some(x) = v.as_f64() {
            if !x.is_finite() {
                return None;
            }
            return Some(
                if x.fract() == 0.0 && x.abs() <= kpi::event::MAX_SAFE as f64 {
                    Value::from(x as i64)
                } else {
                    Value::from(x)
                },
            );
        }
        if let Some(s) = v.as_string() {
            return Some(Value::String(s));
        }
        if v.is_null() {
            return Some(Value::Null);
        }
        if let Some(b) = v.as_bool() {
            return Some(Value::Bool(b));
        }
        if v.is_bigint() {
            return Some(match (i64::try_from(v.clone()), u64::try_from(v.clone())) {
                (Ok(i), _) => Value::from(i),
                (_, Ok(u)) => Value::from(u),
                _ if v.lt(&JsValue::from(0)) => Value::from(-f64::MAX),
                _ => Value::from(f64::MAX),
            });
        }
        let array = v.is_object()
            && self
                .is_array
                .call1(&JsValue::NULL, v)
                .is_ok_and(|a| a.is_truthy());
        if array {
            return Some(Value::Array(Vec::new()));
        }
        Some(Value::Object(serde_json::Map::new()))
    }
}

/// One column of a columnar batch: absent → empty; present → copied out of its typed array.
fn column<T: JsCast>(cols: &JsValue, field: &str) -> Result<Option<T>, JsValue> {
    let v = Reflect::get(cols, &JsValue::from_str(field)).unwrap_or(JsValue::UNDEFINED);
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    v.dyn_into::<T>().map(Some).map_err(|_| {
        js_error(
            "bad_column",
            &format!("ingestColumns: field `{field}` has the wrong typed-array type"),
        )
    })
}

fn f64_col(cols: &JsValue, field: &str) -> Result<Vec<f64>, JsValue> {
    Ok(column::<Float64Array>(cols, field)?.map_or_else(Vec::new, |a| a.to_vec()))
}
fn u32_col(cols: &JsValue, field: &str) -> Result<Vec<u32>, JsValue> {
    Ok(column::<Uint32Array>(cols, field)?.map_or_else(Vec::new, |a| a.to_vec()))
}
fn u8_col(cols: &JsValue, field: &str) -> Result<Vec<u8>, JsValue> {
    Ok(column::<Uint8Array>(cols, field)?.map_or_else(Vec::new, |a| a.to_vec()))
}

#[wasm_bindgen(module = "/src/web/strings.js")]
extern "C" {
    /// The entries' text back to back as UTF-8 (their UTF-16 lengths into `lengths`), or
    /// undefined when one is not a string.
    #[wasm_bindgen(js_name = packStrings)]
    fn pack_strings(strings: &Array, lengths: &mut [u32]) -> Option<Uint8Array>;
}

/// A batch's string table as it crossed: one UTF-8 text and each entry's end byte offset, or
/// (when that cannot be used) one string per entry.
enum BatchStrings {
    Packed { text: String, ends: Vec<u32> },
    List(Vec<String>),
}

impl BatchStrings {
    fn from_js(strings: &Array) -> Result<BatchStrings, JsValue> {
        let mut ends = vec![0u32; strings.length() as usize];
        let text =
            pack_strings(strings, &mut ends).and_then(|b| String::from_utf8(b.to_vec()).ok());
        if let Some(text) = text {
            if to_byte_ends(&text, &mut ends) {
                return Ok(BatchStrings::Packed { text, ends });
            }
        }
        let mut out = Vec::with_capacity(strings.length() as usize);
        for s in strings.iter() {
            out.push(s.as_string().ok_or_else(|| {
                js_error(
                    "bad_column",
                    "ingestColumns: field `strings` must hold only strings",
                )
            })?);
        }
        Ok(BatchStrings::List(out))
    }

    fn table(&self) -> kpi::StringTable<'_> {
        match self {
            BatchStrings::Packed { text, ends } => kpi::StringTable::Packed { text, ends },
            BatchStrings::List(list) => kpi::StringTable::List(list),
        }
    }
}

/// Turns the entries' UTF-16 lengths into end byte offsets in `text` (a lone surrogate crossed
/// as U+FFFD: one unit, as counted); false when they do not add up, as when an entry ending in
/// a lone high surrogate and the next starting with a low one made one character in the text
/// (the entries then cross one by one).
fn to_byte_ends(text: &str, ends: &mut [u32]) -> bool {
    let mut end = 0usize;
    if text.len() == ends.iter().map(|&n| n as usize).sum::<usize>() {
        // ASCII: one byte per unit
        for e in ends.iter_mut() {
            end += *e as usize;
            *e = end as u32;
        }
        return true;
    }
    let mut chars = text.chars();
    for e in ends.iter_mut() {
        let mut units = *e as usize;
        while units > 0 {
            let Some(c) = chars.next() else {
                return false;
            };
            let n = c.len_utf16();
            if n > units {
                return false;
            }
            units -= n;
            end += c.len_utf8();
        }
        *e = end as u32;
    }
    chars.next().is_none()
}

#[wasm_bindgen(module = "/src/web/tape.js")]
extern "C" {
    /// A reader of the snapshot tape with nothing sent yet.
    #[wasm_bindgen(js_name = newTapeReader)]
    fn new_tape_reader() -> JsValue;
    /// Reads a tape (numbers viewed in wasm memory, and its text) into plain objects.
    #[wasm_bindgen(js_name = readTape, catch)]
    fn read_tape(reader: &JsValue, nums: &Float64Array, text: &str) -> Result<JsValue, JsValue>;
}

/// Writes snapshots for the room's JS tape reader ([`crate::tape`]): the snapshot crosses the
/// boundary once, and rows of `scene.minutes` and `goods` that did not change since the last
/// snapshot are not sent again (the reader hands out the frozen objects it made then).
struct SnapshotWriter {
    tape: Tape,
    reader: JsValue,
    /// Minute rows as last sent, by slot (= minute index).
    minutes: Vec<kpi::MinuteRow>,
    /// Product rows as last sent, with their slot, by product id.
    goods: std::collections::HashMap<String, (usize, kpi::ProductRow)>,
}

impl SnapshotWriter {
    fn new() -> SnapshotWriter {
        SnapshotWriter {
            tape: Tape::new(),
            reader: new_tape_reader(),
            minutes: Vec::new(),
            goods: std::collections::HashMap::new(),
        }
    }

    /// The snapshot as a plain object. After any failure the writer and its reader start over
    /// (everything is sent again next time).
    fn write(&mut self, snap: kpi::Snapshot) -> Result<JsValue, JsValue> {
        let out = self.try_write(snap);
        if out.is_err() {
            *self = SnapshotWriter::new();
        }
        out
    }

    fn try_write(&mut self, mut snap: kpi::Snapshot) -> Result<JsValue, JsValue> {
        let minutes = std::mem::take(&mut snap.scene.minutes);
        let goods = std::mem::take(&mut snap.goods);
        let err = |e: crate::tape::TapeError| js_error("serialize", &e.to_string());
        let t = &mut self.tape;
        t.begin();
        t.value(&snap).map_err(err)?;
        t.begin_rows(&["scene", "minutes"], minutes.len());
        for (slot, row) in minutes.iter().enumerate() {
            match self.minutes.get(slot) {
                Some(old) if old == row => t.reused_row(slot),
                _ => t.new_row(slot, row).map_err(err)?,
            }
        }
        t.begin_rows(&["goods"], goods.len());
        for row in &goods {
            match self.goods.get_mut(&row.product) {
                Some((slot, old)) if old == row => t.reused_row(*slot),
                Some((slot, old)) => {
                    t.new_row(*slot, row).map_err(err)?;
                    *old = row.clone();
                }
                None => {
                    let slot = self.goods.len();
                    t.new_row(slot, row).map_err(err)?;
                    self.goods.insert(row.product.clone(), (slot, row.clone()));
                }
            }
        }
        t.finish();
        // The reader only reads the tape (no call into wasm), so the view stays valid.
        let nums = unsafe { Float64Array::view(&t.nums) };
        let obj = read_tape(&self.reader, &nums, &t.text)?;
        self.minutes = minutes;
        Ok(obj)
    }
}

/// Alerts kept by a room (the newest; older ones drop off).
const MAX_ALERTS: usize = 500;

/// A live-commerce room: ingest its events, take KPI snapshots at any moment.
#[wasm_bindgen]
pub struct Room {
    inner: kpi::Room,
    alerts: AlertEngine,
    alert_log: Vec<Alert>,
    on_alert: Option<js_sys::Function>,
    snapshots: SnapshotWriter,
}

/// Feeds a throwaway 4-hour room three events and takes two snapshots at its end, once per
/// module instance (the first `Room` constructed). The engine compiles wasm lazily, function by
/// function, on first call: without this the first snapshot of a dashboard costs 5–8 ms of
/// compiling (measured in Chromium, 10⁶-event stream), later ones under 1 ms. Priming costs
/// 10–35 ms, once, when the first room is made (`node benches/console-throughput.mjs` reports
/// it as `construct` and counts it in the throughput).
fn prime_snapshot_path() {
    thread_local! {
        static PRIMED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if PRIMED.with(|p| p.replace(true)) {
        return;
    }
    // a 4-hour stream: 240 minute rows at its end, as a dashboard's stream has
    const END_MS: i64 = 4 * 3_600_000;
    let mut room = Room::with_config(RoomConfig::new(0).with_end(END_MS));
    // a viewer enters, clicks a product and pays for it (rows, goods and paths get filled)
    let strings = ["v", "s", "p", "o", "r"].map(String::from);
    let no = u32::MAX;
    room.inner.ingest_columns(&Columns {
        kind: &[
            kpi::EventType::Enter.code(),
            kpi::EventType::ProductClick.code(),
            kpi::EventType::OrderPaid.code(),
        ],
        ts: &[1_000.0, 2_000.0, 61_000.0],
        id: &[1.0, 2.0, 3.0],
        viewer: &[0, 0, 0],
        session: &[1, no, no],
        product: &[no, 2, 2],
        order: &[no, no, 3],
        region: &[4, no, no],
        amount: &[f64::NAN, f64::NAN, 100.0],
        strings: kpi::StringTable::List(&strings),
        ..Columns::default()
    });
    let _ = room.snapshot(END_MS as f64);
    let _ = room.snapshot(END_MS as f64);
}

impl Room {
    fn with_config(config: RoomConfig) -> Room {
        Room {
            inner: kpi::Room::new(config),
            alerts: AlertEngine::new(AlertEngineConfig::default()),
            alert_log: Vec::new(),
            on_alert: None,
            snapshots: SnapshotWriter::new(),
        }
    }

    /// The core room (for the other console bindings).
    pub(crate) fn core(&self) -> &kpi::Room {
        &self.inner
    }

    /// Keeps newly raised alerts (the log holds the newest `MAX_ALERTS`) and hands each to the
    /// `onAlert` callback; a throwing callback is reported, never propagated.
    fn raise(&mut self, raised: Vec<Alert>) -> Result<(), JsValue> {
        if let Some(callback) = self.on_alert.clone() {
            for alert in &raised {
                let value: JsValue = to_js(alert)?;
                if let Err(e) = callback.call1(&JsValue::NULL, &value) {
                    report_error(&e);
                }
            }
        }
        self.alert_log.extend(raised);
        if self.alert_log.len() > MAX_ALERTS {
            let extra = self.alert_log.len() - MAX_ALERTS;
            self.alert_log.drain(..extra);
        }
        Ok(())
    }
}

#[wasm_bindgen]
impl Room {
    /// A room for a stream starting at `options.streamStartMs`. Throws `LivekpiError` (code
    /// `bad_option`) naming the field when an option is missing or invalid.
    #[wasm_bindgen(constructor)]
    pub fn new(options: RoomOptionsJs) -> Result<Room, JsValue> {
        let room = Room::with_config(room_config(&options)?);
        prime_snapshot_path();
        Ok(room)
    }

    /// Ingests an array of event objects. Bad events are reported (field, reason, 1-based
    /// position) and counted in `stats()`; every valid event of the batch is kept. Throws only
    /// when `events` is not an array.
    pub fn ingest(&mut self, events: LiveEventArray) -> Result<IngestReportJs, JsValue> {
        let events: JsValue = events.into();
        let array = events.dyn_into::<Array>().map_err(|_| {
            js_error(
                "bad_argument",
                "ingest(events): `events` must be an array of event objects",
            )
        })?;
        let js = EventReader::new()?;
        let values: Vec<_> = (0..array.length())
            .map(|i| match Reflect::get(&array, &JsValue::from(i)) {
                Ok(item) => js.read(&item),
                // an index getter or a Proxy trap of the array threw
                Err(_) => Err(kpi::IngestError::new("", kpi::ErrorReason::NotAnObject)),
            })
            .collect();
        to_js(&self.inner.ingest_decoded(&values))
    }

    /// Ingests NDJSON text (one event object per line; blank lines skipped). Bad lines are
    /// reported with their line number and counted; the valid rest is kept.
    #[wasm_bindgen(js_name = ingestNdjson)]
    pub fn ingest_ndjson(&mut self, text: &str) -> Result<IngestReportJs, JsValue> {
        to_js(&self.inner.ingest_ndjson(text))
    }

    /// Ingests a columnar batch (typed arrays; the fastest path). Bad rows are reported with
    /// their 1-based row number and counted; the valid rest is kept.
    #[wasm_bindgen(js_name = ingestColumns)]
    pub fn ingest_columns(&mut self, columns: EventColumnsJs) -> Result<IngestReportJs, JsValue> {
        let c: JsValue = columns.into();
        if !c.is_object() {
            return Err(js_error(
                "bad_argument",
                "ingestColumns(columns): `columns` must be an object of typed arrays",
            ));
        }
        let kind = column::<Uint8Array>(&c, "kind")?
            .ok_or_else(|| js_error("bad_column", "ingestColumns: field `kind` is required"))?
            .to_vec();
        let ts = column::<Float64Array>(&c, "ts")?
            .ok_or_else(|| js_error("bad_column", "ingestColumns: field `ts` is required"))?
            .to_vec();
        let strings_js =
            Reflect::get(&c, &JsValue::from_str("strings")).unwrap_or(JsValue::UNDEFINED);
        let strings = if strings_js.is_undefined() {
            BatchStrings::List(Vec::new())
        } else {
            let arr = strings_js.dyn_into::<Array>().map_err(|_| {
                js_error(
                    "bad_column",
                    "ingestColumns: field `strings` must be an array of strings",
                )
            })?;
            BatchStrings::from_js(&arr)?
        };
        let id = f64_col(&c, "id")?;
        let id_ref = u32_col(&c, "idRef")?;
        let viewer = u32_col(&c, "viewer")?;
        let session = u32_col(&c, "session")?;
        let product = u32_col(&c, "product")?;
        let order = u32_col(&c, "order")?;
        let amount = f64_col(&c, "amount")?;
        let units = f64_col(&c, "units")?;
        let count = f64_col(&c, "count")?;
        let text = u32_col(&c, "text")?;
        let option = u32_col(&c, "option")?;
        let cohost = u32_col(&c, "cohost")?;
        let region = u32_col(&c, "region")?;
        let tier = u32_col(&c, "tier")?;
        let source = u32_col(&c, "source")?;
        let follower_since_ms = f64_col(&c, "followerSinceMs")?;
        let seen_before = u8_col(&c, "seenBefore")?;
        let report: IngestReport = self.inner.ingest_columns(&Columns {
            kind: &kind,
            ts: &ts,
            id: &id,
            id_ref: &id_ref,
            viewer: &viewer,
            session: &session,
            product: &product,
            order: &order,
            amount: &amount,
            units: &units,
            count: &count,
            text: &text,
            option: &option,
            cohost: &cohost,
            region: &region,
            tier: &tier,
            source: &source,
            follower_since_ms: &follower_since_ms,
            seen_before: &seen_before,
            strings: strings.table(),
        });
        to_js(&report)
    }

    /// Sets the stream end (ms since epoch): open sessions close there, minute series stop.
    #[wasm_bindgen(js_name = endStream)]
    pub fn end_stream(&mut self, end_ms: f64) -> Result<(), JsValue> {
        self.inner.end_stream(time_arg(end_ms, "endStream(endMs)")?);
        Ok(())
    }

    /// Every KPI as of `nowMs` (ms since epoch) as a plain object. Cheap: O(keys), not O(events).
    /// Also runs the streaming alert rules over the minutes completed by then (see `alerts()`).
    /// Rows of `scene.minutes` and `goods` are frozen objects shared with earlier snapshots when
    /// unchanged (only changed rows cross the boundary again).
    pub fn snapshot(&mut self, now_ms: f64) -> Result<SnapshotJs, JsValue> {
        let snap = self.inner.snapshot(time_arg(now_ms, "snapshot(nowMs)")?);
        let raised = self.alerts.push_snapshot(&snap);
        self.raise(raised)?;
        Ok(self.snapshots.write(snap)?.unchecked_into())
    }

    /// The alerts raised so far (interaction drop, online cliff, conversion collapse), oldest
    /// first, each with its evidence (series window, baseline, size of the shift) and the
    /// suggested action. Rules run on each completed minute once, when `snapshot()` is taken;
    /// the regional stall / latency rules run on what `pushQoe()` is given.
    pub fn alerts(&self) -> Result<AlertArrayJs, JsValue> {
        to_js(&self.alert_log)
    }

    /// Sets (or with `null` clears) the callback that gets each alert, with its evidence, as it
    /// is raised by `snapshot()` or `pushQoe()`. An exception thrown by the callback never
    /// breaks the caller nor loses the alert (it stays in `alerts()`): it is reported like an
    /// event listener's, through `globalThis.reportError` (else `console.error`).
    #[wasm_bindgen(js_name = onAlert)]
    pub fn on_alert(&mut self, callback: AlertCallbackJs) -> Result<(), JsValue> {
        let v: JsValue = callback.into();
        self.on_alert = if v.is_null() || v.is_undefined() {
            None
        } else {
            Some(v.dyn_into::<js_sys::Function>().map_err(|_| {
                js_error(
                    "bad_argument",
                    "onAlert(callback): `callback` must be a function or null",
                )
            })?)
        };
        Ok(())
    }

    /// Runs the regional QoE rules (a region's stall rate or live latency spiking → suggested
    /// action `switch_cdn_route`, for a CDN / route switch) over completed minutes of player QoE per
    /// region, and returns the alerts raised (also kept in `alerts()` and sent to `onAlert`).
    /// Push each region's minutes once, in order (a minute already seen for a region is
    /// ignored). Throws `LivekpiError` (code `bad_argument`) naming the entry and field when one
    /// is malformed; nothing of the batch is applied then.
    #[wasm_bindgen(js_name = pushQoe)]
    pub fn push_qoe(&mut self, minutes: QoeMinuteArrayJs) -> Result<AlertArrayJs, JsValue> {
        let v: JsValue = minutes.into();
        let array = v.dyn_into::<Array>().map_err(|_| {
            js_error(
                "bad_argument",
                "pushQoe(minutes): `minutes` must be an array of {region, minute, stallRate, latencyMs}",
            )
        })?;
        let mut parsed = Vec::with_capacity(array.length() as usize);
        for (i, item) in array.iter().enumerate() {
            parsed.push(qoe_minute(&item, i)?);
        }
        let mut raised = Vec::new();
        for q in &parsed {
            raised.extend(self.alerts.push_qoe(q));
        }
        let out = to_js(&raised);
        self.raise(raised)?;
        out
    }

    /// A forecast of the final GMV (fen) with an 80 % interval as of `nowMs`, from the stream so
    /// far (traffic × rates × AOV) and `history`: past streams' per-minute GMV in fen (their
    /// completion curves). Needs the stream end (`streamEndMs` or `endStream`).
    pub fn forecast(&self, now_ms: f64, history: GmvHistoryJs) -> Result<ForecastJs, JsValue> {
        let end = self.inner.stream_end_ms().ok_or_else(|| {
            js_error(
                "bad_option",
                "forecast: the stream end is unknown (set `streamEndMs` or call endStream)",
            )
        })?;
        let start = self.inner.config().stream_start_ms;
        let total_minutes = ((end - start) + 59_999) / 60_000;
        let h: JsValue = history.into();
        let past: Vec<PastStream> = if h.is_undefined() || h.is_null() {
            Vec::new()
        } else {
            let series: Vec<Vec<f64>> = serde_wasm_bindgen::from_value(h).map_err(|_| {
                js_error(
                    "bad_argument",
                    "forecast: `history` must be an array of arrays of GMV numbers (fen per minute)",
                )
            })?;
            series
                .iter()
                .map(|s| PastStream::from_gmv(&s.iter().map(|x| *x as i64).collect::<Vec<_>>()))
                .collect()
        };
        let snap = self.inner.snapshot(time_arg(now_ms, "forecast(nowMs)")?);
        let current: Vec<StreamMinute> =
            snap.scene.minutes.iter().map(StreamMinute::from).collect();
        to_js(&insight::forecast(
            &current,
            total_minutes,
            &past,
            &ForecastConfig::default(),
        ))
    }

    /// The same snapshot as JSON text (for export).
    #[wasm_bindgen(js_name = snapshotJson)]
    pub fn snapshot_json(&self, now_ms: f64) -> Result<String, JsValue> {
        let snap = self
            .inner
            .snapshot(time_arg(now_ms, "snapshotJson(nowMs)")?);
        serde_json::to_string(&snap).map_err(|e| js_error("serialize", &e.to_string()))
    }

    /// Cumulative ingestion statistics: accepted, duplicates, rejected per reason, watermark.
    pub fn stats(&self) -> Result<IngestStatsJs, JsValue> {
        to_js(&self.inner.stats())
    }

    /// The KPIs of two rooms side by side with deltas (this room = `a`, `other` = `b`), each
    /// as of its own `…NowMs`.
    #[wasm_bindgen(js_name = compareWith)]
    pub fn compare_with(
        &self,
        now_ms: f64,
        other: &Room,
        other_now_ms: f64,
    ) -> Result<ComparisonJs, JsValue> {
        let a = self.inner.snapshot(time_arg(now_ms, "compareWith(nowMs)")?);
        let b = other
            .inner
            .snapshot(time_arg(other_now_ms, "compareWith(otherNowMs)")?);
        to_js(&kpi::compare(&a, &b))
    }
}

/// A deterministic, seeded live-room event log as NDJSON (Poisson arrivals with bursts,
/// heavy-tailed dwell, product skew, delayed refunds, duplicates and late events): the same
/// options always give the same text. For demos, tests and benchmarks.
#[wasm_bindgen(js_name = generateEventsNdjson)]
pub fn generate_events_ndjson(options: GeneratorOptionsJs) -> Result<String, JsValue> {
    const WHERE: &str = "generateEventsNdjson(options)";
    let o: JsValue = options.into();
    let seed = opt_number(&o, "seed", WHERE)?
        .filter(|s| *s >= 0.0)
        .ok_or_else(|| {
            js_error(
                "bad_option",
                "generateEventsNdjson(options): field `seed` is required (a non-negative number)",
            )
        })?;
    let mut cfg = kpi::GenConfig::new(seed as u64);
    if let Some(v) = opt_ms(&o, "streamStartMs", WHERE)? {
        cfg.stream_start_ms = v;
    }
    let count = |field: &str, max: f64| -> Result<Option<f64>, JsValue> {
        match opt_number(&o, field, WHERE)? {
            Some(v) if !(0.0..=max).contains(&v) => Err(js_error(
                "bad_option",
                &format!("{WHERE}: field `{field}` must be between 0 and {max}"),
            )),
            other => Ok(other),
        }
    };
    if let Some(v) = count("durationMin", 48.0 * 60.0)? {
        cfg.duration_min = v as i64;
    }
    if let Some(v) = count("arrivals", 1e8)? {
        cfg.arrivals = v as u32;
    }
    if let Some(v) = count("products", 10_000.0)? {
        cfg.products = v as u32;
    }
    if let Some(v) = count("duplicateRate", 1.0)? {
        cfg.duplicate_rate = v;
    }
    if let Some(v) = count("lateRate", 1.0)? {
        cfg.late_rate = v;
    }
    if let Some(v) = count("latenessMs", 86_400_000.0)? {
        cfg.lateness_ms = v as i64;
    }
    if let Some(v) = count("tooLateRate", 1.0)? {
        cfg.too_late_rate = v;
    }
    if let Some(v) = count("conflictRate", 1.0)? {
        cfg.conflict_rate = v;
    }
    Ok(kpi::generate_ndjson(&cfg))
}

/// The event kinds in columnar code order: `eventKinds()[code]` is the `kind` name of that
/// code (`ingestColumns` takes codes, the other paths take names).
#[wasm_bindgen(js_name = eventKinds)]
pub fn event_kinds() -> Vec<String> {
    kpi::EventType::ALL
        .iter()
        .map(|k| k.name().to_string())
        .collect()
}

/// The sentiment of one comment (Chinese or English, live-commerce lexicon with negation,
/// degree words, emoji and net slang): score in [-1, 1], label, and the matched terms.
#[wasm_bindgen(js_name = analyzeComment)]
pub fn analyze_comment(text: &str) -> Result<SentimentJs, JsValue> {
    to_js(&sentiment::analyze(text))
}

/// Reads `{minute, text}` comments, naming the bad field.
fn timed_comments(
    comments: TimedCommentArrayJs,
    what: &str,
) -> Result<Vec<(i64, String)>, JsValue> {
    let v: JsValue = comments.into();
    let array = v.dyn_into::<Array>().map_err(|_| {
        js_error(
            "bad_argument",
            &format!("{what}: `comments` must be an array of {{minute, text}}"),
        )
    })?;
    let mut out = Vec::with_capacity(array.length() as usize);
    for (i, c) in array.iter().enumerate() {
        let minute = Reflect::get(&c, &JsValue::from_str("minute"))
            .ok()
            .and_then(|m| m.as_f64())
            .filter(|m| m.is_finite());
        let text = Reflect::get(&c, &JsValue::from_str("text"))
            .ok()
            .and_then(|t| t.as_string());
        match (minute, text) {
            (Some(m), Some(t)) => out.push((m.floor() as i64, t)),
            (None, _) => {
                return Err(js_error(
                    "bad_argument",
                    &format!("{what}: comments[{i}]: field `minute` must be a finite number"),
                ))
            }
            (_, None) => {
                return Err(js_error(
                    "bad_argument",
                    &format!("{what}: comments[{i}]: field `text` must be a string"),
                ))
            }
        }
    }
    Ok(out)
}

/// The per-minute sentiment series of `{minute, text}` comments: from the first to the last
/// minute, counts per label and the mean score (null for a minute without comments).
#[wasm_bindgen(js_name = sentimentSeries)]
pub fn sentiment_series(comments: TimedCommentArrayJs) -> Result<MinutePointArrayJs, JsValue> {
    let c = timed_comments(comments, "sentimentSeries")?;
    to_js(&sentiment::minute_series(
        c.iter().map(|(m, t)| (*m, t.as_str())),
    ))
}

/// The `k` most frequent positive and negative terms among `{minute, text}` comments whose
/// minute is in `[fromMinute, toMinute)`.
#[wasm_bindgen(js_name = topTerms)]
pub fn top_terms(
    comments: TimedCommentArrayJs,
    from_minute: f64,
    to_minute: f64,
    k: u32,
) -> Result<TopTermsJs, JsValue> {
    let c = timed_comments(comments, "topTerms")?;
    let range = (from_minute.floor() as i64)..(to_minute.ceil() as i64);
    to_js(&sentiment::top_terms(
        c.iter().map(|(m, t)| (*m, t.as_str())),
        range,
        k as usize,
    ))
}

/// Reports an exception thrown by a user callback the way the platform reports a throwing event
/// listener: `globalThis.reportError(e)` where it exists (browsers, workers), else
/// `console.error(e)` (Node). Never throws.
fn report_error(e: &JsValue) {
    let global: JsValue = js_sys::global().into();
    let report = Reflect::get(&global, &JsValue::from_str("reportError"))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    if let Some(report) = report {
        let _ = report.call1(&JsValue::NULL, e);
        return;
    }
    let error = Reflect::get(&global, &JsValue::from_str("console"))
        .and_then(|c| Reflect::get(&c, &JsValue::from_str("error")))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    if let Some(error) = error {
        let _ = error.call1(&JsValue::NULL, e);
    }
}

/// Longest region name accepted by `pushQoe`, in UTF-8 bytes (the engine's id cap).
const MAX_REGION_BYTES: usize = 256;

/// One `QoeMinuteInput` at position `i` (0-based) of a `pushQoe` batch.
fn qoe_minute(item: &JsValue, i: usize) -> Result<QoeMinute, JsValue> {
    let field =
        |name: &str| Reflect::get(item, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED);
    let bad = |name: &str, what: &str| {
        js_error(
            "bad_argument",
            &[
                "pushQoe(minutes): entry ",
                &i.to_string(),
                " field `",
                name,
                "` ",
                what,
            ]
            .concat(),
        )
    };
    if !item.is_object() {
        return Err(js_error(
            "bad_argument",
            &[
                "pushQoe(minutes): entry ",
                &i.to_string(),
                " must be an object",
            ]
            .concat(),
        ));
    }
    let region = field("region")
        .as_string()
        .filter(|r| !r.is_empty() && r.len() <= MAX_REGION_BYTES)
        .ok_or_else(|| bad("region", "must be a non-empty string of at most 256 bytes"))?;
    let minute = field("minute")
        .as_f64()
        .filter(|m| m.fract() == 0.0 && (0.0..=1e9).contains(m))
        .ok_or_else(|| bad("minute", "must be an integer minute index ≥ 0"))?;
    let optional = |name: &str| -> Result<Option<f64>, JsValue> {
        let v = field(name);
        if v.is_null() || v.is_undefined() {
            return Ok(None);
        }
        match v.as_f64() {
            Some(x) if x.is_finite() && x >= 0.0 => Ok(Some(x)),
            _ => Err(bad(name, "must be a finite number ≥ 0, or null")),
        }
    };
    Ok(QoeMinute {
        region,
        minute: minute as i64,
        stall_rate: optional("stallRate")?,
        latency_ms: optional("latencyMs")?,
    })
}
