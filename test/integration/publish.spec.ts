// publish() and Msg against a real nats-server: reply subjects, headers, payload helpers,
// subject validation, coalesced writes and stats().
import {
  connect,
  InvalidOptionError,
  InvalidSubjectError,
  type Msg,
  MsgHeaders,
  type NatsConnection,
  NatsError,
  NoReplySubjectError,
  type Status,
} from '../../lib/core/index.js';
import { type NatsServerHandle, startServer, stopAllServers } from '../support/index.js';
import { Connections, rejection, take, thrown, waitUntil } from './core-helpers.js';

let server: NatsServerHandle;
const conns = new Connections();
let pub: NatsConnection;
let sub: NatsConnection;

beforeAll(async () => {
  server = await startServer();
});
beforeEach(async () => {
  pub = await conns.connect({ servers: server.url });
  sub = await conns.connect({ servers: server.url });
});
afterEach(() => conns.closeAll());
afterAll(stopAllServers);

describe('publish()', () => {
  it('delivers string, binary and empty payloads', async () => {
    const s = sub.subscribe('pub.payload');
    await sub.flush();
    expect(pub.publish('pub.payload', 'héllo')).toBeUndefined();
    pub.publish('pub.payload', new Uint8Array([0, 1, 2, 255]));
    pub.publish('pub.payload');
    pub.publish('pub.payload', null);
    const [text, bin, empty, nul] = await take(s, 4);
    expect(text.string()).toBe('héllo');
    expect(text.data).toBeInstanceOf(Uint8Array);
    expect(text.data).toEqual(new Uint8Array(Buffer.from('héllo')));
    expect([...bin.data]).toEqual([0, 1, 2, 255]);
    expect(empty.data.length).toBe(0);
    expect(empty.string()).toBe('');
    expect(nul.data.length).toBe(0);
  });

  it('gives the message its subject, sid, reply and JSON helpers', async () => {
    const s = sub.subscribe('pub.meta.*');
    await sub.flush();
    pub.publish('pub.meta.one', JSON.stringify({ a: 1, b: ['x'] }), { reply: 'pub.answer.here' });
    const msg = await s.nextMsg();
    expect(msg.subject).toBe('pub.meta.one');
    expect(msg.sid).toBe(s.sid);
    expect(msg.reply).toBe('pub.answer.here');
    expect(msg.json<{ a: number; b: string[] }>()).toEqual({ a: 1, b: ['x'] });
    expect(msg.hasHeaders).toBe(false);
    expect(msg.headers).toBeUndefined();
    expect(() => msg.json()).not.toThrow();
  });

  it('answers through respond() on the reply subject, with headers', async () => {
    const replies = pub.subscribe('pub.replies');
    const s = sub.subscribe('pub.ask');
    await Promise.all([pub.flush(), sub.flush()]);
    pub.publish('pub.ask', 'q', { reply: 'pub.replies' });
    const req = await s.nextMsg();
    req.respond('a', { headers: { 'X-Answer': 'yes' } });
    const answer = await replies.nextMsg();
    expect(answer.string()).toBe('a');
    expect(answer.headers?.get('x-answer')).toBe('yes');
  });

  it('throws NoReplySubjectError from respond() without a reply, and keeps working', async () => {
    const s = sub.subscribe('pub.noreply');
    await sub.flush();
    pub.publish('pub.noreply', 'one');
    pub.publish('pub.noreply', 'two');
    const msg = await s.nextMsg();
    expect(msg.reply).toBe('');
    const err = thrown(() => msg.respond('x'));
    expect(err).toBeInstanceOf(NoReplySubjectError);
    expect((err as NoReplySubjectError).code).toBe('NO_REPLY_SUBJECT');
    expect((await s.nextMsg()).string()).toBe('two');
    expect(sub.isConnected).toBe(true);
  });

  it('round-trips multi-value, case-preserved headers through the server', async () => {
    const s = sub.subscribe('pub.headers');
    await sub.flush();
    const h = new MsgHeaders();
    h.set('X-CamelCase', 'Value With Spaces');
    h.append('X-Multi', 'one');
    h.append('X-Multi', 'two');
    h.append('x-multi', 'three');
    pub.publish('pub.headers', 'body', { headers: h });
    pub.publish('pub.headers', 'plain', { headers: { 'Trace-Id': 'abc', List: ['1', '2'] } });
    const [m1, m2] = await take(s, 2);
    expect(m1.hasHeaders).toBe(true);
    expect(m1.string()).toBe('body');
    const got = m1.headers!;
    expect(got.keys()).toEqual(['X-CamelCase', 'X-Multi']);
    expect(got.get('x-camelcase')).toBe('Value With Spaces');
    expect(got.getAll('X-MULTI')).toEqual(['one', 'two', 'three']);
    expect(got.has('x-multi')).toBe(true);
    expect(got.status).toBe(0);
    expect(m1.header).toBe(m1.headers);
    expect(m2.headers!.toJSON()).toEqual({ 'Trace-Id': ['abc'], List: ['1', '2'] });
  });

  it('throws InvalidOptionError for a header that cannot go on the wire, sending nothing', async () => {
    const s = sub.subscribe('pub.badheader');
    await sub.flush();
    const err = thrown(() => pub.publish('pub.badheader', 'x', { headers: { 'Bad Name': 'v' } }));
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as InvalidOptionError).code).toBe('INVALID_OPTION');
    const err2 = thrown(() =>
      pub.publish('pub.badheader', 'x', { headers: { A: 'line\r\nX: y' } }),
    );
    expect((err2 as InvalidOptionError).code).toBe('INVALID_OPTION');
    pub.publish('pub.badheader', 'good');
    expect((await s.nextMsg()).string()).toBe('good');
    expect(s.delivered).toBe(1);
  });
});

