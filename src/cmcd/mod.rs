//! Common Media Client Data (CMCD) from what the player measured: CMCD v1 (CTA-5004, 2020) for
//! segment / manifest requests in query or header mode, and CMCD v2 event-mode reports
//! (CTA-5004-B as `@svta/cml-cmcd` 2.7 implements it).
//!
//! Pure core, `no_std` + `alloc`, no formatting machinery: numbers go through a small integer /
//! decimal writer. Nothing here panics; a value that is unknown, NaN, infinite, negative, too
//! large for an RFC 8941 integer (15 digits), a string that is empty, too long or not printable
//! ASCII, omits its key.
//!
//! Use:
//! - fill a [`CmcdState`] (start from [`CmcdState::from_metrics`] with the monitor's
//!   [`QoeMetrics`], then set what only the binding / player adapter knows: buffer length,
//!   throughput, the requested object, stream type, …);
//! - per media request: [`CmcdWriter::query`] (the `CMCD=` argument value) or
//!   [`CmcdWriter::headers`] (the four `CMCD-*` header values);
//! - per event or interval: [`CmcdWriter::event`] (one `application/cmcd` line for a POST to
//!   the reporting URL).
//!
//! Payload rules followed (CTA-5004 §3 "Data payload", RFC 8941 dictionaries): comma-separated
//! `key=value` members, no spaces, keys in alphabetical order; a boolean true is the key alone
//! and a false one is omitted (except `bg` on a backgrounded-mode event); strings in double
//! quotes with `"` and `\` backslash-escaped; tokens unquoted; integers rounded to the nearest
//! integer and `bl`, `dl`, `mtp`, `rtp` to the nearest 100 (halves up); `pr` an RFC 8941 decimal
//! (3 fractional digits, half to even) sent only when ≠ 1; `v` omitted for version 1 and `v=2`
//! on v2 reports; query mode percent-encodes the whole value as `encodeURIComponent` does; the
//! v1 `nor` value is itself URL-encoded inside its quotes.
#![forbid(unsafe_code)]

mod enc;
#[cfg(test)]
mod tests;

use alloc::string::String;

use crate::qoe::QoeMetrics;
use enc::{hundred, int, milli, range_ok, text_ok, Dict};

pub use enc::push_uri_component;

/// Maximum length of `sid` (CTA-5004 and CTA-5004-B: 64 characters).
pub const MAX_SESSION_ID: usize = 64;
/// Maximum length of `cid` in CMCD v1 (CTA-5004: 64 characters).
pub const MAX_CONTENT_ID_V1: usize = 64;
/// Maximum length of `cid` in CMCD v2 (CTA-5004-B: 128 characters).
pub const MAX_CONTENT_ID_V2: usize = 128;
/// The query argument name: a request URL carries `CMCD=<value from CmcdWriter::query>`.
pub const QUERY_PARAM: &str = "CMCD";
/// The MIME type of an event-mode POST body (lines from [`CmcdWriter::event`] joined by `\n`,
/// no trailing line feed).
pub const EVENT_MIME_TYPE: &str = "application/cmcd";

/// `st`, stream type (Token).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamType {
    /// `v`: all segments are available (VOD).
    Vod,
    /// `l`: segments become available over time (live).
    Live,
    /// `ll`: low-latency live (v2 only; written `l` in v1, which has no `ll`).
    LowLatency,
}

/// `sf`, streaming format (Token).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamingFormat {
    /// `d`: MPEG-DASH.
    Dash,
    /// `h`: HLS.
    Hls,
    /// `s`: Smooth Streaming.
    Smooth,
    /// `o`: other (progressive MP4 and the like).
    Other,
}

/// `ot`, type of the object being requested (Token). Omit it when unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectType {
    /// `m`: text file such as a manifest or playlist.
    Manifest,
    /// `a`: audio only.
    Audio,
    /// `v`: video only.
    Video,
    /// `av`: muxed audio and video.
    Muxed,
    /// `i`: init segment.
    Init,
    /// `c`: caption or subtitle.
    Caption,
    /// `tt`: ISOBMFF timed text track.
    TimedText,
    /// `k`: cryptographic key, license or certificate.
    Key,
    /// `o`: other.
    Other,
}

