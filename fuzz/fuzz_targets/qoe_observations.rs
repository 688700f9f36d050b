//! `livekpi::qoe::Monitor` fed arbitrary (time, observation) sequences, with metrics read
//! between observations and at the end.
//!
//! Invariants: never panics; every duration is finite and ≥ 0; every ratio is in [0, 1]; scores
//! within their ranges; other reported values finite; recent stalls and the next deadline sane.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use livekpi::qoe::{Monitor, Observation, QoeConfig, QoeMetrics, StallRecord};

/// Client epoch ms of the monitor's creation in the common case.
const START: f64 = 1_735_000_000_000.0;

/// How the clock moves to the next observation.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Step {
    /// Forward by n ms.
    Ms(u16),
    /// Forward by n × 100 ms.
    Tenths(u16),
    /// Same time.
    Same,
    /// Backwards by n ms (the monitor takes it as the latest time seen).
    Back(u16),
    /// Any f64 (NaN, infinities, negative: ignored by the monitor).
    Raw(f64),
}

/// A mirror of `Observation` that `arbitrary` can build.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Obs {
    PlayIntent {
        autoplay: bool,
    },
    AutoplayBlocked,
    SourceAttached,
    SourceChanged,
    Play,
    Pause,
    Playing,
    Waiting,
    Seeking,
    Seeked,
    Ended,
    TimeUpdate {
        position: Pos,
    },
    Frame {
        media_time: Pos,
        presented_frames: u32,
        position: Pos,
        playback_rate: f64,
    },
    Visibility {
        hidden: bool,
    },
    PageHide,
    Error {
        code: u16,
        fatal: bool,
    },
    Quality {
        dropped_frames: u32,
        total_frames: u32,
    },
    Bitrate {
        bps: u32,
    },
    Dimensions {
        w: f64,
        h: f64,
        dpr: f64,
        vw: f64,
        vh: f64,
    },
    TimeSync {
        sent: Step,
        received: Step,
        server_ms: f64,
    },
    FrameProgramTime {
        program_date_ms: f64,
    },
    LiveEdge {
        distance_s: f64,
    },
    SegmentTtfb {
        ttfb_ms: f64,
    },
    Tick,
    /// A tick at `next_deadline_ms()`, as a binding schedules it.
    TickAtDeadline,
}

/// A media position: mostly "the wall clock since start" (normal playback), else arbitrary.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Pos {
    /// Wall-clock seconds since the start, minus n ms (behind: a stall develops).
    Wall(u16),
    Raw(f64),
}

#[derive(Arbitrary, Debug)]
struct Input {
    config: Option<(f64, f64, f64, f64, bool, u32)>,
    start: Option<f64>,
    steps: Vec<(Step, Obs, bool)>,
    end: Step,
}

fn advance(t: f64, s: Step) -> f64 {
    match s {
        Step::Ms(n) => t + f64::from(n),
        Step::Tenths(n) => t + f64::from(n) * 100.0,
        Step::Same => t,
        Step::Back(n) => t - f64::from(n),
        Step::Raw(x) => x,
    }
}

fn obs(o: Obs, t: f64, start: f64) -> Observation {
    let pos = |p: Pos| match p {
        Pos::Wall(back) => (t - start - f64::from(back)) / 1000.0,
        Pos::Raw(x) => x,
    };
    match o {
        Obs::PlayIntent { autoplay } => Observation::PlayIntent { autoplay },
        Obs::AutoplayBlocked => Observation::AutoplayBlocked,
        Obs::SourceAttached => Observation::SourceAttached,
        Obs::SourceChanged => Observation::SourceChanged,
        Obs::Play => Observation::Play,
        Obs::Pause => Observation::Pause,
        Obs::Playing => Observation::Playing,
        Obs::Waiting => Observation::Waiting,
        Obs::Seeking => Observation::Seeking,
        Obs::Seeked => Observation::Seeked,
        Obs::Ended => Observation::Ended,
        Obs::TimeUpdate { position } => Observation::TimeUpdate {
            position_s: pos(position),
        },
        Obs::Frame {
            media_time,
            presented_frames,
            position,
            playback_rate,
        } => Observation::Frame {
            media_time_s: pos(media_time),
            presented_frames,
            position_s: pos(position),
            playback_rate,
        },
        Obs::Visibility { hidden } => Observation::Visibility { hidden },
        Obs::PageHide => Observation::PageHide,
        Obs::Error { code, fatal } => Observation::Error { code, fatal },
        Obs::Quality {
            dropped_frames,
            total_frames,
        } => Observation::Quality {
            dropped_frames,
            total_frames,
        },
        Obs::Bitrate { bps } => Observation::Bitrate { bps },
        Obs::Dimensions { w, h, dpr, vw, vh } => Observation::Dimensions {
            element_css_w: w,
            element_css_h: h,
            device_pixel_ratio: dpr,
            video_w: vw,
            video_h: vh,
        },
        Obs::TimeSync {
            sent,
            received,
            server_ms,
        } => {
            let sent_ms = advance(t, sent);
            Observation::TimeSync {
                sent_ms,
                received_ms: advance(sent_ms, received),
                server_ms,
            }
        }
        Obs::FrameProgramTime { program_date_ms } => {
            Observation::FrameProgramTime { program_date_ms }
        }
        Obs::LiveEdge { distance_s } => Observation::LiveEdge { distance_s },
        Obs::SegmentTtfb { ttfb_ms } => Observation::SegmentTtfb { ttfb_ms },
        Obs::Tick | Obs::TickAtDeadline => Observation::Tick,
    }
}

