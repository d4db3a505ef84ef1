import { ProtocolError } from '../../lib/core/errors.js';
import {
  MAX_INBOUND_CONTROL_LINE,
  MAX_INBOUND_PAYLOAD,
  Parser,
  type ParserSink,
} from '../../lib/core/protocol/parser.js';
import { prng } from '../support/prng.js';

// ---- helpers ---------------------------------------------------------------------------------

type Event =
  | {
      op: 'msg';
      subject: string;
      sid: number;
      reply: string;
      headers: string | null;
      payload: string;
    }
  | { op: 'info'; info: Record<string, unknown> }
  | { op: 'ping' }
  | { op: 'pong' }
  | { op: 'ok' }
  | { op: 'err'; message: string };

/** A sink that records every operation; payload bytes are copied (as latin1 text) on arrival. */
function recorder(): { sink: ParserSink; events: Event[] } {
  const events: Event[] = [];
  const sink: ParserSink = {
    onMsg: (subject, sid, reply, headers, payload) =>
      events.push({
        op: 'msg',
        subject,
        sid,
        reply,
        headers: headers === null ? null : Buffer.from(headers).toString('latin1'),
        payload: Buffer.from(payload).toString('latin1'),
      }),
    onInfo: (info) => events.push({ op: 'info', info }),
    onPing: () => events.push({ op: 'ping' }),
    onPong: () => events.push({ op: 'pong' }),
    onOk: () => events.push({ op: 'ok' }),
    onErr: (message) => events.push({ op: 'err', message }),
  };
  return { sink, events };
}

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

function parseChunks(chunks: Buffer[]): Event[] {
  const { sink, events } = recorder();
  const parser = new Parser(sink);
  for (const c of chunks) parser.parse(c);
  return events;
}

const parseWhole = (input: Buffer): Event[] => parseChunks([input]);

function splitAt(input: Buffer, offset: number): Buffer[] {
  return [input.subarray(0, offset), input.subarray(offset)];
}

function oneByteAtATime(input: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < input.length; i++) out.push(input.subarray(i, i + 1));
  return out;
}

function randomChunks(input: Buffer, rand: () => number, maxChunk: number): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < input.length) {
    const n = 1 + Math.floor(rand() * maxChunk);
    out.push(input.subarray(pos, pos + n));
    pos += n;
  }
  return out;
}

/** Feeds chunks and returns the error thrown by the first failing parse() call. */
function failure(chunks: Buffer[]): { error: unknown; events: Event[] } {
  const { sink, events } = recorder();
  const parser = new Parser(sink);
  try {
    for (const c of chunks) parser.parse(c);
  } catch (error) {
    return { error, events };
  }
  throw new Error('expected the parser to throw a ProtocolError');
}

function expectProtocolError(chunks: Buffer[]): Event[] {
  const { error, events } = failure(chunks);
  expect(error).toBeInstanceOf(ProtocolError);
  expect((error as ProtocolError).code).toBe('PROTOCOL_ERROR');
  return events;
}

const msg = (
  subject: string,
  sid: number,
  reply: string,
  headers: string | null,
  payload: string,
): Event => ({ op: 'msg', subject, sid, reply, headers, payload });

// ---- single operations -----------------------------------------------------------------------

