//! The room: configuration, incremental state and ingestion.
//!
//! Every event updates a fixed number of counters and per-key records (viewers, sessions,
//! products, orders, minutes); no event is stored, so memory grows with keys, not events. The
//! only per-event memory is the de-duplication table, which keeps ids for (at least) the lateness
//! window, and the paid orders. Sessions and minutes that no accepted event can change any more
//! are retired (see [`RoomConfig::lateness_ms`]), so sessions grow with the live audience.

use serde_json::Value;

use super::error::{ErrorReason, IngestError, IngestReport, IngestStats, ReasonCount};
use super::event::{Event, EventType, IdKey};
use super::util::{str_hash, Fx, FxMap, Interner, RankIndex, NONE};
use std::hash::Hasher;

/// One minute in ms.
pub const MINUTE_MS: i64 = 60_000;
/// One day in ms (edge rule 8: a follower for ≥ 1 day is a returning viewer).
pub const DAY_MS: i64 = 86_400_000;
/// Hard ceiling of [`Caps::minutes`] (≈ 69 days).
pub const MAX_MINUTES: usize = 100_000;

/// Configuration of a [`Room`]. Build with [`RoomConfig::new`] and adjust fields.
#[derive(Clone, Debug, PartialEq)]
pub struct RoomConfig {
    /// Stream start (ms since epoch). Minute 0 starts here.
    pub stream_start_ms: i64,
    /// Stream end (ms), when known in advance; otherwise set by [`Room::end_stream`].
    pub stream_end_ms: Option<i64>,
    /// Lateness window (ms): an event is rejected as `too_late` when its `ts` is below the
    /// watermark (highest accepted `ts`) minus this. Default 300,000 (5 min).
    ///
    /// It also bounds memory (retirement, once the stream's end is known: set
    /// `stream_end_ms` or call [`Room::end_stream`]). With cutoff = watermark − `lateness_ms` −
    /// `session_timeout_ms`:
    /// - a session whose last enter / leave (or last heartbeat, when it has no leave) is before
    ///   the cutoff is retired: its interval stays applied, its record and id are dropped. A
    ///   later event with its id (necessarily more than the timeout after its last event)
    ///   opens a new session, where the full-log definition would have extended the old one
    ///   (heartbeats after a leave never extend a session in either). A session running past
    ///   the known end is not retired;
    /// - a minute ending more than a minute before the cutoff drops its per-viewer map (keeps
    ///   its people counts) and packs its concurrency changes into 4 bytes each (per-second
    ///   sums, maxima and integrals kept, so a snapshot whose horizon falls inside the minute
    ///   is still exact);
    /// - [`Room::end_stream`] moving the end before the cutoff does not clip retired sessions.
    ///
    /// Results are otherwise identical to a room that never retires (tests/retire.rs).
    pub lateness_ms: i64,
    /// A session without a leave closes at its last heartbeat (or enter) + this. Default 60,000.
    pub session_timeout_ms: i64,
    /// Length of the opening segment (ms, rounded up to whole minutes). Default 30 min.
    pub opening_ms: i64,
    /// Length of the closing segment (ms, rounded up to whole minutes). Default 30 min.
    pub closing_ms: i64,
    /// Events more than this before the start or after the end (or start + `max_duration_ms`
    /// while the end is unknown) are absurd (`out_of_range`). Default 24 h.
    pub time_slack_ms: i64,
    /// Longest plausible stream while the end is unknown. Default 48 h.
    pub max_duration_ms: i64,
    /// Number of behaviour paths in a snapshot. Default 10.
    pub top_paths: usize,
    /// Largest lag (minutes, both directions) tried by the lagged correlation. Default 10,
    /// at most [`super::analysis::MAX_LAG`].
    pub max_lag_minutes: usize,
    /// Memory caps (see [`Caps`]).
    pub caps: Caps,
}

/// Memory caps of a room: state grows with distinct keys, and each key space is bounded. An
/// event that would pass a cap is rejected with reason `cap_exceeded` naming the field (counted
/// per reason in the stats); the valid rest of its batch is kept and nothing already kept
/// changes. Caps on keys count distinct keys ever seen (ids are not forgotten), except
/// sessions: retired sessions (see [`RoomConfig::lateness_ms`]) no longer count.
#[derive(Clone, Debug, PartialEq)]
pub struct Caps {
    /// Distinct viewer ids. Default 2,000,000.
    pub viewers: usize,
    /// Distinct live (not retired) session ids. Default 4,000,000.
    pub sessions: usize,
    /// Distinct product ids. Default 100,000.
    pub products: usize,
    /// Distinct order ids. Default 4,000,000.
    pub orders: usize,
    /// Distinct labels: regions, tiers, sources, vote options and co-host ids together.
    /// Default 100,000.
    pub labels: usize,
    /// Longest id or label, in UTF-8 bytes (viewer, session, product, order, option, cohost,
    /// region, tier, source and text event ids). Default 256.
    pub string_bytes: usize,
    /// Longest comment text, in UTF-8 bytes (texts are hashed, not kept). Default 65,536.
    pub text_bytes: usize,
    /// Event ids remembered for de-duplication (those inside the lateness window): when full,
    /// a new event is rejected on `id` rather than accepted without duplicate protection.
    /// Default 4,000,000.
    pub seen_ids: usize,
    /// Minute rows: minute `m` ≥ this is not tracked (its events still count in the whole-stream
    /// totals) and a snapshot shows at most this many minutes. Default 4,320 (72 h, the longest
    /// stream the default time checks accept), at most [`MAX_MINUTES`].
    pub minutes: usize,
}

impl Default for Caps {
    fn default() -> Caps {
        Caps {
            viewers: 2_000_000,
            sessions: 4_000_000,
            products: 100_000,
            orders: 4_000_000,
            labels: 100_000,
            string_bytes: 256,
            text_bytes: 65_536,
            seen_ids: 4_000_000,
            minutes: 4_320,
        }
    }
}

impl RoomConfig {
    /// Defaults for a stream starting at `stream_start_ms` with an unknown end.
    pub fn new(stream_start_ms: i64) -> RoomConfig {
        RoomConfig {
            stream_start_ms,
            stream_end_ms: None,
            lateness_ms: 300_000,
            session_timeout_ms: MINUTE_MS,
            opening_ms: 30 * MINUTE_MS,
            closing_ms: 30 * MINUTE_MS,
            time_slack_ms: DAY_MS,
            max_duration_ms: 2 * DAY_MS,
            top_paths: 10,
            max_lag_minutes: 10,
            caps: Caps::default(),
        }
    }
    /// Same config with a known end.
    pub fn with_end(mut self, stream_end_ms: i64) -> RoomConfig {
        self.stream_end_ms = Some(stream_end_ms);
        self
    }
}

/// What happened to one accepted input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Applied to the room.
    Accepted,
    /// Exact duplicate of an earlier event; ignored.
    Duplicate,
}

/// Viewer flag bits.
pub(crate) mod flag {
    pub const ENTERED: u32 = 1 << 0;
    pub const EXPOSED: u32 = 1 << 1;
    pub const INTERACTED: u32 = 1 << 2;
    pub const FOLLOWED: u32 = 1 << 3;
    pub const FANCLUB: u32 = 1 << 4;
    pub const PIMPRESSED: u32 = 1 << 5;
    pub const CLICKED: u32 = 1 << 6;
    pub const CARTED: u32 = 1 << 7;
    pub const BOUGHT: u32 = 1 << 8;
    pub const GIFTED: u32 = 1 << 9;
    pub const REDPACKET: u32 = 1 << 10;
    pub const VOTED: u32 = 1 << 11;
    pub const COMMENTED: u32 = 1 << 12;
    pub const LIKED: u32 = 1 << 13;
    pub const SHARED: u32 = 1 << 14;
    pub const ORDERED: u32 = 1 << 15;
    pub const COUNT: usize = 16;
}

/// Internal, interned form of an event.
#[derive(Clone, Debug)]
pub(crate) struct Raw {
    pub key: IdKey,
    pub ts: i64,
    pub ty: EventType,
    pub viewer: u32,
    pub session: u32,
    pub product: u32,
    pub order: u32,
    pub amount: Option<i64>,
    pub units: Option<i64>,
    pub count: Option<i64>,
    pub option: u32,
    pub cohost: u32,
    pub region: u32,
    pub tier: u32,
    pub source: u32,
    pub follower_since: Option<i64>,
    pub seen_before: Option<bool>,
    pub text_hash: Option<u64>,
}

impl Raw {
    pub(crate) fn new(key: IdKey, ts: i64, ty: EventType) -> Raw {
        Raw {
            key,
            ts,
            ty,
            viewer: NONE,
            session: NONE,
            product: NONE,
            order: NONE,
            amount: None,
            units: None,
            count: None,
            option: NONE,
            cohost: NONE,
            region: NONE,
            tier: NONE,
            source: NONE,
            follower_since: None,
            seen_before: None,
            text_hash: None,
        }
    }

    /// Hash of everything but the id (the "content" of edge rule 9). The session is hashed by
    /// its id text (`session_name`, None when absent), not its interned index: retirement
    /// compacts the session table, so a later duplicate of the same event may get another index.
    fn content_hash(&self, session_name: Option<&str>) -> u64 {
        let mut h = Fx::default();
        h.write_u8(self.ty as u8);
        h.write_i64(self.ts);
        match session_name {
            Some(name) => {
                h.write_u8(1);
                h.write_usize(name.len());
                h.write(name.as_bytes());
            }
            None => h.write_u8(0),
        }
        for x in [
            self.viewer,
            self.product,
            self.order,
            self.option,
            self.cohost,
            self.region,
            self.tier,
            self.source,
        ] {
            h.write_u32(x);
        }
        for x in [self.amount, self.units, self.count, self.follower_since] {
            match x {
                Some(v) => {
                    h.write_u8(1);
                    h.write_i64(v)
                }
                None => h.write_u8(0),
            }
        }
        h.write_u8(match self.seen_before {
            None => 0,
            Some(false) => 1,
            Some(true) => 2,
        });
        match self.text_hash {
            Some(t) => {
                h.write_u8(1);
                h.write_u64(t)
            }
            None => h.write_u8(0),
        }
        h.finish()
    }

