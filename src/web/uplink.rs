//! `livekpi/player` upstream: the view's compact summaries (for the collector), written from the
//! monitor's metrics. The JS entry decides when and how to send; this side only encodes. Numbers,
//! strings and bytes only. (CMCD v1 and v2 payloads are written by `livekpi/player/cmcd` in JS,
//! outside the player's wasm, to the rules of `crate::cmcd`.)

use alloc::string::String;
use alloc::vec::Vec;
use wasm_bindgen::prelude::*;

use super::error::js_error;
use super::player::QoeMonitor;
use crate::summary::SummaryWriter;

/// The upstream side of one view: its random session id and its summary writer (sequence
/// numbers, acknowledged base).
#[wasm_bindgen]
pub struct Uplink {
    session_hex: String,
    summaries: SummaryWriter,
    last_seq: u32,
}

#[wasm_bindgen]
impl Uplink {
    /// An uplink for a view of room `room_id` (1..=64 bytes of UTF-8) started at `view_start_ms`
    /// (client epoch ms). Draws a 128-bit session id from the platform CSPRNG. Throws
    /// `LivekpiError` (`bad_room_id`, `random_unavailable`) otherwise.
    #[wasm_bindgen(constructor)]
    pub fn new(room_id: &str, view_start_ms: f64) -> Result<Uplink, JsValue> {
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).map_err(|_| {
            js_error(
                "random_unavailable",
                "Uplink: crypto.getRandomValues is not available",
            )
        })?;
        let summaries = SummaryWriter::new(id, room_id, view_start_ms).ok_or_else(|| {
            js_error(
                "bad_room_id",
                "Uplink: `roomId` must be 1 to 64 bytes of UTF-8",
            )
        })?;
        Ok(Uplink {
            session_hex: crate::ids::session_id_from_bytes(&id),
            summaries,
            last_seq: 0,
        })
    }

    /// The session id (32 lowercase hex digits) carried by every summary (and CMCD `sid`).
    #[wasm_bindgen(getter, js_name = sessionId)]
    pub fn session_id(&self) -> String {
        self.session_hex.clone()
    }

    /// The next summary for the monitor's metrics at `now_ms`: cumulative since the last
    /// acknowledged one, so it supersedes every unacknowledged summary before it (keep only the
    /// newest to retry). `is_final`: the view is over. Its sequence number is `lastSeq`.
    pub fn summary(&mut self, monitor: &QoeMonitor, now_ms: f64, is_final: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        let metrics = monitor.core().metrics(now_ms);
        self.last_seq = self.summaries.write(now_ms, &metrics, is_final, &mut out);
        out
    }

    /// Sequence number of the last summary written (0 before the first).
    #[wasm_bindgen(getter, js_name = lastSeq)]
    pub fn last_seq(&self) -> u32 {
        self.last_seq
    }

    /// The collector acknowledged summary `seq` (a 2xx): later summaries are relative to it.
    /// Returns false for a stale or unknown `seq` (nothing changes).
    pub fn ack(&mut self, seq: u32) -> bool {
        self.summaries.ack(seq)
    }
}
