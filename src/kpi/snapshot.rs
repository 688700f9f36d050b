//! Snapshots: every KPI of a room at a moment, cheap to take (O(minutes + products + groups +
//! viewers), never O(events)) and serializable to JSON.

use serde::Serialize;

use super::analysis::{lagged_correlation, LagCorrelation};
use super::error::IngestStats;
use super::event::SCHEMA_VERSION;
use super::room::{flag, Counts, GroupTable, Minute, Room, MINUTE_MS};
use super::util::{Interner, NONE};

/// A ratio with its parts: `value = scale × numerator / denominator`, null when the denominator
/// is 0 (edge rule 5).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Rate {
    /// Numerator (people, events, fen or ms, as documented on the field).
    pub numerator: i64,
    /// Denominator.
    pub denominator: i64,
    /// Multiplier (1, or 1000 for per-mille KPIs such as GPM).
    pub scale: i64,
    /// `scale × numerator / denominator`, or null.
    pub value: Option<f64>,
}

impl Rate {
    /// `numerator / denominator`.
    pub fn new(numerator: i64, denominator: i64) -> Rate {
        Rate::scaled(numerator, denominator, 1)
    }
    /// `scale × numerator / denominator`.
    pub fn scaled(numerator: i64, denominator: i64, scale: i64) -> Rate {
        let value =
            (denominator != 0).then(|| scale as f64 * numerator as f64 / denominator as f64);
        Rate {
            numerator,
            denominator,
            scale,
            value,
        }
    }
}

/// Result layer (塔尖). Orders and GMV go by payment (an order paid twice counts once).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ResultLayer {
    /// GMV 成交金额, fen: Σ amount of paid orders; refunds not deducted.
    pub gmv_fen: i64,
    /// 订单数: distinct paid orders.
    pub orders: i64,
    /// 成交人数: distinct viewers with a paid order (kept after refunds).
    pub buyers: i64,
    /// Units in paid orders.
    pub units: i64,
    /// 客单价 AOV, fen: GMV / buyers.
    pub aov: Rate,
    /// AOV variant, fen: GMV / orders.
    pub aov_per_order: Rate,
    /// GPM 千次观看成交, fen: 1000 × GMV / entries (观看次数).
    pub gpm: Rate,
    /// UV价值, fen: GMV / viewers (观看人数).
    pub uv_value: Rate,
    /// Refund amount, fen, of refunds whose order is paid (whenever they arrive).
    pub refund_fen: i64,
    /// Refund events whose order is paid.
    pub refunds: i64,
    /// Paid orders with at least one refund.
    pub refunded_orders: i64,
    /// 退款率: refund_fen / GMV.
    pub refund_rate: Rate,
    /// Refund amount, fen, of refunds whose order was never paid (reported apart).
    pub unknown_order_refund_fen: i64,
    /// Refund events whose order was never paid.
    pub unknown_order_refunds: i64,
    /// Order-created events.
    pub orders_created: i64,
}