/// `sta`, the playback state as the viewer perceives it (CMCD v2, Token).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlayState {
    /// `s`: told to play (user or autoplay), no media rendered yet.
    Starting,
    /// `p`: media is being rendered.
    Playing,
    /// `k`: seeking after start.
    Seeking,
    /// `r`: rendering stopped for lack of buffer (not during startup or seeking).
    Rebuffering,
    /// `a`: paused by the user or the player.
    Paused,
    /// `e`: ended at the end of the asset.
    Ended,
    /// `f`: ended by an irrecoverable error.
    FatalError,
    /// `q`: the user ended playback before the end of the asset.
    Quit,
    /// `d`: preloading ahead of a start expected later.
    Preloading,
}

impl PlayState {
    /// The state from the monitor's metrics and what the binding knows of the element now
    /// (`paused`, `seeking`): fatal error, else ended, else seeking (after start), else
    /// rebuffering (a stall is running), else paused, else starting (before the first frame),
    /// else playing. `None` before any play intent (`watch_ms` is 0 and not started): nothing to
    /// report yet. `Quit` and `Preloading` are left to the binding (page close, preload).
    pub fn from_metrics(m: &QoeMetrics, paused: bool, seeking: bool) -> Option<PlayState> {
        Some(if m.startup_failure || m.playback_failure {
            PlayState::FatalError
        } else if m.ended {
            PlayState::Ended
        } else if seeking && m.started {
            PlayState::Seeking
        } else if m.stall_ongoing {
            PlayState::Rebuffering
        } else if paused && (m.started || m.watch_ms > 0.0) {
            PlayState::Paused
        } else if !m.started {
            if m.watch_ms <= 0.0 && !m.autoplay_blocked {
                return None;
            }
            PlayState::Starting
        } else {
            PlayState::Playing
        })
    }
}

/// `e`, the event type of a v2 event-mode report (Token). Each state-change event needs its
/// state key: `ps` → `sta`, `pr` → `pr`, `c` → `cid`, `bc` → `br`, `e` → `ec`, `b` → `bg`.
/// Response-received (`rr`) and custom (`ce`) events are not supported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    /// `ps`: play state change (needs [`CmcdState::play_state`]).
    PlayState,
    /// `t`: time interval (periodic report; 30 s by default in CTA-5004-B).
    TimeInterval,
    /// `e`: error (needs [`CmcdState::error_code`]).
    Error,
    /// `bc`: bitrate change (needs [`CmcdState::encoded_bitrate_kbps`]).
    BitrateChange,
    /// `pr`: playback rate change (needs [`CmcdState::playback_rate`]; sent even when 1).
    PlaybackRate,
    /// `c`: content id change (needs [`CmcdState::content_id`]).
    ContentId,
    /// `b`: backgrounded mode change (`bg` when [`CmcdState::backgrounded`], else `bg=?0`).
    Backgrounded,
    /// `m`: muted.
    Mute,
    /// `um`: unmuted.
    Unmute,
    /// `pe`: player expanded.
    PlayerExpand,
    /// `pc`: player collapsed.
    PlayerCollapse,
    /// `as`: ad start.
    AdStart,
    /// `ae`: ad end.
    AdEnd,
    /// `abs`: ad break start.
    AdBreakStart,
    /// `abe`: ad break end.
    AdBreakEnd,
    /// `sk`: skip.
    Skip,
}

impl StreamType {
    /// The token (`v`, `l`, `ll`) for the given CMCD version (1 has no `ll`: `l`).
    pub fn token(self, version: u8) -> &'static str {
        match self {
            StreamType::Vod => "v",
            StreamType::Live => "l",
            StreamType::LowLatency if version < 2 => "l",
            StreamType::LowLatency => "ll",
        }
    }
}

impl StreamingFormat {
    /// The token (`d`, `h`, `s`, `o`).
    pub fn token(self) -> &'static str {
        match self {
            StreamingFormat::Dash => "d",
            StreamingFormat::Hls => "h",
            StreamingFormat::Smooth => "s",
            StreamingFormat::Other => "o",
        }
    }
}

