//! Role scorecards (host 主播, operations 运营, field control 场控): weighted attainment of
//! targets over KPIs from all three pyramid layers, so no card is GMV-only.
//!
//! Each item: `attainment = value / target` for a KPI where higher is better and
//! `target / value` where lower is better (value 0 → the cap), clipped to `[0, cap]`;
//! `points = 100 × effective weight × attainment`. A card's score is Σ points: 100 means every
//! target met exactly, `100 × cap` is the most. An item whose input is missing (no player
//! summaries yet, a rate whose denominator is 0) has a null value, attainment and points; its
//! weight is redistributed over the present items in proportion to their weights
//! (`effective weight = weight / Σ weights of present items`), and the card says so in `notes`.
//! The default configuration ([`ScorecardConfig::default`]) and the reason for each weight are
//! documented in `docs/insight.md`.

use serde::{Deserialize, Serialize};

use crate::kpi::Snapshot;
use crate::summary::AggregateView;

/// Layer of the KPI pyramid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// Result (塔尖): GMV, GPM, orders.
    Result,
    /// Process (塔身): dwell, interaction, CTR, conversion, follow.
    Process,
    /// Technical (塔基): first frame, stall rate, latency.
    Technical,
}

/// Whether a larger value of a KPI is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// Larger is better (attainment = value / target).
    Higher,
    /// Smaller is better (attainment = target / value).
    Lower,
}

/// A KPI a scorecard can weigh (its definition is the snapshot's or the merged player
/// summaries' field of the same name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kpi {
    /// GMV 成交金额, fen (`result.gmv_fen`).
    GmvFen,
    /// GPM 千次观看成交, fen: 1000 × GMV / entries (`result.gpm`).
    Gpm,
    /// Paid orders (`result.orders`).
    Orders,
    /// 人均观看时长 (dwell), ms: watch time / viewers (`process.avg_watch_ms`).
    AvgWatchMs,
    /// 观看-互动率(人数): interaction people / viewers (`process.interaction_rate`).
    InteractionRate,
    /// 商品曝光-点击率(人数) CTR: clickers / product-exposed viewers
    /// (`process.exposure_click_rate`).
    ExposureClickRate,
    /// 商品点击-成交率(人数) conversion: buyers / clickers (`process.click_purchase_rate`).
    ClickPurchaseRate,
    /// 转粉率: new followers / viewers (`process.follow_rate`).
    FollowRate,
    /// First-frame time, ms: mean startup of measured views in the merged player summaries
    /// (`rates.startup_mean_ms`).
    FirstFrameMs,
    /// 卡顿率: Σ stall ms / Σ playing ms of the merged player summaries (`rates.stall_rate`).
    StallRate,
    /// Mean glass-to-glass latency, ms, of the merged player summaries
    /// (`rates.latency_mean_ms`).
    LatencyMs,
}

