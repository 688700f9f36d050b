use alloc::string::{String, ToString};
use alloc::vec::Vec;

use proptest::prelude::*;

use super::*;

fn v1(s: &CmcdState<'_>) -> String {
    let mut out = String::new();
    encode_v1(s, &mut out);
    out
}

fn query(s: &CmcdState<'_>) -> String {
    let mut out = String::new();
    encode_v1_query(s, &mut out);
    out
}

fn headers(s: &CmcdState<'_>) -> CmcdHeaders {
    let mut h = CmcdHeaders::default();
    encode_v1_headers(s, &mut h);
    h
}

fn event(s: &CmcdState<'_>, e: EventType) -> Option<String> {
    let mut out = String::new();
    let meta = EventMeta {
        event: e,
        timestamp_ms: 1_700_000_000_000.0,
        sequence: 0,
        include_msd: true,
    };
    encode_v2_event(s, &meta, &mut out).then_some(out)
}

/// The CTA-5004 style example with every v1 key set.
fn full() -> CmcdState<'static> {
    CmcdState {
        session_id: "6e2fb550-c457-11e9-bb97-0800200c9a66",
        content_id: "faec5fc2-ac30-11ea-bb37-0242ac130002",
        stream_type: Some(StreamType::Vod),
        streaming_format: Some(StreamingFormat::Dash),
        playback_rate: Some(2.0),
        buffer_length_ms: Some(21_345.0),
        encoded_bitrate_kbps: Some(3_200.0),
        top_bitrate_kbps: Some(6_000.0),
        measured_throughput_kbps: Some(25_432.0),
        requested_max_throughput_kbps: Some(12_050.0),
        buffer_starvation: true,
        startup: true,
        object_type: Some(ObjectType::Video),
        object_duration_ms: Some(4_004.0),
        deadline_ms: Some(18_549.0),
        next_object: "../300kbps/track.m4v",
        next_range: "12323-48763",
        ..CmcdState::default()
    }
}

#[test]
fn v1_all_keys_in_alphabetical_order() {
    assert_eq!(
        v1(&full()),
        "bl=21300,br=3200,bs,cid=\"faec5fc2-ac30-11ea-bb37-0242ac130002\",d=4004,dl=18500,\
         mtp=25400,nor=\"..%2F300kbps%2Ftrack.m4v\",nrr=\"12323-48763\",ot=v,pr=2.0,rtp=12100,\
         sf=d,sid=\"6e2fb550-c457-11e9-bb97-0800200c9a66\",st=v,su,tb=6000"
    );
    let out = v1(&full());
    let keys: Vec<&str> = out
        .split(',')
        .map(|m| m.split('=').next().unwrap())
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(keys, sorted);
}

#[test]
fn empty_state_writes_nothing() {
    assert_eq!(v1(&CmcdState::default()), "");
    assert_eq!(query(&CmcdState::default()), "");
    assert_eq!(headers(&CmcdState::default()), CmcdHeaders::default());
    assert_eq!(headers(&CmcdState::default()).fields().count(), 0);
}

#[test]
fn query_mode_is_encode_uri_component_of_the_payload() {
    let s = CmcdState {
        buffer_length_ms: Some(200.0),
        content_id: "a b\"c",
        startup: true,
        ..CmcdState::default()
    };
    assert_eq!(v1(&s), "bl=200,cid=\"a b\\\"c\",su");
    assert_eq!(query(&s), "bl%3D200%2Ccid%3D%22a%20b%5C%22c%22%2Csu");
    // `nor` is URL-encoded inside its quotes, then again with the whole value.
    let s = CmcdState {
        next_object: "seg 2.m4s",
        ..CmcdState::default()
    };
    assert_eq!(v1(&s), "nor=\"seg%202.m4s\"");
    assert_eq!(query(&s), "nor%3D%22seg%25202.m4s%22");
    let mut raw = String::new();
    push_uri_component(&mut raw, "a-Z_0.!~*'()/?é");
    assert_eq!(raw, "a-Z_0.!~*'()%2F%3F%C3%A9");
}

