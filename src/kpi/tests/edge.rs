//! One hand-built scenario per edge rule, with exact numbers.

use super::*;

#[test]
fn kpi_rule1_minutes_and_totals() {
    // 3-minute stream. Events before the start and after the end count in totals only.
    let mut r = room(3);
    let c = |id: &str, off| {
        ev(id, off, EventType::ProductClick)
            .viewer("a")
            .product("p")
    };
    feed(
        &mut r,
        &[
            c("1", -S),          // before start: totals only
            c("2", 0),           // minute 0
            c("3", MIN),         // exactly at a minute start: minute 1
            c("4", MIN - 1),     // minute 0
            c("5", 3 * MIN),     // exactly at the end: last minute (2)
            c("6", 3 * MIN + 1), // after the end: totals only
        ],
    );
    let s = r.snapshot(T0 + 10 * MIN);
    assert!(s.ended);
    assert_eq!(s.minutes, 3);
    assert_eq!(s.process.clicks, 6);
    let per: Vec<i64> = s.scene.minutes.iter().map(|m| m.clicks).collect();
    assert_eq!(per, vec![2, 1, 1]);
    // money is integer fen
    let mut r = room(3);
    feed(&mut r, &[paid("1", 0, "a", "o1", "p", 1999)]);
    assert_eq!(r.snapshot(T0 + 3 * MIN).result.gmv_fen, 1999);
}

#[test]
fn kpi_rule1_end_fold_when_end_unknown() {
    // The end is only known later; an event exactly at the end still lands in the last minute.
    let mut r = Room::new(RoomConfig::new(T0));
    feed(
        &mut r,
        &[
            ev("1", 2 * MIN, EventType::Like).viewer("a"),
            ev("2", 2 * MIN + 5, EventType::Like).viewer("b"),
            ev("3", MIN + 5, EventType::Like).viewer("b"),
        ],
    );
    let live = r.snapshot(T0 + 2 * MIN + 30 * S);
    assert_eq!(live.minutes, 3);
    assert_eq!(live.scene.minutes[2].interaction_people, 2);
    r.end_stream(T0 + 2 * MIN);
    let s = r.snapshot(T0 + 2 * MIN);
    assert_eq!(s.minutes, 2);
    // minute 1 gets b (at 1:00.005) and a (exactly at the end); b at 2:00.005 is outside.
    assert_eq!(s.scene.minutes[1].interaction_people, 2);
    assert_eq!(s.scene.minutes[1].interaction_events, 2);
    assert_eq!(s.process.interaction_events, 3);
}

/// The session scenario of edge rule 2 (stream of 3 minutes).
fn sessions() -> Vec<Event> {
    vec![
        // s1 (a): leave at 30 s wins over a later heartbeat
        enter("1", 0, "a", "s1"),
        leave("2", 30 * S, "a", "s1"),
        hb("3", 50 * S, "a", "s1"),
        // s2 (b): no leave, last heartbeat 70 s -> ends 130 s
        enter("4", 10 * S, "b", "s2"),
        hb("5", 20 * S, "b", "s2"),
        hb("6", 70 * S, "b", "s2"),
        // s3 (c): no heartbeat, no leave -> enter + 60 s = 160 s
        enter("7", 100 * S, "c", "s3"),
        // s4 (d): heartbeat 175 s -> 235 s capped at the end (180 s)
        enter("8", 170 * S, "d", "s4"),
        hb("9", 175 * S, "d", "s4"),
        // s5 (a again): enters exactly when s2 ends (netted), leaves at 140 s
        enter("10", 130 * S, "a", "s5"),
        leave("11", 140 * S, "a", "s5"),
    ]
}

