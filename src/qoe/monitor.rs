//! The QoE state machine: observations in, metrics out.
//!
//! # Stall rule
//! After the first frame, while playback is *eligible* (play intent, not paused, not ended, not
//! seeking, not resuming from a pause, page visible, view not over), a stall *candidate* runs from
//! the last progress: a new presented frame, or, when no frame callbacks arrive at all, an
//! advancing `timeupdate`. At the next progress the candidate ends, and its stall time is the
//! *shortfall* of the playhead: wall time since the last progress minus the wall-equivalent time
//! the playhead advanced meanwhile (`(t − t_last) − 1000 × Δposition / rate`, the position being
//! `currentTime` read in the frame callback). It was a stall if the shortfall is at least
//! `stall_threshold_ms`. So a presentation hiccup (frames late or dropped while the media clock runs
//! on) is no stall: the playhead kept advancing; that is a render freeze (see `freeze`). A frame
//! stall, once the shortfall qualifies, lasts the whole gap: from the display of the last frame
//! before it to the display of the frame that ended it (the binding stamps a frame with its
//! `expectedDisplayTime`), back-dated to `t − gap`. That is the media pipeline's own stall: Chromium
//! declares the video underflow when the last queued frame reaches the screen (its expected display
//! time, measured 0–17 ms before the CDP `BUFFERING_HAVE_NOTHING`), not when that frame's duration
//! runs out, and `BUFFERING_HAVE_ENOUGH` when the next one does (0–3 ms after it). The shortfall
//! alone reads short when the stream has audio: Chromium keeps the audio clock (the playhead)
//! running 25–90 ms after the video underflows, so measured against the pipeline a shortfall or a
//! `gap − frame duration` rule reads 21–48 ms short with audio; the whole gap is within ~16 ms
//! with or without audio (tests/js/player-qoe.test.mjs, docs/qoe-comparison.md).
//!
//! When eligibility ends (pause, seek, hide, ended, error, exit) a candidate whose time since the
//! last progress already reached the threshold is counted up to that moment; a shorter one is
//! dropped. When eligibility starts again (return to the page, seek done, resumed) the candidate
//! restarts from that moment. A resume after a pause is eligible from its first progress, `playing`
//! or `waiting` (resume latency, like startup, is not a stall). `waiting` alone never makes a
//! stall. Metrics read between observations include a candidate that already reached the threshold
//! as an ongoing stall (counted from the last progress).
//!
//! Time-update fallback (no frame callbacks in this view): progress is an advancing `timeupdate`
//! (rate taken as 1); an ongoing or interrupted stall needs `stall_threshold_ms +
//! timeupdate_period_ms` without progress.

use super::config::QoeConfig;
use super::freeze::Freeze;
use super::metrics::{QoeMetrics, StallRecord};
use super::observation::Observation;
use super::score::{self, P1203Stalls};
use alloc::vec::Vec;

/// Largest accepted time, ms (about year 33 658 as epoch ms).
const MAX_TIME_MS: f64 = 1e15;
/// Largest accepted probe RTT or TTFB, ms.
const MAX_DELAY_MS: f64 = 600_000.0;
/// Largest accepted live-edge distance, s.
const MAX_EDGE_S: f64 = 1e9;

/// `t` if it is a usable time.
fn sane_time(t: f64) -> Option<f64> {
    (t.is_finite() && (0.0..=MAX_TIME_MS).contains(&t)).then_some(t)
}

/// `a / b` when `b > 0` and the result is finite.
fn ratio(a: f64, b: f64) -> Option<f64> {
    if b > 0.0 {
        let r = a / b;
        r.is_finite().then_some(r)
    } else {
        None
    }
}

/// [`ratio`] of a part to its whole, kept within [0, 1] (float sums can overshoot by an ulp).
fn fraction(part: f64, whole: f64) -> Option<f64> {
    ratio(part, whole).map(|r| r.clamp(0.0, 1.0))
}

