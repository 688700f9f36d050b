//! `livekpi/console` bindings of the insight module's scorecards and after-stream
//! recommendations: `room.scorecards(…)`, `defaultScorecardConfig()`, the `Timeline` of a
//! room's activity events and the `Debrief` builder. Shapes are typed by declarations generated
//! from the core's structs (`scripts/gen-types.mjs` → `kpi-types.d.ts`).

use js_sys::{Array, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::console::Room;
use super::convert::to_js;
use super::error::js_error;
use crate::insight::{self, DebriefConfig, Plan, ScoreInputs, ScorecardConfig, TechInputs};
use crate::kpi::Snapshot;

#[wasm_bindgen(typescript_custom_section)]
const TS_INSIGHT: &'static str = r#"
import type { Scorecard, ScorecardConfig, TechInputs, Recommendations, Plan, DebriefConfig, ActivityMinute } from './kpi-types.js';

/** Technical inputs of a scorecard: a collector's merged `RoomView` of the room (its `total`
 * rates: startup_mean_ms, stall_rate, latency_mean_ms), or the three values directly. */
export type QoeInput = RoomView | TechInputs;

/** Options of a Timeline (times in ms since the epoch). */
export interface TimelineOptions {
  /** Stream start: minute 0 starts here. Required. */
  streamStartMs: number;
  /** Stream end, when known (events after it are ignored). */
  streamEndMs?: number;
  /** Events older than the highest accepted time minus this are ignored. Default 300000. */
  latenessMs?: number;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// `QoeInput` (TS).
    #[wasm_bindgen(typescript_type = "QoeInput | null")]
    pub type QoeInputJs;
    /// `ScorecardConfig` (TS).
    #[wasm_bindgen(typescript_type = "ScorecardConfig | null")]
    pub type ScorecardConfigJs;
    /// `ScorecardConfig` (TS), as returned.
    #[wasm_bindgen(typescript_type = "ScorecardConfig")]
    pub type ScorecardConfigOut;
    /// `Scorecard[]` (TS).
    #[wasm_bindgen(typescript_type = "Scorecard[]")]
    pub type ScorecardArrayJs;
    /// `TimelineOptions` (TS).
    #[wasm_bindgen(typescript_type = "TimelineOptions")]
    pub type TimelineOptionsJs;
    /// `LiveEvent[]` (TS).
    #[wasm_bindgen(typescript_type = "LiveEvent[]")]
    pub type TimelineEventArray;
    /// `ActivityMinute[]` (TS).
    #[wasm_bindgen(typescript_type = "ActivityMinute[]")]
    pub type ActivityMinuteArrayJs;
    /// `Plan` (TS).
    #[wasm_bindgen(typescript_type = "Plan")]
    pub type PlanJs;
    /// `DebriefConfig` (TS), all fields optional.
    #[wasm_bindgen(typescript_type = "Partial<DebriefConfig> | null")]
    pub type DebriefConfigJs;
    /// `Recommendations` (TS).
    #[wasm_bindgen(typescript_type = "Recommendations")]
    pub type RecommendationsJs;
}

fn time_arg(x: f64, what: &str) -> Result<i64, JsValue> {
    if x.is_finite() {
        Ok(x.round() as i64)
    } else {
        Err(js_error(
            "bad_argument",
            &format!("{what} must be a finite number of ms since epoch"),
        ))
    }
}

fn absent(v: &JsValue) -> bool {
    v.is_undefined() || v.is_null()
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// Reads an optional finite number at `path` of `obj`, naming the field when it is not one.
fn num_at(obj: &JsValue, path: &[&str], what: &str) -> Result<Option<f64>, JsValue> {
    let mut v = obj.clone();
    for k in path {
        if absent(&v) {
            return Ok(None);
        }
        v = get(&v, k);
    }
    if absent(&v) {
        return Ok(None);
    }
    match v.as_f64() {
        Some(x) if x.is_finite() => Ok(Some(x)),
        _ => Err(js_error(
            "bad_argument",
            &format!(
                "{what}: field `{}` must be a finite number or null",
                path.join(".")
            ),
        )),
    }
}

/// The technical inputs from a `RoomView` (its `total.rates`) or a `TechInputs` object.
fn tech_inputs(v: &JsValue, what: &str) -> Result<Option<TechInputs>, JsValue> {
    if absent(v) {
        return Ok(None);
    }
    if !v.is_object() {
        return Err(js_error(
            "bad_argument",
            &format!("{what}: `qoe` must be a RoomView, a TechInputs object or null"),
        ));
    }
    if !absent(&get(v, "total")) {
        let r = |k: &str| num_at(v, &["total", "rates", k, "value"], what);
        return Ok(Some(TechInputs {
            first_frame_ms: r("startup_mean_ms")?,
            stall_rate: r("stall_rate")?,
            latency_ms: r("latency_mean_ms")?,
        }));
    }
    Ok(Some(TechInputs {
        first_frame_ms: num_at(v, &["first_frame_ms"], what)?,
        stall_rate: num_at(v, &["stall_rate"], what)?,
        latency_ms: num_at(v, &["latency_ms"], what)?,
    }))
}

fn scorecard_config(v: &JsValue, what: &str) -> Result<ScorecardConfig, JsValue> {
    if absent(v) {
        return Ok(ScorecardConfig::default());
    }
    let cfg: ScorecardConfig = serde_wasm_bindgen::from_value(v.clone())
        .map_err(|e| js_error("bad_option", &format!("{what}: config: {e}")))?;
    cfg.validate()
        .map_err(|e| js_error("bad_option", &format!("{what}: config.{e}")))?;
    Ok(cfg)
}

fn cards(
    room: &Room,
    now_ms: f64,
    qoe: &JsValue,
    config: &JsValue,
    what: &str,
) -> Result<Vec<insight::Scorecard>, JsValue> {
    let cfg = scorecard_config(config, what)?;
    let tech = tech_inputs(qoe, what)?;
    let snap = room
        .core()
        .snapshot(time_arg(now_ms, &format!("{what}(nowMs)"))?);
    insight::scorecards(&cfg, &ScoreInputs::new(&snap, tech))
        .map_err(|e| js_error("bad_option", &format!("{what}: config.{e}")))
}

#[wasm_bindgen]
impl Room {
    /// The role scorecards (host, operations, field control by default) as of `nowMs`: each
    /// item's KPI value, target, attainment, weight and points over result, process and
    /// technical KPIs. `qoe`: the collector's merged `RoomView` of this room (or the three
    /// technical values); null/undefined = no player summaries yet (technical items null, their
    /// weight redistributed, said in `notes`). `config` replaces the default weights/targets.
    pub fn scorecards(
        &self,
        now_ms: f64,
        qoe: Option<QoeInputJs>,
        config: Option<ScorecardConfigJs>,
    ) -> Result<ScorecardArrayJs, JsValue> {
        let q: JsValue = qoe.map_or(JsValue::UNDEFINED, Into::into);
        let c: JsValue = config.map_or(JsValue::UNDEFINED, Into::into);
        to_js(&cards(self, now_ms, &q, &c, "scorecards")?)
    }

    /// The same scorecards as JSON text.
    #[wasm_bindgen(js_name = scorecardsJson)]
    pub fn scorecards_json(
        &self,
        now_ms: f64,
        qoe: Option<QoeInputJs>,
        config: Option<ScorecardConfigJs>,
    ) -> Result<String, JsValue> {
        let q: JsValue = qoe.map_or(JsValue::UNDEFINED, Into::into);
        let c: JsValue = config.map_or(JsValue::UNDEFINED, Into::into);
        let v = cards(self, now_ms, &q, &c, "scorecardsJson")?;
        serde_json::to_string(&v).map_err(|e| js_error("serialize", &e.to_string()))
    }
}

/// The documented default scorecard configuration (see `docs/insight.md`): edit and pass it
/// back to `room.scorecards(nowMs, qoe, config)`.
#[wasm_bindgen(js_name = defaultScorecardConfig)]
pub fn default_scorecard_config() -> Result<ScorecardConfigOut, JsValue> {
    to_js(&ScorecardConfig::default())
}

/// A room's activity minute by minute (comments and their sentiment, red packets, votes,
/// co-host links, gifts, follows, impressions / clicks / orders per product): feed it the same
/// events as the `Room`; a `Debrief` uses it to say what happened around the moments of
/// highest interaction.
#[wasm_bindgen]
pub struct Timeline {
    inner: insight::Timeline,
}

#[wasm_bindgen]
impl Timeline {
    /// A timeline for a stream starting at `options.streamStartMs`. Throws `LivekpiError`
    /// (`bad_option`) naming the field when an option is missing or invalid.
    #[wasm_bindgen(constructor)]
    pub fn new(options: TimelineOptionsJs) -> Result<Timeline, JsValue> {
        const WHERE: &str = "new Timeline(options)";
        let o: JsValue = options.into();
        if !o.is_object() {
            return Err(js_error(
                "bad_option",
                "new Timeline(options): options must be an object with `streamStartMs`",
            ));
        }
        let num = |k: &str| {
            num_at(&o, &[k], WHERE).map_err(|_| {
                js_error(
                    "bad_option",
                    &format!("{WHERE}: field `{k}` must be a finite number"),
                )
            })
        };
        let start = num("streamStartMs")?.ok_or_else(|| {
            js_error(
                "bad_option",
                "new Timeline(options): field `streamStartMs` is required (ms since epoch)",
            )
        })?;
        let mut t = insight::Timeline::new(start.round() as i64);
        if let Some(end) = num("streamEndMs")? {
            if end < start {
                return Err(js_error(
                    "bad_option",
                    "new Timeline(options): field `streamEndMs` is before `streamStartMs`",
                ));
            }
            t.set_end(end.round() as i64);
        }
        if let Some(l) = num("latenessMs")? {
            if l < 0.0 {
                return Err(js_error(
                    "bad_option",
                    "new Timeline(options): field `latenessMs` must not be negative",
                ));
            }
            t.set_lateness(l.round() as i64);
        }
        Ok(Timeline { inner: t })
    }

    /// Takes an array of event objects (the room's schema); returns how many were counted
    /// (invalid, out-of-range, too-late and repeated-id events are not).
    pub fn ingest(&mut self, events: TimelineEventArray) -> Result<u32, JsValue> {
        let v: JsValue = events.into();
        let array = v.dyn_into::<Array>().map_err(|_| {
            js_error(
                "bad_argument",
                "Timeline.ingest(events): `events` must be an array of event objects",
            )
        })?;
        let values: Vec<serde_json::Value> = array
            .iter()
            .map(|item| {
                serde_wasm_bindgen::from_value::<serde_json::Value>(item)
                    .unwrap_or(serde_json::Value::Null)
            })
            .collect();
        Ok(self.inner.push_json_values(&values) as u32)
    }

    /// Takes NDJSON text; returns how many events were counted.
    #[wasm_bindgen(js_name = ingestNdjson)]
    pub fn ingest_ndjson(&mut self, text: &str) -> u32 {
        self.inner.push_ndjson(text) as u32
    }

    /// Sets the stream end (ms since epoch).
    #[wasm_bindgen(js_name = endStream)]
    pub fn end_stream(&mut self, end_ms: f64) -> Result<(), JsValue> {
        self.inner
            .set_end(time_arg(end_ms, "Timeline.endStream(endMs)")?);
        Ok(())
    }

    /// Events counted so far.
    pub fn accepted(&self) -> f64 {
        self.inner.accepted() as f64
    }

    /// Events not counted (invalid, out of range, too late, repeated id).
    pub fn ignored(&self) -> f64 {
        self.inner.ignored() as f64
    }

    /// Every minute's activity, from minute 0 to the last minute with an event.
    pub fn minutes(&self) -> Result<ActivityMinuteArrayJs, JsValue> {
        to_js(&self.inner.minutes())
    }
}

/// After-stream recommendations for a room as of a moment: product ranking and running order,
/// the moments of highest interaction and what happened around them, buyers vs viewers for ad
/// targeting, and the plan–do–measure–learn review. Add what is known with the setters, then
/// read `result()` or `json()`.
#[wasm_bindgen]
pub struct Debrief {
    current: Snapshot,
    timeline: Option<insight::Timeline>,
    previous: Option<Snapshot>,
    previous_timeline: Option<insight::Timeline>,
    plan: Option<Plan>,
    cfg: DebriefConfig,
}

#[wasm_bindgen]
impl Debrief {
    /// The debrief of `room` as of `nowMs` (usually the stream end). `config` overrides the
    /// defaults (`moments` 5, `window_minutes` 2, `min_clicks` 20, `min_buyers` 5,
    /// `lift_target` 1.2, `lift_avoid` 0.8, `top_changes` 8).
    #[wasm_bindgen(constructor)]
    pub fn new(
        room: &Room,
        now_ms: f64,
        config: Option<DebriefConfigJs>,
    ) -> Result<Debrief, JsValue> {
        let c: JsValue = config.map_or(JsValue::UNDEFINED, Into::into);
        let cfg = if absent(&c) {
            DebriefConfig::default()
        } else {
            serde_wasm_bindgen::from_value(c)
                .map_err(|e| js_error("bad_option", &format!("new Debrief: config: {e}")))?
        };
        let cfg: DebriefConfig = cfg;
        if !(cfg.lift_target.is_finite() && cfg.lift_avoid.is_finite()) {
            return Err(js_error(
                "bad_option",
                "new Debrief: config: fields `lift_target` and `lift_avoid` must be finite numbers",
            ));
        }
        Ok(Debrief {
            current: room
                .core()
                .snapshot(time_arg(now_ms, "new Debrief(room, nowMs)")?),
            timeline: None,
            previous: None,
            previous_timeline: None,
            plan: None,
            cfg,
        })
    }

    /// Uses this stream's timeline (copied) for the events around the moments.
    #[wasm_bindgen(js_name = setTimeline)]
    pub fn set_timeline(&mut self, timeline: &Timeline) {
        self.timeline = Some(timeline.inner.clone());
    }

    /// Compares with the previous stream's room as of `nowMs` (its end).
    #[wasm_bindgen(js_name = setPrevious)]
    pub fn set_previous(&mut self, room: &Room, now_ms: f64) -> Result<(), JsValue> {
        self.previous = Some(
            room.core()
                .snapshot(time_arg(now_ms, "setPrevious(room, nowMs)")?),
        );
        Ok(())
    }

    /// The previous stream's timeline (copied), for the activity changes.
    #[wasm_bindgen(js_name = setPreviousTimeline)]
    pub fn set_previous_timeline(&mut self, timeline: &Timeline) {
        self.previous_timeline = Some(timeline.inner.clone());
    }

    /// The plan: targets per compared KPI (`{ targets: [{ kpi: 'result.gmv_fen', target }] }`).
    /// Throws naming the field when a KPI is unknown or a target is not a finite number ≥ 0.
    #[wasm_bindgen(js_name = setPlan)]
    pub fn set_plan(&mut self, plan: PlanJs) -> Result<(), JsValue> {
        let p: Plan = serde_wasm_bindgen::from_value(plan.into())
            .map_err(|e| js_error("bad_option", &format!("setPlan: plan: {e}")))?;
        p.validate().map_err(|e| {
            js_error(
                "bad_option",
                &format!("setPlan: plan.{}: {}", e.field, e.message),
            )
        })?;
        self.plan = Some(p);
        Ok(())
    }

    fn build(&self) -> insight::Recommendations {
        insight::debrief(
            &self.current,
            self.timeline.as_ref(),
            self.previous.as_ref(),
            self.previous_timeline.as_ref(),
            self.plan.as_ref(),
            &self.cfg,
        )
    }

    /// The recommendations as a plain object.
    pub fn result(&self) -> Result<RecommendationsJs, JsValue> {
        to_js(&self.build())
    }

    /// The recommendations as JSON text.
    pub fn json(&self) -> Result<String, JsValue> {
        serde_json::to_string(&self.build()).map_err(|e| js_error("serialize", &e.to_string()))
    }
}
