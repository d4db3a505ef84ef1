import type { NatsConnection } from '../../core/internal.js';
import { JsApi, type JetStreamOptions } from '../api.js';
import { fromWire, type AccountInfo } from '../config.js';
import { ConsumersApi } from './consumers.js';
import { StreamsApi } from './streams.js';

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
