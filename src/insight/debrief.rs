//! After-stream recommendations (复盘): product ranking and suggested running order, the
//! moments of highest interaction with what happened around them, the audience profile of
//! buyers vs viewers for ad targeting, and the plan–do–measure–learn review against the plan
//! and the previous stream. Built from the KPI snapshots ([`crate::kpi::Snapshot`], compared
//! with [`crate::kpi::compare`]) and, for the events around the moments, a [`Timeline`].

use serde::{Deserialize, Serialize};

use super::scorecard::Better;
use super::timeline::Timeline;
use crate::kpi::{compare, GroupRow, NewReturning, Rate, Snapshot};

/// Settings of the recommendations.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DebriefConfig {
    /// Moments of highest interaction reported. Default 5.
    pub moments: usize,
    /// Minutes each side of a moment's peak minute searched for what happened. Default 2.
    pub window_minutes: i64,
    /// Products with fewer clicks are ranked after the others (too little data). Default 20.
    pub min_clicks: i64,
    /// An audience group needs this many buyers (or expected buyers) for a verdict. Default 5.
    pub min_buyers: i64,
    /// Lift at or above which a group is an ad target. Default 1.2.
    pub lift_target: f64,
    /// Lift at or below which a group is deprioritised. Default 0.8.
    pub lift_avoid: f64,
    /// KPI changes listed in the review. Default 8.
    pub top_changes: usize,
}

impl Default for DebriefConfig {
    fn default() -> Self {
        DebriefConfig {
            moments: 5,
            window_minutes: 2,
            min_clicks: 20,
            min_buyers: 5,
            lift_target: 1.2,
            lift_avoid: 0.8,
            top_changes: 8,
        }
    }
}

/// The ranking rule, in words.
pub const PRODUCT_RULE: &str = "products with at least min_clicks clicks are ranked by score = \
(conversion percentile + GPM percentile) / 2, where conversion = units / clicks and GPM = 1000 × \
product GMV / impressions (fen), percentile = 1 − (rank − 1) / (n − 1); ties by GMV, then id. \
Products with fewer clicks follow, by GMV. Role: traffic 引流款 = conversion ≥ median and price ≤ \
median; profit 利润款 = GPM ≥ median and price > median; weak = conversion and GPM below median; \
steady = the rest (price = GMV / units).";

/// The suggested running order rule, in words.
pub const ORDER_RULE: &str = "open with the traffic item of highest conversion, then alternate \
profit items (GPM desc) with the remaining traffic and steady items (conversion desc), then the \
weak items, then the products with too little data.";

/// One ranked product.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProductRank {
    /// Rank by the rule (1 = best).
    pub rank: i64,
    /// Product id.
    pub product: String,
    /// Impressions.
    pub impressions: i64,
    /// Clicks.
    pub clicks: i64,
    /// Units in paid orders.
    pub units: i64,
    /// Product GMV, fen.
    pub gmv_fen: i64,
    /// Conversion (article): units / clicks.
    pub conversion: Option<f64>,
    /// GPM per impressions, fen: 1000 × GMV / impressions.
    pub gpm: Option<f64>,
    /// Mean price, fen: GMV / units.
    pub price_fen: Option<f64>,
    /// Rank of the conversion among the ranked products (1 = highest).
    pub conversion_rank: Option<i64>,
    /// Rank of the GPM among the ranked products (1 = highest).
    pub gpm_rank: Option<i64>,
    /// (conversion percentile + GPM percentile) / 2, in [0, 1]; null with too little data.
    pub score: Option<f64>,
    /// "traffic", "profit", "steady", "weak" or "insufficient_data".
    pub role: &'static str,
}

/// Product ranking and suggested running order (排品).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProductPlan {
    /// The ranking rule.
    pub rule: &'static str,
    /// The order rule.
    pub order_rule: &'static str,
    /// Products by rank.
    pub ranking: Vec<ProductRank>,
    /// Product ids in the suggested running order.
    pub suggested_order: Vec<String>,
}