impl ObjectType {
    /// The token (`m`, `a`, `v`, `av`, `i`, `c`, `tt`, `k`, `o`).
    pub fn token(self) -> &'static str {
        match self {
            ObjectType::Manifest => "m",
            ObjectType::Audio => "a",
            ObjectType::Video => "v",
            ObjectType::Muxed => "av",
            ObjectType::Init => "i",
            ObjectType::Caption => "c",
            ObjectType::TimedText => "tt",
            ObjectType::Key => "k",
            ObjectType::Other => "o",
        }
    }
}

impl PlayState {
    /// The token (`s`, `p`, `k`, `r`, `a`, `e`, `f`, `q`, `d`).
    pub fn token(self) -> &'static str {
        match self {
            PlayState::Starting => "s",
            PlayState::Playing => "p",
            PlayState::Seeking => "k",
            PlayState::Rebuffering => "r",
            PlayState::Paused => "a",
            PlayState::Ended => "e",
            PlayState::FatalError => "f",
            PlayState::Quit => "q",
            PlayState::Preloading => "d",
        }
    }
}

impl EventType {
    /// The token (`ps`, `t`, `e`, `bc`, `pr`, `c`, `b`, `m`, `um`, `pe`, `pc`, `as`, `ae`,
    /// `abs`, `abe`, `sk`).
    pub fn token(self) -> &'static str {
        match self {
            EventType::PlayState => "ps",
            EventType::TimeInterval => "t",
            EventType::Error => "e",
            EventType::BitrateChange => "bc",
            EventType::PlaybackRate => "pr",
            EventType::ContentId => "c",
            EventType::Backgrounded => "b",
            EventType::Mute => "m",
            EventType::Unmute => "um",
            EventType::PlayerExpand => "pe",
            EventType::PlayerCollapse => "pc",
            EventType::AdStart => "as",
            EventType::AdEnd => "ae",
            EventType::AdBreakStart => "abs",
            EventType::AdBreakEnd => "abe",
            EventType::Skip => "sk",
        }
    }
}

/// The name of an `HTMLMediaElement` `MediaError` code (1..=4), for `ec`; `""` for other codes.
pub fn media_error_name(code: u32) -> &'static str {
    match code {
        1 => "MEDIA_ERR_ABORTED",
        2 => "MEDIA_ERR_NETWORK",
        3 => "MEDIA_ERR_DECODE",
        4 => "MEDIA_ERR_SRC_NOT_SUPPORTED",
        _ => "",
    }
}

