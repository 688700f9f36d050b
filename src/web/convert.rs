//! Conversions shared by the console-side bindings.

use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::error::js_error;

/// Serializes a core value to a plain JS object (maps as objects, JSON-compatible), typed as `J`.
pub(crate) fn to_js<T: Serialize, J: JsCast>(value: &T) -> Result<J, JsValue> {
    let ser = serde_wasm_bindgen::Serializer::json_compatible();
    value
        .serialize(&ser)
        .map(JsCast::unchecked_into)
        .map_err(|e| js_error("serialize", &e.to_string()))
}