#[test]
fn headers_split_as_cta_5004_assigns_keys() {
    let h = headers(&full());
    assert_eq!(h.object, "br=3200,d=4004,ot=v,tb=6000");
    assert_eq!(
        h.request,
        "bl=21300,dl=18500,mtp=25400,nor=\"..%2F300kbps%2Ftrack.m4v\",nrr=\"12323-48763\",su"
    );
    assert_eq!(
        h.session,
        "cid=\"faec5fc2-ac30-11ea-bb37-0242ac130002\",pr=2.0,sf=d,\
         sid=\"6e2fb550-c457-11e9-bb97-0800200c9a66\",st=v"
    );
    assert_eq!(h.status, "bs,rtp=12100");
    let names: Vec<&str> = h.fields().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        ["CMCD-Object", "CMCD-Request", "CMCD-Session", "CMCD-Status"]
    );
    let only_status = headers(&CmcdState {
        buffer_starvation: true,
        ..CmcdState::default()
    });
    assert_eq!(
        only_status.fields().collect::<Vec<_>>(),
        [("CMCD-Status", "bs")]
    );
}

#[test]
fn rounding_to_integers_and_hundreds_halves_up() {
    let r = |bl: f64, br: f64, mtp: f64| {
        v1(&CmcdState {
            buffer_length_ms: Some(bl),
            encoded_bitrate_kbps: Some(br),
            measured_throughput_kbps: Some(mtp),
            ..CmcdState::default()
        })
    };
    assert_eq!(r(21_349.9, 3_200.49, 149.9), "bl=21300,br=3200,mtp=100");
    assert_eq!(r(21_350.0, 3_200.5, 150.0), "bl=21400,br=3201,mtp=200");
    assert_eq!(r(49.9, 0.4, 0.0), "bl=0,br=0,mtp=0");
    assert_eq!(r(50.0, 0.5, 1e14), "bl=100,br=1,mtp=100000000000000");
    let d = v1(&CmcdState {
        object_duration_ms: Some(3_999.5),
        deadline_ms: Some(1_250.0),
        requested_max_throughput_kbps: Some(1_249.0),
        top_bitrate_kbps: Some(6_000.4),
        ..CmcdState::default()
    });
    assert_eq!(d, "d=4000,dl=1300,rtp=1200,tb=6000");
}

#[test]
fn invalid_numbers_omit_their_key() {
    for bad in [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -1.0,
        -0.0001,
        1e15,
        f64::MAX,
    ] {
        let s = CmcdState {
            buffer_length_ms: Some(bad),
            encoded_bitrate_kbps: Some(bad),
            top_bitrate_kbps: Some(bad),
            measured_throughput_kbps: Some(bad),
            requested_max_throughput_kbps: Some(bad),
            object_duration_ms: Some(bad),
            deadline_ms: Some(bad),
            playback_rate: Some(bad),
            latency_ms: Some(bad),
            playhead_ms: Some(bad),
            stall_ms: Some(bad),
            playhead_bitrate_kbps: Some(bad),
            startup_delay_ms: Some(bad),
            completed_stalls_ms: &[bad],
            ..CmcdState::default()
        };
        assert_eq!(v1(&s), "", "{bad}");
        assert_eq!(
            event(&s, EventType::TimeInterval).unwrap(),
            "e=t,sn=0,ts=1700000000000,v=2"
        );
    }
    // The largest RFC 8941 integer is kept, one more is not.
    let s = |x: f64| {
        v1(&CmcdState {
            object_duration_ms: Some(x),
            ..CmcdState::default()
        })
    };
    assert_eq!(s(999_999_999_999_999.0), "d=999999999999999");
    assert_eq!(s(1_000_000_000_000_000.0), "");
}

