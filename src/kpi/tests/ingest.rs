//! Ingestion paths and bad input.

use super::*;
use serde_json::json;

fn small_gen(seed: u64) -> (GenConfig, Vec<Event>) {
    let mut g = GenConfig::new(seed);
    g.arrivals = 400;
    g.duration_min = 40;
    g.products = 5;
    let ev = generate(&g);
    (g, ev)
}

fn gen_room(g: &GenConfig) -> Room {
    let mut c = RoomConfig::new(g.stream_start_ms).with_end(g.stream_end_ms());
    c.lateness_ms = g.lateness_ms;
    Room::new(c)
}

#[test]
fn kpi_ingestion_paths_identical() {
    let (g, events) = small_gen(7);
    assert!(events.len() > 1000);
    let now = g.stream_end_ms() + 3 * 3_600_000;

    let mut a = gen_room(&g);
    let rep = a.ingest_events(&events);
    assert!(
        rep.errors.is_empty(),
        "{:?}",
        &rep.errors[..rep.errors.len().min(3)]
    );
    assert!(rep.duplicates > 0);
    let sa = json(&a.snapshot(now));

    let mut b = gen_room(&g);
    let rep_b = b.ingest_ndjson(&to_ndjson(&events));
    assert_eq!(rep, rep_b);
    assert_eq!(sa, json(&b.snapshot(now)));

    let mut c = gen_room(&g);
    let cols = OwnedColumns::from_events(&events);
    let rep_c = c.ingest_columns(&cols.view());
    assert_eq!(rep, rep_c);
    assert_eq!(sa, json(&c.snapshot(now)));

    let mut d = gen_room(&g);
    let values: Vec<serde_json::Value> = events.iter().map(|e| e.to_json()).collect();
    d.ingest_json_values(&values);
    assert_eq!(sa, json(&d.snapshot(now)));

    let mut e = gen_room(&g);
    for x in &events {
        let _ = e.ingest_event(x);
    }
    assert_eq!(sa, json(&e.snapshot(now)));

    // serde Deserialize of the JSON shape
    let back: Vec<Event> =
        serde_json::from_str(&serde_json::to_string(&events).expect("ser")).expect("de");
    assert_eq!(back, events);

    // unknown end, ended later: same numbers
    let mut f = Room::new(RoomConfig {
        stream_end_ms: None,
        ..gen_room(&g).config().clone()
    });
    f.ingest_events(&events);
    f.end_stream(g.stream_end_ms());
    assert_eq!(sa, json(&f.snapshot(now)));
}

fn err_of(r: &mut Room, line: &str) -> (&'static str, ErrorReason) {
    let rep = r.ingest_ndjson(line);
    assert_eq!(rep.errors.len(), 1, "{line}: {:?}", rep.errors);
    (rep.errors[0].field, rep.errors[0].reason)
}