/// Time integrals over eligible (playing-or-stalled) time.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Acc {
    /// Eligible ms.
    ms: f64,
    /// Ms with a known bitrate, and Σ bitrate × ms.
    br_ms: f64,
    br_sum: f64,
    /// Ms with known sizes; ms upscaled / downscaled; Σ (scale − 1)⁺ × ms; Σ (1 − scale)⁺ × ms.
    dims_ms: f64,
    up_ms: f64,
    down_ms: f64,
    up_sum: f64,
    down_sum: f64,
}

impl Acc {
    fn add(&mut self, dt: f64, bps: Option<f64>, scale: Option<f64>) {
        self.ms += dt;
        if let Some(b) = bps {
            self.br_ms += dt;
            self.br_sum += b * dt;
        }
        if let Some(s) = scale {
            self.dims_ms += dt;
            if s > 1.0 {
                self.up_ms += dt;
                self.up_sum += (s - 1.0) * dt;
            } else if s < 1.0 {
                self.down_ms += dt;
                self.down_sum += (1.0 - s) * dt;
            }
        }
    }

    fn zip(self, o: Acc, f: impl Fn(f64, f64) -> f64) -> Acc {
        Acc {
            ms: f(self.ms, o.ms),
            br_ms: f(self.br_ms, o.br_ms),
            br_sum: f(self.br_sum, o.br_sum),
            dims_ms: f(self.dims_ms, o.dims_ms),
            up_ms: f(self.up_ms, o.up_ms),
            down_ms: f(self.down_ms, o.down_ms),
            up_sum: f(self.up_sum, o.up_sum),
            down_sum: f(self.down_sum, o.down_sum),
        }
    }

    fn minus(self, o: Acc) -> Acc {
        self.zip(o, |a, b| (a - b).max(0.0))
    }

    fn plus(self, o: Acc) -> Acc {
        self.zip(o, |a, b| a + b)
    }

    fn scaled(self, k: f64) -> Acc {
        self.zip(self, |a, _| a * k)
    }
}

/// Count, sum, min, max and last of a sample series.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Stats {
    n: u32,
    sum: f64,
    min: f64,
    max: f64,
    last: f64,
}

impl Stats {
    fn add(&mut self, x: f64) {
        if self.n == 0 {
            self.min = x;
            self.max = x;
        } else {
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
        self.sum += x;
        self.last = x;
        self.n = self.n.saturating_add(1);
    }

    fn some(&self, v: f64) -> Option<f64> {
        (self.n > 0).then_some(v)
    }

    fn mean(&self) -> Option<f64> {
        ratio(self.sum, f64::from(self.n))
    }
}

/// Seek progress.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
enum Seek {
    #[default]
    Idle,
    /// `seeking` seen at the given time, no `seeked` yet.
    Seeking(f64),
    /// `seeked` seen while playing; waiting for the first frame or `playing`.
    Settling(f64),
}

/// Why the view is over.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Exit {
    PageHide,
    SourceChanged,
    Fatal,
}

/// What counts as playhead progress in an observation.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Progress {
    /// A new presented frame, with the playhead advance since the last progress in wall ms.
    Frame(f64),
    /// An advancing `timeupdate` (fallback), with the playhead advance in ms.
    TimeUpdate(f64),
}

/// A running stall candidate.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Candidate {
    /// Last progress (or eligibility start).
    t: f64,
    /// Eligible-time integrals at `t`.
    acc: Acc,
    /// Media position at `t`.
    pos: Option<f64>,
}

/// Stall totals.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Stalls {
    count: u32,
    ms: f64,
    /// Eligible-time integrals that fell inside stalls.
    acc: Acc,
    p1203: P1203Stalls,
}

/// Every scalar of the state machine (copied to evaluate metrics at a later time).
#[derive(Clone, Copy, Debug, Default)]
struct Core {
    cfg: QoeConfig,
    /// Time of the last accepted observation (the clock never goes back).
    t: f64,

    intent: Option<f64>,
    autoplay_blocked: bool,
    preloaded: bool,
    hidden_during_startup: bool,
    paused: bool,
    ended: bool,
    hidden: bool,
    resuming: bool,
    seek: Seek,
    exit: Option<Exit>,

