//! Ready-made alert rules over a room's minute rows and per-region QoE series, and the
//! [`AlertEngine`] that runs them minute by minute.

use std::collections::BTreeMap;

use serde::Serialize;

use super::binomial::{BinomialConfig, BinomialCusum};
use super::detect::{Detector, DetectorConfig, Direction, Sides, State};
use crate::kpi::{MinuteRow, Snapshot};

/// Rule id: the per-minute interaction rate (interaction people / online) dropped.
pub const RULE_INTERACTION_DROP: &str = "interaction_drop";
/// Rule id: 在线人数 (online viewers) fell off a cliff.
pub const RULE_ONLINE_CLIFF: &str = "online_cliff";
/// Rule id: the click→order rate (paid orders / clicks per minute) collapsed while clicks held.
pub const RULE_CONVERSION_COLLAPSE: &str = "conversion_collapse";
/// Rule id: a region's stall rate (卡顿率) spiked.
pub const RULE_STALL_SPIKE: &str = "stall_spike";
/// Rule id: a region's live latency spiked.
pub const RULE_LATENCY_SPIKE: &str = "latency_spike";

/// Suggested action: prompt the host to change the script or start a lottery.
pub const ACTION_CHANGE_SCRIPT: &str = "change_script_or_lottery";
/// Suggested action: switch the region's CDN / route (an event the host page wires).
pub const ACTION_SWITCH_ROUTE: &str = "switch_cdn_route";
/// Suggested action: check the checkout / product links (clicks arrive, orders do not).
pub const ACTION_CHECK_CHECKOUT: &str = "check_checkout";
/// Suggested action: check the stream and the traffic sources (viewers are leaving).
pub const ACTION_CHECK_STREAM: &str = "check_stream_and_traffic";

/// An alert: one incident of one rule on one series, with its evidence.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alert {
    /// Rule id (`RULE_*` constants or a caller's own id).
    pub rule: String,
    /// Chart that raised it: "ewma", "cusum" or "binomial_cusum".
    pub detector: &'static str,
    /// Name of the series (e.g. "interaction_rate", "stall_rate").
    pub series: String,
    /// Region of a QoE rule (null for room rules).
    pub region: Option<String>,
    /// Minute index (from the stream start) of the value that raised the alert.
    pub minute: i64,
    /// The value at that minute.
    pub value: f64,
    /// Baseline mean before that minute.
    pub baseline_mean: f64,
    /// Baseline sigma before that minute.
    pub baseline_sigma: f64,
    /// Chart statistic that passed the threshold.
    pub statistic: f64,
    /// The threshold it passed.
    pub threshold: f64,
    /// Estimated shift, baseline sigmas (signed).
    pub shift_sigmas: f64,
    /// Estimated shift relative to the baseline mean (signed; null when the mean is 0).
    pub shift_rel: Option<f64>,
    /// Direction of the shift.
    pub direction: Direction,
    /// Minute index of the first value of `window`.
    pub window_start_minute: i64,
    /// The series' recent values up to and including `minute` (null = missing).
    pub window: Vec<Option<f64>>,
    /// Suggested action (`ACTION_*` constants).
    pub action: &'static str,
}

/// A series watched by one detector, with its recent window.
#[derive(Clone, Debug)]
pub struct Monitor {
    /// Rule id of alerts it raises.
    pub rule: String,
    /// Series name.
    pub series: String,
    /// Region (QoE rules).
    pub region: Option<String>,
    /// Suggested action.
    pub action: &'static str,
    detector: Detector,
    window_len: usize,
    window: std::collections::VecDeque<(i64, Option<f64>)>,
}

