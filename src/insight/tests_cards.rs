//! Native tests of the scorecards and the after-stream recommendations.

use super::*;
use crate::kpi::{generate, GenConfig, Room, RoomConfig, Snapshot};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

fn inputs_all() -> ScoreInputs {
    ScoreInputs {
        gmv_fen: Some(500_000.0),
        gpm: Some(60_000.0),
        orders: Some(100.0),
        avg_watch_ms: Some(30_000.0),
        interaction_rate: Some(0.2),
        exposure_click_rate: Some(0.05),
        click_purchase_rate: Some(0.1),
        follow_rate: Some(0.03),
        tech: TechInputs {
            first_frame_ms: Some(2_000.0),
            stall_rate: Some(0.0),
            latency_ms: Some(3_000.0),
        },
    }
}

fn role(items: &[(Kpi, f64, f64)]) -> RoleConfig {
    RoleConfig {
        role: "r".into(),
        title: "R".into(),
        items: items
            .iter()
            .map(|&(kpi, weight, target)| ItemConfig {
                kpi,
                weight,
                target,
            })
            .collect(),
    }
}

#[test]
fn cards_hand_computed_points_and_caps() {
    // weights 2 : 1 : 1 → 0.5, 0.25, 0.25
    let r = role(&[
        (Kpi::GmvFen, 2.0, 1_000_000.0),   // 0.5 attainment
        (Kpi::InteractionRate, 1.0, 0.1),  // 2.0 → capped at 1.2
        (Kpi::FirstFrameMs, 1.0, 1_000.0), // lower better: 1000 / 2000 = 0.5
    ]);
    let c = score_role(&r, &inputs_all(), 1.2);
    assert!(close(c.items[0].attainment.unwrap(), 0.5));
    assert!(close(c.items[1].attainment.unwrap(), 1.2));
    assert!(close(c.items[2].attainment.unwrap(), 0.5));
    assert!(close(c.items[0].points.unwrap(), 25.0));
    assert!(close(c.items[1].points.unwrap(), 30.0));
    assert!(close(c.items[2].points.unwrap(), 12.5));
    assert!(close(c.score.unwrap(), 67.5));
    assert!(close(c.max_score, 120.0));
    assert!(c.missing.is_empty() && c.notes.is_empty());
    assert!(close(c.layers[0].points, 25.0) && close(c.layers[2].weight, 0.25));
    // stall rate 0 with lower-better: full cap
    assert!(close(attainment(Better::Lower, 0.0, 0.01, 1.2), 1.2));
    assert!(close(attainment(Better::Higher, -5.0, 1.0, 1.2), 0.0));
}

#[test]
fn cards_missing_player_summaries_redistribute_weight() {
    let r = role(&[
        (Kpi::GmvFen, 0.5, 1_000_000.0),
        (Kpi::InteractionRate, 0.25, 0.2),
        (Kpi::StallRate, 0.15, 0.01),
        (Kpi::LatencyMs, 0.10, 3_000.0),
    ]);
    let mut inp = inputs_all();
    inp.tech = TechInputs::default();
    let c = score_role(&r, &inp, 1.2);
    assert_eq!(c.missing, vec![Kpi::StallRate, Kpi::LatencyMs]);
    assert!(close(c.missing_weight, 0.25));
    // present weights 0.5 and 0.25 → 2/3 and 1/3
    assert!(close(c.items[0].effective_weight, 2.0 / 3.0));
    assert!(close(c.items[1].effective_weight, 1.0 / 3.0));
    assert_eq!(c.items[2].value, None);
    assert_eq!(c.items[2].points, None);
    assert_eq!(c.items[2].effective_weight, 0.0);
    // 100 × (2/3 × 0.5 + 1/3 × 1.0)
    assert!(close(c.score.unwrap(), 100.0 * (1.0 / 3.0 + 1.0 / 3.0)));
    assert!(
        c.notes[0].contains("no player summaries yet"),
        "{:?}",
        c.notes
    );
    assert!(c.notes.iter().any(|n| n.contains("redistributed")));
    // all missing: null score
    let r2 = role(&[(Kpi::StallRate, 1.0, 0.01), (Kpi::LatencyMs, 1.0, 3_000.0)]);
    let c2 = score_role(&r2, &inp, 1.2);
    assert_eq!(c2.score, None);
}

