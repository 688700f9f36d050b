//! Scripted timelines for the QoE state machine.

use super::*;
use Observation as O;

/// Feeds a timeline and keeps a presented-frame counter and media clock. The playhead
/// (`position_s` of a frame) follows the media time, except that the first frame after
/// [`Script::stuck`] finds the playhead where it stopped (a stall: it did not advance in the gap).
struct Script {
    m: Monitor,
    presented: u32,
    media_s: f64,
    pos_s: f64,
    stuck: bool,
}

impl Script {
    fn new() -> Script {
        Script::with(QoeConfig::default())
    }

    fn with(cfg: QoeConfig) -> Script {
        Script {
            m: Monitor::new(cfg, 0.0),
            presented: 0,
            media_s: 0.0,
            pos_s: 0.0,
            stuck: false,
        }
    }

    fn at(&mut self, t: f64, o: Observation) -> &mut Script {
        self.m.observe(t, o);
        self
    }

    fn all(&mut self, script: &[(f64, Observation)]) -> &mut Script {
        for &(t, o) in script {
            self.m.observe(t, o);
        }
        self
    }

    /// One presented frame at `t`; media time advances by `advance_s`.
    fn frame(&mut self, t: f64, advance_s: f64) -> &mut Script {
        self.presented += 1;
        self.media_s += advance_s;
        if !core::mem::take(&mut self.stuck) {
            self.pos_s = self.media_s;
        }
        let (media_time_s, presented_frames, position_s) =
            (self.media_s, self.presented, self.pos_s);
        self.at(
            t,
            O::Frame {
                media_time_s,
                presented_frames,
                position_s,
                playback_rate: 1.0,
            },
        )
    }

    /// The next frame ends a stall: the playhead has not moved since the last frame.
    fn stuck(&mut self) -> &mut Script {
        self.stuck = true;
        self
    }

    /// Frames every `step` ms from `from` to `to` inclusive.
    fn frames(&mut self, from: f64, to: f64, step: f64) -> &mut Script {
        let mut t = from;
        while t <= to + 1e-9 {
            self.frame(t, step / 1000.0);
            t += step;
        }
        self
    }

    fn metrics(&self, t: f64) -> QoeMetrics {
        self.m.metrics(t)
    }

