//! Summary format tests: round trips, writer protocol, strict decoding, never-panic properties,
//! and (console) ledger / merge properties.

use alloc::vec::Vec;

use proptest::prelude::*;

use super::*;
use crate::qoe::QoeMetrics;

const SID: [u8; 16] = [
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
];
const T0: f64 = 1_764_000_000_000.0;

/// A healthy 30 s interval of a live view: startup 640 ms, 30 fps, 3 Mbit/s, 1 latency sample
/// per second.
fn healthy(t_s: f64) -> QoeMetrics {
    QoeMetrics {
        startup_ms: Some(640.4),
        load_to_first_frame_ms: Some(910.0),
        started: true,
        watch_ms: t_s * 1000.0,
        playing_ms: t_s * 1000.0 - 640.0,
        total_frames: (t_s * 30.0) as u32,
        latency_samples: t_s as u32,
        latency_mean_ms: Some(2480.0),
        latency_last_ms: Some(2511.0),
        live_edge_last_s: Some(1.9),
        bitrate_last_bps: Some(3_000_000.0),
        bitrate_mean_bps: Some(3_000_000.0),
        rtt_last_ms: Some(38.0),
        ..QoeMetrics::default()
    }
}

/// A view with stalls: like [`healthy`] plus 3 stalls (1.8 s), 2 freezes, dropped frames, a
/// bitrate switch down.
fn stalled(t_s: f64) -> QoeMetrics {
    QoeMetrics {
        stall_count: 3,
        stall_ms: 1812.0,
        freeze_count: 2,
        freeze_ms: 640.0,
        freeze_500_count: 1,
        freeze_500_ms: 520.0,
        dropped_frames: 14,
        bitrate_switch_down: 1,
        bitrate_last_bps: Some(1_200_000.0),
        playing_ms: t_s * 1000.0 - 640.0 - 1812.0,
        ..healthy(t_s)
    }
}

fn write(w: &mut SummaryWriter, t_s: f64, m: &QoeMetrics, fin: bool) -> Vec<u8> {
    let mut out = Vec::new();
    w.write(T0 + t_s * 1000.0, m, fin, &mut out);
    out
}

#[test]
fn round_trip_and_sizes() {
    let mut w = SummaryWriter::new(SID, "room-8812", T0).unwrap();
    let first = write(&mut w, 30.0, &healthy(30.0), false);
    let s = decode(&first).unwrap();
    assert_eq!(s.session_id, SID);
    assert_eq!(s.room_id, "room-8812");
    assert_eq!((s.seq, s.base_seq), (1, 0));
    assert_eq!(s.start_ms, T0 as u64);
    assert_eq!(s.span_ms, 30_000);
    assert_eq!(s.delta.get(Counter::WatchMs), 30_000);
    assert_eq!(s.delta.get(Counter::Started), 1);
    assert_eq!(s.delta.get(Counter::PlayedKbit), 88_080);
    assert_eq!(s.state.startup_ms, Some(640));
    assert_eq!(s.state.latency_ms, Some(2511));
    assert_eq!(s.state.live_edge_ms, Some(1900));
    assert_eq!(s.state.bitrate_kbps, Some(3000));
    assert!(!s.is_final);
    assert!(w.ack(1));
    let second = write(&mut w, 60.0, &healthy(60.0), false);
    let s2 = decode(&second).unwrap();
    assert_eq!((s2.seq, s2.base_seq), (2, 1));
    assert_eq!(s2.delta.get(Counter::WatchMs), 30_000);
    assert_eq!(s2.delta.get(Counter::Started), 0);
    assert_eq!(
        s2.state.startup_ms, None,
        "startup is sent until acknowledged"
    );
    assert!(w.ack(2));
    let third = write(&mut w, 90.0, &stalled(90.0), true);
    let s3 = decode(&third).unwrap();
    assert!(s3.is_final);
    assert_eq!(s3.delta.get(Counter::StallCount), 3);
    // Sizes: first (with startup) / steady healthy / steady with stalls (73 / 97 bytes).
    assert!(second.len() <= 80 && third.len() <= 100);
    std::println!(
        "summary bytes: first {} healthy-30s {} stalls-30s {}",
        first.len(),
        second.len(),
        third.len()
    );
    // Re-encoding the decoded summary gives the same bytes (canonical form).
    let mut again = Vec::new();
    encode(&s3, &mut again);
    assert_eq!(again, third);
}

#[test]
fn unacked_summaries_share_the_base_and_supersede() {
    let mut w = SummaryWriter::new(SID, "r", T0).unwrap();
    let a = decode(&write(&mut w, 30.0, &healthy(30.0), false))
        .unwrap()
        .delta;
    let b_bytes = write(&mut w, 60.0, &healthy(60.0), false);
    let b = decode(&b_bytes).unwrap();
    assert_eq!(
        b.base_seq, 0,
        "no ack yet: still relative to the view start"
    );
    assert_eq!(b.delta.get(Counter::WatchMs), 60_000);
    assert!(b.delta.get(Counter::WatchMs) > a.get(Counter::WatchMs));
    assert!(!w.ack(7), "unknown seq");
    assert!(w.ack(2));
    assert!(!w.ack(1), "older ack ignored");
    let cb = write(&mut w, 90.0, &healthy(90.0), false);
    let c = decode(&cb).unwrap();
    assert_eq!((c.seq, c.base_seq), (3, 2));
    assert_eq!(c.start_ms, T0 as u64 + 60_000);
    assert_eq!(c.delta.get(Counter::WatchMs), 30_000);
}

#[test]
fn counters_are_kept_monotone() {
    let mut w = SummaryWriter::new(SID, "r", T0).unwrap();
    let mut m = healthy(30.0);
    let _ = write(&mut w, 30.0, &m, false);
    w.ack(1);
    m.latency_mean_ms = Some(-50.0); // a bad clock must not make a negative delta
    m.watch_ms = 29_000.0;
    let sb = write(&mut w, 31.0, &m, false);
    let s = decode(&sb).unwrap();
    assert_eq!(s.delta.get(Counter::WatchMs), 0);
    assert_eq!(s.delta.get(Counter::LatencySumMs), 0);
}

#[test]
fn writer_rejects_bad_room_ids() {
    assert!(SummaryWriter::new(SID, "", T0).is_none());
    assert!(SummaryWriter::new(SID, &"x".repeat(65), T0).is_none());
    assert!(SummaryWriter::new(SID, &"直".repeat(21), T0).is_some()); // 63 bytes
}