#[test]
fn cards_config_validation_names_the_field() {
    let mut cfg = ScorecardConfig::default();
    assert!(cfg.validate().is_ok());
    // every default role spans the three layers and its weights sum to 1
    for r in &cfg.roles {
        let s: f64 = r.items.iter().map(|i| i.weight).sum();
        assert!(close(s, 1.0), "{}: {s}", r.role);
        let result_w: f64 = r
            .items
            .iter()
            .filter(|i| i.kpi.layer() == Layer::Result)
            .map(|i| i.weight)
            .sum();
        assert!(result_w < 0.5, "{} is result-heavy", r.role);
    }
    cfg.roles[1]
        .items
        .retain(|i| i.kpi.layer() != Layer::Technical);
    let e = cfg.validate().unwrap_err();
    assert_eq!(e.field, "roles[1].items");
    assert!(e.message.contains("technical"));
    let mut cfg = ScorecardConfig::default();
    cfg.roles[0].items[2].target = 0.0;
    assert_eq!(
        cfg.validate().unwrap_err().field,
        "roles[0].items[2].target"
    );
    let mut cfg = ScorecardConfig::default();
    cfg.roles[2].items[0].weight = f64::NAN;
    assert_eq!(
        cfg.validate().unwrap_err().field,
        "roles[2].items[0].weight"
    );
    let cfg = ScorecardConfig {
        cap: 0.5,
        ..Default::default()
    };
    assert_eq!(cfg.validate().unwrap_err().field, "cap");
    // a GMV-only card is refused
    let gmv_only = ScorecardConfig {
        cap: 1.2,
        roles: vec![role(&[(Kpi::GmvFen, 1.0, 1.0)])],
    };
    assert!(gmv_only.validate().is_err());
}

pub(crate) fn room_of(seed: u64, arrivals: u32) -> (GenConfig, Room) {
    let mut g = GenConfig::new(seed);
    g.arrivals = arrivals;
    let events = generate(&g);
    let mut cfg = RoomConfig::new(g.stream_start_ms).with_end(g.stream_end_ms());
    cfg.lateness_ms = g.lateness_ms;
    let mut room = Room::new(cfg);
    room.ingest_events(&events);
    (g, room)
}

pub(crate) fn final_snapshot(seed: u64, arrivals: u32) -> Snapshot {
    let (g, room) = room_of(seed, arrivals);
    room.snapshot(g.stream_end_ms())
}

#[test]
fn cards_from_a_generated_room_and_json_shape() {
    let s = final_snapshot(3, 1500);
    let inp = ScoreInputs::new(&s, None);
    assert_eq!(inp.gmv_fen, Some(s.result.gmv_fen as f64));
    assert_eq!(inp.click_purchase_rate, s.process.click_purchase_rate.value);
    let cards = scorecards(&ScorecardConfig::default(), &inp).unwrap();
    assert_eq!(cards.len(), 3);
    for c in &cards {
        // no player summaries: technical items missing, the rest carries the whole weight
        assert!(c.missing.iter().all(|k| k.layer() == Layer::Technical));
        assert!(!c.missing.is_empty());
        let eff: f64 = c.items.iter().map(|i| i.effective_weight).sum();
        assert!(close(eff, 1.0));
        let pts: f64 = c.items.iter().filter_map(|i| i.points).sum();
        assert!(close(c.score.unwrap(), pts));
        // each present item: points = 100 × eff × min(value/target, cap)
        for i in c.items.iter().filter(|i| i.value.is_some()) {
            let a = (i.value.unwrap() / i.target).clamp(0.0, 1.2);
            assert!(close(i.points.unwrap(), 100.0 * i.effective_weight * a));
        }
    }
    let with_tech = ScoreInputs::new(
        &s,
        Some(TechInputs {
            first_frame_ms: Some(800.0),
            stall_rate: Some(0.02),
            latency_ms: Some(2_500.0),
        }),
    );
    let cards = scorecards(&ScorecardConfig::default(), &with_tech).unwrap();
    for c in &cards {
        assert!(c.missing.is_empty(), "{:?}", c.missing);
        let stall = c.items.iter().find(|i| i.kpi == Kpi::StallRate).unwrap();
        assert!(close(stall.attainment.unwrap(), 0.5));
    }
    let v = serde_json::to_value(&cards[0]).unwrap();
    assert_eq!(v["role"], "host");
    assert_eq!(v["items"][0]["kpi"], "gmv_fen");
    assert_eq!(v["items"][0]["layer"], "result");
    assert_eq!(v["layers"][2]["layer"], "technical");
    for k in [
        "value",
        "target",
        "attainment",
        "weight",
        "effective_weight",
        "points",
    ] {
        assert!(v["items"][0].get(k).is_some(), "{k}");
    }
    // the config round-trips through JSON (what JS sends)
    let cfg = ScorecardConfig::default();
    let back: ScorecardConfig =
        serde_json::from_str(&serde_json::to_string(&cfg).unwrap()).unwrap();
    assert_eq!(back, cfg);
}

