// The same KPI subset as plain-kpi.js, recomputed from all rows so far by Arquero (group-by
// queries) and by DuckDB (SQL). Peers get the workload's global integer ids (viewer, session,
// product, order as integers of one dictionary), which spares them string hashing — in their favour.
const MINUTE = 60_000, DAY = 86_400_000;

function emptyMinutes(M) {
  return Array.from({ length: M }, (_, m) => ({ minute: m, online: 0, interaction_people: 0, orders: 0, gmv_fen: 0 }));
}

/** Arquero: t = table with columns kind, ts, id, viewer, session, product, order, amount, units, followerSinceMs, seenBefore. */
export function arqueroKpis(aq, t, { S, E, horizon, strings }) {
  const op = aq.op;
  const H = Math.min(horizon, E);
  const M = Math.ceil((H - S) / MINUTE);
  const Mall = Math.ceil((E - S) / MINUTE);
  const p = { S, E: H, M: Mall, DAY };
  const d = t.dedupe('id');
  const one = (tbl) => tbl.objects()[0];
  const enters = d.filter((r) => r.kind === 0);
  const ev = one(enters.rollup({ viewers: op.distinct('viewer'), entries: op.count(), sessions: op.distinct('session') }));
  const sess = d.filter((r) => r.kind <= 2)
    .groupby('session')
    .rollup({
      v: (r) => op.min(r.kind === 0 ? r.viewer : undefined),
      en: (r) => op.min(r.kind === 0 ? r.ts : undefined),
      lv: (r) => op.max(r.kind === 1 ? r.ts : undefined),
      hb: (r) => op.max(r.kind === 2 ? r.ts : undefined),
    })
    .filter((r) => r.en != null && op.is_finite(r.en))
    .params(p)
    .derive({
      a: (r, $) => op.greatest(r.en, $.S),
      b: (r, $) => op.least(op.is_finite(r.lv) ? op.greatest(r.lv, r.en) : op.greatest(op.is_finite(r.hb) ? r.hb : r.en, r.en) + 60000, $.E),
    })
    .filter((r) => r.b > r.a);
  const watch = sess.size ? one(sess.rollup({ w: (r) => op.sum(r.b - r.a) })).w : 0;
  const deltas = sess.select({ a: 't' }).derive({ dl: () => 1 })
    .concat(sess.select({ b: 't' }).derive({ dl: () => -1 }))
    .groupby('t').rollup({ dl: op.sum('dl') })
    .orderby('t').derive({ c: aq.rolling((r) => op.sum(r.dl)) })
    .params(p).filter((r, $) => r.t < $.E);
  const pcu = deltas.size ? Math.max(0, one(deltas.rollup({ m: op.max('c') })).m) : 0;
  const minutes = emptyMinutes(M);
  if (sess.size) {
    sess.params(p).derive({ ms: (r, $) => op.sequence(op.floor((r.a - $.S) / 60000), op.floor((r.b - 1 - $.S) / 60000) + 1) })
      .select('v', 'ms').unroll('ms').groupby('ms').rollup({ n: op.distinct('v') })
      .objects().forEach((r) => { if (r.ms < M) minutes[r.ms].online = r.n; });
  }
  const inside = d.params(p).filter((r, $) => r.ts >= $.S && r.ts <= $.E)
    .derive({ m: (r, $) => (r.ts === $.E ? $.M - 1 : op.floor((r.ts - $.S) / 60000)) });
  const inter = d.filter((r) => r.kind >= 4 && r.kind <= 6);
  inside.filter((r) => r.kind >= 4 && r.kind <= 6).groupby('m').rollup({ n: op.distinct('viewer') })
    .objects().forEach((r) => { if (r.m < M) minutes[r.m].interaction_people = r.n; });
  const people = (k) => one(d.params({ k }).filter((r, $) => r.kind === $.k).rollup({ n: op.distinct('viewer') })).n;
  const paid = d.filter((r) => r.kind === 14).orderby('ts').dedupe('order');
  const pay = one(paid.rollup({ orders: op.count(), gmv: op.sum('amount'), units: op.sum('units'), buyers: op.distinct('viewer') }));
  paid.params(p).filter((r, $) => r.ts >= $.S && r.ts <= $.E)
    .derive({ m: (r, $) => (r.ts === $.E ? $.M - 1 : op.floor((r.ts - $.S) / 60000)) })
    .groupby('m').rollup({ o: op.count(), g: op.sum('amount') })
    .objects().forEach((r) => { if (r.m < M) { minutes[r.m].orders = r.o; minutes[r.m].gmv_fen = r.g; } });
  const refunds = d.filter((r) => r.kind === 15);
  const known = refunds.semijoin(paid.select('order'), 'order');
  const rk = known.size ? one(known.rollup({ f: op.sum('amount'), n: op.count() })) : { f: 0, n: 0 };
  const ra = refunds.size ? one(refunds.rollup({ f: op.sum('amount'), n: op.count() })) : { f: 0, n: 0 };
  const goodsMap = new Map();
  const row = (pr) => { let g = goodsMap.get(pr); if (!g) { g = { product: strings[pr], impressions: 0, clicks: 0, orders: 0, units: 0, gmv_fen: 0 }; goodsMap.set(pr, g); } return g; };
  d.filter((r) => r.kind === 10 || r.kind === 11).groupby('product')
    .rollup({ i: (r) => op.sum(r.kind === 10 ? 1 : 0), c: (r) => op.sum(r.kind === 11 ? 1 : 0) })
    .objects().forEach((r) => { const g = row(r.product); g.impressions = r.i; g.clicks = r.c; });
  paid.groupby('product').rollup({ o: op.count(), u: op.sum('units'), g: op.sum('amount') })
    .objects().forEach((r) => { const g = row(r.product); g.orders = r.o; g.units = r.u; g.gmv_fen = r.g; });
  const firsts = enters.orderby('ts').dedupe('viewer').params(p)
    .derive({ ret: (r, $) => (r.seenBefore === 1 || (op.is_finite(r.followerSinceMs) && r.ts - r.followerSinceMs >= $.DAY) ? 1 : 0) });
  const returning = firsts.size ? one(firsts.rollup({ n: op.sum('ret') })).n : 0;
  const exposed = people(3), pexposed = people(10), clickers = people(11);
  const counts = one(d.rollup({ i: (r) => op.sum(r.kind === 10 ? 1 : 0), c: (r) => op.sum(r.kind === 11 ? 1 : 0) }));
  const goods = [...goodsMap.values()].sort((a, b) => (a.product < b.product ? -1 : a.product > b.product ? 1 : 0));
  return {
    viewers: ev.viewers, entries: ev.entries, sessions: ev.sessions, watch_ms_total: watch, pcu,
    interaction_people: inter.size ? one(inter.rollup({ n: op.distinct('viewer') })).n : 0,
    product_exposure_people: pexposed, clickers, impressions: counts.i, clicks: counts.c,
    gmv_fen: pay.gmv ?? 0, orders: pay.orders, buyers: pay.buyers, units: pay.units ?? 0,
    refund_fen: rk.f ?? 0, refunds: rk.n, unknown_order_refund_fen: (ra.f ?? 0) - (rk.f ?? 0), unknown_order_refunds: ra.n - rk.n,
    funnel_people: [exposed, ev.viewers, pexposed, clickers, pay.buyers],
    viewers_new: ev.viewers - returning, viewers_returning: returning,
    goods, minutes,
  };
}