fn valid() -> Vec<u8> {
    let mut w = SummaryWriter::new(SID, "room", T0).unwrap();
    write(&mut w, 30.0, &stalled(30.0), false)
}

/// The header length of [`valid`] (fixed part up to the first tag).
fn header_len(b: &[u8]) -> usize {
    // magic 2 + version 1 + flags 1 + id 16 + seq 1 + base 1 + room len 1 + "room" 4 +
    // start 6 + span 3.
    let n = 2 + 1 + 1 + 16 + 1 + 1 + 1 + 4 + 6 + 3;
    assert!(decode(&b[..n]).is_ok());
    n
}

#[test]
fn rejections_have_codes_and_fields() {
    let b = valid();
    for n in 0..b.len() {
        let e = decode(&b[..n]);
        if n == header_len(&b) {
            continue;
        }
        // A prefix that ends exactly between fields is a valid (shorter) message.
        if let Err(e) = e {
            // Inside a field: truncated; between fields: a shorter message, which may fail a
            // cross-field check (latency sum without its samples).
            assert!(
                matches!(e, DecodeError::Truncated(_) | DecodeError::Absurd(_)),
                "prefix {n}: {e:?}"
            );
        }
    }
    assert_eq!(decode(&b[..1]), Err(DecodeError::Truncated("magic")));
    assert_eq!(decode(&b[..10]), Err(DecodeError::Truncated("session_id")));
    let mut x = b.clone();
    x[0] = b'X';
    assert_eq!(decode(&x), Err(DecodeError::BadMagic));
    let mut x = b.clone();
    x[2] = 2;
    assert_eq!(decode(&x).unwrap_err().code(), "unsupported_version");
    let mut x = b.clone();
    x[3] = 0x80;
    assert_eq!(decode(&x), Err(DecodeError::ReservedFlags));
    assert_eq!(
        decode(&vec![0u8; MAX_MESSAGE_BYTES + 1]),
        Err(DecodeError::Oversized)
    );
    // seq 0; base ≥ seq.
    let mut x = b.clone();
    x[20] = 0;
    assert_eq!(decode(&x), Err(DecodeError::BadSequence));
    let mut x = b.clone();
    x[21] = 1;
    assert_eq!(decode(&x), Err(DecodeError::BadSequence));
    // Room id: not UTF-8, empty, too long.
    let mut x = b.clone();
    x[23] = 0xff;
    assert_eq!(decode(&x), Err(DecodeError::BadRoomId));
    let mut x = b.clone();
    x[22] = 0;
    assert_eq!(decode(&x), Err(DecodeError::BadRoomId));
    let mut x = b.clone();
    x[22] = 65;
    assert_eq!(decode(&x), Err(DecodeError::BadRoomId));
    // Non-minimal varint for seq: 0x81 0x00.
    let mut x = b[..20].to_vec();
    x.extend_from_slice(&[0x81, 0x00]);
    x.extend_from_slice(&b[21..]);
    assert_eq!(decode(&x), Err(DecodeError::BadVarint("seq")));
    // 11-byte varint.
    let mut x = b[..20].to_vec();
    x.extend_from_slice(&[0xff; 10]);
    x.push(1);
    assert_eq!(decode(&x), Err(DecodeError::BadVarint("seq")));
    // Span > 24 h.
    let mut s = decode(&b).unwrap();
    s.span_ms = MAX_SPAN_MS + 1;
    let mut x = Vec::new();
    encode(&s, &mut x);
    assert_eq!(decode(&x), Err(DecodeError::BadTime("span_ms")));
}

fn with_field(base: &[u8], tag: u64, v: &[u8]) -> Vec<u8> {
    let mut x = base.to_vec();
    wire::put_varint(&mut x, tag);
    x.extend_from_slice(v);
    x
}

#[test]
fn absurd_values_are_rejected_by_name() {
    let b = valid();
    let s = decode(&b).unwrap();
    let absurd = |c: Counter, v: u64| {
        let mut t = s;
        t.delta.set(c, v);
        let mut x = Vec::new();
        encode(&t, &mut x);
        decode(&x).map(|_| ())
    };
    assert_eq!(
        absurd(Counter::StallMs, 31_001 + 1),
        Err(DecodeError::Absurd("stall_ms"))
    );
    assert!(absurd(Counter::StallMs, 31_000).is_ok());
    assert_eq!(
        absurd(Counter::StallCount, 400),
        Err(DecodeError::Absurd("stall_count"))
    );
    assert_eq!(
        absurd(Counter::Started, 2),
        Err(DecodeError::Absurd("started"))
    );
    assert_eq!(
        absurd(Counter::DroppedFrames, 10_000),
        Err(DecodeError::Absurd("dropped_frames"))
    );
    assert_eq!(
        absurd(Counter::LatencySumMs, u64::MAX),
        Err(DecodeError::Absurd("latency_sum_ms"))
    );
    let mut t = s;
    t.state.rtt_ms = Some(600_001);
    let mut x = Vec::new();
    encode(&t, &mut x);
    assert_eq!(decode(&x), Err(DecodeError::Absurd("rtt_ms")));
    let mut t = s;
    t.state.latency_ms = Some(-86_400_001);
    let mut x = Vec::new();
    encode(&t, &mut x);
    assert_eq!(decode(&x), Err(DecodeError::Absurd("latency_ms")));
    // Duplicate known field; wrong wire type for a known field; field 0; wire type 3.
    assert_eq!(
        decode(&with_field(&b, 1 << 3, &[1])),
        Err(DecodeError::DuplicateField("watch_ms"))
    );
    assert_eq!(
        decode(&with_field(&b, (40 << 3) | 2, &[1, 1])),
        Err(DecodeError::BadWireType("startup_ms"))
    );
    assert_eq!(decode(&with_field(&b, 0, &[1])), Err(DecodeError::BadTag));
    assert_eq!(
        decode(&with_field(&b, (99 << 3) | 3, &[])),
        Err(DecodeError::BadWireType("unknown_field"))
    );
}

#[test]
fn unknown_fields_are_skipped() {
    let b = valid();
    let s = decode(&b).unwrap();
    let mut x = with_field(&b, 100 << 3, &[0x96, 0x01]);
    x = with_field(&x, (101 << 3) | 2, &[3, b'a', b'b', b'c']);
    x = with_field(&x, (102 << 3) | 1, &[0; 8]);
    x = with_field(&x, (103 << 3) | 5, &[0; 4]);
    assert_eq!(decode(&x), Ok(s));
    assert_eq!(
        decode(&with_field(&b, (101 << 3) | 2, &[9, 1])),
        Err(DecodeError::Truncated("unknown_field"))
    );
}

