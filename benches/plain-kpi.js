// A careful plain-JavaScript implementation of livekpi's core KPI set, kept current incrementally
// with Maps / typed arrays, written from the product brief's definitions (../shared/brief/PRODUCT.md)
// and livekpi's documented definition choices, for the console throughput benchmark. It takes the
// same columnar batches as `Room.ingestColumns` (typed arrays, strings as refs into the batch's own
// `strings` table) and must agree with livekpi's snapshot on every number it reports.
//
// KPIs: viewers, entries, sessions, watch time (sessions pair enter/leave; without a leave a session
// closes at max(last heartbeat, enter) + 60 s; clipped to [start, end)), PCU (same-ms changes
// netted), interaction people, product exposure people, clickers, per-product impressions / clicks /
// orders / units / GMV, the five funnel steps (people), buyers, GMV / orders / units (by payment
// time; an order paid twice counts once: the earliest payment wins), refunds of paid orders
// (whenever they arrive) and refunds of unknown orders apart, per-minute online (distinct viewers
// with a session overlapping the minute) / interaction people / orders / GMV, new vs returning
// viewers (decided at the first enter: seen_before, or follower for >= 1 day).
//
// Acceptance: exact duplicates (same id) count once; ids are remembered while inside the lateness
// window; events older than watermark − lateness are rejected. Content is not compared (the
// benchmark workload has no id conflicts), and equal-time ties are not broken by content hash
// (livekpi does both) — both simplifications favour this implementation.

const NONE = 0xffffffff;
const MINUTE = 60_000;
const DAY = 86_400_000;
// Kind codes (eventKinds() order; checked in the constructor).
const KINDS = ["enter", "leave", "heartbeat", "room_exposure", "comment", "like", "share", "follow", "fan_club_join", "gift", "product_impression", "product_click", "add_to_cart", "order_created", "order_paid", "refund", "cohost_start", "cohost_end", "red_packet_claim", "vote"];
const K_ENTER = 0;
const K_LEAVE = 1;
const K_HEARTBEAT = 2;
const K_ROOM_EXPOSURE = 3;
const K_COMMENT = 4;
const K_LIKE = 5;
const K_SHARE = 6;
const K_FOLLOW = 7;
const K_FAN_CLUB_JOIN = 8;
const K_GIFT = 9;
const K_PRODUCT_IMPRESSION = 10;
const K_PRODUCT_CLICK = 11;
const K_ADD_TO_CART = 12;
const K_ORDER_CREATED = 13;
const K_ORDER_PAID = 14;
const K_REFUND = 15;
const K_COHOST_START = 16;
const K_COHOST_END = 17;
const K_RED_PACKET_CLAIM = 18;
const K_VOTE = 19;

class Interner {
  constructor() { this.map = new Map(); this.n = 0; }
  id(s) {
    let i = this.map.get(s);
    if (i === undefined) { i = this.n++; this.map.set(s, i); }
    return i;
  }
}

/** Growable Float64 / Int32 columns indexed by interned id. */
function grow(arr, n, fill) {
  if (n <= arr.length) return arr;
  let cap = arr.length || 1024;
  while (cap < n) cap *= 2;
  const out = new arr.constructor(cap);
  if (fill !== 0) out.fill(fill, arr.length);
  out.set(arr);
  return out;
}