// ----- timeline and recommendations -----

use crate::kpi::{Event, EventType};

const T0: i64 = 1_735_000_000_000;

fn ev(id: &str, min: f64, kind: EventType) -> Event {
    Event::new(id, T0 + (min * 60_000.0) as i64, kind).viewer("v1")
}

#[test]
fn timeline_counts_dedup_lateness_and_end() {
    let mut t = Timeline::new(T0);
    t.set_end(T0 + 10 * 60_000);
    t.set_lateness(120_000);
    let evs = vec![
        ev("1", 0.5, EventType::Comment).text("主播好美"),
        ev("2", 0.6, EventType::Comment).text("太贵了，质量差"),
        ev("2", 0.6, EventType::Comment).text("太贵了，质量差"), // duplicate
        ev("3", 1.2, EventType::RedPacketClaim),
        ev("4", 1.3, EventType::ProductImpression).product("pA"),
        ev("5", 1.4, EventType::ProductImpression).product("pA"),
        ev("6", 1.5, EventType::ProductImpression).product("pB"),
        ev("7", 1.6, EventType::ProductClick).product("pA"),
        Event::new("8", T0 + 2 * 60_000 + 5, EventType::CohostStart).cohost("c1"),
        Event::new("9", T0 + 4 * 60_000, EventType::CohostEnd).cohost("c1"),
        ev("10", 9.0, EventType::Vote).option("x"),
        ev("11", 3.0, EventType::Vote), // 6 minutes behind the watermark (9.0): too late
        ev("12", 10.0, EventType::Gift).amount(100), // exactly at the end: last minute (9)
        ev("13", 10.5, EventType::Gift).amount(100), // after the end
        ev("14", -0.5, EventType::Like), // before the start
    ];
    assert_eq!(t.push_all(&evs), 11);
    assert_eq!(t.accepted(), 11);
    assert_eq!(t.ignored(), 4);
    let m0 = t.minute(0);
    assert_eq!(m0.comments, 2);
    assert_eq!(m0.comments_positive, 1);
    assert_eq!(m0.comments_negative, 1);
    let m1 = t.minute(1);
    assert_eq!(m1.red_packet_claims, 1);
    assert_eq!(m1.impressions, 3);
    assert_eq!(m1.clicks, 1);
    assert_eq!(m1.products[0].product, "pA");
    assert_eq!((m1.products[0].impressions, m1.products[0].clicks), (2, 1));
    // co-host active in minutes 2 and 3 (ends exactly at minute 4's first ms)
    let active: Vec<i64> = (0..6).map(|m| t.minute(m).cohost_active).collect();
    assert_eq!(active, vec![0, 0, 1, 1, 0, 0]);
    assert_eq!(t.minute(2).cohost_starts, 1);
    assert_eq!(t.minute(9).votes, 1);
    assert_eq!(t.minute(9).gifts, 1);
    assert_eq!(t.minute(3).votes, 0);
    assert_eq!(t.len(), 10);
    // JSON and NDJSON paths: a bad line is ignored and counted
    let mut t2 = Timeline::new(T0);
    let text = format!(
        "{}\nnot json\n{{\"id\":\"b\",\"ts\":{},\"kind\":\"vote\"}}\n",
        serde_json::to_string(&ev("a", 0.1, EventType::Share)).unwrap(),
        T0 + 1000
    );
    assert_eq!(t2.push_ndjson(&text), 1);
    assert_eq!(t2.ignored(), 2); // the bad line, the vote without a viewer
    assert_eq!(t2.minute(0).shares, 1);
}

