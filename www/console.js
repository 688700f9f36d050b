// The operator console page: draws what the worker computes (www/console-worker.js). All KPI
// numbers come from livekpi/console snapshots; this file only formats and plots them.
import uPlot from '/vendor/uplot/uPlot.esm.js';

const $ = (id) => document.getElementById(id);
const yuan = (fen) => `¥${(fen / 100).toLocaleString('zh-CN', { maximumFractionDigits: 0 })}`;
const pct = (r) => (r && r.value !== null ? `${(r.value * 100).toFixed(1)}%` : '—');
const num = (n) => (n === null || n === undefined ? '—' : Number(n).toLocaleString('zh-CN'));
const frac = (r) => (r ? `${num(r.numerator)} / ${num(r.denominator)}` : '');
const tile = (label, value, sub = '') =>
  `<div class="tile"><div class="label">${label}</div><div class="value">${value}</div><div class="frac">${sub}</div></div>`;

const charts = {};
function chart(id, label, stroke) {
  const el = $(id);
  charts[id] = new uPlot({
    width: el.clientWidth || 600, height: 180,
    scales: { x: { time: false } },
    axes: [{ label: 'min' }, {}],
    series: [{ label: 'minute' }, { label, stroke, width: 2, fill: `${stroke}22` }],
  }, [[], []], el);
}
chart('chart-online', '在线 online', '#3370ff');
chart('chart-interaction', '互动率 interaction', '#00b42a');
chart('chart-gmv', 'GMV ¥', '#ff4d4f');
chart('chart-sentiment', '情绪 mean score', '#722ed1');

const RULES = {
  interaction_drop: '互动率下滑 interaction drop → 换话术/抽奖 change script or start a lottery',
  online_cliff: '在线人数骤降 online cliff → 检查推流与流量 check stream & traffic',
  conversion_collapse: '转化骤降 conversion collapse → 检查下单链路 check checkout',
  stall_spike: '卡顿飙升 stall spike → 切换 CDN switch CDN route',
  latency_spike: '延迟飙升 latency spike → 切换 CDN switch CDN route',
};

