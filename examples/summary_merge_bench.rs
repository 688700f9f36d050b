//! Merge benchmark: 10^6 encoded viewer summaries → decode, de-duplicate and merge into room and
//! region aggregates (one collector), natively.
//!
//! `cargo run --profile console --features player,console --example summary_merge_bench [sessions]
//! [per] [threads]` (default 100 000 sessions × 10 summaries, plus a run of 10^6 single-summary
//! sessions). Each run is merged on one thread, then sharded by session id over `threads` threads
//! (default: the available parallelism, at least 2), each shard its own `Merger`, the shards'
//! aggregates united at the end; the sharded result is checked against the one-thread result.

use std::time::Instant;

use livekpi::qoe::QoeMetrics;
use livekpi::summary::{Ledger, Merger, SummaryWriter};

const T0: f64 = 1_764_000_000_000.0;
const REGIONS: [&str; 8] = [
    "cn-north",
    "cn-east",
    "cn-south",
    "cn-west",
    "hk",
    "sg",
    "us-west",
    "eu-central",
];

/// xorshift64*.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// `sessions` views of `per` summaries each (30 s apart, every ack received), in a shuffled
/// arrival order that keeps each session's order.
fn workload(sessions: usize, per: usize, rooms: usize) -> Vec<(Vec<u8>, &'static str)> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut per_session: Vec<Vec<(Vec<u8>, &'static str)>> = Vec::with_capacity(sessions);
    for i in 0..sessions {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&rng.next().to_le_bytes());
        id[8..].copy_from_slice(&rng.next().to_le_bytes());
        let room = format!("room-{}", i % rooms);
        let region = REGIONS[(rng.next() % 8) as usize];
        let mut w = SummaryWriter::new(id, &room, T0).expect("room id");
        let startup = 300.0 + (rng.next() % 4000) as f64;
        let mut m = QoeMetrics {
            started: true,
            startup_ms: Some(startup),
            ..QoeMetrics::default()
        };
        let mut msgs = Vec::with_capacity(per);
        for k in 1..=per {
            let t = k as f64 * 30_000.0;
            let stall = if rng.next() % 5 == 0 { 800.0 } else { 0.0 };
            m.watch_ms = t;
            m.playing_ms += 30_000.0 - stall - if k == 1 { startup } else { 0.0 };
            m.stall_ms += stall;
            m.stall_count += u32::from(stall > 0.0);
            m.total_frames += 900;
            m.latency_samples += 30;
            m.latency_mean_ms = Some(1500.0 + (rng.next() % 3000) as f64);
            m.latency_last_ms = m.latency_mean_ms;
            m.bitrate_mean_bps = Some(2_500_000.0);
            m.bitrate_last_bps = Some(2_500_000.0);
            let mut out = Vec::with_capacity(96);
            let seq = w.write(T0 + t, &m, k == per, &mut out);
            w.ack(seq);
            msgs.push((out, region));
        }
        msgs.reverse();
        per_session.push(msgs);
    }
    // Interleave sessions: round-robin over a shuffled session order.
    let mut order: Vec<usize> = (0..sessions).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, (rng.next() % (i as u64 + 1)) as usize);
    }
    let mut out = Vec::with_capacity(sessions * per);
    for _ in 0..per {
        for &s in &order {
            if let Some(m) = per_session[s].pop() {
                out.push(m);
            }
        }
    }
    out
}

/// CPU time of this thread (user + system), s, where `/proc` has it (10 ms resolution).
fn cpu_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

#[inline(never)]
fn merge_all(merger: &mut Merger, msgs: &[(&[u8], &str)]) {
    for (m, region) in msgs {
        let _ = merger.ingest(m, region);
    }
}

