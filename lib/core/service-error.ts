import { ErrorCode, NatsError } from './errors.js';
import type { Msg } from './messages/msg.js';

// Apart from errors.ts because it holds a Msg, and Msg throws the errors of errors.ts.

/** The header of a Service API error reply that carries the description. */
export const SERVICE_ERROR_HEADER = 'Nats-Service-Error';
/** The header of a Service API error reply that carries the numeric code. */
export const SERVICE_ERROR_CODE_HEADER = 'Nats-Service-Error-Code';

/** A service answered with `Nats-Service-Error` / `Nats-Service-Error-Code` headers. */
export class ServiceError extends NatsError {
  /** The numeric code from `Nats-Service-Error-Code`. */
  readonly serviceCode: number;
  /** The text from `Nats-Service-Error`. */
  readonly description: string;
  /**
   * The decoded body of the error reply, set by `ClientNats` (the Nest client): the JSON object a
   * nestjs-nats handler answers with (`{ statusCode, message, ... }`), any other JSON value, the
   * text of a body that is not JSON, `undefined` for an empty body. Plain data, so the error
   * stays safe to log. Not set on errors from `nc.request()` (read `msg` there).
   */
  declare details?: unknown;
  // Private, so neither JSON.stringify nor util.inspect walk from the error into the connection.
  readonly #msg: Msg | undefined;

  constructor(serviceCode: number, description: string, msg?: Msg) {
    super(ErrorCode.SERVICE_ERROR, `service error ${serviceCode}: ${description}`);
    this.serviceCode = serviceCode;
    this.description = description;
    this.#msg = msg;
  }

  /** The reply message that carried the error (its body often has details). */
  get msg(): Msg | undefined {
    return this.#msg;
  }
}
