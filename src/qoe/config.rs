//! Tunables of the QoE state machine.

/// Thresholds and caps of a [`crate::qoe::Monitor`]. Invalid values (NaN, infinite, ≤ 0) are
/// replaced by the defaults when the monitor is built.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QoeConfig {
    /// A stall is counted once the playhead has not advanced for at least this long (ms) while
    /// playback is wanted. Default 100 (the minimum detectable stall).
    pub stall_threshold_ms: f64,
    /// Agora's freeze rule: a gap between presented frames of at least this many ms is a freeze.
    /// Default 500.
    pub freeze_min_gap_ms: f64,
    /// WebRTC's freeze rule: the least increase of a gap over the mean gap (ms) that is a freeze
    /// (libwebrtc `kMinIncreaseForFreezeMs`). Default 150.
    pub freeze_min_increase_ms: f64,
    /// Period of `timeupdate` events (ms), used only when no presented-frame callbacks arrive:
    /// a stall must then exceed `stall_threshold_ms + timeupdate_period_ms` without progress.
    /// Default 250 (the HTML upper bound).
    pub timeupdate_period_ms: f64,
    /// Count the startup delay as a stalling event at media position 0 in the ITU-T P.1203.3
    /// stall impact, as P.1203 input I.23 does. Default true.
    pub p1203_include_initial_loading: bool,
    /// How many of the most recent stalls are kept with their details (0..=256). Default 32.
    pub max_recent_stalls: u32,
}

impl Default for QoeConfig {
    fn default() -> Self {
        QoeConfig {
            stall_threshold_ms: 100.0,
            freeze_min_gap_ms: 500.0,
            freeze_min_increase_ms: 150.0,
            timeupdate_period_ms: 250.0,
            p1203_include_initial_loading: true,
            max_recent_stalls: 32,
        }
    }
}

/// Largest cap on the recent-stall list.
pub(crate) const MAX_RECENT_STALLS: u32 = 256;

/// `v` if it is a finite, positive and sane duration, else `default`.
fn positive_or(v: f64, default: f64) -> f64 {
    if v.is_finite() && v > 0.0 && v <= 3_600_000.0 {
        v
    } else {
        default
    }
}

impl QoeConfig {
    /// The configuration with every invalid value replaced by its default.
    pub(crate) fn sanitized(self) -> QoeConfig {
        let d = QoeConfig::default();
        QoeConfig {
            stall_threshold_ms: positive_or(self.stall_threshold_ms, d.stall_threshold_ms),
            freeze_min_gap_ms: positive_or(self.freeze_min_gap_ms, d.freeze_min_gap_ms),
            freeze_min_increase_ms: positive_or(
                self.freeze_min_increase_ms,
                d.freeze_min_increase_ms,
            ),
            timeupdate_period_ms: if self.timeupdate_period_ms.is_finite()
                && self.timeupdate_period_ms >= 0.0
                && self.timeupdate_period_ms <= 60_000.0
            {
                self.timeupdate_period_ms
            } else {
                d.timeupdate_period_ms
            },
            p1203_include_initial_loading: self.p1203_include_initial_loading,
            max_recent_stalls: self.max_recent_stalls.min(MAX_RECENT_STALLS),
        }
    }
}