describe('Parser: operations', () => {
  it('parses INFO with the trailing space the server sends', () => {
    const info =
      '{"server_id":"NB7L","version":"2.9.10","proto":1,"headers":true,"max_payload":1048576}';
    expect(parseWhole(bytes(`INFO ${info} \r\n`))).toEqual([
      {
        op: 'info',
        info: {
          server_id: 'NB7L',
          version: '2.9.10',
          proto: 1,
          headers: true,
          max_payload: 1048576,
        },
      },
    ]);
  });

  it('parses INFO with JSON-escaped <, > and & and nested arrays', () => {
    const line =
      'INFO {"s":"s.\\u003e","t":"\\u003ca\\u0026b\\u003e","connect_urls":["10.0.0.1:4222","[::1]:4223"]} \r\n';
    expect(parseWhole(bytes(line))).toEqual([
      {
        op: 'info',
        info: { s: 's.>', t: '<a&b>', connect_urls: ['10.0.0.1:4222', '[::1]:4223'] },
      },
    ]);
  });

  it('parses INFO separated from its JSON by a tab', () => {
    expect(parseWhole(bytes('INFO\t{"ldm":true}\r\n'))).toEqual([
      { op: 'info', info: { ldm: true } },
    ]);
  });

  it('parses INFO carrying non-ASCII UTF-8 text', () => {
    const input = Buffer.from('INFO {"server_name":"sérveur-ü"} \r\n', 'utf8');
    expect(parseWhole(input)).toEqual([{ op: 'info', info: { server_name: 'sérveur-ü' } }]);
  });

  it('parses MSG without a reply subject', () => {
    expect(parseWhole(bytes('MSG FOO.BAR 9 11\r\nHello World\r\n'))).toEqual([
      msg('FOO.BAR', 9, '', null, 'Hello World'),
    ]);
  });

  it('parses MSG with a reply subject', () => {
    expect(parseWhole(bytes('MSG FOO.BAR 9 GREETING.34 11\r\nHello World\r\n'))).toEqual([
      msg('FOO.BAR', 9, 'GREETING.34', null, 'Hello World'),
    ]);
  });

  it('parses HMSG without a reply subject', () => {
    const hdr = 'NATS/1.0\r\nBar: Baz\r\n\r\n';
    expect(parseWhole(bytes(`HMSG FOO 3 22 33\r\n${hdr}Hello NATS!\r\n`))).toEqual([
      msg('FOO', 3, '', hdr, 'Hello NATS!'),
    ]);
  });

  it('parses HMSG with a reply subject', () => {
    const hdr = 'NATS/1.0\r\nFoodGroup: vegetable\r\n\r\n';
    expect(parseWhole(bytes(`HMSG FOO.BAR 9 BAZ.69 34 45\r\n${hdr}Hello World\r\n`))).toEqual([
      msg('FOO.BAR', 9, 'BAZ.69', hdr, 'Hello World'),
    ]);
  });

  it('parses a headers-only HMSG (header size equals total size) with an empty payload', () => {
    expect(parseWhole(bytes('HMSG _INBOX.a.b 7 16 16\r\nNATS/1.0 503\r\n\r\n\r\n'))).toEqual([
      msg('_INBOX.a.b', 7, '', 'NATS/1.0 503\r\n\r\n', ''),
    ]);
  });

  it('splits MSG fields on runs of spaces and tabs', () => {
    const input = bytes(
      'MSG\tfoo \t 1\t\tbar   5\r\nhello\r\nMSG _INBOX.x 1  23\r\n' + 'x'.repeat(23) + '\r\n',
    );
    expect(parseWhole(input)).toEqual([
      msg('foo', 1, 'bar', null, 'hello'),
      msg('_INBOX.x', 1, '', null, 'x'.repeat(23)),
    ]);
  });

  it('splits HMSG fields on runs of spaces and tabs', () => {
    const hdr = 'NATS/1.0\r\n\r\n';
    expect(parseWhole(bytes(`HMSG  a.b \t 42 \t r.1  12\t\t14\r\n${hdr}hi\r\n`))).toEqual([
      msg('a.b', 42, 'r.1', hdr, 'hi'),
    ]);
  });

  it('parses PING, PONG and +OK', () => {
    expect(parseWhole(bytes('PING\r\nPONG\r\n+OK\r\n'))).toEqual([
      { op: 'ping' },
      { op: 'pong' },
      { op: 'ok' },
    ]);
  });

  it('parses -ERR and strips the single quotes around the text', () => {
    expect(parseWhole(bytes("-ERR 'Authorization Violation'\r\n"))).toEqual([
      { op: 'err', message: 'Authorization Violation' },
    ]);
  });

  it('keeps double quotes inside a -ERR text', () => {
    const line = `-ERR 'Permissions Violation for Subscription to "foo.>" using queue "q"'\r\n`;
    expect(parseWhole(bytes(line))).toEqual([
      { op: 'err', message: 'Permissions Violation for Subscription to "foo.>" using queue "q"' },
    ]);
  });

  it('parses a -ERR whose text has no quotes', () => {
    expect(parseWhole(bytes('-ERR Stale Connection\r\n'))).toEqual([
      { op: 'err', message: 'Stale Connection' },
    ]);
  });

  it('matches op names case-insensitively', () => {
    const hdr = 'NATS/1.0\r\n\r\n';
    const input = bytes(
      `info {"a":1}\r\nmsg foo 1 2\r\nhi\r\nhmsg foo 2 12 13\r\n${hdr}x\r\n` +
        "ping\r\npong\r\n+ok\r\n-err 'boom'\r\nPiNg\r\nMsG bar 3 0\r\n\r\n",
    );
    expect(parseWhole(input)).toEqual([
      { op: 'info', info: { a: 1 } },
      msg('foo', 1, '', null, 'hi'),
      msg('foo', 2, '', hdr, 'x'),
      { op: 'ping' },
      { op: 'pong' },
      { op: 'ok' },
      { op: 'err', message: 'boom' },
      { op: 'ping' },
      msg('bar', 3, '', null, ''),
    ]);
  });

  it('delivers an empty MSG payload', () => {
    expect(parseWhole(bytes('MSG NOTIFY 1 0\r\n\r\nPING\r\n'))).toEqual([
      msg('NOTIFY', 1, '', null, ''),
      { op: 'ping' },
    ]);
  });

  it('treats payload bytes as opaque, including CRLF and text that looks like ops', () => {
    const payload = 'PING\r\n\r\nMSG a 1 2\r\n';
    const input = bytes(`MSG a 1 ${payload.length}\r\n${payload}\r\nPONG\r\n`);
    expect(parseWhole(input)).toEqual([msg('a', 1, '', null, payload), { op: 'pong' }]);
  });

  it('treats payload bytes after an HMSG header block as opaque, including CRLF', () => {
    const hdr = 'NATS/1.0\r\nA: b\r\n\r\n';
    const payload = '\r\n\r\nNATS/1.0\r\n\r\n';
    const input = bytes(
      `HMSG a 1 ${hdr.length} ${hdr.length + payload.length}\r\n${hdr}${payload}\r\n`,
    );
    expect(parseWhole(input)).toEqual([msg('a', 1, '', hdr, payload)]);
  });

  it('passes binary payload bytes through unchanged', () => {
    const payload = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const input = Buffer.concat([bytes('MSG bin 5 256\r\n'), payload, bytes('\r\n')]);
    const events = parseWhole(input);
    expect(events).toHaveLength(1);
    const ev = events[0];
    expect(ev.op === 'msg' && bytes(ev.payload).equals(payload)).toBe(true);
  });

  it('accepts UTF-8 subjects', () => {
    const input = Buffer.from('MSG grüße.😀 1 2\r\nok\r\n', 'utf8');
    expect(parseWhole(input)).toEqual([msg('grüße.😀', 1, '', null, 'ok')]);
  });

  it('accepts an INFO line just below the inbound control line limit', () => {
    const filler = 'a'.repeat(MAX_INBOUND_CONTROL_LINE - 40);
    const line = `INFO {"x":"${filler}"}\r\n`;
    expect(line.length - 2).toBeLessThan(MAX_INBOUND_CONTROL_LINE);
    const whole = parseWhole(bytes(line));
    expect(whole).toEqual([{ op: 'info', info: { x: filler } }]);
    expect(parseChunks(randomChunks(bytes(line), prng(7), 4096))).toEqual(whole);
  });

  it('handles an empty chunk anywhere in the stream', () => {
    const empty = Buffer.alloc(0);
    const chunks = [
      empty,
      bytes('MSG a 1 3\r\nab'),
      empty,
      bytes('c\r'),
      empty,
      bytes('\nPI'),
      empty,
    ];
    chunks.push(bytes('NG\r\n'));
    expect(parseChunks(chunks)).toEqual([msg('a', 1, '', null, 'abc'), { op: 'ping' }]);
  });
});