    failure_code: u32,
    startup_failure: bool,
    playback_failure: bool,
    error_count: u32,
    degraded: u32,

    source_attached: Option<f64>,
    load_to_first_frame: Option<f64>,
    first_frame: Option<f64>,
    startup_ms: Option<f64>,
    startup_active_ms: f64,
    playing_mark: Option<f64>,

    frames_seen: bool,
    last_presented: u32,
    last_media_time: Option<f64>,
    /// Playhead at the last presented frame, s.
    frame_pos: Option<f64>,
    tu_pos: Option<f64>,
    position: Option<f64>,

    watch_ms: f64,
    paused_ms: f64,
    hidden_ms: f64,
    acc: Acc,
    bitrate: Option<f64>,
    scale: Option<f64>,
    switch_up: u32,
    switch_down: u32,

    cand: Option<Candidate>,
    stalls: Stalls,
    freeze: Freeze,

    q_base: Option<(u32, u32)>,
    q_valid: bool,
    dropped: u32,
    total: u32,

    seek_count: u32,
    seek_latency: Stats,

    best_probe: Option<(f64, f64)>,
    rtt: Stats,
    latency_raw: Stats,
    edge: Stats,
    ttfb: Stats,
}

impl Core {
    fn new(cfg: QoeConfig, t: f64) -> Core {
        // Everything else starts empty (zero, none, false); the element starts paused.
        Core {
            cfg,
            t,
            paused: true,
            ..Core::default()
        }
    }

    fn in_view(&self) -> bool {
        self.intent.is_some() && self.exit.is_none()
    }

    fn wanted(&self) -> bool {
        self.in_view() && !self.paused && !self.ended
    }

    fn eligible(&self) -> bool {
        self.wanted()
            && self.first_frame.is_some()
            && self.seek == Seek::Idle
            && !self.hidden
            && !self.resuming
    }

    /// Threshold for a candidate ended without progress (or still open).
    fn open_threshold(&self) -> f64 {
        if self.frames_seen {
            self.cfg.stall_threshold_ms
        } else {
            self.cfg.stall_threshold_ms + self.cfg.timeupdate_period_ms
        }
    }

    /// Integrates the current state from `self.t` to `t`.
    fn advance(&mut self, t: f64) {
        let dt = t - self.t;
        if dt > 0.0 && self.in_view() {
            if self.wanted() {
                self.watch_ms += dt;
                if self.first_frame.is_none() {
                    self.startup_active_ms += dt;
                }
            }
            if self.paused && !self.ended {
                self.paused_ms += dt;
            }
            if self.hidden {
                self.hidden_ms += dt;
            }
            if self.eligible() {
                self.acc.add(dt, self.bitrate, self.scale);
            }
        }
        if dt > 0.0 {
            self.t = t;
        }
    }

    fn observe(&mut self, t: f64, obs: Observation) -> Option<StallRecord> {
        let t = sane_time(t)?;
        if self.exit.is_some() {
            return None;
        }
        let t = t.max(self.t);
        self.advance(t);
        let was = self.eligible();
        let progress = self.apply(t, obs);
        let now = self.eligible();
        let mut record = None;
        if was && !now {
            record = self.close_candidate(t, None);
            self.freeze_break(t);
        } else if was && now {
            if let Some(p) = progress {
                record = self.close_candidate(t, Some(p));
                self.open_candidate(t);
            }
        } else if now {
            self.open_candidate(t);
        }
        if now && matches!(progress, Some(Progress::Frame(..))) {
            let (inc, gap) = (self.cfg.freeze_min_increase_ms, self.cfg.freeze_min_gap_ms);
            self.freeze.on_frame(t, inc, gap);
        }
        record
    }

    fn freeze_break(&mut self, t: f64) {
        let (inc, gap) = (self.cfg.freeze_min_increase_ms, self.cfg.freeze_min_gap_ms);
        self.freeze.on_break(t, inc, gap);
    }

