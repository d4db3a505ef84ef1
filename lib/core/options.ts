import { existsSync } from 'node:fs';
import { InvalidOptionError, type NatsError } from './errors.js';
import { checkDelay } from './delays.js';
import { isValidPublishSubject } from './subjects.js';
import { checkWsHeaders } from './transport/websocket/handshake.js';
import {
  checkSuppliedOption,
  SUPPLIED_OPTIONS,
  type CredentialSupplier,
} from './auth/suppliers.js';
import { checkReconnectToServer, type ReconnectToServer } from './server-choice.js';

/** TLS settings; giving any of them requires TLS. */
export interface TlsOptions {
  /** CA certificate(s) to trust: PEM text, or a path via `caFile`. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Path of a PEM file of CA certificates to trust. */
  caFile?: string;
  /** Client certificate and key for mutual TLS (PEM text or paths via `certFile` / `keyFile`). */
  cert?: string | Buffer;
  /** Path of the client certificate's PEM file. */
  certFile?: string;
  /** The client certificate's private key (PEM text). */
  key?: string | Buffer;
  /** Path of the client key's PEM file. */
  keyFile?: string;
  /** Verify the server certificate. @default true */
  rejectUnauthorized?: boolean;
  /** Host name to verify the certificate against (SNI). @default the URL's host */
  servername?: string;
  /** Start TLS before the server's INFO (servers 2.10.4+ with `handshake_first`). @default false */
  handshakeFirst?: boolean;
}

/** Signs the server's nonce and supplies credentials; called on every (re)connect. */
export type Authenticator = (
  nonce: string | undefined,
) => AuthCredentials | Promise<AuthCredentials>;

/** CONNECT credential fields an authenticator may return. */
export interface AuthCredentials {
  /** User name. */
  user?: string;
  /** Password. */
  pass?: string;
  /** Token. */
  auth_token?: string;
  /** The NKey public key (`U...`). */
  nkey?: string;
  /** The server's nonce signed with the NKey, base64url-encoded. */
  sig?: string;
  /** The user JWT. */
  jwt?: string;
}

/** What `connect({ telemetry })` traces beyond the defaults (see the README, "OpenTelemetry"). */
export interface TelemetryOptions {
  /** False turns telemetry off for the connection, as `telemetry: false` does. @default true */
  enabled?: boolean;
  /**
   * CLIENT `settle {stream}` spans for JetStream acks: `ack()`, `ackSync()`, `nak()` and
   * `term()` (not `inProgress()`), children of the span active where they are called.
   * @default false
   */
  settle?: boolean;
}

