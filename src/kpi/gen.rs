//! Deterministic, seeded generator of a realistic room event log (no dependencies).
//!
//! Model: arrivals form a non-homogeneous Poisson process (thinning) whose rate triples during
//! lotteries (every 20 minutes, 3 minutes long) and doubles during product demos; an arrival is a
//! room exposure only (40 %), exposure then enter (45 %) or a direct enter (15 %); 15 % of
//! arrivals are earlier people coming back. Dwell is Pareto (x_m = 20 s, α = 1.2, capped at 3 h);
//! heartbeats every 30 s; 80 % of sessions end with a leave, the rest time out. During a session
//! viewers like / comment / share (more in lotteries), follow, join the fan club, gift, claim red
//! packets in lotteries and vote; products are shown with Zipf popularity (s = 1.1) and the
//! demoed product more; clicks, carts, orders (paid after 5–60 s) and refunds (1 min–2 h later,
//! possibly after the end) follow. Noise: repeat payments of an order, refunds of unknown
//! orders, exact duplicates, and events delivered late within the lateness window.

use super::event::{to_ndjson, Event, EventType};

/// SplitMix64 pseudo-random generator.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// Generator from a seed.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform integer in [lo, hi] (lo when hi < lo).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = (hi - lo) as u64 + 1;
        lo + (self.next_u64() % span) as i64
    }
    /// True with probability p.
    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }
    /// Exponential with the given mean.
    pub fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.f64()).ln()
    }
}

/// Generator configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct GenConfig {
    /// Seed.
    pub seed: u64,
    /// Stream start (ms since epoch).
    pub stream_start_ms: i64,
    /// Stream length in minutes.
    pub duration_min: i64,
    /// Expected number of arrivals (room exposures and/or entries) over the stream.
    pub arrivals: u32,
    /// Number of products.
    pub products: u32,
    /// Share of events delivered again as exact duplicates.
    pub duplicate_rate: f64,
    /// Share of events delivered late (up to 90 % of `lateness_ms` after their time).
    pub late_rate: f64,
    /// The room's lateness window the late deliveries must respect.
    pub lateness_ms: i64,
    /// Share of events delivered far too late (beyond the window; rejected by the room).
    pub too_late_rate: f64,
    /// Share of events followed by an event with the same id and different content.
    pub conflict_rate: f64,
}

impl GenConfig {
    /// A 2-hour stream with ~2,000 arrivals and 12 products, 1 % duplicates, 2 % late events.
    pub fn new(seed: u64) -> GenConfig {
        GenConfig {
            seed,
            stream_start_ms: 1_735_000_000_000,
            duration_min: 120,
            arrivals: 2000,
            products: 12,
            duplicate_rate: 0.01,
            late_rate: 0.02,
            lateness_ms: 300_000,
            too_late_rate: 0.0,
            conflict_rate: 0.0,
        }
    }
    /// Stream end (ms).
    pub fn stream_end_ms(&self) -> i64 {
        self.stream_start_ms + self.duration_min.max(1) * 60_000
    }
}

const REGIONS: [&str; 6] = ["北京", "上海", "广东", "浙江", "四川", "海外"];
const TIERS: [&str; 4] = ["low", "mid", "high", "vip"];
const SOURCES: [&str; 5] = ["feed", "follow", "search", "share", "ads"];
const COMMENTS: [&str; 5] = ["好看", "多少钱", "上链接", "主播好美", "已拍"];

struct Gen {
    rng: SplitMix64,
    out: Vec<Event>,
    order_n: u64,
}

impl Gen {
    fn push(&mut self, ts: i64, kind: EventType) -> &mut Event {
        self.out.push(Event::new(String::new(), ts, kind));
        let n = self.out.len() - 1;
        &mut self.out[n]
    }
}