    fn open_candidate(&mut self, t: f64) {
        self.cand = Some(Candidate {
            t,
            acc: self.acc,
            pos: self.position,
        });
    }

    /// Ends the running candidate at `t`; returns the stall if it was one.
    fn close_candidate(&mut self, t: f64, progress: Option<Progress>) -> Option<StallRecord> {
        let c = self.cand.take()?;
        let gap = (t - c.t).max(0.0);
        let part = self.acc.minus(c.acc);
        let (duration, threshold, part) = match progress {
            Some(Progress::Frame(advance_ms)) => {
                // The playhead's shortfall decides; the stall is the whole gap between the two
                // frames' displays (see the module docs: the playhead can run on after the
                // picture stopped, with audio).
                if gap - advance_ms < self.cfg.stall_threshold_ms {
                    return None;
                }
                (gap, self.cfg.stall_threshold_ms, part)
            }
            Some(Progress::TimeUpdate(advance_ms)) => {
                let d = (gap - advance_ms).max(0.0);
                let k = ratio(d, gap).unwrap_or(0.0).min(1.0);
                (d, self.cfg.stall_threshold_ms, part.scaled(k))
            }
            None => (gap, self.open_threshold(), part),
        };
        if !(duration >= threshold && duration > 0.0) {
            return None;
        }
        // Ended by progress: the playhead stopped `duration` before it moved again.
        let start_ms = if progress.is_some() {
            t - duration
        } else {
            c.t
        };
        let played_before_ms = c.acc.ms - self.stalls.acc.ms;
        self.stalls
            .p1203
            .add(played_before_ms.max(0.0) / 1000.0, duration / 1000.0);
        self.stalls.count = self.stalls.count.saturating_add(1);
        self.stalls.ms += duration;
        self.stalls.acc = self.stalls.acc.plus(part);
        Some(StallRecord {
            position_s: c.pos,
            start_ms,
            duration_ms: duration,
        })
    }

    fn begin_intent(&mut self, t: f64) {
        if self.intent.is_none() {
            self.intent = Some(t);
            self.preloaded = self.frames_seen;
            if self.hidden {
                self.hidden_during_startup = true;
            }
        }
    }

    /// `play()`: playback wanted again.
    fn resume(&mut self, t: f64) {
        self.begin_intent(t);
        if self.paused && self.first_frame.is_some() {
            self.resuming = true;
        }
        self.paused = false;
        self.ended = false;
    }

    fn finish_seek(&mut self, t: f64) {
        if let Seek::Seeking(s) | Seek::Settling(s) = self.seek {
            self.seek_latency.add((t - s).max(0.0));
        }
        self.seek = Seek::Idle;
    }

    /// The first frame of the view is on screen at `t`, `startup_ms` after the intent.
    fn start(&mut self, t: f64, startup_ms: f64) {
        self.first_frame = Some(t);
        self.startup_ms = Some(startup_ms);
        if self.cfg.p1203_include_initial_loading {
            self.stalls.p1203.add(0.0, startup_ms / 1000.0);
        }
    }