/// Process layer (塔身). People-based unless the name ends in `_count` / says 次数.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProcessLayer {
    /// 观看人数: distinct viewers with an enter event.
    pub viewers: i64,
    /// 观看次数: enter events (re-entries and direct entries included).
    pub entries: i64,
    /// Distinct sessions with an enter.
    pub sessions: i64,
    /// Room-exposure events (次数).
    pub room_exposures: i64,
    /// Distinct viewers with a room exposure.
    pub room_exposure_people: i64,
    /// PCU 最高在线: max concurrent sessions over [start, horizon) (same-ms changes netted).
    pub pcu: i64,
    /// First instant (ms) at which PCU is reached; null with no minutes.
    pub pcu_at_ms: Option<i64>,
    /// ACU, first-instant: Σ concurrency at each minute's first ms / minutes.
    pub acu_first_instant: Rate,
    /// ACU, time-weighted: Σ session overlap ms / (60,000 × minutes).
    pub acu_time_weighted: Rate,
    /// Total watch time, ms: Σ session overlap with [start, horizon).
    pub watch_ms_total: i64,
    /// 人均观看时长, ms: watch_ms_total / viewers.
    pub avg_watch_ms: Rate,
    /// Median of per-viewer watch time (ms) over viewers; see `watch_quantile_rule`.
    pub watch_median_ms: Option<i64>,
    /// 90th percentile of per-viewer watch time (ms).
    pub watch_p90_ms: Option<i64>,
    /// The quantile rule used.
    pub watch_quantile_rule: &'static str,
    /// Distinct viewers who liked, commented or shared (edge rule 4).
    pub interaction_people: i64,
    /// Like + comment + share events.
    pub interaction_events: i64,
    /// Comment events.
    pub comments: i64,
    /// Like events.
    pub like_events: i64,
    /// Σ like counts.
    pub likes: i64,
    /// Share events.
    pub shares: i64,
    /// 观看-互动率(人数): interaction_people / viewers.
    pub interaction_rate: Rate,
    /// 次数 variant: interaction_events / entries.
    pub interaction_rate_count: Rate,
    /// Follow events.
    pub follows: i64,
    /// Distinct viewers who followed.
    pub follow_people: i64,
    /// 转粉率: follow_people / viewers.
    pub follow_rate: Rate,
    /// Fan-club join events.
    pub fan_club_joins: i64,
    /// Distinct viewers who joined the fan club.
    pub fan_club_people: i64,
    /// 加团率: fan_club_people / viewers.
    pub fan_club_rate: Rate,
    /// Distinct viewers shown a product.
    pub product_exposure_people: i64,
    /// 观看-商品曝光率(人数): product_exposure_people / viewers.
    pub product_exposure_rate: Rate,
    /// Product impression events.
    pub impressions: i64,
    /// Product click events.
    pub clicks: i64,
    /// Distinct viewers who clicked a product.
    pub clickers: i64,
    /// 商品曝光-点击率(人数): clickers / product_exposure_people.
    pub exposure_click_rate: Rate,
    /// 次数 variant: clicks / impressions.
    pub exposure_click_rate_count: Rate,
    /// 商品点击-成交率(人数): buyers / clickers.
    pub click_purchase_rate: Rate,
    /// 次数 variant: orders / clicks.
    pub click_purchase_rate_count: Rate,
    /// 观看-成交率: buyers / viewers.
    pub view_purchase_rate: Rate,
    /// 次数 variant: orders / entries.
    pub view_purchase_rate_count: Rate,
    /// Add-to-cart events.
    pub add_to_cart: i64,
    /// Distinct viewers who added to cart.
    pub add_to_cart_people: i64,
}

/// New vs returning split (edge rule 8).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NewReturning {
    /// Population size.
    pub total: i64,
    /// New people.
    pub new: i64,
    /// Returning people (seen in an earlier stream, or follower ≥ 1 day at first enter).
    pub returning: i64,
    /// Buyers only: buyers without any enter event (neither new nor returning).
    pub not_entered: i64,
    /// new / total.
    pub new_share: Rate,
    /// returning / total.
    pub returning_share: Rate,
    /// GMV (fen) of new buyers (0 in the viewers split).
    pub gmv_new_fen: i64,
    /// GMV (fen) of returning buyers (0 in the viewers split).
    pub gmv_returning_fen: i64,
    /// GMV (fen) of buyers who never entered (0 in the viewers split).
    pub gmv_not_entered_fen: i64,
}

/// One group of a people slice (a region, tier or traffic source; null key = unknown).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupRow {
    /// Group name (null = not given on the viewer's first enter, or never entered).
    pub key: Option<String>,
    /// Viewers in the group.
    pub viewers: i64,
    /// Buyers in the group.
    pub buyers: i64,
    /// GMV of the group's viewers, fen.
    pub gmv_fen: i64,
    /// viewers / all viewers.
    pub viewer_share: Rate,
    /// buyers / all buyers.
    pub buyer_share: Rate,
    /// buyers / viewers of the group (观看-成交率 within the group).
    pub conversion: Rate,
}

/// 人: people slices. A viewer's attributes come from their earliest enter event.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct People {
    /// Viewers new vs returning.
    pub viewers: NewReturning,
    /// Buyers new vs returning (plus buyers who never entered).
    pub buyers: NewReturning,
    /// Spending tiers, sorted by viewers desc then key.
    pub tiers: Vec<GroupRow>,
    /// Regions, sorted by viewers desc then key.
    pub regions: Vec<GroupRow>,
    /// Traffic sources, sorted by viewers desc then key.
    pub sources: Vec<GroupRow>,
}

