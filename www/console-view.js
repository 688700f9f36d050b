// The console's view: turns what the worker computed (a livekpi/console snapshot, the collector's
// merged viewer summaries, alerts, forecast, sentiment) into each panel's HTML and each chart's
// series. It runs in the worker (www/console-worker.js), so the page's main thread receives only
// the panels that changed and the chart arrays, and draws them.

export const yuan = (fen) => `¥${(fen / 100).toLocaleString('zh-CN', { maximumFractionDigits: 0 })}`;
export const pct = (r) => (r && r.value !== null ? `${(r.value * 100).toFixed(1)}%` : '—');
export const num = (n) => (n === null || n === undefined ? '—' : Number(n).toLocaleString('zh-CN'));
export const frac = (r) => (r ? `${num(r.numerator)} / ${num(r.denominator)}` : '');
export const tile = (label, value, sub = '') =>
  `<div class="tile"><div class="label">${label}</div><div class="value">${value}</div><div class="frac">${sub}</div></div>`;

const RULES = {
  interaction_drop: '互动率下滑 interaction drop → 换话术/抽奖 change script or start a lottery',
  online_cliff: '在线人数骤降 online cliff → 检查推流与流量 check stream & traffic',
  conversion_collapse: '转化骤降 conversion collapse → 检查下单链路 check checkout',
  stall_spike: '卡顿飙升 stall spike → 切换 CDN switch CDN route',
  latency_spike: '延迟飙升 latency spike → 切换 CDN switch CDN route',
};

const ms = (x) => (x === null || x === undefined ? '—' : `${Math.round(x)} ms`);
const STATE = { ok: '正常 OK', alert: '告警 alert', none: '无样本 no data' };
const BREACH = { fast_start: '秒开率 fast start', stall: '卡顿率 stall', latency: '延迟 latency' };
const REGION_RULE = { stall_spike: '卡顿飙升 stall spike', latency_spike: '延迟飙升 latency spike' };
/** HH:MM (UTC) of a time in ms since the epoch. */
export const hhmm = (t) => new Date(t).toISOString().slice(11, 16);
/** Size of an alert's shift: relative to the baseline mean (when known) and in baseline sigmas. */
const shift = (rel, sigmas) => `${rel === null || rel === undefined ? '' : `${rel >= 0 ? '+' : ''}${(rel * 100).toFixed(0)}%, `}${sigmas.toFixed(1)}σ`;

/** The state cell: the regional alerts in force (rule, shift, since / until), then the vs-target mark. */
function stateCell(g) {
  const parts = [STATE[g.state]];
  for (const a of g.alerts) parts.push(`${REGION_RULE[a.rule] ?? a.rule} ${shift(a.shiftRel, a.shiftSigmas)} · ${hhmm(a.sinceMs)}–${hhmm(a.untilMs)}`);
  const target = g.breaches.length ? `<span class="muted vs-target"> · 未达目标 vs target: ${g.breaches.map((b) => BREACH[b]).join(', ')}</span>` : '';
  return `<td class="state-${g.state}" title="${parts.slice(1).join('; ')}">${parts.join(' · ')}${target}</td>`;
}

/** The region QoE table: one row per region of the collector's merged viewer summaries. */
function regionQoeTable(rows) {
  const head = '<tr><th>地域 region</th><th>观众 viewers</th><th>首帧 P50 first frame</th><th>首帧 P90</th><th>秒开率 ≤1 s start</th>' +
    '<th>卡顿率 stall rate</th><th>卡顿占比 stall ratio</th><th>延迟 P50 latency</th><th>状态 state (预警规则 alert rules)</th></tr>';
  if (!rows.length) return `${head}<tr><td colspan="9" class="muted">暂无观众端汇总 no viewer summaries yet — 打开观众页 open /viewer.html</td></tr>`;
  return head + rows.map((g) => `<tr data-region="${g.region}" data-state="${g.state}"><td>${g.region}</td><td>${num(Math.round(g.viewers))}</td>` +
    `<td>${ms(g.startupP50Ms)}</td><td>${ms(g.startupP90Ms)}</td><td title="${frac(g.fastStartRate)}">${pct(g.fastStartRate)}</td>` +
    `<td title="${frac(g.stallRate)}">${pct(g.stallRate)}</td><td title="${frac(g.stallRatio)}">${pct(g.stallRatio)}</td>` +
    `<td>${g.latencyP50Ms === null ? '—' : `${(g.latencyP50Ms / 1000).toFixed(2)} s`}</td>${stateCell(g)}</tr>`).join('');
}

