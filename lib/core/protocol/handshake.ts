import {
  AuthenticationExpiredError,
  AuthenticationRevokedError,
  AuthorizationError,
  ConnectionError,
  PermissionViolationError,
  ProtocolError,
  type NatsError,
} from '../errors.js';
import type { AuthCredentials, ConnectOptions } from '../options.js';

/** The server's INFO (fields this client reads; unknown ones are kept as they come). */
export interface ServerInfo {
  /** The server's unique id (its public NKey). */
  server_id: string;
  /** The server's configured name (its id when none is configured). */
  server_name: string;
  /** The server's release, for example `'2.10.27'`. */
  version: string;
  /** The protocol level; 1 supports echo control and asynchronous INFO. */
  proto: number;
  /** The address the server listens on, as configured or advertised. */
  host: string;
  /** The port the server listens on. */
  port: number;
  /** True when the server supports message headers. */
  headers: boolean;
  /** The largest message (headers plus payload) the server accepts, in bytes. */
  max_payload: number;
  /** True when JetStream is enabled on the server (not necessarily for this account). */
  jetstream?: boolean;
  /** True when the client must send credentials. */
  auth_required?: boolean;
  /** True when the client must use TLS. */
  tls_required?: boolean;
  /** True when the server demands a client certificate. */
  tls_verify?: boolean;
  /** True when TLS is offered but not required. */
  tls_available?: boolean;
  /** The server's id for this connection. */
  client_id?: number;
  /** The client's IP address as the server sees it. */
  client_ip?: string;
  /** The challenge an NKey or JWT user signs. */
  nonce?: string;
  /** The name of the server's cluster. */
  cluster?: string;
  /** The server's JetStream domain. */
  domain?: string;
  /** Other cluster members a client can connect to, as `host:port`. */
  connect_urls?: string[];
  /** True when the server has entered lame duck mode (it is shutting down). */
  ldm?: boolean;
  /** The JetStream API level the server implements (nats-server 2.12+). */
  api_lvl?: number;
  /** Other fields of newer servers are kept as they come and otherwise ignored. */
  [field: string]: unknown;
}

export const CLIENT_LANG = 'typescript';
export const CLIENT_VERSION = '0.1.0';

/** The CONNECT fields. verbose/pedantic are always explicit: the server defaults them to true. */
export function buildConnect(
  opts: ConnectOptions,
  info: ServerInfo,
  creds: AuthCredentials,
  tls: boolean,
): Record<string, unknown> {
  return {
    verbose: opts.verbose ?? false,
    pedantic: opts.pedantic ?? false,
    tls_required: tls,
    ...(opts.name ? { name: opts.name } : {}),
    lang: CLIENT_LANG,
    version: CLIENT_VERSION,
    protocol: 1,
    echo: !opts.noEcho,
    headers: true,
    no_responders: info.headers !== false,
    ...creds,
  };
}

const QUOTED = /"((?:[^"\\]|\\.)*)"/;

/**
 * Turns a `-ERR` text into the matching error: authorization failures (nats-server sends `User
 * Authentication Expired`, `Account Authentication Expired` and `User Authentication Revoked`
 * to a connected client before closing it, `Authorization Violation` to refused credentials),
 * permission violations (non-fatal, with the subject and queue they name) and the rest.
 */
export function classifyServerError(text: string): NatsError {
  const lower = text.toLowerCase();
  const message = `server refused authorization: ${text}`;
  if (lower.includes('authentication expired'))
    return new AuthenticationExpiredError(
      message,
      lower.startsWith('account') ? 'account' : 'user',
    );
  if (lower.includes('authentication revoked')) return new AuthenticationRevokedError(message);
  if (
    lower.startsWith('authorization violation') ||
    lower.startsWith('authentication timeout') ||
    lower.startsWith('authorization timeout')
  ) {
    return new AuthorizationError(message);
  }
  if (lower.startsWith('permissions violation')) {
    const subject = unquote(QUOTED.exec(text)?.[1] ?? '');
    const queue = /using queue "((?:[^"\\]|\\.)*)"/i.exec(text)?.[1];
    const op = lower.includes('for subscription') ? 'subscription' : 'publish';
    return new PermissionViolationError(
      `permissions violation: ${text}`,
      op,
      subject,
      queue === undefined ? undefined : unquote(queue),
    );
  }
  if (
    lower.startsWith('invalid subject') ||
    lower.startsWith('invalid publish subject') ||
    lower.startsWith('maximum subscriptions exceeded')
  ) {
    return new ProtocolError(`server error: ${text}`);
  }
  return new ConnectionError(`server error: ${text}`);
}

function unquote(s: string): string {
  return s.replace(/\\(.)/g, '$1');
}