/// What a CMCD payload is written from. Every field is optional (`None`, `false`, `""` = not
/// sent); invalid values are omitted at write time. Numbers are taken as measured and rounded by
/// the writer. Keys in brackets; "v1" / "v2" say which payloads carry the key.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CmcdState<'a> {
    /// `sid`: Session id: a GUID-like string for this playback session, ≤ 64 chars (v1, v2).
    pub session_id: &'a str,
    /// `cid`: Content id (here the room id), ≤ 64 chars in v1, ≤ 128 in v2 (v1, v2).
    pub content_id: &'a str,
    /// `st`: Stream type (v1, v2).
    pub stream_type: Option<StreamType>,
    /// `sf`: Streaming format, e.g. HLS = `h` (v1, v2).
    pub streaming_format: Option<StreamingFormat>,
    /// `pr`: Playback rate: 1 real time, 2 double speed, 0 not playing; decimal, sent only when
    /// ≠ 1 except on a playback-rate event (v1, v2).
    pub playback_rate: Option<f64>,
    /// `bl`: Buffer length ahead of the playhead for the requested object's type, ms, rounded to
    /// 100 ms; CTA-5004 wants it only with `ot` = `a`, `v` or `av` (left to the caller) (v1, v2
    /// as an inner list).
    pub buffer_length_ms: Option<f64>,
    /// `br`: Encoded bitrate of the requested representation (event mode: the selected one),
    /// kbps, rounded to an integer; peak when the playlist declares peak and average (v1, v2).
    pub encoded_bitrate_kbps: Option<f64>,
    /// `tb`: Top bitrate: the highest rendition the player may play for this object type, kbps,
    /// rounded (v1, v2).
    pub top_bitrate_kbps: Option<f64>,
    /// `mtp`: Measured throughput the player bases its next ABR decision on, kbps, rounded to
    /// 100 kbps (v1, v2).
    pub measured_throughput_kbps: Option<f64>,
    /// `rtp`: Requested maximum throughput for this object, kbps, rounded to 100 kbps (v1).
    pub requested_max_throughput_kbps: Option<f64>,
    /// `bs`: The buffer starved since the previous report to this destination. The writer also
    /// sets it itself when [`CmcdState::stall_count`] grew since its previous report (v1, v2).
    pub buffer_starvation: bool,
    /// `su`: The object is needed urgently: startup, seek, or recovery after a stall, until the
    /// buffer first reaches its target (v1).
    pub startup: bool,
    /// `ot`: Type of the requested object (v1).
    pub object_type: Option<ObjectType>,
    /// `d`: Playback duration of the requested object (the part, for a partial segment), ms,
    /// rounded (v1).
    pub object_duration_ms: Option<f64>,
    /// `dl`: Deadline from the request until the object's first sample must be available to
    /// avoid a stall, ms, rounded to 100 ms (≈ buffer length / playback rate) (v1).
    pub deadline_ms: Option<f64>,
    /// `nor`: Relative path of the next object the player will request (written URL-encoded;
    /// omitted over 2048 bytes) (v1).
    pub next_object: &'a str,
    /// `nrr`: Byte range of the next request: `<start>-<end>`, `<start>-` or `-<suffix>` (v1).
    pub next_range: &'a str,
    /// `sta`: Playback state (v2).
    pub play_state: Option<PlayState>,
    /// `pb`: Playhead bitrate: encoded bitrate of what is shown now, kbps, rounded (v2).
    pub playhead_bitrate_kbps: Option<f64>,
    /// `ltc`: Live latency: origin availability of the shown media timestamp → render, ms,
    /// rounded (v2).
    pub latency_ms: Option<f64>,
    /// `pt`: Playhead time being rendered, ms, rounded (v2).
    pub playhead_ms: Option<f64>,
    /// `bsa`: Buffer starvations (entries into rebuffering) since the session started (v2).
    pub stall_count: Option<u32>,
    /// `bsda`: Summed starvation duration since the session started, ms, rounded (v2).
    pub stall_ms: Option<f64>,
    /// `bsd`: Durations of the starvations that completed since the previous report to this
    /// destination, ms, oldest first (each sent once; non-finite or negative ones are dropped)
    /// (v2).
    pub completed_stalls_ms: &'a [f64],
    /// `dfa`: Dropped frames since the session started (v2).
    pub dropped_frames: Option<u64>,
    /// `msd`: Media start delay: play intent → playback, ms, rounded; sent once per writer
    /// (v2).
    pub startup_delay_ms: Option<f64>,
    /// `bg`: Every player of the session is hidden from the user (page hidden) (v2).
    pub backgrounded: bool,
    /// `ec`: Player error code, printable ASCII (v2, error events and state reports).
    pub error_code: &'a str,
}

impl<'a> CmcdState<'a> {
    /// What the monitor measured, for session `session_id`: `bs` = a stall is running (the
    /// writer adds "a stall started since the last report" from `bsa`), `su` = not started yet
    /// or stalled, `sta` = [`PlayState::from_metrics`] with `paused = seeking = false` (set it
    /// again when the binding knows better), `pb` = current rendition bitrate, `ltc` = last
    /// glass-to-glass latency, `bsa` / `bsda` = stall count / summed stall time, `dfa` = dropped
    /// frames (counted by the monitor outside seeks and hidden time), `msd` = startup time, `ec`
    /// = the MediaError name of a fatal error. Request-specific keys (`bl`, `br`, `mtp`, `ot`,
    /// `d`, …), `cid`, `st`, `sf`, `pr`, `pt` and `bg` are left for the binding to set.
    pub fn from_metrics(m: &QoeMetrics, session_id: &'a str) -> Self {
        let failed = m.startup_failure || m.playback_failure;
        CmcdState {
            session_id,
            buffer_starvation: m.stall_ongoing,
            startup: !m.started || m.stall_ongoing,
            play_state: PlayState::from_metrics(m, false, false),
            playhead_bitrate_kbps: m.bitrate_last_bps.map(|b| b / 1000.0),
            latency_ms: m.latency_last_ms,
            stall_count: Some(m.stall_count),
            stall_ms: Some(m.stall_ms),
            dropped_frames: m.started.then_some(u64::from(m.dropped_frames)),
            startup_delay_ms: m.startup_ms,
            error_code: if failed {
                media_error_name(m.failure_code)
            } else {
                ""
            },
            ..CmcdState::default()
        }
    }
}

