//! `livekpi::kpi::Room::ingest_decoded`, the object path (`room.ingest(array)` in JS: the
//! binding reads each element into a JSON value, or into an error naming the field it could not
//! read, and hands the list over), on arbitrary event-like objects, then snapshots.
//!
//! Invariants: never panics; accepted + duplicates + rejected = elements, every error carries its
//! 1-based element number, the room's stats equal the report; elements the binding could not read
//! (made here as the binding makes them, with `Event::first_error`) are rejected and change
//! nothing: the room equals one fed only the readable elements, with as many fewer rejections;
//! the readable elements as NDJSON text (`ingest_ndjson`) give the same stats and the same
//! snapshot as the object path; `snapshot()` never panics and serializes.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use livekpi::kpi::{ErrorReason, Event, IngestError, Room, RoomConfig};
use serde_json::{Map, Value};

#[path = "common.rs"]
mod common;
use common::{check_report, check_stats_equal_report};

/// The seeds' stream start (`GenConfig::new`).
const T0: i64 = 1_735_000_000_000;

const KINDS: [&str; 21] = [
    "enter",
    "leave",
    "heartbeat",
    "room_exposure",
    "comment",
    "like",
    "share",
    "follow",
    "fan_club_join",
    "gift",
    "product_impression",
    "product_click",
    "add_to_cart",
    "order_created",
    "order_paid",
    "refund",
    "cohost_start",
    "cohost_end",
    "red_packet_claim",
    "vote",
    "no_such_kind",
];

/// A field's value: usually a plausible one from a small pool (so events collide on ids,
/// viewers, sessions and orders), sometimes of another JSON type or absurd.
#[derive(Arbitrary, Debug, Clone)]
enum Cell {
    Absent,
    Pool(u8),
    Int(i64),
    Float(f64),
    Text(String),
    Bool(bool),
    Null,
    List(Vec<u8>),
    Nested(Box<Cell>),
}

impl Cell {
    fn value(&self, field: &str) -> Option<Value> {
        Some(match self {
            Cell::Absent => return None,
            Cell::Pool(k) => {
                let k = i64::from(*k);
                match field {
                    "kind" => Value::from(KINDS[(k as usize) % KINDS.len()]),
                    "id" => {
                        if k % 2 == 0 {
                            Value::from(k % 24)
                        } else {
                            Value::from(format!("e{}", k % 24))
                        }
                    }
                    "ts" | "follower_since_ms" => Value::from(T0 + (k - 40) * 37_000),
                    "amount" => Value::from(k * 990),
                    "units" | "count" => Value::from(k % 7),
                    "seen_before" => Value::from(k % 2 == 0),
                    "text" => Value::from(["好看!", "太贵了", "bad", "😍😍", ""][k as usize % 5]),
                    _ => Value::from(format!("{}{}", &field[..1], k % 9)),
                }
            }
            Cell::Int(n) => Value::from(*n),
            Cell::Float(x) => serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number),
            Cell::Text(s) => Value::from(s.clone()),
            Cell::Bool(b) => Value::from(*b),
            Cell::Null => Value::Null,
            Cell::List(v) => Value::from(v.iter().map(|&b| Value::from(b)).collect::<Vec<_>>()),
            Cell::Nested(c) => {
                let mut m = Map::new();
                if let Some(v) = c.value(field) {
                    m.insert(field.to_owned(), v);
                }
                Value::Object(m)
            }
        })
    }
}

#[derive(Arbitrary, Debug, Clone)]
enum Element {
    /// An object with these fields (`Event::JSON_FIELDS` order) and maybe an unknown key.
    Object([Cell; 18], Option<(String, Cell)>),
    /// Not an object at all.
    Other(Cell),
    /// An object whose field (index into `Event::JSON_FIELDS`) the binding could not read: a
    /// NaN / ±Infinity number or a getter that threw.
    Unreadable([Cell; 18], u8, bool),
}

fn object(cells: &[Cell; 18]) -> Map<String, Value> {
    let mut o = Map::new();
    for (f, c) in Event::JSON_FIELDS.iter().zip(cells) {
        if let Some(v) = c.value(f) {
            o.insert((*f).to_owned(), v);
        }
    }
    o
}

/// The two rooms' snapshots agree on every KPI (their `stats` are compared by the caller).
fn same_snapshot(a: &Room, b: &Room, what: &str) {
    let w = a.stats().watermark_ms.unwrap_or(T0);
    for now in [w, w.saturating_add(3_600_000)] {
        let (mut sa, sb) = (a.snapshot(now), b.snapshot(now));
        sa.stats = sb.stats.clone();
        if sa != sb {
            // NaN != NaN: compare the JSON forms (NaN → null) before calling it a difference
            let ja = serde_json::to_string(&sa).expect("snapshot serializes");
            let jb = serde_json::to_string(&sb).expect("snapshot serializes");
            assert_eq!(ja, jb, "{what}");
        }
    }
}

fuzz_target!(|elements: Vec<Element>| {
    let mut items: Vec<Result<Value, IngestError>> = Vec::new();
    let mut readable: Vec<Result<Value, IngestError>> = Vec::new();
    for e in elements.iter().take(400) {
        let item = match e {
            Element::Object(cells, extra) => {
                let mut o = object(cells);
                if let Some((k, c)) = extra {
                    if let Some(v) = c.value(k) {
                        o.insert(k.clone(), v);
                    }
                }
                Ok(Value::Object(o))
            }
            Element::Other(c) => Ok(c.value("kind").unwrap_or(Value::Null)),
            Element::Unreadable(cells, f, threw) => {
                let field = Event::JSON_FIELDS[usize::from(*f) % Event::JSON_FIELDS.len()];
                let mut o = object(cells);
                o.remove(field);
                let reason = if *threw {
                    ErrorReason::WrongType
                } else {
                    ErrorReason::NotFinite
                };
                Err(Event::first_error(&o, (field, reason)))
            }
        };
        if item.is_ok() {
            readable.push(item.clone());
        }
        items.push(item);
    }

    let mut a = Room::new(RoomConfig::new(T0));
    let rep = a.ingest_decoded(&items);
    let n = items.len() as u64;
    check_report(&rep, n, Some(n));
    check_stats_equal_report(&a, &rep);

    // unreadable elements change nothing
    let mut b = Room::new(RoomConfig::new(T0));
    let rb = b.ingest_decoded(&readable);
    check_report(&rb, readable.len() as u64, Some(readable.len() as u64));
    let unreadable = (items.len() - readable.len()) as u64;
    assert_eq!(
        (rb.accepted, rb.duplicates, rb.rejected + unreadable),
        (rep.accepted, rep.duplicates, rep.rejected),
        "an unreadable element changed what its neighbours did"
    );
    same_snapshot(&a, &b, "an unreadable element changed the room");

    // the same readable elements as NDJSON
    let text: Vec<String> = readable
        .iter()
        .map(|v| serde_json::to_string(v.as_ref().expect("readable")).expect("serializes"))
        .collect();
    let mut c = Room::new(RoomConfig::new(T0));
    let rc = c.ingest_ndjson(&text.join("\n"));
    assert_eq!(
        (rc.accepted, rc.duplicates, rc.rejected),
        (rb.accepted, rb.duplicates, rb.rejected),
        "NDJSON and objects disagree"
    );
    assert_eq!(c.stats(), b.stats(), "NDJSON and objects disagree on stats");
    same_snapshot(&b, &c, "NDJSON and objects disagree on the snapshot");
    a.end_stream(T0 + 3_600_000);
    let _ = serde_json::to_string(&a.snapshot(i64::MAX)).expect("snapshot serializes");
});
