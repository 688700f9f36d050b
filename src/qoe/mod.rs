//! Viewer quality of experience (QoE): the playback state machine and its metrics.
#![forbid(unsafe_code)]
