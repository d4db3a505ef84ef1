import { RpcException } from '@nestjs/microservices';

/**
 * Thrown by a `@JetStreamHandler` to stop redelivery of a message (`+TERM`). An `RpcException`
 * whose error object has `terminal: true` has the same effect.
 */
export class TermException extends RpcException {
  constructor(message: string) {
    // Nest's exception filter keeps an object error as it is, so the marker survives it.
    super({ message, terminal: true });
    // Loggers and JSON.stringify show the class, not the generic "Error".
    this.name = 'TermException';
  }
}

/** True when a (filtered) handler error asks for the message to be terminated. */
export function isTerminal(err: unknown): boolean {
  if (err instanceof TermException) return true;
  return (
    typeof err === 'object' && err !== null && (err as { terminal?: unknown }).terminal === true
  );
}
