//! Writes the sketches of a known set of viewer summaries for the Python DataSketches check
//! (`tests/oracle/datasketches_check.py`).
//!
//! `cargo run --features player,console --example summary_sketches -- OUT_DIR [N]`
//!
//! Files: `ids.txt` (the N session ids as 32 hex digits, in ingest order), `startup_ms.txt`
//! (their startup times), `hll_room.bin`, `hll_north.bin`, `hll_south.bin` (HLL_8 lg_k 12),
//! `kll_startup_ms.bin` (KLL doubles, k 200), `rust.txt` (`key value` lines: estimates).

use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

use livekpi::qoe::QoeMetrics;
use livekpi::summary::{session_hex, Merger, SummaryWriter};

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "target/sketches".into()));
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    fs::create_dir_all(&dir).expect("create output dir");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut merger = Merger::new();
    let (mut ids, mut startups) = (String::new(), String::new());
    for i in 0..n {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&next().to_le_bytes());
        id[8..].copy_from_slice(&next().to_le_bytes());
        let startup = (next() % 6000) as f64;
        let m = QoeMetrics {
            started: true,
            startup_ms: Some(startup),
            watch_ms: 30_000.0,
            playing_ms: 30_000.0 - startup,
            ..QoeMetrics::default()
        };
        let mut w = SummaryWriter::new(id, "room-1", 1.7e12).expect("room id");
        let mut out = Vec::new();
        w.write(1.7e12 + 30_000.0, &m, true, &mut out);
        let region = if i % 3 == 0 { "north" } else { "south" };
        merger.ingest(&out, region).expect("valid summary");
        ids.push_str(std::str::from_utf8(&session_hex(&id)).expect("hex"));
        ids.push('\n');
        let _ = writeln!(startups, "{startup}");
    }
    let room = merger.room("room-1").expect("room");
    let write = |name: &str, bytes: Vec<u8>| fs::write(dir.join(name), bytes).expect("write");
    write("ids.txt", ids.into_bytes());
    write("startup_ms.txt", startups.into_bytes());
    write("hll_room.bin", room.total.viewers_sketch().serialize());
    write(
        "hll_north.bin",
        room.regions["north"].viewers_sketch().serialize(),
    );
    write(
        "hll_south.bin",
        room.regions["south"].viewers_sketch().serialize(),
    );
    write(
        "kll_startup_ms.bin",
        room.total.startup_ms_sketch().serialize(),
    );
    let mut merged = room.regions["north"].clone();
    merged.merge(&room.regions["south"]);
    let mut facts = String::new();
    let _ = writeln!(facts, "n {n}");
    let _ = writeln!(
        facts,
        "hll_estimate {:?}",
        room.total.viewers_sketch().estimate()
    );
    let _ = writeln!(facts, "hll_composite {:?}", room.total.distinct_viewers());
    let _ = writeln!(facts, "hll_regions_merged {:?}", merged.distinct_viewers());
    let _ = writeln!(facts, "fast_starts {}", room.total.counters.fast_starts);
    let _ = writeln!(facts, "slow_starts {}", room.total.counters.slow_starts);
    write("rust.txt", facts.into_bytes());
    println!("wrote {n} sessions' sketches to {}", dir.display());
}