fn arb_summary() -> impl Strategy<Value = (Vec<u8>, Summary<'static>)> {
    (
        any::<[u8; 16]>(),
        1u32..,
        any::<bool>(),
        0u64..=MAX_TIME_MS,
        0u64..=MAX_SPAN_MS,
        proptest::collection::vec(0u64..3, COUNTERS),
        any::<Option<i32>>(),
        any::<Option<u16>>(),
    )
        .prop_map(|(id, seq, fin, start, span, scale, lat, edge)| {
            let mut delta = Totals::ZERO;
            for (i, k) in scale.iter().enumerate() {
                // 0, small, or at the limit-ish for durations.
                delta.values[i] = match k {
                    0 => 0,
                    1 => 1,
                    _ => span / 1000,
                };
            }
            delta.set(Counter::DroppedFrames, 0);
            if delta.get(Counter::LatencySamples) == 0 {
                delta.set(Counter::LatencySumMs, 0);
            }
            for c in [
                Counter::Started,
                Counter::ExitBeforeStart,
                Counter::StartupFailure,
                Counter::PlaybackFailure,
            ] {
                delta.set(c, delta.get(c).min(1));
            }
            let s = Summary {
                session_id: id,
                room_id: "房间-7",
                seq,
                base_seq: seq / 2,
                start_ms: start,
                span_ms: span,
                is_final: fin,
                delta,
                state: State {
                    latency_ms: lat.map(|l| i64::from(l) % 86_400_000),
                    live_edge_ms: edge.map(u64::from),
                    startup_flags: Some(3),
                    failure_code: Some(u32::MAX),
                    degraded: edge.map(|e| u32::from(e) << 8),
                    ..State::default()
                },
            };
            let mut out = Vec::new();
            encode(&s, &mut out);
            (out, s)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = decode(&bytes);
        let mut with_magic = b"LQ\x01\x00".to_vec();
        with_magic.extend_from_slice(&bytes);
        let _ = decode(&with_magic);
    }

    #[test]
    fn valid_summaries_round_trip((bytes, s) in arb_summary()) {
        prop_assert_eq!(decode(&bytes), Ok(s));
    }

    #[test]
    fn mutated_summaries_never_panic(
        (bytes, _s) in arb_summary(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..4), 1..6),
    ) {
        let mut b = bytes;
        for (pos, val, op) in edits {
            let i = if b.is_empty() { 0 } else { pos % b.len() };
            match op {
                0 if !b.is_empty() => b[i] = val,
                1 => b.insert(i, val),
                2 if !b.is_empty() => { b.remove(i); }
                _ => b.truncate(i),
            }
        }
        if let Ok(s) = decode(&b) {
            // Whatever decodes re-encodes to something that decodes to the same summary.
            let mut again = Vec::new();
            encode(&s, &mut again);
            prop_assert_eq!(decode(&again), Ok(s));
        }
    }
}

#[cfg(feature = "console")]
mod console {
    use super::*;
    use datasketches::common::SearchCriteria;

