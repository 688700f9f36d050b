//! Writes a generated room log (NDJSON) and the engine's snapshot (JSON) for a seed, for the
//! DuckDB oracle in `tests/oracle/`.
//!
//! Usage: `cargo run --features console --example gen_room -- <seed> <out_dir> [arrivals] [minutes]`
//! Writes `<out_dir>/log.ndjson`, `<out_dir>/snapshot.json` and `<out_dir>/meta.json`.

#[cfg(feature = "console")]
fn main() {
    use livekpi::kpi::{gen::generate, to_ndjson, GenConfig, Room, RoomConfig};
    let args: Vec<String> = std::env::args().collect();
    let seed: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1);
    let out = std::path::PathBuf::from(args.get(2).cloned().unwrap_or_else(|| ".".into()));
    let mut g = GenConfig::new(seed);
    if let Some(n) = args.get(3).and_then(|s| s.parse().ok()) {
        g.arrivals = n;
    }
    if let Some(n) = args.get(4).and_then(|s| s.parse().ok()) {
        g.duration_min = n;
    }
    g.too_late_rate = 0.003;
    g.conflict_rate = 0.002;
    let events = generate(&g);
    let ndjson = to_ndjson(&events);
    let mut cfg = RoomConfig::new(g.stream_start_ms).with_end(g.stream_end_ms());
    cfg.lateness_ms = g.lateness_ms;
    cfg.top_paths = 100;
    let mut room = Room::new(cfg.clone());
    let rep = room.ingest_ndjson(&ndjson);
    let snap = room.snapshot(g.stream_end_ms() + 86_400_000);
    // a mid-stream horizon (not on a minute boundary) for the live-snapshot checks
    let live_now = g.stream_start_ms + (g.stream_end_ms() - g.stream_start_ms) * 2 / 5 + 12_345;
    let live = room.snapshot(live_now);
    let meta = serde_json::json!({
        "seed": seed,
        "stream_start_ms": cfg.stream_start_ms,
        "stream_end_ms": g.stream_end_ms(),
        "lateness_ms": cfg.lateness_ms,
        "session_timeout_ms": cfg.session_timeout_ms,
        "opening_ms": cfg.opening_ms,
        "closing_ms": cfg.closing_ms,
        "events": events.len(),
        "accepted": rep.accepted,
        "duplicates": rep.duplicates,
        "rejected": rep.rejected,
        "live_now_ms": live_now,
    });
    let write = |name: &str, text: String| {
        if let Err(e) = std::fs::write(out.join(name), text) {
            eprintln!("cannot write {name}: {e}");
            std::process::exit(1);
        }
    };
    write("log.ndjson", ndjson);
    write(
        "snapshot.json",
        serde_json::to_string_pretty(&snap).unwrap_or_default(),
    );
    write(
        "snapshot_live.json",
        serde_json::to_string_pretty(&live).unwrap_or_default(),
    );
    write("meta.json", meta.to_string());
    println!(
        "seed {seed}: {} events, {} accepted, {} duplicates, {} rejected",
        events.len(),
        rep.accepted,
        rep.duplicates,
        rep.rejected
    );
}

#[cfg(not(feature = "console"))]
fn main() {
    eprintln!(
        "gen_room needs the `console` feature: cargo run --features console --example gen_room"
    );
}
