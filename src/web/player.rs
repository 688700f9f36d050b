//! `livekpi/player` bindings: numbers, strings and byte arrays only (no serde, no formatting).
//!
//! The JS entry (`pkg/player/index.js`) listens to the media element, the page and the player
//! library, and forwards each observation as `(time, kind, a, b, c, d, e)` numbers to a
//! [`QoeMonitor`]. Kind codes and metric names are published by this module
//! ([`observation_kinds`], [`metric_names`]) so JS never keeps its own copy of either list.

use alloc::string::String;
use alloc::vec::Vec;
use wasm_bindgen::prelude::*;

use super::error::js_error;

// The player build allocates a few small buffers per call (metric arrays, strings): a simple
// free-list allocator serves it in far fewer bytes than std's dlmalloc. Only the player-only
// build uses it; a build with the std feature (console, which allocates per key) keeps dlmalloc.
#[cfg(not(feature = "std"))]
#[global_allocator]
// SAFETY: the player's wasm module runs on one thread (no shared memory, no threads feature).
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };
use crate::qoe::{Monitor, Observation, QoeConfig, QoeMetrics};

/// A fresh viewing-session id: 128 bits from the platform CSPRNG (`crypto.getRandomValues`) as
/// 32 lowercase hex digits. Throws `LivekpiError` (code `random_unavailable`) when no CSPRNG exists.
#[wasm_bindgen(js_name = newSessionId)]
pub fn new_session_id() -> Result<String, JsValue> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| {
        js_error(
            "random_unavailable",
            "newSessionId: crypto.getRandomValues is not available",
        )
    })?;
    Ok(crate::ids::session_id_from_bytes(&bytes))
}

/// Observation kinds in code order, comma-separated: the code of a kind is its index.
const OBSERVATION_KINDS: &str = "playIntent,autoplayBlocked,sourceAttached,sourceChanged,play,\
pause,playing,waiting,seeking,seeked,ended,timeUpdate,frame,visibility,pageHide,error,quality,\
bitrate,dimensions,timeSync,frameProgramTime,liveEdge,segmentTtfb,degraded";

/// The code of the `tick` observation (a timer check), outside the published list.
const TICK: u32 = 255;

/// The observation kinds, comma-separated in code order (`playIntent,autoplayBlocked,…`).
#[wasm_bindgen(js_name = observationKinds)]
pub fn observation_kinds() -> String {
    OBSERVATION_KINDS.into()
}

/// Saturating conversion of a JS number to a `u32` counter (NaN and negatives → 0).
fn count(x: f64) -> u32 {
    x as u32
}

/// The observation of kind `code` with its numeric arguments (see [`OBSERVATION_KINDS`]).
fn observation(code: u32, a: f64, b: f64, c: f64, d: f64, e: f64) -> Option<Observation> {
    use Observation as O;
    Some(match code {
        0 => O::PlayIntent { autoplay: a != 0.0 },
        1 => O::AutoplayBlocked,
        2 => O::SourceAttached,
        3 => O::SourceChanged,
        4 => O::Play,
        5 => O::Pause,
        6 => O::Playing,
        7 => O::Waiting,
        8 => O::Seeking,
        9 => O::Seeked,
        10 => O::Ended,
        11 => O::TimeUpdate { position_s: a },
        12 => O::Frame {
            media_time_s: a,
            presented_frames: count(b),
            position_s: c,
            playback_rate: d,
        },
        13 => O::Visibility { hidden: a != 0.0 },
        14 => O::PageHide,
        15 => O::Error {
            code: a.clamp(0.0, 65_535.0) as u16,
            fatal: b != 0.0,
        },
        16 => O::Quality {
            dropped_frames: count(a),
            total_frames: count(b),
        },
        17 => O::Bitrate { bps: count(a) },
        18 => O::Dimensions {
            element_css_w: a,
            element_css_h: b,
            device_pixel_ratio: c,
            video_w: d,
            video_h: e,
        },
        19 => O::TimeSync {
            sent_ms: a,
            received_ms: b,
            server_ms: c,
        },
        20 => O::FrameProgramTime { program_date_ms: a },
        21 => O::LiveEdge { distance_s: a },
        22 => O::SegmentTtfb { ttfb_ms: a },
        23 => O::Degraded { flags: count(a) },
        TICK => O::Tick,
        _ => return None,
    })
}