// ---- spec §5 examples, whole and split -------------------------------------------------------

const HDR_FOO = 'NATS/1.0\r\nBar: Baz\r\n\r\n';
const HDR_MENU = 'NATS/1.0\r\nBREAKFAST: donut\r\nBREAKFAST: eggs\r\n\r\n';
const HDR_FOOD = 'NATS/1.0\r\nFoodGroup: vegetable\r\n\r\n';

// The server-to-client examples of the spec (§1, §3, §5, §7, §10), plus the HPUB examples as the
// HMSG a subscriber receives for them.
const EXAMPLES: Array<[string, string, Event[]]> = [
  [
    'MSG with reply',
    'MSG FOO.BAR 9 GREETING.34 11\r\nHello World\r\n',
    [msg('FOO.BAR', 9, 'GREETING.34', null, 'Hello World')],
  ],
  [
    'HMSG with reply',
    `HMSG FOO.BAR 9 BAZ.69 34 45\r\n${HDR_FOOD}Hello World\r\n`,
    [msg('FOO.BAR', 9, 'BAZ.69', HDR_FOOD, 'Hello World')],
  ],
  [
    'HMSG for HPUB FOO 22 33',
    `HMSG FOO 1 22 33\r\n${HDR_FOO}Hello NATS!\r\n`,
    [msg('FOO', 1, '', HDR_FOO, 'Hello NATS!')],
  ],
  [
    'HMSG with a repeated header key',
    `HMSG MORNING.MENU 2 47 51\r\n${HDR_MENU}Yum!\r\n`,
    [msg('MORNING.MENU', 2, '', HDR_MENU, 'Yum!')],
  ],
  [
    'MSG for PUB FOO 11',
    'MSG FOO 3 11\r\nHello NATS!\r\n',
    [msg('FOO', 3, '', null, 'Hello NATS!')],
  ],
  [
    'MSG for PUB FRONT.DOOR JOKE.22 11',
    'MSG FRONT.DOOR 4 JOKE.22 11\r\nKnock Knock\r\n',
    [msg('FRONT.DOOR', 4, 'JOKE.22', null, 'Knock Knock')],
  ],
  ['MSG with empty payload', 'MSG NOTIFY 5 0\r\n\r\n', [msg('NOTIFY', 5, '', null, '')]],
  [
    'JetStream MSG with two spaces',
    'MSG _INBOX.x 1  23\r\n{"stream":"S","seq":1}.\r\n',
    [msg('_INBOX.x', 1, '', null, '{"stream":"S","seq":1}.')],
  ],
  [
    'no-responders HMSG',
    'HMSG _INBOX.abc.def 12 16 16\r\nNATS/1.0 503\r\n\r\n\r\n',
    [msg('_INBOX.abc.def', 12, '', 'NATS/1.0 503\r\n\r\n', '')],
  ],
  [
    'INFO with trailing space',
    'INFO {"server_id":"NB7L","version":"2.9.10","proto":1,"go":"go1.19.8","host":"0.0.0.0","port":14222,"headers":true,"max_payload":1048576,"jetstream":true,"client_id":4,"client_ip":"127.0.0.1"} \r\n',
    [
      {
        op: 'info',
        info: {
          server_id: 'NB7L',
          version: '2.9.10',
          proto: 1,
          go: 'go1.19.8',
          host: '0.0.0.0',
          port: 14222,
          headers: true,
          max_payload: 1048576,
          jetstream: true,
          client_id: 4,
          client_ip: '127.0.0.1',
        },
      },
    ],
  ],
  ['PING', 'PING\r\n', [{ op: 'ping' }]],
  ['PONG', 'PONG\r\n', [{ op: 'pong' }]],
  ['+OK', '+OK\r\n', [{ op: 'ok' }]],
  [
    '-ERR',
    "-ERR 'Unknown Protocol Operation'\r\n",
    [{ op: 'err', message: 'Unknown Protocol Operation' }],
  ],
];