const KPI = {
  gmv_fen: ['成交金额 GMV', (v) => yuan(v)],
  gpm: ['千次观看成交 GPM', (v) => yuan(v)],
  orders: ['订单数 orders', (v) => num(Math.round(v))],
  avg_watch_ms: ['人均观看 avg watch', (v) => `${(v / 1000).toFixed(0)} s`],
  interaction_rate: ['互动率 interaction', (v) => `${(v * 100).toFixed(1)}%`],
  exposure_click_rate: ['曝光-点击 CTR', (v) => `${(v * 100).toFixed(1)}%`],
  click_purchase_rate: ['点击-成交 CVR', (v) => `${(v * 100).toFixed(1)}%`],
  follow_rate: ['转粉率 follow', (v) => `${(v * 100).toFixed(1)}%`],
  first_frame_ms: ['首帧 first frame', (v) => `${Math.round(v)} ms`],
  stall_rate: ['卡顿率 stall rate', (v) => `${(v * 100).toFixed(2)}%`],
  latency_ms: ['延迟 latency', (v) => `${(v / 1000).toFixed(2)} s`],
};
const LAYER = { result: '结果 result', process: '过程 process', technical: '技术 technical' };
const kpiLabel = (i) => KPI[i.kpi]?.[0] ?? i.label;
const kpiValue = (kpi, v) => (v === null || v === undefined ? '—' : (KPI[kpi]?.[1] ?? num)(v));

/** The role scorecards: one card per role, its score, layer subtotals and items. */
function scorecardsHtml(cards) {
  return cards.map((c) => `<div class="card" data-role="${c.role}"><div class="card-head"><b>${c.title}</b>` +
    `<span class="big">${c.score === null ? '—' : c.score.toFixed(1)}</span><span class="muted"> / 100 (上限 max ${c.max_score.toFixed(0)})</span></div>` +
    `<div class="muted">${c.layers.map((l) => `${LAYER[l.layer] ?? l.layer} ${l.points.toFixed(1)}`).join(' · ')}</div>` +
    '<table><tr><th>指标 KPI</th><th>实际 actual</th><th>目标 target</th><th>达成 attain.</th><th>得分 points</th></tr>' +
    c.items.map((i) => `<tr data-kpi="${i.kpi}"><td>${kpiLabel(i)}</td><td>${kpiValue(i.kpi, i.value)}</td><td>${kpiValue(i.kpi, i.target)}</td>` +
      `<td>${i.attainment === null ? '—' : `${(i.attainment * 100).toFixed(0)}%`}</td><td>${i.points === null ? '—' : i.points.toFixed(1)}</td></tr>`).join('') +
    `</table>${c.missing.length ? `<div class="muted">缺数据 missing: ${c.missing.map((k) => KPI[k]?.[0] ?? k).join(', ')} — 权重已重新分配 weight redistributed</div>` : ''}</div>`).join('');
}

