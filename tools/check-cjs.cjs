// CommonJS apps (most NestJS 11 apps) load the package with require(), which Node >= 20.19
// supports for ES modules: every entry point must resolve and load that way. Run after build.
'use strict';

const expected = {
  'nestjs-nats': ['connect', 'ServerNats', 'ClientNats', 'NatsModule', 'JetStreamHandler'],
  'nestjs-nats/core': ['connect', 'MsgHeaders', 'NatsError'],
  'nestjs-nats/jetstream': ['jetstream'],
  'nestjs-nats/services': [],
  'nestjs-nats/health': ['NatsHealthIndicator'],
};

let failed = false;
for (const [entry, names] of Object.entries(expected)) {
  try {
    const mod = require(entry);
    const missing = names.filter((n) => typeof mod[n] !== 'function');
    if (missing.length) throw new Error(`missing exports: ${missing.join(', ')}`);
    console.log(`require('${entry}') ok`);
  } catch (err) {
    failed = true;
    console.error(`require('${entry}') failed: ${err.message}`);
  }
}
process.exit(failed ? 1 : 0);
