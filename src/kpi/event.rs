//! The room event schema (version [`SCHEMA_VERSION`]).
//!
//! One event is a flat record: `id`, `ts`, `kind` plus the fields its kind uses. The JSON shape is
//! the same record with these exact field names (unused fields may be absent or null):
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `id` | string or non-negative integer | event id, used for de-duplication (edge rule 9) |
//! | `ts` | number | event time, ms since the Unix epoch (fractions are floored) |
//! | `kind` | string | one of [`EventType::name`] |
//! | `viewer` | string or integer | viewer id |
//! | `session` | string or integer | viewing session id (enter / leave / heartbeat) |
//! | `product` | string or integer | product id |
//! | `order` | string or integer | order id |
//! | `amount` | integer | money in fen (gift value, order amount, refund amount, red packet) |
//! | `units` | integer | units in a paid order (default 1) |
//! | `count` | integer | likes in a like event (default 1) |
//! | `text` | string | comment text |
//! | `option` | string or integer | vote option |
//! | `cohost` | string or integer | co-host (连麦) partner / link id |
//! | `region`, `tier`, `source` | string | viewer region, spending tier, traffic source (on `enter`) |
//! | `follower_since_ms` | number | when the viewer started following the room (on `enter`) |
//! | `seen_before` | bool | viewer was seen in an earlier stream (on `enter`) |
//!
//! Required fields per kind (others are ignored but kept in the content compared for duplicates):
//!
//! | kind | code | required | optional |
//! |---|---|---|---|
//! | `enter` | 0 | viewer, session | region, tier, source, follower_since_ms, seen_before |
//! | `leave` | 1 | viewer, session | |
//! | `heartbeat` | 2 | viewer, session | |
//! | `room_exposure` | 3 | viewer | source |
//! | `comment` | 4 | viewer | text |
//! | `like` | 5 | viewer | count |
//! | `share` | 6 | viewer | |
//! | `follow` | 7 | viewer | |
//! | `fan_club_join` | 8 | viewer | |
//! | `gift` | 9 | viewer, amount | |
//! | `product_impression` | 10 | viewer, product | |
//! | `product_click` | 11 | viewer, product | |
//! | `add_to_cart` | 12 | viewer, product | |
//! | `order_created` | 13 | viewer, order | product, amount |
//! | `order_paid` | 14 | viewer, order, product, amount | units |
//! | `refund` | 15 | order, amount | viewer |
//! | `cohost_start` | 16 | cohost | |
//! | `cohost_end` | 17 | cohost | |
//! | `red_packet_claim` | 18 | viewer | amount |
//! | `vote` | 19 | viewer | option |

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::error::{ErrorReason, IngestError};

/// Version of the event schema described in this module. Bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Largest accepted money amount in one event: 10^12 fen.
pub const MAX_AMOUNT_FEN: i64 = 1_000_000_000_000;
/// Largest accepted `units` / `count` in one event.
pub const MAX_COUNT: i64 = 1_000_000;
/// Largest accepted absolute time or integer id: 2^53 (exact in a JS number).
pub const MAX_SAFE: i64 = 1 << 53;

/// The kind of an event. The `u8` code is the one used by the columnar path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum EventType {
    /// Viewer enters the room (starts a session). Code 0.
    Enter = 0,
    /// Viewer leaves (ends a session). Code 1.
    Leave = 1,
    /// Periodic "still watching" signal of a session. Code 2.
    Heartbeat = 2,
    /// The room was shown to a viewer (feed, search, ...). Code 3.
    RoomExposure = 3,
    /// Comment (弹幕/评论). Code 4.
    Comment = 4,
    /// Like(s); `count` likes in one event. Code 5.
    Like = 5,
    /// Share. Code 6.
    Share = 6,
    /// Follow (转粉). Code 7.
    Follow = 7,
    /// Fan-club join (加团). Code 8.
    FanClubJoin = 8,
    /// Gift worth `amount` fen. Code 9.
    Gift = 9,
    /// Product shown to a viewer. Code 10.
    ProductImpression = 10,
    /// Product clicked. Code 11.
    ProductClick = 11,
    /// Product added to cart. Code 12.
    AddToCart = 12,
    /// Order created (not yet paid). Code 13.
    OrderCreated = 13,
    /// Order paid: `amount` fen for `units` of `product`. Code 14.
    OrderPaid = 14,
    /// Refund of `amount` fen for `order`. Code 15.
    Refund = 15,
    /// Co-host (连麦) link starts. Code 16.
    CohostStart = 16,
    /// Co-host (连麦) link ends. Code 17.
    CohostEnd = 17,
    /// Red packet claimed (optionally `amount` fen). Code 18.
    RedPacketClaim = 18,
    /// Vote for `option`. Code 19.
    Vote = 19,
}

