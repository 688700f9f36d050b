// A tiny static server for the benchmarks (127.0.0.1 only): the repo's pkg/, node_modules/ and
// benches/ directories, plus named extra files (the generated workload). Cross-origin isolated
// (COOP/COEP), so performance.now() has 5 µs resolution in the page.
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, normalize, extname } from 'node:path';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MOUNTS = ['/pkg/', '/node_modules/', '/benches/'];
const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.cjs': 'text/javascript', '.html': 'text/html',
  '.json': 'application/json', '.wasm': 'application/wasm', '.bin': 'application/octet-stream', '.map': 'application/json' };

export async function startStaticServer({ files = {} } = {}) {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    let file = files[path];
    if (!file && MOUNTS.some((m) => path.startsWith(m)) && !path.includes('..')) file = join(ROOT, normalize(path));
    let st;
    try { st = file && statSync(file); } catch { st = null; }
    if (!st || !st.isFile()) { res.writeHead(404).end('not found'); return; }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': st.size,
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
      'cross-origin-resource-policy': 'same-origin',
      'cache-control': 'no-store',
    });
    createReadStream(file).pipe(res);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}
