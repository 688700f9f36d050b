//! Native tests of the insight mechanics on hand-computed series.

use super::*;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

/// Feeds `xs` from minute `m0`; returns the states.
fn feed(d: &mut Detector, m0: i64, xs: &[f64]) -> Vec<State> {
    xs.iter()
        .enumerate()
        .map(|(i, &x)| d.update(m0 + i as i64, Some(x)).0)
        .collect()
}

#[test]
fn insight_ewma_arithmetic_and_hysteresis() {
    // warm-up [9, 11, 9, 11, 10]: μ = 10, sample var = 4 / 4 = 1, σ = 1; frozen baseline
    let mut d = Detector::new(
        DetectorConfig::ewma(0.5, 3.0, 1.0)
            .warmup(5)
            .alpha(0.0)
            .cooldown(0),
    );
    assert_eq!(
        feed(&mut d, 0, &[9.0, 11.0, 9.0, 11.0, 10.0]),
        [State::Warmup; 5]
    );
    assert!(close(d.baseline().mean(), 10.0) && close(d.sigma(), 1.0));
    assert!(close(d.ewma_z(), 10.0));
    // EWMA sigma = σ·√(λ/(2−λ)) = √(1/3)
    let s = libm::sqrt(1.0 / 3.0);
    // 11 → z = 10.5, stat 0.5/s = 0.866
    assert_eq!(d.update(5, Some(11.0)), (State::Normal, None));
    assert!(close(d.ewma_z(), 10.5));
    // 12 → z = 11.25, stat 1.25/s = 2.165
    assert_eq!(d.update(6, Some(12.0)).0, State::Normal);
    // 12 → z = 11.625, stat 1.625/s = 2.815
    assert_eq!(d.update(7, Some(12.0)).0, State::Normal);
    assert!(close(d.ewma_z(), 11.625));
    // 12 → z = 11.8125, stat 1.8125/s = 3.139 > 3: raised
    let (st, sig) = d.update(8, Some(12.0));
    assert_eq!(st, State::Raised);
    let sig = sig.unwrap();
    assert_eq!(sig.minute, 8);
    assert_eq!(sig.direction, Direction::Up);
    assert!(close(sig.statistic, 1.8125 / s));
    assert!(close(sig.shift_sigmas, 1.8125));
    assert!(close(sig.shift_rel.unwrap(), 0.18125));
    assert!(close(sig.baseline_mean, 10.0) && close(sig.baseline_sigma, 1.0));
    assert!(close(sig.threshold, 3.0));
    // back to 10: z = 10.90625 (1.57 s, above release 1) holding, 10.453125 (0.785) cleared
    assert_eq!(d.update(9, Some(10.0)).0, State::Holding);
    assert!(close(d.ewma_z(), 10.90625));
    assert_eq!(d.update(10, Some(10.0)).0, State::Cleared);
    assert_eq!(d.raised(), None);
    // a downward shift: 7 → z = 8.7265625, stat −1.2734/s = −2.21 (down side 2.21) normal
    assert_eq!(d.update(11, Some(7.0)).0, State::Normal);
    // 7 → z = 7.86328125, down stat 2.13671875/s = 3.70: raised down
    let (st, sig) = d.update(12, Some(7.0));
    assert_eq!(st, State::Raised);
    let sig = sig.unwrap();
    assert_eq!(sig.direction, Direction::Down);
    assert!(close(sig.statistic, 2.13671875 / s));
    assert!(close(sig.shift_sigmas, -2.13671875));
}

