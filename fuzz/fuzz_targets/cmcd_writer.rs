//! `livekpi::cmcd::CmcdWriter` (CMCD v1 query / headers, v2 event reports) on arbitrary player
//! states and call sequences.
//!
//! Invariants (checked with a small RFC 8941 dictionary parser written here, independent of the
//! crate's writer): never panics; every payload is printable ASCII without a line break; the v1
//! payload is a valid dictionary whose keys are CTA-5004 v1 keys in strictly ascending order;
//! percent-decoding the query form gives exactly the unencoded payload; the four header values are
//! valid dictionaries, each key in its CTA-5004 header, together exactly the members of the
//! unencoded payload; `sid` / `cid` carry the given text when it is a valid CMCD string; a v2
//! event report is appended only when the call returns `true`, then it is one valid dictionary in
//! key order with `e`, `sn` (= the writer's sequence before the call), `ts` and `v=2`, and the
//! sequence advances by one; a refused report appends nothing and leaves the sequence as it was.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use livekpi::cmcd::{
    encode_v1, CmcdHeaders, CmcdState, CmcdWriter, EventType, ObjectType, PlayState, StreamType,
    StreamingFormat,
};

/// A number as a player may hand it over: ordinary, huge, negative, fractional or not finite.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Num {
    Absent,
    Small(u16),
    Big(u64),
    Frac(u16, u16),
    Raw(f64),
}

impl Num {
    fn get(self) -> Option<f64> {
        match self {
            Num::Absent => None,
            Num::Small(n) => Some(f64::from(n)),
            Num::Big(n) => Some(n as f64),
            Num::Frac(a, b) => Some(f64::from(a) + f64::from(b) / 65536.0),
            Num::Raw(x) => Some(x),
        }
    }
}

/// A text field: empty, a typical value, or arbitrary (non-ASCII, control characters, long).
#[derive(Arbitrary, Debug, Clone)]
enum Text {
    Empty,
    Typical(u8),
    Repeat(u8, u16),
    Raw(String),
}

impl Text {
    fn get(&self) -> String {
        match self {
            Text::Empty => String::new(),
            Text::Typical(k) => [
                "6e2fb550-c457-11e9-bb97-0800200c9a66",
                "room-1",
                "seg/00042.m4s?x=1&y=\"2\"",
                "100-",
                "-500",
                "10-20",
                "MEDIA_ERR_DECODE",
                "a\\b\"c",
                "中文",
            ][usize::from(*k) % 9]
                .to_owned(),
            Text::Repeat(c, n) => std::iter::repeat(char::from(32 + c % 95))
                .take(usize::from(*n) % 3000)
                .collect(),
            Text::Raw(s) => s.clone(),
        }
    }
}

#[derive(Arbitrary, Debug, Clone)]
struct State {
    session_id: Text,
    content_id: Text,
    next_object: Text,
    next_range: Text,
    error_code: Text,
    stream_type: Option<u8>,
    streaming_format: Option<u8>,
    object_type: Option<u8>,
    play_state: Option<u8>,
    nums: [Num; 14],
    flags: u8,
    stall_count: Option<u32>,
    dropped_frames: Option<u64>,
    completed_stalls: Vec<Num>,
}

#[derive(Arbitrary, Debug, Clone)]
enum Call {
    Query,
    Headers,
    Event(u8, Num),
}

#[derive(Arbitrary, Debug)]
struct Input {
    steps: Vec<(State, Call)>,
}

const V1_KEYS: [&str; 18] = [
    "bl", "br", "bs", "cid", "d", "dl", "mtp", "nor", "nrr", "ot", "pr", "rtp", "sf", "sid", "st",
    "su", "tb", "v",
];
const OBJECT: [&str; 4] = ["br", "d", "ot", "tb"];
const REQUEST: [&str; 6] = ["bl", "dl", "mtp", "nor", "nrr", "su"];
const SESSION: [&str; 6] = ["cid", "pr", "sf", "sid", "st", "v"];
const STATUS: [&str; 2] = ["bs", "rtp"];
const EVENTS: [EventType; 16] = [
    EventType::PlayState,
    EventType::TimeInterval,
    EventType::Error,
    EventType::BitrateChange,
    EventType::PlaybackRate,
    EventType::ContentId,
    EventType::Backgrounded,
    EventType::Mute,
    EventType::Unmute,
    EventType::PlayerExpand,
    EventType::PlayerCollapse,
    EventType::AdStart,
    EventType::AdEnd,
    EventType::AdBreakStart,
    EventType::AdBreakEnd,
    EventType::Skip,
];

fn pick<T: Copy>(v: Option<u8>, all: &[T]) -> Option<T> {
    v.map(|i| all[usize::from(i) % all.len()])
}

/// One RFC 8941 dictionary member: key and its value text as written (`""` for a bare `true`).
type Member = (String, String);

fn is_key_start(b: u8) -> bool {
    b.is_ascii_lowercase() || b == b'*'
}

fn is_key_char(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.*".contains(&b)
}

