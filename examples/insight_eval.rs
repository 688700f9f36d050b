//! Measures the insight module on generated streams: alert detection delay and false alerts
//! per hour, and the final-GMV forecast error at 25 / 50 / 75 % of the stream beside naive
//! linear extrapolation.
//!
//! Usage: `cargo run --release --features console --example insight_eval -- [seeds] [first]`
//! (default 24 seeds from seed 1; each stream is 120 minutes with 6,000–12,000 expected
//! arrivals). The conversion-collapse rule is measured with the binomial CUSUM (default) and
//! with the previous ratio CUSUM. The forecast interval's calibration is fitted on 2 × seeds
//! other streams (seeds 1001 …) and its coverage measured on the evaluated seeds.

#[cfg(feature = "console")]
fn main() {
    eval::run();
}

#[cfg(not(feature = "console"))]
fn main() {
    eprintln!("build with --features console");
}

#[cfg(feature = "console")]
mod eval {
    use std::collections::{HashMap, HashSet};

    use livekpi::insight::{
        forecast, Alert, AlertEngine, AlertEngineConfig, Forecast, ForecastConfig, PastStream,
        QoeMinute, StreamMinute, INTERVAL_SCALE, RULE_CONVERSION_COLLAPSE, RULE_INTERACTION_DROP,
        RULE_LATENCY_SPIKE, RULE_ONLINE_CLIFF, RULE_STALL_SPIKE, Z80,
    };
    use livekpi::kpi::{
        generate, Event, EventType, GenConfig, MinuteRow, Room, RoomConfig, SplitMix64,
    };

    const REGIONS: usize = 6;
    /// First seed of the forecast calibration streams (far from the evaluated seeds).
    const CALIB_SEED: u64 = 1001;

    fn gen_cfg(seed: u64) -> GenConfig {
        let mut g = GenConfig::new(seed);
        g.arrivals = 6000 + ((seed * 3371) % 6000) as u32;
        g
    }

    fn rows(g: &GenConfig, events: &[Event]) -> Vec<MinuteRow> {
        let mut cfg = RoomConfig::new(g.stream_start_ms).with_end(g.stream_end_ms());
        cfg.lateness_ms = g.lateness_ms;
        let mut room = Room::new(cfg);
        room.ingest_events(events);
        room.snapshot(g.stream_end_ms()).scene.minutes
    }

    fn room_alerts(rows: &[MinuteRow]) -> Vec<Alert> {
        room_alerts_with(rows, AlertEngineConfig::default())
    }

    fn room_alerts_with(rows: &[MinuteRow], cfg: AlertEngineConfig) -> Vec<Alert> {
        let mut eng = AlertEngine::new(cfg);
        rows.iter().flat_map(|r| eng.push_minute(r)).collect()
    }

    /// The previous conversion rule: CUSUM on the standardised per-minute click→order ratio.
    fn ratio_cfg() -> AlertEngineConfig {
        AlertEngineConfig {
            conversion_binomial: None,
            ..AlertEngineConfig::default()
        }
    }