const PRODUCT_ROLE = { traffic: '引流款 traffic', profit: '利润款 profit', steady: '常规款 steady', weak: '弱势款 weak', insufficient_data: '数据少 few data' };
const TAG = {
  lottery_red_packet: '抽奖红包 red packet', vote: '投票 vote', cohost: '连麦 co-host', product_demo: '商品讲解 product demo',
  comment_burst: '评论爆发 comment burst', traffic_inflow: '流量涌入 traffic inflow', no_marked_event: '无标记事件 nothing marked',
};
const DIMENSION = { new_returning: '新老客 new/returning', tier: '城市等级 tier', region: '地域 region', source: '来源 source' };
const ratio = (x) => (x === null || x === undefined ? '—' : `${x.toFixed(2)}×`);
const share = (x) => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)}%`);

/** The after-stream recommendations (复盘): running order, top moments, audience, review. */
function recommendationsHtml(r) {
  const order = r.products.suggested_order;
  const products = '<h3>排品建议 product running order</h3><table class="order"><tr><th>顺序 order</th><th>商品 product</th><th>角色 role</th>' +
    '<th>转化率 conv.</th><th>GPM</th><th>GMV</th></tr>' +
    order.map((id, k) => {
      const p = r.products.ranking.find((x) => x.product === id);
      return `<tr data-product="${id}"><td>${k + 1}</td><td>${id}</td><td>${PRODUCT_ROLE[p.role] ?? p.role}</td><td>${share(p.conversion)}</td>` +
        `<td>${p.gpm === null ? '—' : yuan(p.gpm)}</td><td>${yuan(p.gmv_fen)}</td></tr>`;
    }).join('') + '</table>';
  const moments = '<h3>高光时刻 top interaction moments</h3><table class="moments"><tr><th>分钟 min</th><th>互动率 interaction</th><th>相对中位 vs median</th><th>订单 orders</th><th>发生了什么 what happened</th></tr>' +
    r.moments.map((m) => `<tr data-minute="${m.minute}"><td>${m.minute}</td><td>${share(m.interaction_rate)}</td><td>${ratio(m.rate_vs_median)}</td><td>${num(m.orders)}</td>` +
      `<td class="wrap">${m.tags.map((t) => TAG[t] ?? t).join(' · ')}${m.around?.demo_product ? ` · 讲解 ${m.around.demo_product}` : ''}</td></tr>`).join('') + '</table>';
  const audience = `<h3>投放人群 ad targeting (buyers vs viewers)</h3>` +
    `<div><b>加投 target</b> ${r.audience.target.length ? r.audience.target.join(' · ') : '—'}</div>` +
    `<div><b>减投 avoid</b> ${r.audience.avoid.length ? r.audience.avoid.join(' · ') : '—'}</div>` +
    `<div class="muted">${r.audience.dimensions.map((d) => `${DIMENSION[d.dimension] ?? d.dimension}: ${d.groups.slice(0, 3).map((g) => `${g.key ?? '未知 unknown'} ${ratio(g.lift)}`).join(', ')}`).join(' · ')}</div>`;
  const rows = Object.keys(REVIEW).map((k) => r.review.rows.find((x) => x.kpi === k)).filter(Boolean);
  const review = `<h3>复盘 review ${r.review.has_previous ? 'vs 上一场 previous stream' : ''}</h3>` +
    '<table class="review"><tr><th>指标 KPI</th><th>上一场 previous</th><th>本场 this stream</th><th>变化 change</th></tr>' +
    rows.map((x) => `<tr data-kpi="${x.kpi}"><td>${REVIEW[x.kpi][0]}</td><td>${x.previous === null ? '—' : REVIEW[x.kpi][1](x.previous)}</td>` +
      `<td>${x.actual === null ? '—' : REVIEW[x.kpi][1](x.actual)}</td><td>${x.delta_ratio === null ? '—' : `${x.delta_ratio >= 0 ? '+' : ''}${(x.delta_ratio * 100).toFixed(1)}%`}</td></tr>`).join('') +
    '</table>' + (r.review.learnings.length ? `<ul>${r.review.learnings.map((l) => `<li>${l}</li>`).join('')}</ul>` : '');
  return `<div class="recs"><div>${products}</div><div>${moments}</div><div>${audience}</div><div>${review}</div></div>`;
}
const rate = (v) => `${(v * 100).toFixed(1)}%`;
const whole = (v) => num(Math.round(v));
/** The review's KPIs shown (snapshot field paths), with labels and formats (money in fen). */
const REVIEW = {
  'result.gmv_fen': ['成交金额 GMV', yuan],
  'result.orders': ['订单数 orders', whole],
  'result.buyers': ['成交人数 buyers', whole],
  'result.aov': ['客单价 AOV', yuan],
  'result.gpm': ['千次观看成交 GPM', yuan],
  'process.viewers': ['观看人数 viewers', whole],
  'process.avg_watch_ms': ['人均观看 avg watch', (v) => `${(v / 1000).toFixed(0)} s`],
  'process.interaction_rate': ['互动率 interaction', rate],
  'process.exposure_click_rate': ['曝光-点击 CTR', rate],
  'process.click_purchase_rate': ['点击-成交 CVR', rate],
};

/**
 * Every panel's HTML (by element id) and every chart's data (by element id: [xs, ys]) for one
 * refresh. `d`: { snapshot, simNowMs, ended, ingested, rejected, snapshotMs, qoe, regionQoe,
 * qoeMinutes, alerts, forecast, sentiment, terms, targets, scorecards, recommendations }.
 */
export function view(d) {
  const panels = {};
  const charts = {};

  const { snapshot: s, simNowMs, ingested, rejected, snapshotMs, qoe, alerts = [], forecast = null, sentiment = [], terms = null } = d;
  const r = s.result;
  const p = s.process;
  panels['clock'] = `${d.ended ? '已下播 stream ended' : '直播时间 stream time'} ${new Date(simNowMs).toISOString().slice(11, 19)} UTC · 第 ${s.minutes} 分钟 min`;
  panels['engine'] = `事件 events ${num(ingested)} (拒绝 rejected ${num(rejected)}) · 快照 snapshot ${snapshotMs.toFixed(2)} ms`;
  panels['layer-result'] = [
    tile('成交金额 GMV', yuan(r.gmv_fen)),
    tile('订单数 orders', num(r.orders)),
    tile('成交人数 buyers', num(r.buyers)),
    tile('客单价 AOV', r.aov.value === null ? '—' : yuan(r.aov.value), frac(r.aov)),
    tile('GPM 千次观看成交', r.gpm.value === null ? '—' : yuan(r.gpm.value), `1000 × ${frac(r.gpm)}`),
    tile('UV价值 UV value', r.uv_value.value === null ? '—' : yuan(r.uv_value.value), frac(r.uv_value)),
    tile('退款率 refund rate', pct(r.refund_rate), frac(r.refund_rate)),
  ].join('');
  panels['layer-process'] = [
    tile('观看人数 viewers', num(p.viewers)),
    tile('观看次数 entries', num(p.entries)),
    tile('最高在线 PCU', num(p.pcu)),
    tile('平均在线 ACU', p.acu_time_weighted.value === null ? '—' : p.acu_time_weighted.value.toFixed(1), '时间加权 time-weighted'),
    tile('人均观看 avg watch', p.avg_watch_ms.value === null ? '—' : `${(p.avg_watch_ms.value / 1000).toFixed(0)} s`, `P50 ${(p.watch_median_ms / 1000 || 0).toFixed(0)} s · P90 ${(p.watch_p90_ms / 1000 || 0).toFixed(0)} s`),
    tile('互动率 interaction', pct(p.interaction_rate), frac(p.interaction_rate)),
    tile('转粉率 follow', pct(p.follow_rate), frac(p.follow_rate)),
    tile('曝光-点击 CTR', pct(p.exposure_click_rate), frac(p.exposure_click_rate)),
    tile('点击-成交 CVR', pct(p.click_purchase_rate), frac(p.click_purchase_rate)),
    tile('观看-成交 view→buy', pct(p.view_purchase_rate), frac(p.view_purchase_rate)),
  ].join('');
  const t = qoe?.total;
  const none = '打开观众页 open /viewer.html';
  const q = (k) => t?.quantiles?.[k];
  panels['layer-tech'] = t ? [
    tile('观众端会话 viewer sessions', num(Math.round(t.distinct_viewers)), 'HLL (DataSketches)'),
    tile('秒开率 ≤1 s start', pct(t.rates.fast_start_rate), frac(t.rates.fast_start_rate)),
    tile('首帧 P50 first frame', q('startup_ms')?.n ? ms(q('startup_ms').p50) : '—', q('startup_ms')?.n ? `P90 ${ms(q('startup_ms').p90)}` : ''),
    tile('卡顿率 stall rate', pct(t.rates.stall_rate), frac(t.rates.stall_rate)),
    tile('延迟 latency', t.rates.latency_mean_ms.value === null ? '—' : `${(t.rates.latency_mean_ms.value / 1000).toFixed(2)} s`, '端到端均值 glass-to-glass mean'),
    tile('起播失败 startup failures', pct(t.rates.startup_failure_rate), frac(t.rates.startup_failure_rate)),
  ].join('') : [
    tile('首帧 first frame', '—', none),
    tile('卡顿率 stall rate', '—', none),
    tile('延迟 latency', '—', none),
  ].join('');

  const minutes = s.scene.minutes;
  const xs = minutes.map((m) => m.minute);
  charts['chart-online'] = [xs, minutes.map((m) => m.online)];
  charts['chart-interaction'] = [xs, minutes.map((m) => (m.interaction_rate.value === null ? null : m.interaction_rate.value * 100))];
  charts['chart-gmv'] = [xs, minutes.map((m) => m.gmv_fen / 100)];
  const qm = d.qoeMinutes;
  charts['chart-stall'] = [qm.t, qm.stallPct];
  charts['chart-latency'] = [qm.t, qm.latencyS];

  // Room rules: the stream minute; regional QoE rules: the viewers' clock (minute index = epoch minutes).
  panels['alerts'] = alerts.length ? alerts.map((a) =>
    `<div class="alert" data-rule="${a.rule}"${a.region ? ` data-region="${a.region}"` : ''}><b>${a.region ? `${hhmm(a.minute * 60_000)} UTC` : `第 ${a.minute} 分钟 min ${a.minute}`}</b> ${RULES[a.rule] ?? a.rule}${a.region ? ` · ${a.region}` : ''}<br>
     <span class="muted">${a.series}: ${a.value.toFixed(3)} vs 基线 baseline ${a.baseline_mean.toFixed(3)} (${shift(a.shift_rel, a.shift_sigmas)}, ${a.detector})</span></div>`).join('')
    : '<div class="muted">暂无预警 no alerts</div>';
  panels['forecast'] = forecast
    ? `<div class="big">${yuan(forecast.point_fen)}</div><div class="muted">80% 区间 interval: ${yuan(forecast.low_fen)} – ${yuan(forecast.high_fen)}</div>
       <div class="muted">已成交 so far ${yuan(forecast.gmv_so_far_fen)} · 已播 elapsed ${(forecast.elapsed_fraction * 100).toFixed(0)}% · 线性外推 naive ${yuan(forecast.naive_fen)}</div>`
    : '<div class="muted">开播 5 分钟后预测 forecast after 5 minutes</div>';
  charts['chart-sentiment'] = [sentiment.map((x) => x.minute), sentiment.map((x) => x.mean_score)];
  panels['terms'] = terms
    ? `<div class="muted terms">近 10 分钟 last 10 min · 正面 positive: ${terms.positive.map((x) => `${x.term}×${x.count}`).join(' ') || '—'}</div>
       <div class="muted">负面 negative: ${terms.negative.map((x) => `${x.term}×${x.count}`).join(' ') || '—'}</div>`
    : '';

  const steps = s.funnel.steps;
  const top = Math.max(1, ...steps.map((x) => x.people));
  const names = { room_exposure: '直播间曝光 exposure', enter: '进入 enter', product_exposure: '商品曝光 product exposure', click: '商品点击 click', purchase: '成交 purchase' };
  panels['funnel'] = steps.map((x) =>
    `<div class="bar"><span style="width:${(100 * x.people) / top}%"></span><em>${names[x.step] ?? x.step} · ${num(x.people)}${x.rate ? ` · ${pct(x.rate)}` : ''}</em></div>`).join('');

  panels['goods'] = '<tr><th>商品 product</th><th>曝光 impressions</th><th>点击 clicks</th><th>点击率 CTR</th><th>件数 units</th><th>转化率 conv.</th><th>GMV</th></tr>' +
    s.goods.slice(0, 12).map((g) => `<tr><td>${g.product}</td><td>${num(g.impressions)}</td><td>${num(g.clicks)}</td><td>${pct(g.ctr)}</td><td>${num(g.units)}</td><td>${pct(g.conversion)}</td><td>${yuan(g.gmv_fen)}</td></tr>`).join('');
  panels['regions'] = '<tr><th>地域 region</th><th>观看 viewers</th><th>成交 buyers</th><th>转化 conv.</th></tr>' +
    s.people.regions.slice(0, 10).map((g) => `<tr><td>${g.key ?? '未知 unknown'}</td><td>${num(g.viewers)}</td><td>${num(g.buyers)}</td><td>${pct(g.conversion)}</td></tr>`).join('');
  panels['region-qoe'] = regionQoeTable(d.regionQoe);
  const tg = d.targets;
  panels['qoe-targets'] = `状态 state = 地域预警规则 regional alert rules (卡顿飙升 stall_spike / 延迟飙升 latency_spike, 每分钟 per minute, 冷却 cool-down ${d.alertMinutes} min) · ` +
    `未达目标 vs-target mark (累计 since start): 秒开率 fast start ≥ ${tg.fastStartMin * 100}% · 卡顿率 stall rate ≤ ${tg.stallRateMax * 100}% · 延迟 P50 latency ≤ ${tg.latencyP50MaxMs / 1000} s · ` +
    '首帧/延迟分位数 quantiles: KLL (DataSketches) · 卡顿率 = 卡顿时长 / 播放时长 stall ms / playing ms · 卡顿占比 = 卡顿 / (播放 + 卡顿)';

  panels['scorecards'] = d.scorecards ? scorecardsHtml(d.scorecards) : '';
  panels['recommendations'] = d.recommendations
    ? recommendationsHtml(d.recommendations)
    : '<div class="muted">下播后生成：排品、高光时刻、投放人群、复盘 — after the stream ends: running order, top moments, ad targeting, review</div>';
  return { panels, charts };
}
