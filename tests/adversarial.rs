//! Adversarial input suite, native part (issue 9; the case table is `docs/adversarial.md`, the
//! JS-boundary part `tests/js/adversarial.test.mjs`).
//!
//! Every case is one hostile input placed in the middle of a batch of valid inputs, and checks
//! three things: the expected clear error (stable reason / code and the field it names, at the
//! right 1-based position), that the rejection is counted (per reason / code in the stats), and
//! that the valid rest of the batch is kept and unaffected (the result equals that of a control
//! that only got the valid inputs). Cases the policy accepts say what they are equivalent to.
//!
//! Event cases go through NDJSON bytes, NDJSON text and JSON values (the objects path after its
//! JS conversion); columnar and summary (decoder / merger) cases have tables of their own.
#![cfg(all(feature = "console", not(target_arch = "wasm32")))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use livekpi::kpi::{
    ErrorReason, IngestError, IngestReport, OwnedColumns, ReasonCount, Room, RoomConfig, Snapshot,
};
use livekpi::summary::{
    decode, encode, Counter, Ingested, MergeError, Merger, State, Summary, Totals,
    MAX_MESSAGE_BYTES, REJECTION_CODES,
};

// ---------------------------------------------------------------------------------------------
// A per-thread allocation counter, for the memory cases (each test runs on its own thread).

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

fn track(d: isize) {
    // `try_with`: the thread-local may already be gone while a thread exits
    let _ = LIVE.try_with(|l| l.set(l.get() + d));
}

// SAFETY: forwards every call to the system allocator unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        track(l.size() as isize);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        track(-(l.size() as isize));
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        track(n as isize - l.size() as isize);
        System.realloc(p, l, n)
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Bytes allocated and not yet freed by this thread.
fn live_bytes() -> isize {
    LIVE.with(|l| l.get())
}

// ---------------------------------------------------------------------------------------------
// Event cases: NDJSON bytes / text and JSON values.

/// 2026-11-25 12:00 UTC.
const START: i64 = 1_795_608_000_000;
const MIN: i64 = 60_000;
const END: i64 = START + 120 * MIN;
/// Where the valid events sit (the watermark is about here).
const T1: i64 = START + 30 * MIN;

fn config() -> RoomConfig {
    RoomConfig::new(START).with_end(END)
}

/// The valid events around every hostile line: an enter, a paid order, a comment, a leave.
fn valid_lines() -> Vec<String> {
    vec![
        format!(
            r#"{{"id":"ok-1","ts":{T1},"kind":"enter","viewer":"u1","session":"s1","region":"north"}}"#
        ),
        format!(
            r#"{{"id":"ok-2","ts":{},"kind":"order_paid","viewer":"u1","order":"o1","product":"p1","amount":9900,"units":1}}"#,
            T1 + 1000
        ),
        format!(
            r#"{{"id":"ok-3","ts":{},"kind":"comment","viewer":"u1","text":"nice"}}"#,
            T1 + 2000
        ),
        format!(
            r#"{{"id":"ok-4","ts":{},"kind":"leave","viewer":"u1","session":"s1"}}"#,
            T1 + MIN
        ),
    ]
}