impl Kpi {
    /// Every KPI, in display order.
    pub const ALL: [Kpi; 11] = [
        Kpi::GmvFen,
        Kpi::Gpm,
        Kpi::Orders,
        Kpi::AvgWatchMs,
        Kpi::InteractionRate,
        Kpi::ExposureClickRate,
        Kpi::ClickPurchaseRate,
        Kpi::FollowRate,
        Kpi::FirstFrameMs,
        Kpi::StallRate,
        Kpi::LatencyMs,
    ];
    /// Its layer.
    pub fn layer(self) -> Layer {
        match self {
            Kpi::GmvFen | Kpi::Gpm | Kpi::Orders => Layer::Result,
            Kpi::AvgWatchMs
            | Kpi::InteractionRate
            | Kpi::ExposureClickRate
            | Kpi::ClickPurchaseRate
            | Kpi::FollowRate => Layer::Process,
            Kpi::FirstFrameMs | Kpi::StallRate | Kpi::LatencyMs => Layer::Technical,
        }
    }
    /// Whether larger is better.
    pub fn better(self) -> Better {
        match self.layer() {
            Layer::Technical => Better::Lower,
            _ => Better::Higher,
        }
    }
    /// The snake_case id (as in JSON).
    pub fn id(self) -> &'static str {
        match self {
            Kpi::GmvFen => "gmv_fen",
            Kpi::Gpm => "gpm",
            Kpi::Orders => "orders",
            Kpi::AvgWatchMs => "avg_watch_ms",
            Kpi::InteractionRate => "interaction_rate",
            Kpi::ExposureClickRate => "exposure_click_rate",
            Kpi::ClickPurchaseRate => "click_purchase_rate",
            Kpi::FollowRate => "follow_rate",
            Kpi::FirstFrameMs => "first_frame_ms",
            Kpi::StallRate => "stall_rate",
            Kpi::LatencyMs => "latency_ms",
        }
    }
    /// A short bilingual label.
    pub fn label(self) -> &'static str {
        match self {
            Kpi::GmvFen => "GMV 成交金额 (fen)",
            Kpi::Gpm => "GPM 千次观看成交 (fen)",
            Kpi::Orders => "orders 订单数",
            Kpi::AvgWatchMs => "dwell 人均观看时长 (ms)",
            Kpi::InteractionRate => "interaction rate 互动率",
            Kpi::ExposureClickRate => "CTR 曝光-点击率",
            Kpi::ClickPurchaseRate => "conversion 点击-成交率",
            Kpi::FollowRate => "follow rate 转粉率",
            Kpi::FirstFrameMs => "first frame 首帧 (ms)",
            Kpi::StallRate => "stall rate 卡顿率",
            Kpi::LatencyMs => "latency 延迟 (ms)",
        }
    }
}

/// The technical-layer inputs, from the merged player summaries of the room.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TechInputs {
    /// Mean first-frame (startup) time of measured views, ms; null when none measured.
    pub first_frame_ms: Option<f64>,
    /// 卡顿率: Σ stall ms / Σ playing ms; null when nobody played.
    pub stall_rate: Option<f64>,
    /// Mean live latency, ms; null when unmeasured.
    pub latency_ms: Option<f64>,
}

impl TechInputs {
    /// From a merged aggregate (e.g. `RoomView.total` of the collector).
    pub fn from_view(a: &AggregateView) -> TechInputs {
        TechInputs {
            first_frame_ms: a.rates.startup_mean_ms.value,
            stall_rate: a.rates.stall_rate.value,
            latency_ms: a.rates.latency_mean_ms.value,
        }
    }
}

/// The KPI values a scorecard reads (null = missing).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct ScoreInputs {
    /// GMV, fen.
    pub gmv_fen: Option<f64>,
    /// GPM, fen per 1000 entries.
    pub gpm: Option<f64>,
    /// Paid orders.
    pub orders: Option<f64>,
    /// Dwell, ms per viewer.
    pub avg_watch_ms: Option<f64>,
    /// Interaction people / viewers.
    pub interaction_rate: Option<f64>,
    /// Clickers / product-exposed viewers.
    pub exposure_click_rate: Option<f64>,
    /// Buyers / clickers.
    pub click_purchase_rate: Option<f64>,
    /// Followers / viewers.
    pub follow_rate: Option<f64>,
    /// The technical layer (all null when no player summary has arrived).
    pub tech: TechInputs,
}

impl ScoreInputs {
    /// The snapshot's KPIs and the player summaries' technical KPIs (`None` = no summaries).
    pub fn new(s: &Snapshot, tech: Option<TechInputs>) -> ScoreInputs {
        let r = &s.result;
        let p = &s.process;
        ScoreInputs {
            gmv_fen: Some(r.gmv_fen as f64),
            gpm: r.gpm.value,
            orders: Some(r.orders as f64),
            avg_watch_ms: p.avg_watch_ms.value,
            interaction_rate: p.interaction_rate.value,
            exposure_click_rate: p.exposure_click_rate.value,
            click_purchase_rate: p.click_purchase_rate.value,
            follow_rate: p.follow_rate.value,
            tech: tech.unwrap_or_default(),
        }
    }
    /// The value of `k`.
    pub fn get(&self, k: Kpi) -> Option<f64> {
        match k {
            Kpi::GmvFen => self.gmv_fen,
            Kpi::Gpm => self.gpm,
            Kpi::Orders => self.orders,
            Kpi::AvgWatchMs => self.avg_watch_ms,
            Kpi::InteractionRate => self.interaction_rate,
            Kpi::ExposureClickRate => self.exposure_click_rate,
            Kpi::ClickPurchaseRate => self.click_purchase_rate,
            Kpi::FollowRate => self.follow_rate,
            Kpi::FirstFrameMs => self.tech.first_frame_ms,
            Kpi::StallRate => self.tech.stall_rate,
            Kpi::LatencyMs => self.tech.latency_ms,
        }
        .filter(|v| v.is_finite())
    }
}