/** DuckDB: table `ev` (same columns). Returns the KPI object. */
export async function duckdbKpis(conn, { S, E, horizon, strings }) {
  const H = Math.min(horizon, E);
  const M = Math.ceil((H - S) / MINUTE);
  const Mall = Math.ceil((E - S) / MINUTE);
  const q = async (sql) => (await conn.query(sql)).toArray().map((r) => r.toJSON());
  const n = (x) => (x == null ? 0 : Number(x));
  const minuteOf = `(CASE WHEN ts = ${H} THEN ${Mall - 1} ELSE floor((ts - ${S}) / 60000) END)::INTEGER`;
  await conn.query('CREATE OR REPLACE TEMP TABLE d AS SELECT DISTINCT ON (id) * FROM ev');
  await conn.query(`CREATE OR REPLACE TEMP TABLE sess AS SELECT v, greatest(en, ${S}) a,
      least(CASE WHEN lv IS NOT NULL THEN greatest(lv, en) ELSE greatest(coalesce(hb, en), en) + 60000 END, ${H}) b
    FROM (SELECT session, min(viewer) FILTER (kind = 0) v, min(ts) FILTER (kind = 0) en, max(ts) FILTER (kind = 1) lv,
      max(ts) FILTER (kind = 2) hb FROM d WHERE kind <= 2 GROUP BY session) WHERE en IS NOT NULL AND
      least(CASE WHEN lv IS NOT NULL THEN greatest(lv, en) ELSE greatest(coalesce(hb, en), en) + 60000 END, ${H}) > greatest(en, ${S})`);
  await conn.query(`CREATE OR REPLACE TEMP TABLE paid AS SELECT DISTINCT ON ("order") * FROM d WHERE kind = 14 ORDER BY "order", ts`);
  const [tot] = await q(`SELECT
      count(DISTINCT viewer) FILTER (kind = 0) viewers, count(*) FILTER (kind = 0) entries, count(DISTINCT session) FILTER (kind = 0) sessions,
      count(DISTINCT viewer) FILTER (kind IN (4, 5, 6)) inter, count(DISTINCT viewer) FILTER (kind = 3) exposed,
      count(DISTINCT viewer) FILTER (kind = 10) pexposed, count(DISTINCT viewer) FILTER (kind = 11) clickers,
      count(*) FILTER (kind = 10) impressions, count(*) FILTER (kind = 11) clicks,
      sum(amount) FILTER (kind = 15) rf_all, count(*) FILTER (kind = 15) rn_all FROM d`);
  const [w] = await q(`SELECT sum(b - a) w FROM sess`);
  const [pc] = await q(`SELECT max(c) m FROM (SELECT t, sum(sum(dl)) OVER (ORDER BY t) c FROM
      (SELECT a t, 1 dl FROM sess UNION ALL SELECT b t, -1 dl FROM sess) GROUP BY t) WHERE t < ${H}`);
  const [pay] = await q(`SELECT count(*) orders, sum(amount) gmv, sum(units) units, count(DISTINCT viewer) buyers FROM paid`);
  const [rk] = await q(`SELECT sum(amount) f, count(*) n FROM d WHERE kind = 15 AND "order" IN (SELECT "order" FROM paid)`);
  const [ret] = await q(`SELECT sum(CASE WHEN seenBefore = 1 OR (NOT isnan(followerSinceMs) AND ts - followerSinceMs >= ${DAY}) THEN 1 ELSE 0 END) r
      FROM (SELECT DISTINCT ON (viewer) * FROM d WHERE kind = 0 ORDER BY viewer, ts)`);
  const minutes = emptyMinutes(M);
  for (const r of await q(`SELECT m, count(DISTINCT v) c FROM (SELECT v, unnest(range(floor((a - ${S}) / 60000)::BIGINT, floor((b - 1 - ${S}) / 60000)::BIGINT + 1)) m FROM sess) GROUP BY m`)) {
    if (n(r.m) < M) minutes[n(r.m)].online = n(r.c);
  }
  for (const r of await q(`SELECT ${minuteOf} m, count(DISTINCT viewer) c FROM d WHERE kind IN (4, 5, 6) AND ts >= ${S} AND ts <= ${H} GROUP BY m`)) {
    if (n(r.m) < M) minutes[n(r.m)].interaction_people = n(r.c);
  }
  for (const r of await q(`SELECT ${minuteOf} m, count(*) o, sum(amount) g FROM paid WHERE ts >= ${S} AND ts <= ${H} GROUP BY m`)) {
    if (n(r.m) < M) { minutes[n(r.m)].orders = n(r.o); minutes[n(r.m)].gmv_fen = n(r.g); }
  }
  const goodsMap = new Map();
  const row = (pr) => { let g = goodsMap.get(pr); if (!g) { g = { product: strings[pr], impressions: 0, clicks: 0, orders: 0, units: 0, gmv_fen: 0 }; goodsMap.set(pr, g); } return g; };
  for (const r of await q(`SELECT product, count(*) FILTER (kind = 10) i, count(*) FILTER (kind = 11) c FROM d WHERE kind IN (10, 11) GROUP BY product`)) {
    const g = row(n(r.product)); g.impressions = n(r.i); g.clicks = n(r.c);
  }
  for (const r of await q(`SELECT product, count(*) o, sum(units) u, sum(amount) g FROM paid GROUP BY product`)) {
    const g = row(n(r.product)); g.orders = n(r.o); g.units = n(r.u); g.gmv_fen = n(r.g);
  }
  const goods = [...goodsMap.values()].sort((a, b) => (a.product < b.product ? -1 : a.product > b.product ? 1 : 0));
  const viewers = n(tot.viewers), returning = n(ret.r);
  return {
    viewers, entries: n(tot.entries), sessions: n(tot.sessions), watch_ms_total: n(w.w), pcu: Math.max(0, n(pc.m)),
    interaction_people: n(tot.inter), product_exposure_people: n(tot.pexposed), clickers: n(tot.clickers),
    impressions: n(tot.impressions), clicks: n(tot.clicks),
    gmv_fen: n(pay.gmv), orders: n(pay.orders), buyers: n(pay.buyers), units: n(pay.units),
    refund_fen: n(rk.f), refunds: n(rk.n), unknown_order_refund_fen: n(tot.rf_all) - n(rk.f), unknown_order_refunds: n(tot.rn_all) - n(rk.n),
    funnel_people: [n(tot.exposed), viewers, n(tot.pexposed), n(tot.clickers), n(pay.buyers)],
    viewers_new: viewers - returning, viewers_returning: returning,
    goods, minutes,
  };
}
