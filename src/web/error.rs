//! One conversion from core errors to JS `Error` objects.
//!
//! A thrown value is always a real `Error` (never a string) with `name = "LivekpiError"`, a stable
//! `code` property and a message that names the offending field.

use wasm_bindgen::prelude::*;

/// Builds a JS `Error` with `name = "LivekpiError"`, the stable `code` and `message`.
pub fn js_error(code: &str, message: &str) -> JsValue {
    let err = js_sys::Error::new(message);
    err.set_name("LivekpiError");
    // Setting a property on a fresh Error object cannot fail; ignore the Result either way.
    let _ = js_sys::Reflect::set(&err, &JsValue::from_str("code"), &JsValue::from_str(code));
    err.into()
}
