//! Memory caps (issue 9): each key space is bounded; events over a cap are rejected with
//! `cap_exceeded` naming the field, counted per reason, and the valid rest is kept — through the
//! object, NDJSON and columnar paths alike.

use super::*;

fn capped(f: impl FnOnce(&mut Caps)) -> Room {
    let mut c = RoomConfig::new(T0).with_end(T0 + 60 * MIN);
    c.lateness_ms = 86_400_000;
    f(&mut c.caps);
    Room::new(c)
}

fn cap_count(r: &Room) -> u64 {
    r.stats()
        .rejected_by_reason
        .iter()
        .find(|c| c.reason == "cap_exceeded")
        .map_or(0, |c| c.count)
}

/// Rejections of a batch: (line, field, reason).
type Errs = Vec<(Option<u32>, &'static str, ErrorReason)>;
/// A cap setter, the event with key `i`, and the field the cap names.
type Case = (fn(&mut Caps), fn(usize) -> Event, &'static str);

/// Runs `events` through each ingestion path in a fresh room; returns (accepted, errors) per path.
fn each_path(mk: &dyn Fn() -> Room, events: &[Event]) -> Vec<(u64, Errs)> {
    let mut out = Vec::new();
    let errs = |rep: &IngestReport| {
        rep.errors
            .iter()
            .map(|e| (e.line, e.field, e.reason))
            .collect::<Vec<_>>()
    };
    let mut r = mk();
    let rep = r.ingest_events(events);
    out.push((rep.accepted, errs(&rep)));
    let mut r = mk();
    let rep = r.ingest_ndjson(&to_ndjson(events));
    out.push((rep.accepted, errs(&rep)));
    let mut r = mk();
    let rep = r.ingest_columns(&OwnedColumns::from_events(events).view());
    out.push((rep.accepted, errs(&rep)));
    out
}

#[test]
fn kpi_caps_distinct_keys_per_field() {
    let cases: [Case; 5] = [
        (
            |c| c.viewers = 3,
            |i| {
                enter(
                    &format!("e{i}"),
                    i as i64 * S,
                    &format!("v{i}"),
                    &format!("s{i}"),
                )
            },
            "viewer",
        ),
        (
            |c| c.sessions = 3,
            |i| enter(&format!("e{i}"), i as i64 * S, "v", &format!("s{i}")),
            "session",
        ),
        (
            |c| c.products = 3,
            |i| {
                ev(&format!("e{i}"), i as i64 * S, EventType::ProductClick)
                    .viewer("v")
                    .product(format!("p{i}"))
            },
            "product",
        ),
        (
            |c| c.orders = 3,
            |i| {
                paid(
                    &format!("e{i}"),
                    i as i64 * S,
                    "v",
                    &format!("o{i}"),
                    "p",
                    100,
                )
            },
            "order",
        ),
        (
            |c| c.labels = 3,
            |i| {
                enter(
                    &format!("e{i}"),
                    i as i64 * S,
                    &format!("v{i}"),
                    &format!("s{i}"),
                )
                .region(format!("r{i}"))
            },
            "region",
        ),
    ];
    for (set, mk, field) in cases {
        let mut events: Vec<Event> = (0..5).map(mk).collect();
        // a later event of an already-known key is still accepted
        events.push(Event {
            id: "again".into(),
            ts: T0 + 10 * S,
            ..mk(1)
        });
        for (path, (accepted, errors)) in each_path(&|| capped(set), &events).iter().enumerate() {
            assert_eq!(*accepted, 4, "{field} path {path}");
            assert_eq!(
                errors,
                &vec![
                    (Some(4), field, ErrorReason::CapExceeded),
                    (Some(5), field, ErrorReason::CapExceeded)
                ],
                "{field} path {path}"
            );
        }
        let mut r = capped(set);
        r.ingest_events(&events);
        assert_eq!(cap_count(&r), 2, "{field}");
        assert_eq!(r.stats().accepted, 4, "{field}");
    }
}

#[test]
fn kpi_caps_string_lengths() {
    let long = "x".repeat(257);
    let events = vec![
        enter("1", 0, &long, "s1"),
        enter("2", S, "v", &long),
        ev("3", 2 * S, EventType::Comment)
            .viewer("v")
            .text("y".repeat(65_537)),
        enter(&format!("id-{long}"), 3 * S, "v", "s1"),
        ev("4", 4 * S, EventType::Comment).viewer("v").text("ok"),
    ];
    for (path, (accepted, errors)) in each_path(&|| capped(|_| {}), &events).iter().enumerate() {
        assert_eq!(*accepted, 1, "path {path}");
        assert_eq!(
            errors,
            &vec![
                (Some(1), "viewer", ErrorReason::CapExceeded),
                (Some(2), "session", ErrorReason::CapExceeded),
                (Some(3), "text", ErrorReason::CapExceeded),
                (Some(4), "id", ErrorReason::CapExceeded),
            ],
            "path {path}"
        );
    }
    // exactly at the cap is fine
    let mut r = capped(|_| {});
    feed(&mut r, &[enter("1", 0, &"v".repeat(256), "s1")]);
}

#[test]
fn kpi_caps_seen_ids_and_eviction() {
    let mut c = RoomConfig::new(T0).with_end(T0 + 600 * MIN);
    c.lateness_ms = MIN;
    c.caps.seen_ids = 3;
    let mut r = Room::new(c);
    let like = |id: &str, off: i64| ev(id, off, EventType::Like).viewer("v");
    feed(&mut r, &[like("1", 0), like("2", S), like("3", 2 * S)]);
    // full: a new id inside the window is rejected, a duplicate is still recognised
    let rep = r.ingest_events(&[like("4", 3 * S), like("2", S)]);
    assert_eq!(rep.accepted, 0);
    assert_eq!(rep.duplicates, 1);
    assert_eq!(rep.errors.len(), 1);
    assert_eq!(
        (rep.errors[0].field, rep.errors[0].reason),
        ("id", ErrorReason::CapExceeded)
    );
    // once the window moved past the old ids, they are forgotten and new ids fit again
    let rep = r.ingest_events(&[like("5", 5 * MIN)]);
    assert_eq!(rep.accepted, 1, "{:?}", rep.errors);
    let rep = r.ingest_events(&[like("6", 5 * MIN + S), like("7", 5 * MIN + 2 * S)]);
    assert_eq!(rep.accepted, 2, "{:?}", rep.errors);
    assert_eq!(cap_count(&r), 1);
}

#[test]
fn kpi_caps_minutes_and_far_future_snapshot() {
    // unknown end: a snapshot far in the future shows at most caps.minutes rows
    let mut r = Room::new(RoomConfig::new(T0));
    feed(&mut r, &[enter("1", 0, "v", "s")]);
    let far = T0 + 10 * 365 * 86_400_000;
    let s = r.snapshot(far);
    assert_eq!(s.minutes, 4_320);
    assert_eq!(s.scene.minutes.len(), 4_320);
    assert_eq!(s.horizon_ms, T0 + 4_320 * MIN);
    // a smaller cap: events past it still count in the totals, not in minute rows
    let mut c = RoomConfig::new(T0);
    c.caps.minutes = 10;
    let mut r = Room::new(c);
    feed(
        &mut r,
        &[
            ev("1", MIN, EventType::Like).viewer("v"),
            ev("2", 20 * MIN, EventType::Like).viewer("v"),
        ],
    );
    let s = r.snapshot(T0 + 30 * MIN);
    assert_eq!(s.minutes, 10);
    assert_eq!(s.scene.minutes.len(), 10);
    assert_eq!(s.process.likes, 2);
}

#[test]
fn kpi_absurd_timestamps_rejected_on_ts() {
    let year = 365 * 86_400_000;
    let events = vec![
        ev("1", 30 * year, EventType::Like).viewer("v"),
        ev("2", -30 * year, EventType::Like).viewer("v"),
        ev("3", 4 * 86_400_000, EventType::Like).viewer("v"),
        ev("4", MIN, EventType::Like).viewer("v"),
    ];
    // unknown end: the window is [start − 24 h, start + 48 h + 24 h]
    for (path, (accepted, errors)) in each_path(&|| Room::new(RoomConfig::new(T0)), &events)
        .iter()
        .enumerate()
    {
        assert_eq!(*accepted, 1, "path {path}");
        assert_eq!(
            errors,
            &vec![
                (Some(1), "ts", ErrorReason::OutOfRange),
                (Some(2), "ts", ErrorReason::OutOfRange),
                (Some(3), "ts", ErrorReason::OutOfRange),
            ],
            "path {path}"
        );
    }
}