/// What happened around a moment (from the [`Timeline`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Around {
    /// Red-packet claims in the window.
    pub red_packet_claims: i64,
    /// Red-packet claims per minute in the window / per minute over the stream.
    pub red_packet_ratio: Option<f64>,
    /// Votes in the window.
    pub votes: i64,
    /// Votes per minute in the window / per minute over the stream.
    pub vote_ratio: Option<f64>,
    /// Comments in the window.
    pub comments: i64,
    /// Comments per minute in the window / median comments per minute of the stream.
    pub comment_ratio: Option<f64>,
    /// Positive comments in the window.
    pub comments_positive: i64,
    /// Negative comments in the window.
    pub comments_negative: i64,
    /// Gifts in the window.
    pub gifts: i64,
    /// Follows in the window.
    pub follows: i64,
    /// A co-host link was active in the window.
    pub cohost_active: bool,
    /// Product with the most impressions in the window (the product being shown).
    pub demo_product: Option<String>,
    /// Its share of the window's impressions.
    pub demo_share: Option<f64>,
    /// Its share of the window's impressions / its share over the whole stream.
    pub demo_lift: Option<f64>,
}

/// One moment of high interaction.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Moment {
    /// 1 = highest interaction rate.
    pub rank: i64,
    /// The peak minute.
    pub minute: i64,
    /// Its first ms.
    pub start_ms: i64,
    /// Interaction people / online in the minute.
    pub interaction_rate: f64,
    /// Interaction people in the minute.
    pub interaction_people: i64,
    /// Online in the minute.
    pub online: i64,
    /// interaction_rate / the stream's median minute interaction rate.
    pub rate_vs_median: Option<f64>,
    /// First minute of the window searched.
    pub window_from: i64,
    /// Last minute of the window searched.
    pub window_to: i64,
    /// Enter events in the window.
    pub entries: i64,
    /// Entries per minute in the window / median entries per minute.
    pub entry_ratio: Option<f64>,
    /// Paid orders in the window.
    pub orders: i64,
    /// GMV in the window, fen.
    pub gmv_fen: i64,
    /// Activity around it (null without a timeline).
    pub around: Option<Around>,
    /// What stands out: "lottery_red_packet", "vote", "cohost", "product_demo",
    /// "comment_burst", "traffic_inflow"; "no_marked_event" when nothing does.
    pub tags: Vec<&'static str>,
}

/// One audience group: buyers vs viewers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AudienceGroup {
    /// Group name (null = unknown).
    pub key: Option<String>,
    /// Viewers in the group.
    pub viewers: i64,
    /// Buyers in the group.
    pub buyers: i64,
    /// viewers / all viewers.
    pub viewer_share: Option<f64>,
    /// buyers / all buyers.
    pub buyer_share: Option<f64>,
    /// Lift: buyer_share / viewer_share (> 1: over-represented among buyers).
    pub lift: Option<f64>,
    /// buyers / viewers of the group.
    pub conversion: Option<f64>,
    /// "target" (lift ≥ lift_target with ≥ min_buyers buyers), "avoid" (lift ≤ lift_avoid
    /// where ≥ min_buyers were expected), "neutral", or "too_few_buyers".
    pub verdict: &'static str,
}

/// One dimension of the audience profile.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AudienceDimension {
    /// "new_returning", "tier", "region" or "source".
    pub dimension: &'static str,
    /// Its groups, by lift desc (null lifts last).
    pub groups: Vec<AudienceGroup>,
}

/// Audience profile of buyers vs viewers, for ad targeting.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Audience {
    /// The rule, in words.
    pub rule: &'static str,
    /// The four dimensions.
    pub dimensions: Vec<AudienceDimension>,
    /// Groups to target, as "dimension=key (lift x.xx)".
    pub target: Vec<String>,
    /// Groups to deprioritise, same form.
    pub avoid: Vec<String>,
}

/// A planned target for one KPI of the comparison (a [`crate::kpi::CompareRow`] name).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanTarget {
    /// KPI name as in the comparison rows, e.g. "result.gmv_fen".
    pub kpi: String,
    /// Target value (finite, ≥ 0).
    pub target: f64,
}

/// The plan of the stream (规划).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Targets.
    pub targets: Vec<PlanTarget>,
}

/// One KPI of the review.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReviewRow {
    /// KPI name (the snapshot field path).
    pub kpi: &'static str,
    /// Whether larger is better.
    pub better: Better,
    /// Previous stream (null without one, or a null rate).
    pub previous: Option<f64>,
    /// This stream.
    pub actual: Option<f64>,
    /// actual − previous.
    pub delta: Option<f64>,
    /// (actual − previous) / |previous|.
    pub delta_ratio: Option<f64>,
    /// Planned target (null when not planned).
    pub target: Option<f64>,
    /// actual / target (higher better) or target / actual (lower better).
    pub attainment: Option<f64>,
    /// Target met (actual ≥ target, or ≤ for lower-better KPIs).
    pub met: Option<bool>,
}