function render({ snapshot: s, simNowMs, ingested, rejected, snapshotMs, qoe, alerts = [], forecast = null, sentiment = [], terms = null }) {
  const r = s.result;
  const p = s.process;
  $('clock').textContent = `直播时间 stream time ${new Date(simNowMs).toISOString().slice(11, 19)} UTC · 第 ${s.minutes} 分钟`;
  $('engine').textContent = `事件 events ${num(ingested)} (拒绝 rejected ${num(rejected)}) · 快照 snapshot ${snapshotMs.toFixed(2)} ms`;
  $('layer-result').innerHTML = [
    tile('成交金额 GMV', yuan(r.gmv_fen)),
    tile('订单数 orders', num(r.orders)),
    tile('成交人数 buyers', num(r.buyers)),
    tile('客单价 AOV', r.aov.value === null ? '—' : yuan(r.aov.value), frac(r.aov)),
    tile('GPM 千次观看成交', r.gpm.value === null ? '—' : yuan(r.gpm.value), `1000 × ${frac(r.gpm)}`),
    tile('UV价值 UV value', r.uv_value.value === null ? '—' : yuan(r.uv_value.value), frac(r.uv_value)),
    tile('退款率 refund rate', pct(r.refund_rate), frac(r.refund_rate)),
  ].join('');
  $('layer-process').innerHTML = [
    tile('观看人数 viewers', num(p.viewers)),
    tile('观看次数 entries', num(p.entries)),
    tile('最高在线 PCU', num(p.pcu)),
    tile('平均在线 ACU', p.acu_time_weighted.value === null ? '—' : p.acu_time_weighted.value.toFixed(1), 'time-weighted'),
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
  $('layer-tech').innerHTML = t ? [
    tile('观众端会话 viewer sessions', num(Math.round(t.distinct_viewers)), 'HLL (DataSketches)'),
    tile('秒开率 ≤1 s start', pct(t.rates.fast_start_rate), frac(t.rates.fast_start_rate)),
    tile('首帧 P50 first frame', q('startup_ms')?.n ? `${Math.round(q('startup_ms').p50)} ms` : '—', q('startup_ms')?.n ? `P90 ${Math.round(q('startup_ms').p90)} ms` : ''),
    tile('卡顿率 stall rate', pct(t.rates.stall_rate), frac(t.rates.stall_rate)),
    tile('延迟 latency', t.rates.latency_mean_ms.value === null ? '—' : `${(t.rates.latency_mean_ms.value / 1000).toFixed(2)} s`, 'glass-to-glass, mean'),
    tile('起播失败 startup failures', pct(t.rates.startup_failure_rate), frac(t.rates.startup_failure_rate)),
  ].join('') : [
    tile('首帧 first frame', '—', none),
    tile('卡顿率 stall rate', '—', none),
    tile('延迟 latency', '—', none),
  ].join('');

  const minutes = s.scene.minutes;
  const xs = minutes.map((m) => m.minute);
  charts['chart-online'].setData([xs, minutes.map((m) => m.online)]);
  charts['chart-interaction'].setData([xs, minutes.map((m) => (m.interaction_rate.value === null ? null : m.interaction_rate.value * 100))]);
  charts['chart-gmv'].setData([xs, minutes.map((m) => m.gmv_fen / 100)]);

  $('alerts').innerHTML = alerts.length ? alerts.map((a) =>
    `<div class="alert"><b>第 ${a.minute} 分钟 min ${a.minute}</b> ${RULES[a.rule] ?? a.rule}${a.region ? ` · ${a.region}` : ''}<br>
     <span class="muted">${a.series}: ${a.value.toFixed(3)} vs 基线 baseline ${a.baseline_mean.toFixed(3)} (${a.shift_sigmas.toFixed(1)}σ, ${a.detector})</span></div>`).join('')
    : '<div class="muted">暂无预警 no alerts</div>';
  $('forecast').innerHTML = forecast
    ? `<div class="big">${yuan(forecast.point_fen)}</div><div class="muted">80%: ${yuan(forecast.low_fen)} – ${yuan(forecast.high_fen)}</div>
       <div class="muted">已成交 so far ${yuan(forecast.gmv_so_far_fen)} · ${(forecast.elapsed_fraction * 100).toFixed(0)}% 已播 elapsed · 线性外推 naive ${yuan(forecast.naive_fen)}</div>`
    : '<div class="muted">开播 5 分钟后预测 forecast after 5 minutes</div>';
  charts['chart-sentiment'].setData([sentiment.map((p) => p.minute), sentiment.map((p) => p.mean_score)]);
  $('terms').innerHTML = terms
    ? `<div class="muted">近10分钟 last 10 min · 正面 + ${terms.positive.map((t) => `${t.term}×${t.count}`).join(' ') || '—'}</div>
       <div class="muted">负面 − ${terms.negative.map((t) => `${t.term}×${t.count}`).join(' ') || '—'}</div>`
    : '';

  const steps = s.funnel.steps;
  const top = Math.max(1, ...steps.map((x) => x.people));
  const names = { room_exposure: '直播间曝光 exposure', enter: '进入 enter', product_exposure: '商品曝光 product exposure', click: '商品点击 click', purchase: '成交 purchase' };
  $('funnel').innerHTML = steps.map((x) =>
    `<div class="bar"><span style="width:${(100 * x.people) / top}%"></span><em>${names[x.step] ?? x.step} · ${num(x.people)}${x.rate ? ` · ${pct(x.rate)}` : ''}</em></div>`).join('');

  $('goods').innerHTML = '<tr><th>商品 product</th><th>曝光 impressions</th><th>点击 clicks</th><th>点击率 CTR</th><th>件数 units</th><th>转化率 conv.</th><th>GMV</th></tr>' +
    s.goods.slice(0, 12).map((g) => `<tr><td>${g.product}</td><td>${num(g.impressions)}</td><td>${num(g.clicks)}</td><td>${pct(g.ctr)}</td><td>${num(g.units)}</td><td>${pct(g.conversion)}</td><td>${yuan(g.gmv_fen)}</td></tr>`).join('');
  $('regions').innerHTML = '<tr><th>地域 region</th><th>观看 viewers</th><th>成交 buyers</th><th>转化 conv.</th></tr>' +
    s.people.regions.slice(0, 10).map((g) => `<tr><td>${g.key}</td><td>${num(g.viewers)}</td><td>${num(g.buyers)}</td><td>${pct(g.conversion)}</td></tr>`).join('');

  window.__console = { snapshot: s, simNowMs, qoe, renderedAt: performance.now() };
  document.body.dataset.rendered = String(Number(document.body.dataset.rendered ?? 0) + 1);
}

const worker = new Worker('/console-worker.js', { type: 'module' });
worker.onmessage = (e) => {
  if (e.data.type === 'snapshot') render(e.data);
  else if (e.data.type === 'status') $('clock').textContent = `重连中 ${e.data.status}`;
};
