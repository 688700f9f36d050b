//! Timing check (ignored by default): `cargo test --release --all-features kpi_perf -- --ignored --nocapture`.

use super::*;
use std::time::Instant;

#[test]
#[ignore]
fn kpi_perf_snapshot_and_ingest() {
    let mut g = GenConfig::new(1);
    g.arrivals = 120_000;
    g.duration_min = 240;
    g.products = 50;
    let t = Instant::now();
    let events = generate(&g);
    eprintln!("generate: {} events in {:?}", events.len(), t.elapsed());
    let cols = OwnedColumns::from_events(&events);
    let nd = to_ndjson(&events);
    let mk = || Room::new(RoomConfig::new(g.stream_start_ms).with_end(g.stream_end_ms()));

    let mut r = mk();
    let t = Instant::now();
    r.ingest_events(&events);
    let d = t.elapsed();
    eprintln!(
        "objects: {:?} ({:.1} M events/s)",
        d,
        events.len() as f64 / d.as_secs_f64() / 1e6
    );

    let mut rc = mk();
    let t = Instant::now();
    rc.ingest_columns(&cols.view());
    let d = t.elapsed();
    eprintln!(
        "columns: {:?} ({:.1} M events/s)",
        d,
        events.len() as f64 / d.as_secs_f64() / 1e6
    );

    let mut rn = mk();
    let t = Instant::now();
    rn.ingest_ndjson(&nd);
    let d = t.elapsed();
    eprintln!(
        "ndjson: {:?} ({:.1} M events/s)",
        d,
        events.len() as f64 / d.as_secs_f64() / 1e6
    );

    let t = Instant::now();
    let mut s = r.snapshot(g.stream_end_ms());
    for _ in 0..9 {
        s = r.snapshot(g.stream_end_ms());
    }
    eprintln!(
        "snapshot: {:?} each, {} viewers, {} minutes",
        t.elapsed() / 10,
        s.process.viewers,
        s.minutes
    );
    let t = Instant::now();
    let j = serde_json::to_string(&s).unwrap_or_default();
    eprintln!("snapshot JSON: {} bytes in {:?}", j.len(), t.elapsed());
}

#[test]
#[ignore]
fn kpi_perf_columns_only() {
    let mut g = GenConfig::new(2);
    g.arrivals = 60_000;
    g.duration_min = 240;
    let events = generate(&g);
    let cols = OwnedColumns::from_events(&events);
    drop(events);
    let t = Instant::now();
    for _ in 0..3 {
        let mut r = Room::new(RoomConfig::new(g.stream_start_ms).with_end(g.stream_end_ms()));
        for chunk in 0..(cols.kind.len().div_ceil(1000)) {
            let a = chunk * 1000;
            let b = (a + 1000).min(cols.kind.len());
            let v = cols.view();
            let part = Columns {
                kind: &v.kind[a..b],
                ts: &v.ts[a..b],
                id: &v.id[a..b],
                id_ref: &v.id_ref[a..b],
                viewer: &v.viewer[a..b],
                session: &v.session[a..b],
                product: &v.product[a..b],
                order: &v.order[a..b],
                amount: &v.amount[a..b],
                units: &v.units[a..b],
                count: &v.count[a..b],
                text: &v.text[a..b],
                option: &v.option[a..b],
                cohost: &v.cohost[a..b],
                region: &v.region[a..b],
                tier: &v.tier[a..b],
                source: &v.source[a..b],
                follower_since_ms: &v.follower_since_ms[a..b],
                seen_before: &v.seen_before[a..b],
                strings: v.strings,
            };
            r.ingest_columns(&part);
        }
    }
    let d = t.elapsed() / 3;
    eprintln!(
        "columns in 1,000-row batches: {:?} ({:.2} M events/s)",
        d,
        cols.kind.len() as f64 / d.as_secs_f64() / 1e6
    );
}
