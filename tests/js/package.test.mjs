// The npm package as users get it: `npm pack` of pkg/, installed into a fresh folder, imported in
// Node (ESM), type-checked with tsc, and bundled with vite, whose output runs in headless Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:http';
import { launchChromium } from './support/chromium.mjs';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(REPO, 'node_modules', '.bin');
let dir;
let tarball;

function run(cmd, args, cwd = dir) {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')} failed:\n${e.stdout}\n${e.stderr}`);
  }
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'livekpi-consumer-'));
  const packed = JSON.parse(run('npm', ['pack', join(REPO, 'pkg'), '--json', '--pack-destination', dir]));
  tarball = packed[0];
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  run('npm', ['install', '--no-audit', '--no-fund', '--offline', join(dir, tarball.filename)]);
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('the tarball holds the entries, their wasm, glue and types, and nothing else', () => {
  // wasm-bindgen puts the binding's JS helpers under snippets/<crate hash>/
  const files = tarball.files.map((f) => f.path.replace(/^dist\/console\/snippets\/livekpi-[0-9a-f]+\//, 'dist/console/snippets/*/')).sort();
  assert.deepEqual(files, [
    'console/index.d.ts', 'console/index.js', 'console/node.js', 'console/objects.js',
    'dist/console/kpi-types.d.ts', 'dist/console/livekpi_console.d.ts', 'dist/console/livekpi_console.js', 'dist/console/livekpi_console_bg.wasm',
    'dist/console/snippets/*/src/web/strings.js', 'dist/console/snippets/*/src/web/tape.js',
    'dist/player/cmcd.js', 'dist/player/index.js', 'dist/player/livekpi_player.d.ts', 'dist/player/livekpi_player_bg.wasm',
    'package.json', 'player/cmcd.d.ts', 'player/index.d.ts',
  ]);
});

test('Node imports livekpi/console (sync init from disk) and livekpi/player without throwing', () => {
  const out = run('node', ['--input-type=module', '-e', `
    const c = await import('livekpi/console');
    const p = await import('livekpi/player');
    // Node has no fetch for file: URLs, so the player cannot load its wasm here: it must say so
    // through ready === false and never throw.
    console.log(JSON.stringify({ console: c.buildFeatures(), version: c.version(), playerReady: await p.ready }));
  `]);
  const pkgVersion = JSON.parse(readFileSync(join(REPO, 'pkg', 'package.json'), 'utf8')).version;
  assert.deepEqual(JSON.parse(out), { console: 'console', version: pkgVersion, playerReady: false });
});

test('published types type-check in a strict TypeScript consumer and contain no `any`', () => {
  writeFileSync(join(dir, 'consumer.ts'), `
    import { ready, newSessionId, version } from 'livekpi/player';
    import { buildFeatures, Room, type Snapshot } from 'livekpi/console';
    const ok: Promise<boolean> = ready;
    const room = new Room({ streamStartMs: 0 });
    const snap: Snapshot = room.snapshot(0);
    const gmv: number = snap.result.gmv_fen;
    // @ts-expect-error streamStartMs is required
    new Room({});
    const id: string = newSessionId();
    const v: string = version();
    const f: string = buildFeatures();
    // @ts-expect-error newSessionId takes no argument
    newSessionId(1);
    export { ok, id, v, f, gmv };
  `);
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, module: 'esnext', moduleResolution: 'bundler', target: 'es2022', lib: ['es2022', 'dom'], skipLibCheck: false },
    files: ['consumer.ts'],
  }));
  run(join(BIN, 'tsc'), ['-p', 'tsconfig.json']);
  const typeFiles = ['player/index.d.ts', 'console/index.d.ts', 'dist/player/livekpi_player.d.ts',
    'dist/console/livekpi_console.d.ts', 'dist/console/kpi-types.d.ts'];
  for (const f of typeFiles) {
    const code = readFileSync(join(dir, 'node_modules', 'livekpi', f), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '') // prose may say "any"
      // wasm-bindgen's raw ABI table (what instantiation returns; no entry of ours exposes it).
      .replace(/export interface InitOutput \{[\s\S]*?\n\}/, '');
    assert.doesNotMatch(code, /\bany\b/, `${f} must not use any`);
  }
});

