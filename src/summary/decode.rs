//! Strict decoding and validation of a summary message. Never panics; every rejection has a
//! stable code and names the offending field.

use super::wire::{
    unzigzag, Counter, Limit, State, Summary, Totals, COUNTERS, COUNTER_FIELDS, COUNTER_LIMITS,
    COUNTER_NAMES, FLAG_FINAL, F_BITRATE, F_DEGRADED, F_FAILURE_CODE, F_LATENCY, F_LIVE_EDGE,
    F_LOAD_TO_FIRST_FRAME, F_RTT, F_STARTUP, F_STARTUP_FLAGS, MAGIC, MAX_MESSAGE_BYTES,
    MAX_ROOM_ID_BYTES, MAX_SPAN_MS, MAX_TIME_MS, STARTUP_AUTOPLAY_BLOCKED, STARTUP_HIDDEN,
    STARTUP_PRELOADED, VERSION, WIRE_BYTES, WIRE_FIXED32, WIRE_FIXED64, WIRE_VARINT,
};

/// Why a message was rejected. [`DecodeError::code`] is a stable snake_case name,
/// [`DecodeError::number`] a stable number, [`DecodeError::field`] the field concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DecodeError {
    /// 1 `oversized`: the message is longer than 8 KiB.
    Oversized,
    /// 2 `truncated`: the message ends inside the named field.
    Truncated(&'static str),
    /// 3 `bad_magic`: the first two bytes are not `"LQ"`.
    BadMagic,
    /// 4 `unsupported_version`: the version byte is not 1.
    UnsupportedVersion,
    /// 5 `reserved_flags`: a reserved header flag bit is set.
    ReservedFlags,
    /// 6 `bad_varint`: the named field's varint is longer than 10 bytes, overflows 64 bits or is
    /// not minimal (a redundant trailing zero byte).
    BadVarint(&'static str),
    /// 7 `bad_room_id`: the room id is empty, longer than 64 bytes or not UTF-8.
    BadRoomId,
    /// 8 `bad_sequence`: `seq` is 0 or above 2³²−1, or `base_seq` ≥ `seq`.
    BadSequence,
    /// 9 `bad_time`: `start_ms` beyond 10¹⁵ or the span longer than 24 h.
    BadTime(&'static str),
    /// 10 `absurd_value`: the named field is beyond its physical limit (see the format doc).
    Absurd(&'static str),
    /// 11 `bad_wire_type`: a known field has the wrong wire type, or a wire type is not 0, 1, 2, 5.
    BadWireType(&'static str),
    /// 12 `duplicate_field`: the named field occurs twice.
    DuplicateField(&'static str),
    /// 13 `bad_tag`: field number 0.
    BadTag,
}

impl DecodeError {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::Oversized => "oversized",
            DecodeError::Truncated(_) => "truncated",
            DecodeError::BadMagic => "bad_magic",
            DecodeError::UnsupportedVersion => "unsupported_version",
            DecodeError::ReservedFlags => "reserved_flags",
            DecodeError::BadVarint(_) => "bad_varint",
            DecodeError::BadRoomId => "bad_room_id",
            DecodeError::BadSequence => "bad_sequence",
            DecodeError::BadTime(_) => "bad_time",
            DecodeError::Absurd(_) => "absurd_value",
            DecodeError::BadWireType(_) => "bad_wire_type",
            DecodeError::DuplicateField(_) => "duplicate_field",
            DecodeError::BadTag => "bad_tag",
        }
    }

    /// Stable number (1..=13), in declaration order.
    pub fn number(&self) -> u8 {
        match self {
            DecodeError::Oversized => 1,
            DecodeError::Truncated(_) => 2,
            DecodeError::BadMagic => 3,
            DecodeError::UnsupportedVersion => 4,
            DecodeError::ReservedFlags => 5,
            DecodeError::BadVarint(_) => 6,
            DecodeError::BadRoomId => 7,
            DecodeError::BadSequence => 8,
            DecodeError::BadTime(_) => 9,
            DecodeError::Absurd(_) => 10,
            DecodeError::BadWireType(_) => 11,
            DecodeError::DuplicateField(_) => 12,
            DecodeError::BadTag => 13,
        }
    }

    /// The field concerned (wire name, as in the format doc and the JSON debug form).
    pub fn field(&self) -> &'static str {
        match *self {
            DecodeError::Oversized => "message",
            DecodeError::BadMagic => "magic",
            DecodeError::UnsupportedVersion => "version",
            DecodeError::ReservedFlags => "flags",
            DecodeError::BadRoomId => "room_id",
            DecodeError::BadSequence => "seq",
            DecodeError::BadTag => "tag",
            DecodeError::Truncated(f)
            | DecodeError::BadVarint(f)
            | DecodeError::BadTime(f)
            | DecodeError::Absurd(f)
            | DecodeError::BadWireType(f)
            | DecodeError::DuplicateField(f) => f,
        }
    }

    /// A static human-readable description of the rejection kind.
    pub fn message(&self) -> &'static str {
        match self {
            DecodeError::Oversized => "summary longer than 8192 bytes",
            DecodeError::Truncated(_) => "summary truncated inside a field",
            DecodeError::BadMagic => "not a livekpi summary (magic is not \"LQ\")",
            DecodeError::UnsupportedVersion => "unsupported summary format version",
            DecodeError::ReservedFlags => "reserved header flag bit set",
            DecodeError::BadVarint(_) => "malformed varint (too long, overflow or not minimal)",
            DecodeError::BadRoomId => "room id empty, longer than 64 bytes or not UTF-8",
            DecodeError::BadSequence => "seq must be 1..2^32-1 and base_seq < seq",
            DecodeError::BadTime(_) => "time out of range (start beyond 1e15 ms or span > 24 h)",
            DecodeError::Absurd(_) => "value beyond its physical limit",
            DecodeError::BadWireType(_) => "wrong or unknown wire type",
            DecodeError::DuplicateField(_) => "field repeated",
            DecodeError::BadTag => "field number 0",
        }
    }
}

#[cfg(feature = "console")]
impl core::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{}: {} (field {})",
            self.code(),
            self.message(),
            self.field()
        )
    }
}

