/** Resolves to true once the wasm module is instantiated, false if it could not be (never rejects). */
export declare const ready: Promise<boolean>;
export { newSessionId, version, buildFeatures } from '../dist/player/livekpi_player.js';
