//! Sample CMCD outputs of `livekpi::cmcd` as JSON lines, for `tests/js/cmcd.test.mjs` (which
//! decodes them with `@svta/cml-cmcd` and compares field by field).
//!
//! `cargo run --quiet --features player --example cmcd_samples`
//!
//! Each line: `{"name", "mode": "request"|"event", "input": {<CMCD key>: <raw value before
//! rounding>}, "omit": [<keys the input makes invalid, which livekpi omits>], and the outputs:
//! "query" + "headers" (request mode, CMCD v1) or "event" (one v2 event-mode line)}`. Raw
//! numbers that JSON cannot carry (NaN, ±∞) are written as the strings "NaN", "Infinity",
//! "-Infinity".

use livekpi::cmcd::{
    encode_v1_headers, encode_v1_query, CmcdHeaders, CmcdState, CmcdWriter, EventType, ObjectType,
    StreamType, StreamingFormat,
};
use livekpi::ids::session_id_from_bytes;
use livekpi::qoe::QoeMetrics;

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn json_num(x: f64) -> String {
    if x.is_nan() {
        "\"NaN\"".into()
    } else if x.is_infinite() {
        if x > 0.0 {
            "\"Infinity\""
        } else {
            "\"-Infinity\""
        }
        .into()
    } else {
        format!("{x:?}")
    }
}

/// The state's fields under their CMCD key names, raw (what a cml-cmcd user would pass).
fn input(s: &CmcdState<'_>, version: u8, bs: bool) -> Vec<(String, String)> {
    let mut kv: Vec<(String, String)> = Vec::new();
    let mut num = |k: &str, x: Option<f64>, list: bool| {
        if let Some(x) = x {
            let v = json_num(x);
            kv.push((k.into(), if list { format!("[{v}]") } else { v }));
        }
    };
    let v2 = version == 2;
    num("bl", s.buffer_length_ms, v2);
    num("br", s.encoded_bitrate_kbps, v2);
    num("tb", s.top_bitrate_kbps, v2);
    num("mtp", s.measured_throughput_kbps, v2);
    num("pr", s.playback_rate, false);
    if v2 {
        num("pb", s.playhead_bitrate_kbps, true);
        num("ltc", s.latency_ms, false);
        num("pt", s.playhead_ms, false);
        num("bsda", s.stall_ms, true);
        if let Some(n) = s.stall_count {
            kv.push(("bsa".into(), format!("[{n}]")));
        }
        if !s.completed_stalls_ms.is_empty() {
            let v: Vec<String> = s.completed_stalls_ms.iter().map(|&x| json_num(x)).collect();
            kv.push(("bsd".into(), format!("[{}]", v.join(","))));
        }
        if let Some(n) = s.dropped_frames {
            kv.push(("dfa".into(), n.to_string()));
        }
        if let Some(p) = s.play_state {
            kv.push(("sta".into(), json_str(p.token())));
        }
        if !s.error_code.is_empty() {
            kv.push(("ec".into(), format!("[{}]", json_str(s.error_code))));
        }
        if s.backgrounded {
            kv.push(("bg".into(), "true".into()));
        }
    } else {
        num("rtp", s.requested_max_throughput_kbps, false);
        num("d", s.object_duration_ms, false);
        num("dl", s.deadline_ms, false);
        if let Some(o) = s.object_type {
            kv.push(("ot".into(), json_str(o.token())));
        }
        if s.startup {
            kv.push(("su".into(), "true".into()));
        }
        for (k, v) in [("nor", s.next_object), ("nrr", s.next_range)] {
            if !v.is_empty() {
                kv.push((k.into(), json_str(v)));
            }
        }
    }
    if bs {
        kv.push(("bs".into(), "true".into()));
    }
    for (k, v) in [("sid", s.session_id), ("cid", s.content_id)] {
        if !v.is_empty() {
            kv.push((k.into(), json_str(v)));
        }
    }
    if let Some(f) = s.streaming_format {
        kv.push(("sf".into(), json_str(f.token())));
    }
    if let Some(t) = s.stream_type {
        kv.push(("st".into(), json_str(t.token(version))));
    }
    kv
}

fn obj(kv: &[(String, String)]) -> String {
    let parts: Vec<String> = kv
        .iter()
        .map(|(k, v)| format!("{}:{v}", json_str(k)))
        .collect();
    format!("{{{}}}", parts.join(","))
}

fn list(keys: &[&str]) -> String {
    let v: Vec<String> = keys.iter().map(|k| json_str(k)).collect();
    format!("[{}]", v.join(","))
}