/// One weighted KPI of a role.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemConfig {
    /// The KPI.
    pub kpi: Kpi,
    /// Weight (≥ 0; the weights of a role need not sum to 1, they are normalised).
    pub weight: f64,
    /// Target value (> 0), in the KPI's unit.
    pub target: f64,
}

/// One role's card configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoleConfig {
    /// Role id, e.g. "host".
    pub role: String,
    /// Display title, e.g. "主播 host".
    pub title: String,
    /// Weighted KPIs: positive weight in each of the three layers.
    pub items: Vec<ItemConfig>,
}

/// Scorecard configuration: the roles and the attainment cap.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScorecardConfig {
    /// Largest attainment counted (over-achievement counts up to this). Default 1.2.
    #[serde(default = "default_cap")]
    pub cap: f64,
    /// The roles, one card each.
    pub roles: Vec<RoleConfig>,
}

fn default_cap() -> f64 {
    1.2
}

fn item(kpi: Kpi, weight: f64, target: f64) -> ItemConfig {
    ItemConfig {
        kpi,
        weight,
        target,
    }
}

/// Default targets (see `docs/insight.md`): GMV ¥10,000; GPM ¥500 per 1000 entries; 100 orders;
/// dwell 60 s; interaction 10 %; CTR 10 % and conversion 10 % (the article's traffic item A);
/// follow 3 %; first frame 1 s (秒开); stall rate 1 %; latency 3 s.
pub fn default_target(k: Kpi) -> f64 {
    match k {
        Kpi::GmvFen => 1_000_000.0,
        Kpi::Gpm => 50_000.0,
        Kpi::Orders => 100.0,
        Kpi::AvgWatchMs => 60_000.0,
        Kpi::InteractionRate => 0.10,
        Kpi::ExposureClickRate => 0.10,
        Kpi::ClickPurchaseRate => 0.10,
        Kpi::FollowRate => 0.03,
        Kpi::FirstFrameMs => 1_000.0,
        Kpi::StallRate => 0.01,
        Kpi::LatencyMs => 3_000.0,
    }
}

impl Default for ScorecardConfig {
    /// The documented default: three roles, weights summing to 1 each (see `docs/insight.md`).
    fn default() -> Self {
        let role = |role: &str, title: &str, w: &[(Kpi, f64)]| RoleConfig {
            role: role.into(),
            title: title.into(),
            items: w
                .iter()
                .map(|&(k, wt)| item(k, wt, default_target(k)))
                .collect(),
        };
        use Kpi::*;
        ScorecardConfig {
            cap: default_cap(),
            roles: vec![
                role(
                    "host",
                    "主播 host",
                    &[
                        (GmvFen, 0.15),
                        (Gpm, 0.10),
                        (AvgWatchMs, 0.15),
                        (InteractionRate, 0.20),
                        (ClickPurchaseRate, 0.15),
                        (FollowRate, 0.10),
                        (StallRate, 0.10),
                        (LatencyMs, 0.05),
                    ],
                ),
                role(
                    "operations",
                    "运营 operations",
                    &[
                        (GmvFen, 0.20),
                        (Gpm, 0.15),
                        (Orders, 0.10),
                        (ExposureClickRate, 0.20),
                        (ClickPurchaseRate, 0.10),
                        (AvgWatchMs, 0.05),
                        (FollowRate, 0.05),
                        (FirstFrameMs, 0.10),
                        (StallRate, 0.05),
                    ],
                ),
                role(
                    "field_control",
                    "场控 field control",
                    &[
                        (GmvFen, 0.05),
                        (Orders, 0.10),
                        (InteractionRate, 0.20),
                        (ExposureClickRate, 0.15),
                        (ClickPurchaseRate, 0.10),
                        (AvgWatchMs, 0.10),
                        (StallRate, 0.15),
                        (LatencyMs, 0.10),
                        (FirstFrameMs, 0.05),
                    ],
                ),
            ],
        }
    }
}

