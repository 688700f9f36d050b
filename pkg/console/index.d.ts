/// <reference lib="esnext.disposable" />
export * from '../dist/console/livekpi_console.js';
