import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { ProtocolError } from '../../errors.js';

const EXTENSION = 'permessage-deflate';

/**
 * Our offer (RFC 7692): no context takeover either way, so every message is deflated and
 * inflated on its own, and neither side keeps a 32 KiB window per connection. nats-server
 * answers with both parameters whenever its `compression` is on.
 */
export const DEFLATE_OFFER = `${EXTENSION}; server_no_context_takeover; client_no_context_takeover`;

// Outbound messages smaller than this are sent as they are (a deflate block costs bytes too).
export const DEFLATE_THRESHOLD = 64;
// nats-server refuses a compressed message that inflates to more than its max_payload
// ("maximum payload exceeded"), while NATS operations may span messages: larger writes are
// deflated in pieces of this size.
export const DEFLATE_MAX_INPUT = 64 * 1024;

// What a message ends with once flushed, and what the receiver puts back (section 7.2.1).
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/**
 * Reads the server's `Sec-WebSocket-Extensions` answer to `DEFLATE_OFFER` (`offered` false
 * when we made none). Returns true when permessage-deflate is on. Throws `ProtocolError` for
 * an answer that does not fit the offer: an extension we did not offer, a parameter we did not
 * offer (`client_max_window_bits`), unknown or repeated parameters, or an acceptance without
 * `server_no_context_takeover`, which we would need a per-connection window to read.
 */
export function acceptDeflate(header: string | undefined, offered: boolean): boolean {
  if (header === undefined || header.trim() === '') return false;
  const fail = (why: string): never => {
    throw new ProtocolError(`WebSocket handshake: ${why} (Sec-WebSocket-Extensions: ${header})`);
  };
  const extensions = header.split(',');
  if (!offered) fail('the server accepted an extension that was not offered');
  if (extensions.length > 1) fail('the server accepted more than one extension');
  const [name, ...params] = extensions[0].split(';').map((p) => p.trim());
  if (name.toLowerCase() !== EXTENSION) fail('the server accepted an unknown extension');
  const seen = new Set<string>();
  for (const param of params) {
    const [key, value] = param.split('=').map((p) => p.trim().replace(/^"(.*)"$/, '$1'));
    const k = key.toLowerCase();
    if (seen.has(k)) fail(`parameter ${k} repeated`);
    seen.add(k);
    if (k === 'server_no_context_takeover' || k === 'client_no_context_takeover') {
      if (value !== undefined) fail(`parameter ${k} takes no value`);
    } else if (k === 'server_max_window_bits') {
      // Our inflater's window (15 bits) reads any smaller window the server uses.
      if (!/^(8|9|1[0-5])$/.test(value ?? '')) fail(`bad ${k}`);
    } else {
      fail(`parameter ${k} was not offered`);
    }
  }
  if (!seen.has('server_no_context_takeover')) fail('server_no_context_takeover missing');
  return true;
}

/** Compresses one outbound message (no context takeover), without the trailing 4 bytes. */
export function deflateMessage(data: Uint8Array): Buffer {
  const out = deflateRawSync(data, { finishFlush: constants.Z_SYNC_FLUSH });
  return out.length >= 4 && out.subarray(out.length - 4).equals(TAIL)
    ? out.subarray(0, out.length - 4)
    : out;
}

/**
 * The most a compressed message may inflate to: NATS payloads are at most 64 MiB, so a server
 * (or whatever sits in between) sending more is broken, and must not exhaust our memory.
 */
export const MAX_INFLATED = 64 * 1024 * 1024;

/** Inflates one inbound message from its fragments; bad or oversized data is a `ProtocolError`. */
export function inflateMessage(parts: Buffer[]): Buffer {
  try {
    return inflateRawSync(Buffer.concat([...parts, TAIL]), {
      finishFlush: constants.Z_SYNC_FLUSH,
      maxOutputLength: MAX_INFLATED,
    });
  } catch (err) {
    throw new ProtocolError(
      `cannot inflate a compressed WebSocket message: ${(err as Error).message}`,
    );
  }
}
