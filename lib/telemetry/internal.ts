// What the core loads of this layer, with a dynamic import at the first connect (see
// lib/core/telemetry/hooks.ts). This layer sits below the core and imports nothing of ours.
export { loadHooks } from './otel.js';
