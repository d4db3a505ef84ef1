// NKey encoding and ed25519 signing, written from the encoding rules in the protocol spec (§11),
// using only node:crypto. Error messages never contain key material.
import { createPrivateKey, createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { InvalidOptionError } from '../errors.js';

/** Prefix byte of an encoded seed (`S…`). */
export const PREFIX_SEED = 18 << 3;
/** Prefix byte of an encoded private key (`P…`). */
export const PREFIX_PRIVATE = 15 << 3;
/** Prefix byte of a server public key (`N…`). */
export const PREFIX_SERVER = 13 << 3;
/** Prefix byte of a cluster public key (`C…`). */
export const PREFIX_CLUSTER = 2 << 3;
/** Prefix byte of an operator public key (`O…`). */
export const PREFIX_OPERATOR = 14 << 3;
/** Prefix byte of an account public key (`A…`). */
export const PREFIX_ACCOUNT = 0;
/** Prefix byte of a user public key (`U…`). */
export const PREFIX_USER = 20 << 3;
/** Prefix byte of a curve (x25519) public key (`X…`). */
export const PREFIX_CURVE = 23 << 3;
/** Prefix byte of an unknown key type (`Z…`). */
export const PREFIX_UNKNOWN = 25 << 3;

const PUBLIC_PREFIXES: ReadonlySet<number> = new Set([
  PREFIX_SERVER,
  PREFIX_CLUSTER,
  PREFIX_OPERATOR,
  PREFIX_ACCOUNT,
  PREFIX_USER,
  PREFIX_CURVE,
  PREFIX_UNKNOWN,
]);

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const ALPHABET_INDEX = new Map([...ALPHABET].map((c, i) => [c, i]));

/** Encodes bytes as RFC 4648 base32 without padding. */
export function base32Encode(data: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of data) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(buffer >>> bits) & 0x1f];
    }
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 0x1f];
  return out;
}

/** Decodes unpadded RFC 4648 base32 (upper case); leftover bits that do not fill a byte are dropped. */
export function base32Decode(text: string): Uint8Array {
  const out = new Uint8Array(Math.floor((text.length * 5) / 8));
  let buffer = 0;
  let bits = 0;
  let n = 0;
  for (const c of text) {
    const v = ALPHABET_INDEX.get(c);
    if (v === undefined) throw new InvalidOptionError('invalid base32 character in nkey');
    buffer = ((buffer << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (buffer >>> bits) & 0xff;
    }
  }
  return out;
}

/** CRC-16/XMODEM: polynomial 0x1021, init 0, no reflection, no final XOR. */
export function crc16(data: Uint8Array): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
  }
  return crc;
}

/** Appends the little-endian CRC of `body` and base32-encodes the whole. */
function withChecksum(body: Uint8Array): string {
  const full = new Uint8Array(body.length + 2);
  full.set(body);
  const crc = crc16(body);
  full[body.length] = crc & 0xff;
  full[body.length + 1] = crc >>> 8;
  const text = base32Encode(full);
  full.fill(0);
  return text;
}

/** Base32-decodes and verifies the trailing CRC; returns the bytes before the checksum. */
function checkedDecode(text: string, what: string): Uint8Array {
  const raw = base32Decode(text.trim());
  if (raw.length < 4) throw new InvalidOptionError(`invalid ${what}: too short`);
  const body = raw.subarray(0, raw.length - 2);
  const stored = raw[raw.length - 2] | (raw[raw.length - 1] << 8);
  if (crc16(body) !== stored) {
    raw.fill(0);
    throw new InvalidOptionError(`invalid ${what}: checksum mismatch`);
  }
  return body;
}

function assertPublicPrefix(prefix: number): void {
  if (!PUBLIC_PREFIXES.has(prefix)) {
    throw new InvalidOptionError(`invalid nkey prefix byte 0x${prefix.toString(16)}`);
  }
}

function assertRaw32(raw: Uint8Array): void {
  if (raw.length !== 32) throw new InvalidOptionError('nkey material must be 32 bytes');
}

/** Encodes a raw 32-byte ed25519 public key as an NKey public key string (56 characters). */
export function encodePublicKey(prefix: number, raw32: Uint8Array): string {
  assertPublicPrefix(prefix);
  assertRaw32(raw32);
  const body = new Uint8Array(33);
  body[0] = prefix;
  body.set(raw32, 1);
  return withChecksum(body);
}