#[test]
fn kpi_bad_input_each_reason() {
    use ErrorReason::*;
    let mut r = Room::new(RoomConfig::new(T0).with_end(T0 + 60 * MIN));
    let t = T0 + S;
    let cases: Vec<(String, &str, ErrorReason)> = vec![
        ("{not json".into(), "", InvalidJson),
        ("[1,2]".into(), "", NotAnObject),
        (
            json!({"id":"1","ts":t,"kind":"dance","viewer":"a"}).to_string(),
            "kind",
            UnknownKind,
        ),
        (
            json!({"id":"1","ts":t,"viewer":"a"}).to_string(),
            "kind",
            MissingField,
        ),
        (
            json!({"id":"1","ts":t,"kind":"like"}).to_string(),
            "viewer",
            MissingField,
        ),
        (
            json!({"ts":t,"kind":"like","viewer":"a"}).to_string(),
            "id",
            MissingField,
        ),
        (
            json!({"id":"1","kind":"like","viewer":"a"}).to_string(),
            "ts",
            MissingField,
        ),
        (
            json!({"id":"1","ts":"x","kind":"like","viewer":"a"}).to_string(),
            "ts",
            WrongType,
        ),
        (
            json!({"id":"1","ts":t,"kind":"gift","viewer":"a","amount":-5}).to_string(),
            "amount",
            Negative,
        ),
        (
            json!({"id":"1","ts":t,"kind":"gift","viewer":"a","amount":1.5}).to_string(),
            "amount",
            NotInteger,
        ),
        (
            json!({"id":"1","ts":t,"kind":"gift","viewer":"a","amount":1e13}).to_string(),
            "amount",
            OutOfRange,
        ),
        (
            json!({"id":"1","ts":t,"kind":"gift","viewer":"a"}).to_string(),
            "amount",
            MissingField,
        ),
        (
            json!({"id":"1","ts":t,"kind":"order_paid","viewer":"a","order":"o","amount":5})
                .to_string(),
            "product",
            MissingField,
        ),
        (
            json!({"id":"1","ts":t,"kind":"enter","viewer":"a"}).to_string(),
            "session",
            MissingField,
        ),
        (
            json!({"id":"1","ts":t,"kind":"like","viewer":"a","count":-1}).to_string(),
            "count",
            Negative,
        ),
        (
            json!({"id":"1","ts":t + 400 * 86_400_000i64,"kind":"like","viewer":"a"}).to_string(),
            "ts",
            OutOfRange,
        ),
        (
            json!({"id":"1","ts":t,"kind":"enter","viewer":"a","session":"s","seen_before":"yes"})
                .to_string(),
            "seen_before",
            WrongType,
        ),
        (
            json!({"id":-3,"ts":t,"kind":"like","viewer":"a"}).to_string(),
            "id",
            Negative,
        ),
    ];
    for (line, f, reason) in &cases {
        assert_eq!(err_of(&mut r, line), (*f, *reason), "{line}");
    }
    // bad UTF-8 and line numbers; the rest of the batch is kept
    let mut bytes = json!({"id":"a1","ts":t,"kind":"like","viewer":"a"})
        .to_string()
        .into_bytes();
    bytes.extend_from_slice(b"\n\xff\xfe\n\n");
    bytes.extend_from_slice(
        json!({"id":"a2","ts":t,"kind":"like","viewer":"b"})
            .to_string()
            .as_bytes(),
    );
    let rep = r.ingest_ndjson_bytes(&bytes);
    assert_eq!((rep.accepted, rep.rejected), (2, 1));
    assert_eq!(
        rep.errors[0],
        IngestError {
            field: "",
            reason: BadUtf8,
            line: Some(2)
        }
    );
    // too late: beyond the lateness window (5 min by default)
    r.ingest_ndjson(&json!({"id":"w","ts":T0 + 30 * MIN,"kind":"like","viewer":"a"}).to_string());
    let late =
        json!({"id":"l","ts":T0 + 30 * MIN - 300_001,"kind":"like","viewer":"a"}).to_string();
    assert_eq!(err_of(&mut r, &late), ("ts", TooLate));
    let edge =
        json!({"id":"l2","ts":T0 + 30 * MIN - 300_000,"kind":"like","viewer":"a"}).to_string();
    assert_eq!(r.ingest_ndjson(&edge).accepted, 1);
    // stats count every reason
    let st = r.stats();
    let count = |name: &str| {
        st.rejected_by_reason
            .iter()
            .find(|c| c.reason == name)
            .map_or(0, |c| c.count)
    };
    assert_eq!(count("missing_field"), 7);
    assert_eq!(count("too_late"), 1);
    assert_eq!(count("bad_utf8"), 1);
    assert_eq!(st.rejected, cases.len() as u64 + 2);
    assert_eq!(r.snapshot(T0 + 60 * MIN).process.like_events, 4);
}

#[test]
fn kpi_bad_columns() {
    let mut r = room(60);
    let strings = vec!["a".to_string(), "p".to_string()];
    let kind = [5u8, 5, 42, 9, 5];
    let ts = [
        (T0 + S) as f64,
        f64::NAN,
        (T0 + S) as f64,
        (T0 + S) as f64,
        (T0 + S) as f64,
    ];
    let id = [1.0, 2.0, 3.0, 4.0, 5.5];
    let viewer = [0u32, 0, 0, 0, 7];
    let amount = [f64::NAN, f64::NAN, f64::NAN, -1.0, f64::NAN];
    let c = Columns {
        kind: &kind,
        ts: &ts,
        id: &id,
        viewer: &viewer,
        amount: &amount,
        strings: (&strings).into(),
        ..Columns::default()
    };
    let rep = r.ingest_columns(&c);
    let got: Vec<(&str, ErrorReason, Option<u32>)> = rep
        .errors
        .iter()
        .map(|e| (e.field, e.reason, e.line))
        .collect();
    assert_eq!(
        got,
        vec![
            ("ts", ErrorReason::NotFinite, Some(2)),
            ("kind", ErrorReason::UnknownKind, Some(3)),
            ("amount", ErrorReason::Negative, Some(4)),
            ("id", ErrorReason::NotInteger, Some(5)),
        ]
    );
    assert_eq!(rep.accepted, 1);
    let short = [1.0];
    let c2 = Columns {
        amount: &short,
        ..c
    };
    let rep = r.ingest_columns(&c2);
    assert_eq!(rep.errors[0].reason, ErrorReason::ColumnLength);
    assert_eq!(rep.errors[0].field, "amount");
    let bad_idx = [0u32, 0, 0, 0, 99];
    let id2 = [11.0, 12.0, 13.0, 14.0, 15.0];
    let c3 = Columns {
        viewer: &bad_idx,
        id: &id2,
        ..c
    };
    let rep = r.ingest_columns(&c3);
    assert!(rep
        .errors
        .iter()
        .any(|e| e.reason == ErrorReason::BadIndex && e.field == "viewer"));
}