fn run(sessions: usize, per: usize, rooms: usize, threads: usize) {
    let generated = workload(sessions, per, rooms);
    // As a collector holds them: request bodies read into one buffer, in arrival order.
    let mut buf = Vec::new();
    let mut spans = Vec::with_capacity(generated.len());
    for (m, region) in &generated {
        spans.push((buf.len(), buf.len() + m.len(), *region));
        buf.extend_from_slice(m);
    }
    drop(generated);
    let msgs: Vec<(&[u8], &str)> = spans.iter().map(|&(a, b, r)| (&buf[a..b], r)).collect();
    let bytes = buf.len();
    let t = Instant::now();
    let mut ok = 0usize;
    for (m, _) in &msgs {
        ok += usize::from(livekpi::summary::decode(m).is_ok());
    }
    let decode_s = t.elapsed().as_secs_f64();
    assert_eq!(ok, msgs.len());
    // Decode + de-duplication ledger alone (no aggregates): where the time goes.
    let mut ledger = Ledger::new();
    let t = Instant::now();
    for (m, _) in &msgs {
        if let Ok(s) = livekpi::summary::decode(m) {
            let _ = ledger.accept(&s);
        }
    }
    let ledger_s = t.elapsed().as_secs_f64();
    drop(ledger);
    let mut merger = Merger::new();
    let cpu0 = cpu_s();
    let t = Instant::now();
    merge_all(&mut merger, &msgs);
    let dt = t.elapsed().as_secs_f64();
    let cpu = cpu_s().zip(cpu0).map(|(b, a)| b - a).unwrap_or(f64::NAN);
    let n = msgs.len() as f64;
    let stats = merger.stats();
    let viewers: f64 = merger
        .rooms()
        .values()
        .map(|r| r.total.distinct_viewers())
        .sum();
    println!(
        "{} summaries ({} sessions x {}, {} rooms x {} regions, {:.1} B/summary): decode+dedup+merge {:.3} s wall ({:.2} s CPU), {:.0} summaries/s (decode alone {:.3} s, decode + ledger {:.3} s); applied {}, rejected {:?}; distinct viewers (sum of room HLL estimates) {:.0}",
        msgs.len(),
        sessions,
        per,
        rooms,
        REGIONS.len(),
        bytes as f64 / n,
        dt,
        cpu,
        n / dt,
        decode_s,
        ledger_s,
        stats.applied,
        stats.rejected,
        viewers
    );
    let t = Instant::now();
    let (sharded, cpu) = merge_sharded(&msgs, threads);
    let dt = t.elapsed().as_secs_f64();
    check_same(&merger, &sharded);
    println!(
        "  sharded by session id over {threads} threads: decode+dedup+merge {dt:.3} s wall ({cpu:.2} s CPU, all threads), {:.0} summaries/s; result equal to one thread's (counters, stats, HLL estimates; KLL n, min, max)",
        n / dt
    );
}

/// Sharded merge: each thread ingests the messages of its shard ([`Merger::shard_of`]) into its
/// own merger; the shards are then united on this thread. Returns the union and the CPU time of
/// all threads.
fn merge_sharded(msgs: &[(&[u8], &str)], threads: usize) -> (Merger, f64) {
    let shards: Vec<(Merger, Option<f64>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                scope.spawn(move || {
                    let cpu0 = cpu_s();
                    let mut m = Merger::new();
                    for &(b, region) in msgs {
                        if Merger::shard_of(b, threads) == k {
                            let _ = m.ingest(b, region);
                        }
                    }
                    (m, cpu_s().zip(cpu0).map(|(b, a)| b - a))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("shard thread"))
            .collect()
    });
    let cpu0 = cpu_s();
    let mut all = Merger::new();
    let mut cpu = 0.0;
    for (m, c) in &shards {
        all.absorb(m);
        cpu += c.unwrap_or(f64::NAN);
    }
    cpu += cpu_s().zip(cpu0).map(|(b, a)| b - a).unwrap_or(f64::NAN);
    (all, cpu)
}

/// Panics unless the sharded union equals the one-thread merge.
fn check_same(one: &Merger, sharded: &Merger) {
    assert_eq!(one.stats(), sharded.stats(), "stats");
    assert_eq!(one.rooms().len(), sharded.rooms().len(), "rooms");
    for (name, a) in one.rooms() {
        let b = &sharded.rooms()[name];
        let pairs = std::iter::once((&a.total, &b.total))
            .chain(a.regions.iter().map(|(r, x)| (x, &b.regions[r])));
        for (x, y) in pairs {
            assert_eq!(x.counters, y.counters, "counters of {name}");
            assert_eq!(x.distinct_viewers(), y.distinct_viewers(), "HLL of {name}");
            for (k, l) in [
                (x.startup_ms_sketch(), y.startup_ms_sketch()),
                (x.watch_ms_sketch(), y.watch_ms_sketch()),
            ] {
                assert_eq!(
                    (k.n(), k.min_item(), k.max_item()),
                    (l.n(), l.min_item(), l.max_item())
                );
            }
        }
    }
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sessions = args.first().copied().unwrap_or(100_000);
    let per = args.get(1).copied().unwrap_or(10);
    let threads = args
        .get(2)
        .copied()
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get().max(2)));
    run(sessions, per, 20, threads);
    if args.is_empty() {
        run(1_000_000, 1, 20, threads);
    }
}
