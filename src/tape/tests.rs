//! The tape read back by a reader written like `src/web/tape.js`, compared with `serde_json`'s
//! view of the same value (numbers compared as f64, as JS sees them).

use super::*;
use crate::kpi::gen::{generate, GenConfig};
use crate::kpi::{Room, RoomConfig};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// What a reader keeps between tapes: the keys sent so far and the rows per list and slot.
#[derive(Default)]
struct Reader {
    keys: Vec<String>,
    rows: Vec<Vec<Value>>,
}

struct Cursor<'a> {
    t: &'a [f64],
    p: usize,
    text: Vec<u16>,
    q: usize,
    keys: &'a [String],
}

impl Cursor<'_> {
    fn next(&mut self) -> f64 {
        self.p += 1;
        self.t[self.p - 1]
    }
    fn str(&mut self, n: usize) -> String {
        self.q += n;
        String::from_utf16(&self.text[self.q - n..self.q]).unwrap()
    }
    fn value(&mut self) -> Value {
        let op = self.next();
        match op as u8 {
            0 => Value::Null,
            1 => Value::Bool(false),
            2 => Value::Bool(true),
            3 => num(self.next()),
            4 => {
                let n = self.next() as usize;
                Value::String(self.str(n))
            }
            5 => {
                let n = self.next() as usize;
                Value::Array((0..n).map(|_| self.value()).collect())
            }
            6 => {
                let n = self.next() as usize;
                let mut o = Map::new();
                for _ in 0..n {
                    let k = self.next();
                    let key = if k >= 0.0 {
                        self.keys[k as usize].clone()
                    } else {
                        self.str((-2.0 - k) as usize)
                    };
                    let v = self.value();
                    o.insert(key, v);
                }
                Value::Object(o)
            }
            _ => panic!("bad op {op} at {}", self.p - 1),
        }
    }
}

fn num(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

impl Reader {
    fn read(&mut self, tape: &Tape) -> Value {
        let t = &tape.nums;
        assert_eq!(t[0], TAPE_VERSION);
        let text: Vec<u16> = tape.text.encode_utf16().collect();
        // keys first (the key section ends the tape)
        let (kp, mut kq) = (t[1] as usize, t[2] as usize);
        let n = t[kp] as usize;
        for i in 0..n {
            let len = t[kp + 1 + i] as usize;
            self.keys
                .push(String::from_utf16(&text[kq..kq + len]).unwrap());
            kq += len;
        }
        let mut c = Cursor {
            t,
            p: 3,
            text,
            q: 0,
            keys: &self.keys,
        };
        let mut root = c.value();
        let mut list = 0;
        while c.p < kp {
            let depth = c.next() as usize;
            let path: Vec<String> = (0..depth)
                .map(|_| self.keys[c.next() as usize].clone())
                .collect();
            let rows = c.next() as usize;
            if self.rows.len() <= list {
                self.rows.push(Vec::new());
            }
            let mut out = Vec::new();
            for _ in 0..rows {
                let slot = c.next() as usize;
                let fresh = c.next() == 1.0;
                let cache = &mut self.rows[list];
                if fresh {
                    let v = c.value();
                    if cache.len() <= slot {
                        cache.resize(slot + 1, Value::Null);
                    }
                    cache[slot] = v;
                }
                out.push(cache[slot].clone());
            }
            let mut at = &mut root;
            for k in &path {
                at = at.get_mut(k).unwrap();
            }
            *at = Value::Array(out);
            list += 1;
        }
        assert_eq!(c.p, kp, "values end where the key section starts");
        assert_eq!(
            c.q, t[2] as usize,
            "value text ends where the keys' text starts"
        );
        root
    }
}

/// serde_json's view with every number as f64 (as a JS reader sees it).
fn as_js(v: &Value) -> Value {
    match v {
        Value::Number(n) => num(n.as_f64().unwrap()),
        Value::Array(a) => Value::Array(a.iter().map(as_js).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), as_js(v))).collect()),
        v => v.clone(),
    }
}

fn round_trip<T: Serialize>(tape: &mut Tape, reader: &mut Reader, v: &T) -> Value {
    tape.begin();
    tape.value(v).unwrap();
    tape.finish();
    reader.read(tape)
}

#[derive(Serialize)]
enum E {
    Unit,
    New(i32),
    Tuple(u8, String),
    Struct { a: Option<bool>, b: char },
}

#[derive(Serialize)]
struct Everything {
    b: bool,
    i: i64,
    u: u64,
    f: f64,
    neg: i8,
    s: String,
    wide: &'static str,
    none: Option<i32>,
    some: Option<f32>,
    unit: (),
    tuple: (u16, &'static str),
    bytes: serde_bytes_like::Bytes,
    seq: Vec<E>,
    map: BTreeMap<String, Vec<i32>>,
    int_keys: BTreeMap<u32, bool>,
    empty: Vec<u8>,
    nested: Vec<Vec<Option<i64>>>,
}

mod serde_bytes_like {
    /// Serializes through `serialize_bytes`.
    pub struct Bytes(pub Vec<u8>);
    impl serde::Serialize for Bytes {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(&self.0)
        }
    }
}

