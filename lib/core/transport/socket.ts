import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { ConnectionError } from '../errors.js';
import type { TlsOptions } from '../options.js';
import type { ServerEntry } from '../servers.js';

export type NatsSocket = net.Socket | tls.TLSSocket;

/** Opens a TCP connection (or TLS right away for `handshakeFirst`), bounded by `timeout`. */
export function openSocket(
  server: ServerEntry,
  timeout: number,
  tlsOpts: TlsOptions | undefined,
): Promise<NatsSocket> {
  const first = tlsOpts?.handshakeFirst === true;
  let context: tls.ConnectionOptions | undefined;
  try {
    if (first) context = secureContext(server, tlsOpts);
  } catch (err) {
    return Promise.reject(connectionError(server, err as Error));
  }
  return new Promise((resolve, reject) => {
    const socket: NatsSocket = first
      ? tls.connect({ host: server.hostname, port: server.port, ...context })
      : net.connect({ host: server.hostname, port: server.port });
    const timer = setTimeout(
      () =>
        fail(new ConnectionError(`connect to ${server.hostport} timed out after ${timeout} ms`)),
      timeout,
    );
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err instanceof ConnectionError ? err : connectionError(server, err));
    };
    socket.once('error', fail);
    socket.once(first ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.removeListener('error', fail);
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

/** Upgrades a connected socket to TLS after the server's INFO, verifying the server by default. */
export function upgradeTls(
  socket: net.Socket,
  server: ServerEntry,
  tlsOpts: TlsOptions | undefined,
  timeout: number,
): Promise<tls.TLSSocket> {
  let context: tls.ConnectionOptions;
  try {
    context = secureContext(server, tlsOpts);
  } catch (err) {
    return Promise.reject(connectionError(server, err as Error));
  }
  return new Promise((resolve, reject) => {
    let secure: tls.TLSSocket;
    try {
      secure = tls.connect({ socket, ...context });
    } catch (err) {
      // A key that does not match its certificate fails here, synchronously.
      reject(connectionError(server, err as Error));
      return;
    }
    const timer = setTimeout(
      () => fail(new ConnectionError(`TLS handshake with ${server.hostport} timed out`)),
      timeout,
    );
    const fail = (err: Error): void => {
      clearTimeout(timer);
      secure.destroy();
      reject(err instanceof ConnectionError ? err : connectionError(server, err));
    };
    secure.once('error', fail);
    secure.once('secureConnect', () => {
      clearTimeout(timer);
      secure.removeListener('error', fail);
      resolve(secure);
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
export function endSocket(socket: NatsSocket, graceMs = 1000): Promise<void> {
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
