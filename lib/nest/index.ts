export { ServerNats } from './server/server-nats.js';
export type {
  ServerNatsOptions,
  NatsTransportStatus,
  NatsTransportEvents,
} from './server/server-nats.js';
export { ClientNats } from './client/client-nats.js';
export type { ClientNatsOptions, ClientEvents } from './client/client-nats.js';
export { NatsMessageContext, NatsContext } from './context/nats.context.js';
export { NatsRecord, NatsRecordBuilder } from './nats-record.js';
export type { NatsRecordJetStream, NatsRecordSchedule } from './nats-record.js';
export type { NatsBatchEvent, ScheduledPubAck } from './client/jetstream-emit.js';
export { JetStreamContext } from './context/jetstream.context.js';
export { JetStreamHandler } from './jetstream/jetstream-handler.decorator.js';
export type { JetStreamHandlerOptions } from './jetstream/jetstream-handler.decorator.js';
export { TermException } from './jetstream/term.exception.js';
export type { SettledEvent, SettleOutcome, HandlerError } from './jetstream/jetstream-worker.js';
export { ProvisioningError } from './jetstream/provisioner.js';
export { NatsModule } from './module/nats.module.js';
export type {
  NatsModuleOptions,
  NatsModuleAsyncOptions,
  KvBucketDeclaration,
} from './module/nats.module.js';
export { InjectKv, getKvToken, NATS_MODULE_OPTIONS } from './module/nats.tokens.js';
export { NatsExceptionFilter } from './nats-exception.filter.js';