/// The four CMCD v1 header values (an empty one is not to be sent).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CmcdHeaders {
    /// `CMCD-Object`: `br`, `d`, `ot`, `tb`.
    pub object: String,
    /// `CMCD-Request`: `bl`, `dl`, `mtp`, `nor`, `nrr`, `su`.
    pub request: String,
    /// `CMCD-Session`: `cid`, `pr`, `sf`, `sid`, `st` (CTA-5004 puts `pr` here; CTA-5004-B
    /// moved it to `CMCD-Status`).
    pub session: String,
    /// `CMCD-Status`: `bs`, `rtp`.
    pub status: String,
}

impl CmcdHeaders {
    /// The header names with their values, non-empty ones only, in name order.
    pub fn fields(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("CMCD-Object", self.object.as_str()),
            ("CMCD-Request", self.request.as_str()),
            ("CMCD-Session", self.session.as_str()),
            ("CMCD-Status", self.status.as_str()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
    }

    /// Empties all four values (to reuse the allocations).
    pub fn clear(&mut self) {
        self.object.clear();
        self.request.clear();
        self.session.clear();
        self.status.clear();
    }
}

/// Header shards of CTA-5004 (v1).
const OBJ: usize = 0;
const REQ: usize = 1;
const SES: usize = 2;
const STA: usize = 3;

/// Where v1 members go: one dictionary (query) or the shard of each key (headers).
enum Target<'o> {
    One(Dict<'o>),
    Shards([Dict<'o>; 4]),
}

impl<'o> Target<'o> {
    fn at(&mut self, shard: usize) -> &mut Dict<'o> {
        match self {
            Target::One(d) => d,
            Target::Shards(ds) => &mut ds[shard],
        }
    }
}

/// Writes the CMCD v1 members of `s` (`bs` as given) in key order.
fn write_v1(s: &CmcdState<'_>, t: &mut Target<'_>) {
    if let Some(v) = hundred(s.buffer_length_ms) {
        t.at(REQ).int("bl", v);
    }
    if let Some(v) = int(s.encoded_bitrate_kbps) {
        t.at(OBJ).int("br", v);
    }
    if s.buffer_starvation {
        t.at(STA).flag("bs");
    }
    if text_ok(s.content_id, MAX_CONTENT_ID_V1) {
        t.at(SES).string("cid", s.content_id);
    }
    if let Some(v) = int(s.object_duration_ms) {
        t.at(OBJ).int("d", v);
    }
    if let Some(v) = hundred(s.deadline_ms) {
        t.at(REQ).int("dl", v);
    }
    if let Some(v) = hundred(s.measured_throughput_kbps) {
        t.at(REQ).int("mtp", v);
    }
    if !s.next_object.is_empty() && s.next_object.len() <= 2048 {
        t.at(REQ).uri_string("nor", s.next_object);
    }
    if range_ok(s.next_range) {
        t.at(REQ).string("nrr", s.next_range);
    }
    if let Some(o) = s.object_type {
        t.at(OBJ).token("ot", o.token());
    }
    if let Some(v) = milli(s.playback_rate).filter(|&v| v != 1000) {
        t.at(SES).decimal("pr", v);
    }
    if let Some(v) = hundred(s.requested_max_throughput_kbps) {
        t.at(STA).int("rtp", v);
    }
    if let Some(f) = s.streaming_format {
        t.at(SES).token("sf", f.token());
    }
    if text_ok(s.session_id, MAX_SESSION_ID) {
        t.at(SES).string("sid", s.session_id);
    }
    if let Some(st) = s.stream_type {
        t.at(SES).token("st", st.token(1));
    }
    if s.startup {
        t.at(REQ).flag("su");
    }
    if let Some(v) = int(s.top_bitrate_kbps) {
        t.at(OBJ).int("tb", v);
    }
}

/// Appends the CMCD v1 query argument value for `s` (URL-encoded, without `CMCD=`), exactly as
/// given (stateless: `bs` is [`CmcdState::buffer_starvation`]). Empty when nothing is valid.
pub fn encode_v1_query(s: &CmcdState<'_>, out: &mut String) {
    write_v1(s, &mut Target::One(Dict::new(out, true)));
}

/// Appends the CMCD v1 payload for `s` unencoded (one dictionary, as before URL encoding).
pub fn encode_v1(s: &CmcdState<'_>, out: &mut String) {
    write_v1(s, &mut Target::One(Dict::new(out, false)));
}

/// Appends the four CMCD v1 header values for `s` (stateless, see [`encode_v1_query`]).
pub fn encode_v1_headers(s: &CmcdState<'_>, out: &mut CmcdHeaders) {
    let CmcdHeaders {
        object,
        request,
        session,
        status,
    } = out;
    write_v1(
        s,
        &mut Target::Shards([
            Dict::new(object, false),
            Dict::new(request, false),
            Dict::new(session, false),
            Dict::new(status, false),
        ]),
    );
}

/// Per-report values of a v2 event that are not player state: event type, timestamp, sequence
/// number, and whether to include `msd`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EventMeta {
    /// `e`: Event type.
    pub event: EventType,
    /// `ts`: When the event happened, ms since the Unix epoch (rounded); required.
    pub timestamp_ms: f64,
    /// `sn`: Sequence number of the report to this destination within the session, from 0.
    pub sequence: u64,
    /// Include [`CmcdState::startup_delay_ms`] as `msd` (once per session and destination).
    pub include_msd: bool,
}

/// Appends one CMCD v2 event-mode report line for `s` (stateless: `bs` as given, `sn` and `msd`
/// from `meta`). Returns `false` and appends nothing when `ts` is invalid or the event's state
/// key is missing or invalid (`ps` without `sta`, `pr` without `pr`, `c` without `cid`, `bc`
/// without `br`, `e` without `ec`).
pub fn encode_v2_event(s: &CmcdState<'_>, meta: &EventMeta, out: &mut String) -> bool {
    let ev = meta.event;
    let Some(ts) = int(Some(meta.timestamp_ms)) else {
        return false;
    };
    let cid_ok = text_ok(s.content_id, MAX_CONTENT_ID_V2);
    let br = int(s.encoded_bitrate_kbps);
    let ec_ok = text_ok(s.error_code, 256);
    let pr = milli(s.playback_rate);
    let required = match ev {
        EventType::PlayState => s.play_state.is_some(),
        EventType::PlaybackRate => pr.is_some(),
        EventType::ContentId => cid_ok,
        EventType::BitrateChange => br.is_some(),
        EventType::Error => ec_ok,
        _ => true,
    };
    if !required || meta.sequence > enc::MAX_INT {
        return false;
    }
    let mut d = Dict::new(out, false);
    if s.backgrounded {
        d.flag("bg");
    } else if ev == EventType::Backgrounded {
        d.flag_false("bg");
    }
    if let Some(v) = hundred(s.buffer_length_ms) {
        d.int_list("bl", [v].into_iter());
    }
    if let Some(v) = br {
        d.int_list("br", [v].into_iter());
    }
    if s.buffer_starvation {
        d.flag("bs");
    }
    if let Some(n) = s.stall_count {
        d.int_list("bsa", [u64::from(n)].into_iter());
    }
    let mut done = s.completed_stalls_ms.iter().filter_map(|&x| int(Some(x)));
    if done.clone().next().is_some() {
        d.int_list("bsd", done.by_ref());
    }
    if let Some(v) = int(s.stall_ms) {
        d.int_list("bsda", [v].into_iter());
    }
    if cid_ok {
        d.string("cid", s.content_id);
    }
    if let Some(v) = s.dropped_frames.filter(|&v| v <= enc::MAX_INT) {
        d.int("dfa", v);
    }
    d.token("e", ev.token());
    if ec_ok {
        d.string_list1("ec", s.error_code);
    }
    if let Some(v) = int(s.latency_ms) {
        d.int("ltc", v);
    }
    if meta.include_msd {
        if let Some(v) = int(s.startup_delay_ms) {
            d.int("msd", v);
        }
    }
    if let Some(v) = hundred(s.measured_throughput_kbps) {
        d.int_list("mtp", [v].into_iter());
    }
    if let Some(v) = int(s.playhead_bitrate_kbps) {
        d.int_list("pb", [v].into_iter());
    }
    if let Some(v) = pr.filter(|&v| v != 1000 || ev == EventType::PlaybackRate) {
        d.decimal("pr", v);
    }
    if let Some(v) = int(s.playhead_ms) {
        d.int("pt", v);
    }
    if let Some(f) = s.streaming_format {
        d.token("sf", f.token());
    }
    if text_ok(s.session_id, MAX_SESSION_ID) {
        d.string("sid", s.session_id);
    }
    d.int("sn", meta.sequence);
    if let Some(st) = s.stream_type {
        d.token("st", st.token(2));
    }
    if let Some(p) = s.play_state {
        d.token("sta", p.token());
    }
    if let Some(v) = int(s.top_bitrate_kbps) {
        d.int_list("tb", [v].into_iter());
    }
    d.int("ts", ts);
    d.int("v", 2);
    true
}

/// The stateful CMCD writer of one playback session (one `sid`): derives `bs` per destination
/// (request mode and event mode separately) from the growth of [`CmcdState::stall_count`],
/// numbers event reports (`sn` from 0) and sends `msd` once. Make a new one for a new session.
#[derive(Clone, Debug, Default)]
pub struct CmcdWriter {
    stalls_seen_request: Option<u32>,
    stalls_seen_event: Option<u32>,
    event_sn: u64,
    msd_sent: bool,
}

/// Whether the buffer starved since `seen` (the stall count at the previous report), and the
/// new mark. A count lower than the mark (new monitor) restarts the mark.
fn starved(s: &CmcdState<'_>, seen: &mut Option<u32>) -> bool {
    let grew = match (s.stall_count, *seen) {
        (Some(n), Some(prev)) => n > prev,
        (Some(n), None) => n > 0,
        (None, _) => false,
    };
    if s.stall_count.is_some() {
        *seen = s.stall_count;
    }
    s.buffer_starvation || grew
}

impl CmcdWriter {
    /// A writer for a new session.
    pub fn new() -> Self {
        Self::default()
    }

