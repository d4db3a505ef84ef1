// Per-message TTL (nats-server 2.11+, ADR-43): the `Nats-TTL` header, and the server's answer
// when the stream does not allow it. The server keeps TTLs in whole seconds, at least one.
import {
  ErrorCode,
  InvalidOptionError,
  JetStreamApiError,
  JsApiCode,
  requireServer,
  type HasServerInfo,
} from '../core/internal.js';

/** The header that carries a message's TTL. */
export const TTL_HEADER = 'Nats-TTL';

/** The oldest release that reads `Nats-TTL` (the API level 1 of ADR-43 and ADR-48). */
export const TTL_SINCE = '2.11.0';

/**
 * A message with a TTL was published to a stream without `allowMsgTtl` (the server answered
 * 10166); nothing was stored.
 */
export class MessageTtlDisabledError extends JetStreamApiError {
  constructor(message = 'per-message TTL is disabled') {
    super(
      `${message}: the stream needs allowMsgTtl`,
      JsApiCode.MESSAGE_TTL_DISABLED,
      400,
      ErrorCode.MESSAGE_TTL_DISABLED,
    );
  }
}

/**
 * The `Nats-TTL` value of a TTL in milliseconds (a whole number of seconds, at least 1000) or
 * `'never'`. Throws `InvalidOptionError` for another value, and `FeatureNotSupportedError` when
 * the server is older than 2.11.
 */
export function ttlHeaderValue(nc: HasServerInfo, ttl: number | 'never', what = 'ttl'): string {
  if (ttl !== 'never') {
    if (typeof ttl !== 'number' || !Number.isSafeInteger(ttl) || ttl < 1000 || ttl % 1000 !== 0)
      throw new InvalidOptionError(
        `${what} must be 'never' or milliseconds in whole seconds, at least 1000 (got ${String(ttl)}): the server keeps TTLs in seconds`,
      );
  }
  requireServer(nc, TTL_SINCE, `${what} (per-message TTL)`);
  return ttl === 'never' ? 'never' : `${ttl / 1000}s`;
}