/// A room with hand-made goods: pA 100 impressions, 40 clicks, 8 units at 1,000 fen; pB 100
/// impressions, 30 clicks, 3 units at 10,000 fen; pC 50 impressions, 5 clicks, 1 unit.
fn goods_room() -> Snapshot {
    let mut evs = Vec::new();
    let mut n = 0;
    let mut id = || {
        n += 1;
        n.to_string()
    };
    for (p, imp, clicks, units, price) in [
        ("pA", 100, 40, 8, 1_000),
        ("pB", 100, 30, 3, 10_000),
        ("pC", 50, 5, 1, 5_000),
    ] {
        for k in 0..imp {
            let v = format!("{p}v{k}");
            evs.push(
                Event::new(id(), T0 + 1000 + k, EventType::Enter)
                    .viewer(v.clone())
                    .session(format!("s{v}")),
            );
            evs.push(
                Event::new(id(), T0 + 2000 + k, EventType::ProductImpression)
                    .viewer(v.clone())
                    .product(p),
            );
            if k < clicks {
                evs.push(
                    Event::new(id(), T0 + 3000 + k, EventType::ProductClick)
                        .viewer(v.clone())
                        .product(p),
                );
            }
            if k < units {
                evs.push(
                    Event::new(id(), T0 + 4000 + k, EventType::OrderPaid)
                        .viewer(v.clone())
                        .product(p)
                        .order(format!("o{p}{k}"))
                        .amount(price),
                );
            }
        }
    }
    let mut room = Room::new(RoomConfig::new(T0).with_end(T0 + 10 * 60_000));
    room.ingest_events(&evs);
    room.snapshot(T0 + 10 * 60_000)
}

#[test]
fn debrief_product_ranking_rule_and_order() {
    let s = goods_room();
    let cfg = DebriefConfig::default();
    let plan = product_plan(&s, &cfg);
    let by = |p: &str| plan.ranking.iter().find(|r| r.product == p).unwrap();
    let (a, b, c) = (by("pA"), by("pB"), by("pC"));
    // conversion = units / clicks; GPM = 1000 × GMV / impressions
    assert!(close(a.conversion.unwrap(), 0.2));
    assert!(close(b.conversion.unwrap(), 0.1));
    assert!(close(a.gpm.unwrap(), 1000.0 * 8_000.0 / 100.0));
    assert!(close(b.gpm.unwrap(), 1000.0 * 30_000.0 / 100.0));
    // pA best conversion, pB best GPM: both score (1 + 0) / 2 = 0.5; tie → GMV: pB first
    assert_eq!((a.conversion_rank, a.gpm_rank), (Some(1), Some(2)));
    assert_eq!((b.conversion_rank, b.gpm_rank), (Some(2), Some(1)));
    assert!(close(a.score.unwrap(), 0.5) && close(b.score.unwrap(), 0.5));
    assert_eq!(plan.ranking[0].product, "pB");
    assert_eq!(plan.ranking[2].product, "pC");
    // pC has 5 clicks < 20: too little data, ranked last
    assert_eq!(c.role, "insufficient_data");
    assert_eq!(c.score, None);
    // pA: conversion ≥ median and cheap → traffic; pB: GPM ≥ median, dear → profit
    assert_eq!(a.role, "traffic");
    assert_eq!(b.role, "profit");
    assert_eq!(plan.suggested_order, vec!["pA", "pB", "pC"]);
    assert!(plan.rule.contains("units / clicks"));
}

#[test]
fn debrief_moments_find_the_lotteries_of_a_generated_room() {
    let mut g = GenConfig::new(5);
    g.arrivals = 4000;
    let events = generate(&g);
    let mut cfg = RoomConfig::new(g.stream_start_ms).with_end(g.stream_end_ms());
    cfg.lateness_ms = g.lateness_ms;
    let mut room = Room::new(cfg);
    room.ingest_events(&events);
    let s = room.snapshot(g.stream_end_ms());
    let mut t = Timeline::new(g.stream_start_ms);
    t.set_end(g.stream_end_ms());
    t.set_lateness(g.lateness_ms);
    t.push_all(&events);
    let ms = moments(&s, Some(&t), &DebriefConfig::default());
    assert_eq!(ms.len(), 5);
    // the generator runs lotteries at minutes 10–12, 30–32, 50–52, …: interaction triples
    let lottery = |m: i64| m >= 10 && (m - 10) % 20 < 3;
    for m in &ms {
        assert!(lottery(m.minute), "moment at minute {}", m.minute);
        assert!(m.tags.contains(&"lottery_red_packet"), "{:?}", m.tags);
        let ar = m.around.as_ref().unwrap();
        assert!(ar.red_packet_claims > 0);
        assert!(m.rate_vs_median.unwrap() > 1.5);
    }
    // peaks are separated by more than the window
    for (i, a) in ms.iter().enumerate() {
        for b in &ms[i + 1..] {
            assert!((a.minute - b.minute).abs() > 2);
        }
    }
    // the co-host links (active in minutes 40–49 and 100–109) are tagged when a moment's
    // window [m − 2, m + 2] overlaps them
    for m in &ms {
        let near_cohost = (38..=51).contains(&m.minute) || (98..=111).contains(&m.minute);
        assert_eq!(m.tags.contains(&"cohost"), near_cohost, "{}", m.minute);
    }
    // without a timeline: no activity detail, still the snapshot's numbers
    let ms2 = moments(&s, None, &DebriefConfig::default());
    assert_eq!(ms2[0].minute, ms[0].minute);
    assert!(ms2[0].around.is_none());
}