export class PlainRoom {
  constructor({ streamStartMs, streamEndMs, kinds, latenessMs = 300_000, sessionTimeoutMs = 60_000 }) {
    this.S = streamStartMs;
    this.E = streamEndMs;
    this.M = Math.ceil((streamEndMs - streamStartMs) / MINUTE);
    this.lateness = latenessMs;
    this.timeout = sessionTimeoutMs;
    if (kinds.join() !== KINDS.join()) throw new Error(`kind codes changed: ${kinds}`);
    // acceptance
    this.seen = new Map(); // id -> ts
    this.fifoTs = []; this.fifoId = []; this.fifoHead = 0;
    this.watermark = -Infinity;
    this.accepted = 0; this.duplicates = 0; this.tooLate = 0;
    // interning
    this.vIds = new Interner(); this.sIds = new Interner(); this.pIds = new Interner(); this.oIds = new Interner();
    this.pNames = [];
    // viewers
    this.vFlags = new Uint8Array(0); // 1 entered, 2 exposed, 4 interacted, 8 pimpressed, 16 clicked
    this.vFirstEnter = new Float64Array(0);
    this.vReturning = new Uint8Array(0);
    this.vPaid = new Int32Array(0);
    this.viewers = 0; this.exposedPeople = 0; this.interactionPeople = 0; this.pexposedPeople = 0; this.clickers = 0;
    this.buyers = 0; this.returning = 0;
    // sessions
    this.sEnter = new Float64Array(0); this.sLeave = new Float64Array(0); this.sHb = new Float64Array(0);
    this.sViewer = new Int32Array(0);
    this.sA = new Float64Array(0); this.sB = new Float64Array(0); // current clipped interval (a < b) or a = b = 0
    this.entries = 0; this.sessions = 0;
    // concurrency: per-ms deltas over [S, E], per-second aggregates recomputed lazily
    const durMs = this.E - this.S;
    this.delta = new Int32Array(durMs + 1);
    this.nSec = Math.ceil(durMs / 1000);
    this.secSum = new Int32Array(this.nSec + 1);
    this.secMax = new Int32Array(this.nSec + 1); // max prefix within the second
    this.secArea = new Float64Array(this.nSec + 1); // Σ prefix within the second (ms · sessions)
    this.secDirty = new Uint8Array(this.nSec + 1);
    this.dirty = [];
    // per (viewer, minute) session coverage -> online
    this.cover = new Map();
    this.online = new Int32Array(this.M);
    // per-minute
    this.minInter = new Set();
    this.minInterPeople = new Int32Array(this.M);
    this.minOrders = new Int32Array(this.M);
    this.minGmv = new Float64Array(this.M);
    // products
    this.prod = []; // {impressions, clicks, orders, units, gmv}
    this.impressions = 0; this.clicks = 0;
    // orders
    this.oPaid = []; // per order: null | {ts, v, p, amount, units}
    this.oRefundFen = new Float64Array(0); this.oRefunds = new Int32Array(0);
    this.gmv = 0; this.orders = 0; this.units = 0;
    this.refundFen = 0; this.refunds = 0; this.refundAllFen = 0; this.refundAll = 0;
    this.productExposureEvents = 0;
    this.roomExposures = 0;
  }

  minuteOf(ts) {
    if (ts < this.S || ts > this.E) return -1;
    return ts === this.E ? this.M - 1 : Math.floor((ts - this.S) / MINUTE);
  }

