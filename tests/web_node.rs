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

// ----- insight bindings: scorecards, Timeline, Debrief -----

mod insight {
    use livekpi::web::console::{generate_events_ndjson, Room};
    use livekpi::web::insight::{Debrief, Timeline};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_test::*;

    const START: f64 = 1_764_072_000_000.0;
    const END: f64 = START + 120.0 * 60_000.0;

    fn obj(json: &str) -> JsValue {
        js_sys::JSON::parse(json).unwrap()
    }

    fn room_and_timeline(seed: u32) -> (Room, Timeline) {
        let text = generate_events_ndjson(
            obj(&format!(
                r#"{{"seed":{seed},"streamStartMs":{START},"durationMin":120,"arrivals":2000}}"#
            ))
            .unchecked_into(),
        )
        .unwrap();
        let opts = format!(r#"{{"streamStartMs":{START},"streamEndMs":{END}}}"#);
        let mut room = Room::new(obj(&opts).unchecked_into()).unwrap();
        room.ingest_ndjson(&text).unwrap();
        let mut t = Timeline::new(obj(&opts).unchecked_into()).unwrap();
        assert!(t.ingest_ndjson(&text) > 1000);
        (room, t)
    }

    #[wasm_bindgen_test]
    fn scorecards_and_debrief_cross_as_json() {
        let (room, t) = room_and_timeline(4);
        let cards: serde_json::Value =
            serde_json::from_str(&room.scorecards_json(END, None, None).unwrap()).unwrap();
        let cards = cards.as_array().unwrap();
        assert_eq!(cards.len(), 3);
        assert_eq!(cards[2]["role"], "field_control");
        assert!(cards[0]["notes"][0]
            .as_str()
            .unwrap()
            .contains("no player summaries yet"));
        let with_qoe = room
            .scorecards_json(
                END,
                Some(
                    obj(r#"{"first_frame_ms":800,"stall_rate":0.005,"latency_ms":2500}"#)
                        .unchecked_into(),
                ),
                None,
            )
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&with_qoe).unwrap();
        assert_eq!(v[1]["missing"].as_array().unwrap().len(), 0);

        let (prev, _) = room_and_timeline(3);
        let mut d = Debrief::new(&room, END, None).unwrap();
        d.set_timeline(&t);
        d.set_previous(&prev, END).unwrap();
        let r: serde_json::Value = serde_json::from_str(&d.json().unwrap()).unwrap();
        assert_eq!(r["moments"].as_array().unwrap().len(), 5);
        assert_eq!(r["review"]["has_previous"], true);
        assert!(
            r["moments"][0]["around"]["red_packet_claims"]
                .as_i64()
                .unwrap()
                > 0
        );
    }

    #[wasm_bindgen_test]
    fn insight_errors_name_the_field() {
        let (room, _) = room_and_timeline(5);
        let bad_cfg = obj(
            r#"{"cap":1.2,"roles":[{"role":"x","title":"X","items":[{"kpi":"gmv_fen","weight":1,"target":0}]}]}"#,
        );
        let e = room
            .scorecards(END, None, Some(bad_cfg.unchecked_into()))
            .err()
            .unwrap();
        let err: js_sys::Error = e.dyn_into().unwrap();
        assert_eq!(String::from(err.name()), "LivekpiError");
        assert!(String::from(err.message()).contains("roles[0].items[0].target"));
        let e = Timeline::new(obj(r#"{"streamEndMs":1}"#).unchecked_into())
            .err()
            .unwrap();
        let err: js_sys::Error = e.dyn_into().unwrap();
        assert!(String::from(err.message()).contains("`streamStartMs` is required"));
        let mut d = Debrief::new(&room, END, None).unwrap();
        let e = d
            .set_plan(obj(r#"{"targets":[{"kpi":"bogus","target":1}]}"#).unchecked_into())
            .err()
            .unwrap();
        let err: js_sys::Error = e.dyn_into().unwrap();
        assert!(String::from(err.message()).contains("plan.targets[0].kpi"));
    }
}