describe('Parser: spec examples', () => {
  describe.each(EXAMPLES)('%s', (_name, text, expected) => {
    const input = bytes(text);

    it('parses the example fed whole', () => {
      expect(parseWhole(input)).toEqual(expected);
    });

    it('gives the same result split at every byte offset into two chunks', () => {
      for (let i = 0; i <= input.length; i++) {
        expect(parseChunks(splitAt(input, i))).toEqual(expected);
      }
    });

    it('gives the same result fed one byte at a time', () => {
      expect(parseChunks(oneByteAtATime(input))).toEqual(expected);
    });
  });

  it('parses all examples concatenated, split at every byte offset and one byte at a time', () => {
    const input = bytes(EXAMPLES.map(([, text]) => text).join(''));
    const expected = EXAMPLES.flatMap(([, , events]) => events);
    expect(parseWhole(input)).toEqual(expected);
    for (let i = 0; i <= input.length; i++) {
      expect(parseChunks(splitAt(input, i))).toEqual(expected);
    }
    expect(parseChunks(oneByteAtATime(input))).toEqual(expected);
  });

  it('gives the same result split into three chunks at every pair of offsets in an HMSG', () => {
    const text = `HMSG FOO 2 R.1 22 33\r\n${HDR_FOO}Hello NATS!\r\nPING\r\n`;
    const input = bytes(text);
    const expected = [msg('FOO', 2, 'R.1', HDR_FOO, 'Hello NATS!'), { op: 'ping' }];
    for (let i = 0; i <= input.length; i++) {
      for (let j = i; j <= input.length; j++) {
        const chunks = [input.subarray(0, i), input.subarray(i, j), input.subarray(j)];
        expect(parseChunks(chunks)).toEqual(expected);
      }
    }
  });
});

