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
