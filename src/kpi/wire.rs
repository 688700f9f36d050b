//! Fast NDJSON path: decode a line straight into borrowed fields (no `serde_json::Value`, no
//! owned strings). Any line it cannot decode cleanly (wrong JSON types, odd ids, duplicate keys)
//! goes through the exact `Value` path instead, so error reports are the same.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use super::error::{ErrorReason, IngestError};
use super::event::{check_amount, check_count, check_time, EventType, IdKey, MAX_SAFE};
use super::room::{Raw, Room};
use super::util::{str_hash, NONE};

/// A string id, or a canonical non-negative integer id.
enum IdVal<'a> {
    S(Cow<'a, str>),
    N(u64),
}

impl<'de: 'a, 'a> Deserialize<'de> for IdVal<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = IdVal<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a non-negative integer")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(IdVal::S(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(IdVal::S(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(IdVal::S(Cow::Owned(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                if v as i128 > MAX_SAFE as i128 {
                    return Err(E::custom("id too large"));
                }
                Ok(IdVal::N(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                if v < 0 {
                    return Err(E::custom("negative id"));
                }
                self.visit_u64(v as u64)
            }
        }
        d.deserialize_any(V)
    }
}

impl IdVal<'_> {
    fn as_str(&self) -> Cow<'_, str> {
        match self {
            IdVal::S(s) => Cow::Borrowed(s),
            IdVal::N(n) => Cow::Owned(n.to_string()),
        }
    }
}

#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    id: Option<IdVal<'a>>,
    ts: Option<f64>,
    #[serde(borrow, default)]
    viewer: Option<IdVal<'a>>,
    #[serde(borrow, default)]
    session: Option<IdVal<'a>>,
    #[serde(borrow, default)]
    product: Option<IdVal<'a>>,
    #[serde(borrow, default)]
    order: Option<IdVal<'a>>,
    #[serde(borrow, default)]
    option: Option<IdVal<'a>>,
    #[serde(borrow, default)]
    cohost: Option<IdVal<'a>>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    region: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tier: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    source: Option<Cow<'a, str>>,
    amount: Option<f64>,
    units: Option<f64>,
    count: Option<f64>,
    follower_since_ms: Option<f64>,
    seen_before: Option<bool>,
}

/// Result of the fast path: `None` = use the `Value` path.
pub(crate) fn fast_raw(room: &mut Room, line: &str) -> Option<Result<Raw, IngestError>> {
    let w: Wire<'_> = serde_json::from_str(line).ok()?;
    Some(wire_to_raw(room, w))
}

fn wire_to_raw(room: &mut Room, w: Wire<'_>) -> Result<Raw, IngestError> {
    let kind = match &w.kind {
        None => return Err(IngestError::new("kind", ErrorReason::MissingField)),
        Some(k) => {
            EventType::from_name(k).ok_or(IngestError::new("kind", ErrorReason::UnknownKind))?
        }
    };
    let key = match &w.id {
        None => return Err(IngestError::new("id", ErrorReason::MissingField)),
        Some(IdVal::N(n)) => IdKey::Num(*n),
        Some(IdVal::S(s)) => IdKey::from_str(s),
    };
    let ts = match w.ts {
        None => return Err(IngestError::new("ts", ErrorReason::MissingField)),
        Some(t) => check_time(t, "ts")?,
    };
    let mut r = Raw::new(key, ts, kind);
    r.amount = w.amount.map(|x| check_amount(x, "amount")).transpose()?;
    r.units = w.units.map(|x| check_count(x, "units")).transpose()?;
    r.count = w.count.map(|x| check_count(x, "count")).transpose()?;
    r.follower_since = w
        .follower_since_ms
        .map(|x| check_time(x, "follower_since_ms"))
        .transpose()?;
    r.seen_before = w.seen_before;
    r.text_hash = w.text.as_deref().map(str_hash);
    let id = |i: &mut super::util::Interner, v: &Option<IdVal<'_>>| {
        v.as_ref().map_or(NONE, |v| i.intern(&v.as_str()))
    };
    r.viewer = id(&mut room.viewer_ids, &w.viewer);
    r.session = id(&mut room.session_ids, &w.session);
    r.product = id(&mut room.product_ids, &w.product);
    r.order = id(&mut room.order_ids, &w.order);
    r.option = id(&mut room.labels, &w.option);
    r.cohost = id(&mut room.labels, &w.cohost);
    let lab = |i: &mut super::util::Interner, v: &Option<Cow<'_, str>>| {
        v.as_deref().map_or(NONE, |s| i.intern(s))
    };
    r.region = lab(&mut room.labels, &w.region);
    r.tier = lab(&mut room.labels, &w.tier);
    r.source = lab(&mut room.labels, &w.source);
    r.check_required()?;
    Ok(r)
}
