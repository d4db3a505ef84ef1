import type { ChunkWriter } from './outbound.js';

/**
 * A connected byte stream to a server, as the protocol handler uses it: a TCP or TLS socket
 * (`net.Socket` fits as it is) or a `WsSocket`, whose `'data'` are the bytes of the server's
 * WebSocket messages. The parser, the outbound buffer and reconnecting see no difference.
 */
export interface Transport extends ChunkWriter {
  write(data: Uint8Array | string, done?: (err?: Error | null) => void): boolean;
  readonly writableLength: number;
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  /** Ends gracefully: what was written goes out first. */
  end(): unknown;
  destroy(): unknown;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'drain' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  once(event: 'close', listener: () => void): unknown;
  removeAllListeners(event: 'data'): unknown;
}
