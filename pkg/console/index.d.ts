export * from '../dist/console/livekpi_console.js';
