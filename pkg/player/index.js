// livekpi/player: the viewer-side QoE monitor. Loading never throws into the host page: `ready`
// resolves to false (and the monitor stays inert) when WebAssembly cannot be loaded.
import init from '../dist/player/livekpi_player.js';

/** Resolves to true once the wasm module is instantiated, false if it could not be (never rejects). */
export const ready = init().then(
  () => true,
  () => false,
);

export { newSessionId, version, buildFeatures } from '../dist/player/livekpi_player.js';