impl Monitor {
    /// A monitor of `series` for `rule` with a detector and a window of `window_len` minutes.
    pub fn new(
        rule: &str,
        series: &str,
        region: Option<&str>,
        action: &'static str,
        cfg: DetectorConfig,
        window_len: usize,
    ) -> Monitor {
        Monitor {
            rule: rule.into(),
            series: series.into(),
            region: region.map(Into::into),
            action,
            detector: Detector::new(cfg),
            window_len: window_len.max(1),
            window: Default::default(),
        }
    }
    /// The detector.
    pub fn detector(&self) -> &Detector {
        &self.detector
    }
    /// Feeds one minute's value; returns the detector state and the alert if one was raised.
    /// `gate` = false holds a raise back (the detector state still advances).
    pub fn push(&mut self, minute: i64, x: Option<f64>, gate: bool) -> (State, Option<Alert>) {
        if self.window.back().is_some_and(|w| minute <= w.0) {
            return (State::Missing, None);
        }
        self.window.push_back((minute, x));
        while self.window.len() > self.window_len {
            self.window.pop_front();
        }
        let (st, sig) = self.detector.update_gated(minute, x, gate);
        let alert = sig.map(|s| Alert {
            rule: self.rule.clone(),
            detector: self.detector.config().chart.name(),
            series: self.series.clone(),
            region: self.region.clone(),
            minute: s.minute,
            value: s.value,
            baseline_mean: s.baseline_mean,
            baseline_sigma: s.baseline_sigma,
            statistic: s.statistic,
            threshold: s.threshold,
            shift_sigmas: s.shift_sigmas,
            shift_rel: s.shift_rel,
            direction: s.direction,
            window_start_minute: self.window.front().map_or(minute, |w| w.0),
            window: self.window.iter().map(|w| w.1).collect(),
            action: self.action,
        });
        (st, alert)
    }
}

/// One region's QoE values for one minute (the collector's merged viewer summaries).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QoeMinute {
    /// Region name.
    pub region: String,
    /// Minute index from the stream start.
    pub minute: i64,
    /// Stall rate (卡顿率: stall time / play time) in the minute; null when nobody played.
    pub stall_rate: Option<f64>,
    /// Mean (or median) live latency in the minute, ms; null when unmeasured.
    pub latency_ms: Option<f64>,
}

/// Configuration of an [`AlertEngine`]: one detector config per rule.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlertEngineConfig {
    /// Interaction rate (down): EWMA λ 0.3, L 3.5, release 1.5, warm-up 15, cool-down 15,
    /// median/MAD baseline over 30 minutes, relative drop ≥ 25 %.
    pub interaction: DetectorConfig,
    /// Online viewers (down): CUSUM k 0.5, h 5, release 2, warm-up 15, cool-down 15,
    /// median/MAD baseline over 30 minutes, σ ≥ 3 % of μ, relative drop ≥ 20 %.
    pub online: DetectorConfig,
    /// Click→order rate (down) as a standardised per-minute ratio: CUSUM k 0.5, h 4, release
    /// 1.5, warm-up 15, cool-down 15, median/MAD baseline over 30 minutes, σ ≥ 0.02. Used only
    /// when `conversion_binomial` is null.
    pub conversion: DetectorConfig,
    /// Click→order collapse tested on the counts (paid orders out of clicks per minute) by a
    /// binomial CUSUM ([`BinomialCusum`]): drop to 20 % of the rolling 30-minute pooled rate,
    /// h 7 nats, release 1, warm-up 15, cool-down 15, raised only when the pooled rate since the
    /// sum left 0 is ≤ 50 % of the baseline. Default on; null = the ratio CUSUM above.
    pub conversion_binomial: Option<BinomialConfig>,
    /// Clicks hold when the clicks of the last `clicks_hold_window` minutes average at least
    /// this share of the clicks baseline. Default 0.6.
    pub clicks_hold_ratio: f64,
    /// Window (minutes) of the clicks-hold check. Default 3.
    pub clicks_hold_window: usize,
    /// Stall rate per region (up): CUSUM k 1, h 5, release 2, warm-up 10, cool-down 15,
    /// median/MAD baseline over 30 minutes, input clipped at 3σ, σ ≥ 0.002 and ≥ 10 % of μ,
    /// relative rise ≥ 100 %.
    pub stall: DetectorConfig,
    /// Latency per region (up): CUSUM k 1, h 5, release 2, warm-up 10, cool-down 15,
    /// median/MAD baseline over 30 minutes, input clipped at 3σ, σ ≥ 50 ms and ≥ 5 % of μ,
    /// relative rise ≥ 30 %.
    pub latency: DetectorConfig,
    /// Minutes of the series carried by each alert. Default 30.
    pub window: usize,
    /// A minute is complete once the snapshot horizon is at least this many ms past its end
    /// (late events may still arrive within the room's lateness window). Default 0.
    pub settle_ms: i64,
}

