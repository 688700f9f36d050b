//! `livekpi/player` upstream: the view's compact summaries (for the collector) and CMCD data
//! (for the CDN / a CMCD reporting endpoint), written from the monitor's metrics. The JS entry
//! decides when and how to send; this side only encodes. Numbers, strings and bytes only.

use alloc::string::String;
use alloc::vec::Vec;
use wasm_bindgen::prelude::*;

use super::error::js_error;
use super::player::QoeMonitor;
use crate::cmcd::{CmcdHeaders, CmcdState, CmcdWriter, ObjectType, StreamType, StreamingFormat};
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

/// `x` when it is a known value (finite, ≥ 0); NaN and the like mean "unknown" across the boundary.
fn known(x: f64) -> Option<f64> {
    (x.is_finite() && x >= 0.0).then_some(x)
}

/// The object type of code `c`: 1 `m`, 2 `a`, 3 `v`, 4 `av`, 5 `i`, 6 `c`, 7 `tt`, 8 `k`, 9 `o`;
/// anything else unknown.
fn object_type(c: u8) -> Option<ObjectType> {
    use ObjectType::*;
    [
        Manifest, Audio, Video, Muxed, Init, Caption, TimedText, Key, Other,
    ]
    .get(usize::from(c).wrapping_sub(1))
    .copied()
}

/// CMCD v1 of one view (one `sid`): the payloads of the media requests the player makes (query
/// or header mode), written from the monitor's metrics plus what only the player library knows
/// (buffer, throughput, renditions, the requested object). Keeps the request-mode `bs` mark.
/// (CMCD v2 event reports are written by `livekpi/player/cmcd`, outside the player's wasm.)
#[wasm_bindgen]
pub struct CmcdSession {
    sid: String,
    cid: String,
    format: Option<StreamingFormat>,
    writer: CmcdWriter,
}

#[wasm_bindgen]
impl CmcdSession {
    /// CMCD for session `session_id` (`sid`, ≤ 64 printable ASCII) of content `content_id`
    /// (`cid`, e.g. the room id; `""` = not sent) played by a player of streaming format `format`
    /// (`sf`: 0 unknown, 1 DASH, 2 HLS, 3 Smooth, 4 other).
    #[wasm_bindgen(constructor)]
    pub fn new(session_id: &str, content_id: &str, format: u8) -> CmcdSession {
        use StreamingFormat::*;
        CmcdSession {
            sid: session_id.into(),
            cid: content_id.into(),
            format: [Dash, Hls, Smooth, Other]
                .get(usize::from(format).wrapping_sub(1))
                .copied(),
            writer: CmcdWriter::new(),
        }
    }

    /// The CMCD v1 payload of one media request at `now_ms`: with `headers` false the `CMCD`
    /// query-argument value (URL-encoded; the URL gets `CMCD=` + this), else the `CMCD-*`
    /// headers as `Name:value` lines joined by `\n`. From the monitor: `sid`, `cid`, `sf`, `su`
    /// (not started or stalled), `bs` (starved since the previous request); from the player (NaN
    /// / 0 / `""` = unknown, omitted): `stream_type` (`st`: 1 VOD, 2 live, 3 low-latency live),
    /// `object_type` (code, see below), `pr` playback rate, `bl` buffer
    /// ahead ms (also gives `dl` = `bl` / playback rate), `br` encoded bitrate kbps, `tb` top
    /// bitrate kbps, `mtp` measured throughput kbps, `d` object duration ms, `rtp` requested
    /// maximum throughput kbps, `nor` next object (relative URL). Object type codes: 1 `m`, 2
    /// `a`, 3 `v`, 4 `av`, 5 `i`, 6 `c`, 7 `tt`, 8 `k`, 9 `o`.
    #[allow(clippy::too_many_arguments)]
    pub fn request(
        &mut self,
        monitor: &QoeMonitor,
        now_ms: f64,
        headers: bool,
        stream_type: u8,
        object_type_code: u8,
        buffer_ms: f64,
        bitrate_kbps: f64,
        top_bitrate_kbps: f64,
        throughput_kbps: f64,
        object_duration_ms: f64,
        requested_max_kbps: f64,
        playback_rate: f64,
        next_object: &str,
    ) -> String {
        let metrics = monitor.core().metrics(now_ms);
        let ot = object_type(object_type_code);
        let rate = known(playback_rate);
        let bl = known(buffer_ms);
        let state = CmcdState {
            object_type: ot,
            buffer_length_ms: bl,
            deadline_ms: bl.zip(rate.filter(|r| *r > 0.0)).map(|(b, r)| b / r),
            encoded_bitrate_kbps: known(bitrate_kbps),
            top_bitrate_kbps: known(top_bitrate_kbps),
            measured_throughput_kbps: known(throughput_kbps),
            object_duration_ms: known(object_duration_ms),
            requested_max_throughput_kbps: known(requested_max_kbps),
            playback_rate: rate,
            next_object,
            content_id: &self.cid,
            stream_type: [StreamType::Vod, StreamType::Live, StreamType::LowLatency]
                .get(usize::from(stream_type).wrapping_sub(1))
                .copied(),
            streaming_format: self.format,
            ..CmcdState::from_metrics(&metrics, &self.sid)
        };
        let mut out = String::new();
        if headers {
            let mut h = CmcdHeaders::default();
            self.writer.headers(&state, &mut h);
            for (name, value) in h.fields() {
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(name);
                out.push(':');
                out.push_str(value);
            }
        } else {
            self.writer.query(&state, &mut out);
        }
        out
    }
}