    fn apply(&mut self, t: f64, obs: Observation) -> Option<Progress> {
        match obs {
            Observation::PlayIntent { .. } | Observation::Play => self.resume(t),
            Observation::AutoplayBlocked => {
                self.autoplay_blocked = true;
                self.paused = true;
                self.resuming = false;
                self.playing_mark = None;
            }
            Observation::SourceAttached => {
                if self.load_to_first_frame.is_none() {
                    self.source_attached = Some(t);
                }
            }
            Observation::SourceChanged => self.exit = Some(Exit::SourceChanged),
            Observation::PageHide => self.exit = Some(Exit::PageHide),
            Observation::Pause => {
                self.paused = true;
                self.resuming = false;
                self.playing_mark = None;
                if matches!(self.seek, Seek::Settling(_)) {
                    self.finish_seek(t);
                }
            }
            Observation::Playing => {
                self.begin_intent(t);
                self.paused = false;
                self.ended = false;
                self.playing_mark = Some(t);
                if matches!(self.seek, Seek::Settling(_)) {
                    self.finish_seek(t);
                }
            }
            Observation::Waiting => self.resuming = false,
            Observation::Seeking => {
                self.seek = match self.seek {
                    Seek::Idle => {
                        self.seek_count = self.seek_count.saturating_add(1);
                        Seek::Seeking(t)
                    }
                    Seek::Seeking(s) | Seek::Settling(s) => Seek::Seeking(s),
                };
                self.q_valid = false;
            }
            Observation::Seeked => {
                if let Seek::Seeking(s) = self.seek {
                    if self.wanted() {
                        self.seek = Seek::Settling(s);
                    } else {
                        self.finish_seek(t);
                    }
                }
            }
            Observation::Ended => {
                self.ended = true;
                self.resuming = false;
                self.seek = Seek::Idle;
            }
            Observation::TimeUpdate { position_s } => return self.on_time_update(t, position_s),
            Observation::Frame {
                media_time_s,
                presented_frames,
                position_s,
                playback_rate,
            } => {
                return self.on_frame(t, media_time_s, presented_frames, position_s, playback_rate)
            }
            Observation::Visibility { hidden } => {
                if hidden {
                    self.q_valid = false;
                    if self.intent.is_some() && self.first_frame.is_none() {
                        self.hidden_during_startup = true;
                    }
                }
                self.hidden = hidden;
            }
            Observation::Error { code, fatal } => {
                self.error_count = self.error_count.saturating_add(1);
                if fatal {
                    self.failure_code = u32::from(code);
                    if self.first_frame.is_some() {
                        self.playback_failure = true;
                    } else {
                        self.startup_failure = true;
                    }
                    self.exit = Some(Exit::Fatal);
                }
            }
            Observation::Quality {
                dropped_frames,
                total_frames,
            } => {
                let ok = self.first_frame.is_some() && self.seek == Seek::Idle && !self.hidden;
                if let (true, true, Some((d0, n0))) = (ok, self.q_valid, self.q_base) {
                    // Counters only grow, and no more frames drop than are decoded.
                    if dropped_frames >= d0
                        && total_frames >= n0
                        && dropped_frames - d0 <= total_frames - n0
                    {
                        self.dropped = self.dropped.saturating_add(dropped_frames - d0);
                        self.total = self.total.saturating_add(total_frames - n0);
                    }
                }
                self.q_base = Some((dropped_frames, total_frames));
                self.q_valid = ok;
            }
            Observation::Bitrate { bps } => {
                if bps > 0 {
                    let b = f64::from(bps);
                    match self.bitrate {
                        Some(prev) if b > prev => self.switch_up = self.switch_up.saturating_add(1),
                        Some(prev) if b < prev => {
                            self.switch_down = self.switch_down.saturating_add(1)
                        }
                        _ => {}
                    }
                    self.bitrate = Some(b);
                }
            }
            Observation::Dimensions {
                element_css_w,
                element_css_h,
                device_pixel_ratio,
                video_w,
                video_h,
            } => {
                let all = [
                    element_css_w,
                    element_css_h,
                    device_pixel_ratio,
                    video_w,
                    video_h,
                ];
                self.scale = if all.iter().all(|v| v.is_finite() && *v > 0.0) {
                    let sx = element_css_w * device_pixel_ratio / video_w;
                    let sy = element_css_h * device_pixel_ratio / video_h;
                    let s = sx.min(sy);
                    (s.is_finite() && s > 0.0).then_some(s)
                } else {
                    None
                };
            }
            Observation::TimeSync {
                sent_ms,
                received_ms,
                server_ms,
            } => {
                let rtt = received_ms - sent_ms;
                let offset = server_ms + rtt / 2.0 - received_ms;
                let ok = [sent_ms, received_ms, server_ms]
                    .iter()
                    .all(|v| v.is_finite() && v.abs() <= MAX_TIME_MS)
                    && (0.0..=MAX_DELAY_MS).contains(&rtt);
                if ok {
                    self.rtt.add(rtt);
                    if self.best_probe.is_none_or(|(best, _)| rtt <= best) {
                        self.best_probe = Some((rtt, offset));
                    }
                }
            }
            Observation::FrameProgramTime { program_date_ms } => {
                if sane_time(program_date_ms).is_some_and(|p| p > 0.0) {
                    self.latency_raw.add(t - program_date_ms);
                }
            }
            Observation::LiveEdge { distance_s } => {
                if distance_s.is_finite() && distance_s.abs() <= MAX_EDGE_S {
                    self.edge.add(distance_s);
                }
            }
            Observation::SegmentTtfb { ttfb_ms } => {
                if (0.0..=MAX_DELAY_MS).contains(&ttfb_ms) {
                    self.ttfb.add(ttfb_ms);
                }
            }
            Observation::Degraded { flags } => self.degraded |= flags,
            Observation::Tick => {}
        }
        None
    }