#[test]
fn debrief_audience_lift_and_review() {
    let s = final_snapshot(9, 3000);
    let cfg = DebriefConfig::default();
    let a = audience(&s, &cfg);
    assert_eq!(a.dimensions.len(), 4);
    let regions = &a.dimensions[2];
    for g in &regions.groups {
        let row = s.people.regions.iter().find(|r| r.key == g.key).unwrap();
        assert_eq!(g.viewers, row.viewers);
        assert_eq!(g.buyers, row.buyers);
        if let (Some(bs), Some(vs)) = (row.buyer_share.value, row.viewer_share.value) {
            assert!(close(g.lift.unwrap(), bs / vs));
        }
    }
    let nr = &a.dimensions[0];
    let new = nr
        .groups
        .iter()
        .find(|g| g.key.as_deref() == Some("new"))
        .unwrap();
    assert_eq!(new.viewers, s.people.viewers.new);
    assert_eq!(new.buyers, s.people.buyers.new);
    // sorted by lift
    for d in &a.dimensions {
        for w in d.groups.windows(2) {
            assert!(
                w[0].lift.unwrap_or(f64::NEG_INFINITY) >= w[1].lift.unwrap_or(f64::NEG_INFINITY)
            );
        }
    }

    // plan validation names the field
    let bad = Plan {
        targets: vec![PlanTarget {
            kpi: "result.nope".into(),
            target: 1.0,
        }],
    };
    assert_eq!(bad.validate().unwrap_err().field, "targets[0].kpi");
    let bad = Plan {
        targets: vec![PlanTarget {
            kpi: "result.gmv_fen".into(),
            target: f64::INFINITY,
        }],
    };
    assert_eq!(bad.validate().unwrap_err().field, "targets[0].target");

    // review against the previous stream and a plan
    let prev = final_snapshot(8, 3000);
    let plan = Plan {
        targets: vec![
            PlanTarget {
                kpi: "result.gmv_fen".into(),
                target: 2.0 * s.result.gmv_fen as f64,
            },
            PlanTarget {
                kpi: "result.refund_rate".into(),
                target: 1.0,
            },
        ],
    };
    plan.validate().unwrap();
    let d = debrief(&s, None, Some(&prev), None, Some(&plan), &cfg);
    let r = &d.review;
    assert!(r.has_previous && r.has_plan);
    let gmv = r.rows.iter().find(|x| x.kpi == "result.gmv_fen").unwrap();
    assert_eq!(gmv.previous, Some(prev.result.gmv_fen as f64));
    assert_eq!(gmv.actual, Some(s.result.gmv_fen as f64));
    assert!(close(gmv.attainment.unwrap(), 0.5));
    assert_eq!(gmv.met, Some(false));
    let rr = r
        .rows
        .iter()
        .find(|x| x.kpi == "result.refund_rate")
        .unwrap();
    assert_eq!(rr.better, Better::Lower);
    assert_eq!(rr.met, Some(true));
    assert!(r
        .learnings
        .iter()
        .any(|l| l.starts_with("plan missed: result.gmv_fen at 50 %")));
    let kpi_changes: Vec<&Change> = r.changes.iter().filter(|c| c.area == "kpi").collect();
    assert_eq!(kpi_changes.len(), cfg.top_changes);
    for w in kpi_changes.windows(2) {
        assert!(w[0].delta_ratio.unwrap().abs() >= w[1].delta_ratio.unwrap().abs());
    }
    assert!(r.changes.iter().any(|c| c.area == "scene"));
    // without a previous stream: no deltas
    let d = debrief(&s, None, None, None, None, &cfg);
    assert!(d
        .review
        .rows
        .iter()
        .all(|x| x.previous.is_none() && x.delta.is_none()));
    assert!(d.review.changes.is_empty());
    let v = serde_json::to_value(&d).unwrap();
    for k in ["products", "moments", "audience", "review"] {
        assert!(v.get(k).is_some(), "{k}");
    }
}

