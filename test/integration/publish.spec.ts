// publish() and Msg against a real nats-server: reply subjects, headers, payload helpers,
// subject validation, coalesced writes and stats().
import {
  InvalidOptionError,
  InvalidSubjectError,
  MsgHeaders,
  NoReplySubjectError,
  type Msg,
  type NatsConnection,
} from '../../lib/core/index.js';
import { startServer, stopAllServers, type NatsServerHandle } from '../support/index.js';
import { Connections, take, thrown, waitUntil } from './core-helpers.js';

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
    expect(text!.string()).toBe('héllo');
    expect(text!.data).toBeInstanceOf(Uint8Array);
    expect(text!.data).toEqual(new Uint8Array(Buffer.from('héllo')));
    expect([...bin!.data]).toEqual([0, 1, 2, 255]);
    expect(empty!.data.length).toBe(0);
    expect(empty!.string()).toBe('');
    expect(nul!.data.length).toBe(0);
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
    expect(m1!.hasHeaders).toBe(true);
    expect(m1!.string()).toBe('body');
    const got = m1!.headers!;
    expect(got.keys()).toEqual(['X-CamelCase', 'X-Multi']);
    expect(got.get('x-camelcase')).toBe('Value With Spaces');
    expect(got.getAll('X-MULTI')).toEqual(['one', 'two', 'three']);
    expect(got.has('x-multi')).toBe(true);
    expect(got.status).toBe(0);
    expect(m1!.header).toBe(m1!.headers);
    expect(m2!.headers!.toJSON()).toEqual({ 'Trace-Id': ['abc'], List: ['1', '2'] });
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
