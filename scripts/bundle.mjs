#!/usr/bin/env node
// Bundles and minifies the player entry (pkg/player/index.js + its wasm-bindgen glue) into
// pkg/dist/player/index.js, the one JS file a viewer page downloads. The glue loads
// `livekpi_player_bg.wasm` relative to its own URL, and the bundle sits beside that file.
import { rolldown } from 'rolldown';
import { fileURLToPath } from 'node:url';

const pkg = fileURLToPath(new URL('../pkg/', import.meta.url));
// livekpi/player/cmcd (CMCD v2 event reporting, no wasm import of its own) is a second, separate file.
for (const name of ['index', 'cmcd']) {
  const bundle = await rolldown({ input: `${pkg}player/${name}.js`, logLevel: 'warn' });
  await bundle.write({ file: `${pkg}dist/player/${name}.js`, format: 'esm', minify: true });
  await bundle.close();
}
