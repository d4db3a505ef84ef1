import { Nuid, nuid } from '../../lib/core/nuid.js';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const NUID_RE = /^[0-9A-Za-z]{22}$/;

/** Decodes a base-62 sequence (the last 10 characters); exact below 2^53. */
function seqOf(id: string): number {
  let n = 0;
  for (const c of id.slice(12)) n = n * 62 + ALPHABET.indexOf(c);
  return n;
}

describe('Nuid', () => {
  it('produces 22-character ids from the base-62 alphabet', () => {
    const gen = new Nuid();
    for (let i = 0; i < 1000; i++) {
      const id = gen.next();
      expect(id).toHaveLength(22);
      expect(id).toMatch(NUID_RE);
    }
  });

  it('produces 100k unique ids', () => {
    const gen = new Nuid();
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) seen.add(gen.next());
    expect(seen.size).toBe(100_000);
    for (const id of seen) {
      if (!NUID_RE.test(id)) throw new Error(`bad nuid ${id}`);
    }
  });

  it('keeps a 12-character prefix and steps the sequence by 33..333', () => {
    const gen = new Nuid();
    let prev = gen.next();
    for (let i = 0; i < 10_000; i++) {
      const id = gen.next();
      expect(id.slice(0, 12)).toBe(prev.slice(0, 12));
      const step = seqOf(id) - seqOf(prev);
      if (step < 33 || step > 333) throw new Error(`sequence step ${step} out of range`);
      prev = id;
    }
  });

  it('gives independent generators different prefixes', () => {
    const prefixes = new Set<string>();
    for (let i = 0; i < 50; i++) prefixes.add(new Nuid().next().slice(0, 12));
    expect(prefixes.size).toBe(50);
  });

  it('re-randomizes the prefix when the sequence wraps at 62^10', () => {
    const gen = new Nuid();
    const before = gen.next();
    // Jump the private sequence to the end of its range.
    (gen as unknown as { seq: number }).seq = 62 ** 10 - 1;
    const after = gen.next();
    expect(after).toMatch(NUID_RE);
    expect(after.slice(0, 12)).not.toBe(before.slice(0, 12));
    expect(gen.next().slice(0, 12)).toBe(after.slice(0, 12));
  });

  it('exports a shared generator', () => {
    const a = nuid.next();
    const b = nuid.next();
    expect(a).toMatch(NUID_RE);
    expect(b).toMatch(NUID_RE);
    expect(a).not.toBe(b);
  });
});