fn request(name: &str, s: &CmcdState<'_>, omit: &[&str]) {
    let mut q = String::new();
    encode_v1_query(s, &mut q);
    let mut h = CmcdHeaders::default();
    encode_v1_headers(s, &mut h);
    let headers: Vec<(String, String)> = h
        .fields()
        .map(|(k, v)| (k.to_string(), json_str(v)))
        .collect();
    println!(
        "{{\"name\":{},\"mode\":\"request\",\"input\":{},\"omit\":{},\"query\":{},\"headers\":{}}}",
        json_str(name),
        obj(&input(s, 1, s.buffer_starvation)),
        list(omit),
        json_str(&q),
        obj(&headers)
    );
}

struct Ev<'a> {
    name: &'a str,
    state: CmcdState<'a>,
    event: EventType,
    ts: f64,
    /// Expected from the writer: `bs` (starvation since the previous report) and `msd` sent.
    bs: bool,
    msd: bool,
}

fn main() {
    let sid_bytes: [u8; 16] = core::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0x5a);
    let sid = session_id_from_bytes(&sid_bytes);

    // ---- CMCD v1, request mode ----
    request(
        "all v1 keys (CTA-5004 example values)",
        &CmcdState {
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
        },
        &[],
    );

    // A live HLS segment request as the player binding would make it: the monitor's metrics plus
    // what hls.js knows about the fragment and the ABR estimate.
    let m = QoeMetrics {
        startup_ms: Some(812.4),
        started: true,
        stall_count: 1,
        stall_ms: 640.0,
        latency_last_ms: Some(3_456.7),
        bitrate_last_bps: Some(2_499_800.0),
        dropped_frames: 3,
        watch_ms: 42_000.0,
        ..QoeMetrics::default()
    };
    let live = CmcdState {
        content_id: "room-2026-11-25-a",
        stream_type: Some(StreamType::Live),
        streaming_format: Some(StreamingFormat::Hls),
        buffer_length_ms: Some(3_049.9),
        encoded_bitrate_kbps: Some(2_499.8),
        top_bitrate_kbps: Some(5_000.0),
        measured_throughput_kbps: Some(8_460.2),
        object_type: Some(ObjectType::Video),
        object_duration_ms: Some(2_002.0),
        deadline_ms: Some(3_049.9),
        playback_rate: Some(1.0),
        ..CmcdState::from_metrics(&m, &sid)
    };
    request("hls live video segment from QoeMetrics", &live, &[]);
    request(
        "manifest at startup",
        &CmcdState {
            session_id: &sid,
            content_id: "room-7",
            streaming_format: Some(StreamingFormat::Hls),
            stream_type: Some(StreamType::LowLatency),
            object_type: Some(ObjectType::Manifest),
            startup: true,
            ..CmcdState::default()
        },
        &[],
    );
    request(
        "rounding halves",
        &CmcdState {
            buffer_length_ms: Some(21_350.0),
            encoded_bitrate_kbps: Some(3_200.5),
            top_bitrate_kbps: Some(0.4),
            measured_throughput_kbps: Some(149.9),
            deadline_ms: Some(1_250.0),
            requested_max_throughput_kbps: Some(1_249.0),
            object_duration_ms: Some(3_999.5),
            playback_rate: Some(0.0625),
            object_type: Some(ObjectType::Audio),
            ..CmcdState::default()
        },
        &[],
    );
    request(
        "playback rates",
        &CmcdState {
            playback_rate: Some(1.0 / 3.0),
            session_id: "s",
            ..CmcdState::default()
        },
        &[],
    );
    request(
        "integral playback rate",
        &CmcdState {
            playback_rate: Some(2.0),
            ..CmcdState::default()
        },
        &[],
    );
    request(
        "paused playback rate",
        &CmcdState {
            playback_rate: Some(0.0),
            buffer_starvation: true,
            ..CmcdState::default()
        },
        &[],
    );
    request(
        "escaping and reserved characters",
        &CmcdState {
            content_id: "say \"hi\" \\ 50% off, a=b;c",
            session_id: "id with spaces & stuff",
            next_object: "seg 2/ä?x=1&y=2.m4s",
            next_range: "100-",
            object_type: Some(ObjectType::Muxed),
            ..CmcdState::default()
        },
        &[],
    );
    request(
        "invalid values are omitted",
        &CmcdState {
            session_id: &"x".repeat(65),
            content_id: "café",
            buffer_length_ms: Some(f64::NAN),
            encoded_bitrate_kbps: Some(f64::INFINITY),
            top_bitrate_kbps: Some(-5.0),
            measured_throughput_kbps: Some(1e300),
            deadline_ms: Some(-100.0),
            playback_rate: Some(f64::NEG_INFINITY),
            object_duration_ms: Some(1_500.0),
            next_range: "bytes=0-9",
            ..CmcdState::default()
        },
        &["sid", "cid", "tb", "mtp", "dl", "nrr"],
    );

    // ---- CMCD v2, event mode: one viewing session through a writer ----
    let t0 = 1_764_043_200_000.0;
    let starting = QoeMetrics {
        watch_ms: 100.0,
        ..QoeMetrics::default()
    };
    let playing = QoeMetrics {
        started: true,
        startup_ms: Some(812.4),
        watch_ms: 1_000.0,
        bitrate_last_bps: Some(1_200_000.0),
        latency_last_ms: Some(3_456.7),
        dropped_frames: 0,
        ..QoeMetrics::default()
    };
    let after_stall = QoeMetrics {
        stall_count: 2,
        stall_ms: 1_234.5,
        dropped_frames: 12,
        bitrate_last_bps: Some(2_500_000.0),
        ..playing
    };
    let failed = QoeMetrics {
        playback_failure: true,
        failure_code: 3,
        ..after_stall
    };
    let session = |m: &QoeMetrics| CmcdState {
        content_id: "room-7",
        stream_type: Some(StreamType::LowLatency),
        streaming_format: Some(StreamingFormat::Hls),
        ..CmcdState::from_metrics(m, &sid)
    };
    let stalls = [400.2, 834.3];
    let events = [
        Ev {
            name: "interval while starting",
            state: session(&starting),
            event: EventType::TimeInterval,
            ts: t0,
            bs: false,
            msd: false,
        },
        Ev {
            name: "play state: playing",
            state: CmcdState {
                buffer_length_ms: Some(3_049.0),
                encoded_bitrate_kbps: Some(1_200.0),
                measured_throughput_kbps: Some(8_460.0),
                top_bitrate_kbps: Some(5_000.0),
                playhead_ms: Some(0.0),
                ..session(&playing)
            },
            event: EventType::PlayState,
            ts: t0 + 812.4,
            bs: false,
            msd: true,
        },
        Ev {
            name: "bitrate change",
            state: CmcdState {
                encoded_bitrate_kbps: Some(2_500.4),
                ..session(&playing)
            },
            event: EventType::BitrateChange,
            ts: t0 + 9_000.0,
            bs: false,
            msd: false,
        },
        Ev {
            name: "interval after two stalls",
            state: CmcdState {
                completed_stalls_ms: &stalls,
                playhead_ms: Some(29_500.6),
                buffer_length_ms: Some(1_950.0),
                ..session(&after_stall)
            },
            event: EventType::TimeInterval,
            ts: t0 + 30_000.0,
            bs: true,
            msd: false,
        },
        Ev {
            name: "playback rate back to 1",
            state: CmcdState {
                playback_rate: Some(1.0),
                ..session(&after_stall)
            },
            event: EventType::PlaybackRate,
            ts: t0 + 31_000.0,
            bs: false,
            msd: false,
        },
        Ev {
            name: "backgrounded",
            state: CmcdState {
                backgrounded: true,
                ..session(&after_stall)
            },
            event: EventType::Backgrounded,
            ts: t0 + 32_000.0,
            bs: false,
            msd: false,
        },
        Ev {
            name: "foreground again",
            state: session(&after_stall),
            event: EventType::Backgrounded,
            ts: t0 + 33_000.0,
            bs: false,
            msd: false,
        },
        Ev {
            name: "fatal error",
            state: session(&failed),
            event: EventType::Error,
            ts: t0 + 40_000.5,
            bs: false,
            msd: false,
        },
    ];
    let mut w = CmcdWriter::new();
    for ev in &events {
        let sn = w.next_sequence();
        let mut line = String::new();
        assert!(
            w.event(&ev.state, ev.event, ev.ts, &mut line),
            "{}",
            ev.name
        );
        let mut kv = input(&ev.state, 2, ev.bs);
        kv.push(("e".into(), json_str(ev.event.token())));
        kv.push(("ts".into(), json_num(ev.ts)));
        kv.push(("sn".into(), sn.to_string()));
        if ev.msd {
            kv.push((
                "msd".into(),
                json_num(ev.state.startup_delay_ms.unwrap_or(f64::NAN)),
            ));
        }
        if ev.event == EventType::Backgrounded && !ev.state.backgrounded {
            kv.push(("bg".into(), "false".into()));
        }
        println!(
            "{{\"name\":{},\"mode\":\"event\",\"input\":{},\"omit\":[],\"event\":{}}}",
            json_str(ev.name),
            obj(&kv),
            json_str(&line)
        );
    }
}
