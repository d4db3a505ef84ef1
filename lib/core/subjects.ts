import { InvalidSubjectError } from './errors.js';

const DOT = 46;
const STAR = 42;
const GT = 62;

/**
 * One pass over the characters, no allocation (this runs on every publish): tokens must be
 * non-empty and free of whitespace; `*` and `>` count only as whole tokens, `>` only last.
 * Tokens that mix a wildcard with other characters are literal to the server; we reject them
 * as a likely mistake.
 */
function validTokens(subject: string, wildcards: boolean): boolean {
  if (typeof subject !== 'string') return false;
  const n = subject.length;
  if (n === 0) return false;
  let tokenStart = 0;
  let wild = 0; // wildcard characters in the current token
  for (let i = 0; i <= n; i++) {
    const c = i === n ? DOT : subject.charCodeAt(i);
    if (c === DOT) {
      const len = i - tokenStart;
      if (len === 0) return false;
      if (wild > 0) {
        if (!wildcards || len !== 1) return false;
        if (subject.charCodeAt(tokenStart) === GT && i !== n) return false;
      }
      tokenStart = i + 1;
      wild = 0;
    } else if (c === STAR || c === GT) {
      wild++;
    } else if (c === 32 || c === 9 || c === 13 || c === 10 || c === 12) {
      return false;
    }
  }
  return true;
}

/** True when `subject` may be subscribed to (wildcards allowed as whole tokens). */
export function isValidSubscribeSubject(subject: string): boolean {
  return validTokens(subject, true);
}

/** True when `subject` may be published to (literal: no wildcards). */
export function isValidPublishSubject(subject: string): boolean {
  return validTokens(subject, false);
}

/** Throws `InvalidSubjectError` unless `subject` is a valid publish (literal) subject. */
export function checkPublishSubject(subject: string, what = 'subject'): void {
  if (!validTokens(subject, false)) {
    throw new InvalidSubjectError(`invalid publish ${what} ${JSON.stringify(subject)}`);
  }
}

/** Throws `InvalidSubjectError` unless `subject` is a valid subscription subject. */
export function checkSubscribeSubject(subject: string): void {
  if (!validTokens(subject, true)) {
    throw new InvalidSubjectError(`invalid subscription subject ${JSON.stringify(subject)}`);
  }
}

/** Throws `InvalidSubjectError` unless `queue` is a valid queue group name (one token, no spaces). */
export function checkQueueGroup(queue: string): void {
  if (typeof queue !== 'string' || queue.length === 0 || /[ \t\r\n\f]/.test(queue)) {
    throw new InvalidSubjectError(`invalid queue group ${JSON.stringify(queue)}`);
  }
}

/**
 * Throws `InvalidSubjectError` when a control line (`PUB …`/`SUB …`, with its CRLF) is longer
 * than the server's `max_control_line`: the server would answer with an -ERR and drop the
 * connection, taking the frames around it along.
 */
export function checkControlLine(line: string, max: number): void {
  const bytes = Buffer.byteLength(line);
  if (bytes <= max) return;
  const preview = line.length > 60 ? `${line.slice(0, 60)}…` : line.trimEnd();
  throw new InvalidSubjectError(
    `subject too long: ${JSON.stringify(preview)} makes a ${bytes}-byte protocol line, and the ` +
      `server accepts at most ${max} (its max_control_line; see the maxControlLine option)`,
  );
}
