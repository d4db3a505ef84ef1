export { ServerNats } from './server/server-nats.js';
export type { ServerNatsOptions, NatsTransportStatus } from './server/server-nats.js';
export { ClientNats } from './client/client-nats.js';
export type { ClientNatsOptions } from './client/client-nats.js';
export { NatsContext } from './context/nats.context.js';
export { NatsRecord, NatsRecordBuilder } from './nats-record.js';