/** Encodes a raw 32-byte ed25519 seed as an NKey seed string (58 characters, `S…`). */
export function encodeSeed(prefix: number, raw32: Uint8Array): string {
  assertPublicPrefix(prefix);
  assertRaw32(raw32);
  const body = new Uint8Array(34);
  body[0] = PREFIX_SEED | (prefix >> 5);
  body[1] = (prefix & 0x1f) << 3;
  body.set(raw32, 2);
  const text = withChecksum(body);
  body.fill(0);
  return text;
}

/**
 * Decodes an NKey seed string. The returned `seed` is a fresh copy the caller should wipe
 * (`fill(0)`) when done. Throws `InvalidOptionError` on a bad encoding, checksum or prefix, or
 * when `expectedPrefix` is given and does not match.
 */
export function decodeSeed(
  seed: string,
  expectedPrefix?: number,
): { prefix: number; seed: Uint8Array } {
  const body = checkedDecode(seed, 'nkey seed');
  try {
    if (body.length !== 34 || (body[0] & 0xf8) !== PREFIX_SEED) {
      throw new InvalidOptionError('invalid nkey seed: not a seed');
    }
    const prefix = ((body[0] & 0x07) << 5) | ((body[1] & 0xf8) >> 3);
    assertPublicPrefix(prefix);
    if (expectedPrefix !== undefined && prefix !== expectedPrefix) {
      throw new InvalidOptionError(
        `nkey seed has prefix 0x${prefix.toString(16)}, expected 0x${expectedPrefix.toString(16)}`,
      );
    }
    return { prefix, seed: body.slice(2) };
  } finally {
    body.fill(0);
  }
}

/** Decodes an NKey public key string to its raw 32 bytes, checking the CRC and (optionally) prefix. */
export function decodePublicKey(
  key: string,
  expectedPrefix?: number,
): { prefix: number; key: Uint8Array } {
  const body = checkedDecode(key, 'nkey public key');
  const prefix = body[0] & 0xf8;
  if (body.length !== 33) throw new InvalidOptionError('invalid nkey public key: wrong length');
  assertPublicPrefix(prefix);
  if (expectedPrefix !== undefined && prefix !== expectedPrefix) {
    throw new InvalidOptionError(
      `nkey public key has prefix 0x${prefix.toString(16)}, expected 0x${expectedPrefix.toString(16)}`,
    );
  }
  return { prefix, key: body.slice(1) };
}

// PKCS#8 wrapper for a raw ed25519 seed (RFC 8410): SEQUENCE { INTEGER 0, AlgorithmIdentifier
// { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32 bytes) } }.
const PKCS8_ED25519_HEADER = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);

function privateKeyFromRaw(raw32: Uint8Array): KeyObject {
  const der = Buffer.alloc(PKCS8_ED25519_HEADER.length + 32);
  der.set(PKCS8_ED25519_HEADER);
  der.set(raw32, PKCS8_ED25519_HEADER.length);
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

function rawPublicKey(privateKey: KeyObject): Uint8Array {
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new InvalidOptionError('could not derive the public key');
  return Buffer.from(jwk.x, 'base64url');
}

/** Runs `fn` with the decoded private key, wiping the raw seed bytes afterwards. */
function withPrivateKey<T>(seed: string, fn: (key: KeyObject, prefix: number) => T): T {
  const decoded = decodeSeed(seed);
  try {
    return fn(privateKeyFromRaw(decoded.seed), decoded.prefix);
  } finally {
    decoded.seed.fill(0);
  }
}

/** Returns the public key (`U…`, `A…`, `O…`…) that belongs to an NKey seed. */
export function publicKeyFromSeed(seed: string): string {
  return withPrivateKey(seed, (key, prefix) => encodePublicKey(prefix, rawPublicKey(key)));
}

/** Signs arbitrary bytes with the seed's ed25519 key; returns the 64-byte signature. */
export function signBytes(seed: string, data: Uint8Array): Uint8Array {
  return withPrivateKey(seed, (key) => sign(null, data, key));
}

/** Signs the server's INFO `nonce` (its UTF-8 bytes) and returns base64url without padding. */
export function signNonce(seed: string, nonce: string): string {
  return Buffer.from(signBytes(seed, Buffer.from(nonce, 'utf8'))).toString('base64url');
}

/** Creates a fresh random key pair of the given public-key type (for example `PREFIX_USER`). */
export function createKeyPair(prefix: number): { seed: string; publicKey: string } {
  const raw = randomBytes(32);
  try {
    const seed = encodeSeed(prefix, raw);
    return { seed, publicKey: encodePublicKey(prefix, rawPublicKey(privateKeyFromRaw(raw))) };
  } finally {
    raw.fill(0);
  }
}
