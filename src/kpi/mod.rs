//! Live-commerce room KPIs: events, sessions, the KPI pyramid, slices and funnels.
//!
//! Pure Rust (no JS types): time is `i64` ms since the epoch, money is `i64` fen. Build a
//! [`Room`] from a [`RoomConfig`], feed it events ([`Room::ingest_event`], [`Room::ingest_json`],
//! [`Room::ingest_ndjson`], [`Room::ingest_columns`], ...), and take a [`Snapshot`] at any moment
//! with [`Room::snapshot`]. The definitions follow the product brief's KPI glossary and its ten
//! edge rules; every rate is a [`Rate`] carrying numerator and denominator.
//!
//! # Definition choices (beyond the brief's edge rules)
//! - **Acceptance.** Checks run in this order: field decoding (type, finiteness, integer fen,
//!   sign, absurd magnitude), required fields per kind, time range (more than
//!   `time_slack_ms` before the start or after the end → `out_of_range`), lateness (`ts` below the
//!   watermark − `lateness_ms` → `too_late`; the watermark is the highest accepted `ts`), then
//!   de-duplication (same id: same content → duplicate, else `id_conflict`, first arrival wins).
//!   An id is remembered exactly while the `ts` of its first copy is inside the lateness window
//!   (at lookup, an older entry counts as forgotten; memory is freed a generation at a time, so
//!   it is held for at most two windows): the outcome never depends on how the input was split
//!   into batches.
//! - **Memory caps** ([`Caps`] in [`RoomConfig::caps`]): a new viewer / session / product / order
//!   / label beyond its distinct-key cap, an id or label longer than `string_bytes`, a text longer
//!   than `text_bytes` (checked while decoding fields), or a new event id while the de-dup set
//!   holds `seen_ids` ids of the window (checked last) → `cap_exceeded` naming the field. Minute
//!   `m` ≥ `caps.minutes` is not tracked; a snapshot's horizon stops at start + `caps.minutes` min.
//! - **Order independence.** Within the window every result is independent of delivery order
//!   and batch split, except which copy wins an `id_conflict`. Ties use content, not arrival:
//!   a viewer's attributes come from the enter with the smallest (ts, content hash); an order
//!   paid twice keeps the payment with the smallest (ts, content hash).
//! - **Sessions.** A session exists once it has an enter; heartbeats/leaves before it wait
//!   (`stats.sessions_without_enter`). Start = earliest enter; end = latest leave (if any, never
//!   before the start), else max(last heartbeat, enter) + `session_timeout_ms`; clipped to
//!   [stream start, stream end). Watch time, PCU, ACU and online use the clipped intervals.
//!   观看次数 counts enter events; a viewer's watch time sums their sessions (overlaps not merged).
//! - **Live snapshots** (end unknown or now < end): time KPIs stop at the horizon min(now, end);
//!   the current minute is included; per-viewer quantiles count open sessions up to their
//!   provisional end (last heartbeat + timeout).
//! - **Minutes.** Minute m = [start + m·60 s, start + (m+1)·60 s); the number of minutes is
//!   ⌈(horizon − start) / 60 s⌉; an event exactly at the end belongs to the last minute.
//!   Segments are whole minutes: opening = first ⌈opening_ms / 60 s⌉, closing = last
//!   ⌈closing_ms / 60 s⌉ (only once the end is known; opening wins an overlap), middle = rest.
//! - **People.** New vs returning is decided at the viewer's first enter (rule 8); a buyer who
//!   never entered is counted apart (`not_entered`). Region / tier / source come from the same
//!   enter; missing → `null` group. Funnel "nested" = did every earlier step at any time;
//!   behaviour paths order the first enter / product exposure / click / payment by time.
//! - **Quantiles.** Nearest rank: the value at rank ⌈q·n⌉ of the sorted per-viewer watch times,
//!   over every viewer who entered (0 ms included).
//! - **Refunds** are matched to orders whenever they arrive; refund rate = refunds of paid
//!   orders / GMV; refunds of never-paid orders are reported apart.
#![forbid(unsafe_code)]

pub mod analysis;
pub mod columns;
pub mod compare;
pub mod error;
pub mod event;
pub mod gen;
pub mod room;
pub mod snapshot;
pub(crate) mod util;
mod wire;

#[cfg(test)]
mod tests;

pub use analysis::{lagged_correlation, nearest_rank, LagCorrelation, LagPoint};
pub use columns::{Columns, OwnedColumns, StringTable};
pub use compare::{compare, CompareRow, Comparison};
pub use error::{ErrorReason, IngestError, IngestReport, IngestStats, ReasonCount};
pub use event::{
    check_amount, check_count, check_time, to_ndjson, Event, EventType, SCHEMA_VERSION,
};
pub use gen::{generate, generate_ndjson, GenConfig, SplitMix64};
pub use room::{Caps, Outcome, Room, RoomConfig};
pub use snapshot::{
    Funnel, FunnelStep, GroupRow, Interactive, MinuteRow, NewReturning, PathRow, Peaks, People,
    ProcessLayer, ProductRow, Rate, ResultLayer, Scene, SegmentRow, Snapshot, VoteCount,
};
