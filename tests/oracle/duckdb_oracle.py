#!/usr/bin/env python3
"""Independent SQL oracle for the livekpi KPI engine.

For each directory given (each holding log.ndjson, snapshot.json and meta.json written by
`examples/gen_room.rs`), load the NDJSON log into DuckDB, compute every exact KPI in SQL straight
from the product brief's definitions and edge rules (not from the Rust code), and compare value
by value with the engine's snapshot. Prints failures and a final line `N passed, M failed`;
exits 1 on any failure.

Usage: duckdb_oracle.py DIR [DIR ...]
"""
import json
import math
import os
import sys

import duckdb

MIN = 60_000
DAY = 86_400_000

COLUMNS = {
    "_line": "BIGINT", "id": "VARCHAR", "ts": "BIGINT", "kind": "VARCHAR", "viewer": "VARCHAR",
    "session": "VARCHAR", "product": "VARCHAR", "order": "VARCHAR", "amount": "BIGINT",
    "units": "BIGINT", "count": "BIGINT", "text": "VARCHAR", "option": "VARCHAR",
    "cohost": "VARCHAR", "region": "VARCHAR", "tier": "VARCHAR", "source": "VARCHAR",
    "follower_since_ms": "BIGINT", "seen_before": "BOOLEAN",
}


class Checker:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.failures = []

    def eq(self, name, expected, actual):
        ok = expected == actual
        if not ok and isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
            ok = math.isclose(float(expected), float(actual), rel_tol=1e-9, abs_tol=1e-9)
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            self.failures.append(f"{name}: sql={expected!r} engine={actual!r}")

    def rate(self, name, num, den, rate, scale=1):
        """A Rate: numerator, denominator and value (null when the denominator is 0)."""
        self.eq(name + ".numerator", num, rate["numerator"])
        self.eq(name + ".denominator", den, rate["denominator"])
        self.eq(name + ".value", None if den == 0 else scale * num / den, rate["value"])


def q(con, sql, **params):
    for k, v in params.items():
        sql = sql.replace("$" + k, str(v))
    return con.execute(sql).fetchall()


def one(con, sql, **params):
    r = q(con, sql, **params)
    return r[0][0] if r else None


