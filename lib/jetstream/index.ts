import './connection-methods.js';
export { jetstream, JetStreamClient } from './client.js';
export type { PullSubscribeOptions } from './client.js';
export { jetstreamManager, JetStreamManager } from './manager/manager.js';
export { StreamsApi } from './manager/streams.js';
export type { PurgeOptions, MsgRequest } from './manager/streams.js';
export { ConsumersApi } from './manager/consumers.js';
export type { ConsumerPauseState, ConsumerResetInfo } from './manager/consumers.js';
export { PriorityGroupError } from './priority.js';
export type { PullPriorityOptions } from './priority.js';
export { ConsumerConfigConflictError } from './consumer-binding.js';
export type { ConsumerConflict } from './consumer-binding.js';
export type { StoredMsg } from './manager/stored-msg.js';
export { JetStreamNotAvailableError } from './api.js';
export type { JetStreamOptions } from './api.js';
export { NoStreamForSubjectError } from './publish.js';
export { MessageTtlDisabledError } from './ttl.js';
export type { JsPublishOptions, PubAck, PublishExpectations } from './publish.js';
export { JsMsg } from './jsmsg.js';
export type { JsMsgMetadata } from './jsmsg.js';
export { PullConsumer } from './pull-consumer.js';
export type { FetchOptions } from './fetch.js';
export { ConsumerMessages, MessageTooLargeError } from './consume.js';
export type { ConsumeOptions } from './consume.js';
export { JsSubscription } from './push.js';
export type { JsSubscribeOptions } from './push.js';
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
export { OrderedSubscription } from './ordered.js';
export { AtomicBatch, MAX_ATOMIC_BATCH_SIZE } from './batch.js';
export type { AtomicBatchOptions, BatchMsgOptions, BatchPubAck } from './batch.js';
export { Counter } from './counter.js';
export type { CounterValue } from './counter.js';
export type { ScheduleOptions } from './schedule.js';
export type { BatchGetOptions, LastGetOptions } from './manager/direct-batch.js';
export type { OrderedOptions } from './ordered.js';
export { OrderedMessages, OrderedBatch } from './ordered-readers.js';
export type {
  OrderedConsumeOptions,
  OrderedFetchOptions,
  OrderedNextOptions,
} from './ordered-readers.js';
