import { EventEmitter } from 'node:events';
import { TLSSocket } from 'node:tls';
import { ConnectionError, ProtocolError } from '../../errors.js';
import type { ResolvedOptions, TlsOptions } from '../../options.js';
import type { ServerEntry } from '../../servers.js';
import { openSocket, type NatsSocket } from '../socket.js';
import type { Transport } from '../transport.js';
import { DEFLATE_MAX_INPUT, DEFLATE_THRESHOLD, deflateMessage, inflateMessage } from './deflate.js';
import { FrameDecoder, Opcode, encodeFrame } from './frames.js';
import {
  checkUpgradeResponse,
  checkWsHeaders,
  newWsKey,
  readUpgradeResponse,
  upgradeRequest,
} from './handshake.js';

/**
 * Opens a WebSocket to `server` (`ws://`, or `wss://` verified with the `tls` options as
 * `tls://` is) and upgrades it, all within `opts.timeout` per step. The `wsHeaders` function,
 * when given, is called here: on every connect.
 */
export async function openWebSocket(
  server: ServerEntry,
  opts: ResolvedOptions,
  tlsOpts: TlsOptions | undefined,
): Promise<WsSocket> {
  const headers = await extraHeaders(opts);
  // wss: TLS from the first byte, exactly as tls:// with handshakeFirst.
  const tcp = await openSocket(
    server,
    opts.timeout,
    server.tls ? { ...tlsOpts, handshakeFirst: true } : undefined,
  );
  const key = newWsKey();
  const offer = opts.wsCompression !== false;
  tcp.write(upgradeRequest(server, key, headers, offer));
  const res = await readUpgradeResponse(tcp, server, opts.timeout);
  let deflate: boolean;
  try {
    deflate = checkUpgradeResponse(res, server, key, offer);
  } catch (err) {
    tcp.destroy();
    throw err;
  }
  return new WsSocket(tcp, server, deflate, res.rest);
}

async function extraHeaders(opts: ResolvedOptions): Promise<Record<string, string>> {
  const option = opts.wsHeaders;
  if (option === undefined) return {};
  if (typeof option !== 'function') return option;
  let headers: unknown;
  try {
    headers = await option();
  } catch (err) {
    // Not its message: a supplier of secrets may put one there.
    throw new ConnectionError('the wsHeaders function failed', { cause: err });
  }
  return checkWsHeaders(headers);
}

/**
 * A client WebSocket over a connected TCP or TLS socket, read and written like that socket:
 * `write()` sends each chunk as one masked binary frame (deflated when permessage-deflate is
 * on and the chunk is worth it) and `'data'` emits the bytes of the server's messages, frame
 * boundaries dropped. Pings are answered. A close frame from the server is reported as an
 * `'error'` (`ConnectionError` with its status code and reason) before `'close'`; a frame
 * RFC 6455 forbids as a `ProtocolError`. Reading starts once a `'data'` listener is added, so
 * frames that came with the 101 response wait for it.
 */
export class WsSocket extends EventEmitter implements Transport {
  private readonly decoder: FrameDecoder;
  private closeSent = false;
  private closeReceived = false;
  private reading = false;
  private ended = false;

  constructor(
    private readonly socket: NatsSocket,
    private readonly server: ServerEntry,
    /** permessage-deflate was negotiated. */
    readonly compressed: boolean,
    private readonly early: Buffer,
  ) {
    super();
    this.decoder = new FrameDecoder(
      {
        onData: (bytes) => {
          if (!this.closeReceived) this.emit('data', bytes);
        },
        onControl: (opcode, payload) => this.onControl(opcode, payload),
      },
      compressed ? inflateMessage : undefined,
    );
    socket.on('drain', () => this.emit('drain'));
    socket.on('error', (err: Error) => this.fail(err, false));
    socket.once('close', () => this.emit('close'));
    this.on('newListener', (event: string) => {
      if (event === 'data' && !this.reading) {
        this.reading = true;
        // After the listener is added: 'newListener' runs before.
        process.nextTick(() => this.startReading());
      }
    });
  }

  /** Traffic is encrypted (wss://). */
  get encrypted(): boolean {
    return this.socket instanceof TLSSocket;
  }

  get writableLength(): number {
    return this.socket.writableLength;
  }

  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  get writableEnded(): boolean {
    return this.ended || this.socket.writableEnded;
  }

  /**
   * Sends `data` as one binary message, or when compressing as messages of at most
   * `DEFLATE_MAX_INPUT` bytes each, in one socket write.
   */
  write(data: Uint8Array | string, done?: (err?: Error | null) => void): boolean {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    if (!this.compressed || bytes.length < DEFLATE_THRESHOLD)
      return this.socket.write(encodeFrame(Opcode.BINARY, bytes), done);
    const frames: Buffer[] = [];
    for (let at = 0; at < bytes.length; at += DEFLATE_MAX_INPUT) {
      const piece = bytes.subarray(at, at + DEFLATE_MAX_INPUT);
      frames.push(encodeFrame(Opcode.BINARY, deflateMessage(piece), true));
    }
    const out = frames.length === 1 ? frames[0] : Buffer.concat(frames);
    return this.socket.write(out, done);
  }

  /** Closes with status 1000 after what was written, then ends the socket. */
  end(): this {
    if (this.ended) return this;
    this.ended = true;
    this.sendClose(1000);
    this.socket.end();
    return this;
  }

  destroy(): this {
    this.socket.destroy();
    return this;
  }

  private startReading(): void {
    if (this.early.length > 0) this.feed(this.early);
    this.socket.on('data', (chunk: Buffer) => this.feed(chunk));
    this.socket.resume();
  }

  private feed(chunk: Buffer): void {
    if (this.socket.destroyed) return;
    try {
      this.decoder.push(chunk);
    } catch (err) {
      this.fail(err as Error, true);
    }
  }

  private onControl(opcode: number, payload: Buffer): void {
    if (opcode === Opcode.PING) {
      if (!this.closeSent && !this.socket.destroyed)
        this.socket.write(encodeFrame(Opcode.PONG, payload));
      return;
    }
    if (opcode !== Opcode.CLOSE || this.closeReceived) return;
    this.closeReceived = true;
    if (payload.length === 1) {
      this.fail(new ProtocolError('WebSocket close frame with a 1-byte payload'), true);
      return;
    }
    const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
    if (!this.closeSent) {
      const reason = payload.subarray(2).toString('utf8');
      this.fail(
        new ConnectionError(
          `${this.server.hostport} closed the WebSocket with status ${code}${reason ? ` (${reason})` : ''}`,
        ),
        false,
      );
      // Echo the status (section 5.5.1); the server then closes the TCP connection.
      this.sendClose(code === 1005 ? undefined : code);
    }
    this.ended = true;
    this.socket.end();
  }

  private sendClose(code: number | undefined): void {
    if (this.closeSent || this.socket.destroyed || this.socket.writableEnded) return;
    this.closeSent = true;
    const payload = Buffer.alloc(code === undefined ? 0 : 2);
    if (code !== undefined) payload.writeUInt16BE(code, 0);
    this.socket.write(encodeFrame(Opcode.CLOSE, payload));
  }

  /** Reports `err` (a socket error, a close frame, a protocol error); `destroy` drops the socket. */
  private fail(err: Error, destroy: boolean): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
    if (destroy) this.socket.destroy();
  }
}
