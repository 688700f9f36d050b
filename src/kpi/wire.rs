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
use super::util::NONE;

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

/// `n` in decimal, written into `buf` (no allocation).
fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).unwrap_or("")
}

#[derive(Deserialize, Default)]
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
    let mut w = Wire::default();
    if !scan(line, &mut w) {
        w = serde_json::from_str(line).ok()?;
    }
    Some(wire_to_raw(room, &w))
}

/// A flat JSON value as the scanner accepts it.
enum Tok<'a> {
    Null,
    Str(&'a str),
    /// An integer of at most 15 digits (exact as f64), with its sign.
    Int(bool, u64),
    Bool(bool),
}

/// Hand-written scanner for the common line shape: one flat object whose keys are all schema
/// fields (each at most once) and whose values are strings without escapes or control
/// characters, integers of at most 15 digits (no leading zeros, no `-0`), booleans or null.
/// Anything else returns `None` and the serde paths decide, so results and errors are the
/// same as theirs; on the lines it takes it gives exactly what serde would.
fn scan<'a>(line: &'a str, w: &mut Wire<'a>) -> bool {
    scan_into(line, w).is_some()
}

fn scan_into<'a>(line: &'a str, w: &mut Wire<'a>) -> Option<()> {
    let b = line.as_bytes();
    let mut i = 0usize;
    let ws = |i: &mut usize| {
        while *i < b.len() && matches!(b[*i], b' ' | b'\t' | b'\r' | b'\n') {
            *i += 1;
        }
    };
    let string = |i: &mut usize| -> Option<&str> {
        // at the opening quote
        *i += 1;
        let s = *i;
        let n = b[s..]
            .iter()
            .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
        *i = s + n;
        if b[*i] != b'"' {
            return None;
        }
        let out = line.get(s..*i)?;
        *i += 1;
        Some(out)
    };
    let mut seen = 0u32;
    ws(&mut i);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    ws(&mut i);
    if b.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            if b.get(i) != Some(&b'"') {
                return None;
            }
            let key = string(&mut i)?;
            ws(&mut i);
            if b.get(i) != Some(&b':') {
                return None;
            }
            i += 1;
            ws(&mut i);
            let tok = match *b.get(i)? {
                b'"' => Tok::Str(string(&mut i)?),
                b'n' if b[i..].starts_with(b"null") => {
                    i += 4;
                    Tok::Null
                }
                b't' if b[i..].starts_with(b"true") => {
                    i += 4;
                    Tok::Bool(true)
                }
                b'f' if b[i..].starts_with(b"false") => {
                    i += 5;
                    Tok::Bool(false)
                }
                c if c == b'-' || c.is_ascii_digit() => {
                    let neg = c == b'-';
                    if neg {
                        i += 1;
                    }
                    let s = i;
                    let mut n = 0u64;
                    while i < b.len() && b[i].is_ascii_digit() {
                        n = n * 10 + (b[i] - b'0') as u64;
                        i += 1;
                        if i - s > 15 {
                            return None;
                        }
                    }
                    let len = i - s;
                    if len == 0 || (b[s] == b'0' && (len > 1 || neg)) {
                        return None;
                    }
                    if i < b.len() && matches!(b[i], b'.' | b'e' | b'E') {
                        return None;
                    }
                    Tok::Int(neg, n)
                }
                _ => return None,
            };
            let slot = field_slot(key.as_bytes())?;
            if seen & (1 << slot) != 0 {
                return None;
            }
            seen |= 1 << slot;
            match slot {
                0 => w.kind = tok_text(&tok)?,
                1 => w.id = tok_id(&tok)?,
                2 => w.ts = tok_num(&tok)?,
                3 => w.viewer = tok_id(&tok)?,
                4 => w.session = tok_id(&tok)?,
                5 => w.product = tok_id(&tok)?,
                6 => w.order = tok_id(&tok)?,
                7 => w.option = tok_id(&tok)?,
                8 => w.cohost = tok_id(&tok)?,
                9 => w.text = tok_text(&tok)?,
                10 => w.region = tok_text(&tok)?,
                11 => w.tier = tok_text(&tok)?,
                12 => w.source = tok_text(&tok)?,
                13 => w.amount = tok_num(&tok)?,
                14 => w.units = tok_num(&tok)?,
                15 => w.count = tok_num(&tok)?,
                16 => w.follower_since_ms = tok_num(&tok)?,
                _ => {
                    w.seen_before = match tok {
                        Tok::Null => None,
                        Tok::Bool(v) => Some(v),
                        _ => return None,
                    }
                }
            }
            ws(&mut i);
            match b.get(i)? {
                b',' => {
                    i += 1;
                    ws(&mut i);
                }
                b'}' => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    ws(&mut i);
    (i == b.len()).then_some(())
}

