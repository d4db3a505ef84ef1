import { InvalidOptionError } from '../../lib/core/errors.js';
import { MsgHeaders } from '../../lib/core/messages/headers.js';
import { Parser } from '../../lib/core/protocol/parser.js';

const wire = (h: MsgHeaders): string => Buffer.from(h.encode()).toString('utf8');
const block = (s: string): Uint8Array => Buffer.from(s, 'utf8');

function expectInvalid(fn: () => unknown): void {
  let error: unknown;
  try {
    fn();
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(InvalidOptionError);
  expect((error as InvalidOptionError).code).toBe('INVALID_OPTION');
}

describe('MsgHeaders: encoding', () => {
  it('encodes the minimal block NATS/1.0 CRLF CRLF (12 bytes)', () => {
    const h = new MsgHeaders();
    expect(wire(h)).toBe('NATS/1.0\r\n\r\n');
    expect(h.encode().length).toBe(12);
  });

  it('encodes the spec example block Bar: Baz (22 bytes)', () => {
    const h = new MsgHeaders({ Bar: 'Baz' });
    expect(wire(h)).toBe('NATS/1.0\r\nBar: Baz\r\n\r\n');
    expect(h.encode().length).toBe(22);
  });

  it('emits one line per value of a multi-value key, in insertion order, never comma-joined', () => {
    const h = new MsgHeaders().append('BREAKFAST', 'donut').append('BREAKFAST', 'eggs');
    expect(wire(h)).toBe('NATS/1.0\r\nBREAKFAST: donut\r\nBREAKFAST: eggs\r\n\r\n');
    expect(h.encode().length).toBe(47);
  });

  it('preserves the case names were given in', () => {
    const h = new MsgHeaders();
    h.set('Nats-Msg-Id', 'abc');
    h.set('nats-expected-stream', 'S');
    h.set('X-CUSTOM', '1');
    expect(wire(h)).toBe(
      'NATS/1.0\r\nNats-Msg-Id: abc\r\nnats-expected-stream: S\r\nX-CUSTOM: 1\r\n\r\n',
    );
  });

  it('keeps the first spelling of a name when appending under another case', () => {
    const h = new MsgHeaders().append('Foo', '1').append('FOO', '2').append('foo', '3');
    expect(h.keys()).toEqual(['Foo']);
    expect(wire(h)).toBe('NATS/1.0\r\nFoo: 1\r\nFoo: 2\r\nFoo: 3\r\n\r\n');
  });

  it('encodes a status line with and without a description', () => {
    const noResponders = new MsgHeaders();
    noResponders.status = 503;
    expect(wire(noResponders)).toBe('NATS/1.0 503\r\n\r\n');
    expect(noResponders.encode().length).toBe(16);

    const noMessages = new MsgHeaders();
    noMessages.status = 404;
    noMessages.description = 'No Messages';
    expect(wire(noMessages)).toBe('NATS/1.0 404 No Messages\r\n\r\n');
    expect(noMessages.encode().length).toBe(28);
  });

  it('encodes values with colons, spaces and UTF-8 as-is', () => {
    const h = new MsgHeaders({ Url: 'http://h:1/a b', Name: 'grüße' });
    expect(wire(h)).toBe('NATS/1.0\r\nUrl: http://h:1/a b\r\nName: grüße\r\n\r\n');
  });

  it('encodes an empty value', () => {
    expect(wire(new MsgHeaders({ Empty: '' }))).toBe('NATS/1.0\r\nEmpty: \r\n\r\n');
  });
});

describe('MsgHeaders: access', () => {
  it('gets values case-insensitively', () => {
    const h = new MsgHeaders({ 'Nats-Msg-Id': 'abc' });
    expect(h.get('Nats-Msg-Id')).toBe('abc');
    expect(h.get('nats-msg-id')).toBe('abc');
    expect(h.get('NATS-MSG-ID')).toBe('abc');
    expect(h.has('nAtS-mSg-Id')).toBe(true);
    expect(h.getAll('NATS-msg-id')).toEqual(['abc']);
  });

  it('returns undefined / [] / false for an absent name', () => {
    const h = new MsgHeaders({ A: '1' });
    expect(h.get('B')).toBeUndefined();
    expect(h.getAll('B')).toEqual([]);
    expect(h.has('B')).toBe(false);
  });

  it('returns the first value from get() and all values in order from getAll()', () => {
    const h = new MsgHeaders().append('K', 'v1').append('k', 'v2').append('K', 'v3');
    expect(h.get('k')).toBe('v1');
    expect(h.getAll('K')).toEqual(['v1', 'v2', 'v3']);
  });

  it('set() replaces every value of a name, whatever its case', () => {
    const h = new MsgHeaders().append('K', 'v1').append('K', 'v2');
    h.set('k', 'only');
    expect(h.getAll('K')).toEqual(['only']);
    expect(h.size).toBe(1);
  });

  it('set() accepts an array of values', () => {
    const h = new MsgHeaders();
    h.set('K', ['a', 'b']);
    expect(h.getAll('K')).toEqual(['a', 'b']);
  });

  it('delete() removes a name case-insensitively', () => {
    const h = new MsgHeaders({ Keep: '1', Drop: '2' });
    expect(h.delete('DROP')).toBe(true);
    expect(h.delete('drop')).toBe(false);
    expect(h.has('Drop')).toBe(false);
    expect(wire(h)).toBe('NATS/1.0\r\nKeep: 1\r\n\r\n');
  });

  it('does not let callers mutate stored values through getAll() or iteration', () => {
    const h = new MsgHeaders({ K: ['a', 'b'] });
    h.getAll('K').push('c');
    for (const [, values] of h) values.push('d');
    expect(h.getAll('K')).toEqual(['a', 'b']);
  });

  it('iterates names (original case) with their values in insertion order', () => {
    const h = new MsgHeaders({ B: '1', A: ['2', '3'] });
    expect([...h]).toEqual([
      ['B', ['1']],
      ['A', ['2', '3']],
    ]);
    expect(h.keys()).toEqual(['B', 'A']);
    expect(h.toJSON()).toEqual({ B: ['1'], A: ['2', '3'] });
  });
});

describe('MsgHeaders: plain-object init', () => {
  it('builds headers from a plain object with string and array values', () => {
    const h = new MsgHeaders({ Single: 'one', Multi: ['a', 'b', 'c'] });
    expect(h.get('single')).toBe('one');
    expect(h.getAll('multi')).toEqual(['a', 'b', 'c']);
    expect(wire(h)).toBe('NATS/1.0\r\nSingle: one\r\nMulti: a\r\nMulti: b\r\nMulti: c\r\n\r\n');
  });

  it('MsgHeaders.from() converts a plain object and passes an instance through', () => {
    const h = MsgHeaders.from({ A: ['1', '2'] });
    expect(h).toBeInstanceOf(MsgHeaders);
    expect(h.getAll('a')).toEqual(['1', '2']);
    expect(MsgHeaders.from(h)).toBe(h);
  });

  it('validates plain-object names and values', () => {
    expectInvalid(() => new MsgHeaders({ 'Bad Name': 'x' }));
    expectInvalid(() => new MsgHeaders({ Good: ['ok', 'bad\r\nInjected: yes'] }));
    expectInvalid(() => MsgHeaders.from({ 'a:b': 'x' }));
  });
});

describe('MsgHeaders: validation', () => {
  const badNames: Array<[string, string]> = [
    ['empty', ''],
    ['a space', 'Bad Name'],
    ['a leading space', ' Name'],
    ['a trailing space', 'Name '],
    ['a colon', 'Bad:Name'],
    ['a trailing colon', 'Name:'],
    ['a CR', 'Bad\rName'],
    ['a LF', 'Bad\nName'],
    ['CRLF', 'Name\r\nX'],
    ['a tab', 'Bad\tName'],
    ['a DEL', 'Bad\x7fName'],
    ['a NUL', 'Bad\x00Name'],
    ['non-ASCII', 'Grüße'],
  ];

  it.each(badNames)('rejects a name with %s with InvalidOptionError', (_what, name) => {
    expectInvalid(() => new MsgHeaders().set(name, 'v'));
    expectInvalid(() => new MsgHeaders().append(name, 'v'));
    expectInvalid(() => new MsgHeaders({ [name]: 'v' }));
  });

  const badValues: Array<[string, string]> = [
    ['a CR', 'a\rb'],
    ['a LF', 'a\nb'],
    ['CRLF (header injection)', 'a\r\nInjected: yes'],
    ['a trailing CRLF', 'value\r\n'],
  ];

  it.each(badValues)('rejects a value with %s with InvalidOptionError', (_what, value) => {
    expectInvalid(() => new MsgHeaders().set('Name', value));
    expectInvalid(() => new MsgHeaders().set('Name', ['ok', value]));
    expectInvalid(() => new MsgHeaders().append('Name', value));
  });

  it('leaves the headers unchanged when a value is rejected', () => {
    const h = new MsgHeaders({ Name: 'old' });
    expectInvalid(() => h.set('Name', ['new', 'bad\n']));
    expectInvalid(() => h.append('Name', 'bad\r'));
    expect(h.getAll('Name')).toEqual(['old']);
  });

  it('accepts every printable ASCII character except colon in names', () => {
    let name = '';
    for (let c = 33; c <= 126; c++) if (c !== 58) name += String.fromCharCode(c);
    const h = new MsgHeaders().set(name, 'v');
    expect(h.get(name)).toBe('v');
  });

  it('accepts colons, spaces and tabs inside values', () => {
    const h = new MsgHeaders().set('V', 'a: b\tc  d');
    expect(h.get('V')).toBe('a: b\tc  d');
  });
});

describe('MsgHeaders: decoding', () => {
  it('round-trips encode -> decode', () => {
    const h = new MsgHeaders({ 'Nats-Msg-Id': 'id-1', Multi: ['1', '2', '3'] });
    h.append('Url', 'nats://h:4222');
    h.append('Utf8', 'grüße 😀');
    h.append('Empty', '');
    const back = MsgHeaders.decode(h.encode());
    expect(back.toJSON()).toEqual(h.toJSON());
    expect(back.keys()).toEqual(h.keys());
    expect(back.status).toBe(0);
    expect(back.description).toBe('');
    expect(wire(back)).toBe(wire(h));
  });

  it('round-trips a status line', () => {
    const h = new MsgHeaders({ 'Nats-Last-Consumer': '7' });
    h.status = 100;
    h.description = 'Idle Heartbeat';
    const back = MsgHeaders.decode(h.encode());
    expect(back.status).toBe(100);
    expect(back.description).toBe('Idle Heartbeat');
    expect(back.get('nats-last-consumer')).toBe('7');
    expect(wire(back)).toBe(wire(h));
  });

  it('decodes repeated keys in order and matches them case-insensitively', () => {
    const h = MsgHeaders.decode(
      block('NATS/1.0\r\nBREAKFAST: donut\r\nBREAKFAST: eggs\r\nbreakfast: toast\r\n\r\n'),
    );
    expect(h.getAll('Breakfast')).toEqual(['donut', 'eggs', 'toast']);
    expect(h.keys()).toEqual(['BREAKFAST']);
  });

  it('keeps the case of decoded names', () => {
    const h = MsgHeaders.decode(block('NATS/1.0\r\nnats-MSG-id: x\r\n\r\n'));
    expect(h.keys()).toEqual(['nats-MSG-id']);
    expect(h.get('Nats-Msg-Id')).toBe('x');
  });

  it.each<[string, number, string]>([
    ['NATS/1.0 503\r\n\r\n', 503, ''],
    ['NATS/1.0 404 No Messages\r\n\r\n', 404, 'No Messages'],
    ['NATS/1.0 408 Request Timeout\r\n\r\n', 408, 'Request Timeout'],
    ['NATS/1.0 409 Message Size Exceeds MaxBytes\r\n\r\n', 409, 'Message Size Exceeds MaxBytes'],
    [
      'NATS/1.0 400 Bad Request - heartbeat value too large\r\n\r\n',
      400,
      'Bad Request - heartbeat value too large',
    ],
    ['NATS/1.0   503   \r\n\r\n', 503, ''],
    ['NATS/1.0\r\n\r\n', 0, ''],
  ])('parses the status line of %j', (text, status, description) => {
    const h = MsgHeaders.decode(block(text));
    expect(h.status).toBe(status);
    expect(h.description).toBe(description);
    expect(h.size).toBe(0);
  });

  it('parses a status line followed by header lines (idle heartbeat)', () => {
    const h = MsgHeaders.decode(
      block(
        'NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 42\r\nNats-Last-Stream: 99\r\n\r\n',
      ),
    );
    expect(h.status).toBe(100);
    expect(h.description).toBe('Idle Heartbeat');
    expect(h.get('Nats-Last-Consumer')).toBe('42');
    expect(h.get('nats-last-stream')).toBe('99');
    expect(h.keys()).toEqual(['Nats-Last-Consumer', 'Nats-Last-Stream']);
  });

  it('parses a flow-control status with a reply-style header', () => {
    const h = MsgHeaders.decode(
      block('NATS/1.0 100 FlowControl Request\r\nNats-Consumer-Stalled: $JS.FC.x\r\n\r\n'),
    );
    expect(h.status).toBe(100);
    expect(h.description).toBe('FlowControl Request');
    expect(h.get('Nats-Consumer-Stalled')).toBe('$JS.FC.x');
  });

  it('drops leading spaces and tabs from values and keeps everything after the first colon', () => {
    const h = MsgHeaders.decode(
      block('NATS/1.0\r\nA:no-space\r\nB:   three\r\nC:\t\ttabs\r\nUrl: nats://h:4222\r\n\r\n'),
    );
    expect(h.get('A')).toBe('no-space');
    expect(h.get('B')).toBe('three');
    expect(h.get('C')).toBe('tabs');
    expect(h.get('Url')).toBe('nats://h:4222');
  });

  it('decodes an empty value', () => {
    expect(MsgHeaders.decode(block('NATS/1.0\r\nEmpty:\r\n\r\n')).getAll('Empty')).toEqual(['']);
  });

  it('skips lines with an empty name, no colon or whitespace before the colon', () => {
    const h = MsgHeaders.decode(
      block('NATS/1.0\r\n: nameless\r\nno colon here\r\nBad Name: x\r\nGood: yes\r\n\r\n'),
    );
    expect(h.toJSON()).toEqual({ Good: ['yes'] });
  });

  it('decodes UTF-8 values', () => {
    expect(MsgHeaders.decode(block('NATS/1.0\r\nName: grüße 😀\r\n\r\n')).get('name')).toBe(
      'grüße 😀',
    );
  });

  it('decodes a header block that is a view into a larger buffer (as the parser hands it out)', () => {
    const hdr = 'NATS/1.0 409 Message Size Exceeds MaxBytes\r\nX-Test: 1\r\n\r\n';
    const frame = Buffer.from(
      `PING\r\nHMSG a.b 1 _INBOX.r ${hdr.length} ${hdr.length + 5}\r\n${hdr}hello\r\n`,
    );
    const decoded: MsgHeaders[] = [];
    const parser = new Parser({
      onMsg: (_s, _sid, _r, headers) => {
        if (headers) decoded.push(MsgHeaders.decode(headers));
      },
      onInfo: () => undefined,
      onPing: () => undefined,
      onPong: () => undefined,
      onOk: () => undefined,
      onErr: () => undefined,
    });
    parser.parse(frame);
    expect(decoded).toHaveLength(1);
    expect(decoded[0].status).toBe(409);
    expect(decoded[0].description).toBe('Message Size Exceeds MaxBytes');
    expect(decoded[0].toJSON()).toEqual({ 'X-Test': ['1'] });
  });
});
