//! What happened minute by minute: the per-minute counts of the room's activity events (red
//! packets, votes, co-host links, gifts, follows, comments and their sentiment, product
//! impressions / clicks / orders per product) that the KPI snapshot does not break down by
//! minute. Fed with the same events as the room; used by the after-stream recommendations to
//! say what happened around the moments of highest interaction.
//!
//! Acceptance follows the room's rules where they matter here: events missing a field their
//! kind requires are ignored; events before the start or after
//! the end (when known) are ignored; an event exactly at the end counts in the last minute; an
//! event older than the highest accepted time − `lateness_ms` is ignored (`too_late`); an event
//! whose id was already accepted within the lateness window is ignored (exact duplicates and id
//! conflicts alike: the first arrival wins, as in the room).

use std::collections::{BTreeMap, HashSet, VecDeque};

use serde::Serialize;
use serde_json::Value;

use crate::kpi::{Event, EventType};
use crate::sentiment::{self, Label};

/// One minute's activity counts (events, 次数).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ActivityMinute {
    /// Minute index from the stream start.
    pub minute: i64,
    /// Enter events.
    pub entries: i64,
    /// Comment events.
    pub comments: i64,
    /// Comments the sentiment lexicon labels positive.
    pub comments_positive: i64,
    /// Comments labelled negative.
    pub comments_negative: i64,
    /// Like events.
    pub like_events: i64,
    /// Share events.
    pub shares: i64,
    /// Follow events.
    pub follows: i64,
    /// Gift events.
    pub gifts: i64,
    /// Red-packet claims (lotteries / 福袋 / 红包).
    pub red_packet_claims: i64,
    /// Vote events.
    pub votes: i64,
    /// Co-host (连麦) links started in the minute.
    pub cohost_starts: i64,
    /// Co-host links ended in the minute.
    pub cohost_ends: i64,
    /// Co-host links active at any time in the minute (a link without an end stays active).
    pub cohost_active: i64,
    /// Product impressions.
    pub impressions: i64,
    /// Product clicks.
    pub clicks: i64,
    /// Paid orders.
    pub orders: i64,
    /// Per product: its impressions, clicks and paid orders, by impressions desc then id.
    pub products: Vec<ProductMinute>,
}

/// One product's counts in one minute.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ProductMinute {
    /// Product id.
    pub product: String,
    /// Impressions.
    pub impressions: i64,
    /// Clicks.
    pub clicks: i64,
    /// Paid orders.
    pub orders: i64,
}

#[derive(Clone, Debug, Default)]
struct Raw {
    c: [i64; 16],
    products: BTreeMap<String, [i64; 3]>,
}

const C_ENTRIES: usize = 0;
const C_COMMENTS: usize = 1;
const C_POS: usize = 2;
const C_NEG: usize = 3;
const C_LIKES: usize = 4;
const C_SHARES: usize = 5;
const C_FOLLOWS: usize = 6;
const C_GIFTS: usize = 7;
const C_RED: usize = 8;
const C_VOTES: usize = 9;
const C_CO_START: usize = 10;
const C_CO_END: usize = 11;
const C_IMP: usize = 12;
const C_CLICK: usize = 13;
const C_ORDER: usize = 14;

/// The room's required fields per kind (see [`crate::kpi::event`]): an event the room rejects
/// for a missing field is not counted here either.
fn has_required(e: &Event) -> bool {
    use EventType::*;
    let viewer = e.viewer.is_some() || matches!(e.kind, Refund | CohostStart | CohostEnd);
    viewer
        && match e.kind {
            Enter | Leave | Heartbeat => e.session.is_some(),
            ProductImpression | ProductClick | AddToCart => e.product.is_some(),
            Gift => e.amount.is_some(),
            OrderCreated => e.order.is_some(),
            OrderPaid => e.order.is_some() && e.product.is_some() && e.amount.is_some(),
            Refund => e.order.is_some() && e.amount.is_some(),
            CohostStart | CohostEnd => e.cohost.is_some(),
            _ => true,
        }
}

/// Largest number of minutes tracked (48 h).
pub const MAX_TIMELINE_MINUTES: i64 = 48 * 60;