impl EventType {
    /// All kinds in code order.
    pub const ALL: [EventType; 20] = [
        EventType::Enter,
        EventType::Leave,
        EventType::Heartbeat,
        EventType::RoomExposure,
        EventType::Comment,
        EventType::Like,
        EventType::Share,
        EventType::Follow,
        EventType::FanClubJoin,
        EventType::Gift,
        EventType::ProductImpression,
        EventType::ProductClick,
        EventType::AddToCart,
        EventType::OrderCreated,
        EventType::OrderPaid,
        EventType::Refund,
        EventType::CohostStart,
        EventType::CohostEnd,
        EventType::RedPacketClaim,
        EventType::Vote,
    ];

    /// The `kind` string of the JSON shape.
    pub fn name(self) -> &'static str {
        match self {
            EventType::Enter => "enter",
            EventType::Leave => "leave",
            EventType::Heartbeat => "heartbeat",
            EventType::RoomExposure => "room_exposure",
            EventType::Comment => "comment",
            EventType::Like => "like",
            EventType::Share => "share",
            EventType::Follow => "follow",
            EventType::FanClubJoin => "fan_club_join",
            EventType::Gift => "gift",
            EventType::ProductImpression => "product_impression",
            EventType::ProductClick => "product_click",
            EventType::AddToCart => "add_to_cart",
            EventType::OrderCreated => "order_created",
            EventType::OrderPaid => "order_paid",
            EventType::Refund => "refund",
            EventType::CohostStart => "cohost_start",
            EventType::CohostEnd => "cohost_end",
            EventType::RedPacketClaim => "red_packet_claim",
            EventType::Vote => "vote",
        }
    }

    /// Kind from its JSON name.
    pub fn from_name(s: &str) -> Option<EventType> {
        use EventType::*;
        Some(match s {
            "enter" => Enter,
            "leave" => Leave,
            "heartbeat" => Heartbeat,
            "room_exposure" => RoomExposure,
            "comment" => Comment,
            "like" => Like,
            "share" => Share,
            "follow" => Follow,
            "fan_club_join" => FanClubJoin,
            "gift" => Gift,
            "product_impression" => ProductImpression,
            "product_click" => ProductClick,
            "add_to_cart" => AddToCart,
            "order_created" => OrderCreated,
            "order_paid" => OrderPaid,
            "refund" => Refund,
            "cohost_start" => CohostStart,
            "cohost_end" => CohostEnd,
            "red_packet_claim" => RedPacketClaim,
            "vote" => Vote,
            _ => return None,
        })
    }

    /// The columnar code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Kind from its columnar code.
    pub fn from_code(c: u8) -> Option<EventType> {
        EventType::ALL.get(c as usize).copied()
    }

    /// True for like, comment and share (edge rule 4: the only interactions).
    pub fn is_interaction(self) -> bool {
        matches!(
            self,
            EventType::Like | EventType::Comment | EventType::Share
        )
    }
}

/// One room event in its decoded form (see the module docs for the JSON shape and required
/// fields). Ids are strings; the room interns them into `u32`s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Event id for de-duplication.
    pub id: String,
    /// Event time, ms since the Unix epoch.
    pub ts: i64,
    /// Event kind.
    pub kind: EventType,
    /// Viewer id.
    pub viewer: Option<String>,
    /// Session id (enter / leave / heartbeat).
    pub session: Option<String>,
    /// Product id.
    pub product: Option<String>,
    /// Order id.
    pub order: Option<String>,
    /// Money, fen.
    pub amount: Option<i64>,
    /// Units of a paid order (default 1).
    pub units: Option<i64>,
    /// Likes in a like event (default 1).
    pub count: Option<i64>,
    /// Comment text.
    pub text: Option<String>,
    /// Vote option.
    pub option: Option<String>,
    /// Co-host link id.
    pub cohost: Option<String>,
    /// Viewer region.
    pub region: Option<String>,
    /// Viewer spending tier.
    pub tier: Option<String>,
    /// Traffic source.
    pub source: Option<String>,
    /// Follower since (ms since epoch).
    pub follower_since_ms: Option<i64>,
    /// Seen in an earlier stream.
    pub seen_before: Option<bool>,
}

