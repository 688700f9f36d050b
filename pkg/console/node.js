// livekpi/console for Node (collectors): the wasm bytes are read from disk and instantiated
// synchronously, so the module is ready to use once imported.
import { readFileSync } from 'node:fs';
import { initSync, Room, eventKinds } from '../dist/console/livekpi_console.js';
import { installObjectPath } from './objects.js';

initSync({ module: readFileSync(new URL('../dist/console/livekpi_console_bg.wasm', import.meta.url)) });
installObjectPath(Room, eventKinds());

export * from '../dist/console/livekpi_console.js';