/// A metric value as it crosses: numbers as they are, `None` as NaN, booleans as 0/1.
trait Cross {
    fn cross(self) -> f64;
}
impl Cross for f64 {
    fn cross(self) -> f64 {
        self
    }
}
impl Cross for u32 {
    fn cross(self) -> f64 {
        f64::from(self)
    }
}
impl Cross for bool {
    fn cross(self) -> f64 {
        f64::from(u8::from(self))
    }
}
impl Cross for Option<f64> {
    fn cross(self) -> f64 {
        self.unwrap_or(f64::NAN)
    }
}

/// Declares the metric table once: JS names with their type tag (`n` number, `o` number or
/// null, `b` boolean) and the value of each, in one order.
macro_rules! metric_table {
    ($name0:literal : $tag0:literal = $field0:ident $(, $name:literal : $tag:literal = $field:ident)* $(,)?) => {
        /// Metric names with type tags, comma-separated, in the order of [`metric_values`] (no
        /// trailing comma: nothing to trim at run time, which would cost the player a pattern
        /// searcher).
        const METRIC_NAMES: &str = concat!($name0, ":", $tag0 $(, ",", $name, ":", $tag)*);
        /// The metrics in the order of [`METRIC_NAMES`].
        fn metric_values(m: &QoeMetrics) -> Vec<f64> {
            alloc::vec![m.$field0.cross() $(, m.$field.cross())*]
        }
    };
}

metric_table! {
    "startupMs": "o" = startup_ms,
    "loadToFirstFrameMs": "o" = load_to_first_frame_ms,
    "started": "b" = started,
    "autoplayBlocked": "b" = autoplay_blocked,
    "preloaded": "b" = preloaded,
    "hiddenDuringStartup": "b" = hidden_during_startup,
    "exitBeforeStart": "b" = exit_before_start,
    "startupFailure": "b" = startup_failure,
    "playbackFailure": "b" = playback_failure,
    "failureCode": "n" = failure_code,
    "errorCount": "n" = error_count,
    "degraded": "n" = degraded,
    "ended": "b" = ended,
    "stallCount": "n" = stall_count,
    "stallMs": "n" = stall_ms,
    "stallOngoing": "b" = stall_ongoing,
    "stallOngoingMs": "n" = stall_ongoing_ms,
    "rebufferRatio": "o" = rebuffer_ratio,
    "rebufferRatioWatch": "o" = rebuffer_ratio_watch,
    "stallFrequencyPerMin": "o" = stall_frequency_per_min,
    "freezeCount": "n" = freeze_count,
    "freezeMs": "n" = freeze_ms,
    "freeze500Count": "n" = freeze_500_count,
    "freeze500Ms": "n" = freeze_500_ms,
    "droppedFrames": "n" = dropped_frames,
    "totalFrames": "n" = total_frames,
    "droppedFrameRatio": "o" = dropped_frame_ratio,
    "seekCount": "n" = seek_count,
    "seekLatencyLastMs": "o" = seek_latency_last_ms,
    "seekLatencyMeanMs": "o" = seek_latency_mean_ms,
    "seekLatencyMaxMs": "o" = seek_latency_max_ms,
    "clockOffsetMs": "o" = clock_offset_ms,
    "rttLastMs": "o" = rtt_last_ms,
    "rttMinMs": "o" = rtt_min_ms,
    "latencyLastMs": "o" = latency_last_ms,
    "latencyMeanMs": "o" = latency_mean_ms,
    "latencyMinMs": "o" = latency_min_ms,
    "latencyMaxMs": "o" = latency_max_ms,
    "latencySamples": "n" = latency_samples,
    "liveEdgeLastS": "o" = live_edge_last_s,
    "liveEdgeMeanS": "o" = live_edge_mean_s,
    "segmentTtfbMeanMs": "o" = segment_ttfb_mean_ms,
    "segmentTtfbCount": "n" = segment_ttfb_count,
    "bitrateSwitchUp": "n" = bitrate_switch_up,
    "bitrateSwitchDown": "n" = bitrate_switch_down,
    "bitrateLastBps": "o" = bitrate_last_bps,
    "bitrateMeanBps": "o" = bitrate_mean_bps,
    "upscaleMs": "n" = upscale_ms,
    "downscaleMs": "n" = downscale_ms,
    "upscaleMean": "o" = upscale_mean,
    "downscaleMean": "o" = downscale_mean,
    "watchMs": "n" = watch_ms,
    "playingMs": "n" = playing_ms,
    "hiddenMs": "n" = hidden_ms,
    "pausedMs": "n" = paused_ms,
    "p1203StallImpact": "o" = p1203_stall_impact,
    "p1203O23": "o" = p1203_o23,
    "muxStartupScore": "o" = mux_startup_score,
    "muxSmoothnessScore": "o" = mux_smoothness_score,
}

