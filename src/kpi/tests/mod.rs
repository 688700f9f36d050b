//! Native tests of the KPI engine.

mod caps;
mod edge;
mod goods;
mod ingest;
mod perf;
mod props;
mod retire;

use super::*;

pub(crate) const T0: i64 = 1_700_000_000_000;
pub(crate) const S: i64 = 1000;
pub(crate) const MIN: i64 = 60_000;

/// Event at `T0 + off` ms.
pub(crate) fn ev(id: &str, off: i64, kind: EventType) -> Event {
    Event::new(id, T0 + off, kind)
}

pub(crate) fn enter(id: &str, off: i64, viewer: &str, session: &str) -> Event {
    ev(id, off, EventType::Enter)
        .viewer(viewer)
        .session(session)
}

pub(crate) fn leave(id: &str, off: i64, viewer: &str, session: &str) -> Event {
    ev(id, off, EventType::Leave)
        .viewer(viewer)
        .session(session)
}

pub(crate) fn hb(id: &str, off: i64, viewer: &str, session: &str) -> Event {
    ev(id, off, EventType::Heartbeat)
        .viewer(viewer)
        .session(session)
}

pub(crate) fn paid(
    id: &str,
    off: i64,
    viewer: &str,
    order: &str,
    product: &str,
    fen: i64,
) -> Event {
    ev(id, off, EventType::OrderPaid)
        .viewer(viewer)
        .order(order)
        .product(product)
        .amount(fen)
}

/// Room from `T0` to `T0 + end_min` minutes.
pub(crate) fn room(end_min: i64) -> Room {
    let mut c = RoomConfig::new(T0).with_end(T0 + end_min * MIN);
    c.lateness_ms = 86_400_000;
    Room::new(c)
}

/// Ingests all events, panicking on any error.
pub(crate) fn feed(r: &mut Room, events: &[Event]) {
    let rep = r.ingest_events(events);
    assert!(
        rep.errors.is_empty(),
        "{:?}",
        &rep.errors[..rep.errors.len().min(3)]
    );
}

pub(crate) fn json(s: &Snapshot) -> serde_json::Value {
    serde_json::to_value(s).expect("snapshot serializes")
}
