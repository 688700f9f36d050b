// livekpi/console for browsers and Web Workers: the module is ready to use once imported.
import init, { Room, eventKinds } from '../dist/console/livekpi_console.js';
import { installObjectPath } from './objects.js';

await init();
installObjectPath(Room, eventKinds());

export * from '../dist/console/livekpi_console.js';