/// Length of an RFC 8941 bare item at the start of `s` (integer, decimal, string, token,
/// boolean), or `None` when there is none.
fn bare_item(s: &[u8]) -> Option<usize> {
    match *s.first()? {
        b'"' => {
            let mut i = 1;
            while i < s.len() {
                match s[i] {
                    b'\\' => {
                        if !matches!(s.get(i + 1), Some(b'"' | b'\\')) {
                            return None;
                        }
                        i += 2;
                    }
                    b'"' => return Some(i + 1),
                    0x20..=0x7e => i += 1,
                    _ => return None,
                }
            }
            None
        }
        b'?' => matches!(s.get(1), Some(b'0' | b'1')).then_some(2),
        b'-' | b'0'..=b'9' => {
            let start = usize::from(s[0] == b'-');
            let int = s[start..].iter().take_while(|b| b.is_ascii_digit()).count();
            if int == 0 || int > 15 {
                return None;
            }
            let mut n = start + int;
            if s.get(n) == Some(&b'.') {
                let frac = s[n + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
                if int > 12 || !(1..=3).contains(&frac) {
                    return None;
                }
                n += 1 + frac;
            }
            Some(n)
        }
        b if b.is_ascii_alphabetic() || b == b'*' => Some(
            s.iter()
                .take_while(|&&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&b))
                .count(),
        ),
        _ => None,
    }
}

/// Parses a CMCD payload (an RFC 8941 dictionary without parameters, members joined by `,`
/// with no spaces, as CMCD writes it). Panics with the payload when it is not one.
fn parse(payload: &str) -> Vec<Member> {
    let s = payload.as_bytes();
    assert!(
        s.iter().all(|b| (0x20..0x7f).contains(b)),
        "payload is not printable ASCII: {payload:?}"
    );
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        assert!(is_key_start(s[i]), "bad key start at {i} in {payload:?}");
        let k0 = i;
        while i < s.len() && is_key_char(s[i]) {
            i += 1;
        }
        let key = payload[k0..i].to_owned();
        let mut value = String::new();
        if s.get(i) == Some(&b'=') {
            i += 1;
            let v0 = i;
            if s.get(i) == Some(&b'(') {
                i += 1;
                loop {
                    if s.get(i) == Some(&b')') {
                        i += 1;
                        break;
                    }
                    let n = bare_item(&s[i..])
                        .unwrap_or_else(|| panic!("bad inner-list item at {i} in {payload:?}"));
                    i += n;
                    if s.get(i) == Some(&b' ') {
                        i += 1;
                        assert_ne!(s.get(i), Some(&b')'), "space before ')' in {payload:?}");
                    }
                }
            } else {
                let n =
                    bare_item(&s[i..]).unwrap_or_else(|| panic!("bad value at {i} in {payload:?}"));
                i += n;
            }
            value = payload[v0..i].to_owned();
        }
        out.push((key, value));
        if i < s.len() {
            assert_eq!(s[i], b',', "members not separated by ',' in {payload:?}");
            i += 1;
            assert!(i < s.len(), "trailing ',' in {payload:?}");
        }
    }
    out
}

fn assert_sorted(members: &[Member], payload: &str) {
    for w in members.windows(2) {
        assert!(
            w[0].0 < w[1].0,
            "keys not strictly ascending in {payload:?}"
        );
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = std::str::from_utf8(&b[i + 1..i + 3]).expect("two hex digits after %");
            out.push(u8::from_str_radix(h, 16).expect("hex after %"));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("percent-decoded query is UTF-8")
}

/// `s` as CMCD would quote it (valid CMCD text only).
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn valid_text(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| (0x20..0x7f).contains(&b))
}

fn check_texts(members: &[Member], sid: &str, cid: &str, cid_max: usize, payload: &str) {
    let get = |k: &str| members.iter().find(|m| m.0 == k).map(|m| m.1.clone());
    if valid_text(sid, 64) {
        assert_eq!(get("sid"), Some(quoted(sid)), "sid in {payload:?}");
    } else {
        assert_eq!(get("sid"), None, "invalid sid written in {payload:?}");
    }
    if valid_text(cid, cid_max) {
        assert_eq!(get("cid"), Some(quoted(cid)), "cid in {payload:?}");
    } else {
        assert_eq!(get("cid"), None, "invalid cid written in {payload:?}");
    }
}