  /** Ingests one columnar batch (the shape of Room.ingestColumns). */
  ingestColumns(c) {
    const n = c.kind.length;
    const str = c.strings;
    // batch ref -> interned id, per namespace, resolved lazily
    const cache = (interner) => {
      const t = new Int32Array(str.length).fill(-1);
      return (ref) => {
        if (ref === NONE) return -1;
        let i = t[ref];
        if (i === -1) { i = interner.id(str[ref]); t[ref] = i; }
        return i;
      };
    };
    const vOf = cache(this.vIds), sOf = cache(this.sIds), oOf = cache(this.oIds);
    const pt = new Int32Array(str.length).fill(-1);
    const pOf = (ref) => {
      if (ref === NONE) return -1;
      let i = pt[ref];
      if (i === -1) {
        const before = this.pIds.n;
        i = this.pIds.id(str[ref]); pt[ref] = i;
        if (i === before) { this.pNames.push(str[ref]); this.prod.push({ impressions: 0, clicks: 0, orders: 0, units: 0, gmv: 0 }); }
      }
      return i;
    };
    const { kind, ts, id, viewer, session, product, order, amount, units, followerSinceMs, seenBefore } = c;
    for (let i = 0; i < n; i++) {
      const t = ts[i];
      // lateness, then de-duplication (ids remembered while inside the window)
      if (t < this.watermark - this.lateness) { this.tooLate++; continue; }
      const eid = id[i];
      if (this.seen.has(eid)) { this.duplicates++; continue; }
      this.seen.set(eid, t);
      this.fifoTs.push(t); this.fifoId.push(eid);
      if (t > this.watermark) this.watermark = t;
      this.accepted++;
      const kd = kind[i];
      const v = vOf(viewer[i]);
      if (v >= 0 && v >= this.vFlags.length) this.growViewers(v + 1);
      switch (kd) {
        case K_ENTER: {
          this.entries++;
          const s = sOf(session[i]);
          this.growSessions(s + 1);
          if (Number.isNaN(this.sEnter[s])) { this.sessions++; this.sViewer[s] = v; this.sEnter[s] = t; } else if (t < this.sEnter[s]) this.sEnter[s] = t;
          let f = this.vFlags[v];
          if (!(f & 1)) { this.vFlags[v] = f | 1; this.viewers++; }
          if (t < this.vFirstEnter[v]) {
            const fs = followerSinceMs ? followerSinceMs[i] : NaN;
            const ret = (seenBefore && seenBefore[i] === 1) || (fs === fs && t - fs >= DAY) ? 1 : 0;
            const had = this.vFirstEnter[v] !== Infinity;
            if (had) this.returning -= this.vReturning[v];
            this.vFirstEnter[v] = t; this.vReturning[v] = ret; this.returning += ret;
          }
          this.refresh(s);
          break;
        }
        case K_LEAVE: case K_HEARTBEAT: {
          const s = sOf(session[i]);
          this.growSessions(s + 1);
          if (kd === K_LEAVE) { if (!(this.sLeave[s] >= t)) this.sLeave[s] = t; } else if (!(this.sHb[s] >= t)) this.sHb[s] = t;
          if (!Number.isNaN(this.sEnter[s])) this.refresh(s);
          break;
        }
        case K_ROOM_EXPOSURE: {
          this.roomExposures++;
          const f = this.vFlags[v];
          if (!(f & 2)) { this.vFlags[v] = f | 2; this.exposedPeople++; }
          break;
        }
        case K_COMMENT: case K_LIKE: case K_SHARE: {
          const f = this.vFlags[v];
          if (!(f & 4)) { this.vFlags[v] = f | 4; this.interactionPeople++; }
          const m = this.minuteOf(t);
          if (m >= 0) {
            const key = v * this.M + m;
            if (!this.minInter.has(key)) { this.minInter.add(key); this.minInterPeople[m]++; }
          }
          break;
        }
        case K_PRODUCT_IMPRESSION: {
          this.impressions++;
          this.prod[pOf(product[i])].impressions++;
          const f = this.vFlags[v];
          if (!(f & 8)) { this.vFlags[v] = f | 8; this.pexposedPeople++; }
          break;
        }
        case K_PRODUCT_CLICK: {
          this.clicks++;
          this.prod[pOf(product[i])].clicks++;
          const f = this.vFlags[v];
          if (!(f & 16)) { this.vFlags[v] = f | 16; this.clickers++; }
          break;
        }
        case K_ORDER_PAID: {
          const o = oOf(order[i]);
          this.growOrders(o + 1);
          const pay = { ts: t, v, p: pOf(product[i]), amount: amount[i] === amount[i] ? amount[i] : 0, units: units[i] === units[i] ? units[i] : 1 };
          const old = this.oPaid[o];
          if (old === undefined) { this.oPaid[o] = pay; this.payment(o, pay, 1); } else if (t < old.ts) {
            this.payment(o, old, -1); this.oPaid[o] = pay; this.payment(o, pay, 1);
          }
          break;
        }
        case K_REFUND: {
          const o = oOf(order[i]);
          this.growOrders(o + 1);
          const a = amount[i] === amount[i] ? amount[i] : 0;
          this.refundAllFen += a; this.refundAll++;
          this.oRefundFen[o] += a; this.oRefunds[o]++;
          if (this.oPaid[o] !== undefined) { this.refundFen += a; this.refunds++; }
          break;
        }
        default: break;
      }
    }
    // forget ids that left the lateness window
    const lo = this.watermark - this.lateness;
    let h = this.fifoHead;
    while (h < this.fifoTs.length && this.fifoTs[h] < lo) { this.seen.delete(this.fifoId[h]); h++; }
    if (h > 65536 && h * 2 > this.fifoTs.length) {
      this.fifoTs = this.fifoTs.slice(h); this.fifoId = this.fifoId.slice(h); h = 0;
    }
    this.fifoHead = h;
    return { accepted: this.accepted, duplicates: this.duplicates };
  }

