// Inputs of the parser fuzz tests (not a spec file): valid frames, random splits, mutations and
// garbage from a seeded PRNG, and `run()`, which parses chunks into comparable events. Shared by
// parser-fuzz.spec.ts and the worker that runs the 100,000-stream loop.
import { ProtocolError } from '../../lib/core/errors.js';
import { Parser, type ParserSink } from '../../lib/core/protocol/parser.js';
import { prng } from '../support/prng.js';

/** Seed of every fuzz run; set FUZZ_SEED to reproduce or explore. */
export const SEED = Number(process.env['FUZZ_SEED'] ?? 0x5eed1e55);

/** How many mutated or random streams the long fuzz run parses. */
export const MUTATED_STREAMS = 100_000;

const text = (b: Uint8Array | null): string =>
  b === null ? '-' : Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');

/** Parses `chunks` and returns the events (as strings) and the error, if any. */
export function run(chunks: Buffer[]): { events: string[]; error: unknown } {
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

export interface Frame {
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
export function validStream(rand: () => number): Frame {
  const picked = Array.from({ length: 1 + Math.floor(rand() * 8) }, () => {
    return FRAMES[Math.floor(rand() * FRAMES.length)];
  });
  return {
    bytes: Buffer.concat(picked.map((f) => f.bytes)),
    events: picked.flatMap((f) => f.events),
  };
}

/** Splits `buf` at 0–6 random points (empty chunks included). */
export function split(buf: Buffer, rand: () => number): Buffer[] {
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
              ? INTERESTING[Math.floor(rand() * INTERESTING.length)]
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
        const m = runs[Math.floor(rand() * runs.length)];
        const n = NUMBERS[Math.floor(rand() * NUMBERS.length)];
        buf = latin1(text.slice(0, m.index) + n + text.slice(m.index + m[0].length));
      }
    }
  }
  return buf;
}

function garbage(rand: () => number): Buffer {
  const body = Buffer.from(Array.from({ length: Math.floor(rand() * 300) }, () => rand() * 256));
  const prefixes = ['', 'MSG ', 'HMSG ', 'INFO ', '-ERR ', '+OK', 'PING', 'PONG'];
  return Buffer.concat([latin1(prefixes[Math.floor(rand() * prefixes.length)]), body]);
}

/** An error the parser should never raise: anything but a deliberate ProtocolError. */
export function unexpected(error: unknown): boolean {
  if (error === undefined) return false;
  if (!(error instanceof ProtocolError)) return true;
  return error.code !== 'PROTOCOL_ERROR' || /^parser failure/.test(error.message);
}

/** One mutated or random stream: the bytes, and the same bytes split at random points. */
export interface FuzzCase {
  input: Buffer;
  pieces: Buffer[];
}

/**
 * The mutated or random streams of the long fuzz run, in order. Deterministic for a seed, so
 * stream `n` can be rebuilt without parsing anything (to report the input of a stuck stream).
 */
export function* mutatedStreams(seed: number): Generator<FuzzCase> {
  const rand = prng(seed ^ 0x9e3779b9);
  for (let n = 0; n < MUTATED_STREAMS; n++) {
    const input = rand() < 0.1 ? garbage(rand) : mutate(validStream(rand).bytes, rand);
    yield { input, pieces: split(input, rand) };
  }
}