    fn gauss(rng: &mut SplitMix64) -> f64 {
        let u1 = 1.0 - rng.f64();
        let u2 = rng.f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Per-region QoE minutes: stall rate p·e^(0.3 N) (p 0.5–2 %), latency L·e^(0.08 N)
    /// (L 2–5 s), 2 % outliers (×3 stall, ×1.6 latency), 1 % missing; optional spike in region 0
    /// from `spike.0` for `spike.1` minutes (stall ×4 or latency ×1.8).
    fn qoe_series(seed: u64, minutes: i64, spike: Option<(i64, i64, bool)>) -> Vec<QoeMinute> {
        let mut rng = SplitMix64::new(seed ^ 0x9e0e);
        let bases: Vec<(f64, f64)> = (0..REGIONS)
            .map(|_| (0.005 + 0.015 * rng.f64(), 2000.0 + 3000.0 * rng.f64()))
            .collect();
        let mut out = Vec::new();
        for m in 0..minutes {
            for (r, &(p, l)) in bases.iter().enumerate() {
                let mut s = p * (0.3 * gauss(&mut rng)).exp();
                let mut lat = l * (0.08 * gauss(&mut rng)).exp();
                if rng.chance(0.02) {
                    s *= 3.0;
                }
                if rng.chance(0.02) {
                    lat *= 1.6;
                }
                if let Some((t0, len, stall)) = spike {
                    if r == 0 && m >= t0 && m < t0 + len {
                        if stall {
                            s *= 4.0;
                        } else {
                            lat *= 1.8;
                        }
                    }
                }
                let missing = rng.chance(0.01);
                out.push(QoeMinute {
                    region: format!("r{r}"),
                    minute: m,
                    stall_rate: (!missing).then_some(s.min(1.0)),
                    latency_ms: (!missing).then_some(lat),
                });
            }
        }
        out
    }

    fn qoe_alerts(q: &[QoeMinute]) -> Vec<Alert> {
        let mut eng = AlertEngine::new(AlertEngineConfig::default());
        q.iter().flat_map(|m| eng.push_qoe(m)).collect()
    }

    fn in_window(e: &Event, g: &GenConfig, t0: i64, len: i64) -> bool {
        let a = g.stream_start_ms + t0 * 60_000;
        e.ts >= a && e.ts < a + len * 60_000
    }

    /// Interaction events removed for `len` minutes from minute t0.
    fn inject_interaction(events: &[Event], g: &GenConfig, t0: i64, len: i64) -> Vec<Event> {
        events
            .iter()
            .filter(|e| {
                !(matches!(
                    e.kind,
                    EventType::Like | EventType::Comment | EventType::Share
                ) && in_window(e, g, t0, len))
            })
            .cloned()
            .collect()
    }

    /// Paid and created orders removed for `len` minutes from minute t0 (clicks kept).
    fn inject_conversion(events: &[Event], g: &GenConfig, t0: i64, len: i64) -> Vec<Event> {
        events
            .iter()
            .filter(|e| {
                !(matches!(e.kind, EventType::OrderPaid | EventType::OrderCreated)
                    && in_window(e, g, t0, len))
            })
            .cloned()
            .collect()
    }

    /// 60 % of the sessions open at minute t0 leave at its first ms (their later heartbeats and
    /// leaves removed), and 70 % of the enters of the next `len` minutes are removed.
    fn inject_cliff(events: &[Event], g: &GenConfig, t0: i64, len: i64) -> Vec<Event> {
        let t = g.stream_start_ms + t0 * 60_000;
        let mut enter: HashMap<&str, (i64, &str)> = HashMap::new();
        let mut end: HashMap<&str, i64> = HashMap::new();
        for e in events {
            let Some(s) = e.session.as_deref() else {
                continue;
            };
            match e.kind {
                EventType::Enter => {
                    enter.insert(s, (e.ts, e.viewer.as_deref().unwrap_or("")));
                }
                EventType::Leave | EventType::Heartbeat => {
                    let x = end.entry(s).or_insert(i64::MIN);
                    *x = (*x).max(e.ts);
                }
                _ => {}
            }
        }
        let mut rng = SplitMix64::new(g.seed ^ 0xc11f);
        let mut keys: Vec<&str> = enter.keys().copied().collect();
        keys.sort();
        let cut: HashSet<&str> = keys
            .into_iter()
            .filter(|s| {
                let (te, _) = enter[s];
                let tend = end.get(s).copied().unwrap_or(te).max(te) + 60_000;
                te < t && tend > t
            })
            .filter(|_| rng.chance(0.6))
            .collect();
        let mut rng2 = SplitMix64::new(g.seed ^ 0xe7e7);
        let mut out: Vec<Event> = events
            .iter()
            .filter(|e| {
                if let Some(s) = e.session.as_deref() {
                    if cut.contains(s)
                        && e.ts >= t
                        && matches!(e.kind, EventType::Leave | EventType::Heartbeat)
                    {
                        return false;
                    }
                    if e.kind == EventType::Enter && in_window(e, g, t0, len) && rng2.chance(0.7) {
                        return false;
                    }
                }
                true
            })
            .cloned()
            .collect();
        for (i, s) in cut.iter().enumerate() {
            let mut e = Event::new(format!("cliff{i}"), t, EventType::Leave);
            e.session = Some(s.to_string());
            e.viewer = Some(enter[s].1.to_string());
            out.push(e);
        }
        out
    }

    #[derive(Default)]
    struct Det {
        delays: Vec<i64>,
        missed: usize,
        early_false: usize,
    }

    impl Det {
        fn add(&mut self, alerts: &[Alert], rule: &str, t0: i64, len: i64) {
            let mine: Vec<&Alert> = alerts.iter().filter(|a| a.rule == rule).collect();
            self.early_false += mine.iter().filter(|a| a.minute < t0).count();
            match mine
                .iter()
                .find(|a| a.minute >= t0 && a.minute <= t0 + len + 5)
            {
                Some(a) => self.delays.push(a.minute - t0),
                None => self.missed += 1,
            }
        }
        fn row(&self, name: &str, n: usize) {
            let mut d = self.delays.clone();
            d.sort();
            let med = d.get(d.len() / 2).copied();
            let mean = d.iter().sum::<i64>() as f64 / d.len().max(1) as f64;
            let p90 = d
                .get(((d.len() * 9).div_ceil(10)).saturating_sub(1))
                .copied();
            let f = |x: Option<i64>| x.map_or("-".into(), |v| v.to_string());
            println!(
                "| {name:<32} | {:>2}/{n:<2} | {:>5.2} | {:>6} | {:>4} | {:>4} | {:>12} |",
                d.len(),
                mean,
                f(med),
                f(p90),
                f(d.last().copied()),
                self.early_false
            );
        }
    }

    fn ape(x: f64, t: f64) -> f64 {
        (x - t).abs() / t
    }

    fn stats(v: &mut [f64]) -> (f64, f64) {
        v.sort_by(|a, b| a.total_cmp(b));
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        (mean, v[v.len() / 2])
    }

    pub fn run() {
        let n: u64 = std::env::args()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(24);
        let first: u64 = std::env::args()
            .nth(2)
            .and_then(|s| s.parse().ok())
            .unwrap_or(1);
        let seeds: Vec<u64> = (first..first + n).collect();
        let mut clean_rows = Vec::new();
        let mut false_room: HashMap<&str, usize> = HashMap::new();
        let mut false_qoe: HashMap<&str, usize> = HashMap::new();
        let (mut d_int, mut d_cliff, mut d_conv, mut d_stall, mut d_lat) = Default::default();
        let mut d_conv_ratio = Det::default();
        let mut false_conv_ratio = 0usize;
        let mut hours = 0.0;
        for &seed in &seeds {
            let g = gen_cfg(seed);
            let events = generate(&g);
            let r = rows(&g, &events);
            hours += r.len() as f64 / 60.0;
            for a in room_alerts(&r) {
                *false_room.entry(rule_name(&a.rule)).or_default() += 1;
            }
            false_conv_ratio += room_alerts_with(&r, ratio_cfg())
                .iter()
                .filter(|a| a.rule == RULE_CONVERSION_COLLAPSE)
                .count();
            for a in qoe_alerts(&qoe_series(seed, g.duration_min, None)) {
                *false_qoe.entry(rule_name(&a.rule)).or_default() += 1;
            }
            let t0 = 30 + (seed as i64 * 7) % 60;
            let al = room_alerts(&rows(&g, &inject_interaction(&events, &g, t0, 10)));
            Det::add(&mut d_int, &al, RULE_INTERACTION_DROP, t0, 10);
            let al = room_alerts(&rows(&g, &inject_cliff(&events, &g, t0, 10)));
            Det::add(&mut d_cliff, &al, RULE_ONLINE_CLIFF, t0, 10);
            let conv_rows = rows(&g, &inject_conversion(&events, &g, t0, 15));
            let al = room_alerts(&conv_rows);
            Det::add(&mut d_conv, &al, RULE_CONVERSION_COLLAPSE, t0, 15);
            let al = room_alerts_with(&conv_rows, ratio_cfg());
            Det::add(&mut d_conv_ratio, &al, RULE_CONVERSION_COLLAPSE, t0, 15);
            let al = qoe_alerts(&qoe_series(seed, g.duration_min, Some((t0, 8, true))));
            Det::add(&mut d_stall, &al, RULE_STALL_SPIKE, t0, 8);
            let al = qoe_alerts(&qoe_series(seed, g.duration_min, Some((t0, 8, false))));
            Det::add(&mut d_lat, &al, RULE_LATENCY_SPIKE, t0, 8);
            clean_rows.push(r);
        }
        let ns = seeds.len();
        println!("## Alerts ({ns} generated 120-minute streams; incident at minute 30–89)\n");
        println!("Detection delay = alert minute − first incident minute (alert within incident + 5 min).\n");
        println!("| incident (rule)                  | found | mean  | median | p90  | max  | early alerts |");
        println!("|----------------------------------|-------|-------|--------|------|------|--------------|");
        d_int.row("no interaction 10 min (interaction_drop)", ns);
        d_cliff.row("60 % leave, −70 % enters 10 min (online_cliff)", ns);
        d_conv.row("no orders 15 min (conversion_collapse)", ns);
        d_conv_ratio.row("  same, previous ratio CUSUM", ns);
        d_stall.row("region stall ×4 8 min (stall_spike)", ns);
        d_lat.row("region latency ×1.8 8 min (latency_spike)", ns);
        println!("\nFalse alerts on incident-free streams ({hours:.0} stream-hours; QoE: {REGIONS} regions each):\n");
        println!("| rule                 | alerts | per stream-hour | per region-hour |");
        println!("|----------------------|--------|-----------------|-----------------|");
        for rule in [
            RULE_INTERACTION_DROP,
            RULE_ONLINE_CLIFF,
            RULE_CONVERSION_COLLAPSE,
        ] {
            let c = false_room.get(rule).copied().unwrap_or(0);
            println!(
                "| {rule:<20} | {c:>6} | {:>15.3} | {:>15} |",
                c as f64 / hours,
                ""
            );
        }
        println!(
            "| {:<20} | {false_conv_ratio:>6} | {:>15.3} | {:>15} |",
            "  (previous ratio CUSUM)",
            false_conv_ratio as f64 / hours,
            ""
        );
        for rule in [RULE_STALL_SPIKE, RULE_LATENCY_SPIKE] {
            let c = false_qoe.get(rule).copied().unwrap_or(0);
            println!(
                "| {rule:<20} | {c:>6} | {:>15.3} | {:>15.4} |",
                c as f64 / hours,
                c as f64 / (hours * REGIONS as f64)
            );
        }

        forecast_section(&clean_rows, n, first);
    }

    /// Forecasts of every stream of `set` at elapsed fraction `frac`, each with the other
    /// streams of the set as its history: (final GMV, forecast).
    fn forecasts(set: &[Vec<MinuteRow>], frac: f64, cfg: &ForecastConfig) -> Vec<(f64, Forecast)> {
        let past: Vec<PastStream> = set.iter().map(|r| PastStream::from_rows(r)).collect();
        set.iter()
            .enumerate()
            .map(|(i, r)| {
                let total = r.len() as i64;
                let e = (total as f64 * frac).round() as usize;
                let truth = r.iter().map(|m| m.gmv_fen).sum::<i64>() as f64;
                let hist: Vec<PastStream> = past
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, p)| p.clone())
                    .collect();
                let cur: Vec<StreamMinute> = r[..e].iter().map(StreamMinute::from).collect();
                (truth, forecast(&cur, total, &hist, cfg))
            })
            .collect()
    }

    fn q80(v: &mut [f64]) -> f64 {
        v.sort_by(|a, b| a.total_cmp(b));
        let rank = (v.len() * 8).div_ceil(10).max(1);
        v[rank - 1]
    }

    fn forecast_section(clean_rows: &[Vec<MinuteRow>], n: u64, first: u64) {
        let ns = clean_rows.len();
        // calibration streams: other seeds (1001 …), never evaluated
        let calib: Vec<Vec<MinuteRow>> = (CALIB_SEED..CALIB_SEED + 2 * n)
            .map(|seed| {
                let g = gen_cfg(seed);
                rows(&g, &generate(&g))
            })
            .collect();
        let raw = ForecastConfig {
            interval_scale: 1.0,
            ..ForecastConfig::default()
        };
        println!(
            "\n## GMV forecast interval calibration ({} calibration streams, seeds {}–{}; leave-one-out history)\n",
            calib.len(),
            CALIB_SEED,
            CALIB_SEED + 2 * n - 1
        );
        println!("The interval is point · exp(±z80 · scale · σ / point). Needed scale = 80th percentile of |ln(final / point)| / (z80 · σ / point) (nearest rank), per elapsed fraction and pooled over 0.1 … 0.9.\n");
        println!("| elapsed | needed scale |");
        println!("|---------|--------------|");
        let mut pooled = Vec::new();
        for k in 1..=9 {
            let frac = k as f64 / 10.0;
            let mut r: Vec<f64> = forecasts(&calib, frac, &raw)
                .iter()
                .filter(|(_, f)| f.sigma_fen > 0.0 && f.point_fen > 0.0)
                .map(|(t, f)| (t / f.point_fen).ln().abs() / (Z80 * f.sigma_fen / f.point_fen))
                .collect();
            pooled.extend(r.iter().copied());
            println!("| {:>6.0} % | {:>12.3} |", frac * 100.0, q80(&mut r));
        }
        let fitted = q80(&mut pooled);
        println!(
            "\nPooled needed scale: {fitted:.3} (library default INTERVAL_SCALE = {INTERVAL_SCALE})"
        );

        println!(
            "\n## GMV forecast ({ns} held-out streams, seeds {first}–{}; history = the other {} streams)\n",
            first + n - 1,
            ns - 1
        );
        println!("APE = |forecast − final| / final. Coverage: share of streams whose final GMV is inside the 80 % interval (uncalibrated scale 1 / library default / the scale fitted above).\n");
        println!("| elapsed | naive MAPE | naive MdAPE | history MAPE | funnel MAPE | combined MAPE | combined MdAPE | cover scale 1 | cover default | cover fitted | width/final default |");
        println!("|---------|------------|-------------|--------------|-------------|---------------|----------------|---------------|---------------|--------------|---------------------|");
        let fit = ForecastConfig {
            interval_scale: fitted,
            ..ForecastConfig::default()
        };
        let (mut tot_raw, mut tot_def, mut tot_fit, mut tot_n) = (0, 0, 0, 0);
        for frac in [0.25, 0.5, 0.75] {
            let (mut nv, mut hv, mut fv, mut cv) = (vec![], vec![], vec![], vec![]);
            let (mut c_raw, mut c_def, mut c_fit, mut width) = (0usize, 0usize, 0usize, 0.0);
            let runs = [
                forecasts(clean_rows, frac, &raw),
                forecasts(clean_rows, frac, &ForecastConfig::default()),
                forecasts(clean_rows, frac, &fit),
            ];
            let inside = |t: f64, f: &Forecast| f.low_fen <= t && t <= f.high_fen;
            for ((r0, (truth, f)), r2) in runs[0].iter().zip(&runs[1]).zip(&runs[2]) {
                let truth = *truth;
                nv.push(ape(f.naive_fen.unwrap_or(0.0), truth));
                hv.push(ape(f.history.map_or(0.0, |h| h.point_fen), truth));
                fv.push(ape(f.funnel.map_or(0.0, |h| h.point_fen), truth));
                cv.push(ape(f.point_fen, truth));
                c_raw += inside(truth, &r0.1) as usize;
                c_def += inside(truth, f) as usize;
                c_fit += inside(truth, &r2.1) as usize;
                width += (f.high_fen - f.low_fen) / truth;
            }
            (tot_raw, tot_def, tot_fit, tot_n) = (
                tot_raw + c_raw,
                tot_def + c_def,
                tot_fit + c_fit,
                tot_n + ns,
            );
            let (nm, nmd) = stats(&mut nv);
            let (hm, _) = stats(&mut hv);
            let (fm, _) = stats(&mut fv);
            let (cm, cmd) = stats(&mut cv);
            println!(
                "| {:>6.0} % | {:>9.1} % | {:>10.1} % | {:>11.1} % | {:>10.1} % | {:>12.1} % | {:>13.1} % | {:>7}/{:<5} | {:>7}/{:<5} | {:>6}/{:<5} | {:>18.1} % |",
                frac * 100.0,
                nm * 100.0,
                nmd * 100.0,
                hm * 100.0,
                fm * 100.0,
                cm * 100.0,
                cmd * 100.0,
                c_raw,
                ns,
                c_def,
                ns,
                c_fit,
                ns,
                width / ns as f64 * 100.0
            );
        }
        let pc = |c: usize| 100.0 * c as f64 / tot_n.max(1) as f64;
        let mut all = [0usize; 3];
        let mut all_n = 0usize;
        for k in 1..=9 {
            let frac = k as f64 / 10.0;
            for (i, c) in [&raw, &ForecastConfig::default(), &fit].iter().enumerate() {
                all[i] += forecasts(clean_rows, frac, c)
                    .iter()
                    .filter(|(t, f)| f.low_fen <= *t && *t <= f.high_fen)
                    .count();
            }
            all_n += ns;
        }
        println!(
            "Held-out 80 % coverage over fractions 0.1 … 0.9 ({all_n} forecasts): scale 1 {:.1} %, default {:.1} %, fitted {:.1} %",
            100.0 * all[0] as f64 / all_n as f64,
            100.0 * all[1] as f64 / all_n as f64,
            100.0 * all[2] as f64 / all_n as f64
        );
        println!(
            "\nHeld-out 80 % coverage over the three fractions: scale 1 {:.1} %, default {:.1} %, fitted {:.1} %",
            pc(tot_raw),
            pc(tot_def),
            pc(tot_fit)
        );
    }

    fn rule_name(r: &str) -> &'static str {
        [
            RULE_INTERACTION_DROP,
            RULE_ONLINE_CLIFF,
            RULE_CONVERSION_COLLAPSE,
            RULE_STALL_SPIKE,
            RULE_LATENCY_SPIKE,
        ]
        .into_iter()
        .find(|x| *x == r)
        .unwrap_or("other")
    }
}
