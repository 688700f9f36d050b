//! Writes the checked-in seed inputs of the byte-oriented targets (`fuzz/corpus/<target>/seed-*`):
//! valid summaries from `SummaryWriter`, framed summary sequences for the merger, and small
//! generated NDJSON logs. Run from the repository root:
//!
//!     cargo run --manifest-path fuzz/Cargo.toml --example make_seeds
//!
//! The structured targets (`kpi_columns`, `qoe_observations`) take `arbitrary` input; their
//! seeds are minimized fuzzer finds (see docs/fuzzing.md).
use std::fs;
use std::path::Path;

use livekpi::kpi::{generate_ndjson, GenConfig};
use livekpi::qoe::QoeMetrics;
use livekpi::summary::SummaryWriter;

const T0: f64 = 1_764_000_000_000.0;

fn metrics(t_s: f64, stalls: u32) -> QoeMetrics {
    QoeMetrics {
        startup_ms: Some(640.4),
        load_to_first_frame_ms: Some(910.0),
        started: true,
        watch_ms: t_s * 1000.0,
        playing_ms: t_s * 1000.0 - 640.0 - f64::from(stalls) * 600.0,
        stall_count: stalls,
        stall_ms: f64::from(stalls) * 600.0,
        freeze_count: stalls / 2,
        freeze_ms: f64::from(stalls / 2) * 300.0,
        total_frames: (t_s * 30.0) as u32,
        dropped_frames: stalls * 3,
        latency_samples: t_s as u32,
        latency_mean_ms: Some(2480.0),
        latency_last_ms: Some(2511.0),
        live_edge_last_s: Some(1.9),
        bitrate_last_bps: Some(3_000_000.0),
        bitrate_mean_bps: Some(3_000_000.0),
        rtt_last_ms: Some(38.0),
        ..QoeMetrics::default()
    }
}

/// One view's summaries: three periodic ones (the second acknowledged), then the final one.
fn view(sid: u8, room: &str, stalls: u32) -> Vec<Vec<u8>> {
    let mut w = SummaryWriter::new([sid; 16], room, T0).expect("room id");
    let mut out = Vec::new();
    for (i, t) in [30.0, 60.0, 90.0, 120.0].into_iter().enumerate() {
        let mut b = Vec::new();
        let seq = w.write(
            T0 + t * 1000.0,
            &metrics(t, stalls * i as u32),
            i == 3,
            &mut b,
        );
        if i == 1 {
            w.ack(seq);
        }
        out.push(b);
    }
    out
}

fn frame(region: u8, blob: &[u8]) -> Vec<u8> {
    let mut f = vec![region];
    f.extend_from_slice(&(blob.len() as u16).to_le_bytes());
    f.extend_from_slice(blob);
    f
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
}

fn main() {
    let root = Path::new("fuzz/corpus");
    assert!(
        Path::new("fuzz/Cargo.toml").exists(),
        "run from the repository root"
    );

    let a = view(1, "room-8812", 1);
    let b = view(2, "直播间-7", 0);
    let dir = root.join("summary_decode");
    for (i, m) in a.iter().enumerate() {
        write(&dir, &format!("view-a-{i}"), m);
    }
    write(&dir, "view-b-final", &b[3]);

    let dir = root.join("summary_merge");
    // two views in two regions, with a duplicate and an out-of-order (superseded) delivery
    let mut seq: Vec<u8> = Vec::new();
    for (region, m) in [
        (1, &a[0]),
        (2, &b[0]),
        (1, &a[1]),
        (1, &a[1]),
        (2, &b[2]),
        (2, &b[1]),
    ] {
        seq.extend(frame(region, m));
    }
    seq.extend(frame(1, &a[3]));
    seq.extend(frame(2, &b[3]));
    write(&dir, "two-views", &seq);
    let mut one: Vec<u8> = Vec::new();
    for m in &a {
        one.extend(frame(0, m));
    }
    write(&dir, "one-view", &one);

    let dir = root.join("kpi_ndjson");
    for (seed, arrivals, minutes) in [(1u64, 12u32, 6i64), (7, 25, 12), (42, 6, 3)] {
        let cfg = GenConfig {
            arrivals,
            duration_min: minutes,
            products: 3,
            duplicate_rate: 0.05,
            late_rate: 0.05,
            too_late_rate: 0.02,
            conflict_rate: 0.02,
            ..GenConfig::new(seed)
        };
        let text = generate_ndjson(&cfg);
        // keep the seeds small: at most ~60 lines
        let text: String = text.lines().take(60).map(|l| format!("{l}\n")).collect();
        write(&dir, &format!("gen-{seed}"), text.as_bytes());
    }
    eprintln!("seeds written under {}", root.display());
}