impl Event {
    /// An event with only `id`, `ts` and `kind` set; fill the other fields with the builders.
    pub fn new(id: impl Into<String>, ts: i64, kind: EventType) -> Event {
        Event {
            id: id.into(),
            ts,
            kind,
            viewer: None,
            session: None,
            product: None,
            order: None,
            amount: None,
            units: None,
            count: None,
            text: None,
            option: None,
            cohost: None,
            region: None,
            tier: None,
            source: None,
            follower_since_ms: None,
            seen_before: None,
        }
    }
    /// Sets `viewer`.
    pub fn viewer(mut self, v: impl Into<String>) -> Event {
        self.viewer = Some(v.into());
        self
    }
    /// Sets `session`.
    pub fn session(mut self, v: impl Into<String>) -> Event {
        self.session = Some(v.into());
        self
    }
    /// Sets `product`.
    pub fn product(mut self, v: impl Into<String>) -> Event {
        self.product = Some(v.into());
        self
    }
    /// Sets `order`.
    pub fn order(mut self, v: impl Into<String>) -> Event {
        self.order = Some(v.into());
        self
    }
    /// Sets `amount` (fen).
    pub fn amount(mut self, fen: i64) -> Event {
        self.amount = Some(fen);
        self
    }
    /// Sets `units`.
    pub fn units(mut self, n: i64) -> Event {
        self.units = Some(n);
        self
    }
    /// Sets `count`.
    pub fn count(mut self, n: i64) -> Event {
        self.count = Some(n);
        self
    }
    /// Sets `text`.
    pub fn text(mut self, v: impl Into<String>) -> Event {
        self.text = Some(v.into());
        self
    }
    /// Sets `option`.
    pub fn option(mut self, v: impl Into<String>) -> Event {
        self.option = Some(v.into());
        self
    }
    /// Sets `cohost`.
    pub fn cohost(mut self, v: impl Into<String>) -> Event {
        self.cohost = Some(v.into());
        self
    }
    /// Sets `region`.
    pub fn region(mut self, v: impl Into<String>) -> Event {
        self.region = Some(v.into());
        self
    }
    /// Sets `tier`.
    pub fn tier(mut self, v: impl Into<String>) -> Event {
        self.tier = Some(v.into());
        self
    }
    /// Sets `source`.
    pub fn source(mut self, v: impl Into<String>) -> Event {
        self.source = Some(v.into());
        self
    }
    /// Sets `follower_since_ms`.
    pub fn follower_since(mut self, ms: i64) -> Event {
        self.follower_since_ms = Some(ms);
        self
    }
    /// Sets `seen_before`.
    pub fn seen_before(mut self, b: bool) -> Event {
        self.seen_before = Some(b);
        self
    }

    /// The fields [`Event::from_json`] reads, in the order it checks them (the first failing one
    /// is reported); every other key of an event object is ignored.
    pub const JSON_FIELDS: [&'static str; 18] = [
        "kind",
        "id",
        "ts",
        "viewer",
        "session",
        "product",
        "order",
        "option",
        "cohost",
        "text",
        "region",
        "tier",
        "source",
        "amount",
        "units",
        "count",
        "follower_since_ms",
        "seen_before",
    ];