describe('subject validation', () => {
  it.each(['', 'foo bar', 'foo..bar', '.foo', 'foo.', 'foo.*', 'foo.>', '>', 'a\tb', 'a\r\nb'])(
    'throws InvalidSubjectError synchronously for %j and sends nothing',
    async (subject) => {
      const all: Msg[] = [];
      sub.subscribe('>', { callback: (m) => void all.push(m) });
      await sub.flush();
      const before = pub.stats().outMsgs;
      const err = thrown(() => pub.publish(subject, 'bad'));
      expect(err).toBeInstanceOf(InvalidSubjectError);
      expect((err as InvalidSubjectError).code).toBe('INVALID_SUBJECT');
      expect(pub.stats().outMsgs).toBe(before);
      pub.publish('valid.after', 'good');
      await pub.flush();
      await waitUntil(() => all.length > 0);
      await sub.flush();
      expect(all.map((m) => `${m.subject}:${m.string()}`)).toEqual(['valid.after:good']);
      expect(pub.isConnected).toBe(true);
    },
  );

  it('rejects an invalid reply subject with InvalidSubjectError', async () => {
    const err = thrown(() => pub.publish('ok', 'x', { reply: 'bad reply' }));
    expect(err).toBeInstanceOf(InvalidSubjectError);
    expect((err as InvalidSubjectError).code).toBe('INVALID_SUBJECT');
    const err2 = thrown(() => pub.publish('ok', 'x', { reply: 'inbox.*' }));
    expect(err2).toBeInstanceOf(InvalidSubjectError);
    await pub.flush();
    expect(pub.isConnected).toBe(true);
  });
});

describe('coalesced writes', () => {
  it('delivers 10,000 synchronous publishes complete and in order', async () => {
    const n = 10_000;
    const got: number[] = [];
    sub.subscribe('pub.order', { callback: (m) => void got.push(Number(m.string())) });
    await sub.flush();
    for (let i = 0; i < n; i++) pub.publish('pub.order', String(i));
    await pub.flush();
    await waitUntil(() => got.length >= n, 5000, `${n} messages`);
    await sub.flush();
    expect(got.length).toBe(n);
    expect(got.every((v, i) => v === i)).toBe(true);
  });

  it('keeps publishes and subscriptions from one tick in order on the wire', async () => {
    // SUB, PUB and UNSUB written in the same tick must reach the server in call order.
    const s = pub.subscribe('pub.same.tick');
    pub.publish('pub.same.tick', 'a');
    pub.publish('pub.same.tick', 'b');
    s.unsubscribe(2);
    pub.publish('pub.same.tick', 'c');
    await pub.flush();
    const msgs = await take(s, 2);
    expect(msgs.map((m) => m.string())).toEqual(['a', 'b']);
    await s.closed;
    expect(pub.stats().inMsgs).toBe(2);
  });
});