/// 货: one product row. CTR and conversion as in the article (次数), plus people variants.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProductRow {
    /// Product id.
    pub product: String,
    /// Impression events.
    pub impressions: i64,
    /// Click events.
    pub clicks: i64,
    /// CTR: clicks / impressions.
    pub ctr: Rate,
    /// Units in paid orders of the product.
    pub units: i64,
    /// Paid orders of the product.
    pub orders: i64,
    /// Conversion (article): units / clicks.
    pub conversion: Rate,
    /// Variant: orders / clicks.
    pub conversion_orders: Rate,
    /// Distinct viewers shown the product.
    pub impression_people: i64,
    /// Distinct viewers who clicked it.
    pub click_people: i64,
    /// People CTR: click_people / impression_people.
    pub ctr_people: Rate,
    /// Distinct buyers of the product.
    pub buyers: i64,
    /// 商品点击-成交率(人数): buyers / click_people.
    pub conversion_people: Rate,
    /// Add-to-cart events.
    pub add_to_cart: i64,
    /// Distinct viewers who added it to cart.
    pub add_to_cart_people: i64,
    /// Product GMV, fen.
    pub gmv_fen: i64,
    /// 商品千次曝光成交, fen: 1000 × gmv / impressions.
    pub gpm_impressions: Rate,
    /// Refund amount (fen) of the product's paid orders.
    pub refund_fen: i64,
    /// Refund events of the product's paid orders.
    pub refunds: i64,
}

/// 场: one minute of the stream (minute m covers [start + m·60 s, start + (m+1)·60 s); an
/// event exactly at the stream end belongs to the last minute).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MinuteRow {
    /// Minute index from the stream start.
    pub minute: i64,
    /// First ms of the minute.
    pub start_ms: i64,
    /// 在线人数: distinct viewers with a session overlapping the minute (edge rule 3).
    pub online: i64,
    /// Concurrent sessions at the minute's first ms.
    pub concurrency_at_start: i64,
    /// Max concurrent sessions within the minute.
    pub peak_concurrency: i64,
    /// Σ overlap ms in the minute / 60,000 (time-weighted concurrency).
    pub avg_concurrency: Rate,
    /// Enter events.
    pub entries: i64,
    /// Distinct viewers who interacted in the minute.
    pub interaction_people: i64,
    /// Interaction events.
    pub interaction_events: i64,
    /// interaction_people / online.
    pub interaction_rate: Rate,
    /// Product impressions.
    pub impressions: i64,
    /// Product clicks.
    pub clicks: i64,
    /// Paid orders (by payment time).
    pub orders: i64,
    /// GMV, fen.
    pub gmv_fen: i64,
    /// Distinct viewers paying in the minute.
    pub buyers: i64,
    /// buyers / online.
    pub conversion: Rate,
}

/// A segment of the stream (opening / middle / closing), whole minutes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SegmentRow {
    /// "opening", "middle" or "closing".
    pub name: &'static str,
    /// First minute index (null when the segment is empty).
    pub first_minute: Option<i64>,
    /// Number of minutes.
    pub minutes: i64,
    /// Enter events.
    pub entries: i64,
    /// Interaction events.
    pub interaction_events: i64,
    /// Product impressions.
    pub impressions: i64,
    /// Product clicks.
    pub clicks: i64,
    /// Paid orders.
    pub orders: i64,
    /// GMV, fen.
    pub gmv_fen: i64,
    /// Max of the minutes' peak concurrency.
    pub peak_concurrency: i64,
    /// Mean online: Σ minute online / minutes.
    pub avg_online: Rate,
    /// Mean concurrency at minute starts: Σ / minutes.
    pub acu_first_instant: Rate,
    /// Interaction people-minutes / online people-minutes.
    pub interaction_rate: Rate,
    /// GMV per minute, fen: gmv / minutes.
    pub gmv_per_minute: Rate,
}

/// Peaks of the scene (ties: earliest).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Peaks {
    /// PCU.
    pub pcu: i64,
    /// Instant (ms) of the PCU.
    pub pcu_at_ms: Option<i64>,
    /// Minute of the PCU.
    pub pcu_minute: Option<i64>,
    /// Minute with the most interaction people.
    pub interaction_minute: Option<i64>,
    /// Interaction people in that minute.
    pub interaction_people: i64,
    /// Minute with the most paid orders (order density).
    pub order_minute: Option<i64>,
    /// Orders in that minute.
    pub orders: i64,
}

/// 场: minute series, segments, peaks.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scene {
    /// One row per minute from the start to the horizon.
    pub minutes: Vec<MinuteRow>,
    /// Opening, middle, closing (closing is empty while the end is unknown).
    pub segments: Vec<SegmentRow>,
    /// Peaks.
    pub peaks: Peaks,
}

