//! Cross-stream comparison: the headline KPIs of two snapshots side by side with deltas.

use serde::Serialize;

use super::snapshot::{Rate, Snapshot};

/// One compared KPI.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CompareRow {
    /// KPI name (the snapshot field path, e.g. `result.gmv_fen`).
    pub kpi: &'static str,
    /// Value in stream A (null for a null rate).
    pub a: Option<f64>,
    /// Value in stream B.
    pub b: Option<f64>,
    /// b − a (null when either is null).
    pub delta: Option<f64>,
    /// (b − a) / |a| (null when either is null or a = 0).
    pub delta_ratio: Option<f64>,
}

/// Comparison of two streams.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    /// One row per KPI, in a fixed order.
    pub rows: Vec<CompareRow>,
}

fn int(v: i64) -> Option<f64> {
    Some(v as f64)
}

fn rate(r: &Rate) -> Option<f64> {
    r.value
}

fn kpis(s: &Snapshot) -> Vec<(&'static str, Option<f64>)> {
    let r = &s.result;
    let p = &s.process;
    vec![
        ("result.gmv_fen", int(r.gmv_fen)),
        ("result.orders", int(r.orders)),
        ("result.buyers", int(r.buyers)),
        ("result.aov", rate(&r.aov)),
        ("result.aov_per_order", rate(&r.aov_per_order)),
        ("result.gpm", rate(&r.gpm)),
        ("result.uv_value", rate(&r.uv_value)),
        ("result.refund_fen", int(r.refund_fen)),
        ("result.refund_rate", rate(&r.refund_rate)),
        ("process.viewers", int(p.viewers)),
        ("process.entries", int(p.entries)),
        ("process.pcu", int(p.pcu)),
        ("process.acu_first_instant", rate(&p.acu_first_instant)),
        ("process.acu_time_weighted", rate(&p.acu_time_weighted)),
        ("process.avg_watch_ms", rate(&p.avg_watch_ms)),
        (
            "process.watch_median_ms",
            p.watch_median_ms.map(|x| x as f64),
        ),
        ("process.watch_p90_ms", p.watch_p90_ms.map(|x| x as f64)),
        ("process.interaction_rate", rate(&p.interaction_rate)),
        ("process.follow_rate", rate(&p.follow_rate)),
        ("process.fan_club_rate", rate(&p.fan_club_rate)),
        (
            "process.product_exposure_rate",
            rate(&p.product_exposure_rate),
        ),
        ("process.exposure_click_rate", rate(&p.exposure_click_rate)),
        (
            "process.exposure_click_rate_count",
            rate(&p.exposure_click_rate_count),
        ),
        ("process.click_purchase_rate", rate(&p.click_purchase_rate)),
        ("process.view_purchase_rate", rate(&p.view_purchase_rate)),
        (
            "people.viewers.returning_share",
            rate(&s.people.viewers.returning_share),
        ),
        (
            "people.buyers.returning_share",
            rate(&s.people.buyers.returning_share),
        ),
    ]
}

/// Compares the headline KPIs of stream `a` and stream `b` (deltas are b − a).
pub fn compare(a: &Snapshot, b: &Snapshot) -> Comparison {
    let rows = kpis(a)
        .into_iter()
        .zip(kpis(b))
        .map(|((kpi, x), (_, y))| {
            let delta = match (x, y) {
                (Some(x), Some(y)) => Some(y - x),
                _ => None,
            };
            let delta_ratio = match (x, delta) {
                (Some(x), Some(d)) if x != 0.0 => Some(d / x.abs()),
                _ => None,
            };
            CompareRow {
                kpi,
                a: x,
                b: y,
                delta,
                delta_ratio,
            }
        })
        .collect();
    Comparison { rows }
}
