//! Soak of the console KPI engine (issue 9): a long stream at a steady event rate, generated and
//! fed as fast as the machine allows (accelerated), with a dashboard snapshot every simulated
//! second. Every simulated 10 minutes it prints the room's live heap bytes (a counting global
//! allocator), bytes per event and per session, viewers who entered, and the snapshot latency (p50 / p99 / max) of those 10
//! minutes.
//!
//! `cargo run --profile console --features console --example soak [-- options]`
//!
//! Options: `--hours H` (default 4), `--rate R` events/s (default 5000), `--grow-hours G` (default
//! 2: the audience grows during the first G hours, then only returning viewers come back),
//! `--max-growth F` (default 0.10) and `--max-latency-trend F` (default 0.5).
//!
//! The stream is generated five minutes at a time with the crate's generator (seed = first
//! minute; arrivals calibrated so the kept events come to the rate; events past the slice's end
//! dropped), ids rewritten so slices never collide: event / session / order ids are unique per
//! slice; viewer ids are unique per slice during the growth phase, afterwards slice m's people
//! are folded onto those of slice m mod (60·G) (a returning audience that no longer grows: the
//! generator's k-th person of the slice becomes person k mod n of that earlier slice, n its
//! number of people). Every simulated hour it also prints the room's state by structure
//! ([`Room::memory_breakdown`]) and the sessions retired so far.
//!
//! Exit status is non-zero when, after the growth phase, the room's memory grew by more than
//! `--max-growth` (a fraction of its size at the end of the growth phase), or the snapshot p50
//! of the last 10 minutes exceeds the first post-growth one by more than `--max-latency-trend`
//! (a fraction) plus 0.1 ms.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use livekpi::kpi::{generate, Event, GenConfig, Room, RoomConfig};

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

const MIN_MS: i64 = 60_000;
const BATCH: usize = 1000;

fn arg(args: &[String], k: &str, d: f64) -> f64 {
    args.iter()
        .position(|a| a == k)
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(d)
}

fn pct(v: &mut [Duration], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable();
    let k = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[k - 1].as_secs_f64() * 1e3
}

/// Minutes per generated slice.
const SLICE_MIN: i64 = 5;

