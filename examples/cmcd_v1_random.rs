//! Generated CMCD v1 request payloads of `livekpi::cmcd` (the reference encoder), as JSON lines,
//! for `tests/js/cmcd-v1.test.mjs`, which checks that the JS v1 encoder of `livekpi/player/cmcd`
//! writes the same bytes.
//!
//! `cargo run --quiet --features player --example cmcd_v1_random -- [count] [seed]`
//!
//! Each line: `{"input": {<CMCD key>: <raw value>}, "query": <encode_v1_query>, "headers":
//! {<name>: <value>}}`. Numbers that JSON cannot carry are the strings "NaN", "Infinity",
//! "-Infinity"; `ot`, `sf`, `st` are tokens (`st` as v2 writes it: `ll` for low-latency live).

use livekpi::cmcd::{
    encode_v1_headers, encode_v1_query, CmcdHeaders, CmcdState, ObjectType, StreamType,
    StreamingFormat,
};

/// xorshift64*: a small deterministic generator (the same inputs for every run of a seed).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A raw number as a player might measure it, including every edge the writer must handle.
fn number(r: &mut Rng) -> Option<f64> {
    Some(match r.below(16) {
        0 => return None,
        1 => f64::NAN,
        2 => r.pick(&[f64::INFINITY, f64::NEG_INFINITY, -0.0, -1.0, -0.4]),
        3 => r.pick(&[
            0.5, 1.5, 49.999, 50.0, 149.9999, 150.0, 250.0, 0.0, 1.0, 0.0005, 1.0005,
        ]),
        4 => r.pick(&[
            999_999_999_999_999.0,
            999_999_999_999_999.4,
            1e15,
            999_999_999_999_949.0,
        ]),
        5 => r.pick(&[1e300, 5e-324, 2.5e14, 123_456_789.5]),
        6 => r.below(100) as f64 + 0.5,
        7 => (r.below(200) * 50) as f64,
        8 => r.unit(),
        9 => r.unit() * 10.0,
        10 => r.below(100_000) as f64 / 1000.0,
        11 => r.unit() * 1e6,
        _ => r.unit() * 1e4,
    })
}

fn rate(r: &mut Rng) -> Option<f64> {
    match r.below(4) {
        0 => Some(1.0),
        1 => Some(r.pick(&[
            0.0,
            0.5,
            2.0,
            1.25,
            1.2345,
            1.0015,
            0.0025,
            0.0035,
            1e12,
            999_999_999_999.999_6,
        ])),
        _ => number(r),
    }
}

const CHARS: &[&str] = &[
    "a", "Z", "0", "-", "_", ".", "~", " ", "\"", "\\", "/", "?", "&", "=", ",", "%", "+", "#",
    "é", "→", "😀", "\t", "\u{7f}", "'", "(", "*", "!", ";", ":",
];

fn string(r: &mut Rng, long: usize) -> String {
    let n = match r.below(6) {
        0 => 0,
        1 => long + r.below(3) as usize - 1,
        _ => r.below(24) as usize,
    };
    let plain = r.below(3) > 0;
    (0..n)
        .map(|_| {
            if plain {
                r.pick(&CHARS[..18])
            } else {
                r.pick(CHARS)
            }
        })
        .collect()
}

fn range(r: &mut Rng) -> String {
    let d = |r: &mut Rng| r.below(100_000).to_string();
    match r.below(8) {
        0 => String::new(),
        1 => format!("{}-", d(r)),
        2 => format!("-{}", d(r)),
        3 => r
            .pick(&["-", "1-2-3", "a-b", "12", " 1-2", "1-2 ", "٣-4"])
            .into(),
        4 => format!("{}-{}", "9".repeat(40), "1".repeat(23)),
        _ => format!("{}-{}", d(r), d(r)),
    }
}

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
        (if x > 0.0 {
            "\"Infinity\""
        } else {
            "\"-Infinity\""
        })
        .into()
    } else {
        format!("{x:?}")
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3000);
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0x5eed);
    let mut r = Rng(seed.max(1));
    use ObjectType::*;
    for _ in 0..count {
        let sid = string(&mut r, 64);
        let cid = string(&mut r, 64);
        let nor = if r.below(8) == 0 {
            // About 2048 bytes: ASCII, or 2-byte UTF-8 (the bound is on bytes, not characters).
            r.pick(&["a/", "é"]).repeat(1023 + r.below(3) as usize)
        } else {
            string(&mut r, 40)
        };
        let nrr = range(&mut r);
        let s = CmcdState {
            session_id: &sid,
            content_id: &cid,
            stream_type: r.pick(&[
                None,
                Some(StreamType::Vod),
                Some(StreamType::Live),
                Some(StreamType::LowLatency),
            ]),
            streaming_format: r.pick(&[
                None,
                Some(StreamingFormat::Dash),
                Some(StreamingFormat::Hls),
                Some(StreamingFormat::Smooth),
                Some(StreamingFormat::Other),
            ]),
            playback_rate: rate(&mut r),
            buffer_length_ms: number(&mut r),
            encoded_bitrate_kbps: number(&mut r),
            top_bitrate_kbps: number(&mut r),
            measured_throughput_kbps: number(&mut r),
            requested_max_throughput_kbps: number(&mut r),
            buffer_starvation: r.below(2) == 0,
            startup: r.below(2) == 0,
            object_type: r.pick(&[
                None,
                Some(Manifest),
                Some(Audio),
                Some(Video),
                Some(Muxed),
                Some(Init),
                Some(Caption),
                Some(TimedText),
                Some(Key),
                Some(Other),
            ]),
            object_duration_ms: number(&mut r),
            deadline_ms: number(&mut r),
            next_object: &nor,
            next_range: &nrr,
            ..CmcdState::default()
        };
        let mut kv: Vec<String> = Vec::new();
        for (k, v) in [
            ("bl", s.buffer_length_ms),
            ("br", s.encoded_bitrate_kbps),
            ("tb", s.top_bitrate_kbps),
            ("mtp", s.measured_throughput_kbps),
            ("rtp", s.requested_max_throughput_kbps),
            ("d", s.object_duration_ms),
            ("dl", s.deadline_ms),
            ("pr", s.playback_rate),
        ] {
            if let Some(x) = v {
                kv.push(format!("\"{k}\":{}", json_num(x)));
            }
        }
        for (k, v) in [("bs", s.buffer_starvation), ("su", s.startup)] {
            kv.push(format!("\"{k}\":{v}"));
        }
        for (k, v) in [("sid", &sid), ("cid", &cid), ("nor", &nor), ("nrr", &nrr)] {
            kv.push(format!("\"{k}\":{}", json_str(v)));
        }
        if let Some(o) = s.object_type {
            kv.push(format!("\"ot\":{}", json_str(o.token())));
        }
        if let Some(f) = s.streaming_format {
            kv.push(format!("\"sf\":{}", json_str(f.token())));
        }
        if let Some(t) = s.stream_type {
            kv.push(format!("\"st\":{}", json_str(t.token(2))));
        }
        let mut q = String::new();
        encode_v1_query(&s, &mut q);
        let mut h = CmcdHeaders::default();
        encode_v1_headers(&s, &mut h);
        let headers: Vec<String> = h
            .fields()
            .map(|(k, v)| format!("{}:{}", json_str(k), json_str(v)))
            .collect();
        println!(
            "{{\"input\":{{{}}},\"query\":{},\"headers\":{{{}}}}}",
            kv.join(","),
            json_str(&q),
            headers.join(",")
        );
    }
}