fn tok_id<'a>(t: &Tok<'a>) -> Option<Option<IdVal<'a>>> {
    match *t {
        Tok::Null => Some(None),
        Tok::Str(s) => Some(Some(IdVal::S(Cow::Borrowed(s)))),
        Tok::Int(false, n) => Some(Some(IdVal::N(n))),
        _ => None,
    }
}

fn tok_text<'a>(t: &Tok<'a>) -> Option<Option<Cow<'a, str>>> {
    match *t {
        Tok::Null => Some(None),
        Tok::Str(s) => Some(Some(Cow::Borrowed(s))),
        _ => None,
    }
}

fn tok_num(t: &Tok<'_>) -> Option<Option<f64>> {
    match *t {
        Tok::Null => Some(None),
        Tok::Int(neg, n) => Some(Some(if neg { -(n as f64) } else { n as f64 })),
        _ => None,
    }
}

/// Slot of a schema field name (the order of the `match` in [`scan`]).
#[inline]
fn field_slot(k: &[u8]) -> Option<usize> {
    Some(match k {
        b"kind" => 0,
        b"id" => 1,
        b"ts" => 2,
        b"viewer" => 3,
        b"session" => 4,
        b"product" => 5,
        b"order" => 6,
        b"option" => 7,
        b"cohost" => 8,
        b"text" => 9,
        b"region" => 10,
        b"tier" => 11,
        b"source" => 12,
        b"amount" => 13,
        b"units" => 14,
        b"count" => 15,
        b"follower_since_ms" => 16,
        b"seen_before" => 17,
        _ => return None,
    })
}

fn wire_to_raw(room: &mut Room, w: &Wire<'_>) -> Result<Raw, IngestError> {
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
    r.text_hash = w.text.as_deref().map(|t| room.text_hash(t)).transpose()?;
    use super::room::{KEY_LABEL, KEY_ORDER, KEY_PRODUCT, KEY_SESSION, KEY_VIEWER};
    let mut buf = [0u8; 20];
    let mut id = |t: usize, v: &Option<IdVal<'_>>, f: &'static str| match v {
        None => Ok(NONE),
        Some(IdVal::S(s)) => room.key(t, s, f),
        Some(IdVal::N(n)) => room.key(t, decimal(*n, &mut buf), f),
    };
    r.viewer = id(KEY_VIEWER, &w.viewer, "viewer")?;
    r.session = id(KEY_SESSION, &w.session, "session")?;
    r.product = id(KEY_PRODUCT, &w.product, "product")?;
    r.order = id(KEY_ORDER, &w.order, "order")?;
    r.option = id(KEY_LABEL, &w.option, "option")?;
    r.cohost = id(KEY_LABEL, &w.cohost, "cohost")?;
    let mut lab = |v: &Option<Cow<'_, str>>, f: &'static str| match v.as_deref() {
        None => Ok(NONE),
        Some(s) => room.key(KEY_LABEL, s, f),
    };
    r.region = lab(&w.region, "region")?;
    r.tier = lab(&w.tier, "tier")?;
    r.source = lab(&w.source, "source")?;
    r.check_required()?;
    Ok(r)
}
