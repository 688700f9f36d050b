//! The binding layer: the only place with `wasm_bindgen`, `js_sys` and `web_sys`.
//!
//! It converts JS values to core types, validates them, and hands them over. Errors cross as JS
//! `Error` objects whose message names the field (see [`error`]). Nothing here computes a metric.

use wasm_bindgen::prelude::*;

#[cfg(feature = "console")]
pub mod console;
pub mod error;
#[cfg(feature = "player")]
pub mod player;

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