/// Per-minute activity of a stream (see the module docs).
#[derive(Clone, Debug)]
pub struct Timeline {
    start_ms: i64,
    end_ms: Option<i64>,
    lateness_ms: i64,
    watermark: Option<i64>,
    seen: HashSet<String>,
    fifo: VecDeque<(i64, String)>,
    minutes: Vec<Raw>,
    /// Co-host link id → (start ms, end ms).
    cohosts: BTreeMap<String, (Option<i64>, Option<i64>)>,
    accepted: u64,
    ignored: u64,
}

impl Timeline {
    /// A timeline for a stream starting at `start_ms` (end unknown), lateness window 5 min.
    pub fn new(start_ms: i64) -> Timeline {
        Timeline {
            start_ms,
            end_ms: None,
            lateness_ms: 300_000,
            watermark: None,
            seen: HashSet::new(),
            fifo: VecDeque::new(),
            minutes: Vec::new(),
            cohosts: BTreeMap::new(),
            accepted: 0,
            ignored: 0,
        }
    }
    /// Sets the stream end (ms).
    pub fn set_end(&mut self, end_ms: i64) {
        self.end_ms = Some(end_ms.max(self.start_ms));
    }
    /// Sets the lateness window (ms, ≥ 0).
    pub fn set_lateness(&mut self, ms: i64) {
        self.lateness_ms = ms.max(0);
    }
    /// The stream start.
    pub fn start_ms(&self) -> i64 {
        self.start_ms
    }
    /// Events taken into the counts.
    pub fn accepted(&self) -> u64 {
        self.accepted
    }
    /// Events ignored (out of range, too late, repeated id, or not valid JSON events).
    pub fn ignored(&self) -> u64 {
        self.ignored
    }

    fn minute_of(&self, ts: i64) -> Option<i64> {
        if ts < self.start_ms {
            return None;
        }
        let mut m = (ts - self.start_ms) / 60_000;
        if let Some(end) = self.end_ms {
            if ts > end {
                return None;
            }
            if ts == end && end > self.start_ms {
                m = (end - self.start_ms - 1) / 60_000;
            }
        }
        (m < MAX_TIMELINE_MINUTES).then_some(m)
    }

    /// Takes one event; returns whether it was counted.
    pub fn push(&mut self, e: &Event) -> bool {
        let ok = self.push_inner(e);
        if ok {
            self.accepted += 1;
        } else {
            self.ignored += 1;
        }
        ok
    }

    fn push_inner(&mut self, e: &Event) -> bool {
        if !has_required(e) {
            return false;
        }
        let Some(m) = self.minute_of(e.ts) else {
            return false;
        };
        if let Some(w) = self.watermark {
            if e.ts < w - self.lateness_ms {
                return false;
            }
        }
        if self.seen.contains(&e.id) {
            return false;
        }
        self.seen.insert(e.id.clone());
        self.fifo.push_back((e.ts, e.id.clone()));
        let w = self.watermark.map_or(e.ts, |w| w.max(e.ts));
        self.watermark = Some(w);
        // ids older than the window can no longer arrive (they would be too late)
        while let Some((t, _)) = self.fifo.front() {
            if *t < w - self.lateness_ms {
                let (_, id) = self.fifo.pop_front().unwrap_or_default();
                self.seen.remove(&id);
            } else {
                break;
            }
        }
        let mi = m as usize;
        if self.minutes.len() <= mi {
            self.minutes.resize_with(mi + 1, Raw::default);
        }
        let raw = &mut self.minutes[mi];
        let mut prod = |k: usize| {
            if let Some(p) = &e.product {
                raw.products.entry(p.clone()).or_default()[k] += 1;
            }
        };
        match e.kind {
            EventType::Enter => raw.c[C_ENTRIES] += 1,
            EventType::Comment => {
                raw.c[C_COMMENTS] += 1;
                if let Some(t) = &e.text {
                    match sentiment::analyze(t).label {
                        Label::Positive => raw.c[C_POS] += 1,
                        Label::Negative => raw.c[C_NEG] += 1,
                        Label::Neutral => {}
                    }
                }
            }
            EventType::Like => raw.c[C_LIKES] += 1,
            EventType::Share => raw.c[C_SHARES] += 1,
            EventType::Follow => raw.c[C_FOLLOWS] += 1,
            EventType::Gift => raw.c[C_GIFTS] += 1,
            EventType::RedPacketClaim => raw.c[C_RED] += 1,
            EventType::Vote => raw.c[C_VOTES] += 1,
            EventType::ProductImpression => {
                raw.c[C_IMP] += 1;
                prod(0);
            }
            EventType::ProductClick => {
                raw.c[C_CLICK] += 1;
                prod(1);
            }
            EventType::OrderPaid => {
                raw.c[C_ORDER] += 1;
                prod(2);
            }
            EventType::CohostStart | EventType::CohostEnd => {
                let start = e.kind == EventType::CohostStart;
                raw.c[if start { C_CO_START } else { C_CO_END }] += 1;
                let key = e.cohost.clone().unwrap_or_default();
                let link = self.cohosts.entry(key).or_default();
                let slot = if start { &mut link.0 } else { &mut link.1 };
                *slot =
                    Some(slot.map_or(e.ts, |t: i64| if start { t.min(e.ts) } else { t.max(e.ts) }));
            }
            _ => {}
        }
        true
    }

