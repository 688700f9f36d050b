//! Streaming change detectors over a per-minute series: an EWMA control chart and a two-sided
//! tabular CUSUM, both standardised by a robust, outlier-clipped EWMA baseline, with warm-up,
//! hysteresis and cool-down.

use serde::Serialize;

/// Direction of a shift: the series went up or down relative to its baseline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The series is above its baseline.
    Up,
    /// The series is below its baseline.
    Down,
}

/// Which shift directions may raise an alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sides {
    /// Only upward shifts.
    Up,
    /// Only downward shifts.
    Down,
    /// Both directions.
    Both,
}

impl Sides {
    /// True when shifts in direction `d` may raise an alert.
    pub fn allows(self, d: Direction) -> bool {
        matches!(
            (self, d),
            (Sides::Both, _) | (Sides::Up, Direction::Up) | (Sides::Down, Direction::Down)
        )
    }
}

/// The control statistic a [`Detector`] computes.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Chart {
    /// EWMA control chart: `z_t = λ·x_t + (1 − λ)·z_{t−1}` (z starts at the baseline mean when
    /// the warm-up ends); statistic `(z_t − μ) / (σ·√(λ / (2 − λ)))` (asymptotic EWMA sigma);
    /// raised when it passes `raise` (in that sigma unit), released when it falls back below
    /// `release` (release < raise: hysteresis).
    Ewma {
        /// Smoothing weight λ in (0, 1].
        lambda: f64,
        /// Raise level L (asymptotic EWMA sigmas).
        raise: f64,
        /// Release level (asymptotic EWMA sigmas), below `raise`.
        release: f64,
    },
    /// Two-sided tabular CUSUM on the standardised value `u_t = (x_t − μ) / σ`:
    /// `S⁺_t = min(cap, max(0, S⁺_{t−1} + u_t − k))`, `S⁻_t = min(cap, max(0, S⁻_{t−1} − u_t − k))`
    /// (both start at 0 when the warm-up ends); raised when a side passes `h`, released when it
    /// falls back below `release`. The cap bounds how long the release takes after a long
    /// incident.
    Cusum {
        /// Reference value k (baseline sigmas): half the shift to detect.
        k: f64,
        /// Decision interval h (baseline sigmas).
        h: f64,
        /// Release level (baseline sigmas), below `h`.
        release: f64,
        /// Upper bound of each sum (baseline sigmas), ≥ h.
        cap: f64,
    },
}

impl Chart {
    /// Short name of the chart: "ewma" or "cusum".
    pub fn name(&self) -> &'static str {
        match self {
            Chart::Ewma { .. } => "ewma",
            Chart::Cusum { .. } => "cusum",
        }
    }
    /// The raise level (L for EWMA, h for CUSUM).
    pub fn raise_level(&self) -> f64 {
        match *self {
            Chart::Ewma { raise, .. } => raise,
            Chart::Cusum { h, .. } => h,
        }
    }
    /// The release level.
    pub fn release_level(&self) -> f64 {
        match *self {
            Chart::Ewma { release, .. } | Chart::Cusum { release, .. } => release,
        }
    }
}

/// Configuration of a [`Detector`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct DetectorConfig {
    /// The control chart.
    pub chart: Chart,
    /// Directions that may raise an alert.
    pub sides: Sides,
    /// Warm-up: the first `warmup` present values only estimate the baseline (their mean and
    /// sample standard deviation); no alert can be raised on them. At least 2.
    pub warmup: usize,
    /// Cool-down (minutes): after an alert clears at minute c, no new alert before minute
    /// c + cooldown + 1.
    pub cooldown_min: i64,
    /// Baseline EWMA weight α after the warm-up: `μ ← μ + α·d`, `var ← (1 − α)·(var + α·d²)`,
    /// with `d = clip(x) − μ`. 0 freezes the baseline at its warm-up estimate. The baseline is
    /// not updated while an alert is raised.
    pub baseline_alpha: f64,
    /// Outlier clipping of baseline updates: x is clipped to `μ ± clip·σ` before updating.
    pub clip: f64,
    /// Absolute floor of σ (series units).
    pub min_sigma: f64,
    /// Relative floor of σ: σ ≥ min_sigma_rel·|μ|.
    pub min_sigma_rel: f64,
    /// Minimum relative shift |shift| / |μ| for an alert to be raised (0 = no condition).
    pub min_shift_rel: f64,
    /// Rolling-window baseline: when > 0, μ = median and σ = 1.4826·MAD of the last `window`
    /// values taken into the baseline (the warm-up values, then every value while no alert is
    /// raised) instead of the EWMA baseline (`baseline_alpha` and `clip` unused).
    pub window: usize,
    /// Huber clipping of the chart input: x enters the EWMA / CUSUM as
    /// `clamp(x, μ − u_clip·σ, μ + u_clip·σ)`, so one outlier minute moves the statistic by at
    /// most `u_clip` sigmas (∞ = off).
    pub u_clip: f64,
}