/// A configuration error, naming the field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConfigError {
    /// Path of the bad field, e.g. `roles[1].items[0].target`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl ScorecardConfig {
    /// Checks the configuration: cap ≥ 1 and finite; each role has a non-empty id, finite
    /// weights ≥ 0, finite targets > 0, no KPI twice, and a positive weight in every layer (no
    /// card is GMV-only).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |field: String, message: &str| {
            Err(ConfigError {
                field,
                message: message.into(),
            })
        };
        if !(self.cap.is_finite() && self.cap >= 1.0) {
            return err("cap".into(), "must be a finite number ≥ 1");
        }
        if self.roles.is_empty() {
            return err("roles".into(), "must hold at least one role");
        }
        for (i, r) in self.roles.iter().enumerate() {
            if r.role.is_empty() {
                return err(format!("roles[{i}].role"), "must not be empty");
            }
            let mut seen = Vec::new();
            let mut layer_w = [0.0f64; 3];
            for (j, it) in r.items.iter().enumerate() {
                if !(it.weight.is_finite() && it.weight >= 0.0) {
                    return err(
                        format!("roles[{i}].items[{j}].weight"),
                        "must be a finite number ≥ 0",
                    );
                }
                if !(it.target.is_finite() && it.target > 0.0) {
                    return err(
                        format!("roles[{i}].items[{j}].target"),
                        "must be a finite number > 0",
                    );
                }
                if seen.contains(&it.kpi) {
                    return err(
                        format!("roles[{i}].items[{j}].kpi"),
                        "appears twice in the role",
                    );
                }
                seen.push(it.kpi);
                layer_w[it.kpi.layer() as usize] += it.weight;
            }
            for (l, name) in ["result", "process", "technical"].iter().enumerate() {
                if layer_w[l] <= 0.0 {
                    return err(
                        format!("roles[{i}].items"),
                        &format!("needs a KPI with positive weight in the {name} layer"),
                    );
                }
            }
        }
        Ok(())
    }
}

/// One scored item of a card.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScoreItem {
    /// The KPI.
    pub kpi: Kpi,
    /// Its label.
    pub label: &'static str,
    /// Its pyramid layer.
    pub layer: Layer,
    /// Whether larger is better.
    pub better: Better,
    /// The KPI's value (null = missing input).
    pub value: Option<f64>,
    /// The target.
    pub target: f64,
    /// value / target (higher better) or target / value (lower better), clipped to [0, cap];
    /// null when the value is missing.
    pub attainment: Option<f64>,
    /// Configured weight, normalised over the role (Σ = 1).
    pub weight: f64,
    /// Weight used: configured weight / Σ configured weights of present items (0 when missing).
    pub effective_weight: f64,
    /// 100 × effective_weight × attainment (null when missing).
    pub points: Option<f64>,
}

/// Points of one layer of a card.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerScore {
    /// The layer.
    pub layer: Layer,
    /// Σ configured (normalised) weights of its items.
    pub weight: f64,
    /// Σ effective weights of its present items.
    pub effective_weight: f64,
    /// Σ points of its present items.
    pub points: f64,
}

/// One role's scorecard.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scorecard {
    /// Role id.
    pub role: String,
    /// Display title.
    pub title: String,
    /// Σ points of the present items (100 = every target met; at most 100 × cap); null when
    /// every input is missing.
    pub score: Option<f64>,
    /// The largest possible score, 100 × cap.
    pub max_score: f64,
    /// Items in configuration order.
    pub items: Vec<ScoreItem>,
    /// Result, process and technical subtotals.
    pub layers: Vec<LayerScore>,
    /// KPIs without a value.
    pub missing: Vec<Kpi>,
    /// Σ normalised weights of the missing KPIs (redistributed over the present ones).
    pub missing_weight: f64,
    /// Plain-language notes: missing inputs and how their weight was redistributed.
    pub notes: Vec<String>,
}

