//! What the monitor reports.

/// [`QoeMetrics::degraded`] bit: no `requestVideoFrameCallback`. Progress comes from `timeupdate`
/// (≤ 4 Hz): the first frame is the `playing` event confirmed by an advancing playhead, a stall
/// needs `stall_threshold_ms + timeupdate_period_ms` without progress and its duration is the
/// playhead's shortfall between `timeupdate`s; no render freezes, no presented-frame latency.
pub const DEGRADED_NO_FRAME_CALLBACKS: u32 = 1;
/// Bit: no `getVideoPlaybackQuality()`: dropped frames are not measured.
pub const DEGRADED_NO_PLAYBACK_QUALITY: u32 = 1 << 1;
/// Bit: no `navigator.sendBeacon`: summaries at page hide/close go by `fetch(keepalive)`.
pub const DEGRADED_NO_BEACON: u32 = 1 << 2;
/// Bit: `localStorage` is missing or throws: an unsent summary is not kept across reloads.
pub const DEGRADED_NO_STORAGE: u32 = 1 << 3;
/// Bit: the media element left the document during the view (the browser paused it).
pub const DEGRADED_ELEMENT_REMOVED: u32 = 1 << 4;
/// Bit: a monitor callback threw and was contained: some observations may be missing.
pub const DEGRADED_FAULT: u32 = 1 << 5;
/// Bit: every time-sync probe failed: glass-to-glass latency is on the client clock (offset 0).
pub const DEGRADED_NO_TIME_SYNC: u32 = 1 << 6;
/// Bit: the page's `performance.now` is not the platform clock (patched): the monitor timed
/// everything with event timestamps instead.
pub const DEGRADED_CLOCK_PATCHED: u32 = 1 << 7;
/// Bit: no `ResizeObserver`: the element's size is read only at start and on video size changes.
pub const DEGRADED_NO_RESIZE_OBSERVER: u32 = 1 << 8;
/// Names of the `DEGRADED_*` bits, comma-separated, bit 0 first.
pub const DEGRADED_NAMES: &str = "noFrameCallbacks,noPlaybackQuality,noBeacon,noStorage,\
elementRemoved,fault,noTimeSync,clockPatched,noResizeObserver";

/// One stall, as kept in the bounded recent-stall list.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StallRecord {
    /// Media position (s) where playback stopped (last progress), if known.
    pub position_s: Option<f64>,
    /// Client time (ms) the stall began (back-dated): the end minus the duration for a stall that
    /// ended in progress, else the last progress before it.
    pub start_ms: f64,
    /// Duration (ms): ended by a new frame, the whole gap between the displays of the last frame
    /// before and that frame (a stall once the playhead's shortfall in the gap — wall time minus
    /// the wall-equivalent playhead advance — reaches the threshold); ended by a `timeupdate`
    /// (no frame callbacks), the shortfall; else the time from the last progress to the pause,
    /// seek, hide or exit that ended it.
    pub duration_ms: f64,
}

