import { randomBytes, randomInt } from 'node:crypto';

const DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BASE = 62;
const PREFIX_LEN = 12;
const SEQ_LEN = 10;
const MAX_SEQ = BASE ** SEQ_LEN;

/**
 * Unique ids for inboxes: a random 12-character base-62 prefix and a 10-character sequence that
 * steps by a random increment, so ids are cheap to make and unguessable enough to not collide.
 */
export class Nuid {
  private prefix = '';
  private seq = 0;
  private inc = 0;

  constructor() {
    this.reset();
  }

  next(): string {
    this.seq += this.inc;
    if (this.seq >= MAX_SEQ) this.reset();
    let n = this.seq;
    let tail = '';
    for (let i = 0; i < SEQ_LEN; i++) {
      tail = DIGITS[n % BASE] + tail;
      n = Math.floor(n / BASE);
    }
    return this.prefix + tail;
  }

  private reset(): void {
    const bytes = randomBytes(PREFIX_LEN);
    let p = '';
    for (let i = 0; i < PREFIX_LEN; i++) p += DIGITS[bytes[i] % BASE];
    this.prefix = p;
    this.seq = randomInt(0, 2 ** 47);
    this.inc = randomInt(33, 334);
  }
}

/** A process-wide generator. */
export const nuid = new Nuid();