fuzz_target!(|input: Input| {
    let mut w = CmcdWriter::new();
    for (st, call) in input.steps.iter().take(64) {
        let texts = [
            st.session_id.get(),
            st.content_id.get(),
            st.next_object.get(),
            st.next_range.get(),
            st.error_code.get(),
        ];
        let stalls: Vec<f64> = st.completed_stalls.iter().filter_map(|n| n.get()).collect();
        let n = |i: usize| st.nums[i].get();
        let s = CmcdState {
            session_id: &texts[0],
            content_id: &texts[1],
            stream_type: pick(
                st.stream_type,
                &[StreamType::Vod, StreamType::Live, StreamType::LowLatency],
            ),
            streaming_format: pick(
                st.streaming_format,
                &[
                    StreamingFormat::Dash,
                    StreamingFormat::Hls,
                    StreamingFormat::Smooth,
                    StreamingFormat::Other,
                ],
            ),
            playback_rate: n(0),
            buffer_length_ms: n(1),
            encoded_bitrate_kbps: n(2),
            top_bitrate_kbps: n(3),
            measured_throughput_kbps: n(4),
            requested_max_throughput_kbps: n(5),
            buffer_starvation: st.flags & 1 != 0,
            startup: st.flags & 2 != 0,
            object_type: pick(
                st.object_type,
                &[
                    ObjectType::Manifest,
                    ObjectType::Audio,
                    ObjectType::Video,
                    ObjectType::Muxed,
                    ObjectType::Init,
                    ObjectType::Caption,
                    ObjectType::TimedText,
                    ObjectType::Key,
                    ObjectType::Other,
                ],
            ),
            object_duration_ms: n(6),
            deadline_ms: n(7),
            next_object: &texts[2],
            next_range: &texts[3],
            play_state: pick(
                st.play_state,
                &[
                    PlayState::Starting,
                    PlayState::Playing,
                    PlayState::Seeking,
                    PlayState::Rebuffering,
                    PlayState::Paused,
                    PlayState::Ended,
                    PlayState::FatalError,
                    PlayState::Quit,
                    PlayState::Preloading,
                ],
            ),
            playhead_bitrate_kbps: n(8),
            latency_ms: n(9),
            playhead_ms: n(10),
            stall_count: st.stall_count,
            stall_ms: n(11),
            completed_stalls_ms: &stalls,
            dropped_frames: st.dropped_frames,
            startup_delay_ms: n(12),
            backgrounded: st.flags & 4 != 0,
            error_code: &texts[4],
        };
        match call {
            Call::Query => {
                let mut q = String::new();
                w.query(&s, &mut q);
                assert!(
                    q.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.!~*'()%".contains(&b)),
                    "query value not URI-component encoded: {q:?}"
                );
                let decoded = percent_decode(&q);
                let members = parse(&decoded);
                // the unencoded payload of the same state, with the `bs` the writer decided
                let mut plain = String::new();
                encode_v1(
                    &CmcdState {
                        buffer_starvation: members.iter().any(|m| m.0 == "bs"),
                        ..s
                    },
                    &mut plain,
                );
                assert_eq!(decoded, plain, "query form != unencoded payload");
                assert_sorted(&members, &plain);
                for (k, _) in &members {
                    assert!(
                        V1_KEYS.contains(&k.as_str()),
                        "not a v1 key: {k} in {plain:?}"
                    );
                }
                check_texts(&members, s.session_id, s.content_id, 64, &plain);
            }
            Call::Headers => {
                let mut h = CmcdHeaders::default();
                w.headers(&s, &mut h);
                let mut all: Vec<Member> = Vec::new();
                for (name, value) in h.fields() {
                    let members = parse(value);
                    assert!(!members.is_empty(), "{name} sent empty");
                    assert_sorted(&members, value);
                    let allowed: &[&str] = match name {
                        "CMCD-Object" => &OBJECT,
                        "CMCD-Request" => &REQUEST,
                        "CMCD-Session" => &SESSION,
                        _ => &STATUS,
                    };
                    for (k, _) in &members {
                        assert!(allowed.contains(&k.as_str()), "{k} in {name}: {value:?}");
                    }
                    all.extend(members);
                }
                let bs = all.iter().any(|m| m.0 == "bs");
                let mut plain = String::new();
                encode_v1(
                    &CmcdState {
                        buffer_starvation: bs,
                        ..s
                    },
                    &mut plain,
                );
                all.sort();
                assert_eq!(all, parse(&plain), "headers != unencoded payload");
            }
            Call::Event(e, ts) => {
                let event = EVENTS[usize::from(*e) % EVENTS.len()];
                let before = w.next_sequence();
                let mut out = String::from("prefix");
                let ok = w.event(&s, event, ts.get().unwrap_or(f64::NAN), &mut out);
                if !ok {
                    assert_eq!(out, "prefix", "a refused report appended something");
                    assert_eq!(w.next_sequence(), before);
                    continue;
                }
                assert_eq!(w.next_sequence(), before + 1);
                let line = &out["prefix".len()..];
                let members = parse(line);
                assert_sorted(&members, line);
                let get = |k: &str| members.iter().find(|m| m.0 == k).map(|m| m.1.as_str());
                assert_eq!(get("e"), Some(event.token()), "e in {line:?}");
                assert_eq!(
                    get("sn"),
                    Some(before.to_string().as_str()),
                    "sn in {line:?}"
                );
                assert!(
                    get("ts").is_some_and(|t| t.parse::<u64>().is_ok()),
                    "ts in {line:?}"
                );
                assert_eq!(get("v"), Some("2"), "v in {line:?}");
                check_texts(&members, s.session_id, s.content_id, 128, line);
            }
        }
    }
});
