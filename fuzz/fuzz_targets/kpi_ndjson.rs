//! `livekpi::kpi::Room` NDJSON ingestion on arbitrary bytes, then snapshots.
//!
//! Invariants: never panics; each report has accepted + duplicates + rejected equal to the
//! number of non-blank lines (a line that is not UTF-8 counts as non-blank: it is rejected); the
//! room's cumulative stats equal the report; for UTF-8 input, `ingest_ndjson` split into two
//! batches at a line boundary gives the same stats and the same snapshot as `ingest_ndjson_bytes`
//! in one batch; `snapshot()` never panics at any time (before, inside, after the stream, at the
//! i64 extremes when the end is known, after `end_stream`) and serializes to JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use livekpi::kpi::{Room, RoomConfig};

#[path = "common.rs"]
mod common;
use common::{check_report, check_stats_equal_report};

/// The seeds' stream start (`GenConfig::new`).
const T0: i64 = 1_735_000_000_000;

fn non_blank_bytes(data: &[u8]) -> u64 {
    data.split(|&b| b == b'\n')
        .filter(|l| std::str::from_utf8(l).map_or(true, |s| !s.trim().is_empty()))
        .count() as u64
}

fn non_blank_text(text: &str) -> u64 {
    text.split('\n').filter(|l| !l.trim().is_empty()).count() as u64
}

fuzz_target!(|data: &[u8]| {
    let mut a = Room::new(RoomConfig::new(T0));
    let rep = a.ingest_ndjson_bytes(data);
    check_report(&rep, non_blank_bytes(data), None);
    check_stats_equal_report(&a, &rep);

    match std::str::from_utf8(data) {
        Ok(text) => {
            // the same text in two batches, split after the first newline past the middle
            let mid = text.len() / 2;
            let cut = text.as_bytes()[mid..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(text.len(), |i| mid + i + 1);
            let (x, y) = text.split_at(cut);
            let mut b = Room::new(RoomConfig::new(T0));
            let r1 = b.ingest_ndjson(x);
            check_report(&r1, non_blank_text(x), None);
            let r2 = b.ingest_ndjson(y);
            check_report(&r2, non_blank_text(y), None);
            assert_eq!(b.stats(), a.stats(), "stats depend on the batch split");
            let now = a.stats().watermark_ms.unwrap_or(T0);
            let (sa, sb) = (a.snapshot(now), b.snapshot(now));
            if sa != sb {
                // NaN != NaN: compare the JSON forms (NaN → null) before calling it a difference
                let ja = serde_json::to_string(&sa).expect("snapshot serializes");
                let jb = serde_json::to_string(&sb).expect("snapshot serializes");
                assert_eq!(ja, jb, "snapshot depends on the batch split");
            }
        }
        Err(_) => {
            let text = String::from_utf8_lossy(data);
            let mut b = Room::new(RoomConfig::new(T0).with_end(T0 + 7_200_000));
            let r = b.ingest_ndjson(&text);
            check_report(&r, non_blank_text(&text), None);
            let _ = b.snapshot(T0 + 3_600_000);
            let _ = b.snapshot(i64::MAX);
        }
    }

    let wm = a.stats().watermark_ms;
    // (no i64::MAX while the end is unknown: that snapshot has 100,000 minute rows, ~1 s here)
    for now in [T0 - 1, T0 + 3_600_000, wm.unwrap_or(T0), i64::MIN] {
        let s = a.snapshot(now);
        assert_eq!(s.stats.accepted, rep.accepted);
    }
    a.end_stream(wm.unwrap_or(T0));
    let s = a.snapshot(i64::MAX);
    assert!(a.stream_end_ms().is_some());
    if s.minutes <= 240 {
        serde_json::to_string(&s).expect("snapshot serializes");
    }
});