#[test]
fn kpi_rule2_sessions_pcu_acu() {
    let mut r = room(3);
    feed(&mut r, &sessions());
    let s = r.snapshot(T0 + 3 * MIN);
    let p = &s.process;
    assert_eq!(p.viewers, 4);
    assert_eq!(p.entries, 5);
    // watch: s1 30 s + s2 120 s + s3 60 s + s4 10 s + s5 10 s
    assert_eq!(p.watch_ms_total, 230_000);
    assert_eq!(p.avg_watch_ms.value, Some(57_500.0));
    // PCU 2 (at 10 s); at 130 s the -1 and +1 are netted, never 3
    assert_eq!(p.pcu, 2);
    assert_eq!(p.pcu_at_ms, Some(T0 + 10 * S));
    // concurrency at minute starts: 1 (s1), 1 (s2), 2 (s2, s3)
    let starts: Vec<i64> = s
        .scene
        .minutes
        .iter()
        .map(|m| m.concurrency_at_start)
        .collect();
    assert_eq!(starts, vec![1, 1, 2]);
    assert_eq!(
        (
            p.acu_first_instant.numerator,
            p.acu_first_instant.denominator
        ),
        (4, 3)
    );
    assert_eq!(
        (
            p.acu_time_weighted.numerator,
            p.acu_time_weighted.denominator
        ),
        (230_000, 180_000)
    );
    // rule 3: online = distinct viewers present during the minute
    let online: Vec<i64> = s.scene.minutes.iter().map(|m| m.online).collect();
    assert_eq!(online, vec![2, 2, 4]);
    // rule 10: per-viewer watch a 40 s, b 120 s, c 60 s, d 10 s; nearest rank
    assert_eq!(p.watch_median_ms, Some(40_000));
    assert_eq!(p.watch_p90_ms, Some(120_000));
}

#[test]
fn kpi_rule2_half_open_and_netting() {
    // a: [0, 60 s), b: [60 s, 120 s): never 2 at once (half-open), PCU 1.
    let mut r = room(2);
    feed(
        &mut r,
        &[
            enter("1", 0, "a", "s1"),
            leave("2", MIN, "a", "s1"),
            enter("3", MIN, "b", "s2"),
            leave("4", 2 * MIN, "b", "s2"),
        ],
    );
    let s = r.snapshot(T0 + 2 * MIN);
    assert_eq!(s.process.pcu, 1);
    let online: Vec<i64> = s.scene.minutes.iter().map(|m| m.online).collect();
    assert_eq!(online, vec![1, 1]);
    let starts: Vec<i64> = s
        .scene
        .minutes
        .iter()
        .map(|m| m.concurrency_at_start)
        .collect();
    assert_eq!(starts, vec![1, 1]);
}

#[test]
fn kpi_rule2_live_snapshot_caps_at_now() {
    let mut r = Room::new(RoomConfig::new(T0));
    feed(
        &mut r,
        &[enter("1", 0, "a", "s1"), hb("2", 30 * S, "a", "s1")],
    );
    let s = r.snapshot(T0 + 40 * S);
    assert!(!s.ended);
    assert_eq!(s.minutes, 1);
    assert_eq!(s.process.watch_ms_total, 40_000);
    assert_eq!(s.process.pcu, 1);
    // quantiles use the provisional end (last heartbeat + 60 s)
    assert_eq!(s.process.watch_median_ms, Some(90_000));
}

#[test]
fn kpi_rule4_interactions() {
    let mut r = room(10);
    let v = |id: &str, k, who: &str| ev(id, S, k).viewer(who);
    feed(
        &mut r,
        &[
            enter("1", 0, "a", "s1"),
            enter("2", 0, "b", "s2"),
            enter("3", 0, "c", "s3"),
            enter("4", 0, "d", "s4"),
            v("5", EventType::Like, "a").count(30),
            v("6", EventType::Comment, "b").text("hi"),
            v("7", EventType::Gift, "c").amount(100),
            v("8", EventType::Follow, "d"),
            v("9", EventType::FanClubJoin, "d"),
            v("10", EventType::RedPacketClaim, "c"),
            v("11", EventType::Vote, "c").option("x"),
            // rule 5: a non-viewer's share still counts in the numerator
            v("12", EventType::Share, "z"),
        ],
    );
    let p = r.snapshot(T0 + 10 * MIN).process;
    assert_eq!(p.interaction_people, 3);
    assert_eq!(p.interaction_events, 3);
    assert_eq!(p.likes, 30);
    assert_eq!(
        (p.interaction_rate.numerator, p.interaction_rate.denominator),
        (3, 4)
    );
    assert_eq!(p.follow_rate.value, Some(0.25));
    assert_eq!(p.fan_club_rate.value, Some(0.25));
}

