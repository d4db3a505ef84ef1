import { InvalidOptionError } from './errors.js';

/** How a server is reached: NATS over TCP (`nats`, `tls`) or over a WebSocket (`ws`, `wss`). */
export type ServerScheme = 'nats' | 'tls' | 'ws' | 'wss';

const DEFAULT_PORTS: Record<ServerScheme, number> = { nats: 4222, tls: 4222, ws: 80, wss: 443 };

/** One entry of the server pool. */
export interface ServerEntry {
  /** `host:port` identity, used to match gossiped URLs. */
  readonly hostport: string;
  readonly hostname: string;
  readonly port: number;
  readonly scheme: ServerScheme;
  /** The URL asked for TLS: `tls://` or `wss://`. */
  readonly tls: boolean;
  /** WebSocket only: the request target of the upgrade (path and query), `/` by default. */
  readonly path?: string;
  /** Credentials embedded in the URL (`nats://user:pass@host`, `nats://token@host`). */
  readonly user?: string;
  readonly pass?: string;
  readonly token?: string;
  /** Discovered through cluster gossip rather than configured. */
  readonly implicit: boolean;
  /** Host name to verify a TLS certificate against when the URL holds a bare IP. */
  tlsName?: string;
  /** Failed attempts since the last successful connect. */
  reconnects: number;
  didConnect: boolean;
  lastAttempt: number;
  /** Authorization refusals in a row (handshake or right after it). */
  authFailures?: number;
}

/** The URL of a server without credentials, safe for logs and events. */
export function displayUrl(s: ServerEntry): string {
  // The query is left out: a proxy may take a token there.
  const path = s.path?.replace(/\?.*$/, '') ?? '';
  return `${s.scheme}://${s.hostport}${path === '/' ? '' : path}`;
}

/** True for the servers reached over a WebSocket (`ws://`, `wss://`). */
export function isWebSocket(s: ServerEntry): boolean {
  return s.scheme === 'ws' || s.scheme === 'wss';
}

/**
 * Parses `nats://[user:pass@]host[:port]`, `tls://...`, `ws://host[:port][/path]`,
 * `wss://...` or a bare `host[:port]`.
 */
export function parseServerUrl(raw: string, implicit = false): ServerEntry {
  let text = raw.trim();
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) text = `nats://${text}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidOptionError(`invalid server URL ${JSON.stringify(stripCredentials(raw))}`);
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase() as ServerScheme;
  if (!(scheme in DEFAULT_PORTS)) {
    throw new InvalidOptionError(
      `unsupported URL scheme ${scheme}: use nats://, tls://, ws:// or wss://`,
    );
  }
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!hostname)
    throw new InvalidOptionError(
      `server URL has no host: ${JSON.stringify(stripCredentials(raw))}`,
    );
  const port = url.port ? Number(url.port) : DEFAULT_PORTS[scheme];
  const ws = scheme === 'ws' || scheme === 'wss';
  let user: string | undefined;
  let pass: string | undefined;
  try {
    user = url.username ? decodeURIComponent(url.username) : undefined;
    pass = url.password ? decodeURIComponent(url.password) : undefined;
  } catch {
    throw new InvalidOptionError(
      `server URL has a malformed %-escape in its credentials: ${JSON.stringify(stripCredentials(raw))}`,
    );
  }
  const hostport = `${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}`;
  return {
    hostport,
    hostname,
    port,
    scheme,
    tls: scheme === 'tls' || scheme === 'wss',
    ...(ws ? { path: `${url.pathname || '/'}${url.search}` } : {}),
    // A lone user part is a token, as in other NATS clients.
    ...(user !== undefined && pass === undefined ? { token: user } : { user, pass }),
    implicit,
    reconnects: 0,
    didConnect: false,
    lastAttempt: 0,
  };
}

function isIp(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
}

/**
 * The URL with anything that may be credentials hidden: everything between `//` and the last
 * `@`, which may itself hold `/`, `:` or `@` when the URL does not parse.
 */
function stripCredentials(raw: string): string {
  const start = raw.indexOf('//');
  const at = raw.lastIndexOf('@');
  if (at < 0) return raw;
  return start >= 0 && start < at
    ? `${raw.slice(0, start + 2)}***${raw.slice(at)}`
    : `***${raw.slice(at)}`;
}

function shuffle<T>(list: T[], from = 0): void {
  for (let i = list.length - 1; i > from; i--) {
    const j = from + Math.floor(Math.random() * (i - from + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
}

/** The servers to try, in order: configured ones (shuffled unless told not to) plus gossiped ones. */
export class ServerPool {
  private list: ServerEntry[];
  current: ServerEntry | undefined;

  constructor(
    urls: string[],
    private readonly randomize: boolean,
  ) {
    this.list = urls.map((u) => parseServerUrl(u));
    if (randomize) shuffle(this.list);
  }

  get servers(): readonly ServerEntry[] {
    return this.list;
  }

  /** The next server to try, moved to the end of the list, or undefined when the pool is empty. */
  next(): ServerEntry | undefined {
    const s = this.list.shift();
    if (s) this.list.push(s);
    this.current = s;
    return s;
  }

  remove(s: ServerEntry): void {
    this.list = this.list.filter((e) => e !== s);
  }

  /**
   * Merges `connect_urls` from INFO: adds new ones as implicit entries, drops implicit entries
   * the cluster no longer lists (never the current server). Returns the newly added URLs.
   * They get `scheme`, the current server's: nats-server sends a WebSocket client the
   * addresses of its WebSocket listeners in `connect_urls` (its `ws_connect_urls`), and a
   * TCP client those of its TCP listeners. Gossiped WebSocket entries use the path `/`.
   */
  update(connectUrls: string[], scheme: ServerScheme): string[] {
    // Gossip carries IPs; a certificate names the host we were configured with.
    const current = this.current;
    const tlsName = current && !isIp(current.hostname) ? current.hostname : current?.tlsName;
    const gossiped = new Set(
      connectUrls.map((u) => parseServerUrl(`${scheme}://${u}`, true).hostport),
    );
    this.list = this.list.filter(
      (s) => !s.implicit || s === this.current || gossiped.has(s.hostport),
    );
    const known = new Set(this.list.map((s) => s.hostport));
    const added: string[] = [];
    for (const hp of gossiped) {
      if (known.has(hp)) continue;
      const entry = parseServerUrl(`${scheme}://${hp}`, true);
      if (tlsName && isIp(entry.hostname)) entry.tlsName = tlsName;
      this.list.push(entry);
      added.push(displayUrl(entry));
    }
    // Keep the current server first so the next failure moves on in a fresh random order.
    if (added.length && this.randomize) shuffle(this.list, 1);
    return added;
  }
}
