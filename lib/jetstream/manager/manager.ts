import type { NatsConnection } from '../../core/internal.js';
import { JsApi, type JetStreamOptions } from '../api.js';
import { fromWire } from '../wire-convert.js';
import { ConsumersApi } from './consumers.js';
import { StreamsApi } from './streams.js';

/** Account limits as reported by `accountInfo()`; -1 means no limit, sizes in bytes. */
export interface AccountLimits {
  /** Bytes of memory storage the account may use. */
  maxMemory: number;
  /** Bytes of file storage the account may use. */
  maxStorage: number;
  /** The most streams the account may have. */
  maxStreams: number;
  /** The most consumers the account may have. */
  maxConsumers: number;
  /** The highest `maxAckPending` a consumer may have. */
  maxAckPending?: number;
  /** The largest `maxBytes` a memory stream may have. */
  memoryMaxStreamBytes?: number;
  /** The largest `maxBytes` a file stream may have. */
  storageMaxStreamBytes?: number;
  /** True when every stream must set `maxBytes`. */
  maxBytesRequired?: boolean;
}

/** JetStream usage and limits of the connected account. */
export interface AccountInfo {
  /** Bytes of memory storage in use. */
  memory: number;
  /** Bytes of file storage in use. */
  storage: number;
  /** How many streams the account has. */
  streams: number;
  /** How many consumers the account has. */
  consumers: number;
  /** What the account may use. */
  limits: AccountLimits;
  /** The JetStream domain of the server, if any. */
  domain?: string;
  /**
   * API calls made and failed; `level` is the JetStream API level the server implements
   * (nats-server 2.11+: 1 on 2.11, 3 on 2.12, 4 on 2.14), absent on older servers.
   */
  api: {
    /** API calls the account made. */
    total: number;
    /** API calls that failed. */
    errors: number;
    /** The JetStream API level of the server (nats-server 2.11+). */
    level?: number;
  };
}

/** JetStream administration: streams, consumers and account information. */
export class JetStreamManager {
  /** Stream administration. */
  readonly streams: StreamsApi;
  /** Consumer administration. */
  readonly consumers: ConsumersApi;

  /** @internal Made by `nc.jetstreamManager()` or `jetstreamManager(nc)`. */
  constructor(
    /** @internal The JetStream API requester, shared with the layers above. */
    readonly api: JsApi,
  ) {
    this.streams = new StreamsApi(api);
    this.consumers = new ConsumersApi(api);
  }

  /** The account's JetStream usage and limits. Rejects with JetStreamNotAvailableError. */
  async accountInfo(): Promise<AccountInfo> {
    return fromWire<AccountInfo>(await this.api.request('INFO'));
  }
}

/**
 * Creates a manager and checks that JetStream answers (one `INFO` call). Rejects with
 * `JetStreamNotAvailableError` when JetStream is not enabled.
 */
export async function jetstreamManager(
  nc: NatsConnection,
  opts?: JetStreamOptions,
): Promise<JetStreamManager> {
  const jsm = new JetStreamManager(new JsApi(nc, opts));
  await jsm.accountInfo();
  return jsm;
}
