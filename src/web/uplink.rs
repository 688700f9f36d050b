//! `livekpi/player` upstream: the view's compact summaries (for the collector) and CMCD data
//! (for the CDN / a CMCD reporting endpoint), written from the monitor's metrics. The JS entry
//! decides when and how to send; this side only encodes. Numbers, strings and bytes only.

use alloc::string::String;
use alloc::vec::Vec;
use wasm_bindgen::prelude::*;

use super::error::js_error;
use super::player::QoeMonitor;
use crate::cmcd::{CmcdState, CmcdWriter, StreamType, StreamingFormat};
use crate::summary::SummaryWriter;

/// The upstream side of one view: its random session id, its summary writer (sequence numbers,
/// acknowledged base) and its CMCD writer.
#[wasm_bindgen]
pub struct Uplink {
    session_hex: String,
    room_id: String,
    summaries: SummaryWriter,
    cmcd: CmcdWriter,
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
            room_id: room_id.into(),
            summaries,
            cmcd: CmcdWriter::new(),
            last_seq: 0,
        })
    }

    /// The session id (32 lowercase hex digits) carried by every summary and CMCD `sid`.
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

    /// The CMCD v1 query-argument value (`CMCD=` + this; already URL-encoded) for a media
    /// request at `now_ms`: session and content ids, live HLS, the monitor's bitrate, startup and
    /// starvation state, plus what only the player knows (`buffer_ms`, `throughput_kbps`,
    /// `top_bitrate_kbps`, `object_duration_ms`; NaN = unknown, omitted).
    #[wasm_bindgen(js_name = cmcdQuery)]
    pub fn cmcd_query(
        &mut self,
        monitor: &QoeMonitor,
        now_ms: f64,
        buffer_ms: f64,
        throughput_kbps: f64,
        top_bitrate_kbps: f64,
        object_duration_ms: f64,
    ) -> String {
        let metrics = monitor.core().metrics(now_ms);
        let known = |x: f64| (x.is_finite() && x >= 0.0).then_some(x);
        let state = CmcdState {
            content_id: &self.room_id,
            stream_type: Some(StreamType::Live),
            streaming_format: Some(StreamingFormat::Hls),
            buffer_length_ms: known(buffer_ms),
            measured_throughput_kbps: known(throughput_kbps),
            top_bitrate_kbps: known(top_bitrate_kbps),
            object_duration_ms: known(object_duration_ms),
            ..CmcdState::from_metrics(&metrics, &self.session_hex)
        };
        let mut out = String::new();
        self.cmcd.query(&state, &mut out);
        out
    }
}