#[test]
fn playback_rate_is_a_decimal_sent_only_when_not_1() {
    let pr = |x: f64| {
        v1(&CmcdState {
            playback_rate: Some(x),
            ..CmcdState::default()
        })
    };
    assert_eq!(pr(1.0), "");
    assert_eq!(pr(1.0004), "", "rounds to 1.000");
    assert_eq!(pr(1.25), "pr=1.25");
    assert_eq!(pr(2.0), "pr=2.0");
    assert_eq!(pr(0.0), "pr=0.0");
    assert_eq!(pr(0.5), "pr=0.5");
    assert_eq!(pr(0.0625), "pr=0.062", "62.5 thousandths: half to even");
    assert_eq!(pr(0.1875), "pr=0.188", "187.5 thousandths: half to even");
    assert_eq!(pr(1.0 / 3.0), "pr=0.333");
    assert_eq!(pr(0.001), "pr=0.001");
    assert_eq!(pr(16.0), "pr=16.0");
    assert_eq!(pr(999_999_999_999.999), "pr=999999999999.999");
    assert_eq!(pr(1e12), "", "integer part over 12 digits");
}

#[test]
fn strings_are_quoted_escaped_and_checked() {
    let cid = |c: &str| {
        v1(&CmcdState {
            content_id: c,
            ..CmcdState::default()
        })
    };
    assert_eq!(cid("room-1"), "cid=\"room-1\"");
    assert_eq!(cid("a\\b\"c"), "cid=\"a\\\\b\\\"c\"");
    assert_eq!(cid("\"\""), "cid=\"\\\"\\\"\"");
    assert_eq!(cid(""), "");
    assert_eq!(cid("tab\there"), "", "control characters are not allowed");
    assert_eq!(cid("café"), "", "non-ASCII is not allowed in an sf-string");
    assert_eq!(cid(&"x".repeat(64)).len(), 64 + 6);
    assert_eq!(cid(&"x".repeat(65)), "", "v1 cid is at most 64 characters");
    let long = "x".repeat(128);
    let s = CmcdState {
        content_id: &long,
        ..CmcdState::default()
    };
    assert!(event(&s, EventType::TimeInterval)
        .unwrap()
        .contains("cid=\"xxx"));
    let sid = "s".repeat(65);
    assert_eq!(
        v1(&CmcdState {
            session_id: &sid,
            ..CmcdState::default()
        }),
        ""
    );
}

#[test]
fn tokens_are_unquoted() {
    let s = CmcdState {
        object_type: Some(ObjectType::Muxed),
        streaming_format: Some(StreamingFormat::Hls),
        stream_type: Some(StreamType::LowLatency),
        ..CmcdState::default()
    };
    assert_eq!(v1(&s), "ot=av,sf=h,st=l", "v1 has no `ll`");
    assert!(event(&s, EventType::TimeInterval)
        .unwrap()
        .contains(",sf=h,sn=0,st=ll,"));
    let all = [
        ObjectType::Manifest,
        ObjectType::Audio,
        ObjectType::Video,
        ObjectType::Muxed,
        ObjectType::Init,
        ObjectType::Caption,
        ObjectType::TimedText,
        ObjectType::Key,
        ObjectType::Other,
    ];
    let tokens: Vec<&str> = all.iter().map(|o| o.token()).collect();
    assert_eq!(tokens, ["m", "a", "v", "av", "i", "c", "tt", "k", "o"]);
}

#[test]
fn booleans_are_the_key_alone_and_only_when_true() {
    let s = |bs: bool, su: bool| {
        v1(&CmcdState {
            buffer_starvation: bs,
            startup: su,
            ..CmcdState::default()
        })
    };
    assert_eq!(s(true, true), "bs,su");
    assert_eq!(s(false, true), "su");
    assert_eq!(s(true, false), "bs");
    assert_eq!(s(false, false), "");
}

#[test]
fn next_range_must_be_a_byte_range() {
    let r = |x: &str| {
        v1(&CmcdState {
            next_range: x,
            ..CmcdState::default()
        })
    };
    assert_eq!(r("0-99"), "nrr=\"0-99\"");
    assert_eq!(r("100-"), "nrr=\"100-\"");
    assert_eq!(r("-500"), "nrr=\"-500\"");
    for bad in ["-", "", "1-2-3", "bytes=0-9", "a-b", "0-9,20-30"] {
        assert_eq!(r(bad), "", "{bad}");
    }
}