/** Options of `connect()`. Durations are milliseconds. */
export interface ConnectOptions {
  /**
   * Server URLs: `nats://`, `tls://`, bare `host:port`, or over a WebSocket `ws://` and
   * `wss://` (`wss://` is verified with the `tls` settings, as `tls://` is), with a path for a
   * server behind a reverse proxy (`wss://example.com/nats`). A list may mix schemes.
   * @default 'nats://127.0.0.1:4222'
   */
  servers?: string | string[];
  /** Connection name shown in server monitoring. */
  name?: string;
  /**
   * User name; goes with `pass`. `user`, `pass`, `token`, `nkeySeed` and `creds` each take a
   * value or a `CredentialSupplier`, a function called before every connect and reconnect (so
   * rotating credentials work). `user` and `pass` suppliers are called one after the other; a
   * pair that must change together is better returned by one `authenticator`.
   */
  user?: string | CredentialSupplier;
  /** Password; goes with `user`. A value or a `CredentialSupplier`. */
  pass?: string | CredentialSupplier;
  /** Authentication token, or a `CredentialSupplier` of it. */
  token?: string | CredentialSupplier;
  /** An NKey user seed (`SU...`), or a `CredentialSupplier` of it; the public key is derived. */
  nkeySeed?: string | CredentialSupplier;
  /** Path of a creds file (user JWT + seed); read again on every connect and reconnect. */
  credsFile?: string;
  /** Contents of a creds file, or a `CredentialSupplier` of them. */
  creds?: string | CredentialSupplier;
  /**
   * Settings of a `nats` CLI context: a context name, read from
   * `$XDG_CONFIG_HOME/nats/context/<name>.json` (`~/.config/nats/context`), or `true` for the
   * CLI's selected one (`$NATS_CONTEXT`, else the name in `nats/context.txt`). Its server URL,
   * credentials, TLS files and inbox prefix fill the options not given here; its JetStream
   * domain and API prefix become the defaults of `nc.jetstream()` / `nc.jetstreamManager()`.
   * A missing or unreadable context rejects `connect()` with `InvalidOptionError`.
   */
  context?: string | true;
  /** Custom authentication, called with the server's nonce. */
  authenticator?: Authenticator;
  /** TLS settings; `true` requires TLS with default settings. */
  tls?: TlsOptions | boolean;
  /**
   * Extra headers of the WebSocket upgrade request (`ws://`, `wss://`), for example
   * `{ Authorization: 'Bearer …' }`, or a function returning them, called before every
   * connect and reconnect. `Host`, `Upgrade`, `Connection` and `Sec-WebSocket-*` are the
   * handshake's own and refused with `InvalidOptionError`.
   */
  wsHeaders?:
    Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>);
  /**
   * Offer permessage-deflate compression on WebSocket connections; it is on when the server
   * accepts, which nats-server does when its `websocket { compression: true }` is set.
   * @default true
   */
  wsCompression?: boolean;
  /** Connect timeout, per attempt. @default 2000 */
  timeout?: number;
  /** Reconnect after a lost connection. @default true */
  reconnect?: boolean;
  /** Reconnect attempts per server; -1 retries forever. @default 60 */
  maxReconnectAttempts?: number;
  /** Wait after a full pass over the server pool. @default 2000 */
  reconnectTimeWait?: number;
  /** Random extra wait in [0, jitter). @default 100 */
  reconnectJitter?: number;
  /** Random extra wait for TLS connections. @default 1000 */
  reconnectJitterTls?: number;
  /** Computes the wait after a full pass instead of timeWait + jitter. */
  reconnectDelayHandler?: (attempt: number) => number;
  /**
   * Picks the server of each reconnect attempt and the wait before it, instead of the pool order
   * (ADR-40). Called with the pool (configured and discovered servers, with their failed
   * attempts) and the error of the last attempt; returns `{ server, delay? }` with the `url` of
   * one of them, or undefined for the default choice. Without `delay` the first attempt after a
   * disconnect is at once and later ones wait as without this option. A throw, or a server not
   * in the pool, is reported as `InvalidOptionError` through `onError` and the default is used.
   */
  reconnectToServer?: ReconnectToServer;
  /** Bytes of publishes kept while disconnected; more makes `publish` throw. @default 8 MiB */
  reconnectBufferSize?: number;
  /** Interval of client PINGs. @default 120000 */
  pingInterval?: number;
  /** Unanswered PINGs before the connection is considered stale. @default 2 */
  maxPingsOut?: number;
  /** Do not receive this connection's own publishes. @default false */
  noEcho?: boolean;
  /** Keep the server order instead of shuffling. @default false */
  noRandomize?: boolean;
  /** Ignore servers gossiped by the cluster. @default false */
  ignoreClusterUpdates?: boolean;
  /** Prefix of inbox subjects. @default '_INBOX' */
  inboxPrefix?: string;
  /** Keep retrying when the first connect fails, instead of rejecting. @default false */
  waitOnFirstConnect?: boolean;
  /** Ask the server for +OK after every operation. @default false */
  verbose?: boolean;
  /** Ask the server for strict subject checks. @default false */
  pedantic?: boolean;
  /** Outbound bytes above which `publish()` returns a promise to await. @default 4 MiB */
  writeHighWaterMark?: number;
  /** Time allowed for `drain()` before it closes anyway. @default 30000 */
  drainTimeout?: number;
  /**
   * The server's `max_control_line`: a PUB or SUB line longer than this (long subjects) is
   * refused with `InvalidSubjectError` instead of being sent, since the server would drop the
   * connection over it. Raise it only together with the server's setting. @default 4096
   */
  maxControlLine?: number;
  /**
   * OpenTelemetry spans and metrics. They are on by themselves when `@opentelemetry/api` is
   * installed and an SDK (a TracerProvider or MeterProvider) is registered; `false` turns them
   * off for this connection whatever is installed; an object turns on what is off by default
   * (`{ settle: true }`). @default true
   */
  telemetry?: boolean | TelemetryOptions;
  /** Errors that belong to no call: slow consumers, permission violations, throwing callbacks. */
  onError?: (err: NatsError) => void;
  /** Called with the server's URL when the connection to it is lost. */
  onDisconnect?: (server: string) => void;
  /** Called with the server's URL after a reconnect. */
  onReconnect?: (server: string) => void;
  /** Called once when the connection is closed for good, with the error that closed it if any. */
  onClose?: (err?: Error) => void;
  /** Called with the URLs the cluster announced that were not in the pool. */
  onDiscoveredServers?: (servers: string[]) => void;
  /** Called with the server's URL when it enters lame duck mode (it is shutting down). */
  onLameDuck?: (server: string) => void;
}

export const DEFAULTS = {
  servers: 'nats://127.0.0.1:4222',
  timeout: 2000,
  reconnect: true,
  maxReconnectAttempts: 60,
  reconnectTimeWait: 2000,
  reconnectJitter: 100,
  reconnectJitterTls: 1000,
  reconnectBufferSize: 8 * 1024 * 1024,
  pingInterval: 120_000,
  maxPingsOut: 2,
  inboxPrefix: '_INBOX',
  writeHighWaterMark: 4 * 1024 * 1024,
  drainTimeout: 30_000,
  maxControlLine: 4096,
} as const;