#[test]
fn insight_cusum_arithmetic_cap_release_cooldown() {
    let mut d = Detector::new(
        DetectorConfig::cusum(0.5, 4.0, 1.0)
            .warmup(5)
            .alpha(0.0)
            .cooldown(3),
    );
    feed(&mut d, 0, &[9.0, 11.0, 9.0, 11.0, 10.0]);
    // u = 2: S⁺ = 1.5, 3.0, then 4.5 > h = 4 → raised; shift = k + S/N = 0.5 + 4.5/3 = 2
    assert_eq!(feed(&mut d, 5, &[12.0, 12.0]), [State::Normal; 2]);
    assert!(close(d.cusum_sums().0, 3.0) && close(d.cusum_sums().1, 0.0));
    let (st, sig) = d.update(7, Some(12.0));
    assert_eq!(st, State::Raised);
    let sig = sig.unwrap();
    assert!(close(sig.statistic, 4.5));
    assert!(close(sig.shift_sigmas, 2.0));
    assert!(close(sig.shift_rel.unwrap(), 0.2));
    // 13 → 7.0; 14 → 10.5 capped at 2h = 8
    assert_eq!(feed(&mut d, 8, &[13.0, 14.0]), [State::Holding; 2]);
    assert!(close(d.cusum_sums().0, 8.0));
    // 7 (u = −3): 8 − 3.5 = 4.5, 1.0 (not below release 1) holding, 0 → cleared at minute 12
    assert_eq!(
        feed(&mut d, 10, &[7.0, 7.0, 7.0]),
        [State::Holding, State::Holding, State::Cleared]
    );
    // meanwhile S⁻ grew: 2.5, 5.0, 7.5 — it is the down side's own statistic
    assert!(close(d.cusum_sums().1, 7.5));
    // a new upward shift right after: S⁺ 2.5, 5.0 (> h but in cool-down: minutes 13..15),
    // 7.5 at 15 still cooling, raised at minute 16
    let mut d2 = Detector::new(
        DetectorConfig::cusum(0.5, 4.0, 1.0)
            .warmup(5)
            .alpha(0.0)
            .cooldown(3)
            .sides(Sides::Up),
    );
    feed(&mut d2, 0, &[9.0, 11.0, 9.0, 11.0, 10.0]);
    feed(&mut d2, 5, &[12.0, 12.0, 12.0, 13.0, 14.0, 7.0, 7.0, 7.0]);
    assert_eq!(d2.raised(), None);
    assert_eq!(
        feed(&mut d2, 13, &[13.0, 13.0, 13.0, 13.0]),
        [
            State::Normal,
            State::Suppressed,
            State::Suppressed,
            State::Raised
        ]
    );
}

#[test]
fn insight_warmup_never_alerts_and_missing_values_skip() {
    let mut d = Detector::new(DetectorConfig::cusum(0.5, 1.0, 0.5).warmup(6));
    let st = feed(&mut d, 0, &[0.0, 1000.0, -1000.0, 5.0, 1e6, 3.0]);
    assert_eq!(st, [State::Warmup; 6]);
    assert!(d.warmed_up());
    // a missing value changes nothing; an old minute is ignored
    let before = d.clone();
    assert_eq!(d.update(6, None).0, State::Missing);
    assert_eq!(d.update(6, Some(f64::NAN)).0, State::Missing);
    assert_eq!(d, before);
    d.update(7, Some(3.0));
    assert_eq!(d.update(7, Some(1e9)).0, State::Missing);
}

#[test]
fn insight_one_alert_per_incident() {
    // 100 ± 2 with a 10-minute drop to 60 and a 2-minute blip, then back: one alert each for the
    // drop, none for noise, with the default robust baseline (α 0.05, clipping)
    let noise = |m: i64| 100.0 + [2.0, -2.0, 1.0, -1.0, 0.0][(m % 5) as usize];
    for cfg in [
        DetectorConfig::ewma(0.3, 3.5, 1.5).sides(Sides::Down),
        DetectorConfig::cusum(1.0, 5.0, 2.0).sides(Sides::Down),
    ] {
        let mut d = Detector::new(cfg.warmup(10).cooldown(10));
        let mut alerts = Vec::new();
        for m in 0..120 {
            let x = if (40..50).contains(&m) {
                60.0
            } else {
                noise(m)
            };
            if let (_, Some(s)) = d.update(m, Some(x)) {
                alerts.push(s);
            }
        }
        assert_eq!(alerts.len(), 1, "{:?}", cfg.chart);
        assert!((40..=42).contains(&alerts[0].minute));
        assert_eq!(alerts[0].direction, Direction::Down);
        // the baseline did not learn the incident
        assert!((d.baseline().mean() - 100.0).abs() < 1.0);
    }
}

#[test]
fn insight_engine_minutes_once_and_alert_json() {
    use crate::kpi::{generate, GenConfig, Room, RoomConfig};
    let g = GenConfig::new(7);
    let events = generate(&g);
    let cfg = RoomConfig::new(g.stream_start_ms).with_end(g.stream_end_ms());
    let mut room = Room::new(cfg);
    room.ingest_events(&events);
    let mut eng = AlertEngine::new(AlertEngineConfig::default());
    // a horizon 30.5 minutes in: minutes 0..=29 are complete
    let snap = room.snapshot(g.stream_start_ms + 30 * 60_000 + 30_000);
    eng.push_snapshot(&snap);
    assert_eq!(eng.next_minute(), 30);
    assert!(eng.push_snapshot(&snap).is_empty());
    assert_eq!(eng.next_minute(), 30);
    let fin = room.snapshot(g.stream_end_ms());
    eng.push_snapshot(&fin);
    assert_eq!(eng.next_minute(), g.duration_min);

    // an alert's JSON shape
    let mut eng = AlertEngine::new(AlertEngineConfig::default());
    let mut alerts = Vec::new();
    for m in 0..40 {
        let stall = if m >= 25 {
            0.08
        } else {
            0.01 + 0.001 * (m % 3) as f64
        };
        alerts.extend(eng.push_qoe(&QoeMinute {
            region: "广东".into(),
            minute: m,
            stall_rate: Some(stall),
            latency_ms: Some(3000.0 + 10.0 * (m % 4) as f64),
        }));
    }
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];
    assert_eq!(a.rule, RULE_STALL_SPIKE);
    // input clipped at 3σ: S⁺ = 2, 4, 6 > h = 5 on the third minute of the spike
    assert_eq!(a.minute, 27);
    let v = serde_json::to_value(a).unwrap();
    for k in [
        "rule",
        "detector",
        "series",
        "region",
        "minute",
        "value",
        "baseline_mean",
        "baseline_sigma",
        "statistic",
        "threshold",
        "shift_sigmas",
        "shift_rel",
        "direction",
        "window_start_minute",
        "window",
        "action",
    ] {
        assert!(v.get(k).is_some(), "{k}");
    }
    assert_eq!(v["direction"], "up");
    assert_eq!(v["action"], ACTION_SWITCH_ROUTE);
    assert_eq!(v["region"], "广东");
    assert_eq!(v["window"].as_array().unwrap().len(), 28);
}