impl Default for AlertEngineConfig {
    fn default() -> Self {
        let base = |c: DetectorConfig, warm: usize, cool: i64, alpha: f64| {
            c.warmup(warm).cooldown(cool).alpha(alpha)
        };
        let mut interaction = base(
            DetectorConfig::ewma(0.3, 3.5, 1.5).sides(Sides::Down),
            15,
            15,
            0.05,
        );
        interaction.min_shift_rel = 0.25;
        interaction.window = 30;
        let mut online = base(
            DetectorConfig::cusum(0.5, 5.0, 2.0).sides(Sides::Down),
            15,
            15,
            0.1,
        );
        online.min_sigma_rel = 0.03;
        online.min_shift_rel = 0.2;
        online.window = 30;
        let mut conversion = base(
            DetectorConfig::cusum(0.5, 4.0, 1.5).sides(Sides::Down),
            15,
            15,
            0.05,
        );
        conversion.min_sigma = 0.02;
        conversion.window = 30;
        let mut stall = base(
            DetectorConfig::cusum(1.0, 5.0, 2.0).sides(Sides::Up),
            10,
            15,
            0.05,
        );
        stall.min_sigma = 0.002;
        stall.min_sigma_rel = 0.1;
        stall.min_shift_rel = 1.0;
        stall.window = 30;
        stall.u_clip = 3.0;
        let mut latency = base(
            DetectorConfig::cusum(1.0, 5.0, 2.0).sides(Sides::Up),
            10,
            15,
            0.05,
        );
        latency.min_sigma = 50.0;
        latency.min_sigma_rel = 0.05;
        latency.min_shift_rel = 0.3;
        latency.window = 30;
        latency.u_clip = 3.0;
        AlertEngineConfig {
            interaction,
            online,
            conversion,
            conversion_binomial: Some(BinomialConfig::default()),
            clicks_hold_ratio: 0.6,
            clicks_hold_window: 3,
            stall,
            latency,
            window: 30,
            settle_ms: 0,
        }
    }
}

/// Runs the ready-made rules: feed it each completed minute row (or each snapshot) and each
/// region's QoE minute; it evaluates each minute once and returns the alerts newly raised.
#[derive(Clone, Debug)]
pub struct AlertEngine {
    cfg: AlertEngineConfig,
    interaction: Monitor,
    online: Monitor,
    conversion: Monitor,
    conversion_bin: Option<BinomialCusum>,
    conversion_window: std::collections::VecDeque<(i64, Option<f64>)>,
    clicks: Detector,
    recent_clicks: std::collections::VecDeque<f64>,
    next_minute: i64,
    qoe: BTreeMap<(String, u8), Monitor>,
}

impl AlertEngine {
    /// An engine with the given rule configuration.
    pub fn new(cfg: AlertEngineConfig) -> AlertEngine {
        let w = cfg.window;
        let interaction = Monitor::new(
            RULE_INTERACTION_DROP,
            "interaction_rate",
            None,
            ACTION_CHANGE_SCRIPT,
            cfg.interaction,
            w,
        );
        let online = Monitor::new(
            RULE_ONLINE_CLIFF,
            "online",
            None,
            ACTION_CHECK_STREAM,
            cfg.online,
            w,
        );
        let conversion = Monitor::new(
            RULE_CONVERSION_COLLAPSE,
            "click_to_order_rate",
            None,
            ACTION_CHECK_CHECKOUT,
            cfg.conversion,
            w,
        );
        let clicks = Detector::new(
            DetectorConfig::ewma(0.3, 1e9, 1e9)
                .warmup(cfg.conversion.warmup)
                .alpha(0.05),
        );
        let conversion_bin = cfg.conversion_binomial.map(BinomialCusum::new);
        AlertEngine {
            cfg,
            interaction,
            online,
            conversion,
            conversion_bin,
            conversion_window: Default::default(),
            clicks,
            recent_clicks: Default::default(),
            next_minute: 0,
            qoe: BTreeMap::new(),
        }
    }
    /// The configuration.
    pub fn config(&self) -> &AlertEngineConfig {
        &self.cfg
    }
    /// The next room minute the engine will evaluate (every earlier one was evaluated once).
    pub fn next_minute(&self) -> i64 {
        self.next_minute
    }