#[test]
fn kpi_generator_is_deterministic_and_realistic() {
    let (g, a) = small_gen(3);
    let (_, b) = small_gen(3);
    assert_eq!(a, b);
    let (_, c) = small_gen(4);
    assert_ne!(a, c);
    let mut r = gen_room(&g);
    let rep = r.ingest_events(&a);
    assert!(rep.errors.is_empty());
    let s = r.snapshot(g.stream_end_ms());
    assert!(s.result.orders > 0 && s.result.refund_fen > 0);
    assert!(s.result.unknown_order_refund_fen > 0);
    assert!(s.process.pcu > 5 && s.process.viewers > 100);
    assert!(s.funnel.steps.iter().all(|x| x.people > 0));
}

#[test]
fn kpi_extreme_struct_values_do_not_panic() {
    let mut r = room(60);
    for (i, ts) in [i64::MIN, i64::MAX, -1, 0].into_iter().enumerate() {
        let e = Event::new(i.to_string(), ts, EventType::Gift)
            .viewer("a")
            .amount(i64::MIN)
            .follower_since(i64::MIN);
        assert!(r.ingest_event(&e).is_err());
    }
    let e = ev("9", 0, EventType::Enter)
        .viewer("a")
        .session("s")
        .follower_since(i64::MIN);
    assert_eq!(
        r.ingest_event(&e).map_err(|e| (e.field, e.reason)),
        Err(("follower_since_ms", ErrorReason::OutOfRange))
    );
    let _ = r.snapshot(i64::MAX);
    let _ = r.snapshot(i64::MIN);
}

#[test]
fn kpi_extreme_config_does_not_panic() {
    for start in [i64::MIN, i64::MAX, 0] {
        let mut c = RoomConfig::new(start);
        c.lateness_ms = i64::MIN;
        c.time_slack_ms = i64::MAX;
        c.max_duration_ms = i64::MAX;
        c.opening_ms = i64::MIN;
        c.closing_ms = i64::MAX;
        c.max_lag_minutes = usize::MAX;
        let mut r = Room::new(c);
        let _ = r.ingest_event(
            &Event::new("1", start, EventType::Enter)
                .viewer("a")
                .session("s"),
        );
        let _ = r.ingest_event(&Event::new("2", start / 2, EventType::Like).viewer("a"));
        let _ = r.snapshot(i64::MAX);
        r.end_stream(i64::MAX);
        let _ = r.snapshot(i64::MAX);
        r.end_stream(i64::MIN);
        let _ = r.snapshot(0);
    }
}

#[test]
fn kind_names_round_trip() {
    for k in EventType::ALL {
        assert_eq!(EventType::from_name(k.name()), Some(k));
    }
    assert_eq!(EventType::from_name("Enter"), None);
}

/// A packed string table (one text and the entries' end offsets, as the wasm binding passes
/// it) ingests exactly as the list of strings does; entries with bad bounds read as missing.
#[test]
fn packed_string_table_equals_the_list() {
    let (g, ev) = small_gen(11);
    let mut cols = OwnedColumns::from_events(&ev);
    cols.strings.push("直播间 é 😀".into()); // a non-ASCII entry (unreferenced)
    let mut text = String::new();
    let mut ends = Vec::new();
    for s in &cols.strings {
        text.push_str(s);
        ends.push(text.len() as u32);
    }
    let mut a = gen_room(&g);
    let mut b = gen_room(&g);
    let ra = a.ingest_columns(&cols.view());
    let packed = Columns {
        strings: StringTable::Packed {
            text: &text,
            ends: &ends,
        },
        ..cols.view()
    };
    assert_eq!(packed.strings.len(), cols.strings.len());
    for (k, s) in cols.strings.iter().enumerate() {
        assert_eq!(packed.strings.get(k), Some(s.as_str()));
    }
    let rb = b.ingest_columns(&packed);
    assert_eq!(ra, rb);
    assert!(ra.accepted > 1000);
    let end = g.stream_end_ms();
    assert_eq!(
        serde_json::to_value(a.snapshot(end)).unwrap(),
        serde_json::to_value(b.snapshot(end)).unwrap()
    );
    // bounds out of order, past the end, or inside a character: missing
    let t = "aé";
    for ends in [&[2u32, 1][..], &[1, 9], &[1, 2]] {
        let st = StringTable::Packed { text: t, ends };
        assert_eq!(st.get(1), None, "{ends:?}");
    }
    assert_eq!(
        StringTable::Packed {
            text: t,
            ends: &[1, 3]
        }
        .get(1),
        Some("é")
    );
    assert_eq!(StringTable::default().get(0), None);
}
