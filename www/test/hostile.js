// The hostile host page (www/test/hostile.html): before livekpi/player loads, it takes away or
// breaks what the player uses — no requestVideoFrameCallback, no navigator.sendBeacon,
// localStorage / sessionStorage that throw on access, a fetch that throws, a patched (coarse,
// offset) performance.now — under a CSP without 'unsafe-eval'. Then it plays a clip with the
// monitor attached (collector, time sync) and does its own work. Everything that reaches the page
// from anyone (window errors, unhandled rejections, CSP violations) lands in window.pageErrors;
// window.host exposes the handle, the page's own video record and its work counter.
const pageErrors = (window.pageErrors = []);
addEventListener('error', (e) => pageErrors.push(`error: ${e.message}`));
addEventListener('unhandledrejection', (e) => pageErrors.push(`unhandledrejection: ${e.reason?.message ?? e.reason}`));
document.addEventListener('securitypolicyviolation', (e) => pageErrors.push(`csp: ${e.violatedDirective} ${e.blockedURI}`));

// The page's own truth keeps the real rVFC (the harness captures it when it loads).
const h = await import('/test/harness.js');

delete HTMLVideoElement.prototype.requestVideoFrameCallback;
delete Navigator.prototype.sendBeacon;
for (const name of ['localStorage', 'sessionStorage']) {
  Object.defineProperty(window, name, { configurable: true, get() { throw new DOMException(`${name} is disabled`, 'SecurityError'); } });
}
window.fetch = () => { throw new TypeError('fetch is blocked by this page'); };
const realNow = performance.now.bind(performance);
performance.now = () => Math.floor(realNow() / 100) * 100 - 5000; // coarse and 5 s behind

const host = (window.host = { work: 0, qoe: null, rec: null, ready: null });
document.getElementById('work').addEventListener('click', () => { host.work++; });
setInterval(() => { host.work++; }, 100); // the page's own work goes on

const lk = await import('/pkg/dist/player/index.js');
host.rec = h.makeVideo({ parent: document.getElementById('host') });
host.qoe = lk.attach(host.rec.video, { collectorUrl: '/api/summary', roomId: 'hostile', timeSyncUrl: '/api/time', flushIntervalMs: 1000 });
host.rec.video.src = '/media/clip.mp4';
host.rec.play();
host.ready = await lk.ready;
