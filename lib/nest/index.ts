export { ServerNats } from './server/server-nats.js';
export type { ServerNatsOptions, NatsTransportStatus } from './server/server-nats.js';
export { ClientNats } from './client/client-nats.js';
export type { ClientNatsOptions } from './client/client-nats.js';
export { NatsContext } from './context/nats.context.js';
export { NatsRecord, NatsRecordBuilder } from './nats-record.js';
export { JetStreamContext } from './context/jetstream.context.js';
export { JetStreamHandler, JETSTREAM_HANDLER } from './jetstream/jetstream-handler.decorator.js';
export type { JetStreamHandlerOptions } from './jetstream/jetstream-handler.decorator.js';
export { TermException, isTerminal } from './jetstream/term.exception.js';
export type { SettledEvent, SettleOutcome } from './jetstream/jetstream-worker.js';
export { ProvisioningError } from './jetstream/provisioner.js';
export { NatsModule } from './module/nats.module.js';
export type {
  NatsModuleOptions,
  NatsModuleAsyncOptions,
  KvBucketDeclaration,
} from './module/nats.module.js';
export { InjectKv, getKvToken, NATS_MODULE_OPTIONS } from './module/nats.tokens.js';
export { NatsExceptionFilter } from './nats-exception.filter.js';
