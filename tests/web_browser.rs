//! Binding tests under wasm-bindgen-test in headless Chromium (chromedriver).
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn session_ids_come_from_the_browser_csprng() {
    // In a page, getrandom reaches `crypto.getRandomValues` through its wasm_js backend.
    let ids: Vec<String> = (0..64)
        .map(|_| livekpi::web::player::new_session_id().expect("crypto available in Chromium"))
        .collect();
    for id in &ids {
        assert_eq!(id.len(), 32);
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len());
    // 64 × 128 bits: each hex digit position must see more than one value.
    assert!((0..32).all(|i| ids.iter().any(|s| s.as_bytes()[i] != ids[0].as_bytes()[i])));
}

#[wasm_bindgen_test]
fn runs_in_a_window_with_a_document() {
    let global = js_sys::global();
    let document = js_sys::Reflect::get(&global, &"document".into()).unwrap();
    assert!(
        document.is_object(),
        "run_in_browser must give a page with a document"
    );
}