    /// Required fields per kind (see the schema table in [`super::event`]).
    pub(crate) fn check_required(&self) -> Result<(), IngestError> {
        use EventType::*;
        let miss = |f| Err(IngestError::new(f, ErrorReason::MissingField));
        let needs_viewer = !matches!(self.ty, Refund | CohostStart | CohostEnd);
        if needs_viewer && self.viewer == NONE {
            return miss("viewer");
        }
        match self.ty {
            Enter | Leave | Heartbeat if self.session == NONE => miss("session"),
            ProductImpression | ProductClick | AddToCart if self.product == NONE => miss("product"),
            Gift if self.amount.is_none() => miss("amount"),
            OrderCreated if self.order == NONE => miss("order"),
            OrderPaid if self.order == NONE => miss("order"),
            OrderPaid if self.product == NONE => miss("product"),
            OrderPaid if self.amount.is_none() => miss("amount"),
            OrderPaid if self.units == Some(0) => {
                Err(IngestError::new("units", ErrorReason::OutOfRange))
            }
            Refund if self.order == NONE => miss("order"),
            Refund if self.amount.is_none() => miss("amount"),
            CohostStart | CohostEnd if self.cohost == NONE => miss("cohost"),
            _ => Ok(()),
        }
    }
}

/// Per-viewer state.
#[derive(Clone, Debug)]
pub(crate) struct Viewer {
    pub flags: u32,
    /// (ts, content hash) of the earliest enter; attributes below come from it.
    pub first_enter: Option<(i64, u64)>,
    pub returning: bool,
    pub region: u32,
    pub tier: u32,
    pub source: u32,
    pub paid_orders: i64,
    pub gmv: i64,
    /// First time of enter, product impression, click, payment (i64::MAX = never).
    pub first: [i64; 4],
}

impl Default for Viewer {
    fn default() -> Self {
        Viewer {
            flags: 0,
            first_enter: None,
            returning: false,
            region: NONE,
            tier: NONE,
            source: NONE,
            paid_orders: 0,
            gmv: 0,
            first: [i64::MAX; 4],
        }
    }
}

/// What a viewer contributes to the people aggregates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Contrib {
    pub flags: u32,
    pub returning: bool,
    pub region: u32,
    pub tier: u32,
    pub source: u32,
    pub gmv: i64,
    /// First times of the path steps: the behaviour path is [`path_code`] of these (computed
    /// only when they differ between two contributions).
    pub first: [i64; 4],
}

impl Viewer {
    /// True when every field [`Viewer::contrib`] reads is equal in both.
    #[inline]
    fn same_contrib_inputs(&self, o: &Viewer) -> bool {
        self.flags == o.flags
            && (self.paid_orders > 0) == (o.paid_orders > 0)
            && self.returning == o.returning
            && self.region == o.region
            && self.tier == o.tier
            && self.source == o.source
            && self.gmv == o.gmv
            && self.first == o.first
    }

    fn contrib(&self) -> Contrib {
        let mut flags = self.flags;
        if self.paid_orders > 0 {
            flags |= flag::BOUGHT;
        }
        Contrib {
            flags,
            returning: self.returning,
            region: self.region,
            tier: self.tier,
            source: self.source,
            gmv: self.gmv,
            first: self.first,
        }
    }
}

/// Path code: the steps done (0 enter, 1 impression, 2 click, 3 pay) ordered by first time (ties
/// by step order), base-5 digits step+1. 0 = no step.
pub(crate) fn path_code(first: &[i64; 4]) -> u16 {
    let mut steps: [(i64, u16); 4] = [(0, 0); 4];
    let mut n = 0;
    for (i, &t) in first.iter().enumerate() {
        if t != i64::MAX {
            steps[n] = (t, i as u16);
            n += 1;
        }
    }
    steps[..n].sort_unstable();
    steps[..n].iter().fold(0u16, |acc, &(_, s)| acc * 5 + s + 1)
}

/// Aggregates of one people group (region, tier, source).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Group {
    pub viewers: i64,
    pub buyers: i64,
    pub gmv: i64,
}

/// People aggregates maintained from viewer contributions.
#[derive(Clone, Debug, Default)]
pub(crate) struct Agg {
    pub people: [i64; flag::COUNT],
    /// Nested funnel: people who did steps 0..=k (exposure, enter, impression, click, buy).
    pub nested: [i64; 5],
    pub viewers_returning: i64,
    pub buyers_returning: i64,
    pub buyers_not_entered: i64,
    pub gmv_returning: i64,
    pub gmv_new: i64,
    pub gmv_not_entered: i64,
    pub regions: GroupTable,
    pub tiers: GroupTable,
    pub sources: GroupTable,
    /// Viewers per path code (index = code, < 5^4).
    pub paths: Vec<i64>,
}

/// People groups indexed by label id (slot 0 = no label), a flat Vec instead of a hash map.
#[derive(Clone, Debug, Default)]
pub(crate) struct GroupTable(Vec<Group>);

impl GroupTable {
    #[inline]
    fn get_mut(&mut self, key: u32) -> &mut Group {
        let i = key.wrapping_add(1) as usize;
        if self.0.len() <= i {
            self.0.resize(i + 1, Group::default());
        }
        &mut self.0[i]
    }
    /// (label id or NONE, group) for every slot.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &Group)> {
        self.0
            .iter()
            .enumerate()
            .map(|(i, g)| ((i as u32).wrapping_sub(1), g))
    }
}

/// Number of path codes (4 base-5 digits).
pub(crate) const PATH_CODES: usize = 625;

const FUNNEL_FLAGS: [u32; 5] = [
    flag::EXPOSED,
    flag::ENTERED,
    flag::PIMPRESSED,
    flag::CLICKED,
    flag::BOUGHT,
];

/// Steps of the nested funnel a viewer with these flags did (0..=5).
#[inline]
fn funnel_depth(flags: u32) -> usize {
    FUNNEL_FLAGS.iter().take_while(|&&f| flags & f != 0).count()
}

impl Agg {
    /// Replaces a viewer's contribution `b` by `a`: the same result as removing `b` and adding
    /// `a`, touching only what differs (usually one people flag).
    fn change(&mut self, b: &Contrib, a: &Contrib) {
        let mut diff = b.flags ^ a.flags;
        while diff != 0 {
            let i = diff.trailing_zeros() as usize;
            self.people[i] += if a.flags & (1 << i) != 0 { 1 } else { -1 };
            diff &= diff - 1;
        }
        let (kb, ka) = (funnel_depth(b.flags), funnel_depth(a.flags));
        for k in kb..ka {
            self.nested[k] += 1;
        }
        for k in ka..kb {
            self.nested[k] -= 1;
        }
        const MONEY: u32 = flag::ENTERED | flag::BOUGHT;
        let same_rest = (b.flags & MONEY) == (a.flags & MONEY)
            && b.returning == a.returning
            && b.gmv == a.gmv
            && (b.region, b.tier, b.source) == (a.region, a.tier, a.source);
        if !same_rest {
            self.add_money(b, -1);
            self.add_money(a, 1);
        }
        let (pb, pa) = if b.first == a.first {
            (0, 0)
        } else {
            (path_code(&b.first), path_code(&a.first))
        };
        if pb != pa {
            if self.paths.is_empty() {
                self.paths = vec![0; PATH_CODES];
            }
            if pb != 0 {
                self.paths[pb as usize] -= 1;
            }
            if pa != 0 {
                self.paths[pa as usize] += 1;
            }
        }
    }

    /// The part of a contribution read from the entered / bought flags, the returning mark,
    /// the GMV and the groups (people by new / returning, money, regions, tiers, sources).
    fn add_money(&mut self, c: &Contrib, s: i64) {
        let entered = c.flags & flag::ENTERED != 0;
        let bought = c.flags & flag::BOUGHT != 0;
        if entered && c.returning {
            self.viewers_returning += s;
        }
        if bought {
            if !entered {
                self.buyers_not_entered += s;
            } else if c.returning {
                self.buyers_returning += s;
            }
        }
        if !entered {
            acc(&mut self.gmv_not_entered, s.wrapping_mul(c.gmv));
        } else if c.returning {
            acc(&mut self.gmv_returning, s.wrapping_mul(c.gmv));
        } else {
            acc(&mut self.gmv_new, s.wrapping_mul(c.gmv));
        }
        if entered || bought || c.gmv != 0 {
            for (map, key) in [
                (&mut self.regions, c.region),
                (&mut self.tiers, c.tier),
                (&mut self.sources, c.source),
            ] {
                let g = map.get_mut(key);
                if entered {
                    g.viewers += s;
                }
                if bought {
                    g.buyers += s;
                }
                acc(&mut g.gmv, s.wrapping_mul(c.gmv));
            }
        }
    }
}

/// A viewing session.
#[derive(Clone, Debug, Default)]
pub(crate) struct Session {
    pub viewer: u32,
    pub enter: Option<i64>,
    pub leave: Option<i64>,
    pub last_hb: Option<i64>,
    /// The clipped interval currently applied to the timeline.
    pub cur: Option<(i64, i64)>,
    /// Retirement bucket (minute index of [`Session::last`]) it was last queued in.
    pub queued: Option<i64>,
    /// Retired: its interval is final and stays applied; a later event of its id opens a new
    /// session (see [`RoomConfig::lateness_ms`]).
    pub retired: bool,
}