impl DetectorConfig {
    /// An EWMA chart: λ = `lambda`, raise L, release, both sides, warm-up 10, cool-down 10,
    /// baseline α = 0.05, clip 3σ, no σ floors, no relative-shift condition.
    pub fn ewma(lambda: f64, raise: f64, release: f64) -> DetectorConfig {
        DetectorConfig {
            chart: Chart::Ewma {
                lambda,
                raise,
                release,
            },
            sides: Sides::Both,
            warmup: 10,
            cooldown_min: 10,
            baseline_alpha: 0.05,
            clip: 3.0,
            min_sigma: 0.0,
            min_sigma_rel: 0.0,
            min_shift_rel: 0.0,
            window: 0,
            u_clip: f64::INFINITY,
        }
    }
    /// A CUSUM chart: k, h, release, cap = 2h; otherwise as [`DetectorConfig::ewma`].
    pub fn cusum(k: f64, h: f64, release: f64) -> DetectorConfig {
        DetectorConfig {
            chart: Chart::Cusum {
                k,
                h,
                release,
                cap: 2.0 * h,
            },
            ..DetectorConfig::ewma(0.3, 3.0, 1.5)
        }
    }
    /// Same config with other sides.
    pub fn sides(mut self, sides: Sides) -> DetectorConfig {
        self.sides = sides;
        self
    }
    /// Same config with another warm-up.
    pub fn warmup(mut self, n: usize) -> DetectorConfig {
        self.warmup = n;
        self
    }
    /// Same config with another cool-down.
    pub fn cooldown(mut self, minutes: i64) -> DetectorConfig {
        self.cooldown_min = minutes;
        self
    }
    /// Same config with another baseline α.
    pub fn alpha(mut self, alpha: f64) -> DetectorConfig {
        self.baseline_alpha = alpha;
        self
    }
}

/// Robust running baseline: mean and sample variance of the warm-up values, then an EWMA of
/// mean and variance with updates clipped to `μ ± clip·σ`; or, with `window` > 0, median and
/// 1.4826·MAD of a rolling window (see [`DetectorConfig`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Baseline {
    n: usize,
    sum: f64,
    sumsq: f64,
    mean: f64,
    var: f64,
    buf: std::collections::VecDeque<f64>,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

impl Baseline {
    fn push_window(&mut self, x: f64, len: usize) {
        self.buf.push_back(x);
        while self.buf.len() > len {
            self.buf.pop_front();
        }
        let mut v: Vec<f64> = self.buf.iter().copied().collect();
        let m = median(&mut v);
        let mut dev: Vec<f64> = v.iter().map(|x| (x - m).abs()).collect();
        let mad = 1.4826 * median(&mut dev);
        self.mean = m;
        self.var = mad * mad;
    }
    fn new() -> Baseline {
        Baseline {
            n: 0,
            sum: 0.0,
            sumsq: 0.0,
            mean: 0.0,
            var: 0.0,
            buf: Default::default(),
        }
    }
    /// Baseline mean μ.
    pub fn mean(&self) -> f64 {
        self.mean
    }
    /// Baseline variance (before the σ floors).
    pub fn variance(&self) -> f64 {
        self.var
    }
}

/// What a detector's last update did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// The value was missing: nothing changed.
    Missing,
    /// Still in the warm-up.
    Warmup,
    /// No alert raised.
    Normal,
    /// An alert was raised at this value.
    Raised,
    /// An alert raised earlier is still raised.
    Holding,
    /// The raised alert cleared at this value.
    Cleared,
    /// The statistic passed the raise level but the cool-down (or the relative-shift condition)
    /// held the alert back.
    Suppressed,
}

