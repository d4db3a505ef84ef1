// Object store encodings (ADR-20): meta subject names, SHA-256 digests, chunking.
import { createHash } from 'node:crypto';
import { ReadableStream } from 'node:stream/web';
import { encodeName, formatDigest, parseDigest } from '../../lib/obj/internal.js';
import { chunksOf } from '../../lib/obj/transfer.js';

async function sizes(it: AsyncIterable<Uint8Array>): Promise<number[]> {
  const out: number[] = [];
  for await (const c of it) out.push(c.length);
  return out;
}

describe('object names', () => {
  it.each([
    ['hello', 'aGVsbG8='],
    ['x', 'eA=='],
    ['a/b c.txt', 'YS9iIGMudHh0'],
    ['ü?>', 'w7w_Pg=='],
  ])('encodes %j as base64url with padding', (name, token) => {
    expect(encodeName(name)).toBe(token);
  });
});

describe('digests', () => {
  const hello = createHash('sha256').update('hello world').digest();

  it('formats SHA-256 as base64url with padding', () => {
    expect(formatDigest(hello)).toBe('SHA-256=uU0nuZNNPgilLlLX2n2r-sSE7-N6U4DukIj3rOLvzek=');
    expect(formatDigest(createHash('sha256').digest())).toBe(
      'SHA-256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=',
    );
  });

  it.each([
    ['base64url', 'SHA-256=uU0nuZNNPgilLlLX2n2r-sSE7-N6U4DukIj3rOLvzek='],
    ['unpadded base64url', 'SHA-256=uU0nuZNNPgilLlLX2n2r-sSE7-N6U4DukIj3rOLvzek'],
    ['standard base64', 'SHA-256=uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek='],
    ['hex', `SHA-256=${hello.toString('hex')}`],
  ])('reads %s', (_, digest) => {
    expect(Buffer.from(parseDigest(digest)!).equals(hello)).toBe(true);
  });

  it.each(['', 'SHA-256', 'MD5=uU0nuZNNPgilLlLX2n2r-sSE7-N6U4DukIj3rOLvzek=', 'SHA-256=abc'])(
    'rejects %j',
    (digest) => {
      expect(parseDigest(digest)).toBeUndefined();
    },
  );
});

describe('chunksOf', () => {
  it('cuts bytes and strings into chunks of the given size', async () => {
    expect(await sizes(chunksOf(new Uint8Array(10), 4))).toEqual([4, 4, 2]);
    expect(await sizes(chunksOf('abcdefgh', 4))).toEqual([4, 4]);
    expect(await sizes(chunksOf(new Uint8Array(0), 4))).toEqual([]);
  });

  it('regroups the pieces of an async iterable, keeping their order', async () => {
    async function* pieces() {
      yield new Uint8Array([1, 2, 3]);
      yield 'ab';
      yield new Uint8Array(0);
      yield new Uint8Array([4, 5, 6, 7, 8, 9, 10, 11, 12]);
    }
    const out: number[] = [];
    for await (const c of chunksOf(pieces(), 4)) out.push(...c, -1);
    expect(out).toEqual([1, 2, 3, 97, -1, 98, 4, 5, 6, -1, 7, 8, 9, 10, -1, 11, 12, -1]);
  });

  it('reads a web ReadableStream', async () => {
    const rs = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new Uint8Array(5));
        c.enqueue(new Uint8Array(6));
        c.close();
      },
    });
    expect(await sizes(chunksOf(rs, 4))).toEqual([4, 4, 3]);
  });
});