#[test]
fn kpi_rule5_null_rates_and_unrestricted_numerators() {
    let r = room(10);
    let s = r.snapshot(T0 + 10 * MIN);
    assert_eq!(s.result.aov.value, None);
    assert_eq!(s.result.gpm.value, None);
    assert_eq!(s.process.interaction_rate.value, None);
    assert_eq!(s.process.acu_time_weighted.value, Some(0.0));
    assert_eq!(s.process.watch_median_ms, None);
    let j = json(&s);
    assert!(j["result"]["aov"]["value"].is_null());
    // a buyer who never clicked counts in buyers / clickers
    let mut r = room(10);
    feed(
        &mut r,
        &[
            enter("1", 0, "a", "s1"),
            ev("2", S, EventType::ProductClick).viewer("b").product("p"),
            paid("3", 2 * S, "a", "o1", "p", 100),
        ],
    );
    let p = r.snapshot(T0 + 10 * MIN).process;
    assert_eq!(
        (
            p.click_purchase_rate.numerator,
            p.click_purchase_rate.denominator
        ),
        (1, 1)
    );
}

#[test]
fn kpi_rule6_funnel_three_variants() {
    let mut r = room(10);
    let x = |id: &str, who: &str| ev(id, 0, EventType::RoomExposure).viewer(who);
    let imp = |id: &str, who: &str| {
        ev(id, S, EventType::ProductImpression)
            .viewer(who)
            .product("p")
    };
    feed(
        &mut r,
        &[
            x("1", "p1"),
            x("2", "p1"),
            x("3", "p2"),
            enter("4", S, "p1", "s1"),
            enter("5", S, "p3", "s3"), // direct entrant
            enter("6", 2 * S, "p3", "s4"),
            imp("7", "p1"),
            imp("8", "p3"),
            imp("9", "p3"),
            ev("10", 2 * S, EventType::ProductClick)
                .viewer("p3")
                .product("p"),
            paid("11", 3 * S, "p3", "o1", "p", 500),
            paid("12", 3 * S, "p4", "o2", "p", 500),
        ],
    );
    let f = r.snapshot(T0 + 10 * MIN).funnel;
    let people: Vec<i64> = f.steps.iter().map(|s| s.people).collect();
    let nested: Vec<i64> = f.steps.iter().map(|s| s.nested_people).collect();
    let count: Vec<i64> = f.steps.iter().map(|s| s.count).collect();
    assert_eq!(people, vec![2, 2, 2, 1, 2]);
    assert_eq!(nested, vec![2, 1, 1, 0, 0]);
    assert_eq!(count, vec![3, 3, 3, 1, 2]);
    assert!(f.steps[0].rate.is_none());
    assert_eq!(
        f.steps[4].rate.map(|r| (r.numerator, r.denominator)),
        Some((2, 1))
    );
    assert_eq!(f.steps[2].nested_rate.and_then(|r| r.value), Some(1.0));
}