#[test]
fn v2_event_report_keys_and_order() {
    let s = CmcdState {
        session_id: "sid-1",
        content_id: "room-7",
        stream_type: Some(StreamType::Live),
        streaming_format: Some(StreamingFormat::Hls),
        play_state: Some(PlayState::Playing),
        buffer_length_ms: Some(3_049.0),
        encoded_bitrate_kbps: Some(2_500.2),
        playhead_bitrate_kbps: Some(1_200.0),
        measured_throughput_kbps: Some(8_460.0),
        top_bitrate_kbps: Some(5_000.0),
        latency_ms: Some(3_456.7),
        playhead_ms: Some(61_000.4),
        stall_count: Some(3),
        stall_ms: Some(1_234.5),
        completed_stalls_ms: &[400.2, 834.3],
        dropped_frames: Some(12),
        startup_delay_ms: Some(812.0),
        buffer_starvation: true,
        backgrounded: true,
        playback_rate: Some(1.0),
        ..CmcdState::default()
    };
    assert_eq!(
        event(&s, EventType::PlayState).unwrap(),
        "bg,bl=(3000),br=(2500),bs,bsa=(3),bsd=(400 834),bsda=(1235),cid=\"room-7\",dfa=12,e=ps,\
         ltc=3457,msd=812,mtp=(8500),pb=(1200),pt=61000,sf=h,sid=\"sid-1\",sn=0,st=l,sta=p,\
         tb=(5000),ts=1700000000000,v=2"
    );
    // `pr=1` only on a playback-rate event.
    assert!(event(&s, EventType::PlaybackRate)
        .unwrap()
        .contains(",pr=1.0,"));
    assert!(!event(&s, EventType::TimeInterval).unwrap().contains("pr="));
}

#[test]
fn v2_state_change_events_need_their_key() {
    let none = CmcdState::default();
    for e in [
        EventType::PlayState,
        EventType::PlaybackRate,
        EventType::ContentId,
        EventType::BitrateChange,
        EventType::Error,
    ] {
        assert_eq!(event(&none, e), None, "{e:?}");
    }
    for e in [
        EventType::TimeInterval,
        EventType::Mute,
        EventType::Unmute,
        EventType::PlayerExpand,
        EventType::PlayerCollapse,
        EventType::AdStart,
        EventType::AdEnd,
        EventType::AdBreakStart,
        EventType::AdBreakEnd,
        EventType::Skip,
    ] {
        let line = event(&none, e).unwrap();
        assert_eq!(
            line,
            ["e=", e.token(), ",sn=0,ts=1700000000000,v=2"].concat()
        );
    }
    // Back to the foreground: `bg=?0` on the backgrounded-mode event only.
    assert_eq!(
        event(&none, EventType::Backgrounded).unwrap(),
        "bg=?0,e=b,sn=0,ts=1700000000000,v=2"
    );
    let err = CmcdState {
        error_code: "MEDIA_ERR_DECODE",
        ..none
    };
    assert_eq!(
        event(&err, EventType::Error).unwrap(),
        "e=e,ec=(\"MEDIA_ERR_DECODE\"),sn=0,ts=1700000000000,v=2"
    );
    let mut out = String::from("keep");
    let meta = EventMeta {
        event: EventType::TimeInterval,
        timestamp_ms: f64::NAN,
        sequence: 0,
        include_msd: false,
    };
    assert!(!encode_v2_event(&none, &meta, &mut out));
    assert_eq!(out, "keep", "nothing appended");
}