/// One notable change from the previous stream.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    /// "kpi", "goods", "scene" or "activity".
    pub area: &'static str,
    /// What changed.
    pub what: String,
    /// Previous value.
    pub previous: Option<f64>,
    /// This stream's value.
    pub current: Option<f64>,
    /// (current − previous) / |previous|.
    pub delta_ratio: Option<f64>,
}

/// Plan–do–measure–learn review (规划-执行-测量-学习).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Review {
    /// A previous stream was given.
    pub has_previous: bool,
    /// A plan was given.
    pub has_plan: bool,
    /// Plan vs actual vs previous, per KPI.
    pub rows: Vec<ReviewRow>,
    /// What changed from the previous stream, largest first within each area.
    pub changes: Vec<Change>,
    /// What to learn (plain sentences, derived by the rules in `docs/insight.md`).
    pub learnings: Vec<String>,
}

/// The after-stream recommendations.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Recommendations {
    /// Horizon of the snapshot, ms.
    pub horizon_ms: i64,
    /// The stream had ended.
    pub ended: bool,
    /// Product ranking and running order.
    pub products: ProductPlan,
    /// Moments of highest interaction.
    pub moments: Vec<Moment>,
    /// Buyers vs viewers.
    pub audience: Audience,
    /// Plan–do–measure–learn review.
    pub review: Review,
}

/// A plan error, naming the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanError {
    /// Path of the bad field.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b != 0.0 && a.is_finite() && b.is_finite()).then(|| a / b)
}

/// Product ranking and running order from a snapshot's goods (see [`PRODUCT_RULE`]).
pub fn product_plan(s: &Snapshot, cfg: &DebriefConfig) -> ProductPlan {
    let mut rows: Vec<ProductRank> = s
        .goods
        .iter()
        .map(|g| ProductRank {
            rank: 0,
            product: g.product.clone(),
            impressions: g.impressions,
            clicks: g.clicks,
            units: g.units,
            gmv_fen: g.gmv_fen,
            conversion: g.conversion.value,
            gpm: g.gpm_impressions.value,
            price_fen: Rate::new(g.gmv_fen, g.units).value,
            conversion_rank: None,
            gpm_rank: None,
            score: None,
            role: "insufficient_data",
        })
        .collect();
    let enough = |r: &ProductRank| {
        r.clicks >= cfg.min_clicks.max(1) && r.conversion.is_some() && r.gpm.is_some()
    };
    let idx: Vec<usize> = (0..rows.len()).filter(|&i| enough(&rows[i])).collect();
    let n = idx.len();
    let rank_by = |rows: &[ProductRank], key: &dyn Fn(&ProductRank) -> f64| -> Vec<(usize, i64)> {
        let mut v = idx.clone();
        v.sort_by(|&a, &b| {
            key(&rows[b])
                .total_cmp(&key(&rows[a]))
                .then_with(|| rows[a].product.cmp(&rows[b].product))
        });
        v.into_iter()
            .enumerate()
            .map(|(r, i)| (i, r as i64 + 1))
            .collect()
    };
    let conv_ranks = rank_by(&rows, &|r| r.conversion.unwrap_or(0.0));
    let gpm_ranks = rank_by(&rows, &|r| r.gpm.unwrap_or(0.0));
    for (i, r) in conv_ranks {
        rows[i].conversion_rank = Some(r);
    }
    for (i, r) in gpm_ranks {
        rows[i].gpm_rank = Some(r);
    }
    let pct = |r: i64| {
        if n <= 1 {
            1.0
        } else {
            1.0 - (r - 1) as f64 / (n - 1) as f64
        }
    };
    let med_conv = median(idx.iter().filter_map(|&i| rows[i].conversion).collect());
    let med_gpm = median(idx.iter().filter_map(|&i| rows[i].gpm).collect());
    let med_price = median(idx.iter().filter_map(|&i| rows[i].price_fen).collect());
    for &i in &idx {
        let r = &mut rows[i];
        r.score = Some((pct(r.conversion_rank.unwrap_or(1)) + pct(r.gpm_rank.unwrap_or(1))) / 2.0);
        let (c, g) = (r.conversion.unwrap_or(0.0), r.gpm.unwrap_or(0.0));
        let (mc, mg) = (med_conv.unwrap_or(0.0), med_gpm.unwrap_or(0.0));
        let cheap = match (r.price_fen, med_price) {
            (Some(p), Some(m)) => p <= m,
            _ => true,
        };
        r.role = if c >= mc && cheap {
            "traffic"
        } else if g >= mg && !cheap {
            "profit"
        } else if c < mc && g < mg {
            "weak"
        } else {
            "steady"
        };
    }
    rows.sort_by(|a, b| {
        let ka = a.score.map_or(f64::NEG_INFINITY, |x| x);
        let kb = b.score.map_or(f64::NEG_INFINITY, |x| x);
        kb.total_cmp(&ka)
            .then_with(|| b.gmv_fen.cmp(&a.gmv_fen))
            .then_with(|| a.product.cmp(&b.product))
    });
    for (k, r) in rows.iter_mut().enumerate() {
        r.rank = k as i64 + 1;
    }
    // running order
    let by = |role: &[&str], key: &dyn Fn(&ProductRank) -> f64| -> Vec<&ProductRank> {
        let mut v: Vec<&ProductRank> = rows.iter().filter(|r| role.contains(&r.role)).collect();
        v.sort_by(|a, b| {
            key(b)
                .total_cmp(&key(a))
                .then_with(|| a.product.cmp(&b.product))
        });
        v
    };
    let conv = |r: &ProductRank| r.conversion.unwrap_or(0.0);
    let mut traffic = by(&["traffic"], &conv);
    let steady = by(&["steady"], &conv);
    let profit = by(&["profit"], &|r| r.gpm.unwrap_or(0.0));
    let mut order: Vec<String> = Vec::new();
    let opener = if traffic.is_empty() {
        None
    } else {
        Some(traffic.remove(0))
    };
    if let Some(o) = opener {
        order.push(o.product.clone());
    }
    let mut rest_a: Vec<&ProductRank> = traffic.into_iter().chain(steady).collect();
    rest_a.sort_by(|a, b| {
        conv(b)
            .total_cmp(&conv(a))
            .then_with(|| a.product.cmp(&b.product))
    });
    let (mut ia, mut ip) = (rest_a.into_iter(), profit.into_iter());
    loop {
        let p = ip.next();
        let a = ia.next();
        if p.is_none() && a.is_none() {
            break;
        }
        order.extend(p.map(|x| x.product.clone()));
        order.extend(a.map(|x| x.product.clone()));
    }
    order.extend(
        rows.iter()
            .filter(|r| r.role == "weak")
            .map(|r| r.product.clone()),
    );
    order.extend(
        rows.iter()
            .filter(|r| r.role == "insufficient_data")
            .map(|r| r.product.clone()),
    );
    ProductPlan {
        rule: PRODUCT_RULE,
        order_rule: ORDER_RULE,
        ranking: rows,
        suggested_order: order,
    }
}

