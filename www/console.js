// The operator console page. The worker (www/console-worker.js: livekpi/console, the collector's
// merged viewer summaries, www/console-view.js) computes and formats everything; this page only
// assigns the panels that changed and hands new series to the uPlot charts (setData).
import uPlot from '/vendor/uplot/uPlot.esm.js';

const $ = (id) => document.getElementById(id);

const charts = {};
/** A uPlot line chart in `id`; x is the minute index, or wall time (seconds) when `time`. */
function chart(id, label, stroke, { time = false } = {}) {
  const el = $(id);
  charts[id] = new uPlot({
    width: el.clientWidth || 400, height: el.clientHeight || 170,
    legend: { show: false },
    scales: { x: { time } },
    axes: [
      time
        // Wall-clock minutes as HH:MM (UTC, as in the header), whole minutes only.
        ? { size: 30, incrs: [60, 120, 300, 600, 900, 1800, 3600, 7200], values: (u, splits) => splits.map((v) => new Date(v * 1000).toISOString().slice(11, 16)) }
        : { label: '分钟 min', labelSize: 16, size: 40, incrs: [1, 2, 5, 10, 15, 20, 30, 60, 120] },
      { size: (u, values) => 18 + 8 * Math.max(3, ...(values ?? []).map((v) => String(v).length)) },
    ],
    series: [{ label: time ? 'time' : 'minute' }, { label, stroke, width: 2, fill: `${stroke}22`, spanGaps: false }],
  }, [[], []], el);
}
chart('chart-online', '在线 online', '#3370ff');
chart('chart-interaction', '互动率 interaction %', '#00b42a');
chart('chart-gmv', 'GMV ¥', '#ff4d4f');
chart('chart-stall', '卡顿率 stall %', '#f77234', { time: true });
chart('chart-latency', '延迟 latency s', '#14c9c9', { time: true });
chart('chart-sentiment', '情绪 mean score', '#722ed1');
/** New data for a chart (setData only); a single point gets an x range of ±1 minute around it. */
function plot(id, data) {
  const c = charts[id];
  c.setData(data);
  const xs = data[0];
  if (xs.length === 1) {
    const pad = c.scales.x.time ? 60 : 1;
    c.setScale('x', { min: c.scales.x.time ? xs[0] - pad : Math.max(0, xs[0] - pad), max: xs[0] + pad });
  }
}
addEventListener('resize', () => {
  for (const [id, c] of Object.entries(charts)) c.setSize({ width: $(id).clientWidth, height: $(id).clientHeight });
});


/**
 * Morphs `el`'s children into those of `html`: nodes of the same shape are kept and only their
 * changed text and attributes are written, so a table whose numbers moved re-lays out just those
 * cells (innerHTML would rebuild, restyle and reshape every cell).
 */
const parser = document.createElement('template');
function patch(el, html) {
  parser.innerHTML = html;
  morph(el, parser.content);
}
function morph(to, from) {
  const a = to.childNodes;
  const b = from.childNodes;
  while (a.length > b.length) to.lastChild.remove();
  for (let i = 0; i < b.length; i++) {
    const x = a[i];
    const y = b[i];
    if (!x) to.append(y.cloneNode(true));
    else if (x.nodeType !== y.nodeType || x.nodeName !== y.nodeName) x.replaceWith(y.cloneNode(true));
    else if (x.nodeType === Node.TEXT_NODE) {
      if (x.nodeValue !== y.nodeValue) x.nodeValue = y.nodeValue;
    } else if (x.nodeType === Node.ELEMENT_NODE) {
      for (const { name, value } of y.attributes) if (x.getAttribute(name) !== value) x.setAttribute(name, value);
      for (const { name } of [...x.attributes]) if (!y.hasAttribute(name)) x.removeAttribute(name);
      morph(x, y);
    }
  }
}

// A refresh is applied over a few frames, one panel patch or one chart (uPlot draws in a microtask
// after the frame callback) per frame, so no frame carries all panels' style, layout and paint at
// once: about 20 frames (a third of a second) a refresh. A newer refresh replaces updates still
// queued.
const queue = new Map(); // 'p:<id>' | 'c:<id>' | 'done' → update
let scheduled = false;
function drain() {
  scheduled = false;
  for (const [key, run] of queue) {
    queue.delete(key);
    run();
    if (key !== 'done') break;
  }
  if (queue.size) schedule();
}
function schedule() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(drain);
}

/** Queues one refresh from the worker: changed panels' HTML, changed charts' series. */
function apply({ panels, charts: series, probe }) {
  for (const id in panels) queue.set(`p:${id}`, () => patch($(id), panels[id]));
  for (const id in series) queue.set(`c:${id}`, () => plot(id, series[id]));
  // Marks the refresh as drawn once its updates are out.
  queue.delete('done');
  queue.set('done', () => {
    window.__console = { ...probe, renderedAt: performance.now() };
    document.body.dataset.rendered = String(Number(document.body.dataset.rendered ?? 0) + 1);
  });
  schedule();
}

const worker = new Worker('/console-worker.js', { type: 'module' });
const dumps = new Map();
let dumpId = 0;
/** The full inputs of the last refresh (snapshot, simNowMs, qoe), from the worker; for tests. */
window.__consoleDump = () => new Promise((resolve) => {
  dumpId += 1;
  dumps.set(dumpId, resolve);
  worker.postMessage({ type: 'dump', id: dumpId });
});
/**
 * The host-page hook: each alert, as livekpi/console raises it (`room.onAlert` in the worker), is
 * dispatched on `window` as a DOM CustomEvent `livekpi:alert` whose `detail` is the alert (rule,
 * region, minute, value, baseline, shift, window, action). A host page wires it to its own
 * response, e.g. `action === 'switch_cdn_route'` → its CDN / route switch for `detail.region`.
 */
function dispatchAlert(alert) {
  dispatchEvent(new CustomEvent('livekpi:alert', { detail: alert }));
}

// The demo's own listener, as a host page would write one: a regional QoE alert asks for a route
// switch (shown, not performed: the demo has one origin).
const switches = [];
addEventListener('livekpi:alert', (e) => {
  const a = e.detail;
  if (a.action !== 'switch_cdn_route' || !a.region) return;
  switches.push(a);
  const hhmm = new Date(a.minute * 60_000).toISOString().slice(11, 16);
  const line = document.createElement('div');
  line.className = 'route-switch';
  line.dataset.region = a.region;
  line.dataset.rule = a.rule;
  line.textContent = `已请求切换线路 route switch requested for ${a.region} · ${a.rule} @ ${hhmm} UTC (livekpi:alert → switch_cdn_route)`;
  $('route-switch').prepend(line);
  while ($('route-switch').childElementCount > 5) $('route-switch').lastElementChild.remove();
  window.__routeSwitches = switches.map((x) => ({ region: x.region, rule: x.rule, minute: x.minute }));
});

worker.onmessage = (e) => {
  const d = e.data;
  if (d.type === 'refresh') apply(d);
  else if (d.type === 'alert') dispatchAlert(d.alert);
  else if (d.type === 'dump') {
    // Every refresh posted before the dump is queued by now: draw them, so the page matches it.
    for (const [key, run] of queue) {
      queue.delete(key);
      run();
    }
    dumps.get(d.id)?.(d);
    dumps.delete(d.id);
  } else if (d.type === 'status') $('clock').textContent = `重连中 reconnecting (${d.status})`;
};