// ---- streams ---------------------------------------------------------------------------------

/** Builds a random stream of server operations and the events it must produce. */
function randomStream(rand: () => number, count: number): { input: Buffer; expected: Event[] } {
  const parts: Buffer[] = [];
  const expected: Event[] = [];
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)];
  const randomPayload = (): string => {
    const b = Buffer.alloc(pick([0, 1, 2, 5, 17, 100, 1000, 5000]));
    for (let i = 0; i < b.length; i++) {
      // Bias towards CR and LF so payloads often contain CRLF and bare CR/LF.
      const r = Math.floor(rand() * 280);
      b[i] = r < 12 ? 13 : r < 24 ? 10 : r - 24;
    }
    return b.toString('latin1');
  };
  for (let n = 0; n < count; n++) {
    const kind = rand();
    const subject = pick(['foo', 'foo.bar', '_INBOX.abc.def', '$JS.ACK.S.C.1.2.3.4.5']);
    const sid = Math.floor(rand() * 100000);
    const reply = pick(['', '', 'reply.to', '_INBOX.x.y']);
    const sep = pick([' ', '  ', '\t', ' \t ']);
    if (kind < 0.4) {
      const payload = randomPayload();
      const fields = [subject, String(sid), ...(reply ? [reply] : []), String(payload.length)];
      parts.push(bytes(`MSG${sep}${fields.join(sep)}\r\n${payload}\r\n`));
      expected.push(msg(subject, sid, reply, null, payload));
    } else if (kind < 0.75) {
      const payload = randomPayload();
      const hdr = pick([
        'NATS/1.0\r\n\r\n',
        HDR_FOO,
        HDR_MENU,
        'NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 5\r\n\r\n',
      ]);
      const fields = [
        subject,
        String(sid),
        ...(reply ? [reply] : []),
        String(hdr.length),
        String(hdr.length + payload.length),
      ];
      parts.push(bytes(`HMSG${sep}${fields.join(sep)}\r\n${hdr}${payload}\r\n`));
      expected.push(msg(subject, sid, reply, hdr, payload));
    } else if (kind < 0.82) {
      parts.push(bytes('PING\r\n'));
      expected.push({ op: 'ping' });
    } else if (kind < 0.89) {
      parts.push(bytes('PONG\r\n'));
      expected.push({ op: 'pong' });
    } else if (kind < 0.93) {
      parts.push(bytes('+OK\r\n'));
      expected.push({ op: 'ok' });
    } else if (kind < 0.97) {
      parts.push(bytes(`INFO {"connect_urls":["h${n}:4222"],"n":${n}} \r\n`));
      expected.push({ op: 'info', info: { connect_urls: [`h${n}:4222`], n } });
    } else {
      parts.push(bytes(`-ERR 'Permissions Violation for Publish to "x${n}"'\r\n`));
      expected.push({ op: 'err', message: `Permissions Violation for Publish to "x${n}"` });
    }
  }
  return { input: Buffer.concat(parts), expected };
}

