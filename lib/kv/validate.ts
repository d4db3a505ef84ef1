import { InvalidKeyError } from './errors.js';

const KEY_RE = /^[-/_=.A-Za-z0-9]+$/;
const FILTER_RE = /^[-/_=.A-Za-z0-9*>]+$/;

function checkDots(key: string): void {
  if (key.startsWith('.')) throw new InvalidKeyError(key, "must not start with '.'");
  if (key.endsWith('.')) throw new InvalidKeyError(key, "must not end with '.'");
  if (key.includes('..')) throw new InvalidKeyError(key, "must not contain '..'");
}

/**
 * Throws `InvalidKeyError` unless `key` is a valid KV key: `[-/_=.A-Za-z0-9]+`, no leading or
 * trailing `.`, no `..`. Keys starting with `_kv` are reserved for writes (`forWrite`).
 */
export function validateKey(key: string, forWrite = false): void {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidKeyError(key, 'empty');
  if (!KEY_RE.test(key)) {
    throw new InvalidKeyError(key, "only A-Z, a-z, 0-9 and '-', '/', '_', '=', '.' are allowed");
  }
  checkDots(key);
  if (forWrite && key.startsWith('_kv')) {
    throw new InvalidKeyError(key, "keys starting with '_kv' are reserved");
  }
}

/**
 * Normalises and checks a watch/keys filter: key characters plus the whole-token wildcards `*`
 * and `>` (last token only). An empty filter means the whole bucket (`>`). Throws
 * `InvalidKeyError`.
 */
export function validateFilter(filter: string | undefined): string {
  if (filter === undefined || filter === '') return '>';
  if (typeof filter !== 'string' || !FILTER_RE.test(filter)) {
    throw new InvalidKeyError(String(filter), "only key characters and the wildcards '*', '>'");
  }
  checkDots(filter);
  const tokens = filter.split('.');
  tokens.forEach((t, i) => {
    if ((t.includes('*') || t.includes('>')) && t.length > 1) {
      throw new InvalidKeyError(filter, 'wildcards must be whole tokens');
    }
    if (t === '>' && i !== tokens.length - 1) {
      throw new InvalidKeyError(filter, "'>' must be the last token");
    }
  });
  return filter;
}
