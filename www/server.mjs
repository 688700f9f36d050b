#!/usr/bin/env node
// The local livekpi server: serves the www/ pages, the npm package from pkg/, hls.js, and the
// time-sync endpoint. It listens on 127.0.0.1 only. It grows with the demo (live HLS, collector,
// simulated room). Usage: node www/server.mjs [--port 8080]   (port 0 picks a free one)
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLiveOrigin } from './live.mjs';
import { createServerCollector } from './collector.mjs';
import { createRoomSimulator } from './room.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.ts': 'video/mp2t',
  '.m4s': 'video/iso.segment',
  '.mp4': 'video/mp4',
};
/** URL prefix → folder under the repository root; nothing outside these is ever served. */
const MOUNTS = [
  ['/pkg/', 'pkg/'],
  ['/vendor/hls.js/', 'node_modules/hls.js/dist/'],
  ['/vendor/uplot/', 'node_modules/uplot/dist/'],
  ['/vendor/mux-embed/', 'node_modules/mux-embed/dist/'], // dev dependency, for side-by-side QoE tests
  ['/', 'www/'],
];

function serveFile(res, file) {
  let st;
  try {
    st = statSync(file);
  } catch {
    return false;
  }
  if (!st.isFile()) return false;
  res.writeHead(200, {
    'content-type': MIME[extname(file)] ?? 'application/octet-stream',
    'content-length': st.size,
    'cache-control': 'no-store',
  });
  createReadStream(file).pipe(res);
  return true;
}

function staticFile(pathname) {
  for (const [prefix, dir] of MOUNTS) {
    if (!pathname.startsWith(prefix)) continue;
    const base = resolve(ROOT, dir);
    let rel = decodeURIComponent(pathname.slice(prefix.length));
    if (rel === '' || rel.endsWith('/')) rel += 'index.html';
    const file = resolve(base, rel);
    if (file !== base && !file.startsWith(base + sep)) return null; // no path traversal
    return file;
  }
  return null;
}

/**
 * Starts the server; resolves to { url, port, live, collector, close() } (live: the origin of
 * www/live.mjs; collector: www/collector.mjs over `collector.logDir`, default a temporary dir).
 */
export function startServer({ port = 8080, host = '127.0.0.1', room: roomOptions = {}, collector: collectorOptions = {} } = {}) {
  const live = createLiveOrigin(); // live HLS channels, /media/clip.mp4 and /api/live/* (www/live.mjs)
  const room = createRoomSimulator(roomOptions); // the simulated live room, /api/room/* (www/room.mjs)
  const collector = createServerCollector(collectorOptions); // POST /api/summary, /api/collector/* (www/collector.mjs)
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    if (live.handle(req, res, url)) return;
    if (room.handle(req, res, url)) return;
    // Stand-in for the CDN edge's GeoIP: a viewer page opened with ?region=R posts its summaries to
    // /api/summary?region=R, and the region reaches the collector as its `x-region` header.
    const region = url.pathname === '/api/summary' ? url.searchParams.get('region') : null;
    if (region && req.headers['x-region'] === undefined) req.headers['x-region'] = region;
    if (collector.handle(req, res, url)) return;
    if (url.pathname === '/api/time') {
      // Time-sync probe: the server's wall clock in ms; the client corrects by RTT/2.
      const body = JSON.stringify({ server_ms: Date.now() });
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(body);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain' });
      res.end('method not allowed\n');
      return;
    }
    let file = null;
    try {
      file = staticFile(url.pathname);
    } catch {
      file = null;
    }
    if (!file || !serveFile(res, file)) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
    }
  });
  return new Promise((resolveStart, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const { port: bound } = server.address();
      resolveStart({
        url: `http://${host}:${bound}`,
        port: bound,
        live,
        collector,
        close: () => new Promise((r) => { live.close(); room.close(); server.closeAllConnections?.(); server.close(() => { collector.close(); r(); }); }),
      });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--port');
  const port = i > 0 ? Number(process.argv[i + 1]) : 8080;
  const { url } = await startServer({ port, collector: { logDir: resolve(ROOT, 'target', 'collector') } });
  console.log(`livekpi demo: ${url}/  (viewer: ${url}/viewer.html, console: ${url}/console.html)`);
}
