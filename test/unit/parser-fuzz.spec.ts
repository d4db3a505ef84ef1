// Randomized parser tests with a seeded PRNG (set FUZZ_SEED to reproduce or explore): valid
// streams split anywhere, 100,000 mutated streams, and plain garbage. The parser may reject input
// only with a deliberate ProtocolError, and must behave the same however the input is split.
import { ProtocolError } from '../../lib/core/errors.js';
import { Parser, type ParserSink } from '../../lib/core/protocol/parser.js';
import { prng } from '../support/prng.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? 0x5eed1e55);

const text = (b: Uint8Array | null): string =>
  b === null ? '-' : Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');

/** Parses `chunks` and returns the events (as strings) and the error, if any. */
function run(chunks: Buffer[]): { events: string[]; error: unknown } {
  const events: string[] = [];
  const sink: ParserSink = {
    onMsg: (s, sid, reply, h, p) => events.push(`msg ${s} ${sid} ${reply} ${text(h)} ${text(p)}`),
    onInfo: (info) => events.push(`info ${JSON.stringify(info)}`),
    onPing: () => events.push('ping'),
    onPong: () => events.push('pong'),
    onOk: () => events.push('ok'),
    onErr: (m) => events.push(`err ${m}`),
  };
  const parser = new Parser(sink);
  try {
    for (const c of chunks) parser.parse(c);
    return { events, error: undefined };
  } catch (error) {
    // A failed parser stays failed, and says so with a ProtocolError too.
    let again: unknown;
    try {
      parser.parse(Buffer.from('PING\r\n'));
    } catch (e) {
      again = e;
    }
    if (!(again instanceof ProtocolError)) return { events, error: new Error('parser reusable') };
    return { events, error };
  }
}

interface Frame {
  bytes: Buffer;
  events: string[];
}

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

function msg(subject: string, sid: number, reply: string, payload: string): Frame {
  const p = latin1(payload);
  const line = `MSG ${subject} ${sid}${reply ? ` ${reply}` : ''} ${p.length}\r\n`;
  return {
    bytes: Buffer.concat([latin1(line), p, latin1('\r\n')]),
    events: [`msg ${subject} ${sid} ${reply} - ${text(p)}`],
  };
}

function hmsg(subject: string, sid: number, reply: string, headers: string, payload: string) {
  const h = latin1(headers);
  const p = latin1(payload);
  const line = `HMSG ${subject} ${sid}${reply ? ` ${reply}` : ''} ${h.length} ${h.length + p.length}\r\n`;
  return {
    bytes: Buffer.concat([latin1(line), h, p, latin1('\r\n')]),
    events: [`msg ${subject} ${sid} ${reply} ${text(h)} ${text(p)}`],
  };
}

const INFO = {
  server_id: 'NFAKE',
  version: '2.9.10',
  proto: 1,
  headers: true,
  max_payload: 1048576,
  connect_urls: ['127.0.0.1:4222', '[::1]:4223'],
  note: 'a \u003e b',
};

const FRAMES: Frame[] = [
  { bytes: latin1(`INFO ${JSON.stringify(INFO)} \r\n`), events: [`info ${JSON.stringify(INFO)}`] },
  { bytes: latin1('PING\r\n'), events: ['ping'] },
  { bytes: latin1('pong\r\n'), events: ['pong'] },
  { bytes: latin1('+OK\r\n'), events: ['ok'] },
  {
    bytes: latin1(`-ERR 'Permissions Violation for Publish to "a.b"'\r\n`),
    events: ['err Permissions Violation for Publish to "a.b"'],
  },
  msg('foo', 1, '', 'hello'),
  msg('foo.bar', 22, '_INBOX.abc.1', ''),
  msg('bin', 3, '', '\r\n\x00\xffMSG x 1 2\r\n'),
  msg('big.payload', 5, 'reply.to', 'x'.repeat(1000)),
  {
    bytes: latin1('MSG  spaced\t 7   5\r\nhello\r\n'),
    events: [`msg spaced 7  - ${text(latin1('hello'))}`],
  },
  hmsg('h.sub', 4, '', 'NATS/1.0\r\nA: b\r\nC: d\r\n\r\n', 'body'),
  hmsg('h.reply', 8, '_INBOX.x.y', 'NATS/1.0\r\nNats-Msg-Id: 1\r\n\r\n', ''),
  hmsg('_INBOX.r.1', 9, '', 'NATS/1.0 503\r\n\r\n', ''),
];

/** A stream of 1–8 valid frames and the events it must produce. */
function validStream(rand: () => number): Frame {
  const picked = Array.from({ length: 1 + Math.floor(rand() * 8) }, () => {
    return FRAMES[Math.floor(rand() * FRAMES.length)]!;
  });
  return {
    bytes: Buffer.concat(picked.map((f) => f.bytes)),
    events: picked.flatMap((f) => f.events),
  };
}

/** Splits `buf` at 0–6 random points (empty chunks included). */
function split(buf: Buffer, rand: () => number): Buffer[] {
  const points = Array.from({ length: Math.floor(rand() * 7) }, () =>
    Math.floor(rand() * (buf.length + 1)),
  ).sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    chunks.push(buf.subarray(from, p));
    from = p;
  }
  chunks.push(buf.subarray(from));
  return chunks;
}