#[test]
fn kpi_rule7_orders_refunds_gpm() {
    let mut r = room(10);
    feed(
        &mut r,
        &[
            enter("1", 0, "a", "s1"),
            leave("2", 10 * S, "a", "s1"),
            enter("3", 20 * S, "a", "s2"), // re-entry counts in GPM's entries
            enter("4", 0, "b", "s3"),
            paid("5", 30 * S, "a", "o1", "p", 10_000),
            paid("6", 90 * S, "a", "o1", "p", 10_000), // paid twice: once
            ev("7", 40 * S, EventType::Refund).order("o3").amount(1_000), // before its payment
            paid("8", 50 * S, "b", "o2", "q", 5_000),
            paid("9", 2 * MIN, "b", "o3", "q", 1_000),
            ev("10", 20 * MIN, EventType::Refund)
                .order("o1")
                .amount(4_000), // after the end
            ev("11", 5 * MIN, EventType::Refund).order("o9").amount(500), // unknown order
        ],
    );
    let s = r.snapshot(T0 + 30 * MIN);
    let x = &s.result;
    assert_eq!(x.gmv_fen, 16_000);
    assert_eq!(x.orders, 3);
    assert_eq!(x.buyers, 2); // a refunded but stays a buyer
    assert_eq!(x.aov.value, Some(8_000.0));
    assert_eq!(
        (x.aov_per_order.numerator, x.aov_per_order.denominator),
        (16_000, 3)
    );
    assert_eq!(
        (x.gpm.numerator, x.gpm.denominator, x.gpm.scale),
        (16_000, 3, 1000)
    );
    assert_eq!(x.uv_value.value, Some(8_000.0));
    assert_eq!(x.refund_fen, 5_000);
    assert_eq!(x.refunds, 2);
    assert_eq!(x.refunded_orders, 2);
    assert_eq!(
        (x.refund_rate.numerator, x.refund_rate.denominator),
        (5_000, 16_000)
    );
    assert_eq!(x.unknown_order_refund_fen, 500);
    assert_eq!(x.unknown_order_refunds, 1);
    assert_eq!(s.stats.repeat_payments, 1);
    // orders by payment time: minute 0 has o1 and o2, minute 2 has o3
    let per: Vec<i64> = s.scene.minutes.iter().map(|m| m.orders).collect();
    assert_eq!(&per[..3], &[2, 0, 1]);
    let q = s.goods.iter().find(|g| g.product == "q").expect("q");
    assert_eq!((q.gmv_fen, q.refund_fen), (6_000, 1_000));
}

#[test]
fn kpi_rule8_new_vs_returning() {
    let day = 86_400_000;
    let mut r = room(60);
    feed(
        &mut r,
        &[
            enter("1", 0, "exact", "s1").follower_since(T0 - day), // exactly 1 day: returning
            enter("2", 0, "short", "s2").follower_since(T0 - day + 1), // new
            enter("3", 0, "seen", "s3").seen_before(true),         // returning
            enter("4", 0, "plain", "s4"),                          // new
            ev("5", S, EventType::Follow).viewer("plain"),         // follows now: still new
            // "late" enters earlier in time but delivered later: its attributes win
            enter("6", 10 * S, "x", "s5").seen_before(true),
            enter("7", 5 * S, "x", "s6")
                .seen_before(false)
                .region("北京"),
            paid("8", 20 * S, "exact", "o1", "p", 100),
            paid("9", 20 * S, "plain", "o2", "p", 300),
            paid("10", 20 * S, "ghost", "o3", "p", 700), // buyer who never entered
        ],
    );
    let pp = r.snapshot(T0 + 60 * MIN).people;
    assert_eq!(
        (pp.viewers.total, pp.viewers.new, pp.viewers.returning),
        (5, 3, 2)
    );
    assert_eq!(
        (
            pp.buyers.total,
            pp.buyers.new,
            pp.buyers.returning,
            pp.buyers.not_entered
        ),
        (3, 1, 1, 1)
    );
    assert_eq!(
        (
            pp.buyers.gmv_new_fen,
            pp.buyers.gmv_returning_fen,
            pp.buyers.gmv_not_entered_fen
        ),
        (300, 100, 700)
    );
    let bj = pp
        .regions
        .iter()
        .find(|g| g.key.as_deref() == Some("北京"))
        .expect("region");
    assert_eq!(bj.viewers, 1);
}

#[test]
fn kpi_rule9_duplicates() {
    let mut r = room(10);
    let e = ev("1", S, EventType::Like).viewer("a");
    let rep = r.ingest_events(&[
        e.clone(),
        e.clone(),
        ev("1", S, EventType::Like).viewer("b"),
    ]);
    assert_eq!((rep.accepted, rep.duplicates, rep.rejected), (1, 1, 1));
    assert_eq!(rep.errors[0].field, "id");
    assert_eq!(rep.errors[0].reason, ErrorReason::IdConflict);
    assert_eq!(rep.errors[0].line, Some(3));
    let s = r.snapshot(T0 + 10 * MIN);
    assert_eq!(s.process.like_events, 1);
    assert_eq!(s.stats.duplicates, 1);
    // "42" and 42 are the same id
    let mut r = room(10);
    assert_eq!(
        r.ingest_json(&serde_json::json!({"id": 42, "ts": T0, "kind": "share", "viewer": "a"})),
        Ok(Outcome::Accepted)
    );
    assert_eq!(
        r.ingest_json(&serde_json::json!({"id": "42", "ts": T0, "kind": "share", "viewer": "a"})),
        Ok(Outcome::Duplicate)
    );
}

