#!/usr/bin/env node
// Size report: raw, gzip (-9) and brotli (q11) bytes of each npm entry's wasm + JS (generated glue
// and the hand-kept entry file), as a browser downloads them. Fails when livekpi/player exceeds its
// gzip budget. Usage: node scripts/size.mjs [--json]
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';

/** Gzip budget of livekpi/player, wasm + JS (mux-embed 5.19 is 28.8 KB gzip). */
export const PLAYER_GZIP_BUDGET = 28_000;
/** Where we are heading for livekpi/player (reported, not enforced yet). */
export const PLAYER_GZIP_GOAL = 15_000;
/**
 * Console entry budget (wasm + JS, gzip): recorded so growth is a decision, not an accident.
 * 400 KB → 440 KB on 2026-11-25: scorecards, debrief/timeline, memory caps, regional QoE alerts
 * brought it to 419 KB at opt-level 3. opt-level 2 would give 393 KB with the same ingest speed
 * but measured 2–5× slower snapshots in Node (they are dominated by JS object building, where
 * inlining pays), and a dashboard snapshots every second: speed first in the console.
 * 440 KB → 450 KB on 2026-12-07: the interner's inline keys and hot-key cache (native streaming
 * ingest 651 → 505–542 ns/event, +1.5 KB) and console/objects.js, now counted with the entry
 * (Room.ingest of objects 2.5–3× faster in Node, +1.8 KB) took it to ≈ 442 KB.
 */
export const CONSOLE_GZIP_BUDGET = 450_000;

const pkg = new URL('../pkg/', import.meta.url);
const ENTRIES = {
  player: { wasm: ['dist/player/livekpi_player_bg.wasm'], js: ['dist/player/index.js'] },
  console: { wasm: ['dist/console/livekpi_console_bg.wasm'], js: ['dist/console/livekpi_console.js', 'console/index.js', 'console/objects.js', ...snippets('dist/console/snippets/')] },
};

/** The JS snippets wasm-bindgen copied beside the glue (the binding's own JS helpers). */
function snippets(dir) {
  const at = new URL(dir, pkg);
  if (!existsSync(at)) return [];
  return readdirSync(at, { recursive: true }).filter((f) => f.endsWith('.js')).map((f) => dir + f);
}

function measure(files) {
  // Files are compressed one by one, as they travel (each is its own HTTP response).
  let raw = 0, gzip = 0, brotli = 0;
  for (const f of files) {
    const bytes = readFileSync(new URL(f, pkg));
    raw += bytes.length;
    gzip += gzipSync(bytes, { level: 9 }).length;
    brotli += brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  }
  return { raw, gzip, brotli };
}

export function sizeReport() {
  const rows = [];
  for (const [entry, parts] of Object.entries(ENTRIES)) {
    const wasm = measure(parts.wasm);
    const js = measure(parts.js);
    const total = { raw: wasm.raw + js.raw, gzip: wasm.gzip + js.gzip, brotli: wasm.brotli + js.brotli };
    rows.push({ entry: `livekpi/${entry}`, wasm, js, total });
  }
  return rows;
}

const isMain = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const rows = sizeReport();
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(rows, null, 2));
  } else {
    const fmt = (n) => String(n).padStart(9);
    console.log('entry             part    raw bytes  gzip bytes  brotli bytes');
    for (const r of rows) {
      for (const part of ['wasm', 'js', 'total']) {
        console.log(`${r.entry.padEnd(17)} ${part.padEnd(6)} ${fmt(r[part].raw)}  ${fmt(r[part].gzip)}   ${fmt(r[part].brotli)}`);
      }
    }
  }
  const player = rows.find((r) => r.entry === 'livekpi/player').total.gzip;
  const consoleGz = rows.find((r) => r.entry === 'livekpi/console').total.gzip;
  console.log(`player gzip ${player} B: budget ${PLAYER_GZIP_BUDGET} B, goal ${PLAYER_GZIP_GOAL} B, mux-embed 5.19 = 28.8 KB`);
  let failed = false;
  if (player > PLAYER_GZIP_BUDGET) {
    console.error(`size: livekpi/player is ${player} B gzip, over its ${PLAYER_GZIP_BUDGET} B budget`);
    failed = true;
  }
  if (consoleGz > CONSOLE_GZIP_BUDGET) {
    console.error(`size: livekpi/console is ${consoleGz} B gzip, over its ${CONSOLE_GZIP_BUDGET} B budget`);
    failed = true;
  }
  process.exit(failed ? 1 : 0);
}