/// The metric names with type tags (`n` number, `o` number or null, `b` boolean),
/// comma-separated, in the order of [`QoeMonitor::metrics`] (`startupMs:o,…`).
#[wasm_bindgen(js_name = metricNames)]
pub fn metric_names() -> String {
    METRIC_NAMES.into()
}

/// The names of the `degraded` metric's bits, comma-separated, bit 0 first
/// (`noFrameCallbacks,noPlaybackQuality,…`; see `qoe::QoeMetrics::degraded`).
#[wasm_bindgen(js_name = degradedNames)]
pub fn degraded_names() -> String {
    crate::qoe::DEGRADED_NAMES.into()
}

/// The QoE monitor of one view (one source on one element), fed by the JS entry.
#[wasm_bindgen]
pub struct QoeMonitor {
    inner: Monitor,
}

impl QoeMonitor {
    /// The core monitor (for the uplink's summaries and CMCD).
    pub(crate) fn core(&self) -> &Monitor {
        &self.inner
    }
}

#[wasm_bindgen]
impl QoeMonitor {
    /// A monitor created at `now_ms` (client epoch ms, `performance.timeOrigin +
    /// performance.now()`), counting stalls of at least `stall_threshold_ms` (≤ 0 or NaN → 100).
    #[wasm_bindgen(constructor)]
    pub fn new(now_ms: f64, stall_threshold_ms: f64) -> QoeMonitor {
        let config = QoeConfig {
            stall_threshold_ms,
            ..QoeConfig::default()
        };
        QoeMonitor {
            inner: Monitor::new(config, now_ms),
        }
    }

    /// Feeds observation `kind` (a code from `observationKinds()`, or 255 for a timer tick) made
    /// at `now_ms`, with its numeric arguments. Returns the client time at which a tick is due
    /// (see `next_deadline_ms`), or -1 when none is. Unknown kinds are ignored and return -2.
    #[allow(clippy::too_many_arguments)]
    pub fn observe(
        &mut self,
        now_ms: f64,
        kind: u32,
        a: f64,
        b: f64,
        c: f64,
        d: f64,
        e: f64,
    ) -> f64 {
        match observation(kind, a, b, c, d, e) {
            Some(obs) => {
                self.inner.observe(now_ms, obs);
                self.inner.next_deadline_ms().unwrap_or(-1.0)
            }
            None => -2.0,
        }
    }

    /// The metrics as of `now_ms`, in the order of `metricNames()` (NaN for "none").
    pub fn metrics(&self, now_ms: f64) -> Vec<f64> {
        metric_values(&self.inner.metrics(now_ms))
    }

    /// The most recent stalls as flat triples `[position_s (NaN if unknown), start_ms,
    /// duration_ms, …]`, oldest first; an ongoing stall comes last, with its duration so far.
    pub fn stalls(&self, now_ms: f64) -> Vec<f64> {
        let ongoing = self.inner.ongoing_stall(now_ms);
        let mut out = Vec::new();
        for s in self.inner.recent_stalls().iter().chain(ongoing.iter()) {
            out.extend_from_slice(&[s.position_s.cross(), s.start_ms, s.duration_ms]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn every_metric_has_a_value_and_a_tag() {
        let values = metric_values(&QoeMetrics::default());
        let names: Vec<&str> = metric_names().leak().split(',').collect();
        assert_eq!(values.len(), names.len());
        assert_eq!(names[0], "startupMs:o");
        assert_eq!(names[names.len() - 1], "muxSmoothnessScore:o");
        for name in names {
            assert!(name.ends_with(":n") || name.ends_with(":o") || name.ends_with(":b"));
        }
    }

    #[wasm_bindgen_test]
    fn every_published_kind_decodes() {
        let kinds = OBSERVATION_KINDS.split(',').count() as u32;
        assert_eq!(kinds, 24);
        for code in 0..kinds {
            assert!(observation(code, 1.0, 1.0, 1.0, 1.0, 1.0).is_some());
        }
        assert_eq!(
            observation(TICK, 0.0, 0.0, 0.0, 0.0, 0.0),
            Some(Observation::Tick)
        );
        assert_eq!(
            observation(OBSERVATION_KINDS.len() as u32, 0.0, 0.0, 0.0, 0.0, 0.0),
            None
        );
    }
}
