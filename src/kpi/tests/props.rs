//! Property tests: batch split and delivery order within the lateness window do not change
//! results; monotone counters never decrease.

use super::*;
use proptest::prelude::*;

fn base() -> (GenConfig, Vec<Event>) {
    let mut g = GenConfig::new(11);
    g.arrivals = 150;
    g.duration_min = 20;
    g.products = 4;
    g.late_rate = 0.0;
    (g.clone(), generate(&g))
}

fn new_room(g: &GenConfig) -> Room {
    Room::new(RoomConfig::new(g.stream_start_ms).with_end(g.stream_end_ms()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn kpi_prop_order_and_split_invariant(seed in any::<u64>(), cuts in proptest::collection::vec(1usize..400, 1..12)) {
        let (g, events) = base();
        let now = g.stream_end_ms() + 10 * 3_600_000;
        let mut reference = new_room(&g);
        reference.ingest_events(&events);
        let want = json(&reference.snapshot(now));

        // delay each event by up to half the lateness window, deliver by (ts + delay)
        let mut rng = SplitMix64::new(seed);
        let half = reference.config().lateness_ms / 2;
        let mut keyed: Vec<(i64, usize, &Event)> = events
            .iter()
            .enumerate()
            .map(|(i, e)| (e.ts + rng.range(0, half), i, e))
            .collect();
        keyed.sort_by_key(|k| (k.0, k.1));
        let shuffled: Vec<Event> = keyed.into_iter().map(|k| k.2.clone()).collect();

        let mut r = new_room(&g);
        let mut at = 0;
        for c in cuts.iter().cycle() {
            if at >= shuffled.len() { break; }
            let to = (at + c).min(shuffled.len());
            let rep = r.ingest_events(&shuffled[at..to]);
            prop_assert!(rep.errors.is_empty());
            at = to;
        }
        let mut got = json(&r.snapshot(now));
        // the watermark is the same; everything else must be identical
        got["stats"] = want["stats"].clone();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn kpi_prop_monotone_counters(batch in 50usize..600) {
        let (g, events) = base();
        let mut r = new_room(&g);
        let mut prev: Option<Snapshot> = None;
        let mut now = g.stream_start_ms;
        for chunk in events.chunks(batch) {
            r.ingest_events(chunk);
            now = chunk.iter().map(|e| e.ts).fold(now, i64::max);
            let s = r.snapshot(now);
            if let Some(p) = &prev {
                let pairs = [
                    (p.process.entries, s.process.entries),
                    (p.process.viewers, s.process.viewers),
                    (p.process.impressions, s.process.impressions),
                    (p.process.clicks, s.process.clicks),
                    (p.process.interaction_events, s.process.interaction_events),
                    (p.process.interaction_people, s.process.interaction_people),
                    (p.process.room_exposures, s.process.room_exposures),
                    (p.process.follows, s.process.follows),
                    (p.result.orders, s.result.orders),
                    (p.result.buyers, s.result.buyers),
                    (p.minutes, s.minutes),
                    (p.stats.accepted as i64, s.stats.accepted as i64),
                ];
                for (a, b) in pairs {
                    prop_assert!(b >= a, "{} -> {}", a, b);
                }
            }
            prev = Some(s);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// No input makes the engine panic: arbitrary text, arbitrary columns, arbitrary times.
    #[test]
    fn kpi_prop_no_panic_on_garbage(
        text in ".{0,400}",
        kinds in proptest::collection::vec(any::<u8>(), 0..40),
        nums in proptest::collection::vec(prop_oneof![
            any::<f64>(),
            Just(f64::NAN),
            Just(f64::INFINITY),
            (-1e15f64..1e15),
            Just(1.7e12),
        ], 0..40),
        idx in proptest::collection::vec(prop_oneof![Just(u32::MAX), 0u32..6], 0..40),
        now in prop_oneof![1 => any::<i64>(), 6 => 1_699_999_000_000i64..1_700_010_000_000],
        end in prop_oneof![1 => any::<i64>(), 6 => 1_699_999_000_000i64..1_700_010_000_000],
    ) {
        let mut r = Room::new(RoomConfig::new(1_700_000_000_000));
        r.ingest_ndjson(&text);
        r.ingest_ndjson_bytes(text.as_bytes());
        let n = kinds.len();
        let pick = |v: &Vec<f64>, k: usize| -> Vec<f64> {
            (0..n).map(|i| v.get((i * 7 + k) % v.len().max(1)).copied().unwrap_or(f64::NAN)).collect()
        };
        let ts: Vec<f64> = (0..n)
            .map(|i| 1_700_000_000_000.0 + nums.get(i).copied().unwrap_or(0.0) % 1e9)
            .collect();
        let ids = pick(&nums, 1);
        let amount = pick(&nums, 2);
        let units = pick(&nums, 3);
        let fs = pick(&nums, 4);
        let ix: Vec<u32> = (0..n).map(|i| idx.get(i).copied().unwrap_or(u32::MAX)).collect();
        let strings: Vec<String> = ["a", "b", "", "é", "0", "1"].iter().map(|s| s.to_string()).collect();
        let kinds2: Vec<u8> = kinds.iter().map(|k| k % 22).collect();
        let c = Columns {
            kind: &kinds2,
            ts: &ts,
            id: &ids,
            viewer: &ix,
            session: &ix,
            product: &ix,
            order: &ix,
            amount: &amount,
            units: &units,
            count: &units,
            follower_since_ms: &fs,
            region: &ix,
            strings: (&strings).into(),
            ..Columns::default()
        };
        r.ingest_columns(&c);
        let _ = r.snapshot(now);
        r.end_stream(end);
        let s = r.snapshot(now);
        prop_assert!(serde_json::to_string(&s).is_ok());
        prop_assert!(s.minutes >= 0);
    }
}

proptest! {
    /// The incremental rank index agrees with sorting (nearest rank), through inserts, removes
    /// (also of absent values) and replacements within and across buckets.
    #[test]
    fn kpi_prop_rank_index_matches_sort(ops in proptest::collection::vec((0u8..4, prop_oneof![0i64..5_000, 0i64..100_000_000, 300_000_000i64..300_001_000, Just(-5i64)]), 0..300)) {
        let mut idx = crate::kpi::util::RankIndex::default();
        let mut vals: Vec<i64> = Vec::new();
        for (op, v) in ops {
            if op == 0 || vals.is_empty() {
                idx.insert(v);
                vals.push(v);
            } else if op == 1 {
                let x = vals.swap_remove((v.unsigned_abs() as usize) % vals.len());
                idx.remove(x);
            } else if op == 2 {
                let i = (v.unsigned_abs() as usize) % vals.len();
                let new = vals[i] + v % 1_500 - 700;
                idx.replace(vals[i], new);
                vals[i] = new;
            } else if !vals.contains(&(v + 1)) {
                idx.remove(v + 1);
            }
        }
        prop_assert_eq!(idx.len(), vals.len() as u64);
        for (num, den) in [(1u64, 2u64), (9, 10), (1, 1), (1, 100)] {
            let want = nearest_rank(&mut vals.clone(), num, den);
            let got = idx.kth((num * vals.len() as u64).div_ceil(den));
            prop_assert_eq!(want, got);
        }
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::json;
    prop_oneof![
        Just(json!(null)),
        Just(json!("a")),
        Just(json!("7")),
        Just(json!("\u{e9}\\n")),
        Just(json!(7)),
        Just(json!(-3)),
        Just(json!(2.5)),
        Just(json!(4.0)),
        Just(json!(true)),
        Just(json!([1])),
        Just(json!(1_700_000_000_500i64)),
        Just(json!(1e13)),
        Just(json!(18_446_744_073_709_551_615u64)),
        Just(json!("like")),
        Just(json!("order_paid")),
        Just(json!("enter")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// The fast NDJSON decoder and the `Value` decoder agree on every line (outcome and error).
    #[test]
    fn kpi_prop_fast_ndjson_matches_value_path(
        fields in proptest::collection::vec(
            (prop_oneof![
                Just("id"), Just("ts"), Just("kind"), Just("viewer"), Just("session"),
                Just("product"), Just("order"), Just("amount"), Just("units"), Just("count"),
                Just("text"), Just("option"), Just("cohost"), Just("region"),
                Just("follower_since_ms"), Just("seen_before"), Just("other"),
            ], json_value()),
            0..12,
        ),
        base_ok in any::<bool>(),
    ) {
        let mut obj = serde_json::Map::new();
        if base_ok {
            obj.insert("id".into(), "1".into());
            obj.insert("ts".into(), 1_700_000_000_100i64.into());
            obj.insert("kind".into(), "like".into());
            obj.insert("viewer".into(), "v".into());
        }
        for (k, v) in fields {
            obj.insert(k.to_string(), v);
        }
        let v = serde_json::Value::Object(obj);
        let line = v.to_string();
        let mut a = Room::new(RoomConfig::new(1_700_000_000_000));
        let mut b = Room::new(RoomConfig::new(1_700_000_000_000));
        let ra = a.ingest_ndjson(&line);
        let rb = b.ingest_json_values(std::slice::from_ref(&v));
        prop_assert_eq!(&ra, &rb, "{}", line);
        prop_assert_eq!(json(&a.snapshot(1_700_000_100_000)), json(&b.snapshot(1_700_000_100_000)));
    }
}