/// The evidence of one detector update that raised an alert.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Signal {
    /// Minute of the value.
    pub minute: i64,
    /// The value x_t.
    pub value: f64,
    /// Baseline mean μ before this value.
    pub baseline_mean: f64,
    /// Baseline σ before this value (after the floors).
    pub baseline_sigma: f64,
    /// Chart statistic of the raised side (EWMA: standardised z; CUSUM: S⁺ or S⁻), in the
    /// chart's sigma unit.
    pub statistic: f64,
    /// The raise level it passed.
    pub threshold: f64,
    /// Estimated shift in baseline sigmas, signed. EWMA: `(z − μ) / σ`; CUSUM: the mean of the
    /// unclipped `(x − μ) / σ` over the N minutes since the raised side's sum was last 0 (equal
    /// to Montgomery's `±(k + S / N)` when neither `u_clip` nor the cap acted).
    pub shift_sigmas: f64,
    /// Estimated shift relative to the baseline mean: `shift_sigmas·σ / |μ|` (null when μ = 0).
    pub shift_rel: Option<f64>,
    /// Direction of the shift.
    pub direction: Direction,
}

/// One streaming detector (EWMA chart or CUSUM) over one series.
#[derive(Clone, Debug, PartialEq)]
pub struct Detector {
    cfg: DetectorConfig,
    base: Baseline,
    z: f64,
    s_up: f64,
    s_dn: f64,
    run_up: u32,
    run_dn: u32,
    raw_up: f64,
    raw_dn: f64,
    raised: Option<Direction>,
    last_clear: Option<i64>,
    last_minute: Option<i64>,
}

impl Detector {
    /// A detector in its warm-up.
    pub fn new(cfg: DetectorConfig) -> Detector {
        Detector {
            cfg,
            base: Baseline::new(),
            z: 0.0,
            s_up: 0.0,
            s_dn: 0.0,
            run_up: 0,
            run_dn: 0,
            raw_up: 0.0,
            raw_dn: 0.0,
            raised: None,
            last_clear: None,
            last_minute: None,
        }
    }
    /// The configuration.
    pub fn config(&self) -> &DetectorConfig {
        &self.cfg
    }
    /// The baseline.
    pub fn baseline(&self) -> &Baseline {
        &self.base
    }
    /// Baseline σ with the floors applied: `max(√var, min_sigma, min_sigma_rel·|μ|)`.
    pub fn sigma(&self) -> f64 {
        libm::sqrt(self.base.var.max(0.0))
            .max(self.cfg.min_sigma)
            .max(self.cfg.min_sigma_rel * self.base.mean.abs())
    }
    /// True once the warm-up is over.
    pub fn warmed_up(&self) -> bool {
        self.base.n >= self.cfg.warmup.max(2)
    }
    /// The direction of the alert currently raised, if any.
    pub fn raised(&self) -> Option<Direction> {
        self.raised
    }
    /// The EWMA z (EWMA chart only; the baseline mean before the warm-up ends).
    pub fn ewma_z(&self) -> f64 {
        self.z
    }
    /// The CUSUM sums (S⁺, S⁻) (CUSUM chart only).
    pub fn cusum_sums(&self) -> (f64, f64) {
        (self.s_up, self.s_dn)
    }

    /// Feeds the value of `minute` (`None` = missing, e.g. a rate with denominator 0). Values
    /// must come in increasing minute order; a minute not after the last one is ignored
    /// (returns `State::Missing`). Returns the state and, when an alert is raised, its signal.
    pub fn update(&mut self, minute: i64, x: Option<f64>) -> (State, Option<Signal>) {
        self.update_gated(minute, x, true)
    }