/// One step of the five-step funnel (五维四率).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FunnelStep {
    /// "room_exposure", "enter", "product_exposure", "click", "purchase".
    pub step: &'static str,
    /// Distinct people who did this step (own population, edge rule 6).
    pub people: i64,
    /// Distinct people who did this step and every earlier one (at any time).
    pub nested_people: i64,
    /// 次数: events (exposures, entries, impressions, clicks, paid orders).
    pub count: i64,
    /// people / previous step's people (null for the first step).
    pub rate: Option<Rate>,
    /// nested_people / previous nested_people.
    pub nested_rate: Option<Rate>,
    /// count / previous count.
    pub count_rate: Option<Rate>,
}

/// Five-step funnel: room exposure → enter → product exposure → click → purchase.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Funnel {
    /// The five steps in order.
    pub steps: Vec<FunnelStep>,
}

/// One behaviour path: the order in which a viewer first did enter / product_exposure / click /
/// purchase (ties in time: in that step order).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PathRow {
    /// Steps in order of first occurrence.
    pub path: Vec<&'static str>,
    /// Viewers following this path.
    pub viewers: i64,
    /// viewers / viewers with any step.
    pub share: Rate,
}

/// Votes for one option.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VoteCount {
    /// The option.
    pub option: String,
    /// Vote events for it.
    pub votes: i64,
}

/// Interactive features and gifts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Interactive {
    /// Gift events.
    pub gifts: i64,
    /// Σ gift value, fen.
    pub gift_fen: i64,
    /// Distinct gifters.
    pub gifters: i64,
    /// Red-packet claims.
    pub red_packet_claims: i64,
    /// Σ claimed, fen.
    pub red_packet_fen: i64,
    /// Distinct claimers.
    pub red_packet_people: i64,
    /// Vote events.
    pub votes: i64,
    /// Distinct voters.
    pub voters: i64,
    /// Votes per option (sorted by option; "" = no option given).
    pub vote_options: Vec<VoteCount>,
    /// Co-host start events.
    pub cohost_starts: i64,
    /// Co-host end events.
    pub cohost_ends: i64,
    /// Co-host links with both a start and an end.
    pub cohost_links: i64,
    /// Σ (last end − first start) over those links, ms (negative spans count 0).
    pub cohost_ms: i64,
}

/// Every KPI of a room at `now_ms`. Time-based KPIs use the horizon = min(now, end): minutes
/// from the start up to the horizon. While the stream is live, a session without a leave counts
/// up to its provisional end (last heartbeat + timeout) in per-viewer watch quantiles, but only
/// up to the horizon in watch_ms_total, PCU and ACU.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Snapshot {
    /// [`SCHEMA_VERSION`] of the events.
    pub schema_version: u32,
    /// The `now_ms` asked for.
    pub now_ms: i64,
    /// min(now, end, start + `caps.minutes` min): time-based KPIs stop here.
    pub horizon_ms: i64,
    /// Stream start.
    pub stream_start_ms: i64,
    /// Stream end, if known.
    pub stream_end_ms: Option<i64>,
    /// True when the end is known and now ≥ end (everything final).
    pub ended: bool,
    /// Minutes from the start to the horizon (⌈(horizon − start) / 60 s⌉, ≥ 0, at most
    /// `caps.minutes` of the room's config).
    pub minutes: i64,
    /// Result layer.
    pub result: ResultLayer,
    /// Process layer.
    pub process: ProcessLayer,
    /// 人.
    pub people: People,
    /// 货: one row per product, sorted by GMV desc then product id.
    pub goods: Vec<ProductRow>,
    /// 场.
    pub scene: Scene,
    /// Five-step funnel.
    pub funnel: Funnel,
    /// Top behaviour paths (most viewers first, then path).
    pub paths: Vec<PathRow>,
    /// Per-minute interaction_rate (leading) vs conversion (lagging).
    pub correlation: LagCorrelation,
    /// Gifts, red packets, votes, co-host.
    pub interactive: Interactive,
    /// Ingestion statistics.
    pub stats: IngestStats,
}

/// The nearest-rank rule description.
pub const QUANTILE_RULE: &str =
    "nearest-rank: value at 1-based rank ceil(q*n) of the sorted per-viewer watch times";

const PATH_STEPS: [&str; 4] = ["enter", "product_exposure", "click", "purchase"];