    #[test]
    fn json_debug_form() {
        let b = valid();
        let j = to_json(&decode(&b).unwrap());
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["session_id"], "00112233445566778899aabbccddeeff");
        assert_eq!(v["room_id"], "room");
        assert_eq!(v["delta"]["stall_count"], 3);
        assert_eq!(v["state"]["startup_ms"], 640);
        assert_eq!(v["final"], false);
        assert!(v["delta"].get("exit_before_start").is_none());
    }

    #[test]
    fn session_hex_matches_ids() {
        let hex = session_hex(&SID);
        assert_eq!(
            core::str::from_utf8(&hex).unwrap(),
            crate::ids::session_id_from_bytes(&SID)
        );
        // Same coupon as hashing the id text with the library's string rule.
        let mut a = datasketches::hll::HllSketch::new(12, HLL_TYPE).unwrap();
        a.update_with_coupon(session_coupon(&SID));
        let mut b = datasketches::hll::HllSketch::new(12, HLL_TYPE).unwrap();
        b.update(datasketches::hash::value::raw_bytes::from_str(
            &crate::ids::session_id_from_bytes(&SID),
        ));
        assert_eq!(a.serialize(), b.serialize());
    }

    #[test]
    fn duplicates_and_retries_count_once() {
        let mut w = SummaryWriter::new(SID, "room", T0).unwrap();
        let s1 = write(&mut w, 30.0, &healthy(30.0), false);
        let s2 = write(&mut w, 60.0, &stalled(60.0), false); // ack of 1 lost
        let mut m = Merger::new();
        assert_eq!(m.ingest(&s1, "cn-east"), Ok(Ingested::Applied));
        assert_eq!(m.ingest(&s1, "cn-east"), Ok(Ingested::Duplicate));
        assert_eq!(m.ingest(&s2, "cn-east"), Ok(Ingested::Applied));
        assert_eq!(m.ingest(&s1, "cn-east"), Ok(Ingested::Superseded));
        assert_eq!(m.ingest(&s2, "cn-east"), Ok(Ingested::Duplicate));
        w.ack(2);
        let s3 = write(&mut w, 90.0, &stalled(90.0), true);
        assert_eq!(m.ingest(&s3, "cn-east"), Ok(Ingested::Applied));
        assert_eq!(m.ingest(&s3, "cn-east"), Ok(Ingested::Duplicate));
        assert_eq!(m.ingest(&s2, "cn-east"), Ok(Ingested::Superseded));
        let agg = &m.room("room").unwrap().total;
        let want = totals_from_metrics(&stalled(90.0));
        assert_eq!(agg.counters.totals, want);
        assert_eq!(agg.counters.views, 1);
        assert_eq!(agg.counters.attempts, 1);
        assert_eq!(agg.counters.fast_starts, 1);
        assert_eq!(agg.counters.finished_views, 1);
        assert_eq!(agg.distinct_viewers(), 1.0);
        assert_eq!(agg.startup_ms_sketch().n(), 1);
        assert_eq!(agg.watch_ms_sketch().n(), 1);
        let ratio = agg
            .stall_ratio_sketch()
            .quantile(0.5, SearchCriteria::Inclusive);
        let r = 1812.0 / (want.get(Counter::PlayingMs) + 1812) as f64;
        assert_eq!(ratio.unwrap().map(|x| *x), Some(r));
        assert_eq!(
            m.room("room").unwrap().regions["cn-east"].counters,
            agg.counters
        );
        assert_eq!(m.stats().applied, 3);
        assert_eq!(m.stats().duplicates, 3);
        assert_eq!(m.stats().superseded, 2);
        assert_eq!(
            agg.counters.rebuffer_ratio(),
            Rate {
                numerator: 1812,
                denominator: want.get(Counter::PlayingMs) + 1812
            }
        );
    }

    #[test]
    fn bad_input_is_counted_and_changes_nothing() {
        let mut m = Merger::new();
        assert_eq!(m.ingest(b"LQ", "x").unwrap_err().code(), "truncated");
        assert_eq!(m.ingest(&[0; 9000], "x").unwrap_err().code(), "oversized");
        assert_eq!(
            m.ingest(&valid(), &"r".repeat(65)).unwrap_err().code(),
            "bad_region"
        );
        assert_eq!(m.stats().rejected["truncated"], 1);
        assert_eq!(m.stats().rejected["oversized"], 1);
        assert!(m.rooms().is_empty());
        assert_eq!(m.ledger().sessions(), 0);
        // A base this collector never applied but older than what it applied: unknown_base.
        let mut w = SummaryWriter::new(SID, "room", T0).unwrap();
        let s1 = write(&mut w, 30.0, &healthy(30.0), false);
        let s2 = write(&mut w, 60.0, &healthy(60.0), false);
        let s3 = write(&mut w, 90.0, &healthy(90.0), false);
        w.ack(1);
        let s4 = write(&mut w, 120.0, &healthy(120.0), false);
        m.ingest(&s2, "").unwrap();
        m.ingest(&s3, "").unwrap();
        assert_eq!(m.ingest(&s4, "").unwrap_err().code(), "unknown_base");
        // Then s1 arrives late (superseded), and the player's retry of s4 still cannot be placed.
        assert_eq!(m.ingest(&s1, ""), Ok(Ingested::Superseded));
    }

    #[test]
    fn foreign_base_is_adopted() {
        // Summaries 1..=2 went to another collector which acknowledged 2; this one gets 3 and 4
        // (both relative to base 2): it counts exactly the part after 2.
        let mut w = SummaryWriter::new(SID, "room", T0).unwrap();
        let _ = write(&mut w, 30.0, &healthy(30.0), false);
        let _ = write(&mut w, 60.0, &healthy(60.0), false);
        w.ack(2);
        let s3 = write(&mut w, 90.0, &healthy(90.0), false);
        let s4 = write(&mut w, 120.0, &healthy(120.0), false);
        for order in [[&s3, &s4], [&s4, &s3]] {
            let mut m = Merger::new();
            for s in order {
                m.ingest(s, "").unwrap();
            }
            let t = &m.room("room").unwrap().total.counters.totals;
            assert_eq!(t.get(Counter::WatchMs), 60_000);
            assert_eq!(t.get(Counter::Started), 0);
        }
    }

    /// One session's scripted run: what the player wrote, grouped by base (a summary with base b
    /// is only sent after b was applied, so groups arrive in order; within a group and across
    /// sessions any order and any duplication is possible).
    struct Run {
        groups: Vec<Vec<Vec<u8>>>,
        /// The cumulative counters of the newest summary sent.
        last: Totals,
    }

    fn run(id: u8, steps: &[(u8, bool)], room: &str) -> Run {
        let mut sid = SID;
        sid[0] = id;
        let mut w = SummaryWriter::new(sid, room, T0).unwrap();
        let mut groups = vec![Vec::new()];
        let mut m = QoeMetrics::default();
        let mut t = 0.0;
        let mut last = Totals::ZERO;
        let n = steps.len();
        for (i, &(kind, ack)) in steps.iter().enumerate() {
            t += 30.0;
            // 0: paused for 30 s; 1: 30 s healthy; 2: 30 s with one 700 ms stall.
            match kind % 3 {
                0 => m.paused_ms += 30_000.0,
                k => {
                    if !m.started {
                        m.started = true;
                        m.startup_ms = Some(f64::from(kind) * 20.0);
                        m.watch_ms += 30_000.0;
                    } else {
                        let stall = if k == 2 { 700.0 } else { 0.0 };
                        m.watch_ms += 30_000.0;
                        m.playing_ms += 30_000.0 - stall;
                        m.stall_ms += stall;
                        m.stall_count += u32::from(k == 2);
                        m.total_frames += 900;
                        m.latency_samples += 30;
                        m.latency_mean_ms = Some(2000.0 + f64::from(kind));
                    }
                }
            }
            if i + 1 == n && !m.started {
                m.exit_before_start = true;
            }
            let mut out = Vec::new();
            let seq = w.write(T0 + t * 1000.0, &m, i + 1 == n, &mut out);
            last = {
                let mut h = last;
                h.max_assign(&totals_from_metrics(&m));
                h
            };
            groups.last_mut().unwrap().push(out);
            if ack && w.ack(seq) {
                groups.push(Vec::new());
            }
        }
        Run { groups, last }
    }

    fn arb_runs() -> impl Strategy<Value = Vec<Vec<(u8, bool)>>> {
        proptest::collection::vec(
            proptest::collection::vec((any::<u8>(), any::<bool>()), 1..7),
            1..12,
        )
    }

    /// Delivers every summary of `runs` (plus duplicates) to `k` mergers, session-sticky, in an
    /// order shuffled by `seed` that respects each session's base groups.
    fn deliver(runs: &[Run], seed: u64, k: usize) -> Vec<Merger> {
        let mut rng = seed | 1;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        // Per session: a queue of groups; each group shuffled, with some duplicates.
        let mut queues: Vec<Vec<Vec<u8>>> = runs
            .iter()
            .map(|r| {
                let mut q = Vec::new();
                for g in &r.groups {
                    let mut g2 = g.clone();
                    for x in g {
                        if next() % 3 == 0 {
                            g2.push(x.clone());
                        }
                    }
                    for i in (1..g2.len()).rev() {
                        g2.swap(i, (next() % (i as u64 + 1)) as usize);
                    }
                    q.extend(g2);
                }
                // Stale duplicates of early summaries arriving at the very end.
                if let Some(x) = r.groups[0].first() {
                    q.push(x.clone());
                }
                q.reverse();
                q
            })
            .collect();
        let mut mergers: Vec<Merger> = (0..k).map(|_| Merger::new()).collect();
        loop {
            let live: Vec<usize> = (0..queues.len())
                .filter(|&i| !queues[i].is_empty())
                .collect();
            if live.is_empty() {
                break;
            }
            let i = live[(next() % live.len() as u64) as usize];
            let msg = queues[i].pop().unwrap();
            let region = ["north", "south", ""][(next() % 3) as usize];
            mergers[i % k].ingest(&msg, region).unwrap();
        }
        mergers
    }

    fn fold(mergers: &[Merger], reverse: bool) -> (RoomAggregate, Counters) {
        let mut all = RoomAggregate::default();
        let mut rooms: Vec<&RoomAggregate> = mergers.iter().filter_map(|m| m.room("r")).collect();
        if reverse {
            rooms.reverse();
        }
        let mut regions_total = Counters::default();
        for r in rooms {
            all.merge(r);
        }
        for a in all.regions.values() {
            regions_total.add(&a.counters);
        }
        (all, regions_total)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn merge_is_exact_and_order_independent(
            scripts in arb_runs(),
            seed1 in any::<u64>(),
            seed2 in any::<u64>(),
            k in 1usize..4,
        ) {
            let runs: Vec<Run> = scripts.iter().enumerate().map(|(i, s)| run(i as u8, s, "r")).collect();
            let mut want = Totals::ZERO;
            for r in &runs {
                want.add_assign_saturating(&r.last);
            }
            let a = deliver(&runs, seed1, 1);
            let b = deliver(&runs, seed2, k);
            let (ra, sum_a) = fold(&a, false);
            let (rb, sum_b) = fold(&b, true);
            prop_assert_eq!(ra.total.counters.totals, want);
            prop_assert_eq!(ra.total.counters, rb.total.counters);
            prop_assert_eq!(sum_a, ra.total.counters, "regions partition the room");
            prop_assert_eq!(sum_b, rb.total.counters);
            prop_assert_eq!(ra.total.counters.views, runs.len() as u64);
            prop_assert_eq!(ra.total.counters.finished_views, runs.len() as u64);
            prop_assert_eq!(ra.total.distinct_viewers(), rb.total.distinct_viewers());
            prop_assert_eq!(ra.total.distinct_viewers().round(), runs.len() as f64);
            for (x, y) in [
                (ra.total.startup_ms_sketch(), rb.total.startup_ms_sketch()),
                (ra.total.watch_ms_sketch(), rb.total.watch_ms_sketch()),
                (ra.total.stall_ratio_sketch(), rb.total.stall_ratio_sketch()),
            ] {
                prop_assert_eq!(x.n(), y.n());
                prop_assert_eq!(x.min_item(), y.min_item());
                prop_assert_eq!(x.max_item(), y.max_item());
            }
        }

        #[test]
        fn aggregate_merge_is_associative_and_commutative(
            ids in proptest::collection::vec(any::<[u8; 16]>(), 0..3000),
            cut1 in 0usize..3000,
            cut2 in 0usize..3000,
        ) {
            // Three aggregates from disjoint slices; (a+b)+c vs a+(c+b) vs c+(b+a).
            let (c1, c2) = (cut1.min(ids.len()), cut2.min(ids.len()));
            let (lo, hi) = (c1.min(c2), c1.max(c2));
            let make = |part: &[[u8; 16]]| {
                let mut m = Merger::new();
                for (i, id) in part.iter().enumerate() {
                    let mut w = SummaryWriter::new(*id, "r", T0).unwrap();
                    let mut out = Vec::new();
                    let mut q = healthy(30.0);
                    q.startup_ms = Some((i % 5000) as f64);
                    w.write(T0 + 30_000.0, &q, true, &mut out);
                    m.ingest(&out, "").unwrap();
                }
                m.room("r").map(|r| r.total.clone()).unwrap_or_default()
            };
            let (a, b, c) = (make(&ids[..lo]), make(&ids[lo..hi]), make(&ids[hi..]));
            let mut x = a.clone();
            x.merge(&b);
            x.merge(&c);
            let mut cb = c.clone();
            cb.merge(&b);
            let mut y = a.clone();
            y.merge(&cb);
            let mut ba = b.clone();
            ba.merge(&a);
            let mut z = c.clone();
            z.merge(&ba);
            prop_assert_eq!(x.counters, y.counters);
            prop_assert_eq!(x.counters, z.counters);
            prop_assert_eq!(x.distinct_viewers(), y.distinct_viewers());
            prop_assert_eq!(x.distinct_viewers(), z.distinct_viewers());
            let n = x.startup_ms_sketch().n();
            prop_assert_eq!(n, y.startup_ms_sketch().n());
            if n > 0 {
                let eps = 2.0 * x.startup_ms_sketch().normalized_rank_error();
                for q in [0.1, 0.5, 0.9] {
                    let vx = *x.startup_ms_sketch().quantile(q, SearchCriteria::Inclusive).unwrap().unwrap();
                    let ry = z.startup_ms_sketch().rank(&datasketches::kll::KllFloat::<f64>::new(vx).unwrap(), SearchCriteria::Inclusive).unwrap();
                    prop_assert!((ry - q).abs() <= eps + 1.0 / n as f64, "q {} rank {}", q, ry);
                }
            }
        }
    }

    #[test]
    fn base64_and_iso_minutes() {
        for n in 0..40usize {
            let bytes: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            let text = base64_encode(&bytes);
            assert_eq!(text.len(), n.div_ceil(3) * 4);
            assert_eq!(base64_decode(&text), Some(bytes));
        }
        assert_eq!(base64_encode(b"Man"), "TWFu");
        assert_eq!(base64_encode(b"Ma"), "TWE=");
        assert_eq!(base64_decode("TWE"), Some(b"Ma".to_vec()));
        assert_eq!(base64_decode("T"), None);
        assert_eq!(base64_decode("TW!="), None);
        assert_eq!(iso_minute(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            iso_minute(1_764_000_000_000 / 60_000 * 60_000),
            "2025-11-24T16:00:00Z"
        );
        assert_eq!(iso_minute(951_782_400_000), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn counter_sums_follow_the_wire_names() {
        let mut c = Counters::default();
        for i in 0..COUNTERS {
            c.totals.values[i] = 100 + i as u64;
        }
        c.views = 1;
        c.finished_views = 10;
        let sums = CounterSums::from_counters(&c);
        assert_eq!(sums.to_counters(), c);
        let v = serde_json::to_value(&sums).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), FLAT_COUNTERS);
        for (i, name) in COUNTER_NAMES.iter().enumerate() {
            assert_eq!(v[*name], 100 + i as u64, "{name}");
        }
        assert_eq!(v["views"], 1);
        assert_eq!(v["finished_views"], 10);
    }

    /// Minute rows partition the room: merged back (as a downstream engine would), they give the
    /// room's and each region's exact counters and identical distinct-viewer estimates, also
    /// when split over several collectors.
    #[test]
    fn export_rows_merge_back_to_the_room() {
        let mut whole = Merger::with_minute_rows();
        let mut parts: Vec<Merger> = (0..3).map(|_| Merger::with_minute_rows()).collect();
        for i in 0..600u32 {
            let mut sid = SID;
            sid[..4].copy_from_slice(&i.to_le_bytes());
            let mut w = SummaryWriter::new(sid, if i % 4 == 0 { "b" } else { "a" }, T0).unwrap();
            let region = ["north", "south", ""][(i % 3) as usize];
            for k in 1..=4u32 {
                let t = f64::from(k) * 30.0 + f64::from(i % 7);
                let m = if k >= 3 { stalled(t) } else { healthy(t) };
                let msg = write(&mut w, t, &m, k == 4);
                let seq = decode(&msg).unwrap().seq;
                whole.ingest(&msg, region).unwrap();
                // Each summary goes to one collector; a session's summaries may change collector.
                parts[((i + k / 3) % 3) as usize]
                    .ingest(&msg, region)
                    .unwrap();
                w.ack(seq);
            }
        }
        let rows = export_rows(&whole, "c0");
        assert!(rows.len() > 6, "{} rows", rows.len());
        let text = export_ndjson(&rows);
        assert_eq!(parse_rows(&text).unwrap(), rows);
        let merged = merge_rows(&rows).unwrap();
        let direct = room_views(&whole);
        assert_eq!(merged.len(), 2);
        for (m, d) in merged.iter().zip(&direct) {
            assert_eq!(m.room, d.room);
            assert_eq!(m.total.counters, d.total.counters);
            assert_eq!(m.total.distinct_viewers, d.total.distinct_viewers);
            assert_eq!(m.total.quantiles.watch_ms.n, d.total.quantiles.watch_ms.n);
            assert_eq!(m.regions.len(), d.regions.len());
            for (a, b) in m.regions.iter().zip(&d.regions) {
                assert_eq!(a.region, b.region);
                assert_eq!(a.aggregate.counters, b.aggregate.counters);
                assert_eq!(a.aggregate.distinct_viewers, b.aggregate.distinct_viewers);
            }
        }
        // Three collectors' rows together: exact counters except `views` (a session seen by two
        // collectors is a view at each), the same distinct viewers.
        let mut all = Vec::new();
        for (k, p) in parts.iter().enumerate() {
            all.extend(export_rows(p, &format!("c{k}")));
        }
        all.reverse();
        let merged3 = merge_rows(&all).unwrap();
        for (m, d) in merged3.iter().zip(&direct) {
            let (mut a, mut b) = (m.total.counters.clone(), d.total.counters.clone());
            assert!(a.views > b.views);
            a.views = 0;
            b.views = 0;
            assert_eq!(a, b);
            assert_eq!(m.total.distinct_viewers, d.total.distinct_viewers);
        }
        // A bad sketch column is named.
        let mut bad = rows[0].clone();
        bad.kll_watch_ms = "AAAA".into();
        let e = merge_rows(&[rows[1].clone(), bad]).unwrap_err();
        assert_eq!((e.line, e.field), (2, "kll_watch_ms"));
        let e = parse_rows("{}\n").unwrap_err();
        assert_eq!((e.line, e.field), (1, "row"));
    }

    /// The degraded-reason columns are the monitor's `DEGRADED_NAMES`, bit order, snake_case.
    #[test]
    fn degraded_columns_follow_the_monitor_bits() {
        let names: Vec<&str> = crate::qoe::DEGRADED_NAMES.split(',').collect();
        assert_eq!(names.len(), DEGRADED_REASONS);
        for (i, camel) in names.iter().enumerate() {
            let mut snake = String::from("degraded_");
            for ch in camel.chars() {
                if ch.is_ascii_uppercase() {
                    snake.push('_');
                }
                snake.push(ch.to_ascii_lowercase());
            }
            assert_eq!(
                crate::summary::view::SUM_FIELDS[10 + COUNTERS + i],
                snake,
                "bit {i}"
            );
        }
        assert_eq!(crate::qoe::DEGRADED_NO_BEACON, 1 << 2);
    }

    /// The degraded bits go on the wire only when non-zero, decode, and count once per session
    /// and reason, per room and region, in the JSON view and the export rows.
    #[test]
    fn degraded_reasons_are_sent_decoded_and_counted_once_per_session() {
        use crate::qoe::{DEGRADED_NO_BEACON, DEGRADED_NO_STORAGE, DEGRADED_NO_TIME_SYNC};
        let plain = write(
            &mut SummaryWriter::new(SID, "room", T0).unwrap(),
            30.0,
            &healthy(30.0),
            false,
        );
        assert_eq!(decode(&plain).unwrap().state.degraded, None);
        let m1 = QoeMetrics {
            degraded: DEGRADED_NO_BEACON | DEGRADED_NO_STORAGE,
            ..healthy(30.0)
        };
        let mut w = SummaryWriter::new(SID, "room", T0).unwrap();
        let a = write(&mut w, 30.0, &m1, false);
        // tag 44 (2 bytes) + value 12 (1 byte)
        assert_eq!(a.len(), plain.len() + 3);
        assert_eq!(decode(&a).unwrap().state.degraded, Some(12));
        let v: serde_json::Value = serde_json::from_str(&to_json(&decode(&a).unwrap())).unwrap();
        assert_eq!(v["state"]["degraded"], 12);
        let m2 = QoeMetrics {
            degraded: m1.degraded | DEGRADED_NO_TIME_SYNC | (1 << 20),
            ..healthy(60.0)
        };
        let b = write(&mut w, 60.0, &m2, true);
        let mut sid2 = SID;
        sid2[0] = 0xee;
        let mut w2 = SummaryWriter::new(sid2, "room", T0).unwrap();
        let c = write(&mut w2, 30.0, &m1, false);

        let mut m = Merger::with_minute_rows();
        for (bytes, region) in [(&a, "north"), (&b, "north"), (&a, "north"), (&c, "south")] {
            m.ingest(bytes, region).unwrap();
        }
        let r = m.room("room").unwrap();
        let mut want = [0u64; DEGRADED_REASONS];
        want[2] = 2;
        want[3] = 2;
        want[6] = 1;
        assert_eq!(r.total.counters.degraded, want);
        assert_eq!(
            r.regions["north"].counters.degraded[..7],
            [0, 0, 1, 1, 0, 0, 1]
        );
        assert_eq!(
            r.regions["south"].counters.degraded[..7],
            [0, 0, 1, 1, 0, 0, 0]
        );
        let view = serde_json::to_value(room_views(&m)).unwrap();
        assert_eq!(view[0]["total"]["counters"]["degraded_no_beacon"], 2);
        assert_eq!(view[0]["total"]["counters"]["degraded_no_time_sync"], 1);
        let rows = export_rows(&m, "c1");
        let text = export_ndjson(&rows);
        assert!(text.contains("\"degraded_no_storage\":1"), "{text}");
        let back = merge_rows(&parse_rows(&text).unwrap()).unwrap();
        assert_eq!(back[0].total.counters.degraded_no_beacon, 2);
        assert_eq!(back[0].total.counters.degraded_no_time_sync, 1);
        // A row exported before the degraded columns existed still loads (counts 0).
        let mut old: serde_json::Value =
            serde_json::from_str(text.lines().next().unwrap()).unwrap();
        let o = old.as_object_mut().unwrap();
        o.retain(|k, _| !k.starts_with("degraded_"));
        let parsed = parse_rows(&old.to_string()).unwrap();
        assert_eq!(parsed[0].degraded_no_beacon, 0);
    }

    /// Finding 7: the ledger is keyed by (room, session id). The same id in another room is
    /// another session (its own view, counted from zero) and leaves the first room's untouched.
    #[test]
    fn session_ids_are_scoped_to_their_room() {
        let mut w = SummaryWriter::new(SID, "room-b", T0).unwrap();
        let b1 = write(&mut w, 30.0, &healthy(30.0), false);
        let mut m = Merger::new();
        m.ingest(&b1, "").unwrap();
        let mut x = SummaryWriter::new(SID, "room-a", T0).unwrap();
        let a1 = write(&mut x, 10.0, &healthy(10.0), true);
        assert_eq!(m.ingest(&a1, "").unwrap(), Ingested::Applied);
        let ra = &m.room("room-a").unwrap().total.counters;
        assert_eq!((ra.views, ra.totals.get(Counter::WatchMs)), (1, 10_000));
        // room-b's session goes on (not finished by room-a's final summary)
        w.ack(1);
        let b2 = write(&mut w, 60.0, &healthy(60.0), false);
        assert_eq!(m.ingest(&b2, "").unwrap(), Ingested::Applied);
        let rb = &m.room("room-b").unwrap().total.counters;
        assert_eq!((rb.views, rb.totals.get(Counter::WatchMs)), (1, 60_000));
        assert_eq!(m.ledger().sessions(), 2);
        // and a replay of room-a's final summary is a duplicate there only
        assert_eq!(m.ingest(&a1, "").unwrap(), Ingested::Duplicate);
    }

    /// Finding 6: regions beyond the cap go to `other`, minute rows beyond the cap to no row,
    /// summaries outside the time window around the server clock are rejected `out_of_window`.
    #[test]
    fn caps_bound_regions_minute_rows_and_times() {
        let opts = MergerOptions {
            minute_rows: true,
            max_regions_per_room: 3,
            max_minute_rows_per_room: 5,
            ..MergerOptions::default()
        };
        let mut m = Merger::with_options(opts);
        let view = |i: u32, t_s: f64| {
            let mut id = SID;
            id[..4].copy_from_slice(&i.to_le_bytes());
            let mut w = SummaryWriter::new(id, "room", T0).unwrap();
            write(&mut w, t_s, &healthy(t_s), false)
        };
        // 10 sessions, each from a new region and ending in a new minute
        for i in 0..10u32 {
            let b = view(i, 30.0 + 60.0 * f64::from(i));
            m.ingest(&b, &format!("r{i}")).unwrap();
        }
        let r = m.room("room").unwrap();
        let names: Vec<&str> = r.regions.keys().map(String::as_str).collect();
        assert_eq!(names, ["other", "r0", "r1", "r2"]);
        assert_eq!(r.regions["other"].counters.views, 7);
        assert_eq!(m.stats().region_overflow, 7);
        let rows: usize = r.minutes.values().map(|x| x.len()).sum();
        assert_eq!(rows, 5);
        assert_eq!(m.stats().minute_overflow, 5);
        // nothing is lost from the room or region aggregates
        assert_eq!(r.total.counters.views, 10);
        let by_region: u64 = r.regions.values().map(|a| a.counters.views).sum();
        assert_eq!(by_region, 10);
        // an existing row still takes summaries past the cap; a known region is not `other`
        let again = view(100, 30.0);
        m.ingest(&again, "r0").unwrap();
        let r = m.room("room").unwrap();
        assert_eq!(r.regions["r0"].counters.views, 2);
        assert_eq!(m.stats().minute_overflow, 5);
        assert_eq!(
            MergerStats::of(&m).region_overflow,
            m.stats().region_overflow
        );

        // the time window, with a server clock
        let now = T0 as u64 + 30_000;
        let mut m = Merger::with_minute_rows();
        let ok = view(1, 30.0);
        assert!(m.ingest_at(&ok, "", None, Some(now)).is_ok());
        for (skew, what) in [
            (
                DEFAULT_WINDOW_PAST_MS + 1,
                "client end 26 h + 1 ms before the server time",
            ),
            (
                0u64.wrapping_sub(DEFAULT_WINDOW_FUTURE_MS + 1),
                "1 h + 1 ms after",
            ),
        ] {
            let e = m
                .ingest_at(&view(2, 30.0), "", None, Some(now.wrapping_add(skew)))
                .unwrap_err();
            assert_eq!((e.code(), e.field()), ("out_of_window", "end_ms"), "{what}");
        }
        assert_eq!(m.stats().rejected.get("out_of_window"), Some(&2));
        // at the edges: accepted
        assert!(m
            .ingest_at(&view(3, 30.0), "", None, Some(now + DEFAULT_WINDOW_PAST_MS))
            .is_ok());
        assert!(m
            .ingest_at(
                &view(4, 30.0),
                "",
                None,
                Some(now - DEFAULT_WINDOW_FUTURE_MS)
            )
            .is_ok());
        // without a clock (a log replay) no window applies
        assert!(m.ingest_at(&view(5, 30.0), "", None, None).is_ok());
        assert!(REJECTION_CODES.contains(&"out_of_window"));
    }

    #[test]
    fn room_mismatch_is_rejected_and_counted() {
        let mut m = Merger::new();
        let b = valid();
        let e = m.ingest_to(&b, "", Some("other")).unwrap_err();
        assert_eq!((e.code(), e.field()), ("room_mismatch", "room_id"));
        assert_eq!(m.stats().rejected.get("room_mismatch"), Some(&1));
        assert!(m.rooms().is_empty());
        let (i, s) = m.ingest_to(&b, "", Some("room")).unwrap();
        assert_eq!((i, s.room_id), (Ingested::Applied, "room"));
        for code in REJECTION_CODES {
            assert!(code.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        }
    }

    /// A collector sharding by session id over threads gets the one-thread result: 6,000
    /// sessions of 1–8 summaries (lost acks, duplicates, a stale copy, a garbage message) in 3
    /// rooms and 4 regions, merged on one thread and on 3 shards ([`Merger::shard_of`], each on
    /// its own thread, united with [`Merger::absorb`]).
    #[test]
    fn sharded_merge_equals_one_thread() {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut per_session: Vec<Vec<(Vec<u8>, &str)>> = Vec::new();
        for i in 0..6000u64 {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&next().to_le_bytes());
            id[8..].copy_from_slice(&i.to_le_bytes());
            let room = ["r0", "r1", "r2"][(next() % 3) as usize];
            let region = ["north", "south", "east", ""][(next() % 4) as usize];
            let mut w = SummaryWriter::new(id, room, T0).unwrap();
            let mut q = healthy(0.0);
            q.startup_ms = Some((next() % 5000) as f64);
            let n = 1 + next() % 8;
            let mut msgs = Vec::new();
            for k in 1..=n {
                q.watch_ms += 30_000.0;
                q.playing_ms += 29_000.0;
                q.stall_ms += (next() % 1000) as f64;
                q.latency_samples += 30;
                q.latency_mean_ms = Some(1000.0 + (next() % 3000) as f64);
                let mut out = Vec::new();
                let seq = w.write(T0 + k as f64 * 30_000.0, &q, k == n, &mut out);
                if next() % 4 != 0 {
                    w.ack(seq); // else the ack is lost: the next one is relative to an older base
                }
                if next() % 5 == 0 {
                    msgs.push((out.clone(), region)); // a retry
                }
                msgs.push((out, region));
            }
            if next() % 7 == 0 {
                msgs.push((msgs[0].0.clone(), region)); // a stale copy arriving last
            }
            msgs.reverse();
            per_session.push(msgs);
        }
        // Arrival: sessions interleaved at random, each in its own order.
        let mut arrival: Vec<(Vec<u8>, &str)> = vec![(b"LQ".to_vec(), "north")];
        let mut live: Vec<usize> = (0..per_session.len()).collect();
        while !live.is_empty() {
            let j = (next() % live.len() as u64) as usize;
            match per_session[live[j]].pop() {
                Some(m) => arrival.push(m),
                None => {
                    live.swap_remove(j);
                }
            }
        }
        let mut one = Merger::new();
        for (m, region) in &arrival {
            let _ = one.ingest(m, region);
        }
        const SHARDS: usize = 3;
        let shards: Vec<Merger> = std::thread::scope(|scope| {
            let arrival = &arrival;
            let handles: Vec<_> = (0..SHARDS)
                .map(|k| {
                    scope.spawn(move || {
                        let mut m = Merger::new();
                        for (b, region) in arrival {
                            if Merger::shard_of(b, SHARDS) == k {
                                let _ = m.ingest(b, region);
                            }
                        }
                        m
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(
            shards.iter().all(|m| m.stats().applied > 3000),
            "balanced shards"
        );
        let mut all = Merger::new();
        for m in &shards {
            all.absorb(m);
        }
        assert_eq!(all.stats(), one.stats());
        assert_eq!(one.stats().rejected.get("truncated"), Some(&1));
        assert!(one.stats().duplicates > 0 && one.stats().superseded > 0);
        assert_eq!(all.rooms().len(), 3);
        let mut compared = 0;
        for (name, a) in one.rooms() {
            let b = all.room(name).unwrap();
            assert_eq!(
                a.regions.keys().collect::<Vec<_>>(),
                b.regions.keys().collect::<Vec<_>>()
            );
            let regions = a.regions.values().zip(b.regions.values());
            for (x, y) in std::iter::once((&a.total, &b.total)).chain(regions) {
                assert_eq!(x.counters, y.counters, "{name}");
                assert_eq!(x.distinct_viewers(), y.distinct_viewers(), "{name}");
                for (k, l) in [
                    (x.startup_ms_sketch(), y.startup_ms_sketch()),
                    (x.latency_ms_sketch(), y.latency_ms_sketch()),
                    (x.stall_ratio_sketch(), y.stall_ratio_sketch()),
                    (x.watch_ms_sketch(), y.watch_ms_sketch()),
                ] {
                    assert_eq!(k.n(), l.n());
                    assert!(k.n() > 200, "compacted sketches");
                    assert_eq!((k.min_item(), k.max_item()), (l.min_item(), l.max_item()));
                    let eps = 2.0 * k.normalized_rank_error() + 1.0 / k.n() as f64;
                    for q in [0.05, 0.25, 0.5, 0.75, 0.95] {
                        let v = *k.quantile(q, SearchCriteria::Inclusive).unwrap().unwrap();
                        let v = datasketches::kll::KllFloat::<f64>::new(v).unwrap();
                        // Ties (watch time comes in 30 s steps): q within [rank(< v), rank(≤ v)].
                        let below = l.rank(&v, SearchCriteria::Exclusive).unwrap();
                        let upto = l.rank(&v, SearchCriteria::Inclusive).unwrap();
                        assert!(
                            below - eps <= q && q <= upto + eps,
                            "{name}: q {q} {below} {upto}"
                        );
                    }
                }
                compared += 1;
            }
        }
        assert_eq!(compared, 3 * 5);
    }
}