/// Generates a room log in delivery order (ids are decimal numbers in time order, before
/// duplicates and late deliveries are mixed in).
pub fn generate(cfg: &GenConfig) -> Vec<Event> {
    let start = cfg.stream_start_ms;
    let end = cfg.stream_end_ms();
    let dur = (end - start) as f64;
    let nprod = cfg.products.max(1) as usize;
    let mut g = Gen {
        rng: SplitMix64::new(cfg.seed),
        out: Vec::new(),
        order_n: 0,
    };
    let weights: Vec<f64> = (0..nprod)
        .map(|i| 1.0 / ((i + 1) as f64).powf(1.1))
        .collect();
    let wsum: f64 = weights.iter().sum();
    let prices: Vec<i64> = (0..nprod).map(|_| g.rng.range(9, 299) * 100 - 10).collect();
    let ctrs: Vec<f64> = (0..nprod).map(|_| 0.04 + 0.12 * g.rng.f64()).collect();
    let lottery = |t: i64| {
        let m = (t - start).div_euclid(60_000);
        m >= 10 && (m - 10) % 20 < 3
    };
    let demo_of = |t: i64| ((t - start).div_euclid(480_000)).rem_euclid(nprod as i64) as usize;

    // co-host links
    for (k, (a, b)) in [(40i64, 50i64), (100, 110)].iter().enumerate() {
        if *b <= cfg.duration_min {
            let c = format!("c{k}");
            g.push(start + a * 60_000, EventType::CohostStart).cohost = Some(c.clone());
            g.push(start + b * 60_000, EventType::CohostEnd).cohost = Some(c);
        }
    }

    let base_rate = cfg.arrivals.max(1) as f64 / dur; // per ms
    let max_rate = base_rate * 3.0;
    let mut t = start as f64 - 120_000.0;
    let mut people: Vec<(String, bool)> = Vec::new();
    let mut session_n = 0u64;
    loop {
        t += g.rng.exp(1.0 / max_rate);
        if t >= end as f64 {
            break;
        }
        let ti = t as i64;
        let mult = if lottery(ti) {
            3.0
        } else if (ti - start) % 480_000 < 120_000 {
            2.0
        } else {
            1.0
        };
        if !g.rng.chance(mult / 3.0) {
            continue;
        }
        // who
        let (viewer, returning) = if !people.is_empty() && g.rng.chance(0.15) {
            let i = g.rng.range(0, people.len() as i64 - 1) as usize;
            people[i].clone()
        } else {
            let v = (format!("u{}", people.len()), g.rng.chance(0.3));
            people.push(v.clone());
            v
        };
        let r = g.rng.f64();
        let exposed = r < 0.85;
        let enters = r >= 0.4;
        let mut te = ti;
        if exposed {
            g.push(ti, EventType::RoomExposure).viewer = Some(viewer.clone());
            te = ti + g.rng.range(0, 5_000);
        }
        if !enters {
            continue;
        }
        session_n += 1;
        let session = format!("s{session_n}");
        let region = REGIONS[g.rng.range(0, 5) as usize];
        let tier = TIERS[g.rng.range(0, 3) as usize];
        let source = SOURCES[g.rng.range(0, 4) as usize];
        let fchoice = g.rng.f64();
        let follower_since = if fchoice < 0.05 {
            Some(te - 86_400_000) // exactly one day
        } else if fchoice < 0.1 {
            Some(te - 86_399_999)
        } else if fchoice < 0.25 {
            Some(te - g.rng.range(0, 400 * 86_400_000))
        } else {
            None
        };
        {
            let e = g.push(te, EventType::Enter);
            e.viewer = Some(viewer.clone());
            e.session = Some(session.clone());
            e.region = Some(region.into());
            e.tier = Some(tier.into());
            e.source = Some(source.into());
            e.follower_since_ms = follower_since;
            if returning {
                e.seen_before = Some(true);
            } else if fchoice > 0.6 {
                e.seen_before = Some(false);
            }
        }
        let u = 1.0 - g.rng.f64();
        let dwell = (20_000.0 / u.powf(1.0 / 1.2)).min(3.0 * 3_600_000.0) as i64;
        let tl = te + dwell;
        let mut hb = te + 30_000;
        while hb < tl {
            let e = g.push(hb, EventType::Heartbeat);
            e.viewer = Some(viewer.clone());
            e.session = Some(session.clone());
            hb += 30_000;
        }
        if g.rng.chance(0.8) {
            let e = g.push(tl, EventType::Leave);
            e.viewer = Some(viewer.clone());
            e.session = Some(session.clone());
        }
        // behaviour during the session, minute by minute
        let mut tm = te;
        while tm < tl {
            let step_end = (tm + 60_000).min(tl);
            let span = step_end - tm;
            let lot = lottery(tm);
            let inter_p = if lot { 0.6 } else { 0.25 };
            if g.rng.chance(inter_p) {
                let ts = tm + g.rng.range(0, span);
                let k = g.rng.range(0, 2);
                let e = match k {
                    0 => {
                        let c = g.rng.range(1, 20);
                        let e = g.push(ts, EventType::Like);
                        e.count = Some(c);
                        e
                    }
                    1 => {
                        let c = COMMENTS[(ts % 5) as usize];
                        let e = g.push(ts, EventType::Comment);
                        e.text = Some(c.into());
                        e
                    }
                    _ => g.push(ts, EventType::Share),
                };
                e.viewer = Some(viewer.clone());
            }
            for (p, kind) in [
                (0.02, EventType::Follow),
                (0.005, EventType::FanClubJoin),
                (0.01, EventType::Gift),
                (0.01, EventType::Vote),
            ] {
                if g.rng.chance(p) {
                    let ts = tm + g.rng.range(0, span);
                    let amt = g.rng.range(1, 50) * 100;
                    let opt = g.rng.range(0, 2);
                    let e = g.push(ts, kind);
                    e.viewer = Some(viewer.clone());
                    if kind == EventType::Gift {
                        e.amount = Some(amt);
                    }
                    if kind == EventType::Vote {
                        e.option = Some(format!("opt{opt}"));
                    }
                }
            }
            if lot && g.rng.chance(0.4) {
                let ts = tm + g.rng.range(0, span);
                let amt = g.rng.range(1, 100);
                let e = g.push(ts, EventType::RedPacketClaim);
                e.viewer = Some(viewer.clone());
                e.amount = Some(amt);
            }
            // product exposure
            if g.rng.chance(0.55) {
                let ts = tm + g.rng.range(0, span);
                let p = if g.rng.chance(0.4) {
                    demo_of(ts)
                } else {
                    let mut x = g.rng.f64() * wsum;
                    let mut k = 0;
                    while k + 1 < nprod && x >= weights[k] {
                        x -= weights[k];
                        k += 1;
                    }
                    k
                };
                let pid = format!("p{p}");
                {
                    let e = g.push(ts, EventType::ProductImpression);
                    e.viewer = Some(viewer.clone());
                    e.product = Some(pid.clone());
                }
                if g.rng.chance(ctrs[p]) {
                    let tc = ts + g.rng.range(500, 10_000);
                    {
                        let e = g.push(tc, EventType::ProductClick);
                        e.viewer = Some(viewer.clone());
                        e.product = Some(pid.clone());
                    }
                    if g.rng.chance(0.4) {
                        let e = g.push(tc + 2_000, EventType::AddToCart);
                        e.viewer = Some(viewer.clone());
                        e.product = Some(pid.clone());
                    }
                    if g.rng.chance(0.3) {
                        g.order_n += 1;
                        let oid = format!("o{}", g.order_n);
                        let units = g.rng.range(1, 3);
                        let amount = prices[p] * units;
                        let to = tc + g.rng.range(3_000, 20_000);
                        {
                            let e = g.push(to, EventType::OrderCreated);
                            e.viewer = Some(viewer.clone());
                            e.order = Some(oid.clone());
                            e.product = Some(pid.clone());
                            e.amount = Some(amount);
                        }
                        if g.rng.chance(0.85) {
                            let tp = to + g.rng.range(5_000, 60_000);
                            let repeat = g.rng.chance(0.02);
                            let tr = tp + g.rng.range(1_000, 30_000);
                            for (k, tpp) in [(0, tp), (1, tr)] {
                                if k == 1 && !repeat {
                                    break;
                                }
                                let e = g.push(tpp, EventType::OrderPaid);
                                e.viewer = Some(viewer.clone());
                                e.order = Some(oid.clone());
                                e.product = Some(pid.clone());
                                e.amount = Some(amount);
                                e.units = Some(units);
                            }
                            if g.rng.chance(0.08) {
                                let trf = tp + g.rng.range(60_000, 7_200_000);
                                let part = if g.rng.chance(0.5) {
                                    amount
                                } else {
                                    amount / 2
                                };
                                let e = g.push(trf, EventType::Refund);
                                e.order = Some(oid.clone());
                                e.amount = Some(part);
                                e.viewer = Some(viewer.clone());
                            }
                        }
                    }
                }
            }
            tm = step_end;
        }
    }
    // edge cases: events exactly at minute starts and at the end, and sessions whose leave and
    // enter fall on the same ms (netted before PCU)
    for k in 0..4i64 {
        let m = g.rng.range(0, cfg.duration_min.max(1) - 1);
        let e = g.push(start + m * 60_000, EventType::Like);
        e.viewer = Some(format!("u{}", k));
        e.count = Some(1);
    }
    let mid = start + (end - start) / 2 / 60_000 * 60_000;
    for (k, (a, b)) in [
        (mid - 120_000, mid),
        (mid, mid + 90_000),
        (end - 30_000, end + 30_000),
    ]
    .into_iter()
    .enumerate()
    {
        let (v, s) = (format!("edge{k}"), format!("edge-s{k}"));
        let e = g.push(a, EventType::Enter);
        e.viewer = Some(v.clone());
        e.session = Some(s.clone());
        let e = g.push(b, EventType::Leave);
        e.viewer = Some(v.clone());
        e.session = Some(s);
        let e = g.push(end, EventType::Comment);
        e.viewer = Some(v);
        e.text = Some("end".into());
    }
    {
        let e = g.push(end, EventType::OrderPaid);
        e.viewer = Some("edge0".into());
        e.order = Some("edge-o".into());
        e.product = Some("p0".into());
        e.amount = Some(12_300);
        e.units = Some(1);
    }
    // refunds of unknown orders
    let n_unknown = 1 + cfg.arrivals / 1000;
    for k in 0..n_unknown {
        let ts = start + g.rng.range(0, end - start);
        let amount = g.rng.range(100, 10_000);
        let e = g.push(ts, EventType::Refund);
        e.order = Some(format!("x{k}"));
        e.amount = Some(amount);
    }

    // ids in time order, then delivery order with noise
    let mut events = g.out;
    events.sort_by_key(|e| e.ts);
    for (i, e) in events.iter_mut().enumerate() {
        e.id = (i + 1).to_string();
    }
    let mut rng = SplitMix64::new(cfg.seed ^ 0x5eed_0fde_117e);
    let late_max = (cfg.lateness_ms as f64 * 0.9) as i64;
    let mut keyed: Vec<(i64, u64, Event)> = Vec::with_capacity(events.len() + events.len() / 50);
    let mut seq = 0u64;
    for e in events {
        let mut key = e.ts;
        if rng.chance(cfg.late_rate) {
            key += rng.range(1, late_max.max(1));
        } else if rng.chance(cfg.too_late_rate) {
            key += cfg.lateness_ms + rng.range(60_000, 600_000);
        }
        if rng.chance(cfg.duplicate_rate) {
            let room = (e.ts + late_max - key).max(0);
            let dk = key + rng.range(0, room);
            keyed.push((dk, seq, e.clone()));
            seq += 1;
        }
        if rng.chance(cfg.conflict_rate) {
            let mut c = e.clone();
            c.kind = EventType::Share;
            c.viewer = Some(c.viewer.clone().unwrap_or_else(|| "u0".into()));
            keyed.push((key + 1, seq, c));
            seq += 1;
        }
        keyed.push((key, seq, e));
        seq += 1;
    }
    keyed.sort_by_key(|k| (k.0, k.1));
    keyed.into_iter().map(|k| k.2).collect()
}

/// [`generate`] as NDJSON text.
pub fn generate_ndjson(cfg: &GenConfig) -> String {
    to_ndjson(&generate(cfg))
}