describe('Parser: streams', () => {
  it.each([1, 42, 1234])(
    'parses a stream of many operations split into random chunk sizes (seed %i)',
    (seed) => {
      const rand = prng(seed);
      const { input, expected } = randomStream(rand, 300);
      expect(parseWhole(input)).toEqual(expected);
      for (const maxChunk of [16, 200, 1500, 20000]) {
        expect(parseChunks(randomChunks(input, rand, maxChunk))).toEqual(expected);
      }
    },
  );

  it('parses a stream of many operations fed one byte at a time', () => {
    const { input, expected } = randomStream(prng(5), 150);
    expect(parseChunks(oneByteAtATime(input))).toEqual(expected);
  });

  it('assembles a 1 MiB payload split across many 64 KiB chunks', () => {
    const size = 1024 * 1024;
    const payload = Buffer.alloc(size);
    for (let i = 0; i < size; i++) payload[i] = (i * 31 + (i >>> 9)) & 0xff;
    // Make sure CRLF pairs occur inside the payload.
    payload.write('\r\n\r\n', 1000, 'latin1');
    payload.write('\r\n', 65535, 'latin1');
    const input = Buffer.concat([
      bytes(`MSG big.data 77 _INBOX.r ${size}\r\n`),
      payload,
      bytes('\r\nPING\r\n'),
    ]);
    for (const chunkSize of [64 * 1024, 64 * 1024 - 1, 4096]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < input.length; i += chunkSize) {
        chunks.push(input.subarray(i, i + chunkSize));
      }
      expect(chunks.length).toBeGreaterThan(15);

      const received: Buffer[] = [];
      const pings: number[] = [];
      const { sink } = recorder();
      const parser = new Parser({
        ...sink,
        onMsg: (subject, sid, reply, headers, data) => {
          expect([subject, sid, reply, headers]).toEqual(['big.data', 77, '_INBOX.r', null]);
          received.push(Buffer.from(data));
        },
        onPing: () => pings.push(1),
      });
      for (const c of chunks) parser.parse(c);
      expect(received).toHaveLength(1);
      expect(received[0].length).toBe(size);
      expect(received[0].equals(payload)).toBe(true);
      expect(pings).toHaveLength(1);
    }
  });

  it('assembles a 1 MiB HMSG split across 64 KiB chunks', () => {
    const size = 1024 * 1024;
    const payload = Buffer.alloc(size, 0x61);
    const input = Buffer.concat([
      bytes(`HMSG big 1 ${HDR_FOO.length} ${HDR_FOO.length + size}\r\n${HDR_FOO}`),
      payload,
      bytes('\r\n'),
    ]);
    let got: { headers: string | null; payload: Buffer } | undefined;
    const { sink } = recorder();
    const parser = new Parser({
      ...sink,
      onMsg: (_s, _sid, _r, headers, data) => {
        got = {
          headers: headers === null ? null : Buffer.from(headers).toString('latin1'),
          payload: Buffer.from(data),
        };
      },
    });
    for (let i = 0; i < input.length; i += 64 * 1024)
      parser.parse(input.subarray(i, i + 64 * 1024));
    expect(got?.headers).toBe(HDR_FOO);
    expect(got?.payload.equals(payload)).toBe(true);
  });
});

// ---- malformed input -------------------------------------------------------------------------

const MALFORMED: Array<[string, string]> = [
  ['an unknown op', 'FOO bar\r\n'],
  ['a client-only op (PUB)', 'PUB foo 2\r\nhi\r\n'],
  ['an op name followed by garbage', 'MSGX foo 1 2\r\nhi\r\n'],
  ['PING with trailing text', 'PINGX\r\n'],
  ['an empty line', '\r\n'],
  ['a control line ended by a bare LF', 'PING\n'],
  ['MSG with too few fields', 'MSG foo 1\r\n'],
  ['MSG with no fields', 'MSG\r\n'],
  ['MSG with too many fields', 'MSG foo 1 reply extra 2\r\nhi\r\n'],
  ['HMSG with too few fields', 'HMSG foo 1 12\r\nNATS/1.0\r\n\r\n\r\n'],
  ['HMSG with too many fields', 'HMSG foo 1 reply extra 12 12\r\nNATS/1.0\r\n\r\n\r\n'],
  ['MSG with a non-numeric size', 'MSG foo 1 abc\r\nabc\r\n'],
  ['MSG with a negative size', 'MSG foo 1 -3\r\nabc\r\n'],
  ['MSG with a size in exponent notation', 'MSG foo 1 1e1\r\n0123456789\r\n'],
  ['MSG with a non-numeric sid', 'MSG foo abc 2\r\nhi\r\n'],
  ['MSG with an absurd size', `MSG foo 1 ${MAX_INBOUND_PAYLOAD + 1}\r\n`],
  ['MSG with an overlong number', 'MSG foo 1 000000000002\r\nhi\r\n'],
  ['HMSG with a non-numeric header size', 'HMSG foo 1 x 14\r\nNATS/1.0\r\n\r\nhi\r\n'],
  ['HMSG with a non-numeric total size', 'HMSG foo 1 12 y\r\nNATS/1.0\r\n\r\nhi\r\n'],
  ['HMSG with header size > total size', 'HMSG foo 1 22 12\r\nNATS/1.0\r\nBar: Baz\r\n\r\n\r\n'],
  [
    'HMSG whose header block is shorter than its declared length',
    'HMSG FOO 1 20 33\r\nNATS/1.0\r\nBar: Baz\r\n\r\nHello NATS!\r\n',
  ],
  [
    'HMSG whose header block is longer than its declared length',
    'HMSG FOO 1 24 33\r\nNATS/1.0\r\nBar: Baz\r\n\r\nHello NATS!\r\n',
  ],
  ['HMSG whose header block does not start with NATS/', 'HMSG FOO 1 12 12\r\nXATS/1.0\r\n\r\n\r\n'],
  ['HMSG with a header size below the minimal block', 'HMSG FOO 1 4 4\r\n\r\n\r\n\r\n'],
  ['MSG whose payload is longer than its size', 'MSG foo 1 3\r\nabcd\r\n'],
  ['MSG whose payload is shorter than its size', 'MSG foo 1 5\r\nabc\r\nPING\r\n'],
  ['MSG whose payload is followed by a bare LF', 'MSG foo 1 3\r\nabc\nPING\r\n'],
  ['INFO that is not JSON', 'INFO {"server_id":\r\n'],
  ['INFO that is a JSON array', 'INFO [1,2,3]\r\n'],
  ['INFO that is JSON null', 'INFO null\r\n'],
  ['INFO without a body', 'INFO\r\n'],
];

