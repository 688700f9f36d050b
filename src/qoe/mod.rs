//! Viewer quality of experience (QoE): the playback state machine and its metrics.
//!
//! Pure Rust, no browser types: a binding turns media-element events, `requestVideoFrameCallback`
//! frames, visibility changes and player-library callbacks into [`Observation`]s with a client
//! time in ms, feeds them to a [`Monitor`], schedules a [`Observation::Tick`] at
//! [`Monitor::next_deadline_ms`], and reads [`QoeMetrics`]. Definitions are on each metric field
//! and in the module docs of `monitor` (stall rule), `freeze` and `score`.
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
pub use metrics::{QoeMetrics, StallRecord};
pub use monitor::Monitor;
pub use observation::Observation;
pub use score::{
    mux_smoothness_score, mux_startup_score, P1203_C_REF7, P1203_C_REF8, P1203_S1, P1203_S2,
    P1203_S3,
};
