//! KPI engine benchmark (native): ingestion throughput per path (columns, NDJSON, objects) in bulk
//! and streaming modes, snapshot latency and memory as the stream grows, cost per event vs size.
//!
//! `cargo run --profile console --features console --example kpi_bench [-- options]`
//!
//! Options:
//! - `--events N`   events of the throughput workload (a 4-hour room; default 450 000)
//! - `--max N`      largest stream of the scaling run (default 10^7; 0 = skip). Stops at 10^5,
//!   10^6, 10^7 (and 10^8 if asked: beyond 10^7 the 10^7-event log is replayed, time-shifted
//!   with fresh event / session / order ids, so the stream grows in time too).
//! - `--reps N`     repetitions of each throughput run (best is kept; default 3)
//! - `--only PATH`  run one path once and exit, for instruction counts under
//!   `valgrind --tool=callgrind`: `columns`, `columns-stream`, `ndjson`, `ndjson-stream`,
//!   `objects`, `objects-stream`, `snapshot` or `none` (input preparation only; subtract it).
//!
//! Streaming = 1,000-event batches (columns: each batch with its own string table, as a JS
//! producer sends them) with a snapshot every 100 batches. Memory: live heap bytes of the room
//! (a counting allocator) and the process's peak RSS (`VmHWM` in /proc/self/status).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use livekpi::kpi::{generate, to_ndjson, Event, GenConfig, OwnedColumns, Room, RoomConfig};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size(), Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Relaxed);
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        LIVE.fetch_add(n, Relaxed);
        LIVE.fetch_sub(l.size(), Relaxed);
        System.realloc(p, l, n)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live() -> usize {
    LIVE.load(Relaxed)
}

/// (VmRSS, VmHWM) in bytes.
fn rss() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let get = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|x| x.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (get("VmRSS:"), get("VmHWM:"))
}

/// CPU time of this thread (ns, `/proc/thread-self/schedstat`; 0 where unavailable): on a shared,
/// loaded machine it moves far less than wall time.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

const BATCH: usize = 1000;
const SNAP_EVERY: usize = 100;
/// Events per arrival of the generator (measured: ~7.4).
const PER_ARRIVAL: f64 = 7.4;

fn gen_cfg(events: usize, seed: u64) -> GenConfig {
    let mut g = GenConfig::new(seed);
    g.duration_min = 240;
    g.products = 50;
    g.arrivals = ((events as f64 / PER_ARRIVAL) as u32).max(10);
    g
}

fn room(g: &GenConfig) -> Room {
    Room::new(RoomConfig::new(g.stream_start_ms).with_end(g.stream_end_ms()))
}

