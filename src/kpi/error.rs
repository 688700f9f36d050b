//! Ingestion errors, per-batch reports and per-room ingestion statistics.

use serde::Serialize;

/// Why an event (or NDJSON line, or columnar row) was rejected. Each reason has a stable numeric
/// code ([`ErrorReason::code`]) and a stable snake_case name ([`ErrorReason::name`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorReason {
    /// Code 1: the NDJSON line is not valid JSON.
    InvalidJson,
    /// Code 2: the value is not a JSON object.
    NotAnObject,
    /// Code 3: `kind` names no known event kind (or the columnar kind code is unknown).
    UnknownKind,
    /// Code 4: a required field is absent or null.
    MissingField,
    /// Code 5: a field has the wrong JSON type (e.g. a string where a number is required).
    WrongType,
    /// Code 6: a number is NaN or infinite.
    NotFinite,
    /// Code 7: an amount or count is negative.
    Negative,
    /// Code 8: an amount (fen), count or id that must be an integer has a fractional part.
    NotInteger,
    /// Code 9: an absurd value: time far outside the stream, amount > 10^12 fen, count > 10^6.
    OutOfRange,
    /// Code 10: the event is older than the watermark minus the lateness window.
    TooLate,
    /// Code 11: the same event id was seen with different content.
    IdConflict,
    /// Code 12: the input bytes are not valid UTF-8.
    BadUtf8,
    /// Code 13: a columnar batch has a column whose length differs from `kind`'s.
    ColumnLength,
    /// Code 14: a columnar string index points outside the string table.
    BadIndex,
    /// Code 15: a memory cap of the room ([`super::RoomConfig`]) would be passed: a new key
    /// beyond the distinct-key cap of its field (viewer, session, product, order, labels), a
    /// string longer than its length cap, or a new event id while the de-duplication set is full.
    /// The event is rejected; everything already kept is unchanged.
    CapExceeded,
}

impl ErrorReason {
    /// All reasons, in code order.
    pub const ALL: [ErrorReason; 15] = [
        ErrorReason::InvalidJson,
        ErrorReason::NotAnObject,
        ErrorReason::UnknownKind,
        ErrorReason::MissingField,
        ErrorReason::WrongType,
        ErrorReason::NotFinite,
        ErrorReason::Negative,
        ErrorReason::NotInteger,
        ErrorReason::OutOfRange,
        ErrorReason::TooLate,
        ErrorReason::IdConflict,
        ErrorReason::BadUtf8,
        ErrorReason::ColumnLength,
        ErrorReason::BadIndex,
        ErrorReason::CapExceeded,
    ];

    /// Stable numeric code (1..=15).
    pub fn code(self) -> u16 {
        match self {
            ErrorReason::InvalidJson => 1,
            ErrorReason::NotAnObject => 2,
            ErrorReason::UnknownKind => 3,
            ErrorReason::MissingField => 4,
            ErrorReason::WrongType => 5,
            ErrorReason::NotFinite => 6,
            ErrorReason::Negative => 7,
            ErrorReason::NotInteger => 8,
            ErrorReason::OutOfRange => 9,
            ErrorReason::TooLate => 10,
            ErrorReason::IdConflict => 11,
            ErrorReason::BadUtf8 => 12,
            ErrorReason::ColumnLength => 13,
            ErrorReason::BadIndex => 14,
            ErrorReason::CapExceeded => 15,
        }
    }

    /// Stable snake_case name (the same string as the JSON serialization).
    pub fn name(self) -> &'static str {
        match self {
            ErrorReason::InvalidJson => "invalid_json",
            ErrorReason::NotAnObject => "not_an_object",
            ErrorReason::UnknownKind => "unknown_kind",
            ErrorReason::MissingField => "missing_field",
            ErrorReason::WrongType => "wrong_type",
            ErrorReason::NotFinite => "not_finite",
            ErrorReason::Negative => "negative",
            ErrorReason::NotInteger => "not_integer",
            ErrorReason::OutOfRange => "out_of_range",
            ErrorReason::TooLate => "too_late",
            ErrorReason::IdConflict => "id_conflict",
            ErrorReason::BadUtf8 => "bad_utf8",
            ErrorReason::ColumnLength => "column_length",
            ErrorReason::BadIndex => "bad_index",
            ErrorReason::CapExceeded => "cap_exceeded",
        }
    }

    pub(crate) fn index(self) -> usize {
        (self.code() - 1) as usize
    }
}

/// One rejected input: the offending field (e.g. `"ts"`, `"amount"`, `"kind"`; `""` for the whole
/// line), the reason, and the 1-based position in the batch (NDJSON line number, array element
/// number + 1, or columnar row + 1; `None` for single-event ingestion).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct IngestError {
    /// Name of the offending field as it appears in the JSON shape.
    pub field: &'static str,
    /// Why it was rejected.
    pub reason: ErrorReason,
    /// 1-based line / element / row number in the batch.
    pub line: Option<u32>,
}

impl IngestError {
    pub(crate) fn new(field: &'static str, reason: ErrorReason) -> Self {
        IngestError {
            field,
            reason,
            line: None,
        }
    }
}

impl std::fmt::Display for IngestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(
                f,
                "line {l}: field `{}`: {}",
                self.field,
                self.reason.name()
            ),
            None => write!(f, "field `{}`: {}", self.field, self.reason.name()),
        }
    }
}

impl std::error::Error for IngestError {}

/// Maximum number of [`IngestError`]s kept in one [`IngestReport`] (counts stay complete).
pub const MAX_REPORTED_ERRORS: usize = 1000;

/// Outcome of one ingestion call.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct IngestReport {
    /// Events accepted and applied (first copies).
    pub accepted: u64,
    /// Exact duplicates (same id, same content) ignored.
    pub duplicates: u64,
    /// Rejected inputs (all of them are counted, see `rejected`).
    pub rejected: u64,
    /// The first [`MAX_REPORTED_ERRORS`] errors, in input order.
    pub errors: Vec<IngestError>,
}

impl IngestReport {
    pub(crate) fn push_error(&mut self, e: IngestError) {
        self.rejected += 1;
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(e);
        }
    }
}

/// Cumulative ingestion statistics of a room.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct IngestStats {
    /// Events accepted (first copies).
    pub accepted: u64,
    /// Exact duplicates ignored.
    pub duplicates: u64,
    /// Rejected inputs, all reasons together.
    pub rejected: u64,
    /// Rejections per reason, as `(name, code, count)` for every reason with a non-zero count.
    pub rejected_by_reason: Vec<ReasonCount>,
    /// Order-paid events for an order already paid (counted once, see edge rule 7).
    pub repeat_payments: u64,
    /// Enter events for a session that already had one (session start = earliest enter).
    pub repeat_enters: u64,
    /// Sessions with heartbeats or a leave but no enter yet (not counted as entries or watch time).
    pub sessions_without_enter: u64,
    /// Highest accepted event time (ms); the lateness window trails it.
    pub watermark_ms: Option<i64>,
}

/// Rejection count for one reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReasonCount {
    /// Stable snake_case name.
    pub reason: &'static str,
    /// Stable numeric code.
    pub code: u16,
    /// Number of rejected inputs.
    pub count: u64,
}