#[test]
fn writer_derives_bs_per_destination_numbers_events_and_sends_msd_once() {
    let mut w = CmcdWriter::new();
    let mut s = CmcdState {
        stall_count: Some(0),
        startup_delay_ms: Some(640.0),
        ..CmcdState::default()
    };
    let mut q = String::new();
    w.query(&s, &mut q);
    assert_eq!(q, "");
    let mut line = String::new();
    assert!(w.event(&s, EventType::TimeInterval, 1000.0, &mut line));
    assert_eq!(line, "bsa=(0),e=t,msd=640,sn=0,ts=1000,v=2");
    // A stall happens and ends before the next request and the next report: each sees `bs` once.
    s.stall_count = Some(1);
    q.clear();
    w.query(&s, &mut q);
    assert_eq!(q, "bs");
    q.clear();
    w.query(&s, &mut q);
    assert_eq!(q, "");
    let mut h = CmcdHeaders::default();
    w.headers(&s, &mut h);
    assert_eq!(h.status, "", "headers share the request-mode mark");
    line.clear();
    assert!(w.event(&s, EventType::TimeInterval, 2000.0, &mut line));
    assert_eq!(line, "bs,bsa=(1),e=t,sn=1,ts=2000,v=2");
    // A failed report changes nothing.
    s.stall_count = Some(2);
    line.clear();
    assert!(!w.event(&s, EventType::PlayState, 3000.0, &mut line));
    assert_eq!(w.next_sequence(), 2);
    assert!(w.event(&s, EventType::TimeInterval, 3000.0, &mut line));
    assert_eq!(line, "bs,bsa=(2),e=t,sn=2,ts=3000,v=2");
    // An ongoing stall is starvation on every report.
    s.buffer_starvation = true;
    for _ in 0..2 {
        q.clear();
        w.query(&s, &mut q);
        assert_eq!(q, "bs");
    }
}

#[test]
fn from_metrics_fills_what_the_monitor_knows() {
    let m = QoeMetrics {
        startup_ms: Some(812.4),
        started: true,
        stall_count: 2,
        stall_ms: 1500.0,
        stall_ongoing: true,
        dropped_frames: 7,
        latency_last_ms: Some(2400.0),
        bitrate_last_bps: Some(2_500_000.0),
        watch_ms: 60_000.0,
        ..QoeMetrics::default()
    };
    let s = CmcdState::from_metrics(&m, "abc");
    assert_eq!(s.session_id, "abc");
    assert!(s.buffer_starvation && s.startup);
    assert_eq!(s.play_state, Some(PlayState::Rebuffering));
    assert_eq!(s.playhead_bitrate_kbps, Some(2500.0));
    assert_eq!(s.stall_count, Some(2));
    assert_eq!(s.stall_ms, Some(1500.0));
    assert_eq!(s.dropped_frames, Some(7));
    assert_eq!(s.latency_ms, Some(2400.0));
    assert_eq!(s.startup_delay_ms, Some(812.4));
    assert_eq!(s.error_code, "");
    assert_eq!(
        s.encoded_bitrate_kbps, None,
        "the requested rendition is the binding's"
    );
    let failed = QoeMetrics {
        playback_failure: true,
        failure_code: 3,
        ..m
    };
    let s = CmcdState::from_metrics(&failed, "abc");
    assert_eq!(s.play_state, Some(PlayState::FatalError));
    assert_eq!(s.error_code, "MEDIA_ERR_DECODE");
}

#[test]
fn play_state_from_metrics() {
    let base = QoeMetrics::default();
    let ps = |m: &QoeMetrics, paused, seeking| PlayState::from_metrics(m, paused, seeking);
    assert_eq!(ps(&base, false, false), None, "no play intent yet");
    let starting = QoeMetrics {
        watch_ms: 10.0,
        ..base
    };
    assert_eq!(ps(&starting, false, false), Some(PlayState::Starting));
    assert_eq!(ps(&starting, true, false), Some(PlayState::Paused));
    assert_eq!(ps(&starting, false, true), Some(PlayState::Starting));
    let playing = QoeMetrics {
        started: true,
        ..starting
    };
    assert_eq!(ps(&playing, false, false), Some(PlayState::Playing));
    assert_eq!(ps(&playing, true, false), Some(PlayState::Paused));
    assert_eq!(ps(&playing, false, true), Some(PlayState::Seeking));
    let stalled = QoeMetrics {
        stall_ongoing: true,
        ..playing
    };
    assert_eq!(ps(&stalled, false, false), Some(PlayState::Rebuffering));
    let ended = QoeMetrics {
        ended: true,
        ..playing
    };
    assert_eq!(ps(&ended, true, false), Some(PlayState::Ended));
    let failed = QoeMetrics {
        startup_failure: true,
        ..base
    };
    assert_eq!(ps(&failed, false, false), Some(PlayState::FatalError));
}