#[cfg(feature = "console")]
impl std::error::Error for DecodeError {}

/// Largest latency, live-edge distance, startup or load-to-first-frame time, ms (24 h).
const MAX_STATE_MS: u64 = 86_400_000;
/// Largest time-sync RTT, ms (the monitor's own limit).
const MAX_RTT_MS: u64 = 600_000;
/// Largest bitrate, kbit/s (10 Gbit/s).
const MAX_BITRATE_KBPS: u64 = 10_000_000;

/// A byte cursor.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or(DecodeError::Truncated(field))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn byte(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.bytes(1, field)?[0])
    }

    /// A strict LEB128 varint: at most 10 bytes, fits 64 bits, minimal.
    #[inline(always)]
    fn varint(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        // Fast paths: most values of a summary are one byte (tags, small counters) or two.
        if let Some(&b) = self.buf.get(self.pos) {
            if b < 0x80 {
                self.pos += 1;
                return Ok(u64::from(b));
            }
            if let Some(&c) = self.buf.get(self.pos + 1) {
                if c < 0x80 && c != 0 {
                    self.pos += 2;
                    return Ok(u64::from(b & 0x7f) | u64::from(c) << 7);
                }
            }
        }
        self.varint_long().map_err(|bad| {
            if bad {
                DecodeError::BadVarint(field)
            } else {
                DecodeError::Truncated(field)
            }
        })
    }

    /// A varint of more than one byte (or none left): `Err(true)` when too long, overflowing or
    /// not minimal, `Err(false)` when the message ends inside it.
    #[inline(never)]
    fn varint_long(&mut self) -> Result<u64, bool> {
        let rest = self.buf.get(self.pos..).unwrap_or(&[]);
        let mut v: u64 = 0;
        for (i, &b) in rest.iter().take(10).enumerate() {
            if i == 9 && b > 1 {
                return Err(true);
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                if b == 0 && i > 0 {
                    return Err(true);
                }
                self.pos += i + 1;
                return Ok(v);
            }
        }
        // Fewer than 10 bytes left, all with the continuation bit (10 would have hit `i == 9`).
        Err(false)
    }

    fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }
}