test('a real snapshot, KPI report and comparison type-check exactly against the published types', () => {
  // Object literals get excess-property checks: a field the types lack, or one they have that
  // the data lacks, fails tsc. The data comes from the installed package, run in Node.
  const json = run('node', ['--input-type=module', '-e', `
    const c = await import('livekpi/console');
    const start = Date.UTC(2026, 0, 1);
    const room = new c.Room({ streamStartMs: start, streamEndMs: start + 60 * 60000 });
    const report = room.ingestNdjson(c.generateEventsNdjson({ seed: 3, streamStartMs: start, durationMin: 60, tooLateRate: 0.01 }) + '{"kind":"nope"}\\n');
    const other = new c.Room({ streamStartMs: start });
    const end = start + 60 * 60000;
    for (let t = start; t <= end; t += 60000) room.snapshot(t);
    console.log(JSON.stringify({ snapshot: room.snapshot(end), report, stats: room.stats(), comparison: room.compareWith(end, other, end),
      alerts: room.alerts(), forecast: room.forecast(start + 30 * 60000, []), sentiment: c.analyzeComment('不贵，好看👍'),
      series: c.sentimentSeries([{ minute: 0, text: '好看' }, { minute: 2, text: '假货' }]), top: c.topTerms([{ minute: 0, text: '好看' }], 0, 1, 3) }));
  `]);
  const data = JSON.parse(json);
  assert.ok(data.report.errors.length > 0 && data.snapshot.goods.length > 0 && data.snapshot.minutes > 0);
  writeFileSync(join(dir, 'shapes.ts'), `
    import type { Snapshot, IngestReport, IngestStats, Comparison, Alert, Forecast, Sentiment, MinutePoint, TopTerms } from 'livekpi/console';
    export const snapshot: Snapshot = ${JSON.stringify(data.snapshot)};
    export const report: IngestReport = ${JSON.stringify(data.report)};
    export const stats: IngestStats = ${JSON.stringify(data.stats)};
    export const comparison: Comparison = ${JSON.stringify(data.comparison)};
    export const alerts: Alert[] = ${JSON.stringify(data.alerts)};
    export const forecast: Forecast = ${JSON.stringify(data.forecast)};
    export const sentiment: Sentiment = ${JSON.stringify(data.sentiment)};
    export const series: MinutePoint[] = ${JSON.stringify(data.series)};
    export const top: TopTerms = ${JSON.stringify(data.top)};
  `);
  writeFileSync(join(dir, 'tsconfig.shapes.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, module: 'esnext', moduleResolution: 'bundler', target: 'es2022', lib: ['es2022', 'dom'] },
    files: ['shapes.ts'],
  }));
  run(join(BIN, 'tsc'), ['-p', 'tsconfig.shapes.json']);
});

test('vite bundles both entries and the bundle runs in headless Chromium', async () => {
  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'index.html'), '<!doctype html><script type="module" src="./main.js"></script>');
  writeFileSync(join(app, 'main.js'), `
    import { ready, newSessionId } from 'livekpi/player';
    import { buildFeatures } from 'livekpi/console';
    window.__result = ready.then((ok) => ({ ok, id: ok ? newSessionId() : null, console: buildFeatures() }));
  `);
  run('node', [join(REPO, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn', '--outDir', 'dist', app], app);
  const assets = readdirSync(join(app, 'dist', 'assets'));
  assert.equal(assets.filter((f) => f.endsWith('.wasm')).length, 2, `two wasm assets in ${assets}`);

  const server = createServer((req, res) => {
    const path = req.url === '/' ? '/index.html' : req.url.split('?')[0];
    try {
      const body = readFileSync(join(app, 'dist', path.replace(/\.\./g, '')));
      const type = path.endsWith('.wasm') ? 'application/wasm' : path.endsWith('.js') ? 'text/javascript' : 'text/html';
      res.writeHead(200, { 'content-type': type });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    // The entry module runs after the console's top-level await (wasm instantiation), which can
    // finish after the load event: wait for its result rather than reading it at once.
    await page.waitForFunction(() => window.__result !== undefined, null, { timeout: 20_000 });
    const result = await page.evaluate(() => window.__result);
    assert.equal(result.ok, true);
    assert.match(result.id, /^[0-9a-f]{32}$/);
    assert.equal(result.console, 'console');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    server.close();
  }
});