// ---- a small RFC 8941 dictionary checker for the property test ----

/// Percent-decodes `s` (`%XX` only; anything else kept), `None` on a malformed escape.
fn pct_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = core::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Parses one bare item at the start of `s`; returns the rest.
fn bare_item(s: &str) -> Result<&str, String> {
    let b = s.as_bytes();
    match b.first() {
        Some(b'"') => {
            let mut i = 1;
            while i < b.len() {
                match b[i] {
                    b'\\' => {
                        if !matches!(b.get(i + 1), Some(b'"' | b'\\')) {
                            return Err("bad escape".to_string());
                        }
                        i += 2;
                    }
                    b'"' => return Ok(&s[i + 1..]),
                    c if (0x20..0x7f).contains(&c) => i += 1,
                    _ => return Err("bad string char".to_string()),
                }
            }
            Err("unterminated string".to_string())
        }
        Some(b'?') => match b.get(1) {
            Some(b'0' | b'1') => Ok(&s[2..]),
            _ => Err("bad boolean".to_string()),
        },
        Some(c) if c.is_ascii_digit() => {
            let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
            let rest = &s[n..];
            if let Some(frac) = rest.strip_prefix('.') {
                let f = frac.bytes().take_while(|c| c.is_ascii_digit()).count();
                if n > 12 || f == 0 || f > 3 {
                    return Err("bad decimal".to_string());
                }
                Ok(&frac[f..])
            } else if n > 15 {
                Err("integer too long".to_string())
            } else {
                Ok(rest)
            }
        }
        Some(c) if c.is_ascii_alphabetic() || *c == b'*' => {
            let n = b
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(c))
                .count();
            Ok(&s[n..])
        }
        _ => Err("bad item".to_string()),
    }
}

/// Checks `s` is an RFC 8941 dictionary (no whitespace between members) whose keys are unique
/// and in ascending order; returns the keys.
fn check_dict(s: &str) -> Result<Vec<String>, String> {
    let mut keys: Vec<String> = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let n = rest
            .bytes()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"_-.*".contains(c))
            .count();
        if n == 0 || !rest.as_bytes()[0].is_ascii_lowercase() {
            return Err(["bad key at ", rest].concat());
        }
        let key = &rest[..n];
        if keys.last().is_some_and(|k| k.as_str() >= key) {
            return Err(["key out of order: ", key].concat());
        }
        keys.push(key.to_string());
        rest = &rest[n..];
        if let Some(v) = rest.strip_prefix('=') {
            rest = if let Some(mut inner) = v.strip_prefix('(') {
                loop {
                    if let Some(r) = inner.strip_prefix(')') {
                        break r;
                    }
                    inner = bare_item(inner)?;
                    inner = inner.strip_prefix(' ').unwrap_or(inner);
                }
            } else {
                bare_item(v)?
            };
        }
        match rest.strip_prefix(',') {
            Some("") => return Err("trailing comma".to_string()),
            Some(r) => rest = r,
            None if rest.is_empty() => {}
            None => return Err(["junk after member: ", rest].concat()),
        }
    }
    Ok(keys)
}