export type ResolvedOptions = ConnectOptions & {
  -readonly [K in keyof typeof DEFAULTS]: (typeof DEFAULTS)[K] extends string
    ? string
    : (typeof DEFAULTS)[K] extends number
      ? number
      : boolean;
};

const NUMBER_OPTIONS = [
  'timeout',
  'maxReconnectAttempts',
  'reconnectTimeWait',
  'reconnectJitter',
  'reconnectJitterTls',
  'reconnectBufferSize',
  'pingInterval',
  'maxPingsOut',
  'writeHighWaterMark',
  'drainTimeout',
  'maxControlLine',
] as const;

// Options that become timer delays, so they must fit Node's timers.
const DELAY_OPTIONS = [
  'timeout',
  'reconnectTimeWait',
  'reconnectJitter',
  'reconnectJitterTls',
  'pingInterval',
  'drainTimeout',
] as const;

/** Applies defaults and rejects options that cannot work, with `InvalidOptionError`. */
export function resolveOptions(opts: ConnectOptions = {}): ResolvedOptions {
  if (typeof opts !== 'object' || opts === null)
    throw new InvalidOptionError('connect options must be an object');
  const resolved = { ...DEFAULTS } as ResolvedOptions;
  for (const [k, v] of Object.entries(opts)) {
    if (v !== undefined) (resolved as unknown as Record<string, unknown>)[k] = v;
  }
  for (const k of NUMBER_OPTIONS) {
    const v = resolved[k];
    if (typeof v !== 'number' || Number.isNaN(v))
      throw new InvalidOptionError(`option ${k} must be a number`);
    if (v < 0 && !(k === 'maxReconnectAttempts' && v === -1))
      throw new InvalidOptionError(`option ${k} must not be negative`);
  }
  if (resolved.timeout === 0) throw new InvalidOptionError('option timeout must be positive');
  for (const k of DELAY_OPTIONS) checkDelay(resolved[k], `option ${k}`);
  if (!Number.isInteger(resolved.maxControlLine) || resolved.maxControlLine < 256)
    throw new InvalidOptionError('option maxControlLine must be an integer of at least 256');
  const servers = Array.isArray(resolved.servers) ? resolved.servers : [resolved.servers];
  if (servers.length === 0 || servers.some((s) => typeof s !== 'string' || s.trim() === '')) {
    throw new InvalidOptionError('option servers must be a non-empty URL or list of URLs');
  }
  if (!isValidPublishSubject(resolved.inboxPrefix)) {
    throw new InvalidOptionError(
      'option inboxPrefix must be a literal subject such as _INBOX or app.inbox',
    );
  }
  const auths = [
    opts.token,
    opts.nkeySeed,
    opts.credsFile ?? opts.creds,
    opts.authenticator,
  ].filter((v) => v !== undefined);
  if (auths.length > 1)
    throw new InvalidOptionError(
      'use only one of token, nkeySeed, credsFile/creds and authenticator',
    );
  if ((opts.user === undefined) !== (opts.pass === undefined))
    throw new InvalidOptionError('user and pass go together');
  for (const k of SUPPLIED_OPTIONS) checkSuppliedOption(k, opts[k]);
  checkReconnectToServer(opts.reconnectToServer);
  checkTlsFiles(opts.tls);
  checkWebSocketOptions(opts, servers);
  return resolved;
}

/** The WebSocket options, and TLS settings given with a `ws://` server they cannot apply to. */
function checkWebSocketOptions(opts: ConnectOptions, servers: string[]): void {
  if (opts.wsHeaders !== undefined && typeof opts.wsHeaders !== 'function')
    checkWsHeaders(opts.wsHeaders);
  if (opts.wsCompression !== undefined && typeof opts.wsCompression !== 'boolean')
    throw new InvalidOptionError('option wsCompression must be a boolean');
  if (opts.tls !== undefined && opts.tls !== false && servers.some((s) => /^\s*ws:\/\//i.test(s)))
    throw new InvalidOptionError(
      'option tls cannot apply to a ws:// server (plain WebSocket): use wss:// for TLS',
    );
}

/** TLS files that do not exist fail here, before any connect attempt (and its retries). */
function checkTlsFiles(tls: ConnectOptions['tls']): void {
  if (typeof tls !== 'object' || tls === null) return;
  for (const key of ['caFile', 'certFile', 'keyFile'] as const) {
    const file = tls[key];
    if (file !== undefined && !existsSync(file)) {
      throw new InvalidOptionError(`tls.${key} ${JSON.stringify(file)} does not exist`);
    }
  }
}
