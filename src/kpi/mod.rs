//! Live-commerce room KPIs: events, sessions, the KPI pyramid, slices and funnels.
//!
//! Pure Rust (no JS types): time is `i64` ms since the epoch, money is `i64` fen. Build a
//! [`Room`] from a [`RoomConfig`], feed it events ([`Room::ingest_event`], [`Room::ingest_json`],
//! [`Room::ingest_ndjson`], [`Room::ingest_columns`], ...), and take a [`Snapshot`] at any moment
//! with [`Room::snapshot`]. The definitions follow the product brief's KPI glossary and its ten
//! edge rules; every rate is a [`Rate`] carrying numerator and denominator.
#![forbid(unsafe_code)]

pub mod analysis;
pub mod columns;
pub mod compare;
pub mod error;
pub mod event;
pub mod gen;
pub mod room;
pub mod snapshot;
mod util;

#[cfg(test)]
mod tests;

pub use analysis::{lagged_correlation, nearest_rank, LagCorrelation, LagPoint};
pub use columns::{Columns, OwnedColumns};
pub use compare::{compare, CompareRow, Comparison};
pub use error::{ErrorReason, IngestError, IngestReport, IngestStats, ReasonCount};
pub use event::{to_ndjson, Event, EventType, SCHEMA_VERSION};
pub use gen::{generate, generate_ndjson, GenConfig, SplitMix64};
pub use room::{Outcome, Room, RoomConfig};
pub use snapshot::{Rate, Snapshot};
