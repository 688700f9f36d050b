//! Render-freeze detection from presented-frame times.
//!
//! WebRTC rule (libwebrtc `VideoQualityObserver::OnRenderedFrame`): each gap between presented
//! frames is added to a moving window of the last 30 gaps; once the window holds at least 5, the
//! gap is a freeze if it is ≥ max(3 × mean, mean + 150 ms), the mean including the gap itself.
//! Solving for the gap `g` with `S` the sum of the `k` earlier gaps in the window (`n = k + 1`):
//! `g ≥ 3S / (n − 3)` and `g ≥ (S + 150 n) / (n − 1)`, so the freeze threshold is known before the
//! frame arrives (used for deadlines and for a freeze still open). libwebrtc rounds the mean down
//! to whole ms; here it is exact.
//! Agora rule: a gap ≥ 500 ms is a freeze.

/// Gaps in the WebRTC moving window (`kAvgInterframeDelaysWindowSizeFrames`).
pub(crate) const WINDOW: usize = 30;
/// Gaps needed before a freeze can be detected (`kMinFrameSamplesToDetectFreeze`).
const MIN_SAMPLES: usize = 5;

/// Freeze state: the last presented frame and the window of gaps.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Freeze {
    /// Time of the last presented frame counted, `None` after a break (pause, seek, hide...).
    pub(crate) base: Option<f64>,
    ring: [f64; WINDOW],
    len: usize,
    head: usize,
    /// WebRTC freezes and their summed gap, ms.
    pub(crate) count: u32,
    pub(crate) ms: f64,
    /// Agora freezes and their summed gap, ms.
    pub(crate) count_500: u32,
    pub(crate) ms_500: f64,
}

impl Default for Freeze {
    fn default() -> Self {
        Freeze {
            base: None,
            ring: [0.0; WINDOW],
            len: 0,
            head: 0,
            count: 0,
            ms: 0.0,
            count_500: 0,
            ms_500: 0.0,
        }
    }
}

impl Freeze {
    /// The WebRTC freeze threshold (ms) for the next gap, `None` until enough gaps were seen.
    pub(crate) fn webrtc_threshold(&self, min_increase_ms: f64) -> Option<f64> {
        // After adding the next gap the window holds the last WINDOW - 1 earlier gaps.
        let k = self.len.min(WINDOW - 1);
        let n = k + 1;
        if n < MIN_SAMPLES {
            return None;
        }
        let mut sum = 0.0;
        for i in 0..k {
            // Newest first: head - 1, head - 2, ...
            let idx = (self.head + WINDOW - 1 - i) % WINDOW;
            sum += self.ring.get(idx).copied().unwrap_or(0.0);
        }
        let n = n as f64;
        let by_ratio = 3.0 * sum / (n - 3.0);
        let by_increase = (sum + min_increase_ms * n) / (n - 1.0);
        Some(by_ratio.max(by_increase))
    }

    /// A frame presented at `t` while playback is counted: closes the gap from `base`.
    pub(crate) fn on_frame(&mut self, t: f64, min_increase_ms: f64, min_gap_ms: f64) {
        if let Some(b) = self.base {
            let gap = (t - b).max(0.0);
            let thr = self.webrtc_threshold(min_increase_ms);
            if let Some(slot) = self.ring.get_mut(self.head) {
                *slot = gap;
            }
            self.head = (self.head + 1) % WINDOW;
            self.len = (self.len + 1).min(WINDOW);
            self.count_gap(gap, thr, min_gap_ms);
        }
        self.base = Some(t);
    }

    /// Playback stops counting at `t` (pause, seek, hide, exit): a gap still open that already
    /// qualifies is counted as a freeze up to `t`; returns whether one was.
    pub(crate) fn on_break(&mut self, t: f64, min_increase_ms: f64, min_gap_ms: f64) -> bool {
        let mut counted = false;
        if let Some(b) = self.base.take() {
            let gap = (t - b).max(0.0);
            let thr = self.webrtc_threshold(min_increase_ms);
            counted = self.count_gap(gap, thr, min_gap_ms);
        }
        counted
    }

    fn count_gap(&mut self, gap: f64, webrtc_thr: Option<f64>, min_gap_ms: f64) -> bool {
        let mut counted = false;
        if webrtc_thr.is_some_and(|thr| gap >= thr) {
            self.count = self.count.saturating_add(1);
            self.ms += gap;
            counted = true;
        }
        if gap >= min_gap_ms {
            self.count_500 = self.count_500.saturating_add(1);
            self.ms_500 += gap;
            counted = true;
        }
        counted
    }
}
