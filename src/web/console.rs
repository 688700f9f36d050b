//! `livekpi/console` bindings (browser, Web Worker and Node).