/// QoE metrics of one view at a point in time. Durations are wall-clock ms on the client clock;
/// a rate whose denominator is 0 is `None`. "Playing time" is wall time after the first frame while
/// playback is wanted (not paused, not seeking, not ended, not resuming from a pause), the page is
/// visible, and no stall is running.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct QoeMetrics {
    // ---- startup ----
    /// Play intent → first presented frame while playback is wanted, ms, time paused in between
    /// excluded. `None` until the first frame.
    pub startup_ms: Option<f64>,
    /// Source attached → first presented frame (even a preloaded one while paused), ms.
    pub load_to_first_frame_ms: Option<f64>,
    /// The first frame after the play intent has been presented.
    pub started: bool,
    /// An autoplay attempt was blocked by the browser.
    pub autoplay_blocked: bool,
    /// A frame had already been presented (preloaded) when the play intent came.
    pub preloaded: bool,
    /// The page was hidden at some time between the play intent and the first frame.
    pub hidden_during_startup: bool,
    /// Play intent, no first frame, no fatal error, and the page is hidden or was closed or the
    /// source changed.
    pub exit_before_start: bool,
    /// A fatal error happened before the first frame.
    pub startup_failure: bool,
    /// A fatal error happened after the first frame.
    pub playback_failure: bool,
    /// Code of the fatal error (MediaError 1..4 or player-specific); 0 when none.
    pub failure_code: u32,
    /// Errors observed, fatal or not.
    pub error_count: u32,
    /// What the monitor could not measure as designed in this environment: an OR of
    /// `DEGRADED_*` bits (0 = fully capable). Each bit names what is missing and how the
    /// affected metrics are measured instead.
    pub degraded: u32,
    /// Playback reached the end (`ended`) and was not restarted.
    pub ended: bool,

    // ---- stalls (rebuffering) ----
    /// Stalls: after the first frame, the playhead falling behind the wall clock by ≥
    /// `stall_threshold_ms` between two progress observations while playback is wanted and the
    /// page visible (see the `monitor` stall rule); seeks, pauses, startup and hidden time excluded.
    /// Includes an ongoing stall.
    pub stall_count: u32,
    /// Summed stall duration, ms (an ongoing stall counts up to now).
    pub stall_ms: f64,
    /// A stall is running now (counted in `stall_count` and `stall_ms`).
    pub stall_ongoing: bool,
    /// Duration of the ongoing stall so far, ms (0 when none).
    pub stall_ongoing_ms: f64,
    /// `stall_ms / (playing_ms + stall_ms)`.
    pub rebuffer_ratio: Option<f64>,
    /// `stall_ms / watch_ms` (Mux "rebuffer percentage", as a fraction).
    pub rebuffer_ratio_watch: Option<f64>,
    /// `stall_count / (playing_ms / 60 000)`: stalls per playing minute.
    pub stall_frequency_per_min: Option<f64>,

    // ---- render freezes ----
    /// WebRTC freezes: gap between presented frames ≥ max(3 × mean, mean + 150 ms), the mean
    /// taken over the last 30 gaps including this one, at least 5 gaps (libwebrtc
    /// `VideoQualityObserver`); only gaps wholly inside playing-or-stalled visible time. A gap
    /// still open that already qualifies is included.
    pub freeze_count: u32,
    /// Summed duration of WebRTC freezes (whole gaps), ms.
    pub freeze_ms: f64,
    /// Agora freezes: gaps between presented frames ≥ `freeze_min_gap_ms` (500), same gating.
    pub freeze_500_count: u32,
    /// Summed duration of Agora freezes (whole gaps), ms.
    pub freeze_500_ms: f64,

    // ---- dropped frames ----
    /// Σ Δ`droppedVideoFrames` between consecutive quality samples after the first frame with no
    /// seek or hidden time between them.
    pub dropped_frames: u32,
    /// Σ Δ`totalVideoFrames` over the same intervals.
    pub total_frames: u32,
    /// `dropped_frames / total_frames`.
    pub dropped_frame_ratio: Option<f64>,

    // ---- seeks ----
    /// Seeks started (`seeking` outside a seek; repeated `seeking` while scrubbing is one seek).
    pub seek_count: u32,
    /// Last seek latency: `seeking` → first frame or `playing` after `seeked` (→ `seeked` when
    /// paused), ms.
    pub seek_latency_last_ms: Option<f64>,
    /// Mean seek latency over completed seeks, ms.
    pub seek_latency_mean_ms: Option<f64>,
    /// Largest seek latency, ms.
    pub seek_latency_max_ms: Option<f64>,

    // ---- latency ----
    /// Server clock − client clock, ms, from the lowest-RTT time-sync probe:
    /// `server_ms + rtt/2 − received_ms`.
    pub clock_offset_ms: Option<f64>,
    /// RTT of the last valid time-sync probe, ms.
    pub rtt_last_ms: Option<f64>,
    /// Smallest time-sync RTT, ms.
    pub rtt_min_ms: Option<f64>,
    /// Glass-to-glass latency of the last sample: `(t + clock_offset) − program_date_ms`, ms
    /// (offset 0 while no probe succeeded; see `clock_offset_ms`).
    pub latency_last_ms: Option<f64>,
    /// Sample mean of glass-to-glass latency, ms.
    pub latency_mean_ms: Option<f64>,
    /// Smallest glass-to-glass latency sample, ms.
    pub latency_min_ms: Option<f64>,
    /// Largest glass-to-glass latency sample, ms.
    pub latency_max_ms: Option<f64>,
    /// Number of glass-to-glass latency samples.
    pub latency_samples: u32,
    /// Last live-edge distance, s.
    pub live_edge_last_s: Option<f64>,
    /// Sample mean of live-edge distance, s.
    pub live_edge_mean_s: Option<f64>,
    /// Mean segment TTFB, ms.
    pub segment_ttfb_mean_ms: Option<f64>,
    /// Segment TTFB samples.
    pub segment_ttfb_count: u32,

    // ---- bitrate and scaling ----
    /// Rendition changes to a higher bitrate.
    pub bitrate_switch_up: u32,
    /// Rendition changes to a lower bitrate.
    pub bitrate_switch_down: u32,
    /// Bitrate of the current rendition, bit/s.
    pub bitrate_last_bps: Option<f64>,
    /// Time-weighted bitrate: Σ(bitrate × playing ms) / playing ms with a known bitrate, bit/s.
    pub bitrate_mean_bps: Option<f64>,
    /// Playing time with the video upscaled (fit scale > 1), ms. The fit scale is
    /// `min(element_w × dpr / video_w, element_h × dpr / video_h)` (physical pixels, contain fit).
    pub upscale_ms: f64,
    /// Playing time with the video downscaled (fit scale < 1), ms.
    pub downscale_ms: f64,
    /// Time-weighted mean of `max(scale − 1, 0)` over playing time with known sizes (Mux upscale
    /// percentage, as a fraction).
    pub upscale_mean: Option<f64>,
    /// Time-weighted mean of `max(1 − scale, 0)` over playing time with known sizes.
    pub downscale_mean: Option<f64>,

    // ---- time ----
    /// Wall time attempting to watch: from the play intent to end/exit, while not paused and not
    /// ended (startup, playing, stalls, seeks and hidden playback included), ms.
    pub watch_ms: f64,
    /// Playing time (see the type doc), ms.
    pub playing_ms: f64,
    /// Wall time the page was hidden between the play intent and exit, ms.
    pub hidden_ms: f64,
    /// Wall time paused (user, autoplay block or browser) between the play intent and exit, ms.
    pub paused_ms: f64,

    // ---- scores ----
    /// ITU-T P.1203.3 Eq. 29 stalling impact (0..1, 1 = no stall) over the playing time, startup
    /// delay as an event at position 0 if configured. `None` before any playing time.
    pub p1203_stall_impact: Option<f64>,
    /// ITU-T P.1203.3 Eq. 31 `O.23 = 1 + 4 × stall impact` (1..5).
    pub p1203_o23: Option<f64>,
    /// Mux-style startup score `100 · 8 / (8 + startup_s)`.
    pub mux_startup_score: Option<f64>,
    /// Mux-style smoothness score: mean of `100 / sqrt(1 + (stall_count/2)²)` and
    /// `100 · exp(−10 · rebuffer_ratio_watch)`.
    pub mux_smoothness_score: Option<f64>,
}