describe('stats()', () => {
  it('counts messages and bytes in and out, headers included', async () => {
    const nc = await conns.connect({ servers: server.url });
    expect(nc.stats()).toEqual({ inMsgs: 0, outMsgs: 0, inBytes: 0, outBytes: 0, reconnects: 0 });
    const s = nc.subscribe('pub.stats');
    nc.publish('pub.stats', '12345');
    nc.publish('pub.stats', 'abc');
    const h = new MsgHeaders({ A: 'b' });
    const headerBytes = h.encode().length;
    nc.publish('pub.stats', 'xy', { headers: h });
    await take(s, 3);
    expect(nc.stats()).toEqual({
      inMsgs: 3,
      outMsgs: 3,
      inBytes: 10 + headerBytes,
      outBytes: 10 + headerBytes,
      reconnects: 0,
    });
  });
});

// Invalid and unusual inputs (payload types, subjects, headers, connect options): typed errors, and
// the connection stays up.
describe('inputs: payloads, subjects, headers and connect options', () => {
  let server: NatsServerHandle;
  const conns = new Connections();
  let nc: NatsConnection;
  let sub: NatsConnection;
  let events: Status[];

  beforeAll(async () => {
    server = await startServer({ monitor: true });
  });
  beforeEach(async () => {
    events = [];
    nc = await conns.connect({ servers: server.url });
    sub = await conns.connect({ servers: server.url });
    void (async () => {
      for await (const s of nc.status()) events.push(s);
    })();
  });
  afterEach(() => conns.closeAll());

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  function caught(fn: () => unknown): unknown {
    try {
      fn();
    } catch (e) {
      return e;
    }
    return 'did not throw';
  }

  function describeErr(e: unknown): string {
    if (e === 'did not throw') return e;
    const err = e as NatsError;
    return `${err?.constructor?.name}/${err?.code ?? 'no code'}`;
  }

  /** Asserts the connection still carries messages and was not dropped. */
  async function stillWorks(): Promise<void> {
    const s = sub.subscribe('inputs.alive');
    await sub.flush();
    nc.publish('inputs.alive', 'alive');
    await nc.flush();
    expect((await s.nextMsg(1000)).string()).toBe('alive');
    s.unsubscribe();
    expect(events.filter((e) => e.type === 'disconnect')).toEqual([]);
  }

  describe('payload types', () => {
    it.each([
      ['a number', 42],
      ['a plain object', { a: 1 }],
      ['an ArrayBuffer', new ArrayBuffer(4)],
      ['a boolean', true],
    ])('refuses %s as data with a NatsError and keeps working', async (_what, data) => {
      const first = caught(() => nc.publish('inputs.data', data as unknown as string));
      // And again through the cached-prefix path (the subject is now seen twice).
      nc.publish('inputs.data', 'ok');
      const second = caught(() => nc.publish('inputs.data', data as unknown as string));
      expect([describeErr(first), describeErr(second)]).toEqual([
        'InvalidOptionError/INVALID_OPTION',
        'InvalidOptionError/INVALID_OPTION',
      ]);
      await stillWorks();
    });

    it('refuses a non-Uint8Array typed array instead of sending garbage (Uint16Array)', async () => {
      const s = sub.subscribe('inputs.u16');
      await sub.flush();
      const data = new Uint16Array([0x4142, 0x4344]);
      const err = caught(() => nc.publish('inputs.u16', data as unknown as Uint8Array));
      if (err === 'did not throw') {
        // Accepted: then the bytes must be the array's bytes.
        const m = await s.nextMsg(1000);
        expect(Buffer.from(m.data)).toEqual(Buffer.from(data.buffer));
      } else {
        expect(err).toBeInstanceOf(NatsError);
      }
      await stillWorks();
    });
  });

  describe('subjects', () => {
    it.each([
      ['a number', 123],
      ['undefined', undefined],
      ['null', null],
      ['an object', { toString: () => 'a.b' }],
    ])(
      'refuses %s as a subject with InvalidSubjectError (publish and subscribe)',
      async (_w, s) => {
        expect(caught(() => nc.publish(s as unknown as string, 'x'))).toBeInstanceOf(
          InvalidSubjectError,
        );
        expect(caught(() => nc.publish(s as unknown as string, 'x'))).toBeInstanceOf(
          InvalidSubjectError,
        );
        expect(caught(() => nc.subscribe(s as unknown as string))).toBeInstanceOf(
          InvalidSubjectError,
        );
        await expect(nc.request(s as unknown as string, 'x')).rejects.toBeInstanceOf(
          InvalidSubjectError,
        );
        await stillWorks();
      },
    );

    it.each(['', 'a b', 'a\tb', 'a.b c'])('refuses queue group %j', async (q) => {
      expect(caught(() => nc.subscribe('inputs.q', { queue: q }))).toBeInstanceOf(
        InvalidSubjectError,
      );
      await stillWorks();
    });

    it('refuses (or survives) a publish subject longer than the server control line', async () => {
      const got: string[] = [];
      const s = sub.subscribe('inputs.around', { callback: (m) => void got.push(m.string()) });
      await sub.flush();
      nc.publish('inputs.around', 'before');
      const long = 'a'.repeat(5000);
      const err = caught(() => nc.publish(long, 'x'));
      nc.publish('inputs.around', 'after');
      if (err !== 'did not throw') expect(err).toBeInstanceOf(InvalidSubjectError);
      await nc.flush().catch(() => undefined);
      await sleep(200);
      await sub.flush();
      s.unsubscribe();
      expect({ err: describeErr(err), got }).toEqual({
        err: 'InvalidSubjectError/INVALID_SUBJECT',
        got: ['before', 'after'],
      });
      await stillWorks();
    });

    it('does not fall into a reconnect loop after subscribing to an overlong subject', async () => {
      const long = 'b'.repeat(5000);
      const err = caught(() => nc.subscribe(long));
      if (err !== 'did not throw') {
        expect(err).toBeInstanceOf(NatsError);
      } else {
        await sleep(1500);
      }
      const disconnects = events.filter((e) => e.type === 'disconnect').length;
      const close = events.find((e) => e.type === 'close') as { error?: Error } | undefined;
      expect({ disconnects, isClosed: nc.isClosed, closeError: close?.error?.message }).toEqual({
        disconnects: 0,
        isClosed: false,
        closeError: undefined,
      });
    });
  });

  describe('non-ASCII subjects', () => {
    it('round-trips a UTF-8 subject and reply subject (cached prefix path too)', async () => {
      const s = sub.subscribe('inputs.ünï.日本');
      await sub.flush();
      for (let i = 0; i < 3; i++) nc.publish('inputs.ünï.日本', `m${i}`, { reply: 'réply.✓' });
      const got = await take(s, 3);
      expect(got.map((m) => [m.subject, m.reply, m.string()])).toEqual([
        ['inputs.ünï.日本', 'réply.✓', 'm0'],
        ['inputs.ünï.日本', 'réply.✓', 'm1'],
        ['inputs.ünï.日本', 'réply.✓', 'm2'],
      ]);
      await stillWorks();
    });
  });

  describe('headers round trip', () => {
    it('keeps multi-value, empty, unicode values and case-insensitive lookups', async () => {
      const s = sub.subscribe('inputs.h');
      await sub.flush();
      const h = new MsgHeaders();
      h.append('X-Multi', 'one');
      h.append('x-multi', 'two');
      h.set('X-Empty', '');
      h.set('X-Uni', 'héllo ✓ 日本');
      h.set('X-Spaces', 'a  b ');
      nc.publish('inputs.h', 'body', { headers: h });
      nc.publish('inputs.h', '', { headers: {} });
      nc.publish('inputs.h', 'arr', { headers: { 'X-Arr': ['1', '2', '3'] } });
      const [m1, m2, m3] = await take(s, 3);
      expect(m1.headers!.getAll('X-MULTI')).toEqual(['one', 'two']);
      expect(m1.headers!.keys()).toContain('X-Multi');
      expect(m1.headers!.get('x-empty')).toBe('');
      expect(m1.headers!.has('X-Empty')).toBe(true);
      expect(m1.headers!.get('X-Uni')).toBe('héllo ✓ 日本');
      expect(m1.headers!.get('X-Spaces')).toBe('a  b ');
      expect(m1.string()).toBe('body');
      expect(m2.hasHeaders).toBe(true);
      expect(m2.headers!.size).toBe(0);
      expect(m2.data.length).toBe(0);
      expect(m3.headers!.getAll('x-arr')).toEqual(['1', '2', '3']);
    });

    it('round-trips a user status line with a description', async () => {
      const s = sub.subscribe('inputs.hs');
      await sub.flush();
      const h = new MsgHeaders({ A: 'b' });
      h.status = 409;
      h.description = 'Custom Conflict';
      nc.publish('inputs.hs', 'x', { headers: h });
      const m = (await take(s, 1))[0];
      expect(m.headers!.status).toBe(409);
      expect(m.headers!.description).toBe('Custom Conflict');
      expect(m.headers!.get('A')).toBe('b');
    });

    it.each([
      ['a non-ASCII name', { 'X-Ü': 'v' }],
      ['a name with a colon', { 'X:Y': 'v' }],
      ['a number value', { X: 5 }],
      ['a value with LF', { X: 'a\nb' }],
      ['an empty name', { '': 'v' }],
    ])('refuses %s with InvalidOptionError and sends nothing', async (_w, init) => {
      const before = nc.stats().outMsgs;
      const err = caught(() =>
        nc.publish('inputs.hbad', 'x', { headers: init as unknown as Record<string, string> }),
      );
      expect(err).toBeInstanceOf(InvalidOptionError);
      expect(nc.stats().outMsgs).toBe(before);
      await stillWorks();
    });
  });

  describe('connect options', () => {
    it.each([
      ['negative timeout', { timeout: -1 }],
      ['zero timeout', { timeout: 0 }],
      ['NaN pingInterval', { pingInterval: Number.NaN }],
      ['string timeout', { timeout: '100' }],
      ['http URL', { servers: 'http://127.0.0.1:4222' }],
      ['garbage URL', { servers: 'nats://:::bad' }],
      ['empty servers', { servers: [] }],
      ['wildcard inboxPrefix', { inboxPrefix: '_INBOX.*' }],
      ['user without pass', { user: 'x' }],
      ['token and nkeySeed', { token: 'a', nkeySeed: 'SUxxx' }],
      ['non-object options', 'nats://127.0.0.1:4222'],
    ])('rejects %s with InvalidOptionError', async (_w, o) => {
      const err = await rejection(connect(o as never));
      expect(describeErr(err)).toBe('InvalidOptionError/INVALID_OPTION');
    });

    // Node fires a timer asked for more than 2^31-1 ms after 1 ms: such durations (Infinity
    // included) would turn into an instant timeout or a PING storm, so they are refused.
    it.each([
      ['timeout: Infinity', { timeout: Infinity }],
      ['pingInterval: 2^32', { pingInterval: 2 ** 32 }],
      ['drainTimeout: Infinity', { drainTimeout: Infinity }],
      ['reconnectTimeWait: 2^31', { reconnectTimeWait: 2 ** 31 }],
    ])('refuses %s (beyond what a Node timer can wait) with InvalidOptionError', async (_w, o) => {
      const err = await rejection(connect({ servers: server.url, ...o }));
      expect(describeErr(err)).toBe('InvalidOptionError/INVALID_OPTION');
      expect((err as Error).message).toMatch(/2147483647/);
    });

    it('uses inboxPrefix for request reply subjects and newInbox()', async () => {
      const c = await conns.connect({ servers: server.url, inboxPrefix: 'my.app.inbox' });
      let reply = '';
      sub.subscribe('inputs.prefix', {
        callback: (m) => {
          reply = m.reply;
          m.respond('pong');
        },
      });
      await sub.flush();
      expect((await c.request('inputs.prefix', 'ping')).string()).toBe('pong');
      expect(reply.startsWith('my.app.inbox.')).toBe(true);
      expect(c.newInbox().startsWith('my.app.inbox.')).toBe(true);
      const replies: string[] = [];
      for await (const m of c.requestMany('inputs.prefix', 'x', { maxMessages: 1 }))
        replies.push(m.string());
      expect(replies).toEqual(['pong']);
      expect(reply.startsWith('my.app.inbox.')).toBe(true);
    });

    it('noEcho: does not receive its own publishes, others do', async () => {
      const c = await conns.connect({ servers: server.url, noEcho: true });
      const own = c.subscribe('inputs.echo');
      const other = sub.subscribe('inputs.echo');
      await c.flush();
      await sub.flush();
      c.publish('inputs.echo', 'x');
      await c.flush();
      expect((await other.nextMsg(1000)).string()).toBe('x');
      await expect(own.nextMsg(100)).rejects.toBeInstanceOf(NatsError);
    });

    it('keeps working when onError itself throws', async () => {
      const c = await conns.connect({
        servers: server.url,
        onError: () => {
          throw new Error('handler boom');
        },
      });
      let n = 0;
      c.subscribe('inputs.onerr', {
        callback: () => {
          n++;
          throw new Error('cb boom');
        },
      });
      await c.flush();
      for (let i = 0; i < 3; i++) sub.publish('inputs.onerr', 'x');
      await sub.flush();
      await waitUntil(() => n === 3);
      await c.flush();
      expect(c.isConnected).toBe(true);
    });
  });
});