    /// The error [`Event::from_json`] would report for an event object `o` whose field `bad`
    /// could not be given as a JSON value (a binding found it unreadable: a NaN / ±Infinity
    /// number → `not_finite`, a getter that threw → `wrong_type`): the error of a field checked
    /// before `bad` if there is one, else `bad`'s. `o` holds the fields that could be read.
    pub fn first_error(o: &Map<String, Value>, bad: (&'static str, ErrorReason)) -> IngestError {
        let k = Self::JSON_FIELDS
            .iter()
            .position(|f| *f == bad.0)
            .unwrap_or(Self::JSON_FIELDS.len());
        let before: Map<String, Value> = Self::JSON_FIELDS[..k]
            .iter()
            .filter_map(|f| o.get(*f).map(|v| ((*f).to_owned(), v.clone())))
            .collect();
        match Event::from_json(&Value::Object(before)) {
            Err(e) if Self::JSON_FIELDS[..k].contains(&e.field) => e,
            _ => IngestError::new(bad.0, bad.1),
        }
    }

    /// Decodes one JSON object (the shape in the module docs). Checks JSON types, finiteness,
    /// integrality, signs and absurd magnitudes; required fields per kind are checked at ingestion.
    pub fn from_json(v: &Value) -> Result<Event, IngestError> {
        let o = match v {
            Value::Object(o) => o,
            _ => return Err(IngestError::new("", ErrorReason::NotAnObject)),
        };
        let kind = match o.get("kind") {
            None | Some(Value::Null) => {
                return Err(IngestError::new("kind", ErrorReason::MissingField))
            }
            Some(Value::String(s)) => {
                EventType::from_name(s).ok_or(IngestError::new("kind", ErrorReason::UnknownKind))?
            }
            Some(_) => return Err(IngestError::new("kind", ErrorReason::WrongType)),
        };
        let id = id_field(o, "id")?.ok_or(IngestError::new("id", ErrorReason::MissingField))?;
        let ts = match o.get("ts") {
            None | Some(Value::Null) => {
                return Err(IngestError::new("ts", ErrorReason::MissingField))
            }
            Some(Value::Number(n)) => {
                if let Some(i) = n.as_i64() {
                    check_time(i as f64, "ts")?
                } else {
                    check_time(n.as_f64().unwrap_or(f64::NAN), "ts")?
                }
            }
            Some(_) => return Err(IngestError::new("ts", ErrorReason::WrongType)),
        };
        let mut e = Event::new(id, ts, kind);
        e.viewer = id_field(o, "viewer")?;
        e.session = id_field(o, "session")?;
        e.product = id_field(o, "product")?;
        e.order = id_field(o, "order")?;
        e.option = id_field(o, "option")?;
        e.cohost = id_field(o, "cohost")?;
        e.text = str_field(o, "text")?;
        e.region = str_field(o, "region")?;
        e.tier = str_field(o, "tier")?;
        e.source = str_field(o, "source")?;
        e.amount = num_field(o, "amount")?
            .map(|x| check_amount(x, "amount"))
            .transpose()?;
        e.units = num_field(o, "units")?
            .map(|x| check_count(x, "units"))
            .transpose()?;
        e.count = num_field(o, "count")?
            .map(|x| check_count(x, "count"))
            .transpose()?;
        e.follower_since_ms = num_field(o, "follower_since_ms")?
            .map(|x| check_time(x, "follower_since_ms"))
            .transpose()?;
        e.seen_before = match o.get("seen_before") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => return Err(IngestError::new("seen_before", ErrorReason::WrongType)),
        };
        Ok(e)
    }

    /// Encodes the event as a JSON object (the shape in the module docs; absent fields omitted).
    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("id".into(), Value::String(self.id.clone()));
        o.insert("ts".into(), Value::from(self.ts));
        o.insert("kind".into(), Value::String(self.kind.name().into()));
        let strs = [
            ("viewer", &self.viewer),
            ("session", &self.session),
            ("product", &self.product),
            ("order", &self.order),
            ("text", &self.text),
            ("option", &self.option),
            ("cohost", &self.cohost),
            ("region", &self.region),
            ("tier", &self.tier),
            ("source", &self.source),
        ];
        for (k, v) in strs {
            if let Some(s) = v {
                o.insert(k.into(), Value::String(s.clone()));
            }
        }
        let nums = [
            ("amount", self.amount),
            ("units", self.units),
            ("count", self.count),
            ("follower_since_ms", self.follower_since_ms),
        ];
        for (k, v) in nums {
            if let Some(n) = v {
                o.insert(k.into(), Value::from(n));
            }
        }
        if let Some(b) = self.seen_before {
            o.insert("seen_before".into(), Value::Bool(b));
        }
        Value::Object(o)
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Event, D::Error> {
        let v = Value::deserialize(d)?;
        Event::from_json(&v).map_err(serde::de::Error::custom)
    }
}

/// Encodes events as NDJSON (one JSON object per line, each line ending in `\n`).
pub fn to_ndjson(events: &[Event]) -> String {
    let mut out = String::with_capacity(events.len() * 96);
    for e in events {
        out.push_str(&e.to_json().to_string());
        out.push('\n');
    }
    out
}