def run_dir(d, ck):
    meta = json.load(open(os.path.join(d, "meta.json")))
    snap = json.load(open(os.path.join(d, "snapshot.json")))
    S, E, L = meta["stream_start_ms"], meta["stream_end_ms"], meta["lateness_ms"]
    TO = meta["session_timeout_ms"]
    M = max(0, -(-(E - S) // MIN))
    tag = f"[seed {meta['seed']}] "

    # number the lines so delivery order is explicit
    aug = os.path.join(d, "log.lines.ndjson")
    with open(os.path.join(d, "log.ndjson"), encoding="utf-8") as f, open(aug, "w", encoding="utf-8") as g:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if line:
                g.write('{"_line":%d,%s\n' % (n, line[1:]))

    con = duckdb.connect()
    cols = "{" + ", ".join(f"'{k}': '{v}'" for k, v in COLUMNS.items()) + "}"
    con.execute(f"CREATE TABLE raw AS SELECT * FROM read_json('{aug}', format='newline_delimited', columns={cols})")
    content = ("concat_ws('|', kind, ts, coalesce(viewer,'~'), coalesce(session,'~'), coalesce(product,'~'), "
               "coalesce(\"order\",'~'), coalesce(CAST(amount AS VARCHAR),'~'), coalesce(CAST(units AS VARCHAR),'~'), "
               "coalesce(CAST(count AS VARCHAR),'~'), coalesce(text,'~'), coalesce(option,'~'), coalesce(cohost,'~'), "
               "coalesce(region,'~'), coalesce(tier,'~'), coalesce(source,'~'), "
               "coalesce(CAST(follower_since_ms AS VARCHAR),'~'), coalesce(CAST(seen_before AS VARCHAR),'~'))")
    # acceptance: lateness against the highest earlier time, then first copy of each id
    con.execute(f"""
        CREATE TABLE w AS SELECT *, {content} AS content,
          max(ts) OVER (ORDER BY _line ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS wm
        FROM raw""")
    con.execute(f"CREATE TABLE notlate AS SELECT * FROM w WHERE wm IS NULL OR ts >= wm - {L}")
    con.execute("""
        CREATE TABLE ranked AS SELECT *,
          row_number() OVER (PARTITION BY id ORDER BY _line) AS rn,
          first_value(content) OVER (PARTITION BY id ORDER BY _line) AS first_content
        FROM notlate""")
    con.execute("CREATE TABLE ev AS SELECT * FROM ranked WHERE rn = 1")

    st = snap["stats"]
    by_reason = {r["reason"]: r["count"] for r in st["rejected_by_reason"]}
    ck.eq(tag + "stats.accepted", one(con, "SELECT count(*) FROM ev"), st["accepted"])
    ck.eq(tag + "stats.duplicates", one(con, "SELECT count(*) FROM ranked WHERE rn > 1 AND content = first_content"), st["duplicates"])
    ck.eq(tag + "stats.too_late", one(con, "SELECT count(*) FROM w") - one(con, "SELECT count(*) FROM notlate"), by_reason.get("too_late", 0))
    ck.eq(tag + "stats.id_conflict", one(con, "SELECT count(*) FROM ranked WHERE rn > 1 AND content <> first_content"), by_reason.get("id_conflict", 0))

    # ---------- sessions (edge rule 2) ----------
    con.execute(f"""
        CREATE TABLE sess AS
        WITH g AS (
          SELECT session,
            min(ts) FILTER (WHERE kind = 'enter') AS ent,
            max(ts) FILTER (WHERE kind = 'leave') AS lv,
            max(ts) FILTER (WHERE kind = 'heartbeat') AS hb,
            arg_min(viewer, ts) FILTER (WHERE kind = 'enter') AS viewer
          FROM ev WHERE kind IN ('enter', 'leave', 'heartbeat') GROUP BY session)
        SELECT session, viewer,
          greatest(ent, {S}) AS a,
          least(CASE WHEN lv IS NOT NULL THEN greatest(lv, ent) ELSE greatest(coalesce(hb, ent), ent) + {TO} END, {E}) AS b
        FROM g WHERE ent IS NOT NULL""")
    con.execute("CREATE TABLE iv AS SELECT * FROM sess WHERE b > a")
    con.execute(f"CREATE TABLE minutes AS SELECT range AS m, {S} + range * {MIN} AS t0 FROM range({M})")
    # minute of an in-stream event: an event exactly at the end falls in the last minute
    minute_of = f"(CASE WHEN ts = {E} THEN {M - 1} ELSE (ts - {S}) // {MIN} END)"
    con.execute(f"CREATE TABLE evm AS SELECT *, {minute_of} AS m FROM ev WHERE ts BETWEEN {S} AND {E}")

    # ---------- result layer ----------
    con.execute("""CREATE TABLE pay AS SELECT * FROM (
        SELECT *, row_number() OVER (PARTITION BY "order" ORDER BY ts, _line) AS prn
        FROM ev WHERE kind = 'order_paid') WHERE prn = 1""")
    gmv = one(con, "SELECT coalesce(sum(amount), 0) FROM pay")
    orders = one(con, "SELECT count(*) FROM pay")
    buyers = one(con, "SELECT count(DISTINCT viewer) FROM pay")
    units = one(con, "SELECT coalesce(sum(coalesce(units, 1)), 0) FROM pay")
    entries = one(con, "SELECT count(*) FROM ev WHERE kind = 'enter'")
    viewers = one(con, "SELECT count(DISTINCT viewer) FROM ev WHERE kind = 'enter'")
    rk = one(con, """SELECT coalesce(sum(amount), 0) FROM ev WHERE kind = 'refund' AND "order" IN (SELECT "order" FROM pay)""")
    rkn = one(con, """SELECT count(*) FROM ev WHERE kind = 'refund' AND "order" IN (SELECT "order" FROM pay)""")
    rko = one(con, """SELECT count(DISTINCT "order") FROM ev WHERE kind = 'refund' AND "order" IN (SELECT "order" FROM pay)""")
    ru = one(con, """SELECT coalesce(sum(amount), 0) FROM ev WHERE kind = 'refund' AND "order" NOT IN (SELECT "order" FROM pay)""")
    run_ = one(con, """SELECT count(*) FROM ev WHERE kind = 'refund' AND "order" NOT IN (SELECT "order" FROM pay)""")
    R = snap["result"]
    ck.eq(tag + "result.gmv_fen", gmv, R["gmv_fen"])
    ck.eq(tag + "result.orders", orders, R["orders"])
    ck.eq(tag + "result.buyers", buyers, R["buyers"])
    ck.eq(tag + "result.units", units, R["units"])
    ck.rate(tag + "result.aov", gmv, buyers, R["aov"])
    ck.rate(tag + "result.aov_per_order", gmv, orders, R["aov_per_order"])
    ck.rate(tag + "result.gpm", gmv, entries, R["gpm"], 1000)
    ck.rate(tag + "result.uv_value", gmv, viewers, R["uv_value"])
    ck.eq(tag + "result.refund_fen", rk, R["refund_fen"])
    ck.eq(tag + "result.refunds", rkn, R["refunds"])
    ck.eq(tag + "result.refunded_orders", rko, R["refunded_orders"])
    ck.rate(tag + "result.refund_rate", rk, gmv, R["refund_rate"])
    ck.eq(tag + "result.unknown_order_refund_fen", ru, R["unknown_order_refund_fen"])
    ck.eq(tag + "result.unknown_order_refunds", run_, R["unknown_order_refunds"])
    ck.eq(tag + "result.orders_created", one(con, "SELECT count(*) FROM ev WHERE kind = 'order_created'"), R["orders_created"])

    # ---------- process layer ----------
    P = snap["process"]

    def people(kinds):
        return one(con, f"SELECT count(DISTINCT viewer) FROM ev WHERE kind IN ({kinds})")

    def events(kinds):
        return one(con, f"SELECT count(*) FROM ev WHERE kind IN ({kinds})")

    ck.eq(tag + "process.viewers", viewers, P["viewers"])
    ck.eq(tag + "process.entries", entries, P["entries"])
    ck.eq(tag + "process.sessions", one(con, "SELECT count(*) FROM sess"), P["sessions"])
    ck.eq(tag + "process.room_exposures", events("'room_exposure'"), P["room_exposures"])
    ck.eq(tag + "process.room_exposure_people", people("'room_exposure'"), P["room_exposure_people"])
    watch = one(con, "SELECT coalesce(sum(b - a), 0) FROM iv")
    ck.eq(tag + "process.watch_ms_total", watch, P["watch_ms_total"])
    ck.rate(tag + "process.avg_watch_ms", watch, viewers, P["avg_watch_ms"])
    ck.rate(tag + "process.acu_time_weighted", watch, MIN * M, P["acu_time_weighted"])
    con.execute("""CREATE TABLE chg AS
        SELECT t, sum(d) AS d FROM (SELECT a AS t, 1 AS d FROM iv UNION ALL SELECT b, -1 FROM iv) GROUP BY t""")
    con.execute("CREATE TABLE run AS SELECT t, sum(d) OVER (ORDER BY t) AS c FROM chg")
    pcu = one(con, f"SELECT coalesce(max(c), 0) FROM run WHERE t < {E}")
    pcu_at = one(con, f"SELECT min(t) FROM run WHERE t < {E} AND c = {pcu}")
    if pcu == 0:
        pcu_at = S if M > 0 else None
    ck.eq(tag + "process.pcu", pcu, P["pcu"])
    ck.eq(tag + "process.pcu_at_ms", pcu_at, P["pcu_at_ms"])
    con.execute("""CREATE TABLE conc AS SELECT m, t0,
        (SELECT count(*) FROM iv WHERE a <= t0 AND b > t0) AS at_start,
        (SELECT count(DISTINCT viewer) FROM iv WHERE a < t0 + 60000 AND b > t0) AS online
        FROM minutes""")
    acu_num = one(con, "SELECT coalesce(sum(at_start), 0) FROM conc")
    ck.rate(tag + "process.acu_first_instant", acu_num, M, P["acu_first_instant"])
    # per-viewer watch time, nearest-rank quantiles (rule 10)
    con.execute("""CREATE TABLE pw AS SELECT v.viewer, coalesce(sum(iv.b - iv.a), 0) AS w
        FROM (SELECT DISTINCT viewer FROM ev WHERE kind = 'enter') v LEFT JOIN iv ON iv.viewer = v.viewer
        GROUP BY v.viewer""")
    n = one(con, "SELECT count(*) FROM pw")
    for name, num, den in (("watch_median_ms", 1, 2), ("watch_p90_ms", 9, 10)):
        rank = max(1, -(-num * n // den)) if n else None
        val = one(con, f"SELECT w FROM (SELECT w, row_number() OVER (ORDER BY w) AS rk FROM pw) WHERE rk = {rank}") if n else None
        ck.eq(tag + "process." + name, val, P[name])
    inter_people = people("'like', 'comment', 'share'")
    inter_events = events("'like', 'comment', 'share'")
    ck.eq(tag + "process.interaction_people", inter_people, P["interaction_people"])
    ck.eq(tag + "process.interaction_events", inter_events, P["interaction_events"])
    ck.eq(tag + "process.likes", one(con, "SELECT coalesce(sum(coalesce(count, 1)), 0) FROM ev WHERE kind = 'like'"), P["likes"])
    ck.eq(tag + "process.comments", events("'comment'"), P["comments"])
    ck.eq(tag + "process.shares", events("'share'"), P["shares"])
    ck.rate(tag + "process.interaction_rate", inter_people, viewers, P["interaction_rate"])
    ck.rate(tag + "process.interaction_rate_count", inter_events, entries, P["interaction_rate_count"])
    fol = people("'follow'")
    fan = people("'fan_club_join'")
    ck.eq(tag + "process.follows", events("'follow'"), P["follows"])
    ck.rate(tag + "process.follow_rate", fol, viewers, P["follow_rate"])
    ck.eq(tag + "process.fan_club_joins", events("'fan_club_join'"), P["fan_club_joins"])
    ck.rate(tag + "process.fan_club_rate", fan, viewers, P["fan_club_rate"])
    pexp = people("'product_impression'")
    clickers = people("'product_click'")
    imps = events("'product_impression'")
    clicks = events("'product_click'")
    ck.rate(tag + "process.product_exposure_rate", pexp, viewers, P["product_exposure_rate"])
    ck.eq(tag + "process.impressions", imps, P["impressions"])
    ck.eq(tag + "process.clicks", clicks, P["clicks"])
    ck.rate(tag + "process.exposure_click_rate", clickers, pexp, P["exposure_click_rate"])
    ck.rate(tag + "process.exposure_click_rate_count", clicks, imps, P["exposure_click_rate_count"])
    ck.rate(tag + "process.click_purchase_rate", buyers, clickers, P["click_purchase_rate"])
    ck.rate(tag + "process.click_purchase_rate_count", orders, clicks, P["click_purchase_rate_count"])
    ck.rate(tag + "process.view_purchase_rate", buyers, viewers, P["view_purchase_rate"])
    ck.rate(tag + "process.view_purchase_rate_count", orders, entries, P["view_purchase_rate_count"])
    ck.eq(tag + "process.add_to_cart", events("'add_to_cart'"), P["add_to_cart"])
    ck.eq(tag + "process.add_to_cart_people", people("'add_to_cart'"), P["add_to_cart_people"])

    # ---------- people (rule 8) ----------
    con.execute(f"""CREATE TABLE fe AS SELECT viewer, region, tier, source,
          (coalesce(seen_before, false) OR (follower_since_ms IS NOT NULL AND ts - follower_since_ms >= {DAY})) AS is_ret
        FROM (SELECT *, row_number() OVER (PARTITION BY viewer ORDER BY ts, _line) AS r FROM ev WHERE kind = 'enter')
        WHERE r = 1""")
    con.execute("""CREATE TABLE bv AS SELECT p.viewer, sum(p.amount) AS gmv, fe.is_ret, fe.viewer IS NULL AS not_entered,
          fe.region, fe.tier, fe.source
        FROM pay p LEFT JOIN fe ON fe.viewer = p.viewer GROUP BY ALL""")
    V = snap["people"]["viewers"]
    B = snap["people"]["buyers"]
    vr = one(con, "SELECT count(*) FROM fe WHERE is_ret")
    ck.eq(tag + "people.viewers.returning", vr, V["returning"])
    ck.eq(tag + "people.viewers.new", viewers - vr, V["new"])
    ck.rate(tag + "people.viewers.returning_share", vr, viewers, V["returning_share"])
    br = one(con, "SELECT count(*) FROM bv WHERE is_ret")
    bn = one(con, "SELECT count(*) FROM bv WHERE not_entered")
    ck.eq(tag + "people.buyers.returning", br, B["returning"])
    ck.eq(tag + "people.buyers.not_entered", bn, B["not_entered"])
    ck.eq(tag + "people.buyers.new", buyers - br - bn, B["new"])
    ck.eq(tag + "people.buyers.gmv_fen", [
        one(con, "SELECT coalesce(sum(gmv), 0) FROM bv WHERE NOT not_entered AND NOT is_ret"),
        one(con, "SELECT coalesce(sum(gmv), 0) FROM bv WHERE is_ret"),
        one(con, "SELECT coalesce(sum(gmv), 0) FROM bv WHERE not_entered")],
        [B["gmv_new_fen"], B["gmv_returning_fen"], B["gmv_not_entered_fen"]])
    for dim in ("region", "tier", "source"):
        rows = q(con, f"""
            WITH v AS (SELECT {dim} AS k, count(*) AS viewers FROM fe GROUP BY 1),
                 b AS (SELECT {dim} AS k, count(*) AS buyers, sum(gmv) AS gmv FROM bv GROUP BY 1)
            SELECT coalesce(v.k, b.k) AS k, coalesce(viewers, 0), coalesce(buyers, 0), coalesce(gmv, 0)
            FROM v FULL OUTER JOIN b ON v.k IS NOT DISTINCT FROM b.k""")
        want = {r[0]: (r[1], r[2], r[3]) for r in rows}
        got = {g["key"]: (g["viewers"], g["buyers"], g["gmv_fen"]) for g in snap["people"][dim + "s"]}
        ck.eq(tag + f"people.{dim}s", want, got)

    # ---------- goods ----------
    rows = q(con, """
        WITH e AS (SELECT product,
            count(*) FILTER (WHERE kind = 'product_impression') AS imps,
            count(*) FILTER (WHERE kind = 'product_click') AS clicks,
            count(*) FILTER (WHERE kind = 'add_to_cart') AS carts,
            count(DISTINCT viewer) FILTER (WHERE kind = 'product_impression') AS imp_people,
            count(DISTINCT viewer) FILTER (WHERE kind = 'product_click') AS click_people,
            count(DISTINCT viewer) FILTER (WHERE kind = 'add_to_cart') AS cart_people
          FROM ev WHERE kind IN ('product_impression', 'product_click', 'add_to_cart') GROUP BY product),
        p AS (SELECT product, count(*) AS orders, sum(coalesce(units, 1)) AS units, sum(amount) AS gmv,
            count(DISTINCT viewer) AS buyers FROM pay GROUP BY product),
        r AS (SELECT p.product, sum(r.amount) AS rf, count(*) AS rn FROM ev r JOIN pay p ON r."order" = p."order"
            WHERE r.kind = 'refund' GROUP BY p.product)
        SELECT coalesce(e.product, p.product) AS product, coalesce(imps, 0), coalesce(clicks, 0), coalesce(carts, 0),
          coalesce(imp_people, 0), coalesce(click_people, 0), coalesce(cart_people, 0), coalesce(orders, 0),
          coalesce(units, 0), coalesce(gmv, 0), coalesce(buyers, 0), coalesce(rf, 0), coalesce(rn, 0)
        FROM e FULL OUTER JOIN p ON e.product = p.product LEFT JOIN r ON r.product = coalesce(e.product, p.product)""")
    goods = {g["product"]: g for g in snap["goods"]}
    ck.eq(tag + "goods.products", sorted(r[0] for r in rows), sorted(goods))
    for (prod, imps_, clicks_, carts, ip, cp, cap, ords, uts, pg, pb, rf, rn) in rows:
        g = goods.get(prod)
        if g is None:
            continue
        t = tag + f"goods[{prod}]."
        ck.eq(t + "impressions", imps_, g["impressions"])
        ck.eq(t + "clicks", clicks_, g["clicks"])
        ck.rate(t + "ctr", clicks_, imps_, g["ctr"])
        ck.eq(t + "units", uts, g["units"])
        ck.eq(t + "orders", ords, g["orders"])
        ck.rate(t + "conversion", uts, clicks_, g["conversion"])
        ck.rate(t + "conversion_orders", ords, clicks_, g["conversion_orders"])
        ck.rate(t + "ctr_people", cp, ip, g["ctr_people"])
        ck.rate(t + "conversion_people", pb, cp, g["conversion_people"])
        ck.eq(t + "add_to_cart", carts, g["add_to_cart"])
        ck.eq(t + "add_to_cart_people", cap, g["add_to_cart_people"])
        ck.eq(t + "gmv_fen", pg, g["gmv_fen"])
        ck.rate(t + "gpm_impressions", pg, imps_, g["gpm_impressions"], 1000)
        ck.eq(t + "refund_fen", rf, g["refund_fen"])
        ck.eq(t + "refunds", rn, g["refunds"])

    # ---------- funnel (rule 6) ----------
    sets = ["room_exposure", "enter", "product_impression", "product_click"]
    con.execute("CREATE TABLE fz AS SELECT DISTINCT kind, viewer FROM ev WHERE kind IN ('room_exposure', 'enter', 'product_impression', 'product_click') UNION SELECT DISTINCT 'buy', viewer FROM pay")
    steps = sets + ["buy"]
    fp = [one(con, f"SELECT count(*) FROM fz WHERE kind = '{k}'") for k in steps]
    nested = []
    for i in range(5):
        cond = " AND ".join(f"viewer IN (SELECT viewer FROM fz WHERE kind = '{k}')" for k in steps[: i + 1])
        nested.append(one(con, f"SELECT count(DISTINCT viewer) FROM fz WHERE {cond}"))
    fc = [events("'room_exposure'"), entries, imps, clicks, orders]
    F = snap["funnel"]["steps"]
    for i in range(5):
        t = tag + f"funnel[{F[i]['step']}]."
        ck.eq(t + "people", fp[i], F[i]["people"])
        ck.eq(t + "nested_people", nested[i], F[i]["nested_people"])
        ck.eq(t + "count", fc[i], F[i]["count"])
        if i > 0:
            ck.rate(t + "rate", fp[i], fp[i - 1], F[i]["rate"])
            ck.rate(t + "nested_rate", nested[i], nested[i - 1], F[i]["nested_rate"])
            ck.rate(t + "count_rate", fc[i], fc[i - 1], F[i]["count_rate"])

    # ---------- behaviour paths ----------
    rows = q(con, """
        WITH f AS (
          SELECT viewer, 0 AS idx, 'enter' AS step, min(ts) AS t FROM ev WHERE kind = 'enter' GROUP BY viewer
          UNION ALL SELECT viewer, 1, 'product_exposure', min(ts) FROM ev WHERE kind = 'product_impression' GROUP BY viewer
          UNION ALL SELECT viewer, 2, 'click', min(ts) FROM ev WHERE kind = 'product_click' GROUP BY viewer
          UNION ALL SELECT viewer, 3, 'purchase', min(ts) FROM ev WHERE kind = 'order_paid' GROUP BY viewer),
        p AS (SELECT viewer, string_agg(step, '>' ORDER BY t, idx) AS path FROM f GROUP BY viewer)
        SELECT path, count(*) FROM p GROUP BY path""")
    ck.eq(tag + "paths", {r[0]: r[1] for r in rows}, {">".join(p["path"]): p["viewers"] for p in snap["paths"]})

    # ---------- minute series (rules 1, 3) ----------
    rows = q(con, """
        WITH c AS (SELECT m,
            count(*) FILTER (WHERE kind = 'enter') AS entries,
            count(*) FILTER (WHERE kind IN ('like', 'comment', 'share')) AS inter,
            count(DISTINCT viewer) FILTER (WHERE kind IN ('like', 'comment', 'share')) AS inter_people,
            count(*) FILTER (WHERE kind = 'product_impression') AS imps,
            count(*) FILTER (WHERE kind = 'product_click') AS clicks
          FROM evm GROUP BY m),
        p AS (SELECT $minute_of AS m, count(*) AS orders, sum(amount) AS gmv, count(DISTINCT viewer) AS buyers
          FROM pay WHERE ts BETWEEN $S AND $E GROUP BY 1),
        pk AS (SELECT mn.m, max(r.c) AS peak FROM minutes mn JOIN run r ON r.t >= mn.t0 AND r.t < mn.t0 + 60000 GROUP BY mn.m)
        SELECT conc.m, online, at_start, greatest(at_start, coalesce(peak, at_start)),
          coalesce(entries, 0), coalesce(inter, 0), coalesce(inter_people, 0), coalesce(imps, 0), coalesce(clicks, 0),
          coalesce(orders, 0), coalesce(gmv, 0), coalesce(buyers, 0)
        FROM conc LEFT JOIN c ON c.m = conc.m LEFT JOIN p ON p.m = conc.m LEFT JOIN pk ON pk.m = conc.m
        ORDER BY conc.m""", minute_of=minute_of, S=S, E=E)
    rows_min = rows
    mins = snap["scene"]["minutes"]
    ck.eq(tag + "scene.minutes.len", M, len(mins))
    names = ["online", "concurrency_at_start", "peak_concurrency", "entries", "interaction_events",
             "interaction_people", "impressions", "clicks", "orders", "gmv_fen", "buyers"]
    for name_i, name in enumerate(names):
        want = [r[1 + name_i] for r in rows]
        got = [x[name] for x in mins]
        ck.eq(tag + f"scene.minutes[*].{name}", want, got)
    ck.eq(tag + "scene.minutes[*].interaction_rate",
          [(r[6], r[1]) for r in rows], [(x["interaction_rate"]["numerator"], x["interaction_rate"]["denominator"]) for x in mins])

    # segments: opening = first 30 minutes, closing = last 30, middle = the rest
    op, cl = -(-meta["opening_ms"] // MIN), -(-meta["closing_ms"] // MIN)
    seg = {s["name"]: s for s in snap["scene"]["segments"]}
    for sname, cond in (("opening", f"m < {op}"), ("closing", f"m >= {op} AND m >= {M - cl}"),
                        ("middle", f"m >= {op} AND m < {M - cl}")):
        r = q(con, f"""SELECT count(*), sum(entries), sum(inter), sum(clicks), sum(orders), sum(gmv) FROM (
            SELECT conc.m, coalesce(e, 0) AS entries, coalesce(i, 0) AS inter, coalesce(c, 0) AS clicks,
                   coalesce(o, 0) AS orders, coalesce(g, 0) AS gmv FROM conc
            LEFT JOIN (SELECT m, count(*) FILTER (WHERE kind = 'enter') e,
                 count(*) FILTER (WHERE kind IN ('like', 'comment', 'share')) i,
                 count(*) FILTER (WHERE kind = 'product_click') c FROM evm GROUP BY m) x ON x.m = conc.m
            LEFT JOIN (SELECT {minute_of} AS m, count(*) o, sum(amount) g FROM pay WHERE ts BETWEEN {S} AND {E} GROUP BY 1) y
                 ON y.m = conc.m) WHERE {cond}""")[0]
        s = seg[sname]
        ck.eq(tag + f"segments[{sname}]", [r[0]] + [int(x or 0) for x in r[1:]],
              [s["minutes"], s["entries"], s["interaction_events"], s["clicks"], s["orders"], s["gmv_fen"]])

    # ---------- interactive ----------
    I = snap["interactive"]
    ck.eq(tag + "interactive.gifts", events("'gift'"), I["gifts"])
    ck.eq(tag + "interactive.gift_fen", one(con, "SELECT coalesce(sum(amount), 0) FROM ev WHERE kind = 'gift'"), I["gift_fen"])
    ck.eq(tag + "interactive.gifters", people("'gift'"), I["gifters"])
    ck.eq(tag + "interactive.red_packet_claims", events("'red_packet_claim'"), I["red_packet_claims"])
    ck.eq(tag + "interactive.red_packet_people", people("'red_packet_claim'"), I["red_packet_people"])
    ck.eq(tag + "interactive.votes", events("'vote'"), I["votes"])
    ck.eq(tag + "interactive.voters", people("'vote'"), I["voters"])
    ck.eq(tag + "interactive.vote_options",
          {r[0]: r[1] for r in q(con, "SELECT coalesce(option, ''), count(*) FROM ev WHERE kind = 'vote' GROUP BY 1")},
          {v["option"]: v["votes"] for v in I["vote_options"]})
    ck.eq(tag + "interactive.red_packet_fen", one(con, "SELECT coalesce(sum(amount), 0) FROM ev WHERE kind = 'red_packet_claim'"), I["red_packet_fen"])
    ck.eq(tag + "interactive.cohost_ms", one(con, """SELECT coalesce(sum(greatest(e - s, 0)), 0) FROM (
        SELECT cohost, min(ts) FILTER (WHERE kind = 'cohost_start') s, max(ts) FILTER (WHERE kind = 'cohost_end') e
        FROM ev WHERE kind IN ('cohost_start', 'cohost_end') GROUP BY cohost) WHERE s IS NOT NULL AND e IS NOT NULL"""),
          I["cohost_ms"])
    # ---------- live snapshot: time KPIs stop at the horizon H = now (< end) ----------
    live_path = os.path.join(d, "snapshot_live.json")
    if os.path.exists(live_path) and "live_now_ms" in meta:
        live = json.load(open(live_path))
        H = meta["live_now_ms"]
        Mh = max(0, -(-(H - S) // MIN))
        t = tag + "live."
        ck.eq(t + "minutes", Mh, live["minutes"])
        ck.eq(t + "ended", False, live["ended"])
        wh = one(con, f"SELECT coalesce(sum(least(b, {H}) - a), 0) FROM iv WHERE a < {H}")
        LP = live["process"]
        ck.eq(t + "watch_ms_total", wh, LP["watch_ms_total"])
        ck.rate(t + "acu_time_weighted", wh, MIN * Mh, LP["acu_time_weighted"])
        ph = one(con, f"SELECT coalesce(max(c), 0) FROM run WHERE t < {H}")
        ck.eq(t + "pcu", ph, LP["pcu"])
        if ph > 0:
            ck.eq(t + "pcu_at_ms", one(con, f"SELECT min(t) FROM run WHERE t < {H} AND c = {ph}"), LP["pcu_at_ms"])
        ah = one(con, f"SELECT coalesce(sum(at_start), 0) FROM conc WHERE m < {Mh}")
        ck.rate(t + "acu_first_instant", ah, Mh, LP["acu_first_instant"])
        lm = live["scene"]["minutes"]
        ck.eq(t + "minutes[*].online", [r[1] for r in rows_min[:Mh]], [x["online"] for x in lm])
        ck.eq(t + "minutes[*].gmv_fen", [r[10] for r in rows_min[:Mh]], [x["gmv_fen"] for x in lm])
        # the partial last minute's peak only looks at instants before H
        last_t0 = S + (Mh - 1) * MIN
        peak = one(con, f"""SELECT greatest((SELECT count(*) FROM iv WHERE a <= {last_t0} AND b > {last_t0}),
            coalesce((SELECT max(c) FROM run WHERE t >= {last_t0} AND t < {H}), 0))""")
        ck.eq(t + "last_minute.peak_concurrency", peak, lm[-1]["peak_concurrency"])
    con.close()
    os.remove(aug)


def main():
    dirs = sys.argv[1:]
    if not dirs:
        print(__doc__)
        sys.exit(2)
    ck = Checker()
    for d in dirs:
        run_dir(d, ck)
    for f in ck.failures[:50]:
        print("FAIL", f)
    print(f"{ck.passed} passed, {ck.failed} failed")
    sys.exit(1 if ck.failed else 0)


if __name__ == "__main__":
    main()
