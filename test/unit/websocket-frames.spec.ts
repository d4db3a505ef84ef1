// The WebSocket frame codec, permessage-deflate negotiation and the upgrade handshake helpers,
// without a network. Behaviour against real servers is in test/integration/websocket.spec.ts.
import { constants, deflateRawSync } from 'node:zlib';
import { InvalidOptionError, ProtocolError } from '../../lib/core/errors.js';
import { resolveOptions } from '../../lib/core/options.js';
import {
  acceptDeflate,
  deflateMessage,
  inflateMessage,
} from '../../lib/core/transport/websocket/deflate.js';
import { FrameDecoder, Opcode, encodeFrame } from '../../lib/core/transport/websocket/frames.js';
import { checkWsHeaders, wsAcceptKey } from '../../lib/core/transport/websocket/handshake.js';

/** A server frame (never masked). */
function serverFrame(opcode: number, payload: Uint8Array, fin = true, rsv1 = false): Buffer {
  const len = payload.length;
  const head =
    len <= 125
      ? Buffer.from([0, len])
      : len <= 0xffff
        ? Buffer.from([0, 126, len >> 8, len & 0xff])
        : Buffer.concat([Buffer.from([0, 127]), bigLength(len)]);
  head[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  return Buffer.concat([head, payload]);
}

function bigLength(len: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(len));
  return b;
}

/** Reads back a client frame: its header fields and unmasked payload. */
function readClientFrame(frame: Buffer): {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  masked: boolean;
  key: Buffer;
  payload: Buffer;
} {
  const len7 = frame[1] & 0x7f;
  let len = len7;
  let at = 2;
  if (len7 === 126) {
    len = frame.readUInt16BE(2);
    at = 4;
  } else if (len7 === 127) {
    len = Number(frame.readBigUInt64BE(2));
    at = 10;
  }
  const key = frame.subarray(at, at + 4);
  const payload = Buffer.from(frame.subarray(at + 4, at + 4 + len));
  for (let i = 0; i < payload.length; i++) payload[i] ^= key[i & 3];
  expect(frame.length).toBe(at + 4 + len);
  return {
    fin: (frame[0] & 0x80) !== 0,
    rsv1: (frame[0] & 0x40) !== 0,
    opcode: frame[0] & 0x0f,
    masked: (frame[1] & 0x80) !== 0,
    key: Buffer.from(key),
    payload,
  };
}

function collect(inflate?: (parts: Buffer[]) => Buffer): {
  decoder: FrameDecoder;
  data: () => Buffer;
  controls: Array<[number, string]>;
} {
  const chunks: Buffer[] = [];
  const controls: Array<[number, string]> = [];
  const decoder = new FrameDecoder(
    {
      onData: (b) => chunks.push(Buffer.from(b)),
      onControl: (op, p) => controls.push([op, p.toString('latin1')]),
    },
    inflate,
  );
  return { decoder, data: () => Buffer.concat(chunks), controls };
}