fn everything() -> Everything {
    Everything {
        b: true,
        i: -(1 << 53) + 1,
        u: (1 << 53) - 1,
        f: -0.125,
        neg: -7,
        s: "直播间 GMV 🚀 \u{0}\"\n".into(),
        wide: "émoji 😀 and 𝄞",
        none: None,
        some: Some(1.5),
        unit: (),
        tuple: (7, "x"),
        bytes: serde_bytes_like::Bytes(vec![0, 255, 3]),
        seq: vec![
            E::Unit,
            E::New(-3),
            E::Tuple(9, "t".into()),
            E::Struct {
                a: Some(false),
                b: '字',
            },
        ],
        map: [("k1".to_string(), vec![1, 2]), ("键".to_string(), vec![])]
            .into_iter()
            .collect(),
        int_keys: [(3, true), (10, false)].into_iter().collect(),
        empty: vec![],
        nested: vec![vec![Some(1), None], vec![]],
    }
}

#[test]
fn every_serde_shape_reads_back_as_serde_json_sees_it() {
    let mut tape = Tape::new();
    let mut reader = Reader::default();
    let v = everything();
    let want = as_js(&serde_json::to_value(&v).unwrap());
    assert_eq!(round_trip(&mut tape, &mut reader, &v), want);
    // keys are sent once: the second tape has no key section entries, and reads the same
    let keys = reader.keys.len();
    let again = round_trip(&mut tape, &mut reader, &v);
    assert_eq!(again, want);
    assert_eq!(reader.keys.len(), keys);
    assert_eq!(
        tape.nums[tape.nums[1] as usize], 0.0,
        "no new keys the second time"
    );
    // the shapes serde_json and serde-wasm-bindgen (json_compatible) agree on
    assert_eq!(want["seq"][0], json!("Unit"));
    assert_eq!(want["seq"][1], json!({ "New": -3.0 }));
    assert_eq!(want["unit"], Value::Null);
    assert_eq!(want["bytes"], json!([0.0, 255.0, 3.0]));
    assert_eq!(want["int_keys"], json!({ "3": true, "10": false }));
}

#[test]
fn integers_beyond_2_pow_53_are_errors_like_serde_wasm_bindgen() {
    let mut tape = Tape::new();
    tape.begin();
    let e = tape.value(&(1u64 << 53)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "9007199254740992 can't be represented as a JavaScript number"
    );
    tape.begin();
    assert!(tape.value(&(-(1i64 << 53))).is_err());
    tape.begin();
    assert!(tape.value(&u64::MAX).is_err());
    tape.begin();
    let mut m = BTreeMap::new();
    m.insert(vec![1], 2);
    assert!(tape.value(&m).is_err(), "a map key that is not a string");
}

/// Real snapshots of a generated room, taken while it streams, with `scene.minutes` and `goods`
/// sent as row lists (unchanged rows reused by slot), read back equal to serde_json's.
#[test]
fn streaming_snapshots_with_reused_rows_read_back_exactly() {
    let mut g = GenConfig::new(7);
    g.arrivals = 3_000;
    g.duration_min = 40;
    g.products = 12;
    let events = generate(&g);
    let mut room = Room::new(RoomConfig::new(g.stream_start_ms).with_end(g.stream_end_ms()));
    let mut tape = Tape::new();
    let mut reader = Reader::default();
    let mut sent_minutes: Vec<crate::kpi::MinuteRow> = Vec::new();
    let mut sent_goods: Vec<crate::kpi::ProductRow> = Vec::new();
    let mut reused = 0;
    for (i, chunk) in events.chunks(997).enumerate() {
        room.ingest_events(chunk);
        let now = chunk.last().unwrap().ts + 1;
        let now = if i % 5 == 4 { g.stream_end_ms() } else { now };
        let mut snap = room.snapshot(now);
        let want = as_js(&serde_json::to_value(&snap).unwrap());
        let minutes = std::mem::take(&mut snap.scene.minutes);
        let goods = std::mem::take(&mut snap.goods);
        tape.begin();
        tape.value(&snap).unwrap();
        tape.begin_rows(&["scene", "minutes"], minutes.len());
        for (slot, r) in minutes.iter().enumerate() {
            if sent_minutes.get(slot) == Some(r) {
                tape.reused_row(slot);
                reused += 1;
            } else {
                tape.new_row(slot, r).unwrap();
            }
        }
        sent_minutes = minutes;
        tape.begin_rows(&["goods"], goods.len());
        for r in &goods {
            // slot: the product's position in the first snapshot that had it
            let slot = match sent_goods.iter().position(|o| o.product == r.product) {
                Some(s) if sent_goods[s] == *r => {
                    tape.reused_row(s);
                    reused += 1;
                    continue;
                }
                Some(s) => {
                    sent_goods[s] = r.clone();
                    s
                }
                None => {
                    sent_goods.push(r.clone());
                    sent_goods.len() - 1
                }
            };
            tape.new_row(slot, r).unwrap();
        }
        tape.finish();
        assert_eq!(reader.read(&tape), want, "snapshot {i}");
    }
    assert!(reused > 100, "rows were reused ({reused})");
}
