import { InvalidSubjectError } from '../../lib/core/errors.js';
import {
  checkPublishSubject,
  checkQueueGroup,
  checkSubscribeSubject,
  isValidPublishSubject,
  isValidSubscribeSubject,
} from '../../lib/core/subjects.js';

const LITERAL = [
  'foo',
  'foo.bar',
  'FOO.BAR.baz',
  'a.b.c.d.e.f.g',
  '_INBOX.abc123.def',
  '$JS.API.STREAM.INFO.ORDERS',
  '$KV.bucket.key-1_2',
  'foo-bar_baz',
  'grüße.😀',
  'x',
  '1.2.3',
  'a'.repeat(1000),
];

const WILDCARD = ['*', '>', 'foo.*', 'foo.>', '*.bar', 'foo.*.bar', '*.*', '*.*.>', 'a.*.b.>'];

const INVALID_ANYWHERE: Array<[string, string]> = [
  ['empty', ''],
  ['an empty token', 'foo..bar'],
  ['a leading dot', '.foo'],
  ['a trailing dot', 'foo.'],
  ['only a dot', '.'],
  ['only dots', '...'],
  ['a space', 'foo bar'],
  ['a leading space', ' foo'],
  ['a trailing space', 'foo '],
  ['a tab', 'foo\tbar'],
  ['a CR', 'foo\rbar'],
  ['a LF', 'foo\nbar'],
  ['a CRLF', 'foo\r\n'],
  ['a form feed', 'foo\fbar'],
  ['* inside a token', 'foo*'],
  ['* inside a token (leading)', '*foo.bar'],
  ['* in the middle of a token', 'foo.b*r'],
  ['> inside a token', 'f>o'],
  ['> at the end of a token', 'foo.bar>'],
  ['> not last', '>.foo'],
  ['> in the middle', 'foo.>.bar'],
  ['a doubled wildcard', 'foo.**'],
  ['a doubled >', 'foo.>>'],
  ['*> mixed', 'foo.*>'],
  ['a wildcard with an empty token', 'foo.*..bar'],
];

describe('subjects: publish (literal) subjects', () => {
  it.each(LITERAL)('accepts %j', (subject) => {
    expect(isValidPublishSubject(subject)).toBe(true);
    expect(() => checkPublishSubject(subject)).not.toThrow();
  });

  it.each(WILDCARD)('rejects the wildcard subject %j', (subject) => {
    expect(isValidPublishSubject(subject)).toBe(false);
    expect(() => checkPublishSubject(subject)).toThrow(InvalidSubjectError);
  });

  it.each(INVALID_ANYWHERE)('rejects a subject with %s', (_what, subject) => {
    expect(isValidPublishSubject(subject)).toBe(false);
    expect(() => checkPublishSubject(subject)).toThrow(InvalidSubjectError);
  });

  it('throws InvalidSubjectError with code INVALID_SUBJECT naming the subject and role', () => {
    let error: unknown;
    try {
      checkPublishSubject('foo..bar', 'reply subject');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidSubjectError);
    expect((error as InvalidSubjectError).code).toBe('INVALID_SUBJECT');
    expect((error as InvalidSubjectError).message).toContain('reply subject');
    expect((error as InvalidSubjectError).message).toContain('foo..bar');
  });

  it('rejects a non-string subject', () => {
    expect(isValidPublishSubject(undefined as unknown as string)).toBe(false);
    expect(isValidPublishSubject(42 as unknown as string)).toBe(false);
  });
});

describe('subjects: subscribe subjects', () => {
  it.each([...LITERAL, ...WILDCARD])('accepts %j', (subject) => {
    expect(isValidSubscribeSubject(subject)).toBe(true);
    expect(() => checkSubscribeSubject(subject)).not.toThrow();
  });

  it.each(INVALID_ANYWHERE)('rejects a subject with %s', (_what, subject) => {
    expect(isValidSubscribeSubject(subject)).toBe(false);
    expect(() => checkSubscribeSubject(subject)).toThrow(InvalidSubjectError);
  });

  it('treats subjects as case-sensitive text (no normalisation)', () => {
    expect(isValidSubscribeSubject('Foo.BAR')).toBe(true);
    expect(isValidPublishSubject('Foo.BAR')).toBe(true);
  });
});

describe('subjects: queue groups', () => {
  it.each(['workers', 'q1', 'group-a_b', 'Q'])('accepts %j', (queue) => {
    expect(() => checkQueueGroup(queue)).not.toThrow();
  });

  it.each([
    ['empty', ''],
    ['a space', 'my group'],
    ['a leading space', ' q'],
    ['a trailing space', 'q '],
    ['a tab', 'q\t1'],
    ['a CR', 'q\r'],
    ['a LF', 'q\n1'],
    ['a form feed', 'q\f'],
  ])('rejects a queue group with %s', (_what, queue) => {
    let error: unknown;
    try {
      checkQueueGroup(queue);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidSubjectError);
    expect((error as InvalidSubjectError).code).toBe('INVALID_SUBJECT');
  });

  it('rejects a non-string queue group', () => {
    expect(() => checkQueueGroup(7 as unknown as string)).toThrow(InvalidSubjectError);
  });
});
