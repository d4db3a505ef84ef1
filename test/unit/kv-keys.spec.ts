// Key, filter and bucket-name rules of the KV layer (ADR-8), without a server.
import { NatsError } from '../../lib/core/index.js';
import { validateBucketName } from '../../lib/buckets/internal.js';
import {
  InvalidBucketNameError,
  InvalidKeyError,
  validateFilter,
  validateKey,
} from '../../lib/kv/internal.js';

const VALID_KEYS = ['a', 'A-Z_0.9', 'a.b.c', 'path/to/x', 'k=v', '-', '_', '=', 'x'.repeat(500)];

const INVALID_KEYS: Array<[string, string, RegExp]> = [
  ['empty', '', /empty/],
  ['a space', 'a b', /only/],
  ['a star', 'a.*', /only/],
  ['a gt', 'a.>', /only/],
  ['unicode', 'grüße', /only/],
  ['a leading dot', '.a', /start/],
  ['a trailing dot', 'a.', /end/],
  ['a double dot', 'a..b', /'\.\.'/],
  ['a tab', 'a\tb', /only/],
];

describe('validateKey', () => {
  it.each(VALID_KEYS)('accepts %j', (key) => {
    expect(() => validateKey(key)).not.toThrow();
    expect(() => validateKey(key, true)).not.toThrow();
  });

  it.each(INVALID_KEYS)('rejects a key with %s', (_, key, reason) => {
    let err: unknown;
    try {
      validateKey(key);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidKeyError);
    expect(err).toBeInstanceOf(NatsError);
    expect((err as InvalidKeyError).code).toBe('INVALID_KEY');
    expect((err as InvalidKeyError).key).toBe(key);
    expect((err as Error).message).toMatch(reason);
  });

  it('reserves keys starting with _kv for writes only', () => {
    expect(() => validateKey('_kv.internal')).not.toThrow();
    expect(() => validateKey('_kv.internal', true)).toThrow(/reserved/);
    expect(() => validateKey('_kvx', true)).toThrow(InvalidKeyError);
    expect(() => validateKey('kv_x', true)).not.toThrow();
  });
});

describe('validateFilter', () => {
  it('treats an empty or missing filter as the whole bucket', () => {
    expect(validateFilter(undefined)).toBe('>');
    expect(validateFilter('')).toBe('>');
  });

  it.each(['>', '*', 'a.*', 'a.>', '*.b', 'a.*.c.>', 'a.b', 'orders.*.status'])(
    'accepts %j',
    (filter) => {
      expect(validateFilter(filter)).toBe(filter);
    },
  );

  it.each([
    ['a partial-token star', 'a*'],
    ['a partial-token gt', 'a.b>'],
    ['a gt that is not last', 'a.>.b'],
    ['a leading dot', '.a'],
    ['a trailing dot', 'a.*.'],
    ['a double dot', 'a..*'],
    ['a space', 'a b.*'],
  ])('rejects %s', (_, filter) => {
    expect(() => validateFilter(filter)).toThrow(InvalidKeyError);
  });
});

describe('validateBucketName', () => {
  it.each(['b', 'my-bucket', 'MY_BUCKET_1', '0'])('accepts %j', (name) => {
    expect(() => validateBucketName(name)).not.toThrow();
  });

  it.each(['', 'a.b', 'a b', 'a*', 'a>', 'a/b', 'ü'])('rejects %j', (name) => {
    expect(() => validateBucketName(name)).toThrow(InvalidBucketNameError);
    expect(() => validateBucketName(name)).toThrow(/invalid bucket name/);
  });
});
