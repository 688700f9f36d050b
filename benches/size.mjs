#!/usr/bin/env node
// Download size of livekpi's two entries beside the peers, measured in one run: raw, gzip (-9) and
// brotli (q11) bytes, each file compressed on its own (as it travels as its own HTTP response).
// livekpi: scripts/size.mjs sizeReport() (wasm + JS). Peers, from node_modules (what a page loads):
//   mux-embed — dist/mux.js (the package's browser build);
//   Arquero — dist/arquero.min.js (bundles flechette and acorn);
//   DuckDB-WASM — duckdb-eh.wasm + duckdb-browser-eh.worker.js + duckdb-browser.mjs + its peer
//     apache-arrow (Arrow.es2015.min.js), needed to hand it data;
//   Perspective — perspective-server.wasm + perspective-js.wasm + their JS (cdn/perspective.js,
//     cdn/perspective-server.worker.js, wasm/perspective-js.js, wasm/perspective-server.js).
// Peers' compressed sizes are cached per file (path, byte length, mtime) in $TMPDIR/livekpi-bench/
// (brotli q11 of DuckDB's 34 MB wasm takes minutes); livekpi's are always measured.
// Usage: node benches/size.mjs   (build first: scripts/build.sh). Writes benches/results/size.json.
import { readFileSync, mkdirSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';
import { sizeReport } from '../scripts/size.mjs';

const NM = new URL('../node_modules/', import.meta.url);
const version = (p) => JSON.parse(readFileSync(new URL(`${p}/package.json`, NM))).version;
const PEERS = [
  { name: 'mux-embed', pkg: 'mux-embed', wasm: [], js: ['mux-embed/dist/mux.js'] },
  { name: 'arquero', pkg: 'arquero', wasm: [], js: ['arquero/dist/arquero.min.js'] },
  { name: 'duckdb-wasm', pkg: '@duckdb/duckdb-wasm', wasm: ['@duckdb/duckdb-wasm/dist/duckdb-eh.wasm'],
    js: ['@duckdb/duckdb-wasm/dist/duckdb-browser-eh.worker.js', '@duckdb/duckdb-wasm/dist/duckdb-browser.mjs', 'apache-arrow/Arrow.es2015.min.js'] },
  { name: 'perspective', pkg: '@finos/perspective', wasm: ['@finos/perspective/dist/wasm/perspective-server.wasm', '@finos/perspective/dist/wasm/perspective-js.wasm'],
    js: ['@finos/perspective/dist/cdn/perspective.js', '@finos/perspective/dist/cdn/perspective-server.worker.js',
      '@finos/perspective/dist/wasm/perspective-js.js', '@finos/perspective/dist/wasm/perspective-server.js'] },
];

const CACHE_DIR = join(tmpdir(), 'livekpi-bench');
const CACHE = join(CACHE_DIR, 'size-cache.json');
let cache = {};
try { cache = JSON.parse(readFileSync(CACHE, 'utf8')); } catch { cache = {}; }
function measure(files) {
  let raw = 0, gzip = 0, brotli = 0;
  for (const f of files) {
    const st = statSync(new URL(f, NM));
    const key = `${f}:${st.size}:${st.mtimeMs}`;
    let c = cache[key];
    if (!c) {
      const b = readFileSync(new URL(f, NM));
      c = { raw: b.length, gzip: gzipSync(b, { level: 9 }).length,
        brotli: brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: b.length } }).length };
      cache[key] = c;
    }
    raw += c.raw; gzip += c.gzip; brotli += c.brotli;
  }
  return { raw, gzip, brotli };
}

const rows = sizeReport().map((r) => ({ name: r.entry, version: JSON.parse(readFileSync(new URL('../pkg/package.json', import.meta.url))).version, ...r }));
for (const p of PEERS) {
  const wasm = measure(p.wasm), js = measure(p.js);
  rows.push({ name: p.name, version: version(p.pkg), files: [...p.wasm, ...p.js], wasm, js,
    total: { raw: wasm.raw + js.raw, gzip: wasm.gzip + js.gzip, brotli: wasm.brotli + js.brotli } });
}
mkdirSync(CACHE_DIR, { recursive: true });
writeFileSync(CACHE, JSON.stringify(cache));
const kb = (n) => (n / 1024).toFixed(1).padStart(9);
console.log('package                  version   raw KiB   gzip KiB  brotli KiB');
for (const r of rows) console.log(`${r.name.padEnd(24)} ${String(r.version).padEnd(8)} ${kb(r.total.raw)} ${kb(r.total.gzip)} ${kb(r.total.brotli)}`);
const get = (n) => rows.find((r) => r.name === n).total;
const ratios = [];
console.log('\nratios livekpi / peer (gzip, brotli; < 1 = livekpi smaller)');
for (const [mine, peers] of [['livekpi/player', ['mux-embed']], ['livekpi/console', ['arquero', 'duckdb-wasm', 'perspective']]]) {
  for (const p of peers) {
    const r = { livekpi: mine, peer: p, gzip: get(mine).gzip / get(p).gzip, brotli: get(mine).brotli / get(p).brotli };
    ratios.push(r);
    console.log(`${mine.padEnd(16)} / ${p.padEnd(12)} gzip ${r.gzip.toFixed(3)}  brotli ${r.brotli.toFixed(3)}`);
  }
}
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/size.json', import.meta.url), JSON.stringify({ date: new Date().toISOString(), rows, ratios }, null, 2));
console.log('wrote benches/results/size.json');