impl Session {
    /// Time of the last event that can still move its interval: enter or leave when it has a
    /// leave (heartbeats after a leave do not change the interval), else enter or last heartbeat.
    fn last(&self) -> Option<i64> {
        let t = match self.leave {
            Some(l) => Some(l),
            None => self.last_hb,
        };
        match (self.enter, t) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Per-product counters (次数 and people).
#[derive(Clone, Debug, Default)]
pub(crate) struct Product {
    pub impressions: i64,
    pub clicks: i64,
    pub carts: i64,
    pub orders: i64,
    pub units: i64,
    pub gmv: i64,
    pub refund_fen: i64,
    pub refunds: i64,
    pub imp_people: i64,
    pub click_people: i64,
    pub cart_people: i64,
    pub buyers: i64,
}

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ProductViewer {
    pub flags: u8,
    pub pays: i64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Payment {
    pub ts: i64,
    pub hash: u64,
    pub viewer: u32,
    pub product: u32,
    pub amount: i64,
    pub units: i64,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Order {
    pub paid: Option<Payment>,
    pub refund_fen: i64,
    pub refunds: i64,
}

/// Additive per-minute counts (one set for the minute body, one for events exactly at its first ms).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counts {
    pub entries: i64,
    pub interactions: i64,
    pub impressions: i64,
    pub clicks: i64,
    pub orders: i64,
    pub gmv: i64,
}

impl Counts {
    pub(crate) fn add(&mut self, o: &Counts) {
        self.entries += o.entries;
        self.interactions += o.interactions;
        self.impressions += o.impressions;
        self.clicks += o.clicks;
        self.orders += o.orders;
        self.gmv = self.gmv.wrapping_add(o.gmv);
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct MinuteViewer {
    /// Number of sessions of this viewer covering the minute.
    pub cover: u32,
    /// Interaction bits: 1 = in the body, 2 = exactly at the first ms.
    pub inter: u8,
    /// Counted payments: [body, first ms].
    pub pay: [i64; 2],
}

/// One second of concurrency changes: net change per ms, sorted by time, with cached maxima.
#[derive(Clone, Debug, Default)]
pub(crate) struct Sec {
    pub deltas: Vec<(i64, i64)>,
    pub sum: i64,
    /// Max of the running sum (relative to the second's base) over the second's instants.
    pub max: i64,
    pub max_at: i64,
    pub dirty: bool,
    /// Retired minutes only (`deltas` dropped): Σ d × (second end − t), and whether the second
    /// had changes.
    pub integ: i64,
    pub had: bool,
}

impl Sec {
    fn recompute(&mut self, sec_start: i64) {
        let (mut best, mut at) = match self.deltas.first() {
            Some(&(t, _)) if t == sec_start => (i64::MIN, sec_start),
            _ => (0, sec_start),
        };
        let mut run = 0i64;
        for &(t, d) in &self.deltas {
            run = run.wrapping_add(d);
            if run > best {
                best = run;
                at = t;
            }
        }
        self.sum = run;
        self.max = best;
        self.max_at = at;
        self.dirty = false;
    }
}

impl Minute {
    /// Peak (absolute, from `base` at `t0`), its instant, and the integral (concurrency × ms)
    /// over [t0, min(horizon, t0 + 1 min)).
    pub(crate) fn conc_until(&self, t0: i64, base: i64, horizon: i64) -> (i64, i64, i64) {
        let h = horizon.min(t0 + MINUTE_MS);
        let mut run = base;
        let (mut best, mut at) = (i64::MIN, t0);
        let mut integral = base.wrapping_mul(h - t0);
        if self.packed_deltas {
            // per-second aggregates for whole seconds, the packed changes for the second
            // holding the horizon (same results as below)
            for (k, sec) in self.secs.iter().enumerate() {
                let ss = t0 + k as i64 * 1000;
                if ss >= h {
                    break;
                }
                if ss + 1000 <= h {
                    let cand = run.wrapping_add(if sec.had { sec.max } else { 0 });
                    if cand > best {
                        best = cand;
                        at = if sec.had { sec.max_at } else { ss };
                    }
                    integral = integral
                        .wrapping_add(sec.integ)
                        .wrapping_add(sec.sum.wrapping_mul(h - ss - 1000));
                    run = run.wrapping_add(sec.sum);
                } else {
                    // the second holding the horizon: its changes before the horizon
                    let lo = ((ss - t0) as u32) << 16;
                    let i = self.packed.partition_point(|&x| x < lo);
                    let mut it = self.packed[i..]
                        .iter()
                        .map(|&x| (t0 + (x >> 16) as i64, (x as u16 as i16) as i64))
                        .take_while(|&(t, _)| t < ss + 1000)
                        .peekable();
                    if it.peek().is_none_or(|&(t, _)| t > ss) && run > best {
                        best = run;
                        at = ss;
                    }
                    for (t, d) in it {
                        if t >= h {
                            break;
                        }
                        run = run.wrapping_add(d);
                        integral = integral.wrapping_add(d.wrapping_mul(h - t));
                        if run > best {
                            best = run;
                            at = t;
                        }
                    }
                }
            }
            if best == i64::MIN {
                best = base;
                at = t0;
            }
            return (best, at, integral);
        }
        for (k, sec) in self.secs.iter().enumerate() {
            let ss = t0 + k as i64 * 1000;
            if ss >= h {
                break;
            }
            if ss + 1000 <= h && !sec.dirty {
                let cand = run.wrapping_add(if sec.deltas.is_empty() { 0 } else { sec.max });
                if cand > best {
                    best = cand;
                    at = if sec.deltas.is_empty() {
                        ss
                    } else {
                        sec.max_at
                    };
                }
                for &(t, d) in &sec.deltas {
                    integral = integral.wrapping_add(d.wrapping_mul(h - t));
                }
                run = run.wrapping_add(sec.sum);
                continue;
            }
            if sec.deltas.first().is_none_or(|&(t, _)| t > ss) && run > best {
                best = run;
                at = ss;
            }
            for &(t, d) in &sec.deltas {
                if t >= h {
                    break;
                }
                run = run.wrapping_add(d);
                integral = integral.wrapping_add(d.wrapping_mul(h - t));
                if run > best {
                    best = run;
                    at = t;
                }
            }
        }
        if best == i64::MIN {
            // no second reached (no changes in this minute): constant base
            best = base;
            at = t0;
        }
        (best, at, integral)
    }
}

/// One raw minute of the stream: counts, people and the concurrency deltas that fall in it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Minute {
    pub c: [Counts; 2],
    pub viewers: FxMap<u32, MinuteViewer>,
    pub online: i64,
    pub inter_people: i64,
    pub pay_people: i64,
    /// Net concurrency changes, in 60 one-second buckets (empty until the first change).
    pub secs: Vec<Sec>,
    /// Retired (see [`RoomConfig::lateness_ms`]): `viewers` was dropped; `fold` holds what it
    /// contributed to the previous minute's row when that row folds this minute's first ms
    /// (viewers interacting / paying only at this first ms): [interaction people, pay people].
    pub compact: bool,
    pub fold: [i64; 2],
    /// Retired minutes only: the concurrency changes packed 4 bytes each, sorted by time:
    /// ms offset in the minute << 16 | net change as i16 (for horizons inside the minute).
    pub packed: Box<[u32]>,
    /// `packed` and the seconds' `integ` / `had` replace the seconds' `deltas`.
    pub packed_deltas: bool,
    pub d_sum: i64,
    /// Max of the running sum (relative to the minute's base) over the minute's instants.
    pub d_max: i64,
    pub d_max_at: i64,
    /// Running sum after the changes at exactly the first ms.
    pub d_at_start: i64,
    /// Σ d × (minute end − t): the minute's integral relative to its base.
    pub d_integral: i64,
    pub dirty: bool,
}

/// Whole-stream totals (次数).
#[derive(Clone, Debug, Default)]
pub(crate) struct Totals {
    pub entries: i64,
    pub room_exposures: i64,
    pub comments: i64,
    pub like_events: i64,
    pub likes: i64,
    pub shares: i64,
    pub follows: i64,
    pub fan_joins: i64,
    pub gifts: i64,
    pub gift_fen: i64,
    pub impressions: i64,
    pub clicks: i64,
    pub carts: i64,
    pub orders_created: i64,
    pub orders: i64,
    pub gmv: i64,
    pub units: i64,
    pub red_packets: i64,
    pub red_packet_fen: i64,
    pub votes: i64,
    pub cohost_starts: i64,
    pub cohost_ends: i64,
    pub refund_all_fen: i64,
    pub refund_all: i64,
    pub refund_known_fen: i64,
    pub refund_known: i64,
    pub refunded_orders: i64,
    pub sessions: i64,
}

/// A live-commerce room: ingests events, keeps incremental state, produces snapshots.
#[derive(Clone, Debug)]
pub struct Room {
    pub(crate) cfg: RoomConfig,
    pub(crate) end: Option<i64>,
    pub(crate) viewer_ids: Interner,
    pub(crate) session_ids: Interner,
    pub(crate) product_ids: Interner,
    pub(crate) order_ids: Interner,
    pub(crate) labels: Interner,
    pub(crate) viewers: Vec<Viewer>,
    pub(crate) agg: Agg,
    pub(crate) sessions: Vec<Session>,
    pub(crate) products: Vec<Product>,
    pub(crate) pv: FxMap<(u32, u32), ProductViewer>,
    pub(crate) orders: FxMap<u32, Order>,
    pub(crate) minutes: Vec<Minute>,
    dirty_minutes: Vec<usize>,
    pub(crate) t: Totals,
    pub(crate) votes_by_option: FxMap<u32, i64>,
    pub(crate) cohosts: FxMap<u32, (Option<i64>, Option<i64>)>,
    /// De-duplication: id → (content hash, `ts`), in two generations (see [`Room::rotate_seen`]).
    seen: [FxMap<u64, (u64, i64)>; 2],
    seen_text: [FxMap<Box<str>, (u64, i64)>; 2],
    /// Watermark when the current generation (index 0) began.
    seen_since: Option<i64>,
    pub(crate) watermark: Option<i64>,
    pub(crate) accepted: u64,
    pub(crate) duplicates: u64,
    pub(crate) rejected: [u64; 15],
    pub(crate) repeat_payments: u64,
    pub(crate) repeat_enters: u64,
    orphan_sessions: u64,
    /// Per-viewer watch times for exact quantiles, brought up to date when read.
    pub(crate) watch: LazyWatch,
    /// Live sessions by the minute of their [`Session::last`] (a session may sit in older
    /// buckets too; only the bucket in [`Session::queued`] counts).
    retire_q: std::collections::BTreeMap<i64, Vec<u32>>,
    /// Sessions retired but still holding a slot (dropped by [`Room::compact_sessions`]).
    retired_slots: usize,
    /// Sessions retired in total.
    pub(crate) sessions_retired: u64,
    /// Minutes `0..compacted` have their per-viewer maps dropped.
    pub(crate) compacted: usize,
}

/// Per-viewer watch times of the viewers who entered, in a rank index for exact quantiles.
/// Updates are queued (once per viewer) and applied at the end of each batch, when the queue
/// reaches [`WATCH_QUEUE_MAX`], or when the quantiles are read, whichever comes first: a
/// viewer's watch time changes with every heartbeat, and the queue applies it once per batch
/// instead of once per heartbeat. Applying at the batch end (not at the next snapshot) keeps
/// that work out of the snapshot's latency.
#[derive(Clone, Debug, Default)]
pub(crate) struct WatchIndex {
    index: RankIndex,
    /// Per viewer: watch time (ms, the sum of their sessions' clipped intervals), whether they
    /// entered and whether they are queued. Apart from [`Viewer`] (a heartbeat touches 16
    /// bytes, not a viewer record).
    watch: Vec<WatchSlot>,
    /// Value each viewer currently has in `index` ([`NOT_INDEXED`] = none).
    indexed: Vec<i64>,
    dirty: Vec<u32>,
}

#[derive(Clone, Copy, Debug, Default)]
struct WatchSlot {
    ms: i64,
    entered: bool,
    queued: bool,
}

/// Queued viewers applied at once when the queue reaches this length (a long batch applies
/// its updates in steps of this many viewers).
const WATCH_QUEUE_MAX: usize = 1024;

impl WatchIndex {
    fn slot(&mut self, vid: u32) -> &mut WatchSlot {
        let i = vid as usize;
        if self.watch.len() <= i {
            self.watch.resize(i + 1, WatchSlot::default());
        }
        &mut self.watch[i]
    }

    /// Queues viewer `vid` (its watch time or entered flag changed).
    fn mark(&mut self, vid: u32) {
        let w = self.slot(vid);
        if !w.queued {
            w.queued = true;
            self.dirty.push(vid);
            if self.dirty.len() >= WATCH_QUEUE_MAX {
                self.flush();
            }
        }
    }

    /// Viewer `vid` entered (their watch time counts in the quantiles from now on).
    fn enter(&mut self, vid: u32) {
        self.slot(vid).entered = true;
        self.mark(vid);
    }

    /// Adds `dw` ms to viewer `vid`'s watch time.
    fn add(&mut self, vid: u32, dw: i64) {
        self.slot(vid).ms += dw;
        self.mark(vid);
    }

    /// Applies the queued viewers to the rank index.
    fn flush(&mut self) {
        if self.indexed.len() < self.watch.len() {
            self.indexed.resize(self.watch.len(), NOT_INDEXED);
        }
        for k in 0..self.dirty.len() {
            let i = self.dirty[k] as usize;
            let w = &mut self.watch[i];
            w.queued = false;
            let now = if w.entered { w.ms } else { NOT_INDEXED };
            let old = self.indexed[i];
            if old != now {
                match (old != NOT_INDEXED, now != NOT_INDEXED) {
                    (true, true) => self.index.replace(old, now),
                    (true, false) => self.index.remove(old),
                    (false, true) => self.index.insert(now),
                    (false, false) => {}
                }
                self.indexed[i] = now;
            }
        }
        self.dirty.clear();
    }
}

/// [`WatchIndex`] behind a lock, so that [`Room::snapshot`] (`&self`) can apply the queued
/// updates; ingestion reaches it through `get_mut` (no locking).
#[derive(Debug, Default)]
pub(crate) struct LazyWatch(std::sync::Mutex<WatchIndex>);

impl LazyWatch {
    fn lock(&self) -> std::sync::MutexGuard<'_, WatchIndex> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn get_mut(&mut self) -> &mut WatchIndex {
        self.0.get_mut().unwrap_or_else(|e| e.into_inner())
    }
    fn heap_bytes(&self) -> usize {
        let w = self.lock();
        w.index.heap_bytes()
            + w.watch.capacity() * std::mem::size_of::<WatchSlot>()
            + w.indexed.capacity() * 8
            + w.dirty.capacity() * 4
    }
}

impl Clone for LazyWatch {
    fn clone(&self) -> Self {
        LazyWatch(std::sync::Mutex::new(self.lock().clone()))
    }
}

/// Key tables of [`Room::key`].
pub(crate) const KEY_VIEWER: usize = 0;
pub(crate) const KEY_SESSION: usize = 1;
pub(crate) const KEY_PRODUCT: usize = 2;
pub(crate) const KEY_ORDER: usize = 3;
pub(crate) const KEY_LABEL: usize = 4;

const NOT_INDEXED: i64 = i64::MIN;

impl Room {
    /// A new, empty room. Times and durations in `cfg` are clamped to [−2^53, 2^53] (durations
    /// to ≥ 0); [`Room::config`] returns the clamped values.
    pub fn new(cfg: RoomConfig) -> Room {
        // clamp to safe ranges so no time arithmetic can overflow
        let safe = super::event::MAX_SAFE;
        let mut cfg = cfg;
        cfg.stream_start_ms = cfg.stream_start_ms.clamp(-safe, safe);
        cfg.stream_end_ms = cfg
            .stream_end_ms
            .map(|e| e.clamp(cfg.stream_start_ms, safe));
        cfg.lateness_ms = cfg.lateness_ms.clamp(0, safe);
        cfg.session_timeout_ms = cfg.session_timeout_ms.clamp(0, safe);
        cfg.time_slack_ms = cfg.time_slack_ms.clamp(0, safe);
        cfg.max_duration_ms = cfg.max_duration_ms.clamp(0, safe);
        cfg.opening_ms = cfg.opening_ms.clamp(0, safe);
        cfg.closing_ms = cfg.closing_ms.clamp(0, safe);
        cfg.caps.minutes = cfg.caps.minutes.min(MAX_MINUTES);
        let end = cfg.stream_end_ms;
        Room {
            cfg,
            end,
            viewer_ids: Interner::default(),
            session_ids: Interner::default(),
            product_ids: Interner::default(),
            order_ids: Interner::default(),
            labels: Interner::default(),
            viewers: Vec::new(),
            agg: Agg::default(),
            sessions: Vec::new(),
            products: Vec::new(),
            pv: FxMap::default(),
            orders: FxMap::default(),
            minutes: Vec::new(),
            dirty_minutes: Vec::new(),
            t: Totals::default(),
            votes_by_option: FxMap::default(),
            cohosts: FxMap::default(),
            seen: Default::default(),
            seen_text: Default::default(),
            seen_since: None,
            watermark: None,
            accepted: 0,
            duplicates: 0,
            rejected: [0; 15],
            repeat_payments: 0,
            repeat_enters: 0,
            orphan_sessions: 0,
            watch: LazyWatch::default(),
            retire_q: Default::default(),
            retired_slots: 0,
            sessions_retired: 0,
            compacted: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RoomConfig {
        &self.cfg
    }

    /// Stream end (ms), if known.
    pub fn stream_end_ms(&self) -> Option<i64> {
        self.end
    }

    /// Declares the stream ended at `end_ms` (clamped to [start, 2^53]). Open sessions are capped at
    /// it; minute series stop at it. Events may still arrive afterwards (whole-stream totals count
    /// them). May be called again to move the end.
    pub fn end_stream(&mut self, end_ms: i64) {
        self.end = Some(end_ms.clamp(self.cfg.stream_start_ms, super::event::MAX_SAFE));
        for s in 0..self.sessions.len() {
            if !self.sessions[s].retired {
                self.refresh_session(s);
            }
        }
        self.finalize();
    }

    /// Approximate heap bytes of the room's state per structure (capacity × element size; hash
    /// maps count their buckets at entry size + 1 control byte), for soaks and diagnostics.
    pub fn memory_breakdown(&self) -> Vec<(&'static str, usize)> {
        use std::mem::size_of;
        fn map<K, V>(m: &FxMap<K, V>) -> usize {
            m.capacity() * (size_of::<(K, V)>() + 1)
        }
        let minutes_viewers: usize = self.minutes.iter().map(|m| map(&m.viewers)).sum();
        let minutes_secs: usize = self
            .minutes
            .iter()
            .map(|m| {
                m.secs.capacity() * size_of::<Sec>()
                    + m.secs
                        .iter()
                        .map(|s| s.deltas.capacity() * size_of::<(i64, i64)>())
                        .sum::<usize>()
                    + m.packed.len() * 4
            })
            .sum();
        let ids = |i: &Interner| i.heap_bytes();
        let q: usize = self.retire_q.values().map(|l| l.capacity() * 4 + 48).sum();
        vec![
            (
                "viewers",
                self.viewers.capacity() * size_of::<Viewer>() + ids(&self.viewer_ids),
            ),
            (
                "sessions",
                self.sessions.capacity() * size_of::<Session>() + ids(&self.session_ids) + q,
            ),
            ("orders", map(&self.orders) + ids(&self.order_ids)),
            ("product_viewers", map(&self.pv)),
            ("minute_viewers", minutes_viewers),
            ("minute_concurrency", minutes_secs),
            ("minutes", self.minutes.capacity() * size_of::<Minute>()),
            (
                "dedup_ids",
                self.seen.iter().map(map).sum::<usize>()
                    + self.seen_text.iter().map(map).sum::<usize>(),
            ),
            ("watch_index", self.watch.heap_bytes()),
        ]
    }

    /// Sessions retired so far (see [`RoomConfig::lateness_ms`]).
    pub fn sessions_retired(&self) -> u64 {
        self.sessions_retired
    }

    /// Cumulative ingestion statistics.
    pub fn stats(&self) -> IngestStats {
        IngestStats {
            accepted: self.accepted,
            duplicates: self.duplicates,
            rejected: self.rejected.iter().sum(),
            rejected_by_reason: ErrorReason::ALL
                .iter()
                .filter(|r| self.rejected[r.index()] > 0)
                .map(|r| ReasonCount {
                    reason: r.name(),
                    code: r.code(),
                    count: self.rejected[r.index()],
                })
                .collect(),
            repeat_payments: self.repeat_payments,
            repeat_enters: self.repeat_enters,
            // kept as a counter: a scan of every session made snapshots O(sessions)
            sessions_without_enter: self.orphan_sessions,
            watermark_ms: self.watermark,
        }
    }

    // ----- ingestion entry points -----

    /// Ingests one decoded event.
    pub fn ingest_event(&mut self, e: &Event) -> Result<Outcome, IngestError> {
        let r = self.ingest_event_inner(e, None);
        self.finalize();
        r
    }

    /// Ingests a batch of decoded events; bad events are reported, the rest kept.
    pub fn ingest_events(&mut self, events: &[Event]) -> IngestReport {
        let mut rep = IngestReport::default();
        for (i, e) in events.iter().enumerate() {
            let r = self.ingest_event_inner(e, Some(line_no(i)));
            self.tally(r, &mut rep);
        }
        self.finalize();
        rep
    }

    /// Ingests one JSON object (the shape of [`super::event`]).
    pub fn ingest_json(&mut self, v: &Value) -> Result<Outcome, IngestError> {
        let r = match Event::from_json(v) {
            Ok(e) => self.ingest_event_inner(&e, None),
            Err(e) => Err(self.count_err(e)),
        };
        self.finalize();
        r
    }

    /// Ingests an array of JSON objects (e.g. from serde-wasm-bindgen); bad elements reported
    /// with their 1-based position as `line`.
    pub fn ingest_json_values(&mut self, values: &[Value]) -> IngestReport {
        let mut rep = IngestReport::default();
        for (i, v) in values.iter().enumerate() {
            let line = Some(line_no(i));
            let r = match Event::from_json(v) {
                Ok(e) => self.ingest_event_inner(&e, line),
                Err(mut e) => {
                    e.line = line;
                    Err(self.count_err(e))
                }
            };
            self.tally(r, &mut rep);
        }
        self.finalize();
        rep
    }

    /// Ingests a batch decoded by a binding: each element is the JSON value of an event, or the
    /// error its decoding found (e.g. [`Event::first_error`]); errors are reported with their
    /// 1-based position as `line` and counted like the core's own, the valid rest is kept.
    pub fn ingest_decoded(&mut self, items: &[Result<Value, IngestError>]) -> IngestReport {
        let mut rep = IngestReport::default();
        for (i, v) in items.iter().enumerate() {
            let line = Some(line_no(i));
            let r = match v.as_ref().map_err(|e| *e).and_then(Event::from_json) {
                Ok(e) => self.ingest_event_inner(&e, line),
                Err(mut e) => {
                    e.line = line;
                    Err(self.count_err(e))
                }
            };
            self.tally(r, &mut rep);
        }
        self.finalize();
        rep
    }

    /// Ingests NDJSON text: one JSON object per line; blank lines skipped; each bad line is
    /// reported with its 1-based line number and field, the rest kept.
    pub fn ingest_ndjson(&mut self, text: &str) -> IngestReport {
        let mut rep = IngestReport::default();
        for (i, line) in text.split('\n').enumerate() {
            let r = self.ingest_line(line, line_no(i));
            if let Some(r) = r {
                self.tally(r, &mut rep);
            }
        }
        self.finalize();
        rep
    }

    /// Ingests NDJSON bytes; a line that is not valid UTF-8 is rejected (`bad_utf8`).
    pub fn ingest_ndjson_bytes(&mut self, bytes: &[u8]) -> IngestReport {
        let mut rep = IngestReport::default();
        for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
            let ln = line_no(i);
            let r = match std::str::from_utf8(line) {
                Ok(s) => self.ingest_line(s, ln),
                Err(_) => {
                    let e = IngestError {
                        field: "",
                        reason: ErrorReason::BadUtf8,
                        line: Some(ln),
                    };
                    Some(Err(self.count_err(e)))
                }
            };
            if let Some(r) = r {
                self.tally(r, &mut rep);
            }
        }
        self.finalize();
        rep
    }

    fn ingest_line(&mut self, line: &str, ln: u32) -> Option<Result<Outcome, IngestError>> {
        // a byte-order mark before the first line (files saved by some Windows tools) is not
        // part of the event; `str::trim` keeps U+FEFF
        let line = if ln == 1 {
            line.strip_prefix('\u{feff}').unwrap_or(line)
        } else {
            line
        };
        let line = line.trim();
        if line.is_empty() {
            return None;
        }
        let mark = self.keys_mark();
        if let Some(r) = super::wire::fast_raw(self, line) {
            let r = r.and_then(|raw| self.accept(raw));
            if !matches!(r, Ok(Outcome::Accepted)) {
                self.keys_rollback(mark);
            }
            let r = r.map_err(|mut e| {
                e.line = Some(ln);
                self.count_err(e)
            });
            return Some(r);
        }
        let v: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(_) => {
                let e = IngestError {
                    field: "",
                    reason: ErrorReason::InvalidJson,
                    line: Some(ln),
                };
                return Some(Err(self.count_err(e)));
            }
        };
        Some(match Event::from_json(&v) {
            Ok(e) => self.ingest_event_inner(&e, Some(ln)),
            Err(mut e) => {
                e.line = Some(ln);
                Err(self.count_err(e))
            }
        })
    }

    pub(crate) fn tally(&mut self, r: Result<Outcome, IngestError>, rep: &mut IngestReport) {
        match r {
            Ok(Outcome::Accepted) => rep.accepted += 1,
            Ok(Outcome::Duplicate) => rep.duplicates += 1,
            Err(e) => rep.push_error(e),
        }
    }

    pub(crate) fn count_err(&mut self, e: IngestError) -> IngestError {
        self.rejected[e.reason.index()] += 1;
        e
    }

    fn ingest_event_inner(&mut self, e: &Event, line: Option<u32>) -> Result<Outcome, IngestError> {
        let mark = self.keys_mark();
        let r = self.raw_from_event(e).and_then(|raw| self.accept(raw));
        if !matches!(r, Ok(Outcome::Accepted)) {
            self.keys_rollback(mark);
        }
        r.map_err(|mut err| {
            err.line = line;
            self.count_err(err)
        })
    }

    fn raw_from_event(&mut self, e: &Event) -> Result<Raw, IngestError> {
        let checks: [(&'static str, Option<i64>, bool); 5] = [
            ("amount", e.amount, true),
            ("units", e.units, false),
            ("count", e.count, false),
            ("ts", Some(e.ts), false),
            ("follower_since_ms", e.follower_since_ms, false),
        ];
        for (f, v, money) in checks {
            if let Some(v) = v {
                let max = if money {
                    super::event::MAX_AMOUNT_FEN
                } else if f == "ts" || f == "follower_since_ms" {
                    super::event::MAX_SAFE
                } else {
                    super::event::MAX_COUNT
                };
                if f != "ts" && f != "follower_since_ms" && v < 0 {
                    return Err(IngestError::new(f, ErrorReason::Negative));
                }
                if v.unsigned_abs() > max as u64 {
                    return Err(IngestError::new(f, ErrorReason::OutOfRange));
                }
            }
        }
        let mut r = Raw::new(IdKey::from_str(&e.id), e.ts, e.kind);
        let fields: [(usize, &Option<String>, &'static str); 9] = [
            (KEY_VIEWER, &e.viewer, "viewer"),
            (KEY_SESSION, &e.session, "session"),
            (KEY_PRODUCT, &e.product, "product"),
            (KEY_ORDER, &e.order, "order"),
            (KEY_LABEL, &e.option, "option"),
            (KEY_LABEL, &e.cohost, "cohost"),
            (KEY_LABEL, &e.region, "region"),
            (KEY_LABEL, &e.tier, "tier"),
            (KEY_LABEL, &e.source, "source"),
        ];
        let mut ids = [NONE; 9];
        for (k, (t, v, f)) in fields.into_iter().enumerate() {
            if let Some(v) = v.as_deref() {
                ids[k] = self.key(t, v, f)?;
            }
        }
        [
            r.viewer, r.session, r.product, r.order, r.option, r.cohost, r.region, r.tier, r.source,
        ] = ids;
        r.amount = e.amount;
        r.units = e.units;
        r.count = e.count;
        r.follower_since = e.follower_since_ms;
        r.seen_before = e.seen_before;
        r.text_hash = e.text.as_deref().map(|t| self.text_hash(t)).transpose()?;
        r.check_required()?;
        Ok(r)
    }

    /// Interned id of key `s` in table `t` ([`KEY_VIEWER`] … [`KEY_LABEL`]) under the room's
    /// caps; a new key beyond its cap, or longer than `caps.string_bytes`, is `cap_exceeded` on
    /// field `f`.
    #[inline]
    pub(crate) fn key(&mut self, t: usize, s: &str, f: &'static str) -> Result<u32, IngestError> {
        let c = &self.cfg.caps;
        let (table, cap) = match t {
            KEY_VIEWER => (&mut self.viewer_ids, c.viewers),
            KEY_SESSION => (&mut self.session_ids, c.sessions),
            KEY_PRODUCT => (&mut self.product_ids, c.products),
            KEY_ORDER => (&mut self.order_ids, c.orders),
            _ => (&mut self.labels, c.labels),
        };
        table
            .intern_capped(s, cap, c.string_bytes)
            .ok_or(IngestError::new(f, ErrorReason::CapExceeded))
    }

    /// Sizes of the key tables ([`Room::key`]) before an event, for [`Room::keys_rollback`].
    #[inline]
    pub(crate) fn keys_mark(&self) -> [u32; 5] {
        [
            &self.viewer_ids,
            &self.session_ids,
            &self.product_ids,
            &self.order_ids,
            &self.labels,
        ]
        .map(|t| t.len() as u32)
    }

    /// Forgets the keys interned since `mark`: an event that was not accepted (rejected or a
    /// duplicate) leaves no key behind and uses up no distinct-key cap.
    #[inline]
    pub(crate) fn keys_rollback(&mut self, mark: [u32; 5]) {
        let tables = [
            &mut self.viewer_ids,
            &mut self.session_ids,
            &mut self.product_ids,
            &mut self.order_ids,
            &mut self.labels,
        ];
        for (t, n) in tables.into_iter().zip(mark) {
            t.truncate(n as usize);
        }
    }

    /// Hash of a comment text, `cap_exceeded` on `text` beyond `caps.text_bytes`.
    #[inline]
    pub(crate) fn text_hash(&self, t: &str) -> Result<u64, IngestError> {
        if t.len() > self.cfg.caps.text_bytes {
            return Err(IngestError::new("text", ErrorReason::CapExceeded));
        }
        Ok(str_hash(t))
    }

    /// Time checks, lateness, de-duplication, then apply.
    pub(crate) fn accept(&mut self, r: Raw) -> Result<Outcome, IngestError> {
        self.accept_as(r, None)
    }

    /// [`Room::accept`] with the text of the event's session id when the caller has it at hand
    /// (the columnar batch's string, in cache, instead of the session table's copy).
    pub(crate) fn accept_as(
        &mut self,
        r: Raw,
        session: Option<&str>,
    ) -> Result<Outcome, IngestError> {
        let start = self.cfg.stream_start_ms;
        let lo = start.saturating_sub(self.cfg.time_slack_ms);
        let hi = self
            .end
            .unwrap_or(start.saturating_add(self.cfg.max_duration_ms))
            .saturating_add(self.cfg.time_slack_ms);
        if r.ts < lo || r.ts > hi {
            return Err(IngestError::new("ts", ErrorReason::OutOfRange));
        }
        if let Some(w) = self.watermark {
            if r.ts < w.saturating_sub(self.cfg.lateness_ms) {
                return Err(IngestError::new("ts", ErrorReason::TooLate));
            }
        }
        let h = r.content_hash(match session {
            Some(s) => Some(s),
            None => (r.session != NONE).then(|| self.session_ids.name(r.session)),
        });
        if let IdKey::Text(t) = &r.key {
            if t.len() > self.cfg.caps.string_bytes {
                return Err(IngestError::new("id", ErrorReason::CapExceeded));
            }
        }
        let prior = match &r.key {
            IdKey::Num(n) => self.seen[0].get(n).or_else(|| self.seen[1].get(n)),
            IdKey::Text(t) => self.seen_text[0]
                .get(t)
                .or_else(|| self.seen_text[1].get(t)),
        };
        // an id whose first copy is below watermark − lateness counts as forgotten, whether or
        // not a rotation has dropped it yet, so the outcome does not depend on the batch split
        let cutoff = self
            .watermark
            .map_or(i64::MIN, |w| w.saturating_sub(self.cfg.lateness_ms));
        if let Some(&(old, _)) = prior.filter(|&&(_, ts)| ts >= cutoff) {
            return if old == h {
                self.duplicates += 1;
                Ok(Outcome::Duplicate)
            } else {
                Err(IngestError::new("id", ErrorReason::IdConflict))
            };
        }
        // a new id: this event will be accepted, so the watermark it sets applies already
        let w = self.watermark.map_or(r.ts, |w| w.max(r.ts));
        self.rotate_seen(w);
        if self.seen_len() >= self.cfg.caps.seen_ids {
            return Err(IngestError::new("id", ErrorReason::CapExceeded));
        }
        match r.key {
            IdKey::Num(n) => {
                self.seen[0].insert(n, (h, r.ts));
            }
            IdKey::Text(ref t) => {
                self.seen_text[0].insert(t.clone(), (h, r.ts));
            }
        }
        // the session is retired now if the end of a batch just before this event would have
        // retired it (retirement runs when a batch ends), so results do not depend on the split
        if r.session != NONE {
            if let Some(w) = self.watermark {
                let cutoff = self.retirement_cutoff(w);
                let si = r.session as usize;
                if self
                    .sessions
                    .get(si)
                    .is_some_and(|s| self.is_final(s, cutoff))
                {
                    self.mark_retired(si);
                }
            }
        }
        self.watermark = Some(w);
        self.accepted += 1;
        self.apply(&r, h);
        Ok(Outcome::Accepted)
    }

    fn seen_len(&self) -> usize {
        self.seen[0].len() + self.seen[1].len() + self.seen_text[0].len() + self.seen_text[1].len()
    }

    /// Forgets ids that left the lateness window, a generation at a time: every id of the older
    /// generation has `ts` ≤ the watermark at which the current one began (`seen_since`), so once
    /// the watermark `w` is more than the window past it, all of them are below the cutoff and
    /// can never be looked up again (such events are `too_late`); the current generation then
    /// becomes the older one. When `w` is more than the window past the current watermark, both
    /// go. Ids are thus kept at least for the window and at most for two; no per-id eviction.
    fn rotate_seen(&mut self, w: i64) {
        let lateness = self.cfg.lateness_ms;
        let Some(since) = self.seen_since else {
            self.seen_since = Some(w);
            return;
        };
        if self
            .watermark
            .is_some_and(|cur| w.saturating_sub(cur) > lateness)
        {
            for g in 0..2 {
                self.seen[g].clear();
                self.seen_text[g].clear();
            }
            self.seen_since = Some(w);
        } else if w.saturating_sub(since) > lateness {
            self.seen.swap(0, 1);
            self.seen_text.swap(0, 1);
            self.seen[0].clear();
            self.seen_text[0].clear();
            self.seen_since = Some(w);
        }
    }

    /// Recomputes dirty minute maxima and forgets ids that left the lateness window.
    pub(crate) fn finalize(&mut self) {
        let start = self.cfg.stream_start_ms;
        let dirty = std::mem::take(&mut self.dirty_minutes);
        for m in dirty {
            if let Some(mi) = self.minutes.get_mut(m) {
                if !mi.dirty {
                    continue;
                }
                mi.dirty = false;
                let t0 = start + m as i64 * MINUTE_MS;
                let (mut base, mut best, mut at) = (0i64, i64::MIN, t0);
                for (k, sec) in mi.secs.iter_mut().enumerate() {
                    let ss = t0 + k as i64 * 1000;
                    if sec.dirty {
                        sec.recompute(ss);
                    }
                    let (cand, cat) = if sec.deltas.is_empty() {
                        (base, ss)
                    } else {
                        (base.wrapping_add(sec.max), sec.max_at)
                    };
                    if cand > best {
                        best = cand;
                        at = cat;
                    }
                    base = base.wrapping_add(sec.sum);
                }
                if best == i64::MIN {
                    best = 0;
                }
                mi.d_max = best;
                mi.d_max_at = at;
                mi.d_at_start = match mi.secs.first().and_then(|s| s.deltas.first()) {
                    Some(&(t, d)) if t == t0 => d,
                    _ => 0,
                };
            }
        }
        if let Some(w) = self.watermark {
            self.rotate_seen(w);
            self.retire(w);
        }
        // applied per batch rather than at the next snapshot: a batch touches a few hundred
        // viewers, so little coalescing is lost, and a snapshot then has nothing to apply
        self.watch.get_mut().flush();
    }

    /// Retires what no accepted event can change any more (policy in [`RoomConfig::lateness_ms`]).
    /// Every later event has `ts` ≥ `w` − lateness; a live session's interval can only move at
    /// or after its [`Session::last`] (+ the timeout when it has no leave), so with
    /// `cutoff` = `w` − lateness − timeout a session whose last time is below `cutoff` is final,
    /// and so is every minute ending at or before `cutoff` − 1 min (its first-ms events fold
    /// into the previous row, hence the extra minute).
    fn retire(&mut self, w: i64) {
        if self.end.is_none() {
            // a later `end_stream` may clip any session: nothing is final yet
            return;
        }
        let cutoff = self.retirement_cutoff(w);
        while let Some((&bm, _)) = self.retire_q.first_key_value() {
            if bm.saturating_add(1).saturating_mul(MINUTE_MS) > cutoff {
                break;
            }
            let Some((_, list)) = self.retire_q.pop_first() else {
                break;
            };
            for si in list {
                let Some(s) = self.sessions.get(si as usize) else {
                    continue;
                };
                if s.retired || s.queued != Some(bm) {
                    continue;
                }
                if self.is_final(s, cutoff) {
                    self.mark_retired(si as usize);
                } else {
                    // clipped by the known end: stays live (moving the end may extend it)
                    self.sessions[si as usize].queued = None;
                }
            }
        }
        let live = self.sessions.len() - self.retired_slots;
        if self.retired_slots >= 1024 && self.retired_slots >= live {
            self.compact_sessions();
        }
        let start = self.cfg.stream_start_ms;
        let n = self.minutes.len().min(self.cfg.caps.minutes);
        while self.compacted < n
            && start.saturating_add((self.compacted as i64 + 2) * MINUTE_MS) <= cutoff
        {
            let m = self.compacted;
            let (cur, next) = self.minutes.split_at_mut(m + 1);
            let mi = &mut cur[m];
            if let Some(nx) = next.first() {
                for (v, nv) in &nx.viewers {
                    let c = mi.viewers.get(v);
                    if nv.inter & 2 != 0 && c.is_none_or(|x| x.inter == 0) {
                        mi.fold[0] += 1;
                    }
                    if nv.pay[1] > 0 && c.is_none_or(|x| x.pay[0] + x.pay[1] <= 0) {
                        mi.fold[1] += 1;
                    }
                }
            }
            mi.viewers = FxMap::default();
            let t0 = start + m as i64 * MINUTE_MS;
            let fits = mi
                .secs
                .iter()
                .flat_map(|s| &s.deltas)
                .all(|&(_, d)| i16::try_from(d).is_ok());
            if !fits {
                // a net change beyond ±32,767 at one ms: keep this minute's changes as they are
                mi.compact = true;
                self.compacted += 1;
                continue;
            }
            mi.packed = mi
                .secs
                .iter()
                .flat_map(|s| &s.deltas)
                .map(|&(t, d)| (((t - t0) as u32) << 16) | (d as i16 as u16 as u32))
                .collect();
            mi.packed_deltas = true;
            for (k, sec) in mi.secs.iter_mut().enumerate() {
                let se = t0 + k as i64 * 1000 + 1000;
                sec.integ = sec
                    .deltas
                    .iter()
                    .fold(0i64, |a, &(t, d)| a.wrapping_add(d.wrapping_mul(se - t)));
                sec.had = !sec.deltas.is_empty();
                sec.deltas = Vec::new();
            }
            mi.compact = true;
            self.compacted += 1;
        }
    }

    /// Drops retired sessions' slots and ids: the session table and id interner are rebuilt
    /// with the live sessions only (ids renumbered; nothing else refers to session ids between
    /// batches).
    fn compact_sessions(&mut self) {
        let mut map = vec![NONE; self.sessions.len()];
        let mut ids = Interner::default();
        let mut kept = Vec::with_capacity(self.sessions.len() - self.retired_slots);
        for (i, s) in std::mem::take(&mut self.sessions).into_iter().enumerate() {
            if s.retired {
                continue;
            }
            if let Some(k) =
                ids.intern_capped(self.session_ids.name(i as u32), usize::MAX, usize::MAX)
            {
                map[i] = k;
                kept.push(s);
            }
        }
        self.session_ids = ids;
        self.sessions = kept;
        self.retired_slots = 0;
        for list in self.retire_q.values_mut() {
            list.retain_mut(|si| {
                *si = map.get(*si as usize).copied().unwrap_or(NONE);
                *si != NONE
            });
        }
    }

    /// Retirement cutoff at watermark `w`: `w` − lateness − session timeout (see [`Self::retire`]).
    fn retirement_cutoff(&self, w: i64) -> i64 {
        w.saturating_sub(self.cfg.lateness_ms)
            .saturating_sub(self.cfg.session_timeout_ms)
    }

    /// Whether live session `s` is final at `cutoff`: the end is known, the minute of its last
    /// time ends at or before the cutoff, and a known end does not clip it (a clipped session
    /// stays live: moving the end may extend it).
    fn is_final(&self, s: &Session, cutoff: i64) -> bool {
        let (Some(end), Some(last)) = (self.end, s.last()) else {
            return false;
        };
        if s.retired
            || last
                .div_euclid(MINUTE_MS)
                .saturating_add(1)
                .saturating_mul(MINUTE_MS)
                > cutoff
        {
            return false;
        }
        let raw_end = match s.leave {
            Some(l) => l,
            None => last.saturating_add(self.cfg.session_timeout_ms),
        };
        raw_end <= end
    }

    /// Retires session `si`: its interval stays applied, a later event of its id opens a new one.
    fn mark_retired(&mut self, si: usize) {
        let s = &mut self.sessions[si];
        s.queued = None;
        s.retired = true;
        self.retired_slots += 1;
        self.sessions_retired += 1;
    }

    /// Queues a session for retirement under the minute of its last time.
    fn queue_session(&mut self, si: usize) {
        let Some(s) = self.sessions.get_mut(si) else {
            return;
        };
        let Some(t) = s.last() else {
            return;
        };
        let b = t.div_euclid(MINUTE_MS);
        if s.queued.is_none_or(|q| q < b) {
            s.queued = Some(b);
            self.retire_q.entry(b).or_default().push(si as u32);
        }
    }

    // ----- state updates -----

    fn viewer_mut(&mut self, vid: u32, f: impl FnOnce(&mut Viewer)) {
        if vid == NONE {
            return;
        }
        let i = vid as usize;
        if self.viewers.len() <= i {
            self.viewers.resize_with(i + 1, Viewer::default);
        }
        let v = &mut self.viewers[i];
        let old = v.clone();
        let was_in = v.flags & flag::ENTERED != 0;
        f(v);
        let is_in = v.flags & flag::ENTERED != 0;
        // the contribution (with its sorted path) only when a field it reads changed
        if !v.same_contrib_inputs(&old) {
            let (before, after) = (old.contrib(), v.contrib());
            if before != after {
                self.agg.change(&before, &after);
            }
        }
        if was_in != is_in {
            self.watch.get_mut().enter(vid);
        }
    }

    /// Nearest-rank watch-time quantiles (k-th smallest of the entered viewers' watch times for
    /// each `rank(n)`, n = viewers who entered), after bringing the index up to date.
    pub(crate) fn watch_quantiles<const K: usize>(
        &self,
        rank: [fn(u64) -> u64; K],
    ) -> [Option<i64>; K] {
        let mut w = self.watch.lock();
        w.flush();
        let n = w.index.len();
        rank.map(|r| w.index.kth(r(n)))
    }

    /// Raw minute and slot (0 body, 1 first ms) of an event inside the stream.
    pub(crate) fn slot(&self, ts: i64) -> Option<(usize, usize)> {
        let start = self.cfg.stream_start_ms;
        if ts < start {
            return None;
        }
        if let Some(e) = self.end {
            if ts > e {
                return None;
            }
        }
        let d = ts - start;
        let m = (d / MINUTE_MS) as usize;
        if m >= self.cfg.caps.minutes {
            return None;
        }
        Some((m, usize::from(d % MINUTE_MS == 0)))
    }

    fn minute_mut(&mut self, m: usize) -> &mut Minute {
        if self.minutes.len() <= m {
            self.minutes.resize_with(m + 1, Minute::default);
        }
        &mut self.minutes[m]
    }

    fn minute_counts(&mut self, ts: i64, f: impl FnOnce(&mut Counts)) {
        if let Some((m, s)) = self.slot(ts) {
            f(&mut self.minute_mut(m).c[s]);
        }
    }

    fn product_mut(&mut self, p: u32) -> &mut Product {
        let i = p as usize;
        if self.products.len() <= i {
            self.products.resize_with(i + 1, Product::default);
        }
        &mut self.products[i]
    }

    /// Sets a (product, viewer) people bit; returns true when newly set.
    fn pv_flag(&mut self, p: u32, v: u32, bit: u8) -> bool {
        let e = self.pv.entry((p, v)).or_default();
        let new = e.flags & bit == 0;
        e.flags |= bit;
        new
    }

    fn apply(&mut self, r: &Raw, h: u64) {
        use EventType::*;
        let ts = r.ts;
        let v = r.viewer;
        match r.ty {
            Enter => {
                self.t.entries += 1;
                self.minute_counts(ts, |c| c.entries += 1);
                let s = self.session_mut(r.session);
                let first = s.enter.is_none();
                let was_orphan = first && (s.leave.is_some() || s.last_hb.is_some());
                if first {
                    s.viewer = v;
                }
                if was_orphan {
                    self.orphan_sessions = self.orphan_sessions.saturating_sub(1);
                }
                let s = self.session_mut(r.session);
                s.enter = Some(s.enter.map_or(ts, |e| e.min(ts)));
                if first {
                    self.t.sessions += 1;
                } else {
                    self.repeat_enters += 1;
                }
                let key = (ts, h);
                let ret = r.seen_before == Some(true)
                    || r.follower_since
                        .is_some_and(|f| ts.saturating_sub(f) >= DAY_MS);
                let (reg, tier, src) = (r.region, r.tier, r.source);
                self.viewer_mut(v, |vw| {
                    vw.flags |= flag::ENTERED;
                    vw.first[0] = vw.first[0].min(ts);
                    if vw.first_enter.is_none_or(|k| key < k) {
                        vw.first_enter = Some(key);
                        vw.returning = ret;
                        vw.region = reg;
                        vw.tier = tier;
                        vw.source = src;
                    }
                });
                self.refresh_session(r.session as usize);
            }
            Leave => {
                let s = self.session_mut(r.session);
                if s.enter.is_none() && s.leave.is_none() && s.last_hb.is_none() {
                    s.viewer = v;
                    self.orphan_sessions += 1;
                }
                let s = self.session_mut(r.session);
                s.leave = Some(s.leave.map_or(ts, |l| l.max(ts)));
                self.refresh_session(r.session as usize);
            }
            Heartbeat => {
                let s = self.session_mut(r.session);
                if s.enter.is_none() && s.leave.is_none() && s.last_hb.is_none() {
                    s.viewer = v;
                    self.orphan_sessions += 1;
                }
                let s = self.session_mut(r.session);
                s.last_hb = Some(s.last_hb.map_or(ts, |l| l.max(ts)));
                self.refresh_session(r.session as usize);
            }
            RoomExposure => {
                self.t.room_exposures += 1;
                self.viewer_mut(v, |vw| vw.flags |= flag::EXPOSED);
            }
            Comment | Like | Share => {
                let bit = match r.ty {
                    Comment => {
                        self.t.comments += 1;
                        flag::COMMENTED
                    }
                    Like => {
                        self.t.like_events += 1;
                        self.t.likes += r.count.unwrap_or(1);
                        flag::LIKED
                    }
                    _ => {
                        self.t.shares += 1;
                        flag::SHARED
                    }
                };
                self.viewer_mut(v, |vw| vw.flags |= flag::INTERACTED | bit);
                if let Some((m, s)) = self.slot(ts) {
                    let mi = self.minute_mut(m);
                    mi.c[s].interactions += 1;
                    let e = mi.viewers.entry(v).or_default();
                    if e.inter == 0 {
                        mi.inter_people += 1;
                    }
                    e.inter |= 1 << s;
                }
            }
            Follow => {
                self.t.follows += 1;
                self.viewer_mut(v, |vw| vw.flags |= flag::FOLLOWED);
            }
            FanClubJoin => {
                self.t.fan_joins += 1;
                self.viewer_mut(v, |vw| vw.flags |= flag::FANCLUB);
            }
            Gift => {
                self.t.gifts += 1;
                acc(&mut self.t.gift_fen, r.amount.unwrap_or(0));
                self.viewer_mut(v, |vw| vw.flags |= flag::GIFTED);
            }
            ProductImpression => {
                self.t.impressions += 1;
                self.minute_counts(ts, |c| c.impressions += 1);
                self.product_mut(r.product).impressions += 1;
                if self.pv_flag(r.product, v, 1) {
                    self.product_mut(r.product).imp_people += 1;
                }
                self.viewer_mut(v, |vw| {
                    vw.flags |= flag::PIMPRESSED;
                    vw.first[1] = vw.first[1].min(ts);
                });
            }
            ProductClick => {
                self.t.clicks += 1;
                self.minute_counts(ts, |c| c.clicks += 1);
                self.product_mut(r.product).clicks += 1;
                if self.pv_flag(r.product, v, 2) {
                    self.product_mut(r.product).click_people += 1;
                }
                self.viewer_mut(v, |vw| {
                    vw.flags |= flag::CLICKED;
                    vw.first[2] = vw.first[2].min(ts);
                });
            }
            AddToCart => {
                self.t.carts += 1;
                self.product_mut(r.product).carts += 1;
                if self.pv_flag(r.product, v, 4) {
                    self.product_mut(r.product).cart_people += 1;
                }
                self.viewer_mut(v, |vw| vw.flags |= flag::CARTED);
            }
            OrderCreated => {
                self.t.orders_created += 1;
                self.viewer_mut(v, |vw| vw.flags |= flag::ORDERED);
            }
            OrderPaid => {
                let p = Payment {
                    ts,
                    hash: h,
                    viewer: v,
                    product: r.product,
                    amount: r.amount.unwrap_or(0),
                    units: r.units.unwrap_or(1),
                };
                self.viewer_mut(v, |vw| vw.first[3] = vw.first[3].min(ts));
                let o = self.orders.entry(r.order).or_default();
                match o.paid {
                    None => {
                        o.paid = Some(p);
                        self.payment(r.order, p, 1);
                    }
                    Some(old) => {
                        self.repeat_payments += 1;
                        if (p.ts, p.hash) < (old.ts, old.hash) {
                            self.payment(r.order, old, -1);
                            if let Some(o) = self.orders.get_mut(&r.order) {
                                o.paid = Some(p);
                            }
                            self.payment(r.order, p, 1);
                        }
                    }
                }
            }
            Refund => {
                let amt = r.amount.unwrap_or(0);
                acc(&mut self.t.refund_all_fen, amt);
                self.t.refund_all += 1;
                let o = self.orders.entry(r.order).or_default();
                acc(&mut o.refund_fen, amt);
                o.refunds += 1;
                let first_refund = o.refunds == 1;
                if let Some(p) = o.paid {
                    acc(&mut self.t.refund_known_fen, amt);
                    self.t.refund_known += 1;
                    if first_refund {
                        self.t.refunded_orders += 1;
                    }
                    let pr = self.product_mut(p.product);
                    acc(&mut pr.refund_fen, amt);
                    pr.refunds += 1;
                }
            }
            CohostStart => {
                self.t.cohost_starts += 1;
                let e = self.cohosts.entry(r.cohost).or_default();
                e.0 = Some(e.0.map_or(ts, |x| x.min(ts)));
            }
            CohostEnd => {
                self.t.cohost_ends += 1;
                let e = self.cohosts.entry(r.cohost).or_default();
                e.1 = Some(e.1.map_or(ts, |x| x.max(ts)));
            }
            RedPacketClaim => {
                self.t.red_packets += 1;
                acc(&mut self.t.red_packet_fen, r.amount.unwrap_or(0));
                self.viewer_mut(v, |vw| vw.flags |= flag::REDPACKET);
            }
            Vote => {
                self.t.votes += 1;
                *self.votes_by_option.entry(r.option).or_default() += 1;
                self.viewer_mut(v, |vw| vw.flags |= flag::VOTED);
            }
        }
    }

    /// Adds (s = 1) or removes (s = −1) the contribution of a counted payment.
    fn payment(&mut self, order: u32, p: Payment, s: i64) {
        self.t.orders += s;
        acc(&mut self.t.gmv, s.wrapping_mul(p.amount));
        acc(&mut self.t.units, s.wrapping_mul(p.units));
        let (rf, rn) = self
            .orders
            .get(&order)
            .map_or((0, 0), |o| (o.refund_fen, o.refunds));
        acc(&mut self.t.refund_known_fen, s.wrapping_mul(rf));
        acc(&mut self.t.refund_known, s.wrapping_mul(rn));
        if rn > 0 {
            self.t.refunded_orders += s;
        }
        let pr = self.product_mut(p.product);
        pr.orders += s;
        acc(&mut pr.units, s.wrapping_mul(p.units));
        acc(&mut pr.gmv, s.wrapping_mul(p.amount));
        acc(&mut pr.refund_fen, s.wrapping_mul(rf));
        acc(&mut pr.refunds, s.wrapping_mul(rn));
        let e = self.pv.entry((p.product, p.viewer)).or_default();
        let was = e.pays > 0;
        e.pays += s;
        let is = e.pays > 0;
        if was != is {
            self.product_mut(p.product).buyers += if is { 1 } else { -1 };
        }
        self.viewer_mut(p.viewer, |vw| {
            vw.paid_orders += s;
            acc(&mut vw.gmv, s.wrapping_mul(p.amount));
        });
        if let Some((m, sl)) = self.slot(p.ts) {
            let mi = self.minute_mut(m);
            mi.c[sl].orders += s;
            acc(&mut mi.c[sl].gmv, s.wrapping_mul(p.amount));
            let e = mi.viewers.entry(p.viewer).or_default();
            let was = e.pay[0] + e.pay[1] > 0;
            e.pay[sl] += s;
            let is = e.pay[0] + e.pay[1] > 0;
            if was != is {
                mi.pay_people += if is { 1 } else { -1 };
            }
        }
    }

    fn session_mut(&mut self, s: u32) -> &mut Session {
        let i = s as usize;
        if self.sessions.len() <= i {
            self.sessions.resize_with(i + 1, Session::default);
        }
        if self.sessions[i].retired {
            // an event of a retired session's id opens a new session; the old interval stays
            self.sessions[i] = Session::default();
            self.retired_slots -= 1;
        }
        &mut self.sessions[i]
    }

    /// The session's interval clipped to the stream (edge rule 2), or None when empty.
    fn session_interval(&self, s: &Session) -> Option<(i64, i64)> {
        let enter = s.enter?;
        let raw_end = match s.leave {
            Some(l) => l.max(enter),
            None => s
                .last_hb
                .map_or(enter, |h| h.max(enter))
                .saturating_add(self.cfg.session_timeout_ms),
        };
        let a = enter.max(self.cfg.stream_start_ms);
        let b = match self.end {
            Some(e) => raw_end.min(e),
            None => raw_end,
        };
        (b > a).then_some((a, b))
    }

    /// Re-applies a session's interval to the timeline after its events changed.
    fn refresh_session(&mut self, si: usize) {
        self.queue_session(si);
        let Some(s) = self.sessions.get(si) else {
            return;
        };
        let new = self.session_interval(s);
        let old = s.cur;
        if new == old {
            return;
        }
        let viewer = s.viewer;
        self.sessions[si].cur = new;
        match (old, new) {
            // same start or end: its two deltas cancel, leave them (the usual heartbeat)
            (Some((a0, b0)), Some((a1, b1))) => {
                if a0 != a1 {
                    self.add_delta(a0, -1);
                    self.add_delta(a1, 1);
                }
                if b0 != b1 {
                    self.add_delta(b0, 1);
                    self.add_delta(b1, -1);
                }
            }
            _ => {
                if let Some((a, b)) = old {
                    self.add_delta(a, -1);
                    self.add_delta(b, 1);
                }
                if let Some((a, b)) = new {
                    self.add_delta(a, 1);
                    self.add_delta(b, -1);
                }
            }
        }
        let len = |x: Option<(i64, i64)>| x.map_or(0, |(a, b)| b - a);
        let dw = len(new) - len(old);
        if dw != 0 && (viewer as usize) < self.viewers.len() {
            self.watch.get_mut().add(viewer, dw);
        }
        let start = self.cfg.stream_start_ms;
        let mr = |x: Option<(i64, i64)>| {
            x.map(|(a, b)| {
                (
                    ((a - start) / MINUTE_MS) as usize,
                    ((b - 1 - start) / MINUTE_MS) as usize,
                )
            })
        };
        let (om, nm) = (mr(old), mr(new));
        let lo = om
            .map_or(usize::MAX, |x| x.0)
            .min(nm.map_or(usize::MAX, |x| x.0));
        let hi = om.map_or(0, |x| x.1).max(nm.map_or(0, |x| x.1));
        if lo == usize::MAX || hi >= self.cfg.caps.minutes {
            return;
        }
        let inr = |r: Option<(usize, usize)>, m: usize| r.is_some_and(|(a, b)| a <= m && m <= b);
        // minutes in both ranges do not change: visit only the two ends of the union
        let (skip_lo, skip_hi) = match (om, nm) {
            (Some((a0, b0)), Some((a1, b1))) if a0.max(a1) <= b0.min(b1) => {
                (a0.max(a1), b0.min(b1))
            }
            _ => (usize::MAX, 0),
        };
        let ends = if skip_lo <= skip_hi {
            [(lo, skip_lo), (skip_hi + 1, hi + 1)]
        } else {
            [(lo, hi + 1), (0, 0)]
        };
        for m in ends.into_iter().flat_map(|(a, b)| a..b) {
            let (io, inn) = (inr(om, m), inr(nm, m));
            // retired minutes stay as they are (only `end_stream` before the retirement cutoff
            // reaches them)
            if io == inn || m < self.compacted {
                continue;
            }
            let mi = self.minute_mut(m);
            let e = mi.viewers.entry(viewer).or_default();
            if inn {
                e.cover += 1;
                if e.cover == 1 {
                    mi.online += 1;
                }
            } else {
                e.cover = e.cover.saturating_sub(1);
                if e.cover == 0 {
                    mi.online -= 1;
                }
            }
        }
    }

    fn add_delta(&mut self, t: i64, d: i64) {
        let start = self.cfg.stream_start_ms;
        if t < start {
            return;
        }
        let m = ((t - start) / MINUTE_MS) as usize;
        if m >= self.cfg.caps.minutes {
            return;
        }
        let t0 = start + m as i64 * MINUTE_MS;
        let mi = self.minute_mut(m);
        if mi.secs.is_empty() {
            mi.secs.resize_with(60, Sec::default);
        }
        let k = (((t - t0) / 1000) as usize).min(59);
        let sec = &mut mi.secs[k];
        match sec.deltas.binary_search_by_key(&t, |&(x, _)| x) {
            Ok(i) => {
                sec.deltas[i].1 += d;
                if sec.deltas[i].1 == 0 {
                    sec.deltas.remove(i);
                }
            }
            Err(i) => sec.deltas.insert(i, (t, d)),
        }
        sec.sum += d;
        sec.dirty = true;
        mi.d_sum += d;
        mi.d_integral += d * (t0 + MINUTE_MS - t);
        if !mi.dirty {
            mi.dirty = true;
            self.dirty_minutes.push(m);
        }
    }
}

/// Adds to a money/count accumulator without ever panicking (wrapping, so removals stay exact).
#[inline]
fn acc(x: &mut i64, d: i64) {
    *x = x.wrapping_add(d);
}

fn line_no(i: usize) -> u32 {
    u32::try_from(i + 1).unwrap_or(u32::MAX)
}