fn decode_path(mut code: u16) -> Vec<&'static str> {
    let mut v = Vec::new();
    while code > 0 {
        let d = (code % 5) as usize;
        if d == 0 {
            break;
        }
        v.push(PATH_STEPS[d - 1]);
        code /= 5;
    }
    v.reverse();
    v
}

fn group_rows(map: &GroupTable, names: &Interner, viewers: i64, buyers: i64) -> Vec<GroupRow> {
    let mut rows: Vec<GroupRow> = map
        .iter()
        .filter(|(_, g)| g.viewers != 0 || g.buyers != 0 || g.gmv != 0)
        .map(|(k, g)| GroupRow {
            key: (k != NONE).then(|| names.name(k).to_string()),
            viewers: g.viewers,
            buyers: g.buyers,
            gmv_fen: g.gmv,
            viewer_share: Rate::new(g.viewers, viewers),
            buyer_share: Rate::new(g.buyers, buyers),
            conversion: Rate::new(g.buyers, g.viewers),
        })
        .collect();
    rows.sort_by(|a, b| b.viewers.cmp(&a.viewers).then_with(|| a.key.cmp(&b.key)));
    rows
}

struct MinuteCalc {
    row: MinuteRow,
    integral: i64,
    peak_at: i64,
}

impl Room {
    /// All KPIs at `now_ms` (see [`Snapshot`]). Cost: O(minutes + products + groups + viewers).
    pub fn snapshot(&self, now_ms: i64) -> Snapshot {
        let start = self.cfg.stream_start_ms;
        let end = self.end;
        let safe = super::event::MAX_SAFE;
        // the minute cap bounds the horizon too: a snapshot far in the future (unknown end)
        // shows at most `caps.minutes` rows
        let cap_ms = start.saturating_add(self.cfg.caps.minutes as i64 * MINUTE_MS);
        let horizon = end
            .map_or(now_ms, |e| now_ms.min(e))
            .min(cap_ms)
            .clamp(-safe, safe);
        let ended = end.is_some_and(|e| now_ms >= e);
        let shown = if horizon <= start {
            0
        } else {
            (((horizon - start) as u64).div_ceil(MINUTE_MS as u64) as usize)
                .min(self.cfg.caps.minutes)
        };
        let fold = ended && end.is_some_and(|e| e > start && (e - start) % MINUTE_MS == 0);
        let empty = Minute::default();
        let get = |m: usize| self.minutes.get(m).unwrap_or(&empty);

        // ----- minutes -----
        let mut base = 0i64;
        let mut rows = Vec::with_capacity(shown);
        let mut pcu = 0i64;
        let mut pcu_at: Option<(i64, i64)> = None;
        let mut watch_total = 0i64;
        let mut conc_start_sum = 0i64;
        for m in 0..shown {
            let mi = get(m);
            let t0 = start + m as i64 * MINUTE_MS;
            let calc =
                self.minute_row(m, mi, t0, base, horizon, fold && m + 1 == shown, get(m + 1));
            if pcu_at.is_none() || calc.row.peak_concurrency > pcu {
                pcu = calc.row.peak_concurrency;
                pcu_at = Some((calc.peak_at, m as i64));
            }
            watch_total += calc.integral;
            conc_start_sum += calc.row.concurrency_at_start;
            base += mi.d_sum;
            rows.push(calc.row);
        }
        let minutes = shown as i64;

        // ----- segments -----
        let open_n = (self.cfg.opening_ms.max(0) as u64).div_ceil(MINUTE_MS as u64) as i64;
        let close_n = (self.cfg.closing_ms.max(0) as u64).div_ceil(MINUTE_MS as u64) as i64;
        let total_m = end.map(|e| ((e - start).max(0) as u64).div_ceil(MINUTE_MS as u64) as i64);
        let seg_of = |m: i64| -> usize {
            if m < open_n {
                0
            } else if total_m.is_some_and(|t| m + close_n >= t) {
                2
            } else {
                1
            }
        };
        let names = ["opening", "middle", "closing"];
        let mut seg: Vec<SegmentRow> = names
            .iter()
            .map(|&name| SegmentRow {
                name,
                first_minute: None,
                minutes: 0,
                entries: 0,
                interaction_events: 0,
                impressions: 0,
                clicks: 0,
                orders: 0,
                gmv_fen: 0,
                peak_concurrency: 0,
                avg_online: Rate::new(0, 0),
                acu_first_instant: Rate::new(0, 0),
                interaction_rate: Rate::new(0, 0),
                gmv_per_minute: Rate::new(0, 0),
            })
            .collect();
        let mut seg_sums = [[0i64; 3]; 3];
        for r in &rows {
            let si = seg_of(r.minute);
            let s = &mut seg[si];
            s.first_minute.get_or_insert(r.minute);
            s.minutes += 1;
            s.entries += r.entries;
            s.interaction_events += r.interaction_events;
            s.impressions += r.impressions;
            s.clicks += r.clicks;
            s.orders += r.orders;
            s.gmv_fen += r.gmv_fen;
            s.peak_concurrency = s.peak_concurrency.max(r.peak_concurrency);
            seg_sums[si][0] += r.online;
            seg_sums[si][1] += r.concurrency_at_start;
            seg_sums[si][2] += r.interaction_people;
        }
        for (s, sums) in seg.iter_mut().zip(seg_sums) {
            s.avg_online = Rate::new(sums[0], s.minutes);
            s.acu_first_instant = Rate::new(sums[1], s.minutes);
            s.interaction_rate = Rate::new(sums[2], sums[0]);
            s.gmv_per_minute = Rate::new(s.gmv_fen, s.minutes);
        }

        // ----- peaks -----
        let mut peaks = Peaks {
            pcu,
            pcu_at_ms: pcu_at.map(|p| p.0),
            pcu_minute: pcu_at.map(|p| p.1),
            interaction_minute: None,
            interaction_people: 0,
            order_minute: None,
            orders: 0,
        };
        for r in &rows {
            if peaks.interaction_minute.is_none() || r.interaction_people > peaks.interaction_people
            {
                peaks.interaction_minute = Some(r.minute);
                peaks.interaction_people = r.interaction_people;
            }
            if peaks.order_minute.is_none() || r.orders > peaks.orders {
                peaks.order_minute = Some(r.minute);
                peaks.orders = r.orders;
            }
        }

        // ----- correlation -----
        let xs: Vec<Option<f64>> = rows.iter().map(|r| r.interaction_rate.value).collect();
        let ys: Vec<Option<f64>> = rows.iter().map(|r| r.conversion.value).collect();
        let correlation = lagged_correlation(
            "interaction_rate",
            &xs,
            "conversion",
            &ys,
            self.cfg.max_lag_minutes,
        );

        // ----- people counts -----
        let a = &self.agg;
        let pc = |f: u32| a.people[f.trailing_zeros() as usize];
        let t = &self.t;
        let viewers = pc(flag::ENTERED);
        let buyers = pc(flag::BOUGHT);
        let interaction_people = pc(flag::INTERACTED);
        let exposed_people = pc(flag::PIMPRESSED);
        let clickers = pc(flag::CLICKED);

        // ----- watch quantiles (nearest rank over the viewers' watch times) -----
        let [median, p90] = self.watch_quantiles([|n| n.div_ceil(2), |n| (9 * n).div_ceil(10)]);

        let result = ResultLayer {
            gmv_fen: t.gmv,
            orders: t.orders,
            buyers,
            units: t.units,
            aov: Rate::new(t.gmv, buyers),
            aov_per_order: Rate::new(t.gmv, t.orders),
            gpm: Rate::scaled(t.gmv, t.entries, 1000),
            uv_value: Rate::new(t.gmv, viewers),
            refund_fen: t.refund_known_fen,
            refunds: t.refund_known,
            refunded_orders: t.refunded_orders,
            refund_rate: Rate::new(t.refund_known_fen, t.gmv),
            unknown_order_refund_fen: t.refund_all_fen - t.refund_known_fen,
            unknown_order_refunds: t.refund_all - t.refund_known,
            orders_created: t.orders_created,
        };
        let process = ProcessLayer {
            viewers,
            entries: t.entries,
            sessions: t.sessions,
            room_exposures: t.room_exposures,
            room_exposure_people: pc(flag::EXPOSED),
            pcu,
            pcu_at_ms: pcu_at.map(|p| p.0),
            acu_first_instant: Rate::new(conc_start_sum, minutes),
            acu_time_weighted: Rate::new(watch_total, MINUTE_MS * minutes),
            watch_ms_total: watch_total,
            avg_watch_ms: Rate::new(watch_total, viewers),
            watch_median_ms: median,
            watch_p90_ms: p90,
            watch_quantile_rule: QUANTILE_RULE,
            interaction_people,
            interaction_events: t.comments + t.like_events + t.shares,
            comments: t.comments,
            like_events: t.like_events,
            likes: t.likes,
            shares: t.shares,
            interaction_rate: Rate::new(interaction_people, viewers),
            interaction_rate_count: Rate::new(t.comments + t.like_events + t.shares, t.entries),
            follows: t.follows,
            follow_people: pc(flag::FOLLOWED),
            follow_rate: Rate::new(pc(flag::FOLLOWED), viewers),
            fan_club_joins: t.fan_joins,
            fan_club_people: pc(flag::FANCLUB),
            fan_club_rate: Rate::new(pc(flag::FANCLUB), viewers),
            product_exposure_people: exposed_people,
            product_exposure_rate: Rate::new(exposed_people, viewers),
            impressions: t.impressions,
            clicks: t.clicks,
            clickers,
            exposure_click_rate: Rate::new(clickers, exposed_people),
            exposure_click_rate_count: Rate::new(t.clicks, t.impressions),
            click_purchase_rate: Rate::new(buyers, clickers),
            click_purchase_rate_count: Rate::new(t.orders, t.clicks),
            view_purchase_rate: Rate::new(buyers, viewers),
            view_purchase_rate_count: Rate::new(t.orders, t.entries),
            add_to_cart: t.carts,
            add_to_cart_people: pc(flag::CARTED),
        };

        let vr = a.viewers_returning;
        let br = a.buyers_returning;
        let bn = a.buyers_not_entered;
        let people = People {
            viewers: NewReturning {
                total: viewers,
                new: viewers - vr,
                returning: vr,
                not_entered: 0,
                new_share: Rate::new(viewers - vr, viewers),
                returning_share: Rate::new(vr, viewers),
                gmv_new_fen: 0,
                gmv_returning_fen: 0,
                gmv_not_entered_fen: 0,
            },
            buyers: NewReturning {
                total: buyers,
                new: buyers - br - bn,
                returning: br,
                not_entered: bn,
                new_share: Rate::new(buyers - br - bn, buyers),
                returning_share: Rate::new(br, buyers),
                gmv_new_fen: a.gmv_new,
                gmv_returning_fen: a.gmv_returning,
                gmv_not_entered_fen: a.gmv_not_entered,
            },
            tiers: group_rows(&a.tiers, &self.labels, viewers, buyers),
            regions: group_rows(&a.regions, &self.labels, viewers, buyers),
            sources: group_rows(&a.sources, &self.labels, viewers, buyers),
        };

        // ----- goods -----
        let mut goods: Vec<ProductRow> = self
            .products
            .iter()
            .enumerate()
            .map(|(i, p)| ProductRow {
                product: self.product_ids.name(i as u32).to_string(),
                impressions: p.impressions,
                clicks: p.clicks,
                ctr: Rate::new(p.clicks, p.impressions),
                units: p.units,
                orders: p.orders,
                conversion: Rate::new(p.units, p.clicks),
                conversion_orders: Rate::new(p.orders, p.clicks),
                impression_people: p.imp_people,
                click_people: p.click_people,
                ctr_people: Rate::new(p.click_people, p.imp_people),
                buyers: p.buyers,
                conversion_people: Rate::new(p.buyers, p.click_people),
                add_to_cart: p.carts,
                add_to_cart_people: p.cart_people,
                gmv_fen: p.gmv,
                gpm_impressions: Rate::scaled(p.gmv, p.impressions, 1000),
                refund_fen: p.refund_fen,
                refunds: p.refunds,
            })
            .filter(|r| {
                r.impressions != 0
                    || r.clicks != 0
                    || r.orders != 0
                    || r.add_to_cart != 0
                    || r.refunds != 0
            })
            .collect();
        goods.sort_by(|a, b| {
            b.gmv_fen
                .cmp(&a.gmv_fen)
                .then_with(|| a.product.cmp(&b.product))
        });

        // ----- funnel -----
        let names = [
            "room_exposure",
            "enter",
            "product_exposure",
            "click",
            "purchase",
        ];
        let ppl = [pc(flag::EXPOSED), viewers, exposed_people, clickers, buyers];
        let cnt = [
            t.room_exposures,
            t.entries,
            t.impressions,
            t.clicks,
            t.orders,
        ];
        let steps = (0..5)
            .map(|i| FunnelStep {
                step: names[i],
                people: ppl[i],
                nested_people: a.nested[i],
                count: cnt[i],
                rate: (i > 0).then(|| Rate::new(ppl[i], ppl[i - 1])),
                nested_rate: (i > 0).then(|| Rate::new(a.nested[i], a.nested[i - 1])),
                count_rate: (i > 0).then(|| Rate::new(cnt[i], cnt[i - 1])),
            })
            .collect();

        // ----- paths -----
        let path_total: i64 = a.paths.iter().sum();
        let mut paths: Vec<(u16, i64)> = a
            .paths
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(c, &n)| (c as u16, n))
            .collect();
        paths.sort_by(|x, y| {
            y.1.cmp(&x.1)
                .then_with(|| decode_path(x.0).cmp(&decode_path(y.0)))
        });
        let paths = paths
            .into_iter()
            .take(self.cfg.top_paths)
            .map(|(c, n)| PathRow {
                path: decode_path(c),
                viewers: n,
                share: Rate::new(n, path_total),
            })
            .collect();

