import './connection-methods.js';
export { jetstream, JetStreamClient, type PullSubscribeOptions } from './client.js';
export { jetstreamManager, JetStreamManager } from './manager/manager.js';
export { StreamsApi, type PurgeOptions, type MsgRequest } from './manager/streams.js';
export {
  ConsumersApi,
  type ConsumerPauseState,
  type ConsumerResetInfo,
} from './manager/consumers.js';
export { PriorityGroupError, type PullPriorityOptions } from './priority.js';
export { ConsumerConfigConflictError, type ConsumerConflict } from './consumer-binding.js';
export type { StoredMsg } from './manager/stored-msg.js';
export { JetStreamNotAvailableError, type JetStreamOptions } from './api.js';
export {
  NoStreamForSubjectError,
  type JsPublishOptions,
  type PubAck,
  type PublishExpectations,
} from './publish.js';
export { MessageTtlDisabledError } from './ttl.js';
export { JsMsg, type JsMsgMetadata } from './jsmsg.js';
export { PullConsumer } from './pull-consumer.js';
export type { FetchOptions } from './fetch.js';
export { ConsumerMessages, MessageTooLargeError, type ConsumeOptions } from './consume.js';
export { JsSubscription, type JsSubscribeOptions } from './push.js';
export type {
  RetentionPolicy,
  StorageType,
  DiscardPolicy,
  StreamSource,
  StreamSourceConsumer,
  StreamSourceInfo,
  PersistMode,
  SubjectTransform,
  StreamConfig,
  StreamState,
  PeerInfo,
  ClusterInfo,
  StreamInfo,
} from './stream-config.js';
export type {
  AckPolicy,
  DeliverPolicy,
  ReplayPolicy,
  PriorityPolicy,
  PriorityGroupState,
  ConsumerConfig,
  SequenceInfo,
  ConsumerInfo,
} from './consumer-config.js';
export type { AccountLimits, AccountInfo } from './manager/manager.js';
export { OrderedSubscription, type OrderedOptions } from './ordered.js';
export {
  AtomicBatch,
  MAX_ATOMIC_BATCH_SIZE,
  type AtomicBatchOptions,
  type BatchMsgOptions,
  type BatchPubAck,
} from './batch.js';
export { Counter, type CounterValue } from './counter.js';
export type { ScheduleOptions } from './schedule.js';
export type { BatchGetOptions, LastGetOptions } from './manager/direct-batch.js';
export {
  OrderedMessages,
  OrderedBatch,
  type OrderedConsumeOptions,
  type OrderedFetchOptions,
  type OrderedNextOptions,
} from './ordered-readers.js';