  growViewers(n) {
    const old = this.vFlags.length;
    if (n <= old) return;
    this.vFlags = grow(this.vFlags, n, 0);
    this.vFirstEnter = grow(this.vFirstEnter, n, Infinity);
    this.vReturning = grow(this.vReturning, n, 0);
    this.vPaid = grow(this.vPaid, n, 0);
  }

  growSessions(n) {
    if (n <= this.sEnter.length) return;
    this.sEnter = grow(this.sEnter, n, NaN);
    this.sLeave = grow(this.sLeave, n, NaN);
    this.sHb = grow(this.sHb, n, NaN);
    this.sViewer = grow(this.sViewer, n, 0);
    this.sA = grow(this.sA, n, 0);
    this.sB = grow(this.sB, n, 0);
  }

  growOrders(n) {
    if (n <= this.oRefundFen.length) return;
    this.oRefundFen = grow(this.oRefundFen, n, 0);
    this.oRefunds = grow(this.oRefunds, n, 0);
  }

  payment(o, p, s) {
    this.orders += s; this.gmv += s * p.amount; this.units += s * p.units;
    const rn = this.oRefunds[o];
    this.refundFen += s * this.oRefundFen[o]; this.refunds += s * rn;
    if (p.p >= 0) { const pr = this.prod[p.p]; pr.orders += s; pr.units += s * p.units; pr.gmv += s * p.amount; }
    const was = this.vPaid[p.v] > 0;
    this.vPaid[p.v] += s;
    const is = this.vPaid[p.v] > 0;
    if (was !== is) this.buyers += is ? 1 : -1;
    const m = this.minuteOf(p.ts);
    if (m >= 0) { this.minOrders[m] += s; this.minGmv[m] += s * p.amount; }
  }

  /** Recomputes session s's clipped interval and moves its concurrency deltas and minute coverage. */
  refresh(s) {
    const enter = this.sEnter[s];
    const leave = this.sLeave[s];
    let end;
    if (leave === leave) end = Math.max(leave, enter);
    else { const hb = this.sHb[s]; end = (hb === hb && hb > enter ? hb : enter) + this.timeout; }
    let a = Math.max(enter, this.S), b = Math.min(end, this.E);
    if (b <= a) { a = 0; b = 0; }
    const oa = this.sA[s], ob = this.sB[s];
    if (a === oa && b === ob) return;
    if (ob > oa) { this.move(oa, -1); this.move(ob, 1); }
    if (b > a) { this.move(a, 1); this.move(b, -1); }
    this.sA[s] = a; this.sB[s] = b;
    // minute coverage of the viewer
    const v = this.sViewer[s];
    const [om0, om1] = ob > oa ? [Math.floor((oa - this.S) / MINUTE), Math.floor((ob - 1 - this.S) / MINUTE)] : [1, 0];
    const [nm0, nm1] = b > a ? [Math.floor((a - this.S) / MINUTE), Math.floor((b - 1 - this.S) / MINUTE)] : [1, 0];
    for (let m = om0; m <= om1; m++) if (m < nm0 || m > nm1) this.coverAdd(v, m, -1);
    for (let m = nm0; m <= nm1; m++) if (m < om0 || m > om1) this.coverAdd(v, m, 1);
  }

  coverAdd(v, m, d) {
    const key = v * this.M + m;
    const c = (this.cover.get(key) ?? 0) + d;
    if (c === 0) { this.cover.delete(key); this.online[m]--; } else {
      this.cover.set(key, c);
      if (c === 1 && d === 1) this.online[m]++;
    }
  }

  move(t, d) {
    const i = t - this.S;
    this.delta[i] += d;
    const sec = Math.floor(i / 1000);
    if (!this.secDirty[sec]) { this.secDirty[sec] = 1; this.dirty.push(sec); }
  }