    /// [`Detector::update`] with a gate: when `allow_raise` is false a raise is held back
    /// (`State::Suppressed`) exactly as during a cool-down; the statistics still advance.
    pub fn update_gated(
        &mut self,
        minute: i64,
        x: Option<f64>,
        allow_raise: bool,
    ) -> (State, Option<Signal>) {
        if self.last_minute.is_some_and(|m| minute <= m) {
            return (State::Missing, None);
        }
        let x = match x {
            Some(x) if x.is_finite() => x,
            _ => return (State::Missing, None),
        };
        self.last_minute = Some(minute);
        let warm = self.cfg.warmup.max(2);
        if self.base.n < warm {
            let b = &mut self.base;
            b.n += 1;
            b.sum += x;
            b.sumsq += x * x;
            let n = b.n as f64;
            b.mean = b.sum / n;
            b.var = if b.n > 1 {
                ((b.sumsq - b.sum * b.sum / n) / (n - 1.0)).max(0.0)
            } else {
                0.0
            };
            if self.cfg.window > 0 {
                b.push_window(x, self.cfg.window.max(warm));
            }
            self.z = b.mean;
            return (State::Warmup, None);
        }
        let mu = self.base.mean;
        let sigma = self.sigma();
        let xr = x;
        let x = if self.cfg.u_clip.is_finite() {
            let c = self.cfg.u_clip * sigma;
            x.clamp(mu - c, mu + c)
        } else {
            x
        };
        let u = if sigma > 0.0 { (x - mu) / sigma } else { 0.0 };
        let u_raw = if sigma > 0.0 { (xr - mu) / sigma } else { 0.0 };
        // statistics per side (up, down) and shift estimates (signed, sigmas)
        let (stat_up, stat_dn, shift_up, shift_dn) = match self.cfg.chart {
            Chart::Ewma { lambda, .. } => {
                self.z = lambda * x + (1.0 - lambda) * self.z;
                let s = sigma * libm::sqrt(lambda / (2.0 - lambda));
                let e = if s > 0.0 { (self.z - mu) / s } else { 0.0 };
                let shift = if sigma > 0.0 {
                    (self.z - mu) / sigma
                } else {
                    0.0
                };
                (e, -e, shift, shift)
            }
            Chart::Cusum { k, cap, .. } => {
                self.s_up = (self.s_up + u - k).max(0.0).min(cap);
                self.s_dn = (self.s_dn - u - k).max(0.0).min(cap);
                if self.s_up > 0.0 {
                    self.run_up += 1;
                    self.raw_up += u_raw;
                } else {
                    (self.run_up, self.raw_up) = (0, 0.0);
                }
                if self.s_dn > 0.0 {
                    self.run_dn += 1;
                    self.raw_dn += u_raw;
                } else {
                    (self.run_dn, self.raw_dn) = (0, 0.0);
                }
                let su = if self.run_up > 0 {
                    self.raw_up / self.run_up as f64
                } else {
                    0.0
                };
                let sd = if self.run_dn > 0 {
                    self.raw_dn / self.run_dn as f64
                } else {
                    0.0
                };
                (self.s_up, self.s_dn, su, sd)
            }
        };
        let raise = self.cfg.chart.raise_level();
        let release = self.cfg.chart.release_level();
        let mut state = State::Normal;
        let mut signal = None;
        if let Some(d) = self.raised {
            let stat = if d == Direction::Up { stat_up } else { stat_dn };
            if stat < release {
                self.raised = None;
                self.last_clear = Some(minute);
                state = State::Cleared;
            } else {
                state = State::Holding;
            }
        } else {
            let cand = [
                (Direction::Up, stat_up, shift_up),
                (Direction::Down, stat_dn, shift_dn),
            ]
            .into_iter()
            .filter(|(d, s, _)| self.cfg.sides.allows(*d) && *s > raise)
            .max_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((d, stat, shift)) = cand {
                let cooling = self
                    .last_clear
                    .is_some_and(|c| minute <= c + self.cfg.cooldown_min);
                let shift_rel = (mu != 0.0).then(|| shift * sigma / mu.abs());
                let big_enough = self.cfg.min_shift_rel <= 0.0
                    || shift_rel.is_some_and(|r| r.abs() >= self.cfg.min_shift_rel);
                if cooling || !big_enough || !allow_raise {
                    state = State::Suppressed;
                } else {
                    self.raised = Some(d);
                    state = State::Raised;
                    signal = Some(Signal {
                        minute,
                        value: xr,
                        baseline_mean: mu,
                        baseline_sigma: sigma,
                        statistic: stat,
                        threshold: raise,
                        shift_sigmas: shift,
                        shift_rel,
                        direction: d,
                    });
                }
            }
        }
        let x = xr;
        if self.raised.is_none() && state != State::Cleared {
            let a = self.cfg.baseline_alpha;
            if self.cfg.window > 0 {
                self.base.push_window(x, self.cfg.window.max(warm));
            } else if a > 0.0 {
                let c = self.cfg.clip * sigma;
                let xc = if c > 0.0 { x.clamp(mu - c, mu + c) } else { x };
                let d = xc - mu;
                self.base.mean = mu + a * d;
                self.base.var = (1.0 - a) * (self.base.var + a * d * d);
            }
        }
        (state, signal)
    }
}
