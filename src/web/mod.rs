//! The binding layer: the only place with `wasm_bindgen`, `js_sys` and `web_sys`.
//!
//! It converts JS values to core types, validates them, and hands them over. Errors cross as JS
//! `Error` objects whose message names the field (see [`error`]). Nothing here computes a metric.

use alloc::string::String;
use wasm_bindgen::prelude::*;

/// The `no_std` player build's panic handler: trap at once (no message formatting). The core
/// never panics on external input; a trap means a bug, and the JS entry then stays inert.
#[cfg(all(not(feature = "std"), not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

#[cfg(feature = "console")]
pub mod collector;
#[cfg(feature = "console")]
pub mod console;
#[cfg(feature = "console")]
mod convert;
pub mod error;
#[cfg(feature = "console")]
pub mod insight;
#[cfg(feature = "player")]
pub mod player;
#[cfg(feature = "player")]
pub mod uplink;

/// The version of the livekpi crate this module was built from (`Cargo.toml` `package.version`).
#[wasm_bindgen(js_name = version)]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").into()
}

/// Which entry this module was built as: `"player"`, `"console"`, or `"player+console"` (tests).
#[wasm_bindgen(js_name = buildFeatures)]
pub fn build_features() -> String {
    let player = cfg!(feature = "player");
    let console = cfg!(feature = "console");
    match (player, console) {
        (true, true) => "player+console",
        (true, false) => "player",
        (false, true) => "console",
        (false, false) => "core",
    }
    .into()
}
