// Test helpers: real nats-server processes (single, cluster, TLS, auth), raw sockets, fake server.
export * from './cluster.js';
export * from './fake-server.js';
export * from './find-server.js';
export * from './jwt.js';
export * from './leafnode.js';
export * from './nats-server.js';
export * from './ports.js';
export * from './prng.js';
export * from './raw-client.js';
export * from './reaper.js';
export * from './status.js';
export * from './tls-fixtures.js';
export * from './server-install.js';
export * from './server-version.js';
export * from './server-versions.js';
export * from './nats-cli.js';