  /** The KPIs as of nowMs (time KPIs up to the horizon min(now, end)). */
  snapshot(nowMs) {
    for (const sec of this.dirty) {
      this.secDirty[sec] = 0;
      let sum = 0, max = -Infinity, area = 0;
      const lo = sec * 1000, hi = Math.min(lo + 1000, this.delta.length);
      for (let j = lo; j < hi; j++) { sum += this.delta[j]; if (sum > max) max = sum; area += sum; }
      this.secSum[sec] = sum; this.secMax[sec] = max; this.secArea[sec] = area;
    }
    this.dirty.length = 0;
    const h = Math.min(nowMs, this.E) - this.S;
    let base = 0, pcu = 0, watch = 0;
    const full = Math.floor(h / 1000);
    for (let sec = 0; sec < full; sec++) {
      const m = base + this.secMax[sec];
      if (m > pcu) pcu = m;
      watch += base * 1000 + this.secArea[sec];
      base += this.secSum[sec];
    }
    for (let j = full * 1000; j < h; j++) { base += this.delta[j]; if (base > pcu) pcu = base; watch += base; }
    const minutes = Math.max(0, Math.min(this.M, Math.ceil(h / MINUTE)));
    const goods = [];
    for (let p = 0; p < this.prod.length; p++) {
      const r = this.prod[p];
      goods.push({ product: this.pNames[p], impressions: r.impressions, clicks: r.clicks, orders: r.orders, units: r.units, gmv_fen: r.gmv });
    }
    goods.sort((a, b) => (a.product < b.product ? -1 : a.product > b.product ? 1 : 0));
    const series = [];
    for (let m = 0; m < minutes; m++) {
      series.push({ minute: m, online: this.online[m], interaction_people: this.minInterPeople[m], orders: this.minOrders[m], gmv_fen: this.minGmv[m] });
    }
    return {
      viewers: this.viewers, entries: this.entries, sessions: this.sessions,
      watch_ms_total: watch, pcu,
      interaction_people: this.interactionPeople,
      product_exposure_people: this.pexposedPeople, clickers: this.clickers,
      impressions: this.impressions, clicks: this.clicks,
      gmv_fen: this.gmv, orders: this.orders, buyers: this.buyers, units: this.units,
      refund_fen: this.refundFen, refunds: this.refunds,
      unknown_order_refund_fen: this.refundAllFen - this.refundFen, unknown_order_refunds: this.refundAll - this.refunds,
      funnel_people: [this.exposedPeople, this.viewers, this.pexposedPeople, this.clickers, this.buyers],
      viewers_new: this.viewers - this.returning, viewers_returning: this.returning,
      goods, minutes: series,
    };
  }
}

/** The same KPI subset picked out of a livekpi snapshot (for the agreement check). */
export function pickLivekpi(s) {
  return {
    viewers: s.process.viewers, entries: s.process.entries, sessions: s.process.sessions,
    watch_ms_total: s.process.watch_ms_total, pcu: s.process.pcu,
    interaction_people: s.process.interaction_people,
    product_exposure_people: s.process.product_exposure_people, clickers: s.process.clickers,
    impressions: s.process.impressions, clicks: s.process.clicks,
    gmv_fen: s.result.gmv_fen, orders: s.result.orders, buyers: s.result.buyers, units: s.result.units,
    refund_fen: s.result.refund_fen, refunds: s.result.refunds,
    unknown_order_refund_fen: s.result.unknown_order_refund_fen, unknown_order_refunds: s.result.unknown_order_refunds,
    funnel_people: s.funnel.steps.map((x) => x.people),
    viewers_new: s.people.viewers.new, viewers_returning: s.people.viewers.returning,
    goods: s.goods.map((g) => ({ product: g.product, impressions: g.impressions, clicks: g.clicks, orders: g.orders, units: g.units, gmv_fen: g.gmv_fen }))
      .sort((a, b) => (a.product < b.product ? -1 : a.product > b.product ? 1 : 0)),
    minutes: s.scene.minutes.map((m) => ({ minute: m.minute, online: m.online, interaction_people: m.interaction_people, orders: m.orders, gmv_fen: m.gmv_fen })),
  };
}

/** Differences between two picked KPI objects (empty = agree). */
export function diffKpis(a, b, path = '') {
  const out = [];
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return [`${path}: length ${a?.length} vs ${b?.length}`];
    for (let i = 0; i < a.length; i++) out.push(...diffKpis(a[i], b[i], `${path}[${i}]`));
    return out;
  }
  if (a && typeof a === 'object') {
    for (const key of Object.keys(a)) out.push(...diffKpis(a[key], b?.[key], path ? `${path}.${key}` : key));
    return out;
  }
  return a === b ? [] : [`${path}: ${a} vs ${b}`];
}
