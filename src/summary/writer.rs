//! The player side: turns [`QoeMetrics`] snapshots into summaries relative to the last
//! acknowledged one.

use alloc::string::String;
use alloc::vec::Vec;

use super::wire::{
    encode, Counter, State, Summary, Totals, MAX_ROOM_ID_BYTES, MAX_SPAN_MS, MAX_TIME_MS,
    STARTUP_AUTOPLAY_BLOCKED, STARTUP_HIDDEN, STARTUP_PRELOADED,
};
use crate::qoe::QoeMetrics;

/// How many sent-but-unacknowledged summaries the writer remembers (an ack of an older one is
/// ignored and the base stays where it was, which is always safe).
pub const UNACKED_MEMORY: usize = 16;

/// `x` rounded to the nearest non-negative integer (NaN and negatives → 0, saturating).
#[inline]
fn round_u(x: f64) -> u64 {
    if x > 0.0 {
        (x + 0.5) as u64
    } else {
        0
    }
}

/// `x` rounded to the nearest integer, halves away from zero (NaN → 0, saturating).
#[inline]
fn round_i(x: f64) -> i64 {
    if x >= 0.0 {
        (x + 0.5) as i64
    } else if x < 0.0 {
        -((-x + 0.5) as i64)
    } else {
        0
    }
}

/// The view's cumulative counters from a metrics snapshot (durations rounded to ms, flags 0/1;
/// see [`Counter`] for each definition).
pub fn totals_from_metrics(m: &QoeMetrics) -> Totals {
    use Counter as C;
    let mut t = Totals::ZERO;
    let pairs: [(Counter, f64); 21] = [
        (C::WatchMs, m.watch_ms),
        (C::PlayingMs, m.playing_ms),
        (C::StallMs, m.stall_ms),
        (C::StallCount, f64::from(m.stall_count)),
        (C::TotalFrames, f64::from(m.total_frames)),
        (C::DroppedFrames, f64::from(m.dropped_frames)),
        (
            C::PlayedKbit,
            m.bitrate_mean_bps.unwrap_or(0.0) * m.playing_ms / 1e6,
        ),
        (
            C::LatencySumMs,
            m.latency_mean_ms.unwrap_or(0.0) * f64::from(m.latency_samples),
        ),
        (C::LatencySamples, f64::from(m.latency_samples)),
        (C::HiddenMs, m.hidden_ms),
        (C::PausedMs, m.paused_ms),
        (C::FreezeCount, f64::from(m.freeze_count)),
        (C::FreezeMs, m.freeze_ms),
        (C::Freeze500Count, f64::from(m.freeze_500_count)),
        (C::Freeze500Ms, m.freeze_500_ms),
        (C::SeekCount, f64::from(m.seek_count)),
        (C::ErrorCount, f64::from(m.error_count)),
        (C::BitrateSwitchUp, f64::from(m.bitrate_switch_up)),
        (C::BitrateSwitchDown, f64::from(m.bitrate_switch_down)),
        (C::UpscaleMs, m.upscale_ms),
        (C::DownscaleMs, m.downscale_ms),
    ];
    for (c, v) in pairs {
        t.set(c, round_u(v));
    }
    t.set(C::Started, u64::from(m.started));
    t.set(C::ExitBeforeStart, u64::from(m.exit_before_start));
    t.set(C::StartupFailure, u64::from(m.startup_failure));
    t.set(C::PlaybackFailure, u64::from(m.playback_failure));
    t
}

/// The state fields from a metrics snapshot (all of them; the writer drops the once-per-view
/// ones that the acknowledged base already carries).
pub fn state_from_metrics(m: &QoeMetrics) -> State {
    let flags = if m.autoplay_blocked {
        STARTUP_AUTOPLAY_BLOCKED
    } else {
        0
    } | if m.preloaded { STARTUP_PRELOADED } else { 0 }
        | if m.hidden_during_startup {
            STARTUP_HIDDEN
        } else {
            0
        };
    State {
        latency_ms: m.latency_last_ms.map(round_i),
        live_edge_ms: m.live_edge_last_s.map(|s| round_u(s * 1000.0)),
        bitrate_kbps: m.bitrate_last_bps.map(|b| round_u(b / 1000.0)),
        rtt_ms: m.rtt_last_ms.map(round_u),
        startup_ms: m.startup_ms.map(round_u),
        load_to_first_frame_ms: m.load_to_first_frame_ms.map(round_u),
        startup_flags: Some(flags),
        failure_code: (m.failure_code != 0).then_some(m.failure_code),
        degraded: (m.degraded != 0).then_some(m.degraded),
    }
}

/// A sent summary the collector may still acknowledge.
#[derive(Clone, Copy, Debug)]
struct Sent {
    seq: u32,
    end_ms: u64,
    totals: Totals,
}

