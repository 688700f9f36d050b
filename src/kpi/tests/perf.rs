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
    // 1,000-event batches, each with its own string table (as a JS binding would send them)
    let batches: Vec<OwnedColumns> = events.chunks(1000).map(OwnedColumns::from_events).collect();
    drop(events);
    let n: usize = batches.iter().map(|b| b.kind.len()).sum();
    let rounds = 15;
    let t = Instant::now();
    let mut snaps = 0;
    for _ in 0..rounds {
        let mut r = Room::new(RoomConfig::new(g.stream_start_ms).with_end(g.stream_end_ms()));
        for (i, b) in batches.iter().enumerate() {
            r.ingest_columns(&b.view());
            if i % 100 == 99 {
                let now = b.ts.last().copied().unwrap_or(0.0) as i64;
                snaps += r.snapshot(now).minutes;
            }
        }
    }
    let d = t.elapsed() / rounds;
    eprintln!(
        "streaming columns (1,000-row batches, snapshot every 100): {:?} for {} events ({:.2} M events/s) {}",
        d,
        n,
        n as f64 / d.as_secs_f64() / 1e6,
        snaps
    );
}