fn shape(n: usize) -> Vec<i64> {
    // a bumpy per-minute GMV shape
    (0..n).map(|i| 100 + ((i * 37) % 11) as i64 * 20).collect()
}

#[test]
fn insight_forecast_exact_on_perfect_histories() {
    let s = shape(100);
    let total: i64 = s.iter().sum();
    let history: Vec<PastStream> = [2, 3, 5]
        .iter()
        .map(|k| PastStream::from_gmv(&s.iter().map(|x| x * k).collect::<Vec<_>>()))
        .collect();
    for e in [1usize, 25, 50, 75, 99, 100] {
        let cur: Vec<StreamMinute> = s[..e]
            .iter()
            .map(|&g| StreamMinute {
                gmv_fen: 7 * g,
                ..Default::default()
            })
            .collect();
        let f = forecast(&cur, 100, &history, &ForecastConfig::default());
        let truth = (7 * total) as f64;
        assert!(close(f.point_fen, truth), "{e}: {} vs {truth}", f.point_fen);
        assert!(f.low_fen <= truth + 1e-6 && truth <= f.high_fen + 1e-6);
        if e < 100 {
            // no traffic data: no funnel estimate
            assert_eq!(f.funnel, None);
            assert!(close(f.history_weight, 1.0));
        }
        assert!(close(f.level, 0.8));
    }
}

fn flat(n: usize, online: i64, buyers: i64, gmv: i64) -> Vec<StreamMinute> {
    vec![
        StreamMinute {
            online,
            buyers,
            gmv_fen: gmv,
        };
        n
    ]
}

#[test]
fn insight_forecast_funnel_exact_and_intervals_contain_truth() {
    // flat streams: 100 online, 2 buyers/min, 1000 fen per buyer
    let history: Vec<PastStream> = (0..4)
        .map(|_| PastStream {
            minutes: flat(120, 100, 2, 2000),
        })
        .collect();
    let cur = flat(30, 100, 2, 2000);
    let f = forecast(&cur, 120, &history, &ForecastConfig::default());
    let fun = f.funnel.unwrap();
    assert!(close(fun.point_fen, 240_000.0));
    assert!(fun.low_fen < 240_000.0 && 240_000.0 < fun.high_fen);
    assert!(close(f.point_fen, 240_000.0));
    assert!(close(f.naive_fen.unwrap(), 240_000.0));
    // end of the stream: exactly the GMV so far, zero width
    let f = forecast(
        &flat(120, 100, 2, 2000),
        120,
        &history,
        &ForecastConfig::default(),
    );
    assert!(close(f.point_fen, 240_000.0) && close(f.low_fen, f.high_fen));

    // histories whose completion at half time is 0.4, 0.5 and 0.6; the current follows 0.5
    let half = |a: i64, b: i64| {
        let mut v = vec![a; 50];
        v.extend(vec![b; 50]);
        PastStream::from_gmv(&v)
    };
    let history = vec![half(40, 60), half(50, 50), half(60, 40)];
    let cur: Vec<StreamMinute> = flat(50, 0, 0, 500);
    let f = forecast(&cur, 100, &history, &ForecastConfig::default());
    let truth = 50_000.0;
    let h = f.history.unwrap();
    assert!(h.low_fen < truth && truth < h.high_fen, "{h:?}");
    // geometric mean of 25,000 / 0.4, / 0.5 and / 0.6 (≈ 50,685)
    let gm = libm::cbrt(62_500.0 * 50_000.0 * (25_000.0 / 0.6));
    assert!(close(f.point_fen, gm), "{} vs {gm}", f.point_fen);
    assert!(f.low_fen >= 25_000.0);
}