/// Decodes and validates one summary. The room id borrows from `bytes`.
///
/// Checks: size ≤ 8 KiB, magic, version 1, no reserved flag bit, strict varints, room id 1..=64
/// bytes of UTF-8, 1 ≤ seq < 2³², base_seq < seq, start ≤ 10¹⁵ ms, span ≤ 24 h, each known
/// field at most once with its wire type, every counter within its physical limit for the span,
/// dropped ≤ total frames, state values within range. Unknown fields are skipped by wire type.
pub fn decode(bytes: &[u8]) -> Result<Summary<'_>, DecodeError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(DecodeError::Oversized);
    }
    let mut r = Reader { buf: bytes, pos: 0 };
    if r.bytes(2, "magic")? != MAGIC {
        return Err(DecodeError::BadMagic);
    }
    if r.byte("version")? != VERSION {
        return Err(DecodeError::UnsupportedVersion);
    }
    let flags = r.byte("flags")?;
    if flags & !FLAG_FINAL != 0 {
        return Err(DecodeError::ReservedFlags);
    }
    let mut session_id = [0u8; 16];
    session_id.copy_from_slice(r.bytes(16, "session_id")?);
    let seq = r.varint("seq")?;
    let base_seq = r.varint("base_seq")?;
    if seq == 0 || seq > u64::from(u32::MAX) || base_seq >= seq {
        return Err(DecodeError::BadSequence);
    }
    let room_len = r.varint("room_id")?;
    if room_len == 0 || room_len > MAX_ROOM_ID_BYTES as u64 {
        return Err(DecodeError::BadRoomId);
    }
    let room_id = core::str::from_utf8(r.bytes(room_len as usize, "room_id")?)
        .map_err(|_| DecodeError::BadRoomId)?;
    let start_ms = r.varint("start_ms")?;
    if start_ms > MAX_TIME_MS {
        return Err(DecodeError::BadTime("start_ms"));
    }
    let span_ms = r.varint("span_ms")?;
    if span_ms > MAX_SPAN_MS {
        return Err(DecodeError::BadTime("span_ms"));
    }

    let mut delta = Totals::ZERO;
    let mut seen_counters: u32 = 0;
    let mut state = State::default();
    let mut seen_state: u16 = 0;
    while !r.at_end() {
        let tag = r.varint("tag")?;
        let field = tag >> 3;
        let wire = (tag & 7) as u8;
        if field == 0 {
            return Err(DecodeError::BadTag);
        }
        let slot = if field < 64 { SLOTS[field as usize] } else { 0 };
        if slot == 0 {
            skip(&mut r, wire)?;
            continue;
        }
        if wire != WIRE_VARINT {
            return Err(DecodeError::BadWireType(slot_name(slot)));
        }
        let v = r.varint(slot_name(slot))?;
        if slot < STATE_SLOT {
            let i = usize::from(slot - 1);
            if seen_counters & (1 << i) != 0 {
                return Err(DecodeError::DuplicateField(COUNTER_NAMES[i]));
            }
            seen_counters |= 1 << i;
            delta.values[i] = v;
        } else {
            let j = usize::from(slot - STATE_SLOT);
            if seen_state & (1 << j) != 0 {
                return Err(DecodeError::DuplicateField(STATE_NAMES[j]));
            }
            seen_state |= 1 << j;
            set_state(&mut state, j, v)?;
        }
    }
    check_counters(&delta, seen_counters, span_ms)?;
    Ok(Summary {
        session_id,
        room_id,
        seq: seq as u32,
        base_seq: base_seq as u32,
        start_ms,
        span_ms,
        is_final: flags & FLAG_FINAL != 0,
        delta,
        state,
    })
}

/// State field numbers in slot order (the order of [`STATE_NAMES`]).
const STATE_FIELDS: [u8; 9] = [
    F_LATENCY,
    F_LIVE_EDGE,
    F_BITRATE,
    F_RTT,
    F_STARTUP,
    F_LOAD_TO_FIRST_FRAME,
    F_STARTUP_FLAGS,
    F_FAILURE_CODE,
    F_DEGRADED,
];

/// First slot code of a state field in [`SLOTS`].
const STATE_SLOT: u8 = 100;

