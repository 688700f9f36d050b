//! `livekpi::summary::Merger` fed a sequence of byte blobs, each from an arbitrary region.
//!
//! Input framing (so that seeds are readable and mutations keep blobs apart): repeated
//! `[region selector: u8][length: u16 LE][blob: length bytes]`; selector 0..=4 picks "", "north",
//! "south", a 64-byte region (the longest allowed) or a 65-byte one (rejected); a larger selector
//! takes `(selector − 5) % 80` bytes of the input (lossy UTF-8) as the region.
//!
//! Invariants after every blob: no panic; exactly one of applied / duplicates / superseded /
//! rejected grew, by one, matching the result; no room disappears; no counter of any room or
//! region aggregate decreases; a room's total equals the sum of its regions; the distinct-viewer
//! estimate is finite and non-negative.
#![no_main]

use std::collections::{BTreeMap, HashMap};

use libfuzzer_sys::fuzz_target;
use livekpi::summary::{Counters, Ingested, Merger, MAX_REGION_BYTES};

fn flat(c: &Counters) -> Vec<u64> {
    let mut v = vec![
        c.views,
        c.attempts,
        c.startup_measured,
        c.fast_starts,
        c.slow_starts,
        c.startup_ms_sum,
        c.autoplay_blocked,
        c.preloaded,
        c.hidden_during_startup,
        c.finished_views,
    ];
    v.extend_from_slice(&c.totals.values);
    v
}

type View = HashMap<String, (Vec<u64>, BTreeMap<String, Vec<u64>>)>;

fn view(m: &Merger) -> View {
    m.rooms()
        .iter()
        .map(|(room, agg)| {
            let regions = agg
                .regions
                .iter()
                .map(|(r, a)| (r.clone(), flat(&a.counters)))
                .collect();
            (room.clone(), (flat(&agg.total.counters), regions))
        })
        .collect()
}

fn stat_counts(m: &Merger) -> [u64; 4] {
    let s = m.stats();
    [
        s.applied,
        s.duplicates,
        s.superseded,
        s.rejected.values().sum(),
    ]
}

fn no_decrease(what: &str, before: &[u64], after: &[u64]) {
    assert_eq!(before.len(), after.len());
    for (i, (b, a)) in before.iter().zip(after).enumerate() {
        assert!(a >= b, "{what}: counter #{i} decreased from {b} to {a}");
    }
}

fuzz_target!(|data: &[u8]| {
    let mut m = Merger::new();
    let mut rest = data;
    let mut prev_view = View::new();
    let mut prev_stats = [0u64; 4];
    while rest.len() >= 3 {
        let sel = rest[0];
        let len = usize::from(u16::from_le_bytes([rest[1], rest[2]]));
        rest = &rest[3..];
        let region: String = match sel {
            0 => String::new(),
            1 => "north".into(),
            2 => "south".into(),
            3 => "r".repeat(MAX_REGION_BYTES),
            4 => "r".repeat(MAX_REGION_BYTES + 1),
            _ => {
                let n = (usize::from(sel - 5) % 80).min(rest.len());
                let (r, tail) = rest.split_at(n);
                rest = tail;
                String::from_utf8_lossy(r).into_owned()
            }
        };
        let (blob, tail) = rest.split_at(len.min(rest.len()));
        rest = tail;

        let result = m.ingest(blob, &region);

        let stats = stat_counts(&m);
        let grew: Vec<usize> = (0..4).filter(|&i| stats[i] != prev_stats[i]).collect();
        let expect = match result {
            Ok(Ingested::Applied) => 0,
            Ok(Ingested::Duplicate) => 1,
            Ok(Ingested::Superseded) => 2,
            Err(e) => {
                assert!(!e.code().is_empty() && !e.field().is_empty());
                let _ = e.to_string();
                3
            }
        };
        assert_eq!(
            grew,
            vec![expect],
            "stats {prev_stats:?} -> {stats:?} for {result:?}"
        );
        assert_eq!(stats[expect], prev_stats[expect] + 1);
        if region.len() > MAX_REGION_BYTES {
            assert!(
                result.is_err(),
                "a {}-byte region was accepted",
                region.len()
            );
        }

        let now = view(&m);
        for (room, (total, regions)) in &prev_view {
            let (t2, r2) = now.get(room).expect("a room disappeared");
            no_decrease(&format!("room {room:?} total"), total, t2);
            for (r, c) in regions {
                let c2 = r2.get(r).expect("a region disappeared");
                no_decrease(&format!("room {room:?} region {r:?}"), c, c2);
            }
        }
        if result.as_ref().is_ok_and(|r| *r != Ingested::Applied) || result.is_err() {
            assert_eq!(
                prev_view, now,
                "a non-applied summary changed the aggregates"
            );
        }
        for (room, (total, regions)) in &now {
            let mut sum = vec![0u64; total.len()];
            for c in regions.values() {
                for (s, x) in sum.iter_mut().zip(c) {
                    *s = s.saturating_add(*x);
                }
            }
            assert_eq!(&sum, total, "room {room:?}: total != sum of regions");
            let agg = m.room(room).expect("room() agrees with rooms()");
            let d = agg.total.distinct_viewers();
            assert!(d.is_finite() && d >= 0.0, "distinct viewers {d}");
        }
        prev_view = now;
        prev_stats = stats;
    }
});