/// Writes one view's summaries (player side).
///
/// Protocol: every summary carries the view's cumulative counters minus those of the last
/// summary the collector *acknowledged* (its `base_seq`), so all summaries written since that ack
/// are cumulative since the same base and a newer one supersedes the older ones: a retry queue
/// may keep only the newest unacknowledged summary, and resending or duplicating any of them never
/// double counts at a collector that de-duplicates by (session, seq) (see `docs/summary-format.md`).
/// Counters are kept monotone (a high-water mark) so deltas are never negative.
#[derive(Clone, Debug)]
pub struct SummaryWriter {
    session_id: [u8; 16],
    room_id: String,
    next_seq: u32,
    base_seq: u32,
    base_end_ms: u64,
    base: Totals,
    high: Totals,
    sent: Vec<Sent>,
}

impl SummaryWriter {
    /// A writer for one view. `session_id`: 16 random bytes (the binding draws them with
    /// `getrandom`); `room_id`: 1..=64 bytes of UTF-8; `view_start_ms`: client epoch ms of the
    /// view start (the monitor's creation). `None` when the room id is empty or too long.
    pub fn new(session_id: [u8; 16], room_id: &str, view_start_ms: f64) -> Option<SummaryWriter> {
        if room_id.is_empty() || room_id.len() > MAX_ROOM_ID_BYTES {
            return None;
        }
        Some(SummaryWriter {
            session_id,
            room_id: String::from(room_id),
            next_seq: 1,
            base_seq: 0,
            base_end_ms: round_u(view_start_ms).min(MAX_TIME_MS),
            base: Totals::ZERO,
            high: Totals::ZERO,
            sent: Vec::new(),
        })
    }

    /// Appends the next summary for the metrics at `now_ms` (client epoch ms) to `out` and
    /// returns its sequence number. `is_final`: the view is over (page hide, source change, fatal
    /// error); write nothing after it.
    pub fn write(
        &mut self,
        now_ms: f64,
        metrics: &QoeMetrics,
        is_final: bool,
        out: &mut Vec<u8>,
    ) -> u32 {
        self.write_totals(
            now_ms,
            &totals_from_metrics(metrics),
            &state_from_metrics(metrics),
            is_final,
            out,
        )
    }

    /// [`Self::write`] from cumulative counters and state directly.
    pub fn write_totals(
        &mut self,
        now_ms: f64,
        cumulative: &Totals,
        state: &State,
        is_final: bool,
        out: &mut Vec<u8>,
    ) -> u32 {
        self.high.max_assign(cumulative);
        let seq = self.next_seq;
        self.next_seq = self.next_seq.saturating_add(1);
        let end_ms = round_u(now_ms).clamp(self.base_end_ms, MAX_TIME_MS);
        let mut delta = Totals::ZERO;
        for i in 0..delta.values.len() {
            delta.values[i] = self.high.values[i] - self.base.values[i];
        }
        let mut st = *state;
        if self.base.get(Counter::Started) != 0 {
            st.startup_ms = None;
            st.load_to_first_frame_ms = None;
            st.startup_flags = None;
        }
        if self.base.get(Counter::StartupFailure) != 0
            || self.base.get(Counter::PlaybackFailure) != 0
        {
            st.failure_code = None;
        }
        let summary = Summary {
            session_id: self.session_id,
            room_id: &self.room_id,
            seq,
            base_seq: self.base_seq,
            start_ms: self.base_end_ms,
            span_ms: (end_ms - self.base_end_ms).min(MAX_SPAN_MS),
            is_final,
            delta,
            state: st,
        };
        encode(&summary, out);
        if self.sent.len() == UNACKED_MEMORY {
            self.sent.remove(0);
        }
        self.sent.push(Sent {
            seq,
            end_ms,
            totals: self.high,
        });
        seq
    }

    /// The collector acknowledged (durably counted) summary `seq`: later summaries are relative
    /// to it. Returns `false` (and changes nothing) for an ack that is not newer than the current
    /// base or names a summary no longer remembered.
    pub fn ack(&mut self, seq: u32) -> bool {
        if seq <= self.base_seq {
            return false;
        }
        let Some(i) = self.sent.iter().position(|s| s.seq == seq) else {
            return false;
        };
        let s = self.sent[i];
        self.base_seq = s.seq;
        self.base_end_ms = s.end_ms;
        self.base = s.totals;
        self.sent.drain(..=i);
        true
    }

    /// Sequence number of the acknowledged base (0: none yet).
    pub fn base_seq(&self) -> u32 {
        self.base_seq
    }

    /// Sequence number the next summary will get.
    pub fn next_seq(&self) -> u32 {
        self.next_seq
    }
}