fn num() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        Just(None),
        Just(Some(f64::NAN)),
        Just(Some(f64::INFINITY)),
        Just(Some(-1.0)),
        Just(Some(1e300)),
        Just(Some(1.0)),
        (0.0..1e16f64).prop_map(Some),
        (0.0..10.0f64).prop_map(Some),
        any::<f64>().prop_map(Some),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[ -~]{0,80}",
        "\\PC{0,20}",
        "[a-z0-9\"\\\\]{1,10}",
        "[0-9]{0,4}-[0-9]{0,4}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Whatever the inputs, every payload is a valid CMCD dictionary (keys sorted, values well
    /// formed), header shards hold only their keys, and query mode decodes to the payload.
    #[test]
    fn output_is_always_a_valid_cmcd_dictionary(
        nums in proptest::collection::vec(num(), 14),
        texts in proptest::collection::vec(text(), 5),
        flags in proptest::collection::vec(any::<bool>(), 3),
        picks in proptest::collection::vec(0usize..20, 5),
        counts in (proptest::option::of(any::<u32>()), proptest::option::of(any::<u64>())),
        stalls in proptest::collection::vec(any::<f64>(), 0..4),
        ts in any::<f64>(),
    ) {
        let objects = [ObjectType::Manifest, ObjectType::Audio, ObjectType::Video,
            ObjectType::Muxed, ObjectType::Init, ObjectType::Caption, ObjectType::TimedText,
            ObjectType::Key, ObjectType::Other];
        let states = [PlayState::Starting, PlayState::Playing, PlayState::Seeking,
            PlayState::Rebuffering, PlayState::Paused, PlayState::Ended, PlayState::FatalError,
            PlayState::Quit, PlayState::Preloading];
        let events = [EventType::PlayState, EventType::TimeInterval, EventType::Error,
            EventType::BitrateChange, EventType::PlaybackRate, EventType::ContentId,
            EventType::Backgrounded, EventType::Mute, EventType::Skip];
        let s = CmcdState {
            session_id: &texts[0],
            content_id: &texts[1],
            next_object: &texts[2],
            next_range: &texts[3],
            error_code: &texts[4],
            stream_type: [StreamType::Vod, StreamType::Live, StreamType::LowLatency].get(picks[0]).copied(),
            streaming_format: [StreamingFormat::Dash, StreamingFormat::Hls, StreamingFormat::Smooth,
                StreamingFormat::Other].get(picks[1]).copied(),
            object_type: objects.get(picks[2]).copied(),
            play_state: states.get(picks[3]).copied(),
            playback_rate: nums[0],
            buffer_length_ms: nums[1],
            encoded_bitrate_kbps: nums[2],
            top_bitrate_kbps: nums[3],
            measured_throughput_kbps: nums[4],
            requested_max_throughput_kbps: nums[5],
            object_duration_ms: nums[6],
            deadline_ms: nums[7],
            playhead_bitrate_kbps: nums[8],
            latency_ms: nums[9],
            playhead_ms: nums[10],
            stall_ms: nums[11],
            startup_delay_ms: nums[12],
            stall_count: counts.0,
            dropped_frames: counts.1,
            completed_stalls_ms: &stalls,
            buffer_starvation: flags[0],
            startup: flags[1],
            backgrounded: flags[2],
        };
        let plain = v1(&s);
        check_dict(&plain).map_err(TestCaseError::fail)?;
        let q = query(&s);
        prop_assert!(q.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.!~*'()%".contains(&b)));
        let decoded = pct_decode(&q);
        prop_assert_eq!(decoded.as_deref(), Some(plain.as_str()));
        let h = headers(&s);
        let shards: [(&str, &[&str]); 4] = [
            (&h.object, &["br", "d", "ot", "tb"]),
            (&h.request, &["bl", "dl", "mtp", "nor", "nrr", "su"]),
            (&h.session, &["cid", "pr", "sf", "sid", "st"]),
            (&h.status, &["bs", "rtp"]),
        ];
        let mut all = Vec::new();
        for (value, allowed) in shards {
            for k in check_dict(value).map_err(TestCaseError::fail)? {
                prop_assert!(allowed.contains(&k.as_str()), "{} in the wrong shard", k);
                all.push(k);
            }
        }
        all.sort();
        prop_assert_eq!(all, check_dict(&plain).unwrap());

        let mut w = CmcdWriter::new();
        for (i, e) in events.iter().enumerate() {
            let mut line = String::new();
            let t = if i % 2 == 0 { ts } else { 1.7e12 };
            if w.event(&s, *e, t, &mut line) {
                let keys = check_dict(&line).map_err(TestCaseError::fail)?;
                for k in ["e", "sn", "ts", "v"] {
                    prop_assert!(keys.iter().any(|x| x == k), "{} missing", k);
                }
                prop_assert!(line.ends_with(",v=2"));
            } else {
                prop_assert_eq!(line, "");
            }
        }
    }
}