function pattern(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

describe('encodeFrame', () => {
  it.each([0, 1, 3, 125, 126, 1000, 65535, 65536, 1024 * 1024 + 3])(
    'masks a %i-byte payload with the right length encoding',
    (n) => {
      const payload = pattern(n);
      const f = readClientFrame(encodeFrame(Opcode.BINARY, payload));
      expect(f).toMatchObject({ fin: true, rsv1: false, opcode: Opcode.BINARY, masked: true });
      expect(f.payload.equals(payload)).toBe(true);
    },
  );

  it('uses a fresh mask key per frame and leaves the caller bytes alone', () => {
    const payload = pattern(64);
    const copy = Buffer.from(payload);
    const keys = new Set<string>();
    for (let i = 0; i < 50; i++)
      keys.add(readClientFrame(encodeFrame(Opcode.BINARY, payload)).key.toString('hex'));
    expect(keys.size).toBeGreaterThan(45);
    expect(payload.equals(copy)).toBe(true);
  });

  it('sets RSV1 for a compressed frame and clears FIN when asked', () => {
    const f = readClientFrame(encodeFrame(Opcode.BINARY, pattern(10), true, false));
    expect(f).toMatchObject({ rsv1: true, fin: false });
  });
});

describe('FrameDecoder', () => {
  it('hands on the payload of frames whatever the TCP chunk boundaries', () => {
    const payloads = [pattern(5), pattern(300), pattern(70_000), pattern(0), pattern(126)];
    const wire = Buffer.concat(payloads.map((p) => serverFrame(Opcode.BINARY, p)));
    const expected = Buffer.concat(payloads);
    for (const size of [1, 2, 3, 7, 64, 1000, wire.length]) {
      const { decoder, data } = collect();
      for (let at = 0; at < wire.length; at += size) decoder.push(wire.subarray(at, at + size));
      expect(data().equals(expected)).toBe(true);
    }
  });

  it('joins a fragmented message and answers control frames sent between its fragments', () => {
    const wire = Buffer.concat([
      serverFrame(Opcode.BINARY, Buffer.from('MSG a 1 '), false),
      serverFrame(Opcode.PING, Buffer.from('hi')),
      serverFrame(Opcode.CONTINUATION, Buffer.from('5\r\nhello'), false),
      serverFrame(Opcode.CONTINUATION, Buffer.from('\r\n'), true),
      serverFrame(Opcode.TEXT, Buffer.from('PING\r\n')),
    ]);
    for (const size of [1, 5, wire.length]) {
      const { decoder, data, controls } = collect();
      for (let at = 0; at < wire.length; at += size) decoder.push(wire.subarray(at, at + size));
      expect(data().toString()).toBe('MSG a 1 5\r\nhello\r\nPING\r\n');
      expect(controls).toEqual([[Opcode.PING, 'hi']]);
    }
  });

  it('reads a 64-bit length', () => {
    const payload = pattern(70_000);
    const frame = Buffer.concat([Buffer.from([0x82, 127]), bigLength(70_000), payload]);
    const { decoder, data } = collect();
    decoder.push(frame);
    expect(data().equals(payload)).toBe(true);
  });

  it('reads a close frame with its status and reason', () => {
    const body = Buffer.concat([Buffer.from([0x03, 0xf0]), Buffer.from('Authentication Failure')]);
    const { decoder, controls } = collect();
    decoder.push(serverFrame(Opcode.CLOSE, body));
    expect(controls).toEqual([[Opcode.CLOSE, body.toString('latin1')]]);
  });

  it('inflates a compressed message split over fragments and chunks', () => {
    const text = Buffer.from('PUB a 5\r\nhello\r\n'.repeat(200));
    const compressed = deflateMessage(text);
    const mid = Math.floor(compressed.length / 2);
    const wire = Buffer.concat([
      serverFrame(Opcode.BINARY, compressed.subarray(0, mid), false, true),
      serverFrame(Opcode.CONTINUATION, compressed.subarray(mid), true),
      serverFrame(Opcode.BINARY, Buffer.from('+OK\r\n')),
    ]);
    const { decoder, data } = collect(inflateMessage);
    for (let at = 0; at < wire.length; at += 3) decoder.push(wire.subarray(at, at + 3));
    expect(data().toString()).toBe(`${text.toString()}+OK\r\n`);
  });

  it('inflates what zlib deflates with a sync flush (the server side)', () => {
    const text = Buffer.from('x'.repeat(10_000));
    const out = deflateRawSync(text, { finishFlush: constants.Z_SYNC_FLUSH });
    const body = out.subarray(0, out.length - 4);
    const { decoder, data } = collect(inflateMessage);
    decoder.push(serverFrame(Opcode.BINARY, body, true, true));
    expect(data().equals(text)).toBe(true);
  });

  it.each([
    ['a masked frame', Buffer.from([0x82, 0x81, 1, 2, 3, 4, 0])],
    ['RSV2 set', Buffer.from([0xa2, 0x00])],
    ['RSV1 without compression', Buffer.from([0xc2, 0x00])],
    ['an unknown data opcode', Buffer.from([0x83, 0x00])],
    ['an unknown control opcode', Buffer.from([0x8b, 0x00])],
    ['a fragmented ping', Buffer.from([0x09, 0x00])],
    ['a control frame over 125 bytes', Buffer.from([0x89, 126, 0, 126])],
    ['a continuation with no message', Buffer.from([0x80, 0x00])],
    ['a message started inside another', Buffer.from([0x02, 0x00, 0x82, 0x00])],
    ['a length beyond 2^53', Buffer.from([0x82, 127, 0xff, 0, 0, 0, 0, 0, 0, 0])],
    ['HTTP text instead of frames', Buffer.from('garbage\r\n')],
  ])('throws ProtocolError for %s', (_what, bytes) => {
    const { decoder } = collect();
    expect(() => decoder.push(bytes)).toThrow(ProtocolError);
  });

  it('throws ProtocolError for a compressed message that inflates past 64 MiB', () => {
    const bomb = deflateRawSync(Buffer.alloc(65 * 1024 * 1024), {
      finishFlush: constants.Z_SYNC_FLUSH,
    });
    const { decoder } = collect(inflateMessage);
    expect(() => decoder.push(serverFrame(Opcode.BINARY, bomb, true, true))).toThrow(
      /cannot inflate/,
    );
  });

  it('throws ProtocolError for compressed fragments adding up past 64 MiB', () => {
    const { decoder } = collect(inflateMessage);
    const piece = Buffer.alloc(16 * 1024 * 1024);
    decoder.push(serverFrame(Opcode.BINARY, piece, false, true));
    for (let i = 0; i < 3; i++) decoder.push(serverFrame(Opcode.CONTINUATION, piece, false));
    expect(() => decoder.push(serverFrame(Opcode.CONTINUATION, piece, false))).toThrow(
      /larger than 64 MiB/,
    );
  });

  it('throws ProtocolError for compressed bytes that do not inflate', () => {
    const { decoder } = collect(inflateMessage);
    expect(() =>
      decoder.push(serverFrame(Opcode.BINARY, Buffer.from([0xff, 0xff, 0xff]), true, true)),
    ).toThrow(ProtocolError);
  });
});

describe('permessage-deflate negotiation', () => {
  it('is off when the server answers no extension', () => {
    expect(acceptDeflate(undefined, true)).toBe(false);
    expect(acceptDeflate('', true)).toBe(false);
  });

  it.each([
    'permessage-deflate; server_no_context_takeover; client_no_context_takeover',
    'permessage-deflate;server_no_context_takeover',
    'PerMessage-Deflate; server_no_context_takeover; server_max_window_bits=10',
  ])('accepts %j', (answer) => {
    expect(acceptDeflate(answer, true)).toBe(true);
  });

  it.each([
    ['an extension when none was offered', 'permessage-deflate; server_no_context_takeover', false],
    ['another extension', 'x-webkit-deflate-frame', true],
    ['two extensions', 'permessage-deflate; server_no_context_takeover, foo', true],
    ['no server_no_context_takeover', 'permessage-deflate; client_no_context_takeover', true],
    [
      'client_max_window_bits, not offered',
      'permessage-deflate; server_no_context_takeover; client_max_window_bits=10',
      true,
    ],
    [
      'a bad window size',
      'permessage-deflate; server_no_context_takeover; server_max_window_bits=20',
      true,
    ],
    [
      'a repeated parameter',
      'permessage-deflate; server_no_context_takeover; server_no_context_takeover',
      true,
    ],
    ['a value on a flag', 'permessage-deflate; server_no_context_takeover=1', true],
  ])('refuses %s with ProtocolError', (_what, answer, offered) => {
    expect(() => acceptDeflate(answer, offered)).toThrow(ProtocolError);
  });

  it('deflates without the 00 00 ff ff tail, which inflate puts back', () => {
    const text = Buffer.from('hello '.repeat(100));
    const out = deflateMessage(text);
    expect(out.subarray(out.length - 4).equals(Buffer.from([0, 0, 0xff, 0xff]))).toBe(false);
    expect(inflateMessage([out]).equals(text)).toBe(true);
  });
});

describe('upgrade handshake helpers', () => {
  it('computes Sec-WebSocket-Accept as in RFC 6455 section 1.3', () => {
    expect(wsAcceptKey('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('accepts extra headers such as a bearer token', () => {
    expect(checkWsHeaders({ Authorization: 'Bearer x', 'X-Trace': '1' })).toEqual({
      Authorization: 'Bearer x',
      'X-Trace': '1',
    });
  });

  it.each([
    ['the handshake own header Host', { Host: 'x' }],
    ['Sec-WebSocket-Key', { 'sec-websocket-key': 'x' }],
    ['Connection', { Connection: 'close' }],
    ['a name that is no token', { 'bad name': 'x' }],
    ['a value with a line break', { 'X-A': 'a\r\nInjected: 1' }],
    ['a value that is no string', { 'X-A': 1 }],
    ['a list', ['X-A']],
  ])('refuses %s with InvalidOptionError', (_what, headers) => {
    expect(() => checkWsHeaders(headers)).toThrow(InvalidOptionError);
  });

  it('never puts a header value in its error message', () => {
    let message = '';
    try {
      checkWsHeaders({ Authorization: 'Bearer s3cret\n' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('Authorization');
    expect(message).not.toContain('s3cret');
  });
});

describe('WebSocket connect options', () => {
  it('refuses tls settings with a ws:// server, which cannot use them', () => {
    for (const tls of [true, { rejectUnauthorized: false }]) {
      expect(() => resolveOptions({ servers: ['tls://a:1', 'ws://b:2'], tls })).toThrow(
        InvalidOptionError,
      );
    }
    expect(() => resolveOptions({ servers: 'wss://b', tls: { ca: 'x' } })).not.toThrow();
    expect(() => resolveOptions({ servers: 'ws://b', tls: false })).not.toThrow();
  });

  it('checks wsHeaders and wsCompression', () => {
    expect(() => resolveOptions({ wsHeaders: { Upgrade: 'h2c' } })).toThrow(InvalidOptionError);
    expect(() => resolveOptions({ wsHeaders: () => ({ Upgrade: 'h2c' }) })).not.toThrow();
    expect(() => resolveOptions({ wsCompression: 'yes' as unknown as boolean })).toThrow(
      InvalidOptionError,
    );
  });
});