const INTERESTING = [...Buffer.from('\r\n \t0123456789-+MSGHPINGOERR{}"\'.*>')].concat([0, 255]);
const NUMBERS = ['0', '1', '12', '13', '4096', '65536', '4294967295', '99999999999', '1048576'];

/** Applies 1–4 random mutations: flips, inserts, deletes, truncation, duplication, numbers. */
function mutate(input: Buffer, rand: () => number): Buffer {
  let buf: Buffer = Buffer.from(input);
  const at = (): number => Math.floor(rand() * (buf.length + 1));
  const rounds = 1 + Math.floor(rand() * 4);
  for (let r = 0; r < rounds; r++) {
    const i = Math.min(at(), Math.max(buf.length - 1, 0));
    switch (Math.floor(rand() * 8)) {
      case 0: // flip a bit
        if (buf.length) buf[i] ^= 1 << Math.floor(rand() * 8);
        break;
      case 1: // overwrite with an interesting byte
        if (buf.length) buf[i] = INTERESTING[Math.floor(rand() * INTERESTING.length)]!;
        break;
      case 2: {
        const extra = Buffer.from(
          Array.from({ length: 1 + Math.floor(rand() * 4) }, () => {
            return rand() < 0.5
              ? INTERESTING[Math.floor(rand() * INTERESTING.length)]!
              : rand() * 256;
          }),
        );
        const j = at();
        buf = Buffer.concat([buf.subarray(0, j), extra, buf.subarray(j)]);
        break;
      }
      case 3: {
        const j = at();
        buf = Buffer.concat([buf.subarray(0, j), buf.subarray(j + 1 + Math.floor(rand() * 8))]);
        break;
      }
      case 4:
        buf = buf.subarray(0, at());
        break;
      case 5: {
        const from = at();
        const chunk = buf.subarray(from, from + 1 + Math.floor(rand() * 40));
        const j = at();
        buf = Buffer.concat([buf.subarray(0, j), chunk, buf.subarray(j)]);
        break;
      }
      default: {
        // Replace a run of digits (a sid or a size) with a boundary value.
        const text = buf.toString('latin1');
        const runs = [...text.matchAll(/\d+/g)];
        if (runs.length === 0) break;
        const m = runs[Math.floor(rand() * runs.length)]!;
        const n = NUMBERS[Math.floor(rand() * NUMBERS.length)]!;
        buf = latin1(text.slice(0, m.index) + n + text.slice(m.index! + m[0].length));
      }
    }
  }
  return buf;
}

function garbage(rand: () => number): Buffer {
  const body = Buffer.from(Array.from({ length: Math.floor(rand() * 300) }, () => rand() * 256));
  const prefixes = ['', 'MSG ', 'HMSG ', 'INFO ', '-ERR ', '+OK', 'PING', 'PONG'];
  return Buffer.concat([latin1(prefixes[Math.floor(rand() * prefixes.length)]!), body]);
}

/** An error the parser should never raise: anything but a deliberate ProtocolError. */
function unexpected(error: unknown): boolean {
  if (error === undefined) return false;
  if (!(error instanceof ProtocolError)) return true;
  return error.code !== 'PROTOCOL_ERROR' || /^parser failure/.test(error.message);
}

describe('parser fuzzing', () => {
  it('yields the same operations for valid streams however they are split', () => {
    const rand = prng(SEED);
    for (let n = 0; n < 10_000; n++) {
      const stream = validStream(rand);
      const result = run(split(stream.bytes, rand));
      expect(result.error).toBeUndefined();
      if (result.events.join('\n') !== stream.events.join('\n')) {
        expect({ n, seed: SEED, events: result.events }).toEqual({
          n,
          seed: SEED,
          events: stream.events,
        });
      }
    }
  });

  it('survives 100,000 mutated or random streams with only ProtocolError, in bounded time', () => {
    const rand = prng(SEED ^ 0x9e3779b9);
    const failures: Array<{ n: number; why: string; input: string }> = [];
    let rejected = 0;
    let slowest = 0;
    // Most streams end in a ProtocolError; capturing 100,000s of stack traces would dominate.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    const started = performance.now();
    for (let n = 0; n < 100_000 && failures.length < 5; n++) {
      const input = rand() < 0.1 ? garbage(rand) : mutate(validStream(rand).bytes, rand);
      const t = performance.now();
      const whole = run([input]);
      const pieces = run(split(input, rand));
      slowest = Math.max(slowest, performance.now() - t);
      if (whole.error !== undefined) rejected++;
      const fail = (why: string): number =>
        failures.push({ n, why, input: input.toString('base64') });
      if (unexpected(whole.error)) fail(`whole: ${String(whole.error)}`);
      else if (unexpected(pieces.error)) fail(`split: ${String(pieces.error)}`);
      else if ((whole.error === undefined) !== (pieces.error === undefined))
        fail(`split changed the outcome: ${String(whole.error)} vs ${String(pieces.error)}`);
      else if (whole.events.join('\n') !== pieces.events.join('\n'))
        fail('split changed the operations');
    }
    const elapsed = performance.now() - started;
    Error.stackTraceLimit = stackTraceLimit;
    expect(failures).toEqual([]);
    // The mutations exercise both the error paths and the happy paths.
    expect(rejected).toBeGreaterThan(20_000);
    expect(rejected).toBeLessThan(95_000);
    expect(slowest).toBeLessThan(500);
    expect(elapsed).toBeLessThan(30_000);
  }, 60_000);
});
