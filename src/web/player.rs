//! `livekpi/player` bindings: numbers, strings and byte arrays only (no serde, no formatting).

use wasm_bindgen::prelude::*;

use super::error::js_error;

/// A fresh viewing-session id: 128 bits from the platform CSPRNG (`crypto.getRandomValues`) as
/// 32 lowercase hex digits. Throws `LivekpiError` (code `random_unavailable`) when no CSPRNG exists.
#[wasm_bindgen(js_name = newSessionId)]
pub fn new_session_id() -> Result<String, JsValue> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| {
        js_error(
            "random_unavailable",
            "newSessionId: crypto.getRandomValues is not available",
        )
    })?;
    Ok(crate::ids::session_id_from_bytes(&bytes))
}