    /// Takes a batch of events; returns how many were counted.
    pub fn push_all(&mut self, events: &[Event]) -> usize {
        events.iter().filter(|e| self.push(e)).count()
    }

    /// Takes JSON event objects (the room's schema); invalid ones are ignored and counted.
    pub fn push_json_values(&mut self, values: &[Value]) -> usize {
        let mut n = 0;
        for v in values {
            match Event::from_json(v) {
                Ok(e) => n += self.push(&e) as usize,
                Err(_) => self.ignored += 1,
            }
        }
        n
    }

    /// Takes NDJSON text (blank lines skipped); invalid lines are ignored and counted.
    pub fn push_ndjson(&mut self, text: &str) -> usize {
        let mut n = 0;
        for line in text.split('\n') {
            let l = line.trim();
            if l.is_empty() {
                continue;
            }
            match serde_json::from_str::<Value>(l) {
                Ok(v) => n += self.push_json_values(core::slice::from_ref(&v)),
                Err(_) => self.ignored += 1,
            }
        }
        n
    }

    /// Number of minutes with data (last minute with an event + 1).
    pub fn len(&self) -> usize {
        self.minutes.len()
    }
    /// True before any event.
    pub fn is_empty(&self) -> bool {
        self.minutes.is_empty()
    }

    /// Minute `m`'s activity (zeros for a minute without events or beyond the data).
    pub fn minute(&self, m: i64) -> ActivityMinute {
        let mut out = ActivityMinute {
            minute: m,
            ..Default::default()
        };
        let t0 = self.start_ms + m * 60_000;
        out.cohost_active = self
            .cohosts
            .values()
            .filter(|(s, e)| s.is_some_and(|s| s < t0 + 60_000) && e.is_none_or(|e| e > t0))
            .count() as i64;
        let Some(raw) = usize::try_from(m).ok().and_then(|i| self.minutes.get(i)) else {
            return out;
        };
        let c = &raw.c;
        out.entries = c[C_ENTRIES];
        out.comments = c[C_COMMENTS];
        out.comments_positive = c[C_POS];
        out.comments_negative = c[C_NEG];
        out.like_events = c[C_LIKES];
        out.shares = c[C_SHARES];
        out.follows = c[C_FOLLOWS];
        out.gifts = c[C_GIFTS];
        out.red_packet_claims = c[C_RED];
        out.votes = c[C_VOTES];
        out.cohost_starts = c[C_CO_START];
        out.cohost_ends = c[C_CO_END];
        out.impressions = c[C_IMP];
        out.clicks = c[C_CLICK];
        out.orders = c[C_ORDER];
        let mut ps: Vec<ProductMinute> = raw
            .products
            .iter()
            .map(|(p, v)| ProductMinute {
                product: p.clone(),
                impressions: v[0],
                clicks: v[1],
                orders: v[2],
            })
            .collect();
        ps.sort_by(|a, b| {
            b.impressions
                .cmp(&a.impressions)
                .then_with(|| a.product.cmp(&b.product))
        });
        out.products = ps;
        out
    }

    /// Every minute from 0 to `len() − 1`.
    pub fn minutes(&self) -> Vec<ActivityMinute> {
        (0..self.minutes.len() as i64)
            .map(|m| self.minute(m))
            .collect()
    }

    /// Co-host links: (id, start ms, end ms) sorted by start.
    pub fn cohost_links(&self) -> Vec<(String, Option<i64>, Option<i64>)> {
        let mut v: Vec<_> = self
            .cohosts
            .iter()
            .map(|(k, (s, e))| (k.clone(), *s, *e))
            .collect();
        v.sort_by_key(|x| (x.1, x.0.clone()));
        v
    }
}
