//! The article's goods table must come out exactly.

use super::*;

fn product_events(out: &mut Vec<Event>, p: &str, imps: usize, clicks: usize, units: usize) {
    let mut n = out.len();
    let mut id = || {
        n += 1;
        n.to_string()
    };
    for i in 0..imps {
        let e = ev(&id(), (i % 3600) as i64 * S, EventType::ProductImpression)
            .viewer(format!("v{}", i % 20_000))
            .product(p);
        out.push(e);
    }
    for i in 0..clicks {
        let e = ev(&id(), (i % 3600) as i64 * S, EventType::ProductClick)
            .viewer(format!("v{}", i % 20_000))
            .product(p);
        out.push(e);
    }
    // units sold in orders of 1 and 5 units
    let mut left = units;
    let mut k = 0;
    while left > 0 {
        let u = if left >= 5 && k % 2 == 0 { 5 } else { 1 };
        left -= u;
        k += 1;
        let id = id();
        let e = paid(
            &id,
            (k % 3600) as i64 * S,
            &format!("v{k}"),
            &format!("{p}-o{k}"),
            p,
            9_900 * u as i64,
        )
        .units(u as i64);
        out.push(e);
    }
}

#[test]
fn kpi_article_goods_table() {
    let mut events = Vec::new();
    product_events(&mut events, "A", 50_000, 5_000, 500);
    product_events(&mut events, "B", 30_000, 2_100, 105);
    let mut r = room(60);
    feed(&mut r, &events);
    let s = r.snapshot(T0 + 60 * MIN);
    let row = |p: &str| {
        s.goods
            .iter()
            .find(|g| g.product == p)
            .cloned()
            .expect("row")
    };
    let a = row("A");
    let b = row("B");
    assert_eq!((a.impressions, a.clicks, a.units), (50_000, 5_000, 500));
    assert_eq!((b.impressions, b.clicks, b.units), (30_000, 2_100, 105));
    assert_eq!(a.ctr.value, Some(0.1));
    assert_eq!(a.conversion.value, Some(0.1));
    assert_eq!(b.ctr.value, Some(0.07));
    assert_eq!(b.conversion.value, Some(0.05));
    assert_eq!((a.ctr.numerator, a.ctr.denominator), (5_000, 50_000));
    assert_eq!(
        (b.conversion.numerator, b.conversion.denominator),
        (105, 2_100)
    );
    assert_eq!(a.gmv_fen, 500 * 9_900);
    assert_eq!(
        (
            a.gpm_impressions.numerator,
            a.gpm_impressions.denominator,
            a.gpm_impressions.scale
        ),
        (500 * 9_900, 50_000, 1000)
    );
}
