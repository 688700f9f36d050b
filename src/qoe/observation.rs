//! What the binding feeds the monitor. The time of each observation is passed separately, in ms,
//! on one client clock (for glass-to-glass latency it must be an epoch clock such as
//! `performance.timeOrigin + performance.now()`, the same clock as the time-sync probe times).

/// One timestamped observation from the page, the media element or the player library.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Observation {
    /// `play()` was called or autoplay was attempted: the viewer's intent to watch (starts the view).
    PlayIntent {
        /// The attempt is an autoplay (no user gesture).
        autoplay: bool,
    },
    /// The `play()` promise was rejected by the autoplay policy; the element stays paused.
    AutoplayBlocked,
    /// A source was attached (`src` set, `load()`, MSE attach): start of load-to-first-frame.
    SourceAttached,
    /// The source was replaced by another one: this view ends (exit); use a new monitor for the next.
    SourceChanged,
    /// The media element fired `play` (paused became false).
    Play,
    /// The media element fired `pause`.
    Pause,
    /// The media element fired `playing`.
    Playing,
    /// The media element fired `waiting` (a hint only; a stall needs the playhead to stop).
    Waiting,
    /// The media element fired `seeking`.
    Seeking,
    /// The media element fired `seeked`.
    Seeked,
    /// The media element fired `ended`.
    Ended,
    /// A `timeupdate` with the element's `currentTime`.
    TimeUpdate {
        /// `currentTime`, seconds.
        position_s: f64,
    },
    /// A presented frame from `requestVideoFrameCallback`; the observation time is the frame's
    /// `metadata.expectedDisplayTime` (when it reaches the screen; the callback's `now` if unknown).
    Frame {
        /// `metadata.mediaTime`, seconds.
        media_time_s: f64,
        /// `metadata.presentedFrames`.
        presented_frames: u32,
        /// The playhead (s) at the observation time: `currentTime` read in the same callback,
        /// moved to the observation time at the playback rate (while playing), so that a callback
        /// delayed by a busy main thread does not look like a playhead that fell behind. The stall
        /// rule measures how far it fell behind the wall clock. NaN when unknown: `media_time_s`
        /// is used instead.
        position_s: f64,
        /// `playbackRate` at the callback (≤ 0 or NaN: taken as 1): media seconds per wall second.
        playback_rate: f64,
    },
    /// `visibilitychange`.
    Visibility {
        /// `document.visibilityState == "hidden"`.
        hidden: bool,
    },
    /// `pagehide`: the page is going away; the view ends.
    PageHide,
    /// A media or player error.
    Error {
        /// `MediaError.code` (1..4) or a player-specific non-zero code.
        code: u16,
        /// The error stops playback (the player gave up).
        fatal: bool,
    },
    /// `getVideoPlaybackQuality()` cumulative counters.
    Quality {
        /// `droppedVideoFrames`.
        dropped_frames: u32,
        /// `totalVideoFrames`.
        total_frames: u32,
    },
    /// Bitrate of the rendition now playing, bits per second (0 is ignored).
    Bitrate {
        /// Bits per second.
        bps: u32,
    },
    /// Element and video sizes, for upscale/downscale.
    Dimensions {
        /// Element content width, CSS pixels.
        element_css_w: f64,
        /// Element content height, CSS pixels.
        element_css_h: f64,
        /// `window.devicePixelRatio`.
        device_pixel_ratio: f64,
        /// `videoWidth`.
        video_w: f64,
        /// `videoHeight`.
        video_h: f64,
    },
    /// A time-sync probe: request sent at `sent_ms`, answer received at `received_ms` (client
    /// clock), carrying the server time `server_ms`. Offset = server + RTT/2 − received.
    TimeSync {
        /// Client time the request was sent, ms.
        sent_ms: f64,
        /// Client time the answer arrived, ms.
        received_ms: f64,
        /// Server time in the answer, ms (epoch).
        server_ms: f64,
    },
    /// Program-date-time (server epoch ms) of the frame being presented now.
    FrameProgramTime {
        /// Epoch ms at which the presented frame was stamped by the origin.
        program_date_ms: f64,
    },
    /// Distance from the playhead to the live edge (what hls.js calls latency), seconds.
    LiveEdge {
        /// Seconds behind the live edge.
        distance_s: f64,
    },
    /// Time to first byte of a media segment (Resource Timing `responseStart − requestStart`).
    SegmentTtfb {
        /// Milliseconds.
        ttfb_ms: f64,
    },
    /// The monitor's environment lacks a capability or misbehaved: `DEGRADED_*` bits (see
    /// [`crate::qoe::QoeMetrics::degraded`]), OR-ed into what was reported before.
    Degraded {
        /// `DEGRADED_*` bits.
        flags: u32,
    },
    /// A timer check requested through [`crate::qoe::Monitor::next_deadline_ms`]; carries nothing.
    Tick,
}
