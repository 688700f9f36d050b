//! Binding tests under wasm-bindgen-test in Node (`cargo test --target wasm32-unknown-unknown`).
#![cfg(target_arch = "wasm32")]

use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

#[wasm_bindgen_test]
fn session_ids_are_fresh_32_digit_hex() {
    let a = livekpi::web::player::new_session_id().expect("CSPRNG available in Node");
    let b = livekpi::web::player::new_session_id().expect("CSPRNG available in Node");
    assert_eq!(a.len(), 32);
    assert!(a
        .bytes()
        .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
    assert_ne!(a, b, "two draws of 128 random bits must differ");
}

#[wasm_bindgen_test]
fn errors_cross_as_js_error_objects_with_code() {
    let v = livekpi::web::error::js_error("bad_field", "ingest: field `ts` is NaN");
    let err: js_sys::Error = v.clone().dyn_into().expect("a real Error, not a string");
    assert_eq!(String::from(err.name()), "LivekpiError");
    assert_eq!(String::from(err.message()), "ingest: field `ts` is NaN");
    let code = js_sys::Reflect::get(&v, &"code".into()).unwrap();
    assert_eq!(code.as_string().as_deref(), Some("bad_field"));
}

#[wasm_bindgen_test]
fn build_features_name_the_entry() {
    assert_eq!(livekpi::web::build_features(), "player+console");
    assert_eq!(livekpi::web::version(), env!("CARGO_PKG_VERSION"));
}