#[test]
fn binomial_cusum_llr_arithmetic_and_one_alert() {
    let cfg = BinomialConfig {
        warmup: 3,
        min_trials: 30,
        ..BinomialConfig::default()
    };
    let mut b = BinomialCusum::new(cfg);
    // warm-up: 3 minutes of 5 orders / 20 clicks → p₀ = 0.25
    for m in 0..3 {
        assert_eq!(b.update(m, 5, 20, true).0, State::Warmup);
    }
    assert!(close(b.p0().unwrap(), 0.25));
    // p₁ = 0.05; a minute of 0 / 20: LLR = 20·ln(0.95 / 0.75) = 4.7276 < h 7
    let (st, sig) = b.update(3, 0, 20, true);
    assert_eq!((st, sig), (State::Normal, None));
    assert!(close(b.statistic(), 20.0 * (0.95f64 / 0.75).ln()));
    // the minute is not raised, so it enters the baseline: (15, 80) → p₀ = 0.1875, p₁ = 0.0375;
    // a second 0 / 20 adds 20·ln(0.9625 / 0.8125) = 3.388: S = 8.116 > 7 → raised; the rate
    // since S left 0 is 0 ≤ 50 % of p₀
    let (st, sig) = b.update(4, 0, 20, true);
    assert_eq!(st, State::Raised);
    let s = sig.unwrap();
    let want = 20.0 * (0.95f64 / 0.75).ln() + 20.0 * (0.9625f64 / 0.8125).ln();
    assert!(close(s.statistic, want), "{} vs {want}", s.statistic);
    assert!(close(s.baseline_mean, 0.1875));
    assert!(close(s.shift_rel.unwrap(), -1.0));
    assert_eq!(s.direction, Direction::Down);
    // while raised the baseline does not learn; normal minutes (LLR 5·ln 0.2 + 15·ln(0.9625 /
    // 0.8125) = −5.51) release it
    assert_eq!(b.update(5, 0, 20, true).0, State::Holding);
    assert!(close(b.p0().unwrap(), 0.1875));
    let mut st = State::Holding;
    let mut m = 6;
    while st == State::Holding {
        st = b.update(m, 5, 20, true).0;
        m += 1;
    }
    assert_eq!(st, State::Cleared);
    // a gate held back: suppressed, no alert
    let mut g = BinomialCusum::new(cfg);
    for m in 0..3 {
        g.update(m, 5, 20, true);
    }
    g.update(3, 0, 20, false);
    assert_eq!(g.update(4, 0, 20, false).0, State::Suppressed);
    // 3 / 20 a minute: a dip (LLR < 0), never raised
    let mut e = BinomialCusum::new(cfg);
    for m in 0..3 {
        e.update(m, 5, 20, true);
    }
    for m in 3..60 {
        assert_ne!(e.update(m, 3, 20, true).0, State::Raised);
    }
}

#[test]
fn forecast_interval_is_lognormal_and_scaled() {
    let history: Vec<PastStream> = [1800, 2000, 2300, 2100]
        .iter()
        .enumerate()
        .map(|(i, &g)| PastStream {
            minutes: (0..120)
                .map(|m| StreamMinute {
                    online: 100,
                    buyers: 2,
                    gmv_fen: if m < 30 + 5 * i { g } else { 2000 },
                })
                .collect(),
        })
        .collect();
    let cur = vec![
        StreamMinute {
            online: 100,
            buyers: 2,
            gmv_fen: 2000,
        };
        30
    ];
    let f = forecast(&cur, 120, &history, &ForecastConfig::default());
    assert!(close(f.interval_scale, INTERVAL_SCALE));
    let r = Z80 * INTERVAL_SCALE * f.sigma_fen / f.point_fen;
    assert!(close(f.low_fen, f.point_fen * (-r).exp()));
    assert!(close(f.high_fen, f.point_fen * r.exp()));
    // right-skewed: the upper side is wider
    assert!(f.high_fen - f.point_fen > f.point_fen - f.low_fen);
    let wide = forecast(
        &cur,
        120,
        &history,
        &ForecastConfig {
            interval_scale: 2.0,
            ..ForecastConfig::default()
        },
    );
    assert!(close(
        wide.high_fen,
        f.point_fen * (2.0 * Z80 * f.sigma_fen / f.point_fen).exp()
    ));
    assert!(close(wide.level, 0.8));
}