    fn on_frame(
        &mut self,
        t: f64,
        media_time_s: f64,
        presented: u32,
        position_s: f64,
        rate: f64,
    ) -> Option<Progress> {
        let mt = media_time_s.is_finite().then_some(media_time_s);
        // The same picture again (same media time, e.g. the preloaded first frame presented again
        // after play(), or a repeated callback) is no progress.
        if self.frames_seen
            && self.last_media_time == mt
            && (mt.is_some() || self.last_presented == presented)
        {
            self.last_presented = presented;
            return None;
        }
        self.frames_seen = true;
        self.last_presented = presented;
        self.last_media_time = mt;
        if mt.is_some() {
            self.position = mt;
        }
        // The playhead advance since the last frame, in wall-equivalent ms (never negative).
        let pos = if position_s.is_finite() {
            Some(position_s)
        } else {
            mt
        };
        let rate = if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            1.0
        };
        let advance_ms = match (self.frame_pos, pos) {
            (Some(a), Some(b)) if b > a => ((b - a) * 1000.0 / rate).min(MAX_DELAY_MS),
            _ => 0.0,
        };
        if pos.is_some() {
            self.frame_pos = pos;
        }
        if self.load_to_first_frame.is_none() {
            if let Some(s) = self.source_attached {
                self.load_to_first_frame = Some(t - s);
            }
        }
        self.resuming = false;
        if matches!(self.seek, Seek::Settling(_)) {
            self.finish_seek(t);
        }
        // A frame stamped before the intent (times are clamped to the latest seen) was presented
        // before playback was wanted: not the start.
        if self.first_frame.is_none() && self.wanted() && self.intent.is_some_and(|i| t > i) {
            self.start(t, self.startup_active_ms);
        }
        Some(Progress::Frame(advance_ms))
    }

    fn on_time_update(&mut self, t: f64, position_s: f64) -> Option<Progress> {
        if !position_s.is_finite() {
            return None;
        }
        let prev = self.tu_pos.replace(position_s);
        if self.frames_seen {
            return None;
        }
        self.position = Some(position_s);
        let advance_s = position_s - prev?;
        if advance_s <= 0.0 {
            return None;
        }
        self.resuming = false;
        if matches!(self.seek, Seek::Settling(_)) {
            self.finish_seek(t);
        }
        if self.first_frame.is_none() && self.wanted() {
            // Fallback first frame: when the playhead began to move, this update's time less its
            // advance (at rate 1; the update before found it where it started), not before the
            // intent nor the `playing` event (`playing` can fire tens of ms before the first frame
            // moves, when the frame was preloaded).
            let mut shown = (t - advance_s * 1000.0).min(t);
            if let Some(i) = self.intent {
                shown = shown.max(i);
                if let Some(p) = self.playing_mark.filter(|&p| p >= i) {
                    shown = shown.max(p);
                }
            }
            if self.load_to_first_frame.is_none() {
                if let Some(s) = self.source_attached {
                    self.load_to_first_frame = Some((shown - s).max(0.0));
                }
            }
            // Playing since then (first frame back-dated, its time credited to playing time),
            // but never more than the time playback was wanted before now: after an `ended`,
            // the wait for a new play is not watch time, so it cannot be playing time either.
            let back = (t - shown).min(self.startup_active_ms).max(0.0);
            self.start(t, self.startup_active_ms - back);
            self.first_frame = Some(shown);
            if self.eligible() {
                self.acc.add(back, self.bitrate, self.scale);
            }
        }
        Some(Progress::TimeUpdate(advance_s * 1000.0))
    }
}

