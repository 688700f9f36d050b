//! Viewer quality of experience (QoE): the playback state machine and its metrics.
//!
//! Pure Rust, no browser types: a binding turns media-element events, `requestVideoFrameCallback`
//! frames, visibility changes and player-library callbacks into [`Observation`]s with a client
//! time in ms, feeds them to a [`Monitor`], schedules a [`Observation::Tick`] at
//! [`Monitor::next_deadline_ms`], and reads [`QoeMetrics`]. Definitions are on each metric field
//! and in the module docs of `monitor` (stall rule), `freeze` and `score`.
//!
//! Binding contract:
//! - one [`Monitor`] per view (source); after [`Observation::SourceChanged`], [`Observation::PageHide`]
//!   or a fatal [`Observation::Error`] it ignores everything, read its metrics and make a new one;
//! - all times on one client clock in ms, non-decreasing (earlier ones are taken as the latest
//!   seen); use an epoch clock (`performance.timeOrigin + performance.now()`) so that time-sync
//!   probes and program-date-times compare; a `Frame` carries the rVFC `expectedDisplayTime` as its time;
//! - send `PlayIntent` when `play()` is called or autoplay is attempted (a `play`/`playing` event
//!   without one also starts the view), then media events as they fire, `Frame` from
//!   `requestVideoFrameCallback` (otherwise `TimeUpdate` is the progress signal), visibility,
//!   `Quality` samples whenever convenient (deltas are gated by the monitor), and a `Tick` at
//!   [`Monitor::next_deadline_ms`] (re-read it after every observation);
//! - [`Monitor::metrics`] is a pure read and is consistent whether or not ticks were delivered.
#![forbid(unsafe_code)]

mod config;
mod freeze;
mod metrics;
mod monitor;
mod observation;
mod score;
#[cfg(test)]
mod tests;

pub use config::QoeConfig;
pub use metrics::{
    QoeMetrics, StallRecord, DEGRADED_CLOCK_PATCHED, DEGRADED_ELEMENT_REMOVED, DEGRADED_FAULT,
    DEGRADED_NAMES, DEGRADED_NO_BEACON, DEGRADED_NO_FRAME_CALLBACKS, DEGRADED_NO_PLAYBACK_QUALITY,
    DEGRADED_NO_RESIZE_OBSERVER, DEGRADED_NO_STORAGE, DEGRADED_NO_TIME_SYNC,
};
pub use monitor::Monitor;
pub use observation::Observation;
pub use score::{
    mux_smoothness_score, mux_startup_score, P1203_C_REF7, P1203_C_REF8, P1203_S1, P1203_S2,
    P1203_S3,
};