#[test]
fn kpi_paths_and_segments() {
    let mut r = room(70);
    feed(
        &mut r,
        &[
            enter("1", 0, "a", "s1"),
            ev("2", S, EventType::ProductImpression)
                .viewer("a")
                .product("p"),
            ev("3", 2 * S, EventType::ProductClick)
                .viewer("a")
                .product("p"),
            paid("4", 3 * S, "a", "o1", "p", 100),
            enter("5", 0, "b", "s2"),
            ev("6", 35 * MIN, EventType::ProductClick)
                .viewer("b")
                .product("p"),
            enter("7", 0, "c", "s3"),
            paid("8", 65 * MIN, "z", "o2", "p", 100),
        ],
    );
    let s = r.snapshot(T0 + 70 * MIN);
    let paths: Vec<(Vec<&str>, i64)> = s
        .paths
        .iter()
        .map(|p| (p.path.clone(), p.viewers))
        .collect();
    assert_eq!(
        paths,
        vec![
            (vec!["enter"], 1),
            (vec!["enter", "click"], 1),
            (vec!["enter", "product_exposure", "click", "purchase"], 1),
            (vec!["purchase"], 1),
        ]
    );
    let seg: Vec<(&str, i64, i64)> = s
        .scene
        .segments
        .iter()
        .map(|g| (g.name, g.minutes, g.orders))
        .collect();
    assert_eq!(
        seg,
        vec![("opening", 30, 1), ("middle", 10, 0), ("closing", 30, 1)]
    );
    assert_eq!(s.scene.segments[1].clicks, 1);
    assert_eq!(s.scene.peaks.order_minute, Some(0));
}

#[test]
fn kpi_lagged_correlation_finds_lag() {
    // y follows x two steps later
    let x: Vec<Option<f64>> = (0..40).map(|i| Some(((i * 7) % 11) as f64)).collect();
    let mut y = vec![None, None];
    y.extend(x.iter().take(38).copied());
    let c = lagged_correlation("x", &x, "y", &y, 5);
    assert_eq!(c.best_lag, Some(2));
    assert!((c.best_r.unwrap_or(0.0) - 1.0).abs() < 1e-12);
    assert_eq!(c.by_lag.len(), 11);
    let empty = lagged_correlation("x", &[], "y", &[], 5);
    assert_eq!(empty.best_lag, None);
}

#[test]
fn kpi_compare_deltas() {
    let mut a = room(10);
    feed(
        &mut a,
        &[enter("1", 0, "a", "s"), paid("2", S, "a", "o", "p", 1000)],
    );
    let mut b = room(10);
    feed(
        &mut b,
        &[enter("1", 0, "a", "s"), paid("2", S, "a", "o", "p", 1500)],
    );
    let c = compare(&a.snapshot(T0 + 10 * MIN), &b.snapshot(T0 + 10 * MIN));
    let g = c
        .rows
        .iter()
        .find(|r| r.kpi == "result.gmv_fen")
        .expect("gmv row");
    assert_eq!(
        (g.a, g.b, g.delta, g.delta_ratio),
        (Some(1000.0), Some(1500.0), Some(500.0), Some(0.5))
    );
}

#[test]
fn kpi_sessions_without_enter_wait_for_it() {
    let mut r = room(10);
    feed(
        &mut r,
        &[hb("1", 30 * S, "a", "s1"), leave("2", 90 * S, "a", "s1")],
    );
    let s = r.snapshot(T0 + 10 * MIN);
    assert_eq!(s.stats.sessions_without_enter, 1);
    assert_eq!((s.process.entries, s.process.watch_ms_total), (0, 0));
    // the enter arrives late: the session counts from it to its leave
    feed(&mut r, &[enter("3", 10 * S, "a", "s1")]);
    let s = r.snapshot(T0 + 10 * MIN);
    assert_eq!(s.stats.sessions_without_enter, 0);
    assert_eq!((s.process.entries, s.process.watch_ms_total), (1, 80_000));
}
