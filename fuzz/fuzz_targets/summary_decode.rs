//! `livekpi::summary::decode` on arbitrary bytes.
//!
//! Invariants: never panics; an error has a code, number, field and message; an accepted summary
//! re-encodes to a message that decodes to the same summary, re-encodes to the same bytes
//! (canonical form), is no longer than the input, and has a JSON debug form that parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use livekpi::summary::{decode, encode, to_json, MAX_MESSAGE_BYTES};

fuzz_target!(|data: &[u8]| {
    let s = match decode(data) {
        Ok(s) => s,
        Err(e) => {
            assert!(!e.code().is_empty() && !e.field().is_empty() && !e.message().is_empty());
            assert!((1..=13).contains(&e.number()));
            let _ = e.to_string();
            return;
        }
    };
    assert!(data.len() <= MAX_MESSAGE_BYTES);
    let mut once = Vec::new();
    encode(&s, &mut once);
    let s2 = decode(&once).unwrap_or_else(|e| panic!("re-encoded summary rejected: {e}"));
    assert_eq!(s, s2, "decode(encode(s)) != s");
    let mut twice = Vec::new();
    encode(&s2, &mut twice);
    assert_eq!(once, twice, "encoding is not canonical");
    assert!(
        once.len() <= data.len(),
        "canonical form ({} bytes) longer than the input ({} bytes)",
        once.len(),
        data.len()
    );
    let json = to_json(&s);
    let v: serde_json::Value = serde_json::from_str(&json).expect("JSON debug form parses");
    assert_eq!(v["seq"].as_u64(), Some(u64::from(s.seq)));
    assert_eq!(v["room_id"].as_str(), Some(s.room_id));
});