    /// Evaluates one completed minute row. Rows must come in minute order; a row whose minute
    /// was already evaluated is ignored. Minutes skipped over count as missing.
    pub fn push_minute(&mut self, row: &MinuteRow) -> Vec<Alert> {
        let mut out = Vec::new();
        if row.minute < self.next_minute {
            return out;
        }
        self.next_minute = row.minute + 1;
        let m = row.minute;
        if let (_, Some(a)) = self.interaction.push(m, row.interaction_rate.value, true) {
            out.push(a);
        }
        if let (_, Some(a)) = self.online.push(m, Some(row.online as f64), true) {
            out.push(a);
        }
        // clicks hold: recent clicks vs the clicks baseline (taken before this minute)
        let clicks = row.clicks as f64;
        self.recent_clicks.push_back(clicks);
        while self.recent_clicks.len() > self.cfg.clicks_hold_window.max(1) {
            self.recent_clicks.pop_front();
        }
        let recent = self.recent_clicks.iter().sum::<f64>() / self.recent_clicks.len() as f64;
        let hold = !self.clicks.warmed_up()
            || recent >= self.cfg.clicks_hold_ratio * self.clicks.baseline().mean();
        let _ = self.clicks.update(m, Some(clicks));
        let rate = (row.clicks > 0).then(|| row.orders as f64 / row.clicks as f64);
        if let Some(b) = self.conversion_bin.as_mut() {
            self.conversion_window.push_back((m, rate));
            while self.conversion_window.len() > self.cfg.window.max(1) {
                self.conversion_window.pop_front();
            }
            if let (_, Some(s)) = b.update(m, row.orders, row.clicks, hold) {
                out.push(Alert {
                    rule: RULE_CONVERSION_COLLAPSE.into(),
                    detector: "binomial_cusum",
                    series: "click_to_order_rate".into(),
                    region: None,
                    minute: s.minute,
                    value: s.value,
                    baseline_mean: s.baseline_mean,
                    baseline_sigma: s.baseline_sigma,
                    statistic: s.statistic,
                    threshold: s.threshold,
                    shift_sigmas: s.shift_sigmas,
                    shift_rel: s.shift_rel,
                    direction: s.direction,
                    window_start_minute: self.conversion_window.front().map_or(m, |w| w.0),
                    window: self.conversion_window.iter().map(|w| w.1).collect(),
                    action: ACTION_CHECK_CHECKOUT,
                });
            }
        } else if let (_, Some(a)) = self.conversion.push(m, rate, hold) {
            out.push(a);
        }
        out
    }

    /// Evaluates the completed minutes of a snapshot not evaluated yet, each once: a minute is
    /// complete when the snapshot has ended or its end + `settle_ms` ≤ the horizon.
    pub fn push_snapshot(&mut self, snap: &Snapshot) -> Vec<Alert> {
        let mut out = Vec::new();
        for row in &snap.scene.minutes {
            let end = row.start_ms + 60_000;
            let complete = snap.ended || end + self.cfg.settle_ms <= snap.horizon_ms;
            if !complete {
                break;
            }
            out.extend(self.push_minute(row));
        }
        out
    }

    /// Evaluates one region's QoE minute (stall rate and latency). Each region's minutes must
    /// come in order; a minute already seen for that region is ignored.
    pub fn push_qoe(&mut self, q: &QoeMinute) -> Vec<Alert> {
        let mut out = Vec::new();
        for (kind, x) in [(0u8, q.stall_rate), (1u8, q.latency_ms)] {
            let key = (q.region.clone(), kind);
            let cfg = &self.cfg;
            let mon = self.qoe.entry(key).or_insert_with(|| {
                if kind == 0 {
                    Monitor::new(
                        RULE_STALL_SPIKE,
                        "stall_rate",
                        Some(&q.region),
                        ACTION_SWITCH_ROUTE,
                        cfg.stall,
                        cfg.window,
                    )
                } else {
                    Monitor::new(
                        RULE_LATENCY_SPIKE,
                        "latency_ms",
                        Some(&q.region),
                        ACTION_SWITCH_ROUTE,
                        cfg.latency,
                        cfg.window,
                    )
                }
            });
            if let (_, Some(a)) = mon.push(q.minute, x, true) {
                out.push(a);
            }
        }
        out
    }
}