    /// For one media request in query mode: appends the `CMCD` query argument value
    /// (URL-encoded; the URL gets `CMCD=` + this). `bs` is set if the buffer starved since the
    /// previous request.
    pub fn query(&mut self, s: &CmcdState<'_>, out: &mut String) {
        let s = CmcdState {
            buffer_starvation: starved(s, &mut self.stalls_seen_request),
            ..*s
        };
        encode_v1_query(&s, out);
    }

    /// For one media request in header mode: appends the four `CMCD-*` header values (see
    /// [`CmcdHeaders::fields`]). Shares the request-mode `bs` mark with [`CmcdWriter::query`].
    pub fn headers(&mut self, s: &CmcdState<'_>, out: &mut CmcdHeaders) {
        let s = CmcdState {
            buffer_starvation: starved(s, &mut self.stalls_seen_request),
            ..*s
        };
        encode_v1_headers(&s, out);
    }

    /// For one event or interval: appends one v2 event-mode report line (see
    /// [`encode_v2_event`]) with the next sequence number, `msd` on the first report that has
    /// it, and `bs` if the buffer starved since the previous event report. Returns `false` (and
    /// changes nothing) when the report cannot be made.
    pub fn event(
        &mut self,
        s: &CmcdState<'_>,
        event: EventType,
        timestamp_ms: f64,
        out: &mut String,
    ) -> bool {
        let mut seen = self.stalls_seen_event;
        let s2 = CmcdState {
            buffer_starvation: starved(s, &mut seen),
            ..*s
        };
        let meta = EventMeta {
            event,
            timestamp_ms,
            sequence: self.event_sn,
            include_msd: !self.msd_sent,
        };
        if !encode_v2_event(&s2, &meta, out) {
            return false;
        }
        self.stalls_seen_event = seen;
        self.event_sn += 1;
        self.msd_sent |= int(s.startup_delay_ms).is_some();
        true
    }

    /// The sequence number the next event report will carry.
    pub fn next_sequence(&self) -> u64 {
        self.event_sn
    }
}
