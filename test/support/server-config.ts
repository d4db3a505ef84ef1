// Renders nats-server configuration text from test options. Values are written with
// JSON.stringify, which yields strings the server's config parser accepts.
import type { TlsFixtures } from './tls-fixtures.js';

/** Options accepted by `startServer`. */
export interface StartServerOptions {
  /** Fixed client port; by default a free one is picked (and kept across restarts). */
  port?: number;
  /** Enable JetStream with a fresh temp store dir (kept across restarts, removed on stop). */
  jetstream?: boolean;
  /** JetStream domain of this server (with `jetstream: true`); none by default. */
  jetstreamDomain?: string;
  /** Extra configuration text appended verbatim. */
  config?: string;
  user?: string;
  pass?: string;
  token?: string;
  /** Public user NKeys (`U…`) allowed to connect. */
  nkeyUsers?: string[];
  /** Serve TLS with the generated fixtures. `verifyClient` demands a client certificate. */
  tls?: { verifyClient?: boolean; required?: boolean };
  /**
   * Also listen for WebSocket clients on a free port (`wsUrl`, kept across restarts): plain
   * `ws://`, or `wss://` with `tls` (the generated fixtures); `compression` turns on the
   * server's permessage-deflate.
   */
  websocket?: { tls?: boolean; compression?: boolean };
  /** Turn on debug and trace logging (see `logs()`). */
  debug?: boolean;
  /** Open the HTTP monitoring port (`monitorUrl`). */
  monitor?: boolean;
  serverName?: string;
  /**
   * Lame duck duration (server minimum "30s", default "2m") and grace period before clients are
   * closed (server default "10s"; here "1s" so lame duck tests stay fast).
   */
  lameDuckDuration?: string;
  lameDuckGracePeriod?: string;
  /** How long to wait for the server to accept connections (default 10 s). */
  readyTimeoutMs?: number;
}

/** Everything `renderConfig` needs besides the user's options. */
export interface ConfigContext {
  port: number;
  httpPort?: number;
  storeDir?: string;
  tls?: TlsFixtures;
  wsPort?: number;
}

const q = (value: string): string => JSON.stringify(value);

function authBlock(opts: StartServerOptions): string[] {
  const entries: string[] = [];
  if (opts.user !== undefined) {
    entries.push(`user: ${q(opts.user)}`, `password: ${q(opts.pass ?? '')}`);
  }
  if (opts.token !== undefined) entries.push(`token: ${q(opts.token)}`);
  if (opts.nkeyUsers?.length) {
    entries.push(`users: [${opts.nkeyUsers.map((k) => `{ nkey: ${q(k)} }`).join(', ')}]`);
  }
  return entries.length ? ['authorization {', ...entries.map((e) => `  ${e}`), '}'] : [];
}

function tlsBlock(opts: StartServerOptions, fixtures: TlsFixtures | undefined): string[] {
  if (!opts.tls || !fixtures) return [];
  const lines = [
    'tls {',
    `  cert_file: ${q(fixtures.certFile)}`,
    `  key_file: ${q(fixtures.keyFile)}`,
    `  ca_file: ${q(fixtures.caFile)}`,
    `  verify: ${opts.tls.verifyClient === true}`,
    '  timeout: 2',
    '}',
  ];
  // Without this the server insists on TLS for every client once a tls block exists.
  if (opts.tls.required === false) lines.push('allow_non_tls: true');
  return lines;
}

function websocketBlock(opts: StartServerOptions, ctx: ConfigContext): string[] {
  const ws = opts.websocket;
  if (!ws || ctx.wsPort === undefined) return [];
  const security =
    ws.tls && ctx.tls
      ? [
          '  tls {',
          `    cert_file: ${q(ctx.tls.certFile)}`,
          `    key_file: ${q(ctx.tls.keyFile)}`,
          '  }',
        ]
      : ['  no_tls: true'];
  return [
    'websocket {',
    `  listen: ${q(`127.0.0.1:${ctx.wsPort}`)}`,
    ...security,
    `  compression: ${ws.compression === true}`,
    '}',
  ];
}

/** Renders the full configuration file for one server. */
export function renderConfig(opts: StartServerOptions, ctx: ConfigContext): string {
  const lines = [
    `listen: ${q(`127.0.0.1:${ctx.port}`)}`,
    `lame_duck_grace_period: ${q(opts.lameDuckGracePeriod ?? '1s')}`,
  ];
  if (opts.lameDuckDuration) lines.push(`lame_duck_duration: ${q(opts.lameDuckDuration)}`);
  if (opts.serverName) lines.push(`server_name: ${q(opts.serverName)}`);
  if (ctx.httpPort) lines.push(`http: ${q(`127.0.0.1:${ctx.httpPort}`)}`);
  if (opts.debug) lines.push('debug: true', 'trace: true');
  if (ctx.storeDir) {
    const domain = opts.jetstreamDomain ? [`  domain: ${q(opts.jetstreamDomain)}`] : [];
    lines.push('jetstream {', `  store_dir: ${q(ctx.storeDir)}`, ...domain, '}');
  }
  lines.push(...authBlock(opts), ...tlsBlock(opts, ctx.tls), ...websocketBlock(opts, ctx));
  if (opts.config) lines.push('', opts.config);
  return lines.join('\n') + '\n';
}
