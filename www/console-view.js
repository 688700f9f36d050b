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

/** The region QoE table: one row per region of the collector's merged viewer summaries. */
function regionQoeTable(rows) {
  const head = '<tr><th>地域 region</th><th>观众 viewers</th><th>首帧 P50 first frame</th><th>首帧 P90</th><th>秒开率 ≤1 s start</th>' +
    '<th>卡顿率 stall rate</th><th>卡顿占比 stall ratio</th><th>延迟 P50 latency</th><th>状态 state</th></tr>';
  if (!rows.length) return `${head}<tr><td colspan="9" class="muted">暂无观众端汇总 no viewer summaries yet — 打开观众页 open /viewer.html</td></tr>`;
  return head + rows.map((g) => `<tr data-region="${g.region}"><td>${g.region}</td><td>${num(Math.round(g.viewers))}</td>` +
    `<td>${ms(g.startupP50Ms)}</td><td>${ms(g.startupP90Ms)}</td><td title="${frac(g.fastStartRate)}">${pct(g.fastStartRate)}</td>` +
    `<td title="${frac(g.stallRate)}">${pct(g.stallRate)}</td><td title="${frac(g.stallRatio)}">${pct(g.stallRatio)}</td>` +
    `<td>${g.latencyP50Ms === null ? '—' : `${(g.latencyP50Ms / 1000).toFixed(2)} s`}</td>` +
    `<td class="state-${g.state}">${STATE[g.state]}${g.breaches.length ? ` · ${g.breaches.map((b) => BREACH[b]).join(', ')}` : ''}</td></tr>`).join('');
}

/**
 * Every panel's HTML (by element id) and every chart's data (by element id: [xs, ys]) for one
 * refresh. `d`: { snapshot, simNowMs, ended, ingested, rejected, snapshotMs, qoe, regionQoe,
 * qoeMinutes, alerts, forecast, sentiment, terms, targets }.
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

  panels['alerts'] = alerts.length ? alerts.map((a) =>
    `<div class="alert"><b>第 ${a.minute} 分钟 min ${a.minute}</b> ${RULES[a.rule] ?? a.rule}${a.region ? ` · ${a.region}` : ''}<br>
     <span class="muted">${a.series}: ${a.value.toFixed(3)} vs 基线 baseline ${a.baseline_mean.toFixed(3)} (${a.shift_sigmas.toFixed(1)}σ, ${a.detector})</span></div>`).join('')
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
  panels['qoe-targets'] = `状态目标 targets: 秒开率 fast start ≥ ${tg.fastStartMin * 100}% · 卡顿率 stall rate ≤ ${tg.stallRateMax * 100}% · 延迟 P50 latency ≤ ${tg.latencyP50MaxMs / 1000} s · ` +
    '首帧/延迟分位数 quantiles: KLL (DataSketches) · 卡顿率 = 卡顿时长 / 播放时长 stall ms / playing ms · 卡顿占比 = 卡顿 / (播放 + 卡顿)';

  return { panels, charts };
}