/// The QoE monitor of one view (one source, from play intent to exit). Feed it observations with
/// their client time (ms, one clock, non-decreasing; earlier times are treated as the latest
/// seen, invalid ones ignored) and read [`QoeMetrics`] at any time. It never panics.
pub struct Monitor {
    core: Core,
    recent: Vec<StallRecord>,
}

impl Monitor {
    /// A monitor created at `now_ms` (page visible, element paused, no play intent yet).
    pub fn new(config: QoeConfig, now_ms: f64) -> Monitor {
        let cfg = config.sanitized();
        Monitor {
            core: Core::new(cfg, sane_time(now_ms).unwrap_or(0.0)),
            recent: Vec::with_capacity(cfg.max_recent_stalls as usize),
        }
    }

    /// The configuration in use (after replacing invalid values by defaults).
    pub fn config(&self) -> &QoeConfig {
        &self.core.cfg
    }

    /// Feeds one observation made at `now_ms`.
    pub fn observe(&mut self, now_ms: f64, obs: Observation) {
        if let Some(stall) = self.core.observe(now_ms, obs) {
            let cap = self.core.cfg.max_recent_stalls as usize;
            if cap > 0 {
                if self.recent.len() >= cap {
                    self.recent.remove(0);
                }
                self.recent.push(stall);
            }
        }
    }

    /// The most recent completed stalls, oldest first (at most `max_recent_stalls`; an ongoing
    /// stall is not listed, see [`QoeMetrics::stall_ongoing`]).
    pub fn recent_stalls(&self) -> &[StallRecord] {
        &self.recent
    }

    /// The stall ongoing at `now_ms`, if any (start back-dated to the last progress, duration so
    /// far).
    pub fn ongoing_stall(&self, now_ms: f64) -> Option<StallRecord> {
        let m = self.metrics(now_ms);
        let c = self.core.cand?;
        m.stall_ongoing.then_some(StallRecord {
            position_s: c.pos,
            start_ms: c.t,
            duration_ms: m.stall_ongoing_ms,
        })
    }

    /// When the binding should deliver a [`Observation::Tick`] (client ms) so that a stall or a
    /// render freeze developing now is detected on time: the earliest of last progress + stall
    /// threshold and last frame + each freeze threshold, among those still ahead. `None` when
    /// nothing is developing (not playing, or already detected).
    pub fn next_deadline_ms(&self) -> Option<f64> {
        let c = &self.core;
        if !c.eligible() {
            return None;
        }
        let mut best: Option<f64> = None;
        let mut consider = |x: f64| {
            if x > c.t && best.is_none_or(|b| x < b) {
                best = Some(x);
            }
        };
        if let Some(cand) = c.cand {
            consider(cand.t + c.open_threshold());
        }
        if let Some(base) = c.freeze.base {
            consider(base + c.cfg.freeze_min_gap_ms);
            if let Some(thr) = c.freeze.webrtc_threshold(c.cfg.freeze_min_increase_ms) {
                consider(base + thr);
            }
        }
        best
    }