/// What the suite expects of one hostile input.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Rejected: (field named, reason).
    Reject(&'static str, ErrorReason),
    /// Accepted, and the room ends as if it had got the given equivalent line instead.
    AcceptAs(&'static str),
    /// Accepted as is (compared with a control room that got the same line, built from parts
    /// the policy documents, see the case).
    Accept,
    /// An exact duplicate of a valid event: ignored, counted as a duplicate.
    Duplicate,
    /// Not an event at all (blank): skipped, not counted, line numbers unchanged.
    Skip,
}

struct Case {
    name: &'static str,
    line: Vec<u8>,
    expect: Expect,
}

fn case(name: &'static str, line: impl Into<Vec<u8>>, expect: Expect) -> Case {
    Case {
        name,
        line: line.into(),
        expect,
    }
}

fn rej(field: &'static str, r: ErrorReason) -> Expect {
    Expect::Reject(field, r)
}

/// `{"id":…,"ts":…,"kind":…` + `rest` + `}` with the given ts.
fn ev(id: &str, ts: impl std::fmt::Display, kind: &str, rest: &str) -> String {
    format!(r#"{{"id":"{id}","ts":{ts},"kind":"{kind}"{rest}}}"#)
}

fn event_cases() -> Vec<Case> {
    use ErrorReason::*;
    let t = T1 + 5000;
    let gift = |amount: &str| {
        ev(
            "x",
            t,
            "gift",
            &format!(r#","viewer":"u2","amount":{amount}"#),
        )
    };
    let like = |count: &str| {
        ev(
            "x",
            t,
            "like",
            &format!(r#","viewer":"u2","count":{count}"#),
        )
    };
    let nest = |depth: usize| {
        let mut s = ev("x", t, "comment", r#","viewer":"u2","extra":"#);
        s.pop();
        s.push_str(&"[".repeat(depth));
        s.push_str(&"]".repeat(depth));
        s.push('}');
        s
    };
    let huge_text = "好".repeat(4 << 20); // 12 MiB of UTF-8 in one comment
    let mut bad_utf8 = ev("x", t, "comment", r#","viewer":"u2","text":"AB""#).into_bytes();
    let p = bad_utf8.len() - 3;
    bad_utf8[p] = 0xff; // "A" → 0xFF: not UTF-8
    let mut overlong = ev("x", t, "comment", r#","viewer":"u2","text":"AB""#).into_bytes();
    overlong[p] = 0xc0; // overlong encoding of '/'
    overlong[p + 1] = 0xaf;
    let mut nul = ev("x", t, "comment", r#","viewer":"u2","text":"A""#).into_bytes();
    let q = nul.len() - 3;
    nul[q] = 0; // a raw NUL control character inside a JSON string
    vec![
        // ----- not JSON / not an object
        case(
            "truncated JSON",
            &ev("x", t, "like", r#","viewer":"u2""#)[..20],
            rej("", InvalidJson),
        ),
        case("array instead of object", "[1,2,3]", rej("", NotAnObject)),
        case(
            "string instead of object",
            r#""enter""#,
            rej("", NotAnObject),
        ),
        case("null line", "null", rej("", NotAnObject)),
        case(
            "two objects on one line",
            format!("{}{}", valid_lines()[2], valid_lines()[2]),
            rej("", InvalidJson),
        ),
        case(
            "NaN literal",
            ev("x", "NaN", "like", r#","viewer":"u2""#),
            rej("", InvalidJson),
        ),
        case(
            "Infinity literal",
            ev("x", "Infinity", "like", r#","viewer":"u2""#),
            rej("", InvalidJson),
        ),
        // unknown fields are skipped without recursion (serde's ignored-any), whatever their depth
        case(
            "deep nesting (100,000 levels) in an unknown field",
            nest(100_000),
            Expect::AcceptAs("comment-u2"),
        ),
        case(
            "deep nesting (100,000 levels) in a known field",
            ev(
                "x",
                t,
                "comment",
                &format!(
                    r#","viewer":"u2","text":{}{}"#,
                    "[".repeat(100_000),
                    "]".repeat(100_000)
                ),
            ),
            rej("", InvalidJson),
        ),
        case(
            "deep nesting (100 levels) in an unknown field",
            nest(100),
            Expect::AcceptAs("comment-u2"),
        ),
        case(
            "deep nesting as the whole line",
            "[".repeat(1 << 20),
            rej("", InvalidJson),
        ),
        case(
            "bad UTF-8 byte 0xFF in a string",
            bad_utf8,
            rej("", BadUtf8),
        ),
        case("overlong UTF-8 (C0 AF)", overlong, rej("", BadUtf8)),
        case("raw NUL inside a string", nul, rej("", InvalidJson)),
        case(
            "lone surrogate escape \\ud800",
            ev("x", t, "comment", r#","viewer":"u2","text":"\ud800""#),
            rej("", InvalidJson),
        ),
        // ----- kind
        case(
            "kind missing",
            r#"{"id":"x","ts":1795609800000,"viewer":"u2"}"#,
            rej("kind", MissingField),
        ),
        case(
            "kind unknown",
            ev("x", t, "buy_everything", r#","viewer":"u2""#),
            rej("kind", UnknownKind),
        ),
        case(
            "kind wrong type",
            format!(r#"{{"id":"x","ts":{t},"kind":5,"viewer":"u2"}}"#),
            rej("kind", WrongType),
        ),
        case(
            "kind with different case",
            ev("x", t, "Like", r#","viewer":"u2""#),
            rej("kind", UnknownKind),
        ),
        // ----- id
        case(
            "id missing",
            format!(r#"{{"ts":{t},"kind":"like","viewer":"u2"}}"#),
            rej("id", MissingField),
        ),
        case(
            "id negative",
            format!(r#"{{"id":-1,"ts":{t},"kind":"like","viewer":"u2"}}"#),
            rej("id", Negative),
        ),
        case(
            "id fractional",
            format!(r#"{{"id":1.5,"ts":{t},"kind":"like","viewer":"u2"}}"#),
            rej("id", NotInteger),
        ),
        case(
            "id above 2^53",
            format!(r#"{{"id":9007199254740993,"ts":{t},"kind":"like","viewer":"u2"}}"#),
            rej("id", OutOfRange),
        ),
        case(
            "id above u64 (2^64)",
            format!(r#"{{"id":18446744073709551616,"ts":{t},"kind":"like","viewer":"u2"}}"#),
            rej("id", OutOfRange),
        ),
        case(
            "id wrong type (bool)",
            format!(r#"{{"id":true,"ts":{t},"kind":"like","viewer":"u2"}}"#),
            rej("id", WrongType),
        ),
        case(
            "id wrong type (object)",
            format!(r#"{{"id":{{"$gt":""}},"ts":{t},"kind":"like","viewer":"u2"}}"#),
            rej("id", WrongType),
        ),
        // ----- ts
        case(
            "ts missing",
            r#"{"id":"x","kind":"like","viewer":"u2"}"#,
            rej("ts", MissingField),
        ),
        case(
            "ts as a string",
            ev("x", format!("\"{t}\""), "like", r#","viewer":"u2""#),
            rej("ts", WrongType),
        ),
        case(
            "ts 1e400 (overflows f64)",
            ev("x", "1e400", "like", r#","viewer":"u2""#),
            rej("", InvalidJson),
        ),
        case(
            "ts above 2^53",
            ev("x", "9007199254740993", "like", r#","viewer":"u2""#),
            rej("ts", OutOfRange),
        ),
        case(
            "ts i64 overflow",
            ev("x", "-9223372036854775809", "like", r#","viewer":"u2""#),
            rej("ts", OutOfRange),
        ),
        case(
            "ts 10 years in the future",
            ev("x", START + 3650 * 86_400_000, "like", r#","viewer":"u2""#),
            rej("ts", OutOfRange),
        ),
        case(
            "ts epoch 0 (far past)",
            ev("x", 0, "like", r#","viewer":"u2""#),
            rej("ts", OutOfRange),
        ),
        case(
            "ts before the stream start beyond the 24 h slack",
            ev("x", START - 86_400_000 - 1, "like", r#","viewer":"u2""#),
            rej("ts", OutOfRange),
        ),
        case(
            "ts before the stream start, within the slack, after the watermark moved on",
            ev("x", START - 1000, "like", r#","viewer":"u2""#),
            rej("ts", TooLate),
        ),
        case(
            "ts older than watermark - lateness",
            ev("x", START + MIN, "like", r#","viewer":"u2""#),
            rej("ts", TooLate),
        ),
        case(
            "ts fractional ms (floored)",
            ev("x", format!("{t}.75"), "like", r#","viewer":"u2""#),
            Expect::AcceptAs("like-u2"),
        ),
        case(
            "ts with exponent",
            ev("x", format!("{}e3", t / 1000), "like", r#","viewer":"u2""#),
            Expect::AcceptAs("like-u2"),
        ),
        // ----- amounts and counts
        case("amount negative", gift("-100"), rej("amount", Negative)),
        case(
            "amount fractional fen",
            gift("99.5"),
            rej("amount", NotInteger),
        ),
        case(
            "amount above 10^12 fen",
            gift("1000000000001"),
            rej("amount", OutOfRange),
        ),
        case(
            "amount above 2^53",
            gift("9007199254740993"),
            rej("amount", OutOfRange),
        ),
        case(
            "amount above i64 (2^63)",
            gift("9223372036854775808"),
            rej("amount", OutOfRange),
        ),
        case("amount 1e308", gift("1e308"), rej("amount", OutOfRange)),
        case("amount -0 (is 0)", gift("-0"), Expect::AcceptAs("gift-0")),
        case(
            "amount -0.0 (is 0)",
            gift("-0.0"),
            Expect::AcceptAs("gift-0"),
        ),
        case(
            "amount as a string",
            gift("\"100\""),
            rej("amount", WrongType),
        ),
        case(
            "amount missing on a gift",
            ev("x", t, "gift", r#","viewer":"u2""#),
            rej("amount", MissingField),
        ),
        case(
            "amount null on a gift",
            gift("null"),
            rej("amount", MissingField),
        ),
        case(
            "units 0 on a paid order",
            ev(
                "x",
                t,
                "order_paid",
                r#","viewer":"u2","order":"o9","product":"p1","amount":100,"units":0"#,
            ),
            rej("units", OutOfRange),
        ),
        case(
            "units above 10^6",
            ev(
                "x",
                t,
                "order_paid",
                r#","viewer":"u2","order":"o9","product":"p1","amount":100,"units":1000001"#,
            ),
            rej("units", OutOfRange),
        ),
        case("count negative", like("-5"), rej("count", Negative)),
        case("count above 10^6", like("1e7"), rej("count", OutOfRange)),
        case("count as bool", like("true"), rej("count", WrongType)),
        // ----- other fields: wrong types, missing required
        case(
            "viewer as object",
            ev("x", t, "like", r#","viewer":{"id":"u2"}"#),
            rej("viewer", WrongType),
        ),
        case(
            "viewer as array",
            ev("x", t, "like", r#","viewer":["u2"]"#),
            rej("viewer", WrongType),
        ),
        case(
            "viewer negative number",
            ev("x", t, "like", r#","viewer":-2"#),
            rej("viewer", Negative),
        ),
        case(
            "viewer missing",
            ev("x", t, "like", ""),
            rej("viewer", MissingField),
        ),
        case(
            "session missing on enter",
            ev("x", t, "enter", r#","viewer":"u2""#),
            rej("session", MissingField),
        ),
        case(
            "product missing on a click",
            ev("x", t, "product_click", r#","viewer":"u2""#),
            rej("product", MissingField),
        ),
        case(
            "region as a number",
            ev(
                "x",
                t,
                "enter",
                r#","viewer":"u2","session":"s2","region":7"#,
            ),
            rej("region", WrongType),
        ),
        case(
            "seen_before as a string",
            ev(
                "x",
                t,
                "enter",
                r#","viewer":"u2","session":"s2","seen_before":"yes""#,
            ),
            rej("seen_before", WrongType),
        ),
        case(
            "follower_since_ms above 2^53",
            ev(
                "x",
                t,
                "enter",
                r#","viewer":"u2","session":"s2","follower_since_ms":1e300"#,
            ),
            rej("follower_since_ms", OutOfRange),
        ),
        case(
            "text as a number",
            ev("x", t, "comment", r#","viewer":"u2","text":42"#),
            rej("text", WrongType),
        ),
        // ----- duplicate keys, duplicates, conflicts
        case(
            "duplicate key: the last value wins (serde_json)",
            ev("x", t, "like", r#","viewer":"nobody","viewer":"u2""#),
            Expect::AcceptAs("like-u2"),
        ),
        case(
            "duplicate key hiding a bad value: the last (bad) one is checked",
            gift(r#"100,"amount":-1"#),
            rej("amount", Negative),
        ),
        case(
            "exact duplicate of a valid event",
            valid_lines()[0].clone(),
            Expect::Duplicate,
        ),
        case(
            "same id, other content",
            ev("ok-1", T1, "like", r#","viewer":"u2""#),
            rej("id", IdConflict),
        ),
        case(
            "same numeric id as a string and a number",
            format!(r#"{{"id":7,"ts":{t},"kind":"like","viewer":"u2"}}"#),
            Expect::AcceptAs("like-u2-id7"),
        ),
        // ----- sizes and framing
        // caps (RoomConfig::caps, defaults): text ≤ 64 KiB (hashed, not kept), ids and labels
        // ≤ 256 bytes
        case(
            "huge string (12 MiB comment text)",
            ev(
                "x",
                t,
                "comment",
                &format!(r#","viewer":"u2","text":"{huge_text}""#),
            ),
            rej("text", CapExceeded),
        ),
        case(
            "comment text of 64 KiB (the cap)",
            ev(
                "x",
                t,
                "comment",
                &format!(r#","viewer":"u2","text":"{}""#, "t".repeat(65_536)),
            ),
            Expect::AcceptAs("comment-u2"),
        ),
        case(
            "huge viewer id (1 MiB)",
            ev(
                "x",
                t,
                "like",
                &format!(r#","viewer":"{}""#, "v".repeat(1 << 20)),
            ),
            rej("viewer", CapExceeded),
        ),
        case(
            "viewer id of 256 bytes (the cap)",
            ev(
                "x",
                t,
                "like",
                &format!(r#","viewer":"{}""#, "v".repeat(256)),
            ),
            Expect::Accept,
        ),
        case(
            "region of 257 bytes",
            ev(
                "x",
                t,
                "enter",
                &format!(
                    r#","viewer":"u2","session":"s2","region":"{}""#,
                    "r".repeat(257)
                ),
            ),
            rej("region", CapExceeded),
        ),
        case(
            "event id of 257 bytes",
            ev(&"i".repeat(257), t, "like", r#","viewer":"u2""#),
            rej("id", CapExceeded),
        ),
        case(
            "10,000 unknown fields (ignored)",
            ev(
                "x",
                t,
                "like",
                &format!(
                    r#","viewer":"u2"{}"#,
                    (0..10_000)
                        .map(|i| format!(r#","f{i}":{i}"#))
                        .collect::<String>()
                ),
            ),
            Expect::AcceptAs("like-u2"),
        ),
        case(
            "CRLF line ending",
            format!("{}\r", ev("x", t, "like", r#","viewer":"u2""#)),
            Expect::AcceptAs("like-u2"),
        ),
        case(
            "tabs and spaces around",
            format!(" \t{} \t", ev("x", t, "like", r#","viewer":"u2""#)),
            Expect::AcceptAs("like-u2"),
        ),
        case("empty line", "", Expect::Skip),
        case("whitespace-only line", " \t \r", Expect::Skip),
    ]
}

/// The equivalent lines named by `Expect::AcceptAs`.
fn equivalent(name: &str) -> String {
    let t = T1 + 5000;
    match name {
        "comment-u2" => ev("x", t, "comment", r#","viewer":"u2""#),
        "like-u2" => ev("x", t, "like", r#","viewer":"u2""#),
        "like-u2-id7" => format!(r#"{{"id":"7","ts":{t},"kind":"like","viewer":"u2"}}"#),
        "gift-0" => ev("x", t, "gift", r#","viewer":"u2","amount":0"#),
        other => panic!("no equivalent line {other}"),
    }
}

/// Position of the hostile line in the batch (1-based): after two valid lines.
const POS: u32 = 3;

fn batch(lines: &[String], bad: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if i == (POS - 1) as usize {
            out.extend_from_slice(bad);
            out.push(b'\n');
        }
        out.extend_from_slice(l.as_bytes());
        out.push(b'\n');
    }
    out
}

/// A snapshot without its ingestion statistics (compared separately).
fn kpis(r: &Room) -> Snapshot {
    let mut s = r.snapshot(END);
    s.stats = Default::default();
    s
}

fn reason_counts(r: ErrorReason) -> Vec<ReasonCount> {
    vec![ReasonCount {
        reason: r.name(),
        code: r.code(),
        count: 1,
    }]
}

/// Checks one ingestion report and room against the expectation; `path` names the path.
fn check_event_case(c: &Case, path: &str, rep: &IngestReport, room: &Room) {
    let name = format!("{} [{path}]", c.name);
    let valid = valid_lines();
    let mut control = Room::new(config());
    let mut lines = valid.clone();
    let (acc, dup, rejected) = match c.expect {
        Expect::Reject(field, reason) => {
            assert_eq!(
                rep.errors,
                vec![IngestError {
                    field,
                    reason,
                    line: Some(POS)
                }],
                "{name}"
            );
            // the message names the line, the field and the reason
            let msg = rep.errors[0].to_string();
            assert!(msg.contains(&format!("line {POS}")), "{name}: {msg}");
            assert!(msg.contains(&format!("`{field}`")), "{name}: {msg}");
            assert!(msg.contains(reason.name()), "{name}: {msg}");
            assert_eq!(
                room.stats().rejected_by_reason,
                reason_counts(reason),
                "{name}"
            );
            (4, 0, 1)
        }
        Expect::AcceptAs(eq) => {
            lines.insert(2, equivalent(eq));
            (5, 0, 0)
        }
        Expect::Accept => {
            lines.insert(2, String::from_utf8(c.line.clone()).unwrap());
            (5, 0, 0)
        }
        Expect::Duplicate => (4, 1, 0),
        Expect::Skip => (4, 0, 0),
    };
    if rejected == 0 {
        assert!(rep.errors.is_empty(), "{name}: {:?}", rep.errors);
    }
    assert_eq!(
        (rep.accepted, rep.duplicates, rep.rejected),
        (acc, dup, rejected),
        "{name}: accepted, duplicates, rejected"
    );
    let st = room.stats();
    assert_eq!(
        (st.accepted, st.duplicates, st.rejected),
        (acc, dup, rejected),
        "{name}: room stats"
    );
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let crep = control.ingest_ndjson(&text);
    assert_eq!(crep.rejected, 0, "{name}: control {:?}", crep.errors);
    assert_eq!(
        kpis(room),
        kpis(&control),
        "{name}: the valid rest is kept as is"
    );
    // the valid events really are in (GMV of the paid order, the comment)
    assert_eq!(kpis(room).result.gmv_fen, 9900, "{name}");
}

#[test]
fn adversarial_events_ndjson_bytes_text_and_values() {
    let cases = event_cases();
    assert!(cases.len() >= 60, "{} event cases", cases.len());
    let valid = valid_lines();
    for c in &cases {
        let bytes = batch(&valid, &c.line);
        // NDJSON bytes (a collector reading a socket or a file)
        let mut room = Room::new(config());
        let rep = room.ingest_ndjson_bytes(&bytes);
        check_event_case(c, "ndjson bytes", &rep, &room);
        // NDJSON text (what a JS string becomes): only for UTF-8 lines
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let mut room = Room::new(config());
            let rep = room.ingest_ndjson(text);
            check_event_case(c, "ndjson text", &rep, &room);
        }
        // JSON values (the objects path after its JS → serde_json conversion): for lines that
        // are one JSON value; blank lines have no object equivalent
        if matches!(c.expect, Expect::Skip) {
            continue;
        }
        let Ok(bad) = serde_json::from_slice::<serde_json::Value>(c.line.trim_ascii()) else {
            continue;
        };
        let mut values: Vec<serde_json::Value> = valid
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        values.insert((POS - 1) as usize, bad);
        let mut room = Room::new(config());
        let rep = room.ingest_json_values(&values);
        check_event_case(c, "json values", &rep, &room);
    }
}

/// Huge batch: 200,000 lines, every other one bad. Every rejection is counted, the report keeps
/// the first 1,000 errors in order, and every valid line is applied.
#[test]
fn adversarial_huge_batch_error_cap() {
    let n = 100_000;
    let mut text = String::with_capacity(n * 160);
    for i in 0..n {
        let ts = T1 + (i as i64 % 60_000);
        text.push_str(&format!(
            r#"{{"id":{i},"ts":{ts},"kind":"like","viewer":"v{}"}}"#,
            i % 5000
        ));
        text.push('\n');
        text.push_str(&format!(
            r#"{{"id":"bad{i}","ts":{ts},"kind":"like","viewer":"v1","count":-1}}"#
        ));
        text.push('\n');
    }
    let mut room = Room::new(config());
    let rep = room.ingest_ndjson(&text);
    assert_eq!(rep.accepted, n as u64);
    assert_eq!(rep.rejected, n as u64);
    assert_eq!(rep.errors.len(), livekpi::kpi::error::MAX_REPORTED_ERRORS);
    for (k, e) in rep.errors.iter().enumerate() {
        assert_eq!(
            (e.field, e.reason, e.line),
            ("count", ErrorReason::Negative, Some(2 * k as u32 + 2))
        );
    }
    let st = room.stats();
    assert_eq!(st.rejected_by_reason[0].count, n as u64);
    let s = room.snapshot(END);
    assert_eq!(s.process.likes, n as i64);
}

/// A byte-order mark at the start of an NDJSON batch (files saved by some Windows tools): the
/// first event must not be lost (finding 3, fixed: `ingest_line` strips a leading U+FEFF of the
/// batch). A BOM anywhere else is not whitespace: that line is `invalid_json`, the rest kept.
#[test]
fn adversarial_bom_does_not_lose_the_first_event() {
    let valid = valid_lines();
    let text = format!("\u{feff}{}\n", valid.join("\n"));
    let mut room = Room::new(config());
    let rep = room.ingest_ndjson(&text);
    assert_eq!((rep.accepted, rep.rejected), (4, 0), "{:?}", rep.errors);
    let mut control = Room::new(config());
    control.ingest_ndjson(&valid.join("\n"));
    assert_eq!(kpis(&room), kpis(&control));
    let mut room = Room::new(config());
    let rep = room.ingest_ndjson_bytes(text.as_bytes());
    assert_eq!((rep.accepted, rep.rejected), (4, 0), "{:?}", rep.errors);
    // a BOM before the second line is not stripped: that line alone is rejected
    let text = format!("{}\n\u{feff}{}", valid[0], valid[1..].join("\n"));
    let mut room = Room::new(config());
    let rep = room.ingest_ndjson(&text);
    assert_eq!((rep.accepted, rep.rejected), (3, 1));
    assert_eq!(
        rep.errors,
        vec![IngestError {
            field: "",
            reason: ErrorReason::InvalidJson,
            line: Some(2)
        }]
    );
}

/// Events before the stream start: within the 24 h slack they count in whole-stream totals but in
/// no minute; beyond it they are `out_of_range`; far-future ones too.
#[test]
fn adversarial_events_before_stream_start_and_far_future() {
    let like = |id: &str, ts: i64| ev(id, ts, "like", r#","viewer":"u2""#);
    let text = [
        like("a", START - 1000),
        like("b", START - 86_400_000 - 1),
        like("c", START + 1000),
        like("d", END + 86_400_000 + 1),
        like("e", END + 1000),
    ]
    .join("\n");
    let mut room = Room::new(config());
    let rep = room.ingest_ndjson(&text);
    assert_eq!((rep.accepted, rep.rejected), (3, 2));
    let errs: Vec<(&str, ErrorReason, Option<u32>)> = rep
        .errors
        .iter()
        .map(|e| (e.field, e.reason, e.line))
        .collect();
    assert_eq!(
        errs,
        vec![
            ("ts", ErrorReason::OutOfRange, Some(2)),
            ("ts", ErrorReason::OutOfRange, Some(4))
        ]
    );
    let s = room.snapshot(END);
    assert_eq!(s.process.interaction_events, 3, "totals count all accepted");
    let per_minute: i64 = s.scene.minutes.iter().map(|m| m.interaction_events).sum();
    assert_eq!(
        per_minute, 1,
        "only the event inside the stream is in a minute"
    );
}

/// Line numbers stay those of the input with blank lines and CRLF endings in between.
#[test]
fn adversarial_line_numbers_with_blank_lines_and_crlf() {
    let valid = valid_lines();
    let text = format!(
        "\r\n\n{}\r\n\r\n{}\r\n   \n{{\"id\":\"bad\"}}\r\n{}\r\n{}",
        valid[0], valid[1], valid[2], valid[3]
    );
    let mut room = Room::new(config());
    let rep = room.ingest_ndjson(&text);
    assert_eq!((rep.accepted, rep.rejected), (4, 1));
    assert_eq!(
        rep.errors,
        vec![IngestError {
            field: "kind",
            reason: ErrorReason::MissingField,
            line: Some(7)
        }]
    );
}

// ---------------------------------------------------------------------------------------------
// Columnar cases.

/// The valid events as columns, with one extra row (index 2) that each case makes hostile.
fn columns_with_bad_row() -> OwnedColumns {
    let mut lines = valid_lines();
    lines.insert(
        2,
        ev("row3", T1 + 5000, "gift", r#","viewer":"u2","amount":500"#),
    );
    let events: Vec<livekpi::kpi::Event> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    OwnedColumns::from_events(&events)
}

type ColumnEdit = fn(&mut OwnedColumns);

#[test]
fn adversarial_columns() {
    use ErrorReason::*;
    const R: usize = 2; // the hostile row (row number 3)
    let row_cases: Vec<(&str, ColumnEdit, Expect)> = vec![
        ("ts NaN", |c| c.ts[R] = f64::NAN, rej("ts", NotFinite)),
        (
            "ts +Infinity",
            |c| c.ts[R] = f64::INFINITY,
            rej("ts", NotFinite),
        ),
        (
            "ts -Infinity",
            |c| c.ts[R] = f64::NEG_INFINITY,
            rej("ts", NotFinite),
        ),
        ("ts 1e300", |c| c.ts[R] = 1e300, rej("ts", OutOfRange)),
        ("ts 0 (far past)", |c| c.ts[R] = 0.0, rej("ts", OutOfRange)),
        (
            "ts far future",
            |c| c.ts[R] = (START + 3650 * 86_400_000) as f64,
            rej("ts", OutOfRange),
        ),
        (
            "kind code 255",
            |c| c.kind[R] = 255,
            rej("kind", UnknownKind),
        ),
        (
            "kind code 20 (one past the last)",
            |c| c.kind[R] = 20,
            rej("kind", UnknownKind),
        ),
        (
            "id NaN and no id_ref",
            |c| {
                c.id[R] = f64::NAN;
                c.id_ref[R] = u32::MAX
            },
            rej("id", MissingField),
        ),
        ("id negative", |c| c.id[R] = -1.0, rej("id", Negative)),
        ("id fractional", |c| c.id[R] = 0.5, rej("id", NotInteger)),
        (
            "id above 2^53",
            |c| c.id[R] = 2f64.powi(53) + 2.0,
            rej("id", OutOfRange),
        ),
        (
            "id +Infinity",
            |c| c.id[R] = f64::INFINITY,
            rej("id", NotFinite),
        ),
        (
            "id_ref outside the string table",
            |c| {
                c.id[R] = f64::NAN;
                c.id_ref[R] = 1_000_000
            },
            rej("id", BadIndex),
        ),
        (
            "viewer index outside the table",
            |c| c.viewer[R] = c.strings.len() as u32,
            rej("viewer", BadIndex),
        ),
        (
            "text index outside the table",
            |c| c.text[R] = u32::MAX - 1,
            rej("text", BadIndex),
        ),
        (
            "amount -Infinity",
            |c| c.amount[R] = f64::NEG_INFINITY,
            rej("amount", NotFinite),
        ),
        (
            "amount negative",
            |c| c.amount[R] = -1.0,
            rej("amount", Negative),
        ),
        (
            "amount 2^63",
            |c| c.amount[R] = 2f64.powi(63),
            rej("amount", OutOfRange),
        ),
        (
            "amount 2^53 + 2",
            |c| c.amount[R] = 2f64.powi(53) + 2.0,
            rej("amount", OutOfRange),
        ),
        (
            "amount NaN = absent on a gift",
            |c| c.amount[R] = f64::NAN,
            rej("amount", MissingField),
        ),
        ("count 1e7", |c| c.count[R] = 1e7, rej("count", OutOfRange)),
        (
            "follower_since_ms NaN = absent",
            |c| c.follower_since_ms[R] = f64::NAN,
            Expect::Accept,
        ),
        (
            "amount -0 (is 0)",
            |c| c.amount[R] = -0.0,
            Expect::AcceptAs("gift-0"),
        ),
        (
            "seen_before 7 (absent)",
            |c| c.seen_before[R] = 7,
            Expect::Accept,
        ),
    ];
    for (name, edit, expect) in &row_cases {
        let mut cols = columns_with_bad_row();
        edit(&mut cols);
        let mut room = Room::new(config());
        let rep = room.ingest_columns(&cols.view());
        let mut control_lines = valid_lines();
        let (acc, rejected) = match *expect {
            Expect::Reject(field, reason) => {
                assert_eq!(
                    rep.errors,
                    vec![IngestError {
                        field,
                        reason,
                        line: Some(3)
                    }],
                    "{name}"
                );
                assert_eq!(
                    room.stats().rejected_by_reason,
                    reason_counts(reason),
                    "{name}"
                );
                (4, 1)
            }
            Expect::AcceptAs(eq) => {
                let mut l = equivalent(eq);
                l = l.replace(r#""id":"x""#, r#""id":"row3""#);
                control_lines.insert(2, l);
                (5, 0)
            }
            Expect::Accept => {
                control_lines.insert(
                    2,
                    ev("row3", T1 + 5000, "gift", r#","viewer":"u2","amount":500"#),
                );
                (5, 0)
            }
            _ => unreachable!(),
        };
        assert_eq!(
            (rep.accepted, rep.rejected),
            (acc, rejected),
            "{name}: {:?}",
            rep.errors
        );
        let mut control = Room::new(config());
        control.ingest_ndjson(&control_lines.join("\n"));
        assert_eq!(
            kpis(&room),
            kpis(&control),
            "{name}: the valid rest is kept"
        );
    }

    // Whole-batch rejections: a column of another length, or no id column at all. One error
    // naming the column, no line, nothing applied; the next good batch goes in.
    let batch_cases: Vec<(&str, ColumnEdit, &str, ErrorReason)> = vec![
        (
            "ts column one short",
            |c| {
                c.ts.pop();
            },
            "ts",
            ColumnLength,
        ),
        (
            "amount column one long",
            |c| c.amount.push(1.0),
            "amount",
            ColumnLength,
        ),
        (
            "viewer column one short",
            |c| {
                c.viewer.pop();
            },
            "viewer",
            ColumnLength,
        ),
        (
            "seen_before column 10x long",
            |c| {
                let n = c.seen_before.len();
                c.seen_before.resize(10 * n, 2)
            },
            "seen_before",
            ColumnLength,
        ),
        (
            "no id and no id_ref column",
            |c| {
                c.id.clear();
                c.id_ref.clear()
            },
            "id",
            MissingField,
        ),
    ];
    for (name, edit, field, reason) in &batch_cases {
        let mut cols = columns_with_bad_row();
        edit(&mut cols);
        let mut room = Room::new(config());
        let rep = room.ingest_columns(&cols.view());
        assert_eq!(
            (rep.accepted, rep.rejected, rep.errors.clone()),
            (
                0,
                1,
                vec![IngestError {
                    field,
                    reason: *reason,
                    line: None
                }]
            ),
            "{name}"
        );
        assert_eq!(
            room.stats().rejected_by_reason,
            reason_counts(*reason),
            "{name}"
        );
        assert_eq!(
            kpis(&room),
            kpis(&Room::new(config())),
            "{name}: nothing applied"
        );
        let good = columns_with_bad_row();
        assert_eq!(
            room.ingest_columns(&good.view()).accepted,
            5,
            "{name}: next batch"
        );
    }

    // A string table far larger than the batch (shared across batches): not cached, still right.
    let mut cols = columns_with_bad_row();
    let extra = 1_000_000;
    cols.strings
        .extend((0..extra).map(|i| format!("unused{i}")));
    let mut room = Room::new(config());
    assert_eq!(room.ingest_columns(&cols.view()).accepted, 5);
}

// ---------------------------------------------------------------------------------------------
// Memory: distinct keys.

/// Distinct viewer ids cost a bounded number of bytes each, and inputs that are rejected leave no
/// per-key state behind.
#[test]
fn adversarial_distinct_viewer_ids_memory() {
    let n = 200_000;
    let mut room = Room::new(config());
    // warm up: allocate the tables a room always has
    room.ingest_ndjson(&valid_lines().join("\n"));
    let before = live_bytes();
    let mut text = String::with_capacity(n * 90);
    for i in 0..n {
        text.push_str(&format!(
            r#"{{"id":{i},"ts":{},"kind":"like","viewer":"viewer-{i:08}"}}"#,
            T1 + (i as i64 % 200_000)
        ));
        text.push('\n');
    }
    let rep = room.ingest_ndjson(&text);
    drop(text);
    assert_eq!(rep.accepted, n as u64);
    let per_viewer = (live_bytes() - before) as f64 / n as f64;
    eprintln!("distinct viewers: {per_viewer:.0} B per viewer id ({n} ids)");
    // viewer record + interned id + dedup entry + watch index: a few hundred bytes at most
    assert!(per_viewer < 600.0, "{per_viewer} B per distinct viewer");
}

/// 10^7-style flood natively (scaled down): a cap of 50,000 distinct viewers, 200,000 distinct
/// viewer ids. Past the cap every new id is rejected `cap_exceeded` on `viewer` (counted), known
/// viewers still get in, and memory stops growing: the rejected 150,000 leave nothing behind.
#[test]
fn adversarial_distinct_viewer_flood_plateaus_at_the_cap() {
    let cap = 50_000;
    let n = 200_000;
    let mut cfg = config();
    cfg.caps.viewers = cap;
    let mut room = Room::new(cfg);
    room.ingest_ndjson(&valid_lines().join("\n")); // viewer u1
    let lines = |from: usize, to: usize| -> String {
        (from..to)
            .map(|i| {
                format!(
                    "{{\"id\":{i},\"ts\":{},\"kind\":\"like\",\"viewer\":\"flood-{i:08}\"}}\n",
                    T1 + (i as i64 % 100_000)
                )
            })
            .collect()
    };
    let first = lines(0, cap - 1);
    let rep = room.ingest_ndjson(&first);
    drop(first);
    assert_eq!((rep.accepted, rep.rejected), ((cap - 1) as u64, 0));
    let at_cap = live_bytes();
    let rest = lines(cap - 1, n);
    let rep = room.ingest_ndjson(&rest);
    drop(rest);
    let after = live_bytes();
    assert_eq!((rep.accepted, rep.rejected), (0, (n - cap + 1) as u64));
    assert_eq!(
        (rep.errors[0].field, rep.errors[0].reason),
        ("viewer", ErrorReason::CapExceeded)
    );
    let st = room.stats();
    assert_eq!(
        st.rejected_by_reason,
        vec![ReasonCount {
            reason: "cap_exceeded",
            code: 15,
            count: (n - cap + 1) as u64
        }]
    );
    // a known viewer still gets in
    let again = room.ingest_ndjson(&ev("late-u1", T1 + 9000, "like", r#","viewer":"u1""#));
    assert_eq!(again.accepted, 1);
    let per = (after - at_cap) as f64 / (n - cap) as f64;
    eprintln!(
        "viewer flood: {cap} viewers kept, {} rejected, {per:.2} B kept per rejected id",
        n - cap + 1
    );
    assert!(per < 1.0, "{per} B kept per rejected viewer id");
    assert_eq!(room.snapshot(END).process.viewers, 1, "only u1 entered");
}

/// Each cap of [`RoomConfig::caps`] (set small): the event that would pass it is rejected
/// `cap_exceeded` naming its field and counted; keys already known keep working; the valid rest
/// of the batch is kept.
#[test]
fn adversarial_caps_table() {
    type SetCap = fn(&mut RoomConfig);
    let t = T1 + 5000;
    let line = |id: usize, kind: &str, rest: &str| ev(&format!("c{id}"), t + id as i64, kind, rest);
    let cases: Vec<(&str, SetCap, Vec<String>, &str, usize)> = vec![
        (
            "3 viewers",
            |c| c.caps.viewers = 3,
            (0..5)
                .map(|i| line(i, "like", &format!(r#","viewer":"v{i}""#)))
                .chain([line(9, "like", r#","viewer":"v0""#)])
                .collect(),
            "viewer",
            3, // u1 of the valid events, v0 and v1 fit; v2..v4 do not; v0 again does
        ),
        (
            "2 sessions",
            |c| c.caps.sessions = 2,
            (0..3)
                .map(|i| line(i, "enter", &format!(r#","viewer":"v","session":"s{i}""#)))
                .collect(),
            "session",
            1,
        ),
        (
            "1 product",
            |c| c.caps.products = 1,
            vec![
                line(0, "product_click", r#","viewer":"v","product":"p1""#),
                line(1, "product_click", r#","viewer":"v","product":"p2""#),
                line(2, "add_to_cart", r#","viewer":"v","product":"p1""#),
            ],
            "product",
            1,
        ),
        (
            "1 order",
            |c| c.caps.orders = 1,
            vec![
                line(0, "order_created", r#","viewer":"v","order":"o1""#),
                line(1, "order_created", r#","viewer":"v","order":"o2""#),
                line(
                    2,
                    "order_paid",
                    r#","viewer":"v","order":"o1","product":"p","amount":5"#,
                ),
            ],
            "order",
            1,
        ),
        (
            "2 labels (regions, tiers, sources, options, co-hosts share one table)",
            |c| c.caps.labels = 2,
            vec![
                line(0, "enter", r#","viewer":"v","session":"s","region":"r1""#),
                line(1, "vote", r#","viewer":"v","option":"yes""#),
                line(2, "vote", r#","viewer":"v","option":"r1""#),
            ],
            "option",
            1,
        ),
        (
            "ids and labels of 8 bytes",
            |c| c.caps.string_bytes = 8,
            vec![
                line(0, "like", r#","viewer":"12345678""#),
                line(1, "like", r#","viewer":"123456789""#),
            ],
            "viewer",
            1,
        ),
        (
            "comment text of 4 bytes",
            |c| c.caps.text_bytes = 4,
            vec![
                line(0, "comment", r#","viewer":"v","text":"好""#),
                line(1, "comment", r#","viewer":"v","text":"好的""#),
            ],
            "text",
            1,
        ),
        (
            "5 remembered event ids (the 4 valid events hold 4)",
            |c| c.caps.seen_ids = 5,
            vec![
                line(0, "like", r#","viewer":"u1""#),
                line(7, "like", r#","viewer":"u1""#),
            ],
            "id",
            1,
        ),
    ];
    for (name, set, lines, field, rejected) in &cases {
        let mut cfg = config();
        set(&mut cfg);
        let mut room = Room::new(cfg.clone());
        let valid = valid_lines();
        // the valid events first (they fit every cap), then the case's lines
        let mut text = valid.join("\n");
        text.push('\n');
        text.push_str(&lines.join("\n"));
        let rep = room.ingest_ndjson(&text);
        let caps: Vec<_> = rep.errors.iter().map(|e| (e.field, e.reason)).collect();
        assert_eq!(
            caps,
            vec![(*field, ErrorReason::CapExceeded); *rejected],
            "{name}"
        );
        assert_eq!(
            room.stats().rejected_by_reason,
            vec![ReasonCount {
                reason: "cap_exceeded",
                code: 15,
                count: *rejected as u64
            }],
            "{name}"
        );
        assert!(
            room.snapshot(END).result.gmv_fen >= 9900,
            "{name}: valid rest kept"
        );
        // the rejected events changed nothing: same as feeding only the accepted lines
        let accepted_lines: Vec<&str> = text
            .split('\n')
            .enumerate()
            .filter(|(i, _)| !rep.errors.iter().any(|e| e.line == Some(*i as u32 + 1)))
            .map(|(_, l)| l)
            .collect();
        let mut control = Room::new(cfg);
        let crep = control.ingest_ndjson(&accepted_lines.join("\n"));
        assert_eq!(crep.rejected, 0, "{name}: {:?}", crep.errors);
        assert_eq!(kpis(&room), kpis(&control), "{name}");
    }

    // minute rows: an event past the last tracked minute counts in the totals, in no minute
    let mut cfg = config();
    cfg.caps.minutes = 10;
    let mut room = Room::new(cfg);
    let rep = room.ingest_ndjson(
        &[
            ev("m1", START + 5 * MIN, "like", r#","viewer":"v""#),
            ev("m2", START + 50 * MIN, "like", r#","viewer":"v""#),
        ]
        .join("\n"),
    );
    assert_eq!((rep.accepted, rep.rejected), (2, 0));
    let s = room.snapshot(END);
    assert!(
        s.scene.minutes.len() <= 10,
        "{} minute rows",
        s.scene.minutes.len()
    );
    assert_eq!(s.process.interaction_events, 2);
    let in_minutes: i64 = s.scene.minutes.iter().map(|m| m.interaction_events).sum();
    assert_eq!(in_minutes, 1);
}

/// Rejected events (here: ts out of range) with fresh viewer ids must not grow the room.
#[test]
fn adversarial_rejected_events_leave_no_state() {
    let (per, _) = rejected_growth();
    assert!(per < 8.0, "{per} B kept per rejected event");
}

/// The sharper form of the same finding: rejected events use up the distinct-key caps, so junk
/// (here 10 events far in the past, each with a fresh viewer id) locks real viewers out.
#[test]
fn adversarial_rejected_events_do_not_use_up_the_caps() {
    let mut cfg = config();
    cfg.caps.viewers = 10;
    let mut room = Room::new(cfg);
    let junk: Vec<String> = (0..10)
        .map(|i| {
            ev(
                &format!("j{i}"),
                0,
                "like",
                &format!(r#","viewer":"junk{i}""#),
            )
        })
        .collect();
    let rep = room.ingest_ndjson(&junk.join("\n"));
    assert_eq!(rep.rejected, 10);
    let rep = room.ingest_ndjson(&valid_lines().join("\n"));
    assert_eq!((rep.accepted, rep.rejected), (4, 0), "{:?}", rep.errors);
}

/// The same through columns, where a batch caches interned ids per string: a row rejected after
/// interning a fresh viewer (here `ghost`, ts far in the past) gives that id back, the next new
/// viewer (`real`) reuses it, and a later valid row of `ghost` must still be `ghost`, not `real`
/// (the room equals an NDJSON control fed the valid rows); with a 2-viewer cap both fit.
#[test]
fn adversarial_rejected_rows_do_not_use_up_the_caps_columns() {
    let mut cfg = config();
    cfg.caps.viewers = 2;
    let lines = [
        ev("c1", 0, "like", r#","viewer":"ghost""#),
        ev("c2", T1, "like", r#","viewer":"real""#),
        ev("c3", T1 + 1000, "like", r#","viewer":"ghost""#),
        ev(
            "c4",
            T1 + 2000,
            "enter",
            r#","viewer":"ghost","session":"s1""#,
        ),
        ev(
            "c5",
            T1 + 3000,
            "enter",
            r#","viewer":"real","session":"s2""#,
        ),
    ];
    let events: Vec<livekpi::kpi::Event> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let cols = OwnedColumns::from_events(&events);
    let mut room = Room::new(cfg.clone());
    let rep = room.ingest_columns(&cols.view());
    assert_eq!((rep.accepted, rep.rejected), (4, 1), "{:?}", rep.errors);
    let mut control = Room::new(cfg);
    let rep = control.ingest_ndjson(&lines[1..].join("\n"));
    assert_eq!((rep.accepted, rep.rejected), (4, 0), "{:?}", rep.errors);
    assert_eq!(kpis(&room), kpis(&control));
}

/// Measures bytes kept per rejected out-of-range event with a fresh viewer id.
fn rejected_growth() -> (f64, u64) {
    let n = 100_000;
    let mut room = Room::new(config());
    room.ingest_ndjson(&valid_lines().join("\n"));
    let mut text = String::with_capacity(n * 90);
    for i in 0..n {
        text.push_str(&format!(
            r#"{{"id":{i},"ts":0,"kind":"like","viewer":"ghost-{i:08}"}}"#
        ));
        text.push('\n');
    }
    let before = live_bytes();
    let rep = room.ingest_ndjson(&text);
    let grown = live_bytes() - before;
    (grown as f64 / n as f64, rep.rejected)
}

#[test]
fn adversarial_rejected_events_are_all_counted() {
    let (per, rejected) = rejected_growth();
    eprintln!("rejected out-of-range events with fresh ids: {per:.1} B kept per event");
    assert_eq!(rejected, 100_000);
}

// ---------------------------------------------------------------------------------------------
// Summary decoder / merger cases.

const ROOM: &str = "room-a";
const T0: u64 = 1_795_608_000_000;

fn sid(n: u8) -> [u8; 16] {
    let mut s = [0u8; 16];
    s[0] = 0xa5;
    s[15] = n;
    s
}

/// A well-formed summary: `watch` ms watched and played over `watch` ms, started.
fn summ(session: u8, room: &str, seq: u32, base: u32, watch: u64, fin: bool) -> Vec<u8> {
    let mut delta = Totals::ZERO;
    delta.set(Counter::WatchMs, watch);
    delta.set(Counter::PlayingMs, watch);
    delta.set(Counter::Started, 1);
    delta.set(Counter::TotalFrames, watch / 40);
    let s = Summary {
        session_id: sid(session),
        room_id: room,
        seq,
        base_seq: base,
        start_ms: T0,
        span_ms: watch,
        is_final: fin,
        delta,
        state: State {
            startup_ms: Some(800),
            ..State::default()
        },
    };
    let mut out = Vec::new();
    encode(&s, &mut out);
    out
}

/// The valid background: two views of the room (sessions 1 and 2), two summaries each.
fn background() -> Vec<Vec<u8>> {
    vec![
        summ(1, ROOM, 1, 0, 30_000, false),
        summ(2, ROOM, 1, 0, 30_000, false),
        summ(1, ROOM, 2, 0, 60_000, false),
        summ(2, ROOM, 2, 1, 30_000, true),
    ]
}

/// The header (magic, version, flags, session id) and a varint writer, to craft bytes by hand.
fn header(flags: u8) -> Vec<u8> {
    let mut b = b"LQ\x01".to_vec();
    b.push(flags);
    b.extend_from_slice(&sid(9));
    b
}
fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}
/// The varint tag of field `field` with wire type `wire`.
fn tag(field: u64, wire: u64) -> Vec<u8> {
    let mut t = Vec::new();
    varint(&mut t, field << 3 | wire);
    t
}
/// Header + seq 1, base 0, room "room-a", start T0, span 30 s, then `tail`.
fn crafted(tail: &[u8]) -> Vec<u8> {
    let mut b = header(0);
    varint(&mut b, 1);
    varint(&mut b, 0);
    varint(&mut b, ROOM.len() as u64);
    b.extend_from_slice(ROOM.as_bytes());
    varint(&mut b, T0);
    varint(&mut b, 30_000);
    b.extend_from_slice(tail);
    b
}

/// How a hostile summary comes in: the merger state it meets, then the message.
struct SumCase {
    name: &'static str,
    /// Summaries of session 9 applied before (and expected to be accepted).
    before: Vec<Vec<u8>>,
    bytes: Vec<u8>,
    region: String,
    /// The room the request was addressed to.
    addressed: Option<&'static str>,
    /// Err((code, field)) or the accepted outcome.
    expect: Result<Ingested, (&'static str, &'static str)>,
}

fn sc(name: &'static str, bytes: Vec<u8>, code: &'static str, field: &'static str) -> SumCase {
    SumCase {
        name,
        before: vec![],
        bytes,
        region: "north".into(),
        addressed: None,
        expect: Err((code, field)),
    }
}

fn summary_cases() -> Vec<SumCase> {
    let good = summ(9, ROOM, 1, 0, 30_000, false);
    let mut cases = vec![
        sc("empty body", vec![], "truncated", "magic"),
        sc("one byte", b"L".to_vec(), "truncated", "magic"),
        sc(
            "bad magic (JSON body)",
            br#"{"seq":1}"#.to_vec(),
            "bad_magic",
            "magic",
        ),
        sc(
            "wrong version 2",
            {
                let mut b = good.clone();
                b[2] = 2;
                b
            },
            "unsupported_version",
            "version",
        ),
        sc(
            "wrong version 0",
            {
                let mut b = good.clone();
                b[2] = 0;
                b
            },
            "unsupported_version",
            "version",
        ),
        sc(
            "reserved flag bit",
            {
                let mut b = good.clone();
                b[3] = 0x80;
                b
            },
            "reserved_flags",
            "flags",
        ),
        sc(
            "truncated in the session id",
            good[..12].to_vec(),
            "truncated",
            "session_id",
        ),
        sc(
            "truncated in the room id",
            good[..25].to_vec(),
            "truncated",
            "room_id",
        ),
        sc(
            "truncated in a counter",
            {
                let mut b = crafted(&[0x08]);
                b.push(0x80);
                b
            },
            "truncated",
            "watch_ms",
        ),
        sc(
            "oversized (8193 bytes)",
            {
                let mut b = crafted(&tag(31, 2));
                let n = MAX_MESSAGE_BYTES + 1 - b.len() - 2;
                varint(&mut b, n as u64);
                b.resize(MAX_MESSAGE_BYTES + 1, 0);
                b
            },
            "oversized",
            "message",
        ),
        sc(
            "seq 0",
            {
                let mut b = header(0);
                varint(&mut b, 0);
                varint(&mut b, 0);
                b.extend_from_slice(&[0; 8]);
                b
            },
            "bad_sequence",
            "seq",
        ),
        sc(
            "base_seq = seq",
            {
                let mut b = header(0);
                varint(&mut b, 3);
                varint(&mut b, 3);
                b.extend_from_slice(&[0; 8]);
                b
            },
            "bad_sequence",
            "seq",
        ),
        sc(
            "seq 2^32",
            {
                let mut b = header(0);
                varint(&mut b, 1 << 32);
                varint(&mut b, 0);
                b.extend_from_slice(&[0; 8]);
                b
            },
            "bad_sequence",
            "seq",
        ),
        sc(
            "varint of 11 bytes",
            {
                let mut b = header(0);
                b.extend_from_slice(&[0xff; 10]);
                b.push(0x01);
                b
            },
            "bad_varint",
            "seq",
        ),
        sc(
            "varint over 64 bits",
            {
                let mut b = header(0);
                b.extend_from_slice(&[0xff; 9]);
                b.push(0x02);
                b
            },
            "bad_varint",
            "seq",
        ),
        sc(
            "varint not minimal",
            {
                let mut b = header(0);
                b.extend_from_slice(&[0x81, 0x00]);
                b
            },
            "bad_varint",
            "seq",
        ),
        sc(
            "room id empty",
            {
                let mut b = header(0);
                varint(&mut b, 1);
                varint(&mut b, 0);
                varint(&mut b, 0);
                b
            },
            "bad_room_id",
            "room_id",
        ),
        sc(
            "room id of 65 bytes",
            {
                let mut b = header(0);
                varint(&mut b, 1);
                varint(&mut b, 0);
                varint(&mut b, 65);
                b.extend_from_slice(&[b'r'; 65]);
                b
            },
            "bad_room_id",
            "room_id",
        ),
        sc(
            "room id not UTF-8",
            {
                let mut b = header(0);
                varint(&mut b, 1);
                varint(&mut b, 0);
                varint(&mut b, 2);
                b.extend_from_slice(&[0xc3, 0x28]);
                b
            },
            "bad_room_id",
            "room_id",
        ),
        sc(
            "start_ms beyond 10^15 (far future)",
            {
                let mut b = header(0);
                varint(&mut b, 1);
                varint(&mut b, 0);
                varint(&mut b, 1);
                b.push(b'r');
                varint(&mut b, 1_000_000_000_000_001);
                b
            },
            "bad_time",
            "start_ms",
        ),
        sc(
            "span over 24 h",
            {
                let mut b = header(0);
                varint(&mut b, 1);
                varint(&mut b, 0);
                varint(&mut b, 1);
                b.push(b'r');
                varint(&mut b, T0);
                varint(&mut b, 86_400_001);
                b
            },
            "bad_time",
            "span_ms",
        ),
        sc(
            "duplicate counter field",
            crafted(&[0x08, 0x01, 0x08, 0x02]),
            "duplicate_field",
            "watch_ms",
        ),
        sc("field number 0", crafted(&[0x00, 0x01]), "bad_tag", "tag"),
        sc(
            "counter with the bytes wire type",
            crafted(&[(1 << 3) | 2, 0x01, 0x00]),
            "bad_wire_type",
            "watch_ms",
        ),
        sc(
            "unknown field with wire type 3",
            crafted(&tag(50, 3)),
            "bad_wire_type",
            "unknown_field",
        ),
        sc(
            "unknown bytes field claiming 2^62 bytes",
            {
                let mut t = tag(50, 2);
                varint(&mut t, 1 << 62);
                crafted(&t)
            },
            "truncated",
            "unknown_field",
        ),
        sc(
            "watch_ms beyond the span (absurd)",
            {
                let mut t = vec![0x08];
                varint(&mut t, 31_001);
                crafted(&t)
            },
            "absurd_value",
            "watch_ms",
        ),
        sc(
            "watch_ms u64::MAX",
            {
                let mut t = vec![0x08];
                varint(&mut t, u64::MAX);
                crafted(&t)
            },
            "absurd_value",
            "watch_ms",
        ),
        sc(
            "dropped frames > total frames",
            crafted(&[5 << 3, 10, 6 << 3, 11]),
            "absurd_value",
            "dropped_frames",
        ),
        sc(
            "flag counter = 2",
            crafted(&[tag(26, 0), vec![2]].concat()),
            "absurd_value",
            "started",
        ),
        sc(
            "latency state beyond 24 h",
            {
                let mut t = vec![12 << 3];
                varint(&mut t, 2 * 86_400_001);
                crafted(&t)
            },
            "absurd_value",
            "latency_ms",
        ),
    ];
    let merge = |name, before: Vec<Vec<u8>>, bytes, expect| SumCase {
        name,
        before,
        bytes,
        region: "north".into(),
        addressed: None,
        expect,
    };
    cases.extend([
        merge(
            "replayed summary (same bytes again)",
            vec![good.clone()],
            good.clone(),
            Ok(Ingested::Duplicate),
        ),
        merge(
            "older summary after a newer one",
            vec![
                summ(9, ROOM, 1, 0, 30_000, false),
                summ(9, ROOM, 2, 0, 60_000, false),
            ],
            summ(9, ROOM, 1, 0, 30_000, false),
            Ok(Ingested::Superseded),
        ),
        merge(
            "sequence gap: seq 4 after seq 1 (2, 3 lost)",
            vec![good.clone()],
            summ(9, ROOM, 4, 0, 120_000, false),
            Ok(Ingested::Applied),
        ),
        merge(
            "sequence gap with an acked base never seen here (adopted)",
            vec![good.clone()],
            summ(9, ROOM, 5, 3, 30_000, false),
            Ok(Ingested::Applied),
        ),
        merge(
            "base that is neither applied nor newer (unknown_base)",
            vec![
                summ(9, ROOM, 1, 0, 30_000, false),
                summ(9, ROOM, 3, 0, 90_000, false),
            ],
            summ(9, ROOM, 5, 2, 60_000, false),
            Err(("unknown_base", "base_seq")),
        ),
        merge(
            "base moved back (base_regressed)",
            vec![
                summ(9, ROOM, 1, 0, 30_000, false),
                summ(9, ROOM, 3, 2, 30_000, false),
            ],
            summ(9, ROOM, 4, 1, 30_000, false),
            Err(("base_regressed", "base_seq")),
        ),
        merge(
            "summary after the final one",
            vec![summ(9, ROOM, 1, 0, 30_000, true)],
            summ(9, ROOM, 2, 0, 60_000, false),
            Err(("after_final", "seq")),
        ),
        merge(
            "cumulative counter decreases",
            vec![summ(9, ROOM, 1, 0, 60_000, false)],
            summ(9, ROOM, 2, 0, 30_000, false),
            Err(("non_monotone", "watch_ms")),
        ),
        merge(
            "session id collision: another view reuses an open session's id",
            vec![
                summ(9, ROOM, 1, 0, 30_000, false),
                summ(9, ROOM, 2, 0, 60_000, false),
            ],
            summ(9, ROOM, 1, 0, 10_000, false),
            Ok(Ingested::Superseded),
        ),
        merge(
            "session id collision after the session ended",
            vec![summ(9, ROOM, 1, 0, 30_000, true)],
            summ(9, ROOM, 2, 1, 10_000, false),
            Err(("after_final", "seq")),
        ),
        // policy (finding 7): the ledger is keyed by (room, session id), so a session id reused
        // in another room is a new session there, counted from zero; the other room's session
        // is untouched (merger_state compares both rooms with the control)
        merge(
            "session id reused in another room with a higher seq",
            vec![summ(9, "room-b", 1, 0, 60_000, false)],
            summ(9, ROOM, 2, 0, 30_000, false),
            Ok(Ingested::Applied),
        ),
        merge(
            "session id reused in another room, larger counters",
            vec![summ(9, "room-b", 1, 0, 30_000, false)],
            summ(9, ROOM, 2, 0, 60_000, false),
            Ok(Ingested::Applied),
        ),
        merge(
            "session id of a finished session reused in another room",
            vec![summ(9, "room-b", 1, 0, 30_000, true)],
            summ(9, ROOM, 2, 1, 10_000, false),
            Ok(Ingested::Applied),
        ),
    ]);
    let mut wrong_room = merge(
        "wrong room (addressed to room-b)",
        vec![],
        good.clone(),
        Err(("room_mismatch", "room_id")),
    );
    wrong_room.addressed = Some("room-b");
    cases.push(wrong_room);
    let mut right_room = merge(
        "right room (addressed to room-a)",
        vec![],
        good.clone(),
        Ok(Ingested::Applied),
    );
    right_room.addressed = Some(ROOM);
    cases.push(right_room);
    let mut region = merge(
        "region of 65 bytes",
        vec![],
        good.clone(),
        Err(("bad_region", "region")),
    );
    region.region = "r".repeat(65);
    cases.push(region);
    let mut region64 = merge(
        "region of 64 bytes (limit)",
        vec![],
        good.clone(),
        Ok(Ingested::Applied),
    );
    region64.region = "r".repeat(64);
    cases.push(region64);
    let mut exact = crafted(&tag(31, 2));
    let n = MAX_MESSAGE_BYTES - exact.len() - 2;
    varint(&mut exact, n as u64);
    exact.resize(MAX_MESSAGE_BYTES, 0);
    cases.push(merge(
        "exactly 8192 bytes (unknown field skipped)",
        vec![],
        exact,
        Ok(Ingested::Applied),
    ));
    cases
}

/// A merger's observable state: room / region counters, distinct viewers, minute-row keys.
fn merger_state(m: &Merger) -> Vec<String> {
    let mut rooms: Vec<String> = m
        .rooms()
        .iter()
        .map(|(id, r)| {
            let regions: Vec<String> = r
                .regions
                .iter()
                .map(|(k, a)| format!("{k}:{:?}:{:.3}", a.counters, a.distinct_viewers()))
                .collect();
            let minutes: Vec<String> = r
                .minutes
                .iter()
                .map(|(k, v)| format!("{k}:{:?}", v.keys().collect::<Vec<_>>()))
                .collect();
            format!(
                "{id} total={:?} viewers={:.3} regions={regions:?} minutes={minutes:?}",
                r.total.counters,
                r.total.distinct_viewers()
            )
        })
        .collect();
    rooms.sort();
    rooms
}

#[test]
fn adversarial_summaries_decoder_and_merger() {
    let cases = summary_cases();
    assert!(cases.len() >= 45, "{} summary cases", cases.len());
    for c in &cases {
        let name = c.name;
        let mut m = Merger::with_minute_rows();
        let mut control = Merger::with_minute_rows();
        let bg = background();
        // background before, the case's own history, the hostile message, background after
        for b in &bg[..2] {
            m.ingest(b, "north").unwrap();
            control.ingest(b, "north").unwrap();
        }
        for b in &c.before {
            m.ingest(b, "north")
                .unwrap_or_else(|e| panic!("{name}: before: {e}"));
            control.ingest(b, "north").unwrap();
        }
        let r = m.ingest_to(&c.bytes, &c.region, c.addressed);
        match (&r, c.expect) {
            (Err(e), Err((code, field))) => {
                assert_eq!((e.code(), e.field()), (code, field), "{name}");
                assert!(REJECTION_CODES.contains(&e.code()), "{name}");
                let msg = e.to_string();
                assert!(msg.contains(code) && msg.contains(field), "{name}: {msg}");
                assert_eq!(m.stats().rejected.get(code), Some(&1), "{name}: counted");
                assert_eq!(m.stats().rejected.values().sum::<u64>(), 1, "{name}");
            }
            (Ok((got, _)), Ok(want)) => {
                assert_eq!(*got, want, "{name}");
                assert!(m.stats().rejected.is_empty(), "{name}");
                if want == Ingested::Applied {
                    // the control gets it too (any addressing / region the case used)
                    control.ingest(&c.bytes, &c.region).unwrap();
                }
            }
            (r, want) => panic!("{name}: got {:?}, want {want:?}", r.as_ref().map(|x| x.0)),
        }
        for b in &bg[2..] {
            m.ingest(b, "north").unwrap();
            control.ingest(b, "north").unwrap();
        }
        // the valid rest is applied, the hostile message changed nothing else
        assert_eq!(merger_state(&m), merger_state(&control), "{name}");
        let room = m.room(ROOM).expect("background room");
        assert!(room.total.counters.views >= 2, "{name}");
    }
}

/// Every single-bit flip and every truncation of a valid summary: never a panic; each message is
/// either rejected with a known code (counted) or accepted as a well-formed summary; the
/// background is applied in full whatever came in between.
#[test]
fn adversarial_bit_flips_and_truncations() {
    let good = summ(7, ROOM, 2, 1, 30_000, true);
    let mut inputs: Vec<Vec<u8>> = (0..good.len()).map(|n| good[..n].to_vec()).collect();
    for i in 0..good.len() * 8 {
        let mut b = good.clone();
        b[i / 8] ^= 1 << (i % 8);
        inputs.push(b);
    }
    for i in 0..good.len() {
        for v in [0x00, 0x7f, 0x80, 0xff] {
            let mut b = good.clone();
            b[i] = v;
            inputs.push(b);
        }
    }
    let mut m = Merger::new();
    let mut rejected = 0u64;
    for (k, b) in inputs.iter().enumerate() {
        m.ingest(&background()[k % 2], "north").unwrap();
        match m.ingest(b, "north") {
            Ok(_) => assert!(decode(b).is_ok()),
            Err(e) => {
                rejected += 1;
                assert!(REJECTION_CODES.contains(&e.code()), "{}", e.code());
                assert!(!e.field().is_empty());
            }
        }
    }
    let st = m.stats();
    assert_eq!(st.rejected.values().sum::<u64>(), rejected);
    // every message had exactly one outcome
    assert_eq!(
        st.applied + st.duplicates + st.superseded + rejected,
        2 * inputs.len() as u64
    );
    // Every prefix is rejected `truncated`, except a cut exactly at a field boundary after the
    // header: the format has no length or checksum, so that decodes as the same summary without
    // its last fields (the transport's Content-Length is what catches a cut body).
    let full = decode(&good).unwrap();
    let mut boundaries = 0;
    for n in 0..good.len() {
        match decode(&good[..n]) {
            Err(e) => assert_eq!(e.code(), "truncated", "prefix {n}"),
            Ok(s) => {
                boundaries += 1;
                assert_eq!(
                    (s.session_id, s.seq, s.base_seq),
                    (full.session_id, full.seq, full.base_seq)
                );
                for (i, v) in s.delta.values.iter().enumerate() {
                    assert!(*v == 0 || *v == full.delta.values[i], "prefix {n}");
                }
            }
        }
    }
    assert!(
        (1..10).contains(&boundaries),
        "{boundaries} field boundaries"
    );
    assert!(rejected as usize >= good.len(), "{rejected} rejections");
    let room = m.room(ROOM).unwrap();
    // sessions 1 and 2 of the background: their first summaries (30 s each) counted once
    let watch_bg: u64 = 60_000;
    assert!(room.total.counters.totals.get(Counter::WatchMs) >= watch_bg);
    eprintln!(
        "{} mutated inputs: {} rejected, {} applied, {} duplicates, {} superseded",
        inputs.len(),
        rejected,
        st.applied,
        st.duplicates,
        st.superseded
    );
}

/// A cumulative counter that would overflow 64 bits (reachable only past the decoder's physical
/// limits, so through `ingest_summary` directly): rejected `overflow`, nothing changed.
#[test]
fn adversarial_counter_overflow_in_the_ledger() {
    let mut m = Merger::new();
    let mut delta = Totals::ZERO;
    delta.set(Counter::PlayedKbit, u64::MAX - 5);
    let s = |seq, base| Summary {
        session_id: sid(3),
        room_id: ROOM,
        seq,
        base_seq: base,
        start_ms: T0,
        span_ms: 1000,
        is_final: false,
        delta,
        state: State::default(),
    };
    assert_eq!(m.ingest_summary(&s(1, 0), "north"), Ok(Ingested::Applied));
    let before = merger_state(&m);
    // base 2 was never applied here: adopted, so cumulative = (u64::MAX - 5) + delta
    assert_eq!(
        m.ingest_summary(&s(3, 2), "north"),
        Err(MergeError::Overflow)
    );
    assert_eq!(MergeError::Overflow.field(), "counters");
    assert_eq!(merger_state(&m), before);
}