/// One generated slice (minutes [m, m + SLICE_MIN)) with ids rewritten (see the module doc);
/// events after the slice's end are dropped (the generator's sessions outlive a short stream),
/// so the slice's sessions without a leave time out.
fn slice(
    m: i64,
    start: i64,
    arrivals: u32,
    grow_min: i64,
    people: &mut std::collections::HashMap<i64, u64>,
) -> Vec<Event> {
    let mut g = GenConfig::new(m as u64 + 1);
    g.stream_start_ms = start + m * MIN_MS;
    g.duration_min = SLICE_MIN;
    g.products = 50;
    g.arrivals = arrivals;
    let end = g.stream_end_ms();
    let mut ev = generate(&g);
    ev.retain(|e| e.ts < end);
    let vm = if m < grow_min { m } else { m % grow_min };
    for (i, e) in ev.iter_mut().enumerate() {
        // numeric ids keep the fast de-dup path; duplicates keep their copy's id
        let n: u64 = e.id.parse().unwrap_or(i as u64);
        e.id = (m as u64 * 1_000_000_000 + n).to_string();
        for s in [&mut e.session, &mut e.order] {
            if let Some(x) = s.as_mut() {
                x.insert_str(0, &format!("{m}."));
            }
        }
        if let Some(v) = e.viewer.as_mut() {
            // the generator names its people u0, u1, …: during the growth phase remember how
            // many slice m had; afterwards fold the slice's people onto those of slice vm, so
            // no viewer is new
            let k: u64 = v
                .strip_prefix('u')
                .and_then(|x| x.parse().ok())
                .unwrap_or(0);
            let k = if m < grow_min {
                let n = people.entry(m).or_default();
                *n = (*n).max(k + 1);
                k
            } else {
                k % people.get(&vm).copied().unwrap_or(1).max(1)
            };
            *v = format!("{vm}.u{k}");
        }
    }
    ev
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let hours = arg(&args, "--hours", 4.0);
    let rate = arg(&args, "--rate", 5000.0);
    let grow_h = arg(&args, "--grow-hours", 2.0);
    let max_growth = arg(&args, "--max-growth", 0.10);
    let max_trend = arg(&args, "--max-latency-trend", 0.5);
    let minutes = (hours * 60.0).round() as i64;
    let grow_min = ((grow_h * 60.0).round() as i64).max(1);
    let start: i64 = 1_735_000_000_000;
    let mut cfg = RoomConfig::new(start).with_end(start + minutes * MIN_MS);
    // a room this large needs more than the default key caps (sessions, orders)
    cfg.caps.sessions = 64_000_000;
    cfg.caps.orders = 64_000_000;
    cfg.caps.viewers = 16_000_000;
    cfg.caps.seen_ids = 16_000_000;
    let live0 = LIVE.load(Relaxed);
    let mut room = Room::new(cfg);
    println!(
        "soak: {hours} h at {rate} events/s (~{:.0} M events), audience grows for {grow_h} h; snapshot every simulated second",
        rate * 3600.0 * hours / 1e6
    );
    println!(
        "{:>6} {:>11} {:>9} {:>10} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8} {:>8} {:>7}",
        "min",
        "events",
        "room MB",
        "B/event",
        "entered",
        "sessions",
        "B/sess",
        "ingest s",
        "snap p50",
        "p99 ms",
        "max ms",
        "ev/s M"
    );
    // calibrate arrivals per slice so that the kept events come to `rate` per second
    let trial = 20_000u32;
    let kept = slice(0, start, trial, grow_min, &mut Default::default()).len() as f64;
    let mut people = std::collections::HashMap::new();
    let arrivals = (trial as f64 * rate * 60.0 * SLICE_MIN as f64 / kept.max(1.0)) as u32;
    let (mut events, mut rejected) = (0u64, 0u64);
    let mut lat: Vec<Duration> = Vec::new();
    let mut ingest = Duration::ZERO;
    let mut rows: Vec<(i64, f64, f64)> = Vec::new(); // (minute, room bytes, snap p50 ms)
    let t_all = Instant::now();
    let mut pending: std::collections::VecDeque<Event> = Default::default();
    for m in 0..minutes {
        if m % SLICE_MIN == 0 {
            pending.extend(slice(m, start, arrivals, grow_min, &mut people));
        }
        // deliver this minute's events in 1,000-event batches, a snapshot each simulated second
        let t0 = start + m * MIN_MS;
        let mut next_snap = t0 + 1000;
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            batch.clear();
            while batch.len() < BATCH {
                match pending.front() {
                    Some(e) if e.ts < t0 + MIN_MS || m % SLICE_MIN == SLICE_MIN - 1 => {
                        batch.extend(pending.pop_front())
                    }
                    _ => break,
                }
            }
            if batch.is_empty() {
                break;
            }
            let t = Instant::now();
            let rep = room.ingest_events(&batch);
            ingest += t.elapsed();
            events += batch.len() as u64;
            rejected += rep.rejected;
            let wm = room.stats().watermark_ms.unwrap_or(t0);
            while next_snap <= wm.min(t0 + MIN_MS) {
                let t = Instant::now();
                std::hint::black_box(room.snapshot(next_snap));
                lat.push(t.elapsed());
                next_snap += 1000;
            }
        }
        if (m + 1) % 10 == 0 {
            // the room's bytes: everything live but the undelivered part of the current slice
            let queued = pending.capacity() * std::mem::size_of::<Event>()
                + pending
                    .iter()
                    .map(|e| {
                        [
                            &e.viewer, &e.session, &e.order, &e.product, &e.text, &e.region,
                        ]
                        .iter()
                        .map(|s| s.as_ref().map_or(0, |s| s.capacity()))
                        .sum::<usize>()
                            + e.id.capacity()
                    })
                    .sum::<usize>();
            let bytes = LIVE.load(Relaxed).saturating_sub(live0 + queued) as f64;
            let snap = room.snapshot(t0 + MIN_MS);
            let (p50, p99) = (pct(&mut lat, 0.5), pct(&mut lat, 0.99));
            let max = lat.last().map_or(0.0, |d| d.as_secs_f64() * 1e3);
            let sessions = snap.process.sessions.max(1) as f64;
            println!(
                "{:>6} {:>11} {:>9.1} {:>10.1} {:>9} {:>9} {:>9.0} {:>9.1} {:>8.3} {:>8.3} {:>8.3} {:>7.2}",
                m + 1,
                events,
                bytes / 1e6,
                bytes / events as f64,
                snap.process.viewers,
                snap.process.sessions,
                bytes / sessions,
                ingest.as_secs_f64(),
                p50,
                p99,
                max,
                events as f64 / ingest.as_secs_f64() / 1e6
            );
            rows.push((m + 1, bytes, p50));
            if (m + 1) % 60 == 0 {
                let parts: Vec<String> = room
                    .memory_breakdown()
                    .iter()
                    .map(|(k, b)| format!("{k} {:.1}", *b as f64 / 1e6))
                    .collect();
                println!(
                    "       state MB by structure: {}; sessions retired {}",
                    parts.join(", "),
                    room.sessions_retired()
                );
            }
            lat.clear();
        }
    }
    println!(
        "{events} events ({rejected} rejected) in {:.0} s wall, ingest {:.1} s",
        t_all.elapsed().as_secs_f64(),
        ingest.as_secs_f64()
    );
    // verdicts over the post-growth phase
    let post: Vec<&(i64, f64, f64)> = rows.iter().filter(|r| r.0 >= grow_min).collect();
    let mut ok = true;
    if let (Some(first), Some(last)) = (post.first(), post.last()) {
        let growth = (last.1 - first.1) / first.1.max(1.0);
        let mem_ok = growth <= max_growth;
        println!(
            "memory after the audience stopped growing: {:.1} MB at minute {} → {:.1} MB at minute {} ({:+.1} %, limit {:+.1} %): {}",
            first.1 / 1e6,
            first.0,
            last.1 / 1e6,
            last.0,
            growth * 100.0,
            max_growth * 100.0,
            if mem_ok { "plateau" } else { "NOT a plateau" }
        );
        let lat_ok = last.2 <= first.2 * (1.0 + max_trend) + 0.1;
        println!(
            "snapshot p50: {:.3} ms at minute {} → {:.3} ms at minute {} (limit ×{:.2} + 0.1 ms): {}",
            first.2,
            first.0,
            last.2,
            last.0,
            1.0 + max_trend,
            if lat_ok { "flat" } else { "TRENDS UP" }
        );
        ok = mem_ok && lat_ok;
    } else {
        println!("no post-growth samples (run longer than --grow-hours)");
    }
    if !ok {
        std::process::exit(1);
    }
}
