//! Generic series helpers: nearest-rank quantiles and lagged Pearson correlation.

use serde::Serialize;

/// Nearest-rank quantile of a set of integers: the value at 1-based rank ⌈q·n⌉ of the sorted
/// values (q in (0, 1]; rank clamped to 1..=n). `None` for an empty set. Reorders `values`.
/// This is the rule used for watch-time median (q = 1/2) and p90 (q = 9/10).
pub fn nearest_rank(values: &mut [i64], num: u64, den: u64) -> Option<i64> {
    let n = values.len() as u64;
    if n == 0 || den == 0 {
        return None;
    }
    let rank = (num.saturating_mul(n)).div_ceil(den).clamp(1, n);
    let idx = (rank - 1) as usize;
    let (_, v, _) = values.select_nth_unstable(idx);
    Some(*v)
}

/// Pearson correlation at one lag.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LagPoint {
    /// Lag in series steps (minutes): `y[i + lag]` is paired with `x[i]`; positive = y lags x.
    pub lag: i64,
    /// Pearson r over the pairs where both values exist; null with < 3 pairs or zero variance.
    pub r: Option<f64>,
    /// Number of pairs used.
    pub pairs: u32,
}

/// Lagged correlation of a leading series `x` with a lagging series `y`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LagCorrelation {
    /// Name of the leading series.
    pub x: &'static str,
    /// Name of the lagging series.
    pub y: &'static str,
    /// The lag with the largest r (ties: smallest |lag|, then the negative one); null when no
    /// lag has an r.
    pub best_lag: Option<i64>,
    /// r at `best_lag`.
    pub best_r: Option<f64>,
    /// r for every lag from −max_lag to +max_lag.
    pub by_lag: Vec<LagPoint>,
}

/// Largest lag tried by [`lagged_correlation`] (cost is O(lags × series length)).
pub const MAX_LAG: usize = 120;

/// Pearson r between `x[i]` and `y[i + lag]` for lags −`max_lag`..=`max_lag` (at most
/// [`MAX_LAG`]), skipping missing
/// values (`None`), and the lag that maximizes r. Usable with any per-minute series (interaction
/// rate, latency, stall ratio vs conversion, dwell, ...).
pub fn lagged_correlation(
    x_name: &'static str,
    x: &[Option<f64>],
    y_name: &'static str,
    y: &[Option<f64>],
    max_lag: usize,
) -> LagCorrelation {
    let max_lag = max_lag.min(MAX_LAG).min(x.len().max(y.len())) as i64;
    let mut by_lag = Vec::with_capacity((2 * max_lag + 1) as usize);
    let mut best: Option<(f64, i64)> = None;
    for lag in -max_lag..=max_lag {
        let (r, pairs) = pearson_at(x, y, lag);
        if let Some(r) = r {
            let better = match best {
                None => true,
                Some((br, bl)) => {
                    r > br
                        || (r == br
                            && (lag.abs() < bl.abs() || (lag.abs() == bl.abs() && lag < bl)))
                }
            };
            if better {
                best = Some((r, lag));
            }
        }
        by_lag.push(LagPoint { lag, r, pairs });
    }
    LagCorrelation {
        x: x_name,
        y: y_name,
        best_lag: best.map(|b| b.1),
        best_r: best.map(|b| b.0),
        by_lag,
    }
}

fn pearson_at(x: &[Option<f64>], y: &[Option<f64>], lag: i64) -> (Option<f64>, u32) {
    let mut n = 0u32;
    let (mut sx, mut sy) = (0.0, 0.0);
    let pairs = || {
        x.iter().enumerate().filter_map(move |(i, xv)| {
            let j = i as i64 + lag;
            if j < 0 {
                return None;
            }
            let yv = y.get(j as usize).copied().flatten()?;
            let xv = (*xv)?;
            (xv.is_finite() && yv.is_finite()).then_some((xv, yv))
        })
    };
    for (a, b) in pairs() {
        n += 1;
        sx += a;
        sy += b;
    }
    if n < 3 {
        return (None, n);
    }
    let (mx, my) = (sx / n as f64, sy / n as f64);
    let (mut cxy, mut cxx, mut cyy) = (0.0, 0.0, 0.0);
    for (a, b) in pairs() {
        cxy += (a - mx) * (b - my);
        cxx += (a - mx) * (a - mx);
        cyy += (b - my) * (b - my);
    }
    if cxx <= 0.0 || cyy <= 0.0 {
        return (None, n);
    }
    (Some((cxy / (cxx.sqrt() * cyy.sqrt())).clamp(-1.0, 1.0)), n)
}
