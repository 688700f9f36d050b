// livekpi/console for browsers and Web Workers: the module is ready to use once imported.
import init from '../dist/console/livekpi_console.js';

await init();

export * from '../dist/console/livekpi_console.js';