/// Field number (< 64) → 0 (unknown), 1 + counter index, or [`STATE_SLOT`] + state slot.
const SLOTS: [u8; 64] = {
    let mut t = [0u8; 64];
    let mut i = 0;
    while i < COUNTERS {
        t[COUNTER_FIELDS[i] as usize] = i as u8 + 1;
        i += 1;
    }
    let mut j = 0;
    while j < STATE_FIELDS.len() {
        t[STATE_FIELDS[j] as usize] = STATE_SLOT + j as u8;
        j += 1;
    }
    t
};

/// Wire name of the known field of slot code `slot` (≠ 0) of [`SLOTS`].
#[inline(always)]
fn slot_name(slot: u8) -> &'static str {
    if slot < STATE_SLOT {
        COUNTER_NAMES[usize::from(slot - 1)]
    } else {
        STATE_NAMES[usize::from(slot - STATE_SLOT)]
    }
}

/// Wire name of each state field, by slot.
const STATE_NAMES: [&str; 9] = [
    "latency_ms",
    "live_edge_ms",
    "bitrate_kbps",
    "rtt_ms",
    "startup_ms",
    "load_to_first_frame_ms",
    "startup_flags",
    "failure_code",
    "degraded",
];

/// Skips an unknown field of wire type `wire`.
fn skip(r: &mut Reader<'_>, wire: u8) -> Result<(), DecodeError> {
    const F: &str = "unknown_field";
    match wire {
        WIRE_VARINT => r.varint(F).map(|_| ()),
        WIRE_FIXED64 => r.bytes(8, F).map(|_| ()),
        WIRE_BYTES => {
            let n = r.varint(F)?;
            let n = usize::try_from(n).map_err(|_| DecodeError::Truncated(F))?;
            r.bytes(n, F).map(|_| ())
        }
        WIRE_FIXED32 => r.bytes(4, F).map(|_| ()),
        _ => Err(DecodeError::BadWireType(F)),
    }
}

/// Stores state slot `j` (order of [`STATE_NAMES`]) after a range check.
fn set_state(st: &mut State, j: usize, v: u64) -> Result<(), DecodeError> {
    let name = STATE_NAMES[j];
    let within = |max: u64| {
        if v <= max {
            Ok(v)
        } else {
            Err(DecodeError::Absurd(name))
        }
    };
    match j {
        0 => {
            let l = unzigzag(v);
            if l.unsigned_abs() > MAX_STATE_MS {
                return Err(DecodeError::Absurd(name));
            }
            st.latency_ms = Some(l);
        }
        1 => st.live_edge_ms = Some(within(MAX_STATE_MS)?),
        2 => st.bitrate_kbps = Some(within(MAX_BITRATE_KBPS)?),
        3 => st.rtt_ms = Some(within(MAX_RTT_MS)?),
        4 => st.startup_ms = Some(within(MAX_STATE_MS)?),
        5 => st.load_to_first_frame_ms = Some(within(MAX_STATE_MS)?),
        6 => {
            let all = u64::from(STARTUP_AUTOPLAY_BLOCKED | STARTUP_PRELOADED | STARTUP_HIDDEN);
            st.startup_flags = Some(within(all)? as u8);
        }
        7 => st.failure_code = Some(within(u64::from(u32::MAX))? as u32),
        _ => st.degraded = Some(within(u64::from(u32::MAX))? as u32),
    }
    Ok(())
}

/// Physical limits of the counter deltas over `span_ms`; `seen` has bit i set for each counter
/// present (an absent counter is 0, within every limit), checked in index order.
fn check_counters(d: &Totals, seen: u32, span_ms: u64) -> Result<(), DecodeError> {
    let span = span_ms + 1000;
    let mut rest = seen;
    while rest != 0 {
        let i = rest.trailing_zeros() as usize;
        rest &= rest - 1;
        let v = d.values[i];
        let max = match COUNTER_LIMITS[i] {
            Limit::Ms => span,
            Limit::Every(n) => span / n + 1,
            Limit::PerMs(n) => span.saturating_mul(n),
            Limit::Flag => 1,
            Limit::LatencySum => d.get(Counter::LatencySamples).saturating_mul(MAX_STATE_MS),
        };
        if v > max {
            return Err(DecodeError::Absurd(COUNTER_NAMES[i]));
        }
    }
    if d.get(Counter::DroppedFrames) > d.get(Counter::TotalFrames) {
        return Err(DecodeError::Absurd("dropped_frames"));
    }
    Ok(())
}
