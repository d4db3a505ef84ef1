import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { ConnectionError } from '../errors.js';
import type { TlsOptions } from '../options.js';
import type { ServerEntry } from '../servers.js';
import type { Transport } from './transport.js';

export type NatsSocket = net.Socket | tls.TLSSocket;

/** Opens a TCP connection (or TLS right away for `handshakeFirst`), bounded by `timeout`. */
export async function openSocket(
  server: ServerEntry,
  timeout: number,
  tlsOpts: TlsOptions | undefined,
): Promise<NatsSocket> {
  const first = tlsOpts?.handshakeFirst === true;
  const target = { host: server.hostname, port: server.port };
  const socket = await whenReady<NatsSocket>(
    server,
    first ? 'secureConnect' : 'connect',
    timeout,
    `connect to ${server.hostport} timed out after ${timeout} ms`,
    () =>
      first ? tls.connect({ ...target, ...secureContext(server, tlsOpts) }) : net.connect(target),
  );
  socket.setNoDelay(true);
  return socket;
}

/** Upgrades a connected socket to TLS after the server's INFO, verifying the server by default. */
export function upgradeTls(
  socket: net.Socket,
  server: ServerEntry,
  tlsOpts: TlsOptions | undefined,
  timeout: number,
): Promise<tls.TLSSocket> {
  return whenReady(
    server,
    'secureConnect',
    timeout,
    `TLS handshake with ${server.hostport} timed out`,
    () => tls.connect({ socket, ...secureContext(server, tlsOpts) }),
  );
}

/**
 * Resolves the socket `open` returns once it emits `ready`. An error (thrown by `open` too: bad
 * TLS files, a key that does not match its certificate) or `timeout` ms without `ready`
 * destroys it and rejects with `ConnectionError`; `timedOut` is the message of the latter.
 */
function whenReady<S extends NatsSocket>(
  server: ServerEntry,
  ready: 'connect' | 'secureConnect',
  timeout: number,
  timedOut: string,
  open: () => S,
): Promise<S> {
  return new Promise((resolve, reject) => {
    let socket: S;
    try {
      socket = open();
    } catch (err) {
      reject(connectionError(server, err as Error));
      return;
    }
    const timer = setTimeout(() => fail(new ConnectionError(timedOut)), timeout);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err instanceof ConnectionError ? err : connectionError(server, err));
    };
    socket.once('error', fail);
    socket.once(ready, () => {
      clearTimeout(timer);
      socket.removeListener('error', fail);
      resolve(socket);
    });
  });
}

function secureContext(server: ServerEntry, o: TlsOptions | undefined): tls.ConnectionOptions {
  const opts: tls.ConnectionOptions = {
    rejectUnauthorized: o?.rejectUnauthorized ?? true,
    servername:
      o?.servername ?? server.tlsName ?? (net.isIP(server.hostname) ? undefined : server.hostname),
  };
  const ca = o?.ca ?? (o?.caFile ? readFileSync(o.caFile) : undefined);
  const cert = o?.cert ?? (o?.certFile ? readFileSync(o.certFile) : undefined);
  const key = o?.key ?? (o?.keyFile ? readFileSync(o.keyFile) : undefined);
  if (ca) opts.ca = ca;
  if (cert) opts.cert = cert;
  if (key) opts.key = key;
  // Verification of an IP address goes against the certificate's IP SANs, unless the server was
  // gossiped and is checked against the host name we were configured with (tlsName).
  if (net.isIP(server.hostname) && !o?.servername && !server.tlsName)
    opts.checkServerIdentity = (_host, c) => tls.checkServerIdentity(server.hostname, c);
  return opts;
}

function connectionError(server: ServerEntry, err: Error): ConnectionError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER') {
    return new ConnectionError(
      `TLS handshake with ${server.hostport} failed: the server does not speak TLS on this port`,
      { cause: err },
    );
  }
  return new ConnectionError(
    `cannot connect to ${server.hostport}: ${code ? `${code} ` : ''}${err.message}`,
    { cause: err },
  );
}

/** Ends a socket gracefully (pending writes go out), destroying it after `graceMs`. */
export function endSocket(socket: Transport, graceMs = 1000): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    const timer = setTimeout(() => socket.destroy(), graceMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.end();
  });
}