/// The moments of highest interaction and what happened around them.
pub fn moments(s: &Snapshot, timeline: Option<&Timeline>, cfg: &DebriefConfig) -> Vec<Moment> {
    let rows = &s.scene.minutes;
    let med_online = median(rows.iter().map(|r| r.online as f64).collect()).unwrap_or(0.0);
    let floor = (0.2 * med_online).max(10.0);
    let med_rate = median(
        rows.iter()
            .filter(|r| r.online as f64 >= floor)
            .filter_map(|r| r.interaction_rate.value)
            .collect(),
    );
    let med_entries = median(rows.iter().map(|r| r.entries as f64).collect());
    let mut cand: Vec<&crate::kpi::MinuteRow> = rows
        .iter()
        .filter(|r| r.online as f64 >= floor && r.interaction_rate.value.is_some())
        .collect();
    cand.sort_by(|a, b| {
        b.interaction_rate
            .value
            .unwrap_or(0.0)
            .total_cmp(&a.interaction_rate.value.unwrap_or(0.0))
            .then_with(|| b.interaction_people.cmp(&a.interaction_people))
            .then_with(|| a.minute.cmp(&b.minute))
    });
    let w = cfg.window_minutes.max(0);
    let mut picked: Vec<&crate::kpi::MinuteRow> = Vec::new();
    for r in cand {
        if picked.len() >= cfg.moments {
            break;
        }
        if picked.iter().all(|p| (p.minute - r.minute).abs() > w) {
            picked.push(r);
        }
    }
    // stream-wide activity for the ratios
    let n_min = rows.len().max(1) as i64;
    let acts = timeline.map(|t| {
        (0..n_min)
            .map(|m| t.minute(m))
            .collect::<Vec<super::timeline::ActivityMinute>>()
    });
    let last = rows.len() as i64 - 1;
    picked
        .into_iter()
        .enumerate()
        .map(|(k, r)| {
            let (from, to) = ((r.minute - w).max(0), (r.minute + w).min(last.max(0)));
            let span = (to - from + 1) as f64;
            let win = &rows[from as usize..=to as usize];
            let entries: i64 = win.iter().map(|x| x.entries).sum();
            let orders: i64 = win.iter().map(|x| x.orders).sum();
            let gmv: i64 = win.iter().map(|x| x.gmv_fen).sum();
            let rate = r.interaction_rate.value.unwrap_or(0.0);
            let entry_ratio = med_entries.and_then(|m| ratio(entries as f64 / span, m));
            let around = acts.as_ref().map(|a| around(a, from, to));
            let mut tags = Vec::new();
            if let Some(ar) = &around {
                if ar.red_packet_claims > 0 && ar.red_packet_ratio.is_some_and(|x| x >= 2.0) {
                    tags.push("lottery_red_packet");
                }
                if ar.votes > 0 && ar.vote_ratio.is_some_and(|x| x >= 2.0) {
                    tags.push("vote");
                }
                if ar.cohost_active {
                    tags.push("cohost");
                }
                if ar.demo_share.is_some_and(|x| x >= 0.3) && ar.demo_lift.is_some_and(|x| x >= 1.5)
                {
                    tags.push("product_demo");
                }
                if ar.comment_ratio.is_some_and(|x| x >= 1.5) {
                    tags.push("comment_burst");
                }
            }
            if entry_ratio.is_some_and(|x| x >= 1.5) {
                tags.push("traffic_inflow");
            }
            if tags.is_empty() {
                tags.push("no_marked_event");
            }
            Moment {
                rank: k as i64 + 1,
                minute: r.minute,
                start_ms: r.start_ms,
                interaction_rate: rate,
                interaction_people: r.interaction_people,
                online: r.online,
                rate_vs_median: med_rate.and_then(|m| ratio(rate, m)),
                window_from: from,
                window_to: to,
                entries,
                entry_ratio,
                orders,
                gmv_fen: gmv,
                around,
                tags,
            }
        })
        .collect()
}