/// Splits NDJSON text into chunks of `n` lines (borrowed).
fn ndjson_chunks(text: &str, n: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let (mut start, mut lines) = (0, 0);
    for (i, &c) in b.iter().enumerate() {
        if c == b'\n' {
            lines += 1;
            if lines == n {
                out.push(&text[start..=i]);
                start = i + 1;
                lines = 0;
            }
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

struct Inputs {
    g: GenConfig,
    events: Vec<Event>,
    cols: OwnedColumns,
    batches: Vec<OwnedColumns>,
    nd: String,
}

fn inputs(n: usize) -> Inputs {
    let g = gen_cfg(n, 1);
    let events = generate(&g);
    let cols = OwnedColumns::from_events(&events);
    let batches = events
        .chunks(BATCH)
        .map(OwnedColumns::from_events)
        .collect();
    let nd = to_ndjson(&events);
    Inputs {
        g,
        events,
        cols,
        batches,
        nd,
    }
}

/// Runs one path once; returns (elapsed, snapshots taken, checksum).
fn run_path(inp: &Inputs, path: &str) -> (Duration, usize, i64) {
    let mut r = room(&inp.g);
    let end = inp.g.stream_end_ms();
    let mut snaps = 0;
    let mut sum = 0i64;
    let t = Instant::now();
    match path {
        "columns" => {
            r.ingest_columns(&inp.cols.view());
        }
        "ndjson" => {
            r.ingest_ndjson(&inp.nd);
        }
        "objects" => {
            r.ingest_events(&inp.events);
        }
        "columns-stream" => {
            for (i, b) in inp.batches.iter().enumerate() {
                r.ingest_columns(&b.view());
                if i % SNAP_EVERY == SNAP_EVERY - 1 {
                    let now = b.ts.last().copied().unwrap_or(0.0) as i64;
                    sum += r.snapshot(now).result.gmv_fen;
                    snaps += 1;
                }
            }
        }
        "ndjson-stream" => {
            let chunks = ndjson_chunks(&inp.nd, BATCH);
            let t0 = Instant::now();
            for (i, c) in chunks.iter().enumerate() {
                r.ingest_ndjson(c);
                if i % SNAP_EVERY == SNAP_EVERY - 1 {
                    let now = r.stats().watermark_ms.unwrap_or(0);
                    sum += r.snapshot(now).result.gmv_fen;
                    snaps += 1;
                }
            }
            let d = t0.elapsed();
            sum += r.snapshot(end).result.gmv_fen;
            return (d, snaps, sum);
        }
        "objects-stream" => {
            for (i, c) in inp.events.chunks(BATCH).enumerate() {
                r.ingest_events(c);
                if i % SNAP_EVERY == SNAP_EVERY - 1 {
                    let now = c.last().map_or(0, |e| e.ts);
                    sum += r.snapshot(now).result.gmv_fen;
                    snaps += 1;
                }
            }
        }
        "snapshot" => {
            r.ingest_columns(&inp.cols.view());
            let t0 = Instant::now();
            for _ in 0..100 {
                sum += r.snapshot(end).result.gmv_fen;
            }
            return (t0.elapsed() / 100, 100, sum);
        }
        _ => {}
    }
    let d = t.elapsed();
    sum += r.snapshot(end).result.gmv_fen;
    (d, snaps, sum)
}

fn arg(args: &[String], k: &str) -> Option<String> {
    args.iter()
        .position(|a| a == k)
        .and_then(|i| args.get(i + 1).cloned())
}

fn num(s: &str) -> usize {
    s.parse::<f64>().map_or(0, |x| x as usize)
}

fn pct(v: &mut [Duration], q: f64) -> Duration {
    v.sort_unstable();
    let k = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[k - 1]
}

fn mb(b: u64) -> f64 {
    b as f64 / 1e6
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n = arg(&args, "--events").map_or(450_000, |s| num(&s));
    let reps = arg(&args, "--reps").map_or(3, |s| num(&s)).max(1);
    let max = arg(&args, "--max").map_or(10_000_000, |s| num(&s));

    if let Some(p) = arg(&args, "--only") {
        let inp = inputs(n);
        let c0 = cpu_ns();
        let (d, _, sum) = run_path(&inp, &p);
        let cpu = cpu_ns().saturating_sub(c0);
        println!(
            "{p}: {} events in {:?}, thread CPU {:.0} ns/event (checksum {sum})",
            inp.events.len(),
            d,
            cpu as f64 / inp.events.len() as f64
        );
        return;
    }

    // ----- throughput per path -----
    let inp = inputs(n);
    let ne = inp.events.len();
    println!(
        "workload: 4-hour room, {ne} events ({} arrivals, 50 products), batches of {BATCH}, snapshot every {SNAP_EVERY} batches; best of {reps}",
        inp.g.arrivals
    );
    println!(
        "{:<16} {:>12} {:>10} {:>8}",
        "path", "M events/s", "ns/event", "snaps"
    );
    for p in [
        "columns",
        "columns-stream",
        "ndjson",
        "ndjson-stream",
        "objects",
        "objects-stream",
    ] {
        let mut best = Duration::MAX;
        let mut snaps = 0;
        for _ in 0..reps {
            let (d, s, _) = run_path(&inp, p);
            best = best.min(d);
            snaps = s;
        }
        println!(
            "{:<16} {:>12.2} {:>10.0} {:>8}",
            p,
            ne as f64 / best.as_secs_f64() / 1e6,
            best.as_nanos() as f64 / ne as f64,
            snaps
        );
    }
    drop(inp);

    if max == 0 {
        return;
    }
    scaling(max);
}

/// Streams columns batches into one room, stopping at each power of ten for snapshot latency
/// and memory; prints the cost per event of each decade.
fn scaling(max: usize) {
    let base_n = max.min(10_000_000);
    let g = gen_cfg(base_n, 7);
    let t = Instant::now();
    let batches: Vec<OwnedColumns> = {
        let events = generate(&g);
        events
            .chunks(BATCH)
            .map(OwnedColumns::from_events)
            .collect()
    };
    let total: usize = batches.iter().map(|b| b.kind.len()).sum();
    eprintln!(
        "scaling input: {total} events generated in {:?}",
        t.elapsed()
    );
    // Each replay starts after the last event of the one before (delayed refunds come hours
    // after the stream's end): shifting by the stream's length alone left every replayed event
    // before the watermark, rejected `too_late` (79.8 M of the 10^8 before this was fixed).
    let last_ts = batches
        .iter()
        .flat_map(|b| b.ts.iter().copied())
        .fold(f64::MIN, f64::max) as i64;
    let dur = (last_ts - g.stream_start_ms + 60_000).max(g.stream_end_ms() - g.stream_start_ms);
    let replays = max.div_ceil(total.max(1)).max(1);
    let cfg = RoomConfig::new(g.stream_start_ms).with_end(g.stream_start_ms + dur * replays as i64);
    let live0 = live();
    let mut r = Room::new(cfg);
    println!();
    println!(
        "scaling: columns streaming into one room ({} min per {total} events{}), snapshot p50/p99 over 101 snapshots at each stop",
        dur / 60_000,
        if replays > 1 { ", log replayed time-shifted" } else { "" }
    );
    println!(
        "{:>11} {:>9} {:>10} {:>10} {:>10} {:>9} {:>9} {:>9} {:>9} {:>7} {:>9} {:>9}",
        "events",
        "ns/event",
        "snap p50",
        "snap p99",
        "room MB",
        "B/event",
        "RSS MB",
        "peak MB",
        "viewers",
        "minutes",
        "sessions",
        "rejected"
    );
    let mut stops: Vec<usize> = Vec::new();
    let mut s = 100_000;
    while s <= max {
        stops.push(s);
        s *= 10;
    }
    let mut done = 0usize;
    let mut since = Instant::now();
    let mut since_n = 0usize;
    let mut stop_i = 0;
    let mut shifted: Option<OwnedColumns> = None;
    'outer: for k in 0..replays {
        for b in batches.iter() {
            let b = if k == 0 {
                b
            } else {
                // time-shifted copy with fresh ids (prepared outside the timed section)
                let el = since.elapsed();
                let mut c = b.clone();
                let off = (dur * k as i64) as f64;
                c.ts.iter_mut().for_each(|t| *t += off);
                c.id.iter_mut().for_each(|x| *x += (k as f64) * 1e12);
                for st in c.strings.iter_mut() {
                    if st.starts_with('s') || st.starts_with('o') || st.starts_with('x') {
                        st.push_str(&format!("#{k}"));
                    }
                }
                shifted = Some(c);
                since = Instant::now() - el;
                shifted.as_ref().unwrap_or(b)
            };
            r.ingest_columns(&b.view());
            done += b.kind.len();
            if done % (SNAP_EVERY * BATCH) == 0 {
                let now = b.ts.last().copied().unwrap_or(0.0) as i64;
                std::hint::black_box(r.snapshot(now));
            }
            if stop_i < stops.len() && done >= stops[stop_i] {
                let el = since.elapsed();
                let per = el.as_nanos() as f64 / (done - since_n) as f64;
                let now = b.ts.last().copied().unwrap_or(0.0) as i64;
                let mut lat = Vec::with_capacity(101);
                let mut snap = r.snapshot(now);
                for _ in 0..101 {
                    let t = Instant::now();
                    snap = std::hint::black_box(r.snapshot(now));
                    lat.push(t.elapsed());
                }
                let p50 = pct(&mut lat, 0.5);
                let p99 = pct(&mut lat, 0.99);
                let room_b = live().saturating_sub(live0) as u64;
                let (cur, peak) = rss();
                println!(
                    "{:>11} {:>9.0} {:>8.3}ms {:>8.3}ms {:>10.1} {:>9.1} {:>9.0} {:>9.0} {:>9} {:>7} {:>9} {:>9}",
                    done,
                    per,
                    p50.as_secs_f64() * 1e3,
                    p99.as_secs_f64() * 1e3,
                    mb(room_b),
                    room_b as f64 / done as f64,
                    mb(cur),
                    mb(peak),
                    snap.process.viewers,
                    snap.minutes,
                    snap.process.sessions,
                    r.stats().rejected
                );
                let st = r.stats();
                if st.rejected > 0 {
                    let why: Vec<String> = st
                        .rejected_by_reason
                        .iter()
                        .map(|x| format!("{} {}", x.reason, x.count))
                        .collect();
                    eprintln!("  rejected at {done}: {}", why.join(", "));
                }
                stop_i += 1;
                since = Instant::now();
                since_n = done;
                if stop_i == stops.len() {
                    break 'outer;
                }
            }
        }
    }
    drop(shifted);
}
