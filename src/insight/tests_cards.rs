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