fn around(acts: &[super::timeline::ActivityMinute], from: i64, to: i64) -> Around {
    let n = acts.len().max(1) as f64;
    let win = &acts[from as usize..=(to as usize).min(acts.len().saturating_sub(1))];
    let span = win.len().max(1) as f64;
    let sum = |xs: &[super::timeline::ActivityMinute],
               f: &dyn Fn(&super::timeline::ActivityMinute) -> i64| {
        xs.iter().map(f).sum::<i64>()
    };
    let red = sum(win, &|a| a.red_packet_claims);
    let red_all = sum(acts, &|a| a.red_packet_claims) as f64 / n;
    let votes = sum(win, &|a| a.votes);
    let votes_all = sum(acts, &|a| a.votes) as f64 / n;
    let comments = sum(win, &|a| a.comments);
    let med_comments = median(acts.iter().map(|a| a.comments as f64).collect());
    // the product shown: most impressions in the window, and its share vs the stream's
    let mut imp: std::collections::BTreeMap<&str, i64> = Default::default();
    for a in win {
        for p in &a.products {
            *imp.entry(p.product.as_str()).or_default() += p.impressions;
        }
    }
    let win_imp: i64 = imp.values().sum();
    let top = imp
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
        .map(|(p, v)| (p.to_string(), *v));
    let (demo_product, demo_share, demo_lift) = match top {
        Some((p, v)) if win_imp > 0 => {
            let all: i64 = acts.iter().map(|a| a.impressions).sum();
            let mine: i64 = acts
                .iter()
                .flat_map(|a| &a.products)
                .filter(|x| x.product == p)
                .map(|x| x.impressions)
                .sum();
            let share = v as f64 / win_imp as f64;
            let lift = ratio(mine as f64, all as f64).and_then(|s| ratio(share, s));
            (Some(p), Some(share), lift)
        }
        _ => (None, None, None),
    };
    Around {
        red_packet_claims: red,
        red_packet_ratio: ratio(red as f64 / span, red_all),
        votes,
        vote_ratio: ratio(votes as f64 / span, votes_all),
        comments,
        comment_ratio: med_comments.and_then(|m| ratio(comments as f64 / span, m)),
        comments_positive: sum(win, &|a| a.comments_positive),
        comments_negative: sum(win, &|a| a.comments_negative),
        gifts: sum(win, &|a| a.gifts),
        follows: sum(win, &|a| a.follows),
        cohost_active: win.iter().any(|a| a.cohost_active > 0),
        demo_product,
        demo_share,
        demo_lift,
    }
}

/// The audience rule, in words.
pub const AUDIENCE_RULE: &str = "lift = buyer share / viewer share of a group (buyers of the \
group / all buyers over viewers of the group / all viewers). target: lift ≥ lift_target with at \
least min_buyers buyers; avoid: lift ≤ lift_avoid where at least min_buyers buyers were expected \
(viewer share × all buyers); too_few_buyers: neither buyers nor expected buyers reach min_buyers.";

