import { credentialFields } from '../auth/credentials.js';
import { ConnectionError } from '../errors.js';
import { connectFrame } from '../protocol/encoder.js';
import { buildConnect, type ServerInfo } from '../protocol/handshake.js';
import type { ResolvedOptions, TlsOptions } from '../options.js';
import { isWebSocket, type ServerEntry } from '../servers.js';
import { openSocket, upgradeTls, type NatsSocket } from '../transport/socket.js';
import type { Transport } from '../transport/transport.js';
import { openWebSocket } from '../transport/websocket/ws-socket.js';

/** What a handshake needs from the connection: somewhere to read the socket and keep INFO. */
export interface HandshakeLink {
  /** Reads `socket` from now on (parser, socket events); replaces the socket read before. */
  bind(socket: Transport): void;
  /** Forgets `socket` if it is the one being read (the handshake failed). */
  unbind(socket: Transport): void;
  /** The server's INFO, kept before CONNECT is sent. */
  setInfo(info: ServerInfo): void;
}

/**
 * Steps of one handshake: wait for INFO, send CONNECT + PING (after a TLS upgrade when asked),
 * wait for the PONG that says the server accepted it.
 */
export type HandshakeStep = 'info' | 'connect' | 'pong' | 'done' | 'failed';

/**
 * One connection attempt: TCP, INFO, optional TLS, CONNECT + PING, PONG, all within
 * `opts.timeout`. While it is `active`, the connection routes INFO, PONG and -ERR here.
 */
export class Handshake {
  private current: HandshakeStep = 'info';
  private resolve!: () => void;
  private reject!: (err: Error) => void;
  private readonly outcome = new Promise<void>((resolve, reject) => {
    this.resolve = resolve;
    this.reject = reject;
  });

  private constructor(
    private readonly server: ServerEntry,
    private readonly opts: ResolvedOptions,
    private readonly link: HandshakeLink,
    private socket: Transport,
    private readonly wantTls: boolean,
    private readonly tlsOpts: TlsOptions | undefined,
  ) {}

  /**
   * Connects to `server`. `started` gets the handshake once its socket is open, before the
   * socket is read; resolves the socket once the server answered the PING.
   */
  static async run(
    server: ServerEntry,
    opts: ResolvedOptions,
    link: HandshakeLink,
    started: (hs: Handshake) => void,
  ): Promise<Transport> {
    server.lastAttempt = Date.now();
    const tlsOpts = typeof opts.tls === 'object' ? opts.tls : opts.tls ? {} : undefined;
    const wantTls = server.tls || tlsOpts !== undefined;
    const socket = isWebSocket(server)
      ? await openWebSocket(server, opts, tlsOpts)
      : await openSocket(server, opts.timeout, tlsOpts);
    const hs = new Handshake(server, opts, link, socket, wantTls, tlsOpts);
    started(hs);
    return hs.complete();
  }

  get step(): HandshakeStep {
    return this.current;
  }

  /** Still waiting for the server: INFO, PONG and -ERR belong to this handshake. */
  get active(): boolean {
    return this.current !== 'done' && this.current !== 'failed';
  }

  /** The server's INFO; a second one before our CONNECT went out is ignored. */
  onInfo(info: ServerInfo): void {
    if (this.current !== 'info') return;
    this.current = 'connect';
    this.sendConnect(info).catch((err: Error) => this.fail(err));
  }

  /** The PONG that answers the handshake's PING. */
  onPong(): void {
    if (!this.active) return;
    this.current = 'done';
    this.resolve();
  }

  /** Ends the attempt with `err` (a -ERR, a protocol error, the socket closing, the deadline). */
  fail(err: Error): void {
    if (!this.active) return;
    this.current = 'failed';
    this.reject(err);
  }

  private async complete(): Promise<Transport> {
    const deadline = setTimeout(
      () => this.fail(new ConnectionError(`handshake with ${this.server.hostport} timed out`)),
      this.opts.timeout,
    );
    try {
      this.link.bind(this.socket);
      await this.outcome;
      return this.socket;
    } catch (err) {
      this.socket.destroy();
      this.link.unbind(this.socket);
      throw err;
    } finally {
      clearTimeout(deadline);
    }
  }

  private async sendConnect(info: ServerInfo): Promise<void> {
    this.link.setInfo(info);
    let socket = this.socket;
    // A WebSocket is never upgraded: wss:// is TLS from the start, and a server's INFO says
    // tls_required for its TCP clients only.
    const upgrade = !isWebSocket(this.server) && (this.wantTls || info.tls_required);
    if (upgrade && !('encrypted' in socket && socket.encrypted)) {
      socket.removeAllListeners('data');
      const tcp = socket as NatsSocket;
      socket = await upgradeTls(tcp, this.server, this.tlsOpts, this.opts.timeout);
      this.socket = socket;
      this.link.bind(socket);
    }
    const creds = await credentialFields(this.opts, this.server, info.nonce);
    if (this.current !== 'connect') return;
    this.current = 'pong';
    socket.write(connectFrame(buildConnect(this.opts, info, creds, this.wantTls)));
  }
}
