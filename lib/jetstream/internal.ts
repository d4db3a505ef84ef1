// What the layers above JetStream share with it: the public names, and the helpers that are not
// part of the public API. Upper layers import JetStream only from here.
export * from './index.js';
export { JsApi } from './api.js';
export { askAgainIfSlow } from './ask-again-if-slow.js';
export { fromWire, toWire, msToNs, nsToMs } from './wire-convert.js';
export { configConflicts, filtersOf } from './consumer-binding.js';
export { parseAckSubject, isJsMsg } from './jsmsg.js';
export { TTL_HEADER, TTL_SINCE, ttlHeaderValue } from './ttl.js';
export { processAttributes } from './telemetry.js';
