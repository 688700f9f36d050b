//! Sequential read bandwidth of this machine, one thread (the KPI engine is single-threaded), for
//! the memory-bandwidth bound of `benches/run.mjs`: an engine that must read every byte of its
//! columnar input once cannot ingest more than `bandwidth / bytes per event` events per second.
//!
//! `cargo run --profile console --example mem_bandwidth [-- MiB] [passes]`
//! (default a 512 MiB buffer — far larger than the caches — and 5 passes; the best pass is kept).
//!
//! Method: a `u64` buffer is written once (pages faulted in), then summed front to back with
//! eight independent accumulators (vectorised loads, no dependency chain on one add). Prints one
//! JSON line: `{"buffer_bytes", "passes", "best_gb_per_s", "median_gb_per_s", "checksum"}`
//! (GB = 10^9 bytes).

use std::time::Instant;

fn sum(v: &[u64]) -> u64 {
    let mut acc = [0u64; 8];
    let chunks = v.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..8 {
            acc[i] = acc[i].wrapping_add(c[i]);
        }
    }
    let mut s = rest.iter().fold(0u64, |a, &x| a.wrapping_add(x));
    for a in acc {
        s = s.wrapping_add(a);
    }
    s
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let mib = args.first().copied().unwrap_or(512).max(1);
    let passes = args.get(1).copied().unwrap_or(5).max(1);
    let n = mib * (1 << 20) / 8;
    let v: Vec<u64> = (0..n as u64)
        .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .collect();
    let bytes = (n * 8) as f64;
    let mut rates = Vec::with_capacity(passes);
    let mut check = 0u64;
    for _ in 0..passes {
        let t = Instant::now();
        check ^= std::hint::black_box(sum(std::hint::black_box(&v)));
        rates.push(bytes / t.elapsed().as_secs_f64() / 1e9);
    }
    rates.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{{\"buffer_bytes\":{},\"passes\":{passes},\"best_gb_per_s\":{:.3},\"median_gb_per_s\":{:.3},\"checksum\":{check}}}",
        n * 8,
        rates[passes - 1],
        rates[passes / 2]
    );
}
