//! livekpi: live-commerce room KPIs (`console`) and viewer QoE (`player`).
//!
//! The core modules know nothing of the browser: time comes in as numbers (ms), randomness as
//! arguments. The only place with `wasm_bindgen`, `js_sys` and `web_sys` is [`web`], compiled for
//! `wasm32` only.
#![warn(missing_docs)]
// The player-only wasm build has no standard library (size: no formatting or panic messages).
#![cfg_attr(all(target_arch = "wasm32", not(feature = "std"), not(test)), no_std)]

extern crate alloc;

pub mod cmcd;
pub mod ids;
#[cfg(feature = "console")]
pub mod insight;
#[cfg(feature = "console")]
pub mod kpi;
pub(crate) mod math;
pub mod qoe;
#[cfg(feature = "console")]
pub mod sentiment;
pub mod summary;
#[cfg(feature = "console")]
pub mod tape;

#[cfg(target_arch = "wasm32")]
pub mod web;