fn id_field(o: &Map<String, Value>, f: &'static str) -> Result<Option<String>, IngestError> {
    match o.get(f) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => {
            if let Some(u) = n.as_u64() {
                if u as i64 > MAX_SAFE || u > i64::MAX as u64 {
                    return Err(IngestError::new(f, ErrorReason::OutOfRange));
                }
                Ok(Some(u.to_string()))
            } else if n.as_i64().is_some() {
                Err(IngestError::new(f, ErrorReason::Negative))
            } else {
                let x = n.as_f64().unwrap_or(f64::NAN);
                if !x.is_finite() {
                    Err(IngestError::new(f, ErrorReason::NotFinite))
                } else if x < 0.0 {
                    Err(IngestError::new(f, ErrorReason::Negative))
                } else if x.fract() != 0.0 {
                    Err(IngestError::new(f, ErrorReason::NotInteger))
                } else if x > MAX_SAFE as f64 {
                    Err(IngestError::new(f, ErrorReason::OutOfRange))
                } else {
                    Ok(Some((x as i64).to_string()))
                }
            }
        }
        Some(_) => Err(IngestError::new(f, ErrorReason::WrongType)),
    }
}

fn str_field(o: &Map<String, Value>, f: &'static str) -> Result<Option<String>, IngestError> {
    match o.get(f) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(IngestError::new(f, ErrorReason::WrongType)),
    }
}

fn num_field(o: &Map<String, Value>, f: &'static str) -> Result<Option<f64>, IngestError> {
    match o.get(f) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Ok(Some(i as f64))
            } else {
                Ok(Some(n.as_f64().unwrap_or(f64::NAN)))
            }
        }
        Some(_) => Err(IngestError::new(f, ErrorReason::WrongType)),
    }
}

/// Checks a time (ms) given as a JS number: finite (`not_finite`), |t| ≤ 2^53 (`out_of_range`);
/// fractions are floored. Bindings building an [`Event`] from JS values should use this.
pub fn check_time(x: f64, f: &'static str) -> Result<i64, IngestError> {
    if !x.is_finite() {
        return Err(IngestError::new(f, ErrorReason::NotFinite));
    }
    if x.abs() > MAX_SAFE as f64 {
        return Err(IngestError::new(f, ErrorReason::OutOfRange));
    }
    Ok(x.floor() as i64)
}

/// Checks a money amount in fen given as a JS number: finite, integer, ≥ 0, ≤ 10^12.
pub fn check_amount(x: f64, f: &'static str) -> Result<i64, IngestError> {
    if !x.is_finite() {
        return Err(IngestError::new(f, ErrorReason::NotFinite));
    }
    if x < 0.0 {
        return Err(IngestError::new(f, ErrorReason::Negative));
    }
    if x.fract() != 0.0 {
        return Err(IngestError::new(f, ErrorReason::NotInteger));
    }
    if x > MAX_AMOUNT_FEN as f64 {
        return Err(IngestError::new(f, ErrorReason::OutOfRange));
    }
    Ok(x as i64)
}

/// Checks a count (`units`, `count`) given as a JS number: finite, integer, ≥ 0, ≤ 10^6.
pub fn check_count(x: f64, f: &'static str) -> Result<i64, IngestError> {
    if !x.is_finite() {
        return Err(IngestError::new(f, ErrorReason::NotFinite));
    }
    if x < 0.0 {
        return Err(IngestError::new(f, ErrorReason::Negative));
    }
    if x.fract() != 0.0 {
        return Err(IngestError::new(f, ErrorReason::NotInteger));
    }
    if x > MAX_COUNT as f64 {
        return Err(IngestError::new(f, ErrorReason::OutOfRange));
    }
    Ok(x as i64)
}

/// Normalized event id: canonical decimal strings become numbers, so `"42"`, `42` (JSON) and
/// `42.0` (columnar) are the same id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum IdKey {
    Num(u64),
    Text(Box<str>),
}

impl IdKey {
    pub(crate) fn from_str(s: &str) -> IdKey {
        let b = s.as_bytes();
        let canonical = !b.is_empty()
            && b.len() <= 16
            && b.iter().all(|c| c.is_ascii_digit())
            && (b.len() == 1 || b[0] != b'0');
        if canonical {
            if let Ok(n) = s.parse::<u64>() {
                return IdKey::Num(n);
            }
        }
        IdKey::Text(s.into())
    }
}