fn duration(name: &str, v: f64) {
    assert!(v.is_finite() && v >= 0.0, "{name} = {v}");
}

fn opt_duration(name: &str, v: Option<f64>) {
    if let Some(v) = v {
        duration(name, v);
    }
}

/// How far above 1 a ratio may come out: none (the monitor clamps its ratios to [0, 1]; the two
/// findings that came 1 ulp above are regression tests in tests/fuzz_regressions.rs).
const RATIO_SLACK: f64 = 0.0;

fn unit(name: &str, v: Option<f64>) {
    if let Some(v) = v {
        assert!((0.0..=1.0 + RATIO_SLACK).contains(&v), "{name} = {v}");
    }
}

fn within(name: &str, v: Option<f64>, lo: f64, hi: f64) {
    if let Some(v) = v {
        assert!((lo..=hi).contains(&v), "{name} = {v}");
    }
}

fn finite(name: &str, v: Option<f64>) {
    if let Some(v) = v {
        assert!(v.is_finite(), "{name} = {v}");
    }
}

fn check(m: &QoeMetrics) {
    opt_duration("startup_ms", m.startup_ms);
    opt_duration("load_to_first_frame_ms", m.load_to_first_frame_ms);
    duration("stall_ms", m.stall_ms);
    duration("stall_ongoing_ms", m.stall_ongoing_ms);
    duration("freeze_ms", m.freeze_ms);
    duration("freeze_500_ms", m.freeze_500_ms);
    opt_duration("seek_latency_last_ms", m.seek_latency_last_ms);
    opt_duration("seek_latency_mean_ms", m.seek_latency_mean_ms);
    opt_duration("seek_latency_max_ms", m.seek_latency_max_ms);
    opt_duration("rtt_last_ms", m.rtt_last_ms);
    opt_duration("rtt_min_ms", m.rtt_min_ms);
    opt_duration("segment_ttfb_mean_ms", m.segment_ttfb_mean_ms);
    duration("upscale_ms", m.upscale_ms);
    duration("downscale_ms", m.downscale_ms);
    duration("watch_ms", m.watch_ms);
    duration("playing_ms", m.playing_ms);
    duration("hidden_ms", m.hidden_ms);
    duration("paused_ms", m.paused_ms);

    unit("rebuffer_ratio", m.rebuffer_ratio);
    unit("rebuffer_ratio_watch", m.rebuffer_ratio_watch);
    unit("dropped_frame_ratio", m.dropped_frame_ratio);
    unit("p1203_stall_impact", m.p1203_stall_impact);
    unit("downscale_mean", m.downscale_mean);
    within("p1203_o23", m.p1203_o23, 1.0, 5.0);
    within("mux_startup_score", m.mux_startup_score, 0.0, 100.0);
    within("mux_smoothness_score", m.mux_smoothness_score, 0.0, 100.0);
    opt_duration("stall_frequency_per_min", m.stall_frequency_per_min);
    opt_duration("upscale_mean", m.upscale_mean);
    opt_duration("bitrate_last_bps", m.bitrate_last_bps);
    opt_duration("bitrate_mean_bps", m.bitrate_mean_bps);

    finite("clock_offset_ms", m.clock_offset_ms);
    finite("latency_last_ms", m.latency_last_ms);
    finite("latency_mean_ms", m.latency_mean_ms);
    finite("latency_min_ms", m.latency_min_ms);
    finite("latency_max_ms", m.latency_max_ms);
    finite("live_edge_last_s", m.live_edge_last_s);
    finite("live_edge_mean_s", m.live_edge_mean_s);

    assert!(m.stall_ongoing || m.stall_ongoing_ms == 0.0, "{m:?}");
    if m.stall_ongoing {
        assert!(m.stall_count >= 1, "an ongoing stall is not counted");
    }
}

fn check_stall(s: &StallRecord) {
    assert!(s.start_ms.is_finite(), "stall start {}", s.start_ms);
    duration("stall duration_ms", s.duration_ms);
    finite("stall position_s", s.position_s);
}

fuzz_target!(|input: Input| {
    let config = match input.config {
        None => QoeConfig::default(),
        Some((a, b, c, d, p, n)) => QoeConfig {
            stall_threshold_ms: a,
            freeze_min_gap_ms: b,
            freeze_min_increase_ms: c,
            timeupdate_period_ms: d,
            p1203_include_initial_loading: p,
            max_recent_stalls: n,
        },
    };
    let start = input.start.unwrap_or(START);
    let mut mon = Monitor::new(config, start);
    let cap = mon.config().max_recent_stalls as usize;
    let mut t = start;
    for &(step, o, read) in input.steps.iter().take(2000) {
        t = advance(t, step);
        if let Obs::TickAtDeadline = o {
            if let Some(d) = mon.next_deadline_ms() {
                t = d;
            }
        }
        mon.observe(t, obs(o, t, start));
        if let Some(d) = mon.next_deadline_ms() {
            assert!(d.is_finite(), "deadline {d}");
        }
        assert!(mon.recent_stalls().len() <= cap);
        if read {
            check(&mon.metrics(t));
            if let Some(s) = mon.ongoing_stall(t) {
                check_stall(&s);
            }
        }
    }
    let end = advance(t, input.end);
    let m = mon.metrics(end);
    check(&m);
    for s in mon.recent_stalls() {
        check_stall(s);
    }
    // reading is pure: the same time gives the same metrics
    let again = mon.metrics(end);
    assert!(
        format!("{m:?}") == format!("{again:?}"),
        "metrics() is not a pure read"
    );
});