    /// Play intent at 0, first frame at 100, frames every 20 ms up to `to`.
    fn playing_until(to: f64) -> Script {
        let mut s = Script::new();
        s.at(0.0, O::PlayIntent { autoplay: false })
            .at(0.0, O::Play)
            .frames(100.0, to, 20.0);
        s
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

#[track_caller]
fn assert_close(a: f64, b: f64) {
    assert!(close(a, b), "{a} != {b}");
}

#[track_caller]
fn assert_some_close(a: Option<f64>, b: f64) {
    match a {
        Some(a) => assert_close(a, b),
        None => panic!("None != {b}"),
    }
}

#[test]
fn qoe_startup_and_load_to_first_frame() {
    let mut s = Script::new();
    s.at(900.0, O::SourceAttached)
        .at(1000.0, O::PlayIntent { autoplay: false })
        .at(1000.0, O::Play)
        .at(1100.0, O::Waiting)
        .frames(1300.0, 2300.0, 20.0);
    let m = s.metrics(2300.0);
    assert_eq!(m.startup_ms, Some(300.0));
    assert_eq!(m.load_to_first_frame_ms, Some(400.0));
    assert!(m.started && !m.preloaded && !m.autoplay_blocked && !m.hidden_during_startup);
    assert_eq!(m.stall_count, 0);
    assert_eq!(m.playing_ms, 1000.0);
    assert_eq!(m.watch_ms, 1300.0);
    assert_eq!(m.paused_ms, 0.0);
    assert_eq!(m.rebuffer_ratio, Some(0.0));
    assert_eq!(m.stall_frequency_per_min, Some(0.0));
    assert_some_close(m.mux_startup_score, 100.0 * 8.0 / 8.3);
    assert_eq!(m.mux_smoothness_score, Some(100.0));
}

#[test]
fn qoe_stall_of_100ms_is_detected_and_90ms_is_not() {
    let mut s = Script::playing_until(2000.0);
    s.frame(2090.0, 0.02); // 90 ms gap: no stall
    assert_eq!(s.metrics(2090.0).stall_count, 0);
    s.frames(2110.0, 2990.0, 20.0).stuck().frame(3090.0, 0.02); // 100 ms gap: a stall
    let m = s.metrics(3090.0);
    assert_eq!(m.stall_count, 1);
    assert_eq!(m.stall_ms, 100.0);
    assert!(!m.stall_ongoing);
    assert_eq!(
        s.m.recent_stalls(),
        &[StallRecord {
            position_s: Some(s.media_s - 0.02),
            start_ms: 2990.0,
            duration_ms: 100.0
        }]
    );
    // Playing: 100..3090 minus the stall.
    assert_eq!(m.playing_ms, 2890.0);
    assert_some_close(m.rebuffer_ratio, 100.0 / 2990.0);
    assert_some_close(m.rebuffer_ratio_watch, 100.0 / 3090.0);
    assert_some_close(m.stall_frequency_per_min, 1.0 / (2890.0 / 60_000.0));
}

#[test]
fn qoe_stall_is_the_playhead_shortfall_not_the_frame_gap() {
    // A presentation hiccup: no frame for 250 ms, but the media clock ran on (the next frame's
    // playhead is 240 ms later; frames were dropped): a render freeze, not a stall.
    let mut s = Script::playing_until(2000.0);
    s.frame(2250.0, 0.24);
    let m = s.metrics(2250.0);
    assert_eq!((m.stall_count, m.freeze_count), (0, 1));
    // A real stall: 400 ms without frames, the playhead advanced 30 ms (it ran on after the
    // underflow, then stopped): the shortfall of 370 ms makes it a stall, and the stall is the
    // whole gap between the two displays: 400 ms, back-dated to the last frame at 3000.
    s.frames(2270.0, 2900.0, 20.0).frame(3000.0, 0.02);
    let before = s.media_s;
    s.m.observe(
        3400.0,
        O::Frame {
            media_time_s: before + 0.02,
            presented_frames: 10_000,
            position_s: before + 0.03,
            playback_rate: 1.0,
        },
    );
    let m = s.metrics(3400.0);
    assert_eq!(m.stall_count, 1);
    assert_close(m.stall_ms, 400.0);
    assert_close(s.m.recent_stalls()[0].start_ms, 3000.0);
    // At half speed 20 ms of playhead is 40 ms of wall time: a 150 ms gap is a 110 ms shortfall
    // (a stall) of 150 ms.
    s.m.observe(
        3550.0,
        O::Frame {
            media_time_s: before + 0.04,
            presented_frames: 10_001,
            position_s: before + 0.05,
            playback_rate: 0.5,
        },
    );
    let m = s.metrics(3550.0);
    assert_eq!(m.stall_count, 2);
    assert_close(m.stall_ms, 550.0);
    // A frame without a playhead (NaN) falls back to its media time.
    s.m.observe(
        3700.0,
        O::Frame {
            media_time_s: before + 0.06,
            presented_frames: 10_002,
            position_s: f64::NAN,
            playback_rate: f64::NAN,
        },
    );
    assert_eq!(s.metrics(3700.0).stall_count, 3);
    // (the playhead was at +0.05, the frame's media time is +0.06: 10 ms of 150).
    assert_close(s.metrics(3700.0).stall_ms, 550.0 + 150.0);
    // A hiccup whose playhead shortfall is under the threshold stays no stall, however long the
    // picture was overdue.
    let n = s.metrics(3700.0).stall_count;
    s.frames(3720.0, 4000.0, 20.0).frame(4190.0, 0.11);
    assert_eq!(s.metrics(4190.0).stall_count, n);
}

#[test]
fn qoe_stall_with_audio_is_the_whole_display_gap() {
    // Measured in Chromium 156 (hls.js, audio+video, a 25 fps stream): the last frame reaches the
    // screen at 10 000 (expectedDisplayTime; the pipeline's video BUFFERING_HAVE_NOTHING comes 0–1 ms
    // later), the audio clock runs on 27 ms, the next frame is displayed at 325.6 (video
    // BUFFERING_HAVE_ENOUGH at 326.8) with the playhead 27 ms further than at the last frame. The
    // stall is the pipeline's: 325.6 ms from 10 000, not the 298.6 ms shortfall, nor the 285.6 ms
    // of "gap minus the last frame's 40 ms".
    let mut s = Script::new();
    s.at(8000.0, O::PlayIntent { autoplay: false })
        .at(8000.0, O::Play)
        .frames(8040.0, 10_000.0, 40.0);
    let at_last = s.pos_s;
    s.m.observe(
        10_325.6,
        O::Frame {
            media_time_s: s.media_s + 0.12, // two frames dropped on resume
            presented_frames: 10_000,
            position_s: at_last + 0.027,
            playback_rate: 1.0,
        },
    );
    let m = s.metrics(10_325.6);
    assert_eq!(m.stall_count, 1);
    assert!((m.stall_ms - 325.6).abs() < 1e-6, "{}", m.stall_ms);
    assert_close(s.m.recent_stalls()[0].start_ms, 10_000.0);
    // The ongoing read during such a stall already counts from the last frame.
    let mut s = Script::new();
    s.at(0.0, O::PlayIntent { autoplay: false })
        .at(0.0, O::Play)
        .frames(40.0, 2000.0, 40.0);
    let m = s.metrics(2250.0);
    assert!(m.stall_ongoing);
    assert_close(m.stall_ongoing_ms, 250.0);
}

#[test]
fn qoe_dropped_frames_never_exceed_decoded_frames() {
    let mut s = Script::playing_until(1000.0);
    s.at(
        1000.0,
        O::Quality {
            dropped_frames: 0,
            total_frames: 100,
        },
    )
    .at(
        1500.0,
        O::Quality {
            dropped_frames: 50,
            total_frames: 110,
        },
    ) // impossible: ignored
    .at(
        2000.0,
        O::Quality {
            dropped_frames: 52,
            total_frames: 130,
        },
    );
    let m = s.metrics(2000.0);
    assert_eq!((m.dropped_frames, m.total_frames), (2, 20));
}

#[test]
fn qoe_stall_is_back_dated_ongoing_then_exact() {
    let mut s = Script::playing_until(2000.0);
    let pos = s.media_s;
    s.at(2050.0, O::Waiting);
    assert_eq!(s.m.next_deadline_ms(), Some(2100.0));
    // Before the threshold: nothing; waiting is only a hint.
    let m = s.metrics(2099.0);
    assert_eq!((m.stall_count, m.stall_ongoing), (0, false));
    assert_eq!(m.playing_ms, 1999.0);
    s.at(2100.0, O::Tick);
    let m = s.metrics(2350.0);
    assert_eq!((m.stall_count, m.stall_ongoing), (1, true));
    assert_eq!(m.stall_ms, 350.0);
    assert_eq!(m.stall_ongoing_ms, 350.0);
    assert_eq!(m.playing_ms, 1900.0);
    assert_eq!(
        s.m.ongoing_stall(2350.0),
        Some(StallRecord {
            position_s: Some(pos),
            start_ms: 2000.0,
            duration_ms: 350.0
        })
    );
    // The stall has been detected: the next deadline is the WebRTC freeze threshold of the open
    // gap: 29 earlier gaps of 20 ms, n = 30: max(3·580/27, (580 + 150·30)/29).
    let d = s.m.next_deadline_ms().unwrap_or(f64::NAN);
    assert_close(d, 2000.0 + 5080.0 / 29.0);
    s.stuck().frame(2600.0, 0.02);
    let m = s.metrics(2600.0);
    assert_eq!((m.stall_count, m.stall_ongoing), (1, false));
    assert_eq!(m.stall_ms, 600.0);
    assert_eq!(s.m.recent_stalls()[0].start_ms, 2000.0);
    assert_eq!(s.m.recent_stalls()[0].duration_ms, 600.0);
    assert_eq!(s.m.recent_stalls()[0].position_s, Some(pos));
    assert_eq!(m.playing_ms, 1900.0);
    assert_eq!((m.freeze_count, m.freeze_ms), (1, 600.0));
    assert_eq!((m.freeze_500_count, m.freeze_500_ms), (1, 600.0));
    // Metrics do not depend on whether the tick was delivered.
    let mut t = Script::playing_until(2000.0);
    t.at(2050.0, O::Waiting).stuck().frame(2600.0, 0.02);
    assert_eq!(t.metrics(2600.0), m);
}

#[test]
fn qoe_stall_during_startup_is_startup() {
    let mut s = Script::new();
    s.at(0.0, O::PlayIntent { autoplay: false })
        .at(100.0, O::Waiting)
        .at(2000.0, O::Tick);
    assert_eq!(s.m.next_deadline_ms(), None);
    let m = s.metrics(2500.0);
    assert_eq!((m.stall_count, m.startup_ms, m.started), (0, None, false));
    s.frames(3000.0, 3400.0, 20.0);
    let m = s.metrics(3400.0);
    assert_eq!(m.startup_ms, Some(3000.0));
    assert_eq!(m.stall_count, 0);
    assert_eq!(m.playing_ms, 400.0);
    assert_eq!(m.watch_ms, 3400.0);
}

#[test]
fn qoe_seek_while_playing() {
    let mut s = Script::playing_until(2000.0);
    s.at(2010.0, O::Seeking)
        .at(2100.0, O::Seeking) // scrubbing: same seek
        .at(2300.0, O::Seeked);
    assert_eq!(s.m.next_deadline_ms(), None);
    s.frames(2400.0, 3000.0, 20.0);
    let m = s.metrics(3000.0);
    assert_eq!(m.seek_count, 1);
    assert_eq!(m.seek_latency_last_ms, Some(390.0));
    assert_eq!(m.seek_latency_mean_ms, Some(390.0));
    assert_eq!(m.seek_latency_max_ms, Some(390.0));
    assert_eq!(
        (m.stall_count, m.freeze_count, m.freeze_500_count),
        (0, 0, 0)
    );
    assert_eq!(m.playing_ms, (2010.0 - 100.0) + 600.0);
    assert_eq!(m.watch_ms, 3000.0);
    // A seek completed by `playing` before any frame.
    s.at(3010.0, O::Seeking)
        .at(3050.0, O::Seeked)
        .at(3070.0, O::Playing)
        .frames(3090.0, 3200.0, 20.0);
    let m = s.metrics(3200.0);
    assert_eq!(m.seek_count, 2);
    assert_eq!(m.seek_latency_last_ms, Some(60.0));
    assert_eq!(m.seek_latency_mean_ms, Some(225.0));
    assert_eq!(m.stall_count, 0);
}

#[test]
fn qoe_seek_while_paused() {
    let mut s = Script::playing_until(2000.0);
    s.at(2000.0, O::Pause)
        .at(2100.0, O::Seeking)
        .at(2150.0, O::Seeked)
        .frame(2160.0, 5.0) // the seek target frame, presented while paused
        .at(3000.0, O::Play)
        .frames(3030.0, 3500.0, 20.0);
    let m = s.metrics(3500.0);
    assert_eq!(m.seek_count, 1);
    assert_eq!(m.seek_latency_last_ms, Some(50.0));
    assert_eq!(m.stall_count, 0);
    assert_eq!(m.paused_ms, 1000.0);
    assert_eq!(m.playing_ms, 1900.0 + 470.0);
    assert_eq!(m.watch_ms, 2000.0 + 500.0);
}

#[test]
fn qoe_pause_during_stall() {
    let mut s = Script::playing_until(2000.0);
    s.at(2500.0, O::Pause);
    let m = s.metrics(3000.0);
    assert_eq!(
        (m.stall_count, m.stall_ms, m.stall_ongoing),
        (1, 500.0, false)
    );
    // Resume: the resume latency is not a stall.
    s.at(4000.0, O::Play).frames(4300.0, 5000.0, 20.0);
    // Pause inside a candidate below the threshold: no stall.
    s.at(5080.0, O::Pause);
    let m = s.metrics(6000.0);
    assert_eq!((m.stall_count, m.stall_ms), (1, 500.0));
    assert_eq!(m.paused_ms, 1500.0 + 920.0);
    assert_eq!(m.playing_ms, 1900.0 + 780.0);
    assert_eq!(m.freeze_count, 1); // the 500 ms gap up to the pause (Agora and WebRTC)
    assert_eq!(m.freeze_500_ms, 500.0);
}

#[test]
fn qoe_resume_then_waiting_is_a_stall_from_waiting() {
    let mut s = Script::playing_until(2000.0);
    s.at(2000.0, O::Pause)
        .at(3000.0, O::Play)
        .at(3010.0, O::Waiting)
        .stuck()
        .frames(3500.0, 3600.0, 20.0);
    let m = s.metrics(3600.0);
    assert_eq!((m.stall_count, m.stall_ms), (1, 490.0));
    assert_eq!(s.m.recent_stalls()[0].start_ms, 3010.0);
}

#[test]
fn qoe_hidden_tab_with_browser_pause_and_play() {
    let mut s = Script::playing_until(2000.0);
    s.all(&[
        (2010.0, O::Visibility { hidden: true }),
        (2020.0, O::Pause), // Chromium pauses a hidden muted video...
        (8000.0, O::Visibility { hidden: false }),
        (8005.0, O::Play), // ...and plays it on return
        (8010.0, O::Playing),
    ])
    .frames(8300.0, 9000.0, 20.0);
    let m = s.metrics(9000.0);
    assert_eq!(
        (m.stall_count, m.freeze_count, m.freeze_500_count),
        (0, 0, 0)
    );
    assert_eq!(m.hidden_ms, 5990.0);
    assert_eq!(m.paused_ms, 5985.0);
    assert_eq!(m.playing_ms, 1910.0 + 700.0);
    assert_eq!(m.watch_ms, 9000.0 - 5985.0);
}

#[test]
fn qoe_hidden_tab_while_playing() {
    let mut s = Script::playing_until(2000.0);
    // Candidate below the threshold when hidden: dropped; no frames while hidden.
    s.at(2090.0, O::Visibility { hidden: true });
    assert_eq!(s.m.next_deadline_ms(), None);
    s.at(5000.0, O::Visibility { hidden: false });
    assert_eq!(s.m.next_deadline_ms(), Some(5100.0));
    s.frames(5050.0, 6000.0, 20.0);
    let m = s.metrics(6000.0);
    assert_eq!(
        (m.stall_count, m.freeze_count, m.freeze_500_count),
        (0, 0, 0)
    );
    assert_eq!(m.hidden_ms, 2910.0);
    assert_eq!(m.playing_ms, 1990.0 + 1000.0);
    assert_eq!(m.watch_ms, 6000.0);
    // Return without frames: detection restarts from the return time.
    s.at(6010.0, O::Visibility { hidden: true })
        .at(7000.0, O::Visibility { hidden: false })
        .stuck()
        .frame(7150.0, 0.02);
    let m = s.metrics(7150.0);
    assert_eq!((m.stall_count, m.stall_ms), (1, 150.0));
    assert_eq!(s.m.recent_stalls()[0].start_ms, 7000.0);
    // A stall already past the threshold when the page is hidden counts up to the hide.
    s.frames(7170.0, 8000.0, 20.0)
        .at(8290.0, O::Visibility { hidden: true });
    let m = s.metrics(9000.0);
    assert_eq!((m.stall_count, m.stall_ms), (2, 450.0));
}

#[test]
fn qoe_autoplay_blocked_then_user_play() {
    let mut s = Script::new();
    s.at(0.0, O::SourceAttached)
        .at(0.0, O::PlayIntent { autoplay: true })
        .at(0.0, O::Play)
        .at(20.0, O::AutoplayBlocked)
        .at(20.0, O::Pause)
        .at(5000.0, O::PlayIntent { autoplay: false })
        .at(5000.0, O::Play)
        .frames(5200.0, 5400.0, 20.0);
    let m = s.metrics(5400.0);
    assert!(m.autoplay_blocked);
    assert_eq!(m.startup_ms, Some(220.0));
    assert_eq!(m.load_to_first_frame_ms, Some(5200.0));
    assert_eq!(m.paused_ms, 4980.0);
    assert_eq!(m.watch_ms, 420.0);
    assert_eq!(m.stall_count, 0);
}

#[test]
fn qoe_autoplay_blocked_with_preloaded_first_frame() {
    let mut s = Script::new();
    s.at(0.0, O::SourceAttached)
        .frame(300.0, 0.0) // preload renders the first frame while paused
        .at(1000.0, O::PlayIntent { autoplay: true })
        .at(1010.0, O::AutoplayBlocked)
        .frame(1015.0, 0.0) // same frame again: a duplicate, ignored
        .at(3000.0, O::Play)
        .frames(3040.0, 3200.0, 20.0);
    let m = s.metrics(3200.0);
    assert!(m.preloaded && m.autoplay_blocked);
    assert_eq!(m.load_to_first_frame_ms, Some(300.0));
    assert_eq!(m.startup_ms, Some(50.0));
    assert_eq!(m.paused_ms, 1990.0);
}

#[test]
fn qoe_preloaded_frame_presented_again_after_play_is_not_the_start() {
    // Chromium presents the preloaded first frame again (a new presentedFrames, the same
    // mediaTime) right after play(): startup ends at the first frame that moves.
    let mut s = Script::new();
    s.at(0.0, O::SourceAttached)
        .frame(300.0, 0.0)
        .at(1000.0, O::PlayIntent { autoplay: false })
        .at(1000.0, O::Play)
        .frame(1001.0, 0.0)
        .frames(1060.0, 1200.0, 20.0);
    let m = s.metrics(1200.0);
    assert!(m.preloaded);
    assert_eq!(m.startup_ms, Some(60.0));
    // A frame whose callback time precedes the play event's time (the page called play() after
    // the rendering step began) was presented before the intent: not the start either.
    let mut s = Script::new();
    s.at(0.0, O::SourceAttached)
        .at(1000.0, O::PlayIntent { autoplay: false })
        .at(1000.0, O::Play)
        .frame(995.0, 0.04)
        .frames(1066.0, 1200.0, 20.0);
    assert_eq!(s.metrics(1200.0).startup_ms, Some(66.0));
}

#[test]
fn qoe_source_change_ends_the_view() {
    let mut s = Script::playing_until(2000.0);
    s.at(2010.0, O::SourceChanged)
        .frames(3000.0, 4000.0, 20.0)
        .at(
            3500.0,
            O::Error {
                code: 3,
                fatal: true,
            },
        );
    let m = s.metrics(10_000.0);
    assert_eq!(m, s.metrics(2010.0));
    assert_eq!(
        (m.stall_count, m.error_count, m.playback_failure),
        (0, 0, false)
    );
    assert_eq!(m.watch_ms, 2010.0);
    assert_eq!(m.playing_ms, 1910.0);
    assert!(!m.exit_before_start);
    assert_eq!(s.m.next_deadline_ms(), None);
    // Before the first frame: exit before start.
    let mut s = Script::new();
    s.at(0.0, O::PlayIntent { autoplay: false })
        .at(1500.0, O::SourceChanged);
    let m = s.metrics(2000.0);
    assert!(m.exit_before_start && !m.started && !m.startup_failure);
    assert_eq!(m.watch_ms, 1500.0);
    // Page closed before start.
    let mut s = Script::new();
    s.at(0.0, O::PlayIntent { autoplay: false })
        .at(700.0, O::PageHide);
    assert!(s.metrics(800.0).exit_before_start);
    // Hidden before start (and still hidden).
    let mut s = Script::new();
    s.at(0.0, O::PlayIntent { autoplay: false })
        .at(700.0, O::Visibility { hidden: true });
    let m = s.metrics(800.0);
    assert!(m.exit_before_start && m.hidden_during_startup);
    s.at(900.0, O::Visibility { hidden: false })
        .frame(1000.0, 0.02);
    let m = s.metrics(1000.0);
    assert!(!m.exit_before_start && m.hidden_during_startup);
    assert_eq!(m.startup_ms, Some(1000.0));
    assert_eq!(m.hidden_ms, 200.0);
}

#[test]
fn qoe_fatal_error_before_and_after_first_frame() {
    let mut s = Script::new();
    s.at(0.0, O::PlayIntent { autoplay: false })
        .at(
            300.0,
            O::Error {
                code: 2,
                fatal: false,
            },
        )
        .at(
            800.0,
            O::Error {
                code: 4,
                fatal: true,
            },
        );
    let m = s.metrics(5000.0);
    assert!(m.startup_failure && !m.playback_failure && !m.exit_before_start);
    assert_eq!((m.failure_code, m.error_count), (4, 2));
    assert_eq!(m.watch_ms, 800.0);
    assert_eq!(m.startup_ms, None);

    let mut s = Script::playing_until(2000.0);
    s.at(
        2300.0,
        O::Error {
            code: 3,
            fatal: true,
        },
    );
    let m = s.metrics(5000.0);
    assert!(m.playback_failure && !m.startup_failure);
    assert_eq!(m.failure_code, 3);
    // The player stalled 300 ms before giving up: counted, ending at the error.
    assert_eq!((m.stall_count, m.stall_ms), (1, 300.0));
    assert_eq!(m.watch_ms, 2300.0);
}

#[test]
fn qoe_ended_and_replay() {
    let mut s = Script::playing_until(2000.0);
    s.at(2010.0, O::Pause).at(2010.0, O::Ended);
    let m = s.metrics(5000.0);
    assert!(m.ended);
    assert_eq!((m.stall_count, m.freeze_count), (0, 0));
    assert_eq!(m.watch_ms, 2010.0);
    assert_eq!(m.paused_ms, 0.0);
    assert_eq!(s.m.next_deadline_ms(), None);
    s.at(6000.0, O::Play)
        .at(6000.0, O::Seeking)
        .at(6050.0, O::Seeked)
        .frames(6080.0, 6200.0, 20.0);
    let m = s.metrics(6200.0);
    assert!(!m.ended);
    assert_eq!(m.stall_count, 0);
    assert_eq!(m.seek_latency_last_ms, Some(80.0));
    assert_eq!(m.watch_ms, 2010.0 + 200.0);
}

#[test]
fn qoe_live_edge_wait_is_a_stall() {
    let mut s = Script::playing_until(2000.0);
    s.at(1500.0, O::LiveEdge { distance_s: 1.5 })
        .at(2000.0, O::LiveEdge { distance_s: 0.5 })
        .at(2010.0, O::Waiting)
        .stuck()
        .frames(2700.0, 3000.0, 20.0);
    let m = s.metrics(3000.0);
    assert_eq!((m.stall_count, m.stall_ms), (1, 700.0));
    assert_eq!(m.live_edge_last_s, Some(0.5));
    assert_eq!(m.live_edge_mean_s, Some(1.0));
}

#[test]
fn qoe_next_deadline_values() {
    let mut s = Script::new();
    assert_eq!(s.m.next_deadline_ms(), None);
    s.at(0.0, O::PlayIntent { autoplay: false });
    assert_eq!(s.m.next_deadline_ms(), None);
    s.frame(100.0, 0.02);
    // Stall at 200; Agora freeze at 600; no WebRTC threshold yet.
    assert_eq!(s.m.next_deadline_ms(), Some(200.0));
    s.frames(120.0, 180.0, 20.0);
    // 4 gaps of 20: n = 5, S = 80: max(3·80/2, (80 + 750)/4) = 207.5.
    assert_eq!(s.m.next_deadline_ms(), Some(280.0));
    s.at(280.0, O::Tick);
    assert_eq!(s.metrics(280.0).stall_count, 1);
    assert_eq!(s.m.next_deadline_ms(), Some(387.5));
    s.at(387.5, O::Tick);
    assert_eq!(s.metrics(387.5).freeze_count, 1);
    assert_eq!(s.m.next_deadline_ms(), Some(680.0));
    s.at(680.0, O::Tick);
    assert_eq!(s.m.next_deadline_ms(), None);
    let m = s.metrics(680.0);
    assert_eq!((m.freeze_count, m.freeze_500_count), (1, 1));
    assert_eq!((m.freeze_ms, m.freeze_500_ms), (500.0, 500.0));
    s.frame(700.0, 0.02).at(710.0, O::Pause);
    assert_eq!(s.m.next_deadline_ms(), None);
    // Time-update fallback (no frame callbacks): threshold + 250 ms.
    let mut s = Script::new();
    s.at(0.0, O::PlayIntent { autoplay: false })
        .at(0.0, O::TimeUpdate { position_s: 0.0 })
        .at(200.0, O::Playing)
        .at(250.0, O::TimeUpdate { position_s: 0.05 });
    assert_eq!(s.m.next_deadline_ms(), Some(600.0));
}

#[test]
fn qoe_freeze_rule_with_irregular_gaps() {
    let mut s = Script::new();
    s.at(0.0, O::PlayIntent { autoplay: false });
    let mut t = 100.0;
    s.frame(t, 0.0);
    for gap in [30.0, 50.0, 30.0, 50.0, 30.0, 50.0, 30.0, 50.0] {
        t += gap;
        s.frame(t, gap / 1000.0);
    }
    // k = 8, S = 320, n = 9: threshold max(160, 208.75) = 208.75.
    assert_eq!(s.m.next_deadline_ms(), Some(t + 100.0)); // the stall comes first
    t += 300.0;
    s.stuck().frame(t, 0.03); // mean (320 + 300)/9 = 68.9: 300 ≥ 218.9 → freeze
    assert_eq!(s.metrics(t).freeze_count, 1);
    t += 150.0; // k = 9, S = 620, n = 10: threshold 265.7 → not a freeze
    s.stuck().frame(t, 0.03);
    t += 520.0; // k = 10, S = 770, n = 11: threshold 288.75 → freeze, and ≥ 500
    s.stuck().frame(t, 0.03);
    let m = s.metrics(t);
    assert_eq!((m.freeze_count, m.freeze_ms), (2, 820.0));
    assert_eq!((m.freeze_500_count, m.freeze_500_ms), (1, 520.0));
    assert_eq!((m.stall_count, m.stall_ms), (3, 970.0));

    // The window is the last 30 gaps: 40 gaps of 20, threshold 5080/29 = 175.17.
    for (gap, freezes) in [(175.0, 0), (176.0, 1)] {
        let mut s = Script::playing_until(100.0 + 40.0 * 20.0);
        s.frame(900.0 + gap, 0.02);
        assert_eq!(s.metrics(900.0 + gap).freeze_count, freezes);
    }
}

#[test]
fn qoe_dropped_frame_deltas_across_pauses_and_seeks() {
    let q = |d, n| O::Quality {
        dropped_frames: d,
        total_frames: n,
    };
    let mut s = Script::new();
    s.at(0.0, O::PlayIntent { autoplay: false })
        .at(50.0, q(9, 9)) // before the first frame: only a base, never a delta
        .frames(100.0, 1200.0, 20.0)
        .at(500.0, q(12, 109)) // 3 / 100 during startup: not counted
        .at(1000.0, q(15, 139)) // +3 / 30
        .at(1200.0, O::Pause)
        .at(1500.0, q(16, 149)) // +1 / 10 (the part before the pause)
        .at(2000.0, O::Play)
        .frames(2020.0, 2600.0, 20.0)
        .at(2500.0, q(18, 169)) // +2 / 20
        .at(2600.0, O::Seeking)
        .at(2700.0, q(30, 209)) // seek: not counted
        .at(2800.0, O::Seeked)
        .frames(2820.0, 3600.0, 20.0)
        .at(3000.0, q(31, 219)) // base was taken while seeking: not counted
        .at(3500.0, q(32, 239)) // +1 / 20
        .at(3600.0, O::Visibility { hidden: true })
        .at(3700.0, q(40, 300))
        .at(3800.0, O::Visibility { hidden: false })
        .frames(3820.0, 4000.0, 20.0)
        .at(3900.0, q(41, 310)) // base after the hidden interval
        .at(4000.0, q(42, 330)); // +1 / 20
    let m = s.metrics(4000.0);
    assert_eq!((m.dropped_frames, m.total_frames), (8, 100));
    assert_eq!(m.dropped_frame_ratio, Some(0.08));
    // Counters going back (new decoder): rebase, no delta.
    s.at(4100.0, q(0, 5)).at(4200.0, q(1, 25));
    let m = s.metrics(4200.0);
    assert_eq!((m.dropped_frames, m.total_frames), (9, 120));
}

#[test]
fn qoe_time_sync_picks_min_rtt_probe_and_latency_arithmetic() {
    let mut s = Script::playing_until(2000.0);
    s.at(
        2000.0,
        O::FrameProgramTime {
            program_date_ms: 1500.0,
        },
    );
    let m = s.metrics(2000.0);
    assert_eq!(m.clock_offset_ms, None);
    assert_eq!(m.latency_last_ms, Some(500.0)); // offset 0 until a probe succeeds
    let sync = |sent_ms, received_ms, server_ms| O::TimeSync {
        sent_ms,
        received_ms,
        server_ms,
    };
    s.at(2000.0, sync(1000.0, 1100.0, 5050.0)) // rtt 100, offset 4000
        .at(2100.0, sync(2000.0, 2040.0, 6025.0)) // rtt 40, offset 4005
        .at(3200.0, sync(3000.0, 3200.0, 7000.0)) // rtt 200, offset 3900
        .at(3300.0, sync(3300.0, 3200.0, 7000.0)) // negative rtt: ignored
        .at(3300.0, sync(f64::NAN, 3200.0, 7000.0)); // ignored
    let m0 = s.metrics(3300.0);
    assert_eq!(m0.clock_offset_ms, Some(4005.0));
    assert_eq!(m0.rtt_last_ms, Some(200.0));
    assert_eq!(m0.rtt_min_ms, Some(40.0));
    // The earlier sample is re-expressed with the best offset.
    assert_eq!(m0.latency_last_ms, Some(4505.0));
    let mut s2 = Script::new();
    s2.at(0.0, O::PlayIntent { autoplay: false })
        .at(0.0, sync(2000.0, 2040.0, 6025.0))
        .frame(100.0, 0.0)
        .at(
            10_000.0,
            O::FrameProgramTime {
                program_date_ms: 12_000.0,
            },
        )
        .at(
            11_000.0,
            O::FrameProgramTime {
                program_date_ms: 12_900.0,
            },
        )
        .at(
            11_000.0,
            O::FrameProgramTime {
                program_date_ms: f64::INFINITY,
            },
        );
    let m = s2.metrics(11_000.0);
    assert_eq!(m.latency_samples, 2);
    assert_eq!(m.latency_last_ms, Some(2105.0));
    assert_eq!(m.latency_min_ms, Some(2005.0));
    assert_eq!(m.latency_max_ms, Some(2105.0));
    assert_eq!(m.latency_mean_ms, Some(2055.0));
    s2.at(11_000.0, O::SegmentTtfb { ttfb_ms: 80.0 })
        .at(11_000.0, O::SegmentTtfb { ttfb_ms: 120.0 })
        .at(11_000.0, O::SegmentTtfb { ttfb_ms: -1.0 });
    let m = s2.metrics(11_000.0);
    assert_eq!(
        (m.segment_ttfb_mean_ms, m.segment_ttfb_count),
        (Some(100.0), 2)
    );
}

#[test]
fn qoe_bitrate_switches_and_time_weighting() {
    let mut s = Script::new();
    s.at(0.0, O::PlayIntent { autoplay: false })
        .at(0.0, O::Bitrate { bps: 1_000_000 })
        .frames(100.0, 1100.0, 20.0)
        .at(1100.0, O::Bitrate { bps: 3_000_000 })
        .frames(1120.0, 1500.0, 20.0)
        .stuck()
        .frames(2000.0, 2100.0, 20.0) // 500 ms stall at 3 Mbit/s: not weighted
        .at(2100.0, O::Bitrate { bps: 2_000_000 })
        .at(2100.0, O::Bitrate { bps: 0 }) // ignored
        .frames(2120.0, 3100.0, 20.0);
    let m = s.metrics(3100.0);
    assert_eq!((m.bitrate_switch_up, m.bitrate_switch_down), (1, 1));
    assert_eq!(m.bitrate_last_bps, Some(2_000_000.0));
    assert_eq!((m.stall_count, m.stall_ms), (1, 500.0));
    assert_eq!(m.playing_ms, 2500.0);
    assert_some_close(m.bitrate_mean_bps, (1e9 + 1.5e9 + 2e9) / 2500.0);
}

#[test]
fn qoe_upscale_and_downscale_in_physical_pixels() {
    let dims = |w, h, dpr, vw, vh| O::Dimensions {
        element_css_w: w,
        element_css_h: h,
        device_pixel_ratio: dpr,
        video_w: vw,
        video_h: vh,
    };
    let mut s = Script::new();
    s.at(0.0, O::PlayIntent { autoplay: false })
        .at(0.0, dims(640.0, 360.0, 2.0, 1920.0, 1080.0)) // 1280×720 physical: 2/3
        .frames(100.0, 1100.0, 20.0)
        .at(1100.0, dims(640.0, 360.0, 2.0, 640.0, 360.0)) // ×2
        .frames(1120.0, 2100.0, 20.0)
        .at(2100.0, dims(640.0, 400.0, 1.0, 640.0, 360.0)) // min(1, 1.11) = 1: neither
        .frames(2120.0, 2600.0, 20.0)
        .at(2600.0, dims(f64::NAN, 400.0, 1.0, 0.0, 360.0)) // unknown
        .frames(2620.0, 3100.0, 20.0);
    let m = s.metrics(3100.0);
    assert_eq!((m.upscale_ms, m.downscale_ms), (1000.0, 1000.0));
    assert_some_close(m.upscale_mean, 1000.0 / 2500.0);
    assert_some_close(m.downscale_mean, (1000.0 / 3.0) / 2500.0);
}

#[test]
fn qoe_p1203_stall_impact_against_hand_computed_values() {
    // Startup 2 s (event at position 0), stalls of 1 s at 10 s and 3 s at 40 s of playing time,
    // 60 s played. Hand-computed (Python, from the clause 8.1.1 / Eq. 29 / Eq. 31 formulas):
    // totalStallLen = 2·w(60) + 1·w(50) + 3·w(20) = 3.323918098125, avgStallInterval = 20.
    let run = |cfg: QoeConfig| {
        let mut s = Script::with(cfg);
        s.at(0.0, O::PlayIntent { autoplay: false })
            .frames(2000.0, 12_000.0, 20.0)
            .stuck()
            .frames(13_000.0, 43_000.0, 20.0)
            .stuck()
            .frames(46_000.0, 66_000.0, 20.0);
        s.metrics(66_000.0)
    };
    let m = run(QoeConfig::default());
    assert_eq!(m.startup_ms, Some(2000.0));
    assert_eq!(
        (m.stall_count, m.stall_ms, m.playing_ms),
        (2, 4000.0, 60_000.0)
    );
    assert_some_close(m.p1203_stall_impact, 0.6628304140992484);
    assert_some_close(m.p1203_o23, 3.6513216563969935);
    // Without the initial loading event: totalStallLen 2.3395395428125, interval 30.
    let m = run(QoeConfig {
        p1203_include_initial_loading: false,
        ..QoeConfig::default()
    });
    assert_some_close(m.p1203_stall_impact, 0.7396915601847147);
    assert_some_close(m.p1203_o23, 3.958766240738859);
    // No stall, no startup delay counted: impact 1, O.23 = 5.
    let mut s = Script::with(QoeConfig {
        p1203_include_initial_loading: false,
        ..QoeConfig::default()
    });
    s.at(0.0, O::PlayIntent { autoplay: false })
        .frames(0.0, 1000.0, 20.0);
    let m = s.metrics(1000.0);
    assert_eq!((m.p1203_stall_impact, m.p1203_o23), (Some(1.0), Some(5.0)));
    assert_eq!(Script::new().metrics(0.0).p1203_stall_impact, None);
}

#[test]
fn qoe_mux_scores() {
    assert_eq!(mux_startup_score(2000.0), Some(80.0));
    assert_eq!(mux_startup_score(8000.0), Some(50.0));
    assert_eq!(mux_startup_score(f64::NAN), None);
    assert_eq!(mux_smoothness_score(0, 0.0), Some(100.0));
    // count 2: 100/sqrt(2); 1 % rebuffering: 100·e^−0.1.
    let v = mux_smoothness_score(2, 0.01).unwrap_or(f64::NAN);
    assert_close(v, (100.0 / 2f64.sqrt() + 100.0 * (-0.1f64).exp()) / 2.0);
    let m = Script::playing_until(2000.0)
        .stuck()
        .frame(2500.0, 0.02)
        .m
        .metrics(2500.0);
    assert_eq!((m.stall_count, m.stall_ms, m.watch_ms), (1, 500.0, 2500.0));
    assert_some_close(
        m.mux_smoothness_score,
        (100.0 / 1.25f64.sqrt() + 100.0 * (-2.0f64).exp()) / 2.0,
    );
}

#[test]
fn qoe_recent_stall_list_is_bounded_and_count_exact() {
    let mut s = Script::with(QoeConfig {
        max_recent_stalls: 2,
        ..QoeConfig::default()
    });
    s.at(0.0, O::PlayIntent { autoplay: false })
        .frames(100.0, 500.0, 20.0)
        .stuck()
        .frames(700.0, 1000.0, 20.0)
        .stuck()
        .frames(1300.0, 1500.0, 20.0)
        .stuck()
        .frames(1900.0, 2000.0, 20.0);
    let m = s.metrics(2000.0);
    assert_eq!((m.stall_count, m.stall_ms), (3, 900.0));
    let starts: Vec<f64> = s.m.recent_stalls().iter().map(|r| r.start_ms).collect();
    assert_eq!(starts, [1000.0, 1500.0]);
}

#[test]
fn qoe_timeupdate_fallback_without_frame_callbacks() {
    let mut s = Script::new();
    s.at(0.0, O::SourceAttached)
        .at(0.0, O::PlayIntent { autoplay: false })
        .at(0.0, O::TimeUpdate { position_s: 0.0 })
        .at(300.0, O::Playing);
    let mut t = 550.0;
    let mut pos = 0.25;
    while t <= 2050.0 {
        s.at(t, O::TimeUpdate { position_s: pos });
        t += 250.0;
        pos += 0.25;
    }
    let m = s.metrics(2050.0);
    assert_eq!(m.startup_ms, Some(300.0));
    assert_eq!(m.load_to_first_frame_ms, Some(300.0));
    assert_eq!(m.stall_count, 0);
    // Next update 1 s later with only 0.25 s of advance: a 750 ms stall, back-dated to when the
    // playhead stopped (the last update + its 250 ms of advance).
    s.at(3050.0, O::TimeUpdate { position_s: pos });
    let m = s.metrics(3050.0);
    assert_eq!((m.stall_count, m.stall_ms), (1, 750.0));
    assert_eq!(s.m.recent_stalls()[0].start_ms, 2300.0);
    // Playing from the first frame (300: the playhead began to move) minus the stall.
    assert_eq!(m.playing_ms, 3050.0 - 300.0 - 750.0);
}

#[test]
fn qoe_timeupdate_fallback_first_frame_is_when_the_playhead_moved() {
    // A preloaded element: `playing` fires 5 ms after play(), the picture starts moving 85 ms
    // after it (measured in Chromium: `playing` runs ahead of the first moving frame); the first
    // advancing update, at 340 ms, finds the playhead 255 ms further.
    let mut s = Script::new();
    s.at(0.0, O::SourceAttached)
        .at(500.0, O::TimeUpdate { position_s: 0.0 })
        .at(1000.0, O::PlayIntent { autoplay: false })
        .at(1000.0, O::Play)
        .at(1005.0, O::Playing)
        .at(1340.0, O::TimeUpdate { position_s: 0.255 });
    let m = s.metrics(1340.0);
    assert_eq!(m.startup_ms, Some(85.0));
    assert_eq!(m.load_to_first_frame_ms, Some(1085.0));
    assert_eq!(m.playing_ms, 255.0);
    assert_eq!(m.watch_ms, 340.0);
}

#[test]
fn qoe_out_of_order_and_invalid_times() {
    let mut s = Script::playing_until(2000.0);
    s.at(1990.0, O::Playing) // earlier than the clock: taken as 2000
        .at(f64::NAN, O::Pause)
        .at(-5.0, O::Pause)
        .at(1e300, O::Pause)
        .at(f64::INFINITY, O::SourceChanged);
    let m = s.metrics(f64::NAN);
    assert_eq!(m.playing_ms, 1900.0);
    assert_eq!(m.paused_ms, 0.0);
    assert_eq!(s.metrics(2050.0).playing_ms, 1950.0);
    let m = Monitor::new(
        QoeConfig {
            stall_threshold_ms: f64::NAN,
            freeze_min_gap_ms: -1.0,
            freeze_min_increase_ms: f64::INFINITY,
            timeupdate_period_ms: 1e300,
            p1203_include_initial_loading: true,
            max_recent_stalls: u32::MAX,
        },
        f64::NAN,
    );
    let d = QoeConfig::default();
    assert_eq!(m.config().stall_threshold_ms, d.stall_threshold_ms);
    assert_eq!(m.config().freeze_min_gap_ms, d.freeze_min_gap_ms);
    assert_eq!(m.config().freeze_min_increase_ms, d.freeze_min_increase_ms);
    assert_eq!(m.config().timeupdate_period_ms, d.timeupdate_period_ms);
    assert_eq!(m.config().max_recent_stalls, 256);
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn any_f64() -> impl Strategy<Value = f64> {
        prop_oneof![
            -1e3..1e7f64,
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(-0.0),
            Just(1e308),
            Just(f64::MAX),
        ]
    }

    fn observation() -> impl Strategy<Value = Observation> {
        prop_oneof![
            any::<bool>().prop_map(|autoplay| O::PlayIntent { autoplay }),
            Just(O::AutoplayBlocked),
            Just(O::SourceAttached),
            Just(O::SourceChanged),
            Just(O::Play),
            Just(O::Pause),
            Just(O::Playing),
            Just(O::Waiting),
            Just(O::Seeking),
            Just(O::Seeked),
            Just(O::Ended),
            any_f64().prop_map(|position_s| O::TimeUpdate { position_s }),
            (any_f64(), any::<u32>(), any_f64(), any_f64()).prop_map(
                |(media_time_s, presented_frames, position_s, playback_rate)| O::Frame {
                    media_time_s,
                    presented_frames,
                    position_s,
                    playback_rate,
                }
            ),
            any::<bool>().prop_map(|hidden| O::Visibility { hidden }),
            Just(O::PageHide),
            (any::<u16>(), any::<bool>()).prop_map(|(code, fatal)| O::Error { code, fatal }),
            (any::<u32>(), any::<u32>()).prop_map(|(d, n)| O::Quality {
                dropped_frames: d,
                total_frames: n
            }),
            any::<u32>().prop_map(|bps| O::Bitrate { bps }),
            (any_f64(), any_f64(), any_f64(), any_f64(), any_f64()).prop_map(|(a, b, c, d, e)| {
                O::Dimensions {
                    element_css_w: a,
                    element_css_h: b,
                    device_pixel_ratio: c,
                    video_w: d,
                    video_h: e,
                }
            }),
            (any_f64(), any_f64(), any_f64()).prop_map(|(a, b, c)| O::TimeSync {
                sent_ms: a,
                received_ms: b,
                server_ms: c
            }),
            any_f64().prop_map(|p| O::FrameProgramTime { program_date_ms: p }),
            any_f64().prop_map(|d| O::LiveEdge { distance_s: d }),
            any_f64().prop_map(|x| O::SegmentTtfb { ttfb_ms: x }),
            Just(O::Tick),
        ]
    }

    fn finite(x: f64) -> bool {
        x.is_finite() && x >= 0.0
    }

    proptest! {
        #[test]
        fn qoe_never_panics_and_stays_consistent(
            steps in proptest::collection::vec((0.0..500.0f64, any::<bool>(), observation()), 0..200)
        ) {
            let cfg = QoeConfig { max_recent_stalls: 4, ..QoeConfig::default() };
            let mut m = Monitor::new(cfg, 0.0);
            let mut t = 0.0;
            for (dt, garbage_time, o) in steps {
                t += dt;
                m.observe(if garbage_time && dt < 50.0 { f64::NAN } else { t }, o);
                let _ = m.next_deadline_ms();
                let r = m.metrics(t);
                prop_assert!(finite(r.stall_ms) && finite(r.playing_ms) && finite(r.watch_ms));
                prop_assert!(finite(r.hidden_ms) && finite(r.paused_ms));
                prop_assert!(finite(r.freeze_ms) && finite(r.freeze_500_ms));
                prop_assert!(r.playing_ms + r.stall_ms <= r.watch_ms + 1e-6);
                prop_assert!(r.stall_ms <= r.watch_ms + 1e-6);
                prop_assert!(m.recent_stalls().len() <= 4);
                prop_assert!(m.recent_stalls().len() as u32 <= r.stall_count);
                for v in [r.rebuffer_ratio, r.rebuffer_ratio_watch, r.dropped_frame_ratio] {
                    prop_assert!(v.is_none_or(|v| (0.0..=1.0 + 1e-9).contains(&v)));
                }
                prop_assert!(r.p1203_o23.is_none_or(|v| (1.0..=5.0).contains(&v)));
                if let Some(d) = m.next_deadline_ms() {
                    prop_assert!(d.is_finite());
                }
            }
        }
    }
}

#[test]
fn qoe_degraded_bits_accumulate_and_survive_the_view() {
    let mut s = Script::playing_until(1000.0);
    assert_eq!(s.metrics(1000.0).degraded, 0);
    s.at(
        1000.0,
        O::Degraded {
            flags: DEGRADED_NO_FRAME_CALLBACKS,
        },
    )
    .at(
        1000.0,
        O::Degraded {
            flags: DEGRADED_NO_BEACON | DEGRADED_NO_STORAGE,
        },
    )
    .at(1000.0, O::Degraded { flags: 0 });
    let want = DEGRADED_NO_FRAME_CALLBACKS | DEGRADED_NO_BEACON | DEGRADED_NO_STORAGE;
    assert_eq!(s.metrics(1000.0).degraded, want);
    // Degradation is no error and does not end the view.
    assert_eq!(s.metrics(1000.0).error_count, 0);
    s.frames(1020.0, 1300.0, 20.0);
    assert_eq!(s.metrics(1300.0).playing_ms, 1200.0);
    assert_eq!(DEGRADED_NAMES.split(',').count(), 9);
    assert_eq!(DEGRADED_NO_RESIZE_OBSERVER, 1 << 8);
}

/// Found by `qoe_never_panics_and_stays_consistent` (proptest case cf359b5d): play, a playhead at
/// −0, ended, a new play intent, then a playhead at 1e308; `playing_ms + stall_ms` must stay
/// within `watch_ms` at every read.
#[test]
fn qoe_playing_and_stalls_stay_within_watch_after_ended_and_replay() {
    let mut m = Monitor::new(QoeConfig::default(), 0.0);
    let steps = [
        (0.0, Observation::Play),
        (
            134.41934593432885,
            Observation::TimeUpdate { position_s: -0.0 },
        ),
        (478.20837117915346, Observation::Ended),
        (
            71.25222716072129,
            Observation::PlayIntent { autoplay: false },
        ),
        (
            54.90292591758068,
            Observation::TimeUpdate { position_s: 1e308 },
        ),
    ];
    let mut t = 0.0;
    for (dt, o) in steps {
        t += dt;
        m.observe(t, o);
        let r = m.metrics(t);
        assert!(
            r.playing_ms + r.stall_ms <= r.watch_ms + 1e-6,
            "after {o:?} at {t}: playing {} + stall {} > watch {}",
            r.playing_ms,
            r.stall_ms,
            r.watch_ms
        );
    }
}