fn group(
    key: Option<String>,
    viewers: i64,
    buyers: i64,
    all_v: i64,
    all_b: i64,
    cfg: &DebriefConfig,
) -> AudienceGroup {
    let vs = Rate::new(viewers, all_v).value;
    let bs = Rate::new(buyers, all_b).value;
    let lift = match (bs, vs) {
        (Some(b), Some(v)) => ratio(b, v),
        _ => None,
    };
    let expected = vs.unwrap_or(0.0) * all_b as f64;
    let mb = cfg.min_buyers.max(1);
    let verdict = match lift {
        Some(l) if l >= cfg.lift_target && buyers >= mb => "target",
        Some(l) if l <= cfg.lift_avoid && expected >= mb as f64 => "avoid",
        _ if buyers < mb && expected < mb as f64 => "too_few_buyers",
        _ => "neutral",
    };
    AudienceGroup {
        key,
        viewers,
        buyers,
        viewer_share: vs,
        buyer_share: bs,
        lift,
        conversion: Rate::new(buyers, viewers).value,
        verdict,
    }
}

/// Buyers vs viewers per new/returning, tier, region and source (see [`AUDIENCE_RULE`]).
pub fn audience(s: &Snapshot, cfg: &DebriefConfig) -> Audience {
    let p = &s.people;
    let (all_v, all_b) = (p.viewers.total, p.buyers.total);
    let nr = |v: &NewReturning, b: &NewReturning| {
        vec![
            group(Some("new".into()), v.new, b.new, all_v, all_b, cfg),
            group(
                Some("returning".into()),
                v.returning,
                b.returning,
                all_v,
                all_b,
                cfg,
            ),
        ]
    };
    let rows = |g: &[GroupRow]| -> Vec<AudienceGroup> {
        g.iter()
            .map(|r| group(r.key.clone(), r.viewers, r.buyers, all_v, all_b, cfg))
            .collect()
    };
    let mut dims = vec![
        AudienceDimension {
            dimension: "new_returning",
            groups: nr(&p.viewers, &p.buyers),
        },
        AudienceDimension {
            dimension: "tier",
            groups: rows(&p.tiers),
        },
        AudienceDimension {
            dimension: "region",
            groups: rows(&p.regions),
        },
        AudienceDimension {
            dimension: "source",
            groups: rows(&p.sources),
        },
    ];
    let (mut target, mut avoid) = (Vec::new(), Vec::new());
    for d in &mut dims {
        d.groups.sort_by(|a, b| {
            b.lift
                .unwrap_or(f64::NEG_INFINITY)
                .total_cmp(&a.lift.unwrap_or(f64::NEG_INFINITY))
                .then_with(|| a.key.cmp(&b.key))
        });
        for g in &d.groups {
            let name = format!(
                "{}={} (lift {:.2})",
                d.dimension,
                g.key.as_deref().unwrap_or("unknown"),
                g.lift.unwrap_or(0.0)
            );
            match g.verdict {
                "target" => target.push(name),
                "avoid" => avoid.push(name),
                _ => {}
            }
        }
    }
    Audience {
        rule: AUDIENCE_RULE,
        dimensions: dims,
        target,
        avoid,
    }
}

/// KPIs of the comparison where smaller is better.
fn better_of(kpi: &str) -> Better {
    if matches!(kpi, "result.refund_fen" | "result.refund_rate") {
        Better::Lower
    } else {
        Better::Higher
    }
}

impl Plan {
    /// Checks every target names a KPI of the comparison and is a finite number ≥ 0.
    pub fn validate(&self) -> Result<(), PlanError> {
        let names: Vec<&str> = {
            // the comparison's KPI names (the rows of any comparison)
            let s = crate::kpi::Room::new(crate::kpi::RoomConfig::new(0)).snapshot(0);
            compare(&s, &s).rows.iter().map(|r| r.kpi).collect()
        };
        for (i, t) in self.targets.iter().enumerate() {
            if !names.contains(&t.kpi.as_str()) {
                return Err(PlanError {
                    field: format!("targets[{i}].kpi"),
                    message: format!(
                        "`{}` is not a compared KPI (one of {})",
                        t.kpi,
                        names.join(", ")
                    ),
                });
            }
            if !(t.target.is_finite() && t.target >= 0.0) {
                return Err(PlanError {
                    field: format!("targets[{i}].target"),
                    message: "must be a finite number ≥ 0".into(),
                });
            }
        }
        Ok(())
    }
}

