import {
  AuthorizationError,
  ConnectionError,
  PermissionViolationError,
  ProtocolError,
  type NatsError,
} from '../errors.js';
import type { AuthCredentials, ConnectOptions } from '../options.js';

/** The server's INFO (fields this client reads; unknown ones are kept as they come). */
export interface ServerInfo {
  server_id: string;
  server_name: string;
  version: string;
  proto: number;
  host: string;
  port: number;
  headers: boolean;
  max_payload: number;
  jetstream?: boolean;
  auth_required?: boolean;
  tls_required?: boolean;
  tls_verify?: boolean;
  tls_available?: boolean;
  client_id?: number;
  client_ip?: string;
  nonce?: string;
  cluster?: string;
  domain?: string;
  connect_urls?: string[];
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
 * Turns a `-ERR` text into the matching error: authorization failures, permission violations
 * (non-fatal, with the subject and queue they name) and the rest.
 */
export function classifyServerError(text: string): NatsError {
  const lower = text.toLowerCase();
  if (
    lower.startsWith('authorization violation') ||
    lower.includes('authentication expired') ||
    lower.includes('authentication revoked') ||
    lower.startsWith('authentication timeout') ||
    lower.startsWith('authorization timeout')
  ) {
    return new AuthorizationError(`server refused authorization: ${text}`);
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