        // ----- interactive -----
        let mut vote_options: Vec<VoteCount> = self
            .votes_by_option
            .iter()
            .map(|(&k, &n)| VoteCount {
                option: if k == NONE {
                    String::new()
                } else {
                    self.labels.name(k).to_string()
                },
                votes: n,
            })
            .collect();
        vote_options.sort_by(|a, b| a.option.cmp(&b.option));
        let (mut links, mut cms) = (0i64, 0i64);
        for &(s, e) in self.cohosts.values() {
            if let (Some(s), Some(e)) = (s, e) {
                links += 1;
                cms += (e - s).max(0);
            }
        }
        let interactive = Interactive {
            gifts: t.gifts,
            gift_fen: t.gift_fen,
            gifters: pc(flag::GIFTED),
            red_packet_claims: t.red_packets,
            red_packet_fen: t.red_packet_fen,
            red_packet_people: pc(flag::REDPACKET),
            votes: t.votes,
            voters: pc(flag::VOTED),
            vote_options,
            cohost_starts: t.cohost_starts,
            cohost_ends: t.cohost_ends,
            cohost_links: links,
            cohost_ms: cms,
        };

        Snapshot {
            schema_version: SCHEMA_VERSION,
            now_ms,
            horizon_ms: horizon,
            stream_start_ms: start,
            stream_end_ms: end,
            ended,
            minutes,
            result,
            process,
            people,
            goods,
            scene: Scene {
                minutes: rows,
                segments: seg,
                peaks,
            },
            funnel: Funnel { steps },
            paths,
            correlation,
            interactive,
            stats: self.stats(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn minute_row(
        &self,
        m: usize,
        mi: &Minute,
        t0: i64,
        base: i64,
        horizon: i64,
        fold: bool,
        next: &Minute,
    ) -> MinuteCalc {
        let full = t0 + MINUTE_MS <= horizon;
        let (peak, peak_at, integral) = if full {
            (
                base + mi.d_max,
                mi.d_max_at,
                base * MINUTE_MS + mi.d_integral,
            )
        } else {
            mi.conc_until(t0, base, horizon)
        };
        let mut c = Counts::default();
        c.add(&mi.c[0]);
        c.add(&mi.c[1]);
        let mut inter_people = mi.inter_people;
        let mut pay_people = mi.pay_people;
        if fold && mi.compact {
            c.add(&next.c[1]);
            inter_people += mi.fold[0];
            pay_people += mi.fold[1];
        } else if fold {
            c.add(&next.c[1]);
            for (v, nv) in &next.viewers {
                let cur = mi.viewers.get(v);
                if nv.inter & 2 != 0 && cur.is_none_or(|x| x.inter == 0) {
                    inter_people += 1;
                }
                if nv.pay[1] > 0 && cur.is_none_or(|x| x.pay[0] + x.pay[1] <= 0) {
                    pay_people += 1;
                }
            }
        }
        let conc_start = base + mi.d_at_start;
        MinuteCalc {
            row: MinuteRow {
                minute: m as i64,
                start_ms: t0,
                online: mi.online,
                concurrency_at_start: conc_start,
                peak_concurrency: peak,
                avg_concurrency: Rate::new(integral, MINUTE_MS),
                entries: c.entries,
                interaction_people: inter_people,
                interaction_events: c.interactions,
                interaction_rate: Rate::new(inter_people, mi.online),
                impressions: c.impressions,
                clicks: c.clicks,
                orders: c.orders,
                gmv_fen: c.gmv,
                buyers: pay_people,
                conversion: Rate::new(pay_people, mi.online),
            },
            integral,
            peak_at,
        }
    }
}