describe('Parser: malformed input', () => {
  describe.each(MALFORMED)('%s', (_name, text) => {
    const input = bytes(text);

    it('throws ProtocolError when fed whole', () => {
      expectProtocolError([input]);
    });

    it('throws ProtocolError when split at every byte offset', () => {
      for (let i = 0; i <= input.length; i++) expectProtocolError(splitAt(input, i));
    });

    it('throws ProtocolError when fed one byte at a time', () => {
      expectProtocolError(oneByteAtATime(input));
    });
  });

  it('delivers the operations before the malformed one, then throws', () => {
    const events = expectProtocolError([bytes('PING\r\nMSG a 1 1\r\nx\r\nBOGUS\r\nPONG\r\n')]);
    expect(events).toEqual([{ op: 'ping' }, msg('a', 1, '', null, 'x')]);
  });

  it('throws on a control line longer than 64 KiB without a newline, fed whole', () => {
    const input = bytes('INFO {"x":"' + 'a'.repeat(MAX_INBOUND_CONTROL_LINE) + '"');
    expectProtocolError([input]);
  });

  it('throws on a control line longer than 64 KiB without a newline, fed in small chunks', () => {
    const input = bytes('MSG ' + 'a'.repeat(MAX_INBOUND_CONTROL_LINE + 10));
    const chunks: Buffer[] = [];
    for (let i = 0; i < input.length; i += 1024) chunks.push(input.subarray(i, i + 1024));
    const { error } = failure(chunks);
    expect(error).toBeInstanceOf(ProtocolError);
  });

  it('throws on a control line longer than 64 KiB that does end in CRLF', () => {
    const input = bytes('-ERR ' + 'e'.repeat(MAX_INBOUND_CONTROL_LINE) + '\r\n');
    expectProtocolError([input]);
  });

  it('refuses further input with ProtocolError after an error', () => {
    const { sink, events } = recorder();
    const parser = new Parser(sink);
    expect(() => parser.parse(bytes('NOPE\r\n'))).toThrow(ProtocolError);
    expect(() => parser.parse(bytes('PING\r\n'))).toThrow(ProtocolError);
    expect(() => parser.parse(bytes('PONG\r\n'))).toThrow(ProtocolError);
    expect(events).toEqual([]);
  });

  it('refuses further input after an error found while assembling a split payload', () => {
    const { sink, events } = recorder();
    const parser = new Parser(sink);
    parser.parse(bytes('MSG foo 1 3\r\nab'));
    expect(() => parser.parse(bytes('cX\r\n'))).toThrow(ProtocolError);
    expect(() => parser.parse(bytes('PING\r\n'))).toThrow(ProtocolError);
    expect(events).toEqual([]);
  });
});
