import { createPublicKey, verify } from 'node:crypto';
import {
  PREFIX_ACCOUNT,
  PREFIX_OPERATOR,
  PREFIX_USER,
  base32Decode,
  base32Encode,
  crc16,
  createKeyPair,
  decodePublicKey,
  decodeSeed,
  encodePublicKey,
  encodeSeed,
  publicKeyFromSeed,
  signNonce,
} from '../../lib/core/auth/nkeys.js';
import { InvalidOptionError } from '../../lib/core/errors.js';

// RFC 8032 §7.1, test 1.
const RFC_SECRET = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
const RFC_PUBLIC = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
const RFC_SIG_EMPTY =
  'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b';

/** Replaces one character in the middle of an encoded key with a different valid one. */
function corrupt(text: string): string {
  const i = 20;
  return text.slice(0, i) + (text[i] === 'A' ? 'B' : 'A') + text.slice(i + 1);
}

function expectInvalid(fn: () => unknown, message: RegExp, secret?: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as Error).message).toMatch(message);
    if (secret) expect((err as Error).message).not.toContain(secret);
    return;
  }
  throw new Error('expected an InvalidOptionError');
}

describe('base32 and crc16', () => {
  it('matches the RFC 4648 vectors without padding', () => {
    const vectors = ['', 'MY', 'MZXQ', 'MZXW6', 'MZXW6YQ', 'MZXW6YTB', 'MZXW6YTBOI'];
    vectors.forEach((encoded, n) => {
      const raw = Buffer.from('foobar'.slice(0, n));
      expect(base32Encode(raw)).toBe(encoded);
      expect(Buffer.from(base32Decode(encoded))).toEqual(raw);
    });
  });

  it('rejects characters outside the alphabet', () => {
    expectInvalid(() => base32Decode('MZXW1'), /base32/);
  });

  it('computes CRC-16/XMODEM (check value 0x31C3)', () => {
    expect(crc16(Buffer.from('123456789'))).toBe(0x31c3);
  });
});

describe('seeds and public keys', () => {
  it('creates user, account and operator key pairs with the right shape', () => {
    for (const [prefix, s, p] of [
      [PREFIX_USER, 'SU', 'U'],
      [PREFIX_ACCOUNT, 'SA', 'A'],
      [PREFIX_OPERATOR, 'SO', 'O'],
    ] as const) {
      const kp = createKeyPair(prefix);
      expect(kp.seed).toMatch(new RegExp(`^${s}[A-Z2-7]{56}$`));
      expect(kp.publicKey).toMatch(new RegExp(`^${p}[A-Z2-7]{55}$`));
      expect(publicKeyFromSeed(kp.seed)).toBe(kp.publicKey);
      expect(decodeSeed(kp.seed).prefix).toBe(prefix);
      expect(decodePublicKey(kp.publicKey, prefix).key).toHaveLength(32);
    }
  });

  it('round-trips a known seed and derives the RFC 8032 public key', () => {
    const raw = Buffer.from(RFC_SECRET, 'hex');
    const seed = encodeSeed(PREFIX_USER, raw);
    const decoded = decodeSeed(seed, PREFIX_USER);
    expect(decoded.prefix).toBe(PREFIX_USER);
    expect(Buffer.from(decoded.seed)).toEqual(raw);
    const publicKey = publicKeyFromSeed(seed);
    expect(publicKey).toBe(encodePublicKey(PREFIX_USER, Buffer.from(RFC_PUBLIC, 'hex')));
    expect(Buffer.from(decodePublicKey(publicKey).key).toString('hex')).toBe(RFC_PUBLIC);
  });

  it('rejects a seed whose checksum does not match, without echoing it', () => {
    const { seed } = createKeyPair(PREFIX_USER);
    const bad = corrupt(seed);
    expectInvalid(() => decodeSeed(bad), /checksum/, bad);
    expectInvalid(() => signNonce(bad, 'nonce'), /checksum/, bad);
  });

  it('rejects a prefix mismatch and a public key used as a seed', () => {
    const { seed, publicKey } = createKeyPair(PREFIX_USER);
    expectInvalid(() => decodeSeed(seed, PREFIX_ACCOUNT), /prefix/, seed);
    expectInvalid(() => decodeSeed(publicKey), /not a seed/);
    expectInvalid(() => decodePublicKey(publicKey, PREFIX_OPERATOR), /prefix/);
    expectInvalid(() => decodeSeed('SU'), /too short/);
  });
});

describe('signNonce', () => {
  it('produces the RFC 8032 signature, base64url without padding', () => {
    const seed = encodeSeed(PREFIX_USER, Buffer.from(RFC_SECRET, 'hex'));
    expect(signNonce(seed, '')).toBe(Buffer.from(RFC_SIG_EMPTY, 'hex').toString('base64url'));
  });

  it('signs the UTF-8 nonce bytes so that crypto.verify accepts it', () => {
    const { seed, publicKey } = createKeyPair(PREFIX_USER);
    const nonce = 'LU0It7COXHuePF4';
    const sig = signNonce(seed, nonce);
    expect(sig).toMatch(/^[A-Za-z0-9_-]{86}$/);
    const x = Buffer.from(decodePublicKey(publicKey).key).toString('base64url');
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
    const sigBytes = Buffer.from(sig, 'base64url');
    expect(verify(null, Buffer.from(nonce, 'utf8'), key, sigBytes)).toBe(true);
    expect(verify(null, Buffer.from('other', 'utf8'), key, sigBytes)).toBe(false);
  });
});