fn pct(x: f64) -> String {
    format!("{:+.1} %", 100.0 * x)
}

/// Plan–do–measure–learn review of `current` against `plan` and `previous`.
#[allow(clippy::too_many_arguments)]
pub fn review(
    current: &Snapshot,
    previous: Option<&Snapshot>,
    plan: Option<&Plan>,
    timeline: Option<&Timeline>,
    previous_timeline: Option<&Timeline>,
    moments: &[Moment],
    products: &ProductPlan,
    audience: &Audience,
    cfg: &DebriefConfig,
) -> Review {
    let cmp = compare(previous.unwrap_or(current), current);
    let rows: Vec<ReviewRow> = cmp
        .rows
        .iter()
        .map(|r| {
            let better = better_of(r.kpi);
            let target = plan.and_then(|p| {
                p.targets
                    .iter()
                    .rev()
                    .find(|t| t.kpi == r.kpi)
                    .map(|t| t.target)
            });
            let (attainment, met) = match (target, r.b) {
                (Some(t), Some(a)) => match better {
                    Better::Higher => (ratio(a, t), Some(a >= t)),
                    Better::Lower => (ratio(t, a), Some(a <= t)),
                },
                _ => (None, None),
            };
            let has_prev = previous.is_some();
            ReviewRow {
                kpi: r.kpi,
                better,
                previous: if has_prev { r.a } else { None },
                actual: r.b,
                delta: if has_prev { r.delta } else { None },
                delta_ratio: if has_prev { r.delta_ratio } else { None },
                target,
                attainment,
                met,
            }
        })
        .collect();
    let mut changes = Vec::new();
    let mut learnings = Vec::new();
    // plan
    for r in rows.iter().filter(|r| r.target.is_some()) {
        let a = r
            .attainment
            .map_or("n/a".to_string(), |x| format!("{:.0} %", 100.0 * x));
        match r.met {
            Some(true) => learnings.push(format!("plan met: {} at {a} of target", r.kpi)),
            Some(false) => learnings.push(format!("plan missed: {} at {a} of target", r.kpi)),
            None => learnings.push(format!("plan: {} has no value to measure", r.kpi)),
        }
    }
    if let Some(prev) = previous {
        // KPI changes, largest relative first
        let mut k: Vec<&ReviewRow> = rows.iter().filter(|r| r.delta_ratio.is_some()).collect();
        k.sort_by(|a, b| {
            b.delta_ratio
                .unwrap_or(0.0)
                .abs()
                .total_cmp(&a.delta_ratio.unwrap_or(0.0).abs())
                .then_with(|| a.kpi.cmp(b.kpi))
        });
        for r in k.into_iter().take(cfg.top_changes) {
            changes.push(Change {
                area: "kpi",
                what: r.kpi.to_string(),
                previous: r.previous,
                current: r.actual,
                delta_ratio: r.delta_ratio,
            });
        }
        // goods: the top product, and products new / dropped
        let top = |s: &Snapshot| s.goods.first().map(|g| g.product.clone());
        if top(prev) != top(current) {
            changes.push(Change {
                area: "goods",
                what: format!(
                    "top product by GMV: {} → {}",
                    top(prev).unwrap_or_else(|| "none".into()),
                    top(current).unwrap_or_else(|| "none".into())
                ),
                previous: prev.goods.first().map(|g| g.gmv_fen as f64),
                current: current.goods.first().map(|g| g.gmv_fen as f64),
                delta_ratio: None,
            });
        }
        let ids =
            |s: &Snapshot| -> Vec<String> { s.goods.iter().map(|g| g.product.clone()).collect() };
        let (pi, ci) = (ids(prev), ids(current));
        let added: Vec<&String> = ci.iter().filter(|p| !pi.contains(p)).collect();
        let dropped: Vec<&String> = pi.iter().filter(|p| !ci.contains(p)).collect();
        if !added.is_empty() || !dropped.is_empty() {
            changes.push(Change {
                area: "goods",
                what: format!(
                    "products added: [{}], dropped: [{}]",
                    added
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    dropped
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                previous: Some(pi.len() as f64),
                current: Some(ci.len() as f64),
                delta_ratio: ratio(ci.len() as f64 - pi.len() as f64, pi.len() as f64),
            });
        }
        // scene: GMV per minute per segment
        for (a, b) in prev.scene.segments.iter().zip(&current.scene.segments) {
            if let (Some(x), Some(y)) = (a.gmv_per_minute.value, b.gmv_per_minute.value) {
                changes.push(Change {
                    area: "scene",
                    what: format!("{} GMV per minute (fen)", b.name),
                    previous: Some(x),
                    current: Some(y),
                    delta_ratio: ratio(y - x, x.abs()),
                });
            }
        }
        // activity totals (both timelines)
        if let (Some(t), Some(pt)) = (timeline, previous_timeline) {
            let tot = |tl: &Timeline, f: &dyn Fn(&super::timeline::ActivityMinute) -> i64| {
                tl.minutes().iter().map(f).sum::<i64>() as f64
            };
            type Getter = fn(&super::timeline::ActivityMinute) -> i64;
            let acts: [(&str, Getter); 6] = [
                ("red-packet claims", |a| a.red_packet_claims),
                ("votes", |a| a.votes),
                ("co-host minutes", |a| a.cohost_active),
                ("comments", |a| a.comments),
                ("negative comments", |a| a.comments_negative),
                ("gifts", |a| a.gifts),
            ];
            for (name, f) in acts {
                let (x, y) = (tot(pt, &f), tot(t, &f));
                changes.push(Change {
                    area: "activity",
                    what: name.to_string(),
                    previous: Some(x),
                    current: Some(y),
                    delta_ratio: ratio(y - x, x.abs()),
                });
            }
            let red = changes
                .iter()
                .find(|c| c.area == "activity" && c.what == "red-packet claims")
                .and_then(|c| c.delta_ratio);
            let inter = rows
                .iter()
                .find(|r| r.kpi == "process.interaction_rate")
                .and_then(|r| r.delta_ratio);
            if let (Some(dr), Some(di)) = (red, inter) {
                if dr.abs() >= 0.2 {
                    learnings.push(format!(
                        "red-packet claims {} came with interaction rate {}",
                        pct(dr),
                        pct(di)
                    ));
                }
            }
        }
        // leading → lagging
        let d = |k: &str| rows.iter().find(|r| r.kpi == k).and_then(|r| r.delta_ratio);
        if let (Some(di), Some(dc)) = (
            d("process.interaction_rate"),
            d("process.click_purchase_rate"),
        ) {
            learnings.push(format!(
                "interaction rate {} and click→purchase conversion {} vs the previous stream",
                pct(di),
                pct(dc)
            ));
        }
        if let Some(dg) = d("result.gpm") {
            learnings.push(format!("GPM {} vs the previous stream", pct(dg)));
        }
    }
    // moments → standard practice
    let mut tag_counts: Vec<(&str, usize)> = Vec::new();
    for m in moments {
        for t in &m.tags {
            match tag_counts.iter_mut().find(|x| x.0 == *t) {
                Some(x) => x.1 += 1,
                None => tag_counts.push((t, 1)),
            }
        }
    }
    tag_counts.retain(|x| x.0 != "no_marked_event");
    tag_counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    if !tag_counts.is_empty() {
        learnings.push(format!(
            "the {} highest-interaction moments came with: {} — make these a standard routine",
            moments.len(),
            tag_counts
                .iter()
                .map(|(t, n)| format!("{t} ×{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let (Some(first), Some(best)) = (products.suggested_order.first(), products.ranking.first())
    {
        learnings.push(format!(
            "next stream: open with {first} (highest-converting traffic item); best-ranked by \
             conversion and GPM: {}",
            best.product
        ));
    }
    if !audience.target.is_empty() {
        learnings.push(format!(
            "pre-stream ads: target {}",
            audience.target.join(", ")
        ));
    }
    Review {
        has_previous: previous.is_some(),
        has_plan: plan.is_some(),
        rows,
        changes,
        learnings,
    }
}

/// Every recommendation for `current` (the stream just run), given its timeline, the previous
/// stream's snapshot and timeline, and the plan, when available. The plan must be valid
/// ([`Plan::validate`]).
pub fn debrief(
    current: &Snapshot,
    timeline: Option<&Timeline>,
    previous: Option<&Snapshot>,
    previous_timeline: Option<&Timeline>,
    plan: Option<&Plan>,
    cfg: &DebriefConfig,
) -> Recommendations {
    let products = product_plan(current, cfg);
    let moments = moments(current, timeline, cfg);
    let audience = audience(current, cfg);
    let review = review(
        current,
        previous,
        plan,
        timeline,
        previous_timeline,
        &moments,
        &products,
        &audience,
        cfg,
    );
    Recommendations {
        horizon_ms: current.horizon_ms,
        ended: current.ended,
        products,
        moments,
        audience,
        review,
    }
}