/// Attainment of `value` against `target` (see the module docs), clipped to [0, cap].
pub fn attainment(better: Better, value: f64, target: f64, cap: f64) -> f64 {
    let a = match better {
        Better::Higher => value / target,
        Better::Lower if value <= 0.0 => cap,
        Better::Lower => target / value,
    };
    if a.is_finite() {
        a.clamp(0.0, cap)
    } else {
        0.0
    }
}

/// Scores one role (the config must be valid).
pub fn score_role(r: &RoleConfig, inputs: &ScoreInputs, cap: f64) -> Scorecard {
    let total_w: f64 = r.items.iter().map(|i| i.weight).sum();
    let norm = |w: f64| if total_w > 0.0 { w / total_w } else { 0.0 };
    let present_w: f64 = r
        .items
        .iter()
        .filter(|i| inputs.get(i.kpi).is_some())
        .map(|i| norm(i.weight))
        .sum();
    let mut items = Vec::with_capacity(r.items.len());
    let mut missing = Vec::new();
    let mut missing_weight = 0.0;
    for it in &r.items {
        let value = inputs.get(it.kpi);
        let better = it.kpi.better();
        let w = norm(it.weight);
        let att = value.map(|v| attainment(better, v, it.target, cap));
        let eff = if value.is_some() && present_w > 0.0 {
            w / present_w
        } else {
            0.0
        };
        if value.is_none() {
            missing.push(it.kpi);
            missing_weight += w;
        }
        items.push(ScoreItem {
            kpi: it.kpi,
            label: it.kpi.label(),
            layer: it.kpi.layer(),
            better,
            value,
            target: it.target,
            attainment: att,
            weight: w,
            effective_weight: eff,
            points: att.map(|a| 100.0 * eff * a),
        });
    }
    let layers: Vec<LayerScore> = [Layer::Result, Layer::Process, Layer::Technical]
        .into_iter()
        .map(|l| {
            let of = items.iter().filter(|i| i.layer == l);
            LayerScore {
                layer: l,
                weight: of.clone().map(|i| i.weight).sum(),
                effective_weight: of.clone().map(|i| i.effective_weight).sum(),
                points: of.filter_map(|i| i.points).sum(),
            }
        })
        .collect();
    let score = (present_w > 0.0).then(|| items.iter().filter_map(|i| i.points).sum());
    let mut notes = Vec::new();
    let tech_missing: Vec<&str> = missing
        .iter()
        .filter(|k| k.layer() == Layer::Technical)
        .map(|k| k.id())
        .collect();
    let all_tech_missing = !tech_missing.is_empty()
        && items
            .iter()
            .filter(|i| i.layer == Layer::Technical)
            .all(|i| i.value.is_none());
    if all_tech_missing {
        notes.push(format!(
            "no player summaries yet: {} missing",
            tech_missing.join(", ")
        ));
    } else if !tech_missing.is_empty() {
        notes.push(format!("player summaries lack {}", tech_missing.join(", ")));
    }
    let other: Vec<&str> = missing
        .iter()
        .filter(|k| k.layer() != Layer::Technical)
        .map(|k| k.id())
        .collect();
    if !other.is_empty() {
        notes.push(format!(
            "no value yet (denominator 0) for {}",
            other.join(", ")
        ));
    }
    if !missing.is_empty() {
        if score.is_some() {
            notes.push(format!(
                "weight {:.2} of the missing KPIs redistributed pro rata over the {} present KPIs",
                missing_weight,
                items.len() - missing.len()
            ));
        } else {
            notes.push("no input present: no score".into());
        }
    }
    Scorecard {
        role: r.role.clone(),
        title: r.title.clone(),
        score,
        max_score: 100.0 * cap,
        items,
        layers,
        missing,
        missing_weight,
        notes,
    }
}

/// Every role's card for `inputs` (validates the config first).
pub fn scorecards(
    cfg: &ScorecardConfig,
    inputs: &ScoreInputs,
) -> Result<Vec<Scorecard>, ConfigError> {
    cfg.validate()?;
    Ok(cfg
        .roles
        .iter()
        .map(|r| score_role(r, inputs, cfg.cap))
        .collect())
}