    /// The metrics as of `now_ms` (intervals still open count up to `now_ms`; after the view is
    /// over, up to its end). Reading does not change the monitor.
    pub fn metrics(&self, now_ms: f64) -> QoeMetrics {
        let mut c = self.core;
        let now = match sane_time(now_ms) {
            Some(t) if c.exit.is_none() => t.max(c.t),
            _ => c.t,
        };
        c.advance(now);
        let mut ongoing = None;
        if c.eligible() {
            let start = c.cand.map(|k| k.t);
            if c.close_candidate(now, None).is_some() {
                ongoing = start.map(|s| now - s);
            }
            c.freeze_break(now);
        }

        let playing = c.acc.minus(c.stalls.acc);
        let playing_ms = playing.ms;
        // Stall time lies inside watch time; sums of many intervals can differ by an ulp.
        let stall_ms = c.stalls.ms.min(c.watch_ms);
        let count = c.stalls.count;
        let rebuffer_ratio_watch = fraction(stall_ms, c.watch_ms);
        let offset = c.best_probe.map(|(_, o)| o);
        let off = offset.unwrap_or(0.0);
        let lat = &c.latency_raw;
        let impact = c.stalls.p1203.stalling_impact(playing_ms / 1000.0);

        QoeMetrics {
            startup_ms: c.startup_ms,
            load_to_first_frame_ms: c.load_to_first_frame,
            started: c.first_frame.is_some(),
            autoplay_blocked: c.autoplay_blocked,
            preloaded: c.preloaded,
            hidden_during_startup: c.hidden_during_startup,
            exit_before_start: c.intent.is_some()
                && c.first_frame.is_none()
                && !c.startup_failure
                && (c.hidden || matches!(c.exit, Some(Exit::PageHide | Exit::SourceChanged))),
            startup_failure: c.startup_failure,
            playback_failure: c.playback_failure,
            failure_code: c.failure_code,
            error_count: c.error_count,
            degraded: c.degraded,
            ended: c.ended,

            stall_count: count,
            stall_ms,
            stall_ongoing: ongoing.is_some(),
            stall_ongoing_ms: ongoing.unwrap_or(0.0),
            rebuffer_ratio: fraction(stall_ms, playing_ms + stall_ms),
            rebuffer_ratio_watch,
            stall_frequency_per_min: ratio(f64::from(count), playing_ms / 60_000.0),

            freeze_count: c.freeze.count,
            freeze_ms: c.freeze.ms,
            freeze_500_count: c.freeze.count_500,
            freeze_500_ms: c.freeze.ms_500,

            dropped_frames: c.dropped,
            total_frames: c.total,
            dropped_frame_ratio: fraction(f64::from(c.dropped), f64::from(c.total)),

            seek_count: c.seek_count,
            seek_latency_last_ms: c.seek_latency.some(c.seek_latency.last),
            seek_latency_mean_ms: c.seek_latency.mean(),
            seek_latency_max_ms: c.seek_latency.some(c.seek_latency.max),

            clock_offset_ms: offset,
            rtt_last_ms: c.rtt.some(c.rtt.last),
            rtt_min_ms: c.rtt.some(c.rtt.min),
            latency_last_ms: lat.some(lat.last + off),
            latency_mean_ms: lat.mean().map(|m| m + off),
            latency_min_ms: lat.some(lat.min + off),
            latency_max_ms: lat.some(lat.max + off),
            latency_samples: lat.n,
            live_edge_last_s: c.edge.some(c.edge.last),
            live_edge_mean_s: c.edge.mean(),
            segment_ttfb_mean_ms: c.ttfb.mean(),
            segment_ttfb_count: c.ttfb.n,

            bitrate_switch_up: c.switch_up,
            bitrate_switch_down: c.switch_down,
            bitrate_last_bps: c.bitrate,
            bitrate_mean_bps: ratio(playing.br_sum, playing.br_ms),
            upscale_ms: playing.up_ms,
            downscale_ms: playing.down_ms,
            upscale_mean: ratio(playing.up_sum, playing.dims_ms),
            downscale_mean: fraction(playing.down_sum, playing.dims_ms),

            watch_ms: c.watch_ms,
            playing_ms,
            hidden_ms: c.hidden_ms,
            paused_ms: c.paused_ms,

            p1203_stall_impact: impact,
            p1203_o23: impact.map(|si| 1.0 + 4.0 * si),
            mux_startup_score: c.startup_ms.and_then(score::mux_startup_score),
            mux_smoothness_score: rebuffer_ratio_watch
                .and_then(|r| score::mux_smoothness_score(count, r)),
        }
    }
}
