//! Scores: the stalling part of ITU-T P.1203.3 and Mux-style sub-scores.
//!
//! # ITU-T P.1203.3 stalling (Rec. ITU-T P.1203.3 (2017) + Amd. 1, clause 8)
//! With `T` the media duration (s), stalling events `i` at media positions `p_i` (s) of lengths
//! `l_i` (s), `numStalls` events:
//! - clause 8.1.1.1: `totalStallLen = Σ l_i · w(T − p_i)` with the weight
//!   `w(x) = c_ref7 + (1 − c_ref7) · exp(x · ln 0.5 / c_ref8)` (the clause's constrained
//!   exponential; 1 for a stall at the end, → c_ref7 for old stalls), `c_ref7 = 0.48412879`,
//!   `c_ref8 = 10`;
//! - clause 8.1.1.2: `avgStallInterval = Σ (p_{i+1} − p_i) / (numStalls − 1)` when
//!   `numStalls > 1`, else 0;
//! - Eq. 29: `stallingImpact = exp(−numStalls / s1) · exp(−totalStallLen / T / s2) ·
//!   exp(−avgStallInterval / T / s3)`, `s1 = 9.35158684`, `s2 = 0.91890815`, `s3 = 11.0567558`;
//! - Eq. 31: `O.23 = 1 + 4 · stallingImpact` (the stalling-only quality, 1..5).
//!
//! Coefficients as published in the recommendation (also in the open reference implementation
//! `itu-p1203`, `p1203Pq.py`). Here the media time is the content played in this view (playing
//! time, stalls excluded), so `p_i` is the playing time before stall `i` and `T` the playing
//! time so far; the initial loading delay is an event at position 0 (P.1203 input I.23).
//! The sum is kept incrementally and exactly: `Σ l_i · 0.5^((T − p_i)/c_ref8)` is rescaled as
//! `T` grows, so any number of stalls costs O(1) memory.
//!
//! # Mux-style sub-scores (docs.mux.com, "Startup Time" and "Smoothness" metric guides)
//! - startup time score = `100 · 8 / (8 + startup_s)`;
//! - smoothness score = mean of `100 / sqrt(1 + (rebuffer_count / 2)²)` and
//!   `100 · exp(−10 · rebuffer_fraction)`, the fraction being rebuffer time / watch time.

/// P.1203.3 clause 8.1.1.1 weight constant `c_ref7`.
pub const P1203_C_REF7: f64 = 0.484_128_79;
/// P.1203.3 clause 8.1.1.1 half-life constant `c_ref8` (s).
pub const P1203_C_REF8: f64 = 10.0;
/// P.1203.3 Eq. 29 constant `s1`.
pub const P1203_S1: f64 = 9.351_586_84;
/// P.1203.3 Eq. 29 constant `s2`.
pub const P1203_S2: f64 = 0.918_908_15;
/// P.1203.3 Eq. 29 constant `s3`.
pub const P1203_S3: f64 = 11.056_755_8;

/// `0.5^(x / c_ref8)`, the decaying part of the clause 8.1.1.1 weight.
fn decay(x_s: f64) -> f64 {
    crate::math::exp(x_s * core::f64::consts::LN_2 / -P1203_C_REF8)
}

/// Running stalling features of P.1203.3 clause 8.1.1 (positions non-decreasing).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct P1203Stalls {
    /// Number of events.
    n: u32,
    /// Σ l_i, seconds.
    len_sum: f64,
    /// Σ l_i · 0.5^((ref_p − p_i)/c_ref8).
    decayed: f64,
    /// Position the `decayed` sum refers to.
    ref_p: f64,
    /// First and last event positions.
    first_p: f64,
    last_p: f64,
}

impl P1203Stalls {
    /// Adds a stalling event of `len_s` seconds at media position `pos_s` (≥ earlier positions).
    pub(crate) fn add(&mut self, pos_s: f64, len_s: f64) {
        if !(pos_s.is_finite() && len_s.is_finite() && len_s > 0.0) {
            return;
        }
        let pos_s = pos_s.max(self.ref_p).max(0.0);
        if self.n == 0 {
            self.first_p = pos_s;
            self.decayed = 0.0;
        } else {
            self.decayed *= decay(pos_s - self.ref_p);
        }
        self.decayed += len_s;
        self.ref_p = pos_s;
        self.last_p = pos_s;
        self.len_sum += len_s;
        self.n = self.n.saturating_add(1);
    }

    /// Eq. 29 stalling impact for media duration `t_s`; `None` when `t_s` is not positive.
    pub(crate) fn stalling_impact(&self, t_s: f64) -> Option<f64> {
        if !(t_s.is_finite() && t_s > 0.0) {
            return None;
        }
        let n = f64::from(self.n);
        let (total, avg_interval) = if self.n == 0 {
            (0.0, 0.0)
        } else {
            let recent = self.decayed * decay((t_s - self.ref_p).max(0.0));
            let total = P1203_C_REF7 * self.len_sum + (1.0 - P1203_C_REF7) * recent;
            let avg = if self.n > 1 {
                (self.last_p - self.first_p) / (n - 1.0)
            } else {
                0.0
            };
            (total, avg)
        };
        let si = crate::math::exp(-n / P1203_S1)
            * crate::math::exp(-total / t_s / P1203_S2)
            * crate::math::exp(-avg_interval / t_s / P1203_S3);
        si.is_finite().then_some(si)
    }
}

/// Mux-style startup time score, 0..100: `100 · 8 / (8 + startup_s)`.
pub fn mux_startup_score(startup_ms: f64) -> Option<f64> {
    (startup_ms.is_finite() && startup_ms >= 0.0).then(|| 100.0 * 8.0 / (8.0 + startup_ms / 1000.0))
}

/// Mux-style smoothness score, 0..100: mean of `100 / sqrt(1 + (count/2)²)` and
/// `100 · exp(−10 · rebuffer_fraction)`.
pub fn mux_smoothness_score(rebuffer_count: u32, rebuffer_fraction: f64) -> Option<f64> {
    if !(rebuffer_fraction.is_finite() && rebuffer_fraction >= 0.0) {
        return None;
    }
    let half = f64::from(rebuffer_count) / 2.0;
    let by_count = 100.0 / crate::math::sqrt(1.0 + half * half);
    let by_time = 100.0 * crate::math::exp(-10.0 * rebuffer_fraction);
    Some((by_count + by_time) / 2.0)
}
