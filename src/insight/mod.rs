//! Real-time insight over a room: streaming alerts and a final-GMV forecast.
//!
//! Pure Rust (no JS types), like [`crate::kpi`]: series come in as numbers per minute.
//!
//! # Alerts
//! [`Detector`] watches one per-minute series with an EWMA control chart or a two-sided tabular
//! CUSUM ([`Chart`]), standardised by a robust baseline (warm-up mean / sample sd, then an EWMA
//! of mean and variance whose updates are clipped to μ ± clip·σ and paused while an alert is
//! raised). Warm-up (no alert on the first N values), hysteresis (raised until the statistic
//! falls below a lower release level) and cool-down (no new alert for M minutes after one
//! clears) make one incident give one alert. [`AlertEngine`] runs the ready-made rules over a
//! room's completed minute rows ([`AlertEngine::push_minute`] / [`AlertEngine::push_snapshot`],
//! each minute evaluated once) and per-region QoE minutes ([`AlertEngine::push_qoe`]):
//! interaction-rate drop, online cliff, click→order collapse while clicks hold, stall-rate and
//! latency spikes per region. Each [`Alert`] carries its evidence and serialises to JSON.
//!
//! # Forecast
//! [`forecast`] predicts the final GMV from the completed minutes, combining the room's past
//! completion curves ([`PastStream`]) and the current funnel, with an interval (80 % by
//! default) and the naive linear extrapolation beside it.
//!
//! # Scorecards
//! [`scorecards`] scores each role (host 主播, operations 运营, field control 场控) against
//! weighted targets over result, process and technical KPIs; missing inputs are null and their
//! weight is redistributed ([`scorecard`]).
//!
//! # After-stream recommendations
//! [`debrief`] ranks the products by conversion and GPM with a suggested running order, finds
//! the moments of highest interaction and what happened around them (from a [`Timeline`] of
//! the room's activity events), profiles buyers vs viewers (lift per group) for ad targeting,
//! and reviews the stream against its plan and the previous stream (plan–do–measure–learn).
#![forbid(unsafe_code)]

pub mod binomial;
pub mod debrief;
pub mod detect;
pub mod forecast;
pub mod rules;
pub mod scorecard;
pub mod timeline;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_cards;

pub use binomial::{BinomialConfig, BinomialCusum};
pub use debrief::{
    audience, debrief, moments, product_plan, review, Around, Audience, AudienceDimension,
    AudienceGroup, Change, DebriefConfig, Moment, Plan, PlanError, PlanTarget, ProductPlan,
    ProductRank, Recommendations, Review, ReviewRow, AUDIENCE_RULE, ORDER_RULE, PRODUCT_RULE,
};
pub use detect::{Baseline, Chart, Detector, DetectorConfig, Direction, Sides, Signal, State};
pub use forecast::{
    forecast, Estimate, Forecast, ForecastConfig, PastStream, StreamMinute, INTERVAL_SCALE, Z80,
};
pub use rules::{
    Alert, AlertEngine, AlertEngineConfig, Monitor, QoeMinute, ACTION_CHANGE_SCRIPT,
    ACTION_CHECK_CHECKOUT, ACTION_CHECK_STREAM, ACTION_SWITCH_ROUTE, RULE_CONVERSION_COLLAPSE,
    RULE_INTERACTION_DROP, RULE_LATENCY_SPIKE, RULE_ONLINE_CLIFF, RULE_STALL_SPIKE,
};
pub use scorecard::{
    attainment, default_target, score_role, scorecards, Better, ConfigError, ItemConfig, Kpi,
    Layer, LayerScore, RoleConfig, ScoreInputs, ScoreItem, Scorecard, ScorecardConfig, TechInputs,
};
pub use timeline::{ActivityMinute, ProductMinute, Timeline, MAX_TIMELINE_MINUTES};
