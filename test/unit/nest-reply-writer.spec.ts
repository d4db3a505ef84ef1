// The reply writer of ServerNats, without a server: a recording stand-in for the request's
// respond() shows which payload and headers go to which reply subject for each protocol, and
// what happens when a reply cannot be sent as asked.
import {
  ConnectionClosedError,
  MaxPayloadError,
  MsgHeaders,
  type Msg,
} from '../../lib/core/internal.js';
import { ServiceMsg } from '../../lib/services/internal.js';
import { NatsRecord } from '../../lib/nest/nats-record.js';
import { ReplyWriter, type Reply, type ReplyTarget } from '../../lib/nest/server/reply-writer.js';

interface Sent {
  subject: string;
  payload: string;
  headers: Record<string, string> | undefined;
}

/**
 * A request as the writer sees it. Every respond() call is recorded as an attempt; one whose
 * payload is longer than `maxPayload` throws MaxPayloadError, as the connection does, and
 * `fail` makes every call throw that error instead.
 */
function request(opts: { reply?: string; maxPayload?: number; fail?: Error } = {}) {
  const attempts: Sent[] = [];
  const sent: Sent[] = [];
  const msg = {
    subject: 'calc.add',
    reply: opts.reply ?? '_INBOX.r1',
    respond(data?: Uint8Array | string, o?: { headers?: MsgHeaders }) {
      const payload = typeof data === 'string' ? data : new TextDecoder().decode(data);
      const record: Sent = {
        subject: this.reply,
        payload,
        headers: o?.headers ? headerObject(o.headers) : undefined,
      };
      attempts.push(record);
      if (opts.fail) throw opts.fail;
      if (opts.maxPayload !== undefined && payload.length > opts.maxPayload)
        throw new MaxPayloadError(payload.length, opts.maxPayload);
      sent.push(record);
      return undefined;
    },
  };
  return { msg: msg as unknown as Msg & ReplyTarget, attempts, sent };
}

function headerObject(h: MsgHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, values] of h) out[k] = values.join(',');
  return out;
}

function writer() {
  const failures: { subject: string; err: unknown }[] = [];
  const w = new ReplyWriter((subject, err) => failures.push({ subject, err }));
  return { w, failures };
}

/** What a Service API request reports to its endpoint's stats. */
type RequestRecorder = ConstructorParameters<typeof ServiceMsg>[1];

const json = (s: Sent) => JSON.parse(s.payload) as Record<string, unknown>;

/** Exactly one reply went out: an error reply with these headers and this JSON body. */
function expectOneErrorReply(sent: Sent[], code: string, description: string, body: unknown) {
  expect(sent).toHaveLength(1);
  expect(sent[0].headers).toEqual({
    'Nats-Service-Error': description,
    'Nats-Service-Error-Code': code,
  });
  expect(json(sent[0])).toEqual(body);
}

describe('ReplyWriter: plain JSON replies', () => {
  it('sends a value as JSON, without headers, to the reply subject', () => {
    const { w, failures } = writer();
    const r = request({ reply: '_INBOX.abc' });
    w.write(r.msg, { kind: 'value', value: { sum: 3 } });
    expect(r.sent).toEqual([{ subject: '_INBOX.abc', payload: '{"sum":3}', headers: undefined }]);
    expect(failures).toEqual([]);
  });

  it('sends undefined as an empty payload', () => {
    const { w } = writer();
    const r = request();
    w.write(r.msg, { kind: 'value', value: undefined });
    expect(r.sent).toEqual([{ subject: '_INBOX.r1', payload: '', headers: undefined }]);
  });

  it("sends a NatsRecord's data with its headers", () => {
    const { w } = writer();
    const r = request();
    w.write(r.msg, { kind: 'value', value: new NatsRecord(7, new MsgHeaders({ 'x-id': '1' })) });
    expect(r.sent).toEqual([{ subject: '_INBOX.r1', payload: '7', headers: { 'x-id': '1' } }]);
  });

  it('marks a streamed reply that is not the last on a copy of the headers', () => {
    const { w } = writer();
    const r = request();
    const shared = new MsgHeaders({ 'x-id': '1' });
    w.write(r.msg, { kind: 'value', value: new NatsRecord(1, shared), more: true });
    w.write(r.msg, { kind: 'value', value: new NatsRecord(2, shared) });
    expect(r.sent.map((s) => s.headers)).toEqual([
      { 'x-id': '1', 'Nats-Stream': 'more' },
      { 'x-id': '1' },
    ]);
    expect(shared.has('Nats-Stream')).toBe(false);
  });

  it('ends a stream without a value with an empty end marker', () => {
    const { w } = writer();
    const r = request();
    w.write(r.msg, { kind: 'end' });
    expect(r.sent).toEqual([
      { subject: '_INBOX.r1', payload: '', headers: { 'Nats-Stream-End': 'true' } },
    ]);
  });

  it('sends an error as the error headers and its JSON body', () => {
    const { w } = writer();
    const r = request();
    w.write(r.msg, { kind: 'error', error: { statusCode: 404, message: 'no such\nuser' } });
    expectOneErrorReply(r.sent, '404', 'no such user', {
      statusCode: 404,
      message: 'no such\nuser',
    });
  });

  it('sends nothing, and logs nothing, when the request has no reply subject', () => {
    const { w, failures } = writer();
    const r = request({ reply: '' });
    const replies: Reply[] = [
      { kind: 'value', value: 1 },
      { kind: 'value', value: 1n },
      { kind: 'end' },
      { kind: 'error', error: new Error('x') },
      { kind: 'nest', id: '1', response: 1, isDisposed: true },
    ];
    for (const reply of replies) w.write(r.msg, reply);
    expect(r.attempts).toEqual([]);
    expect(failures).toEqual([]);
  });
});

describe("ReplyWriter: Nest's envelope", () => {
  it('sends { id, response } per value and { id, isDisposed } at the end', () => {
    const { w } = writer();
    const r = request();
    w.write(r.msg, { kind: 'nest', id: '9', response: 'a' });
    w.write(r.msg, { kind: 'nest', id: '9', isDisposed: true });
    expect(r.sent.map((s) => s.payload)).toEqual([
      '{"id":"9","response":"a"}',
      '{"id":"9","isDisposed":true}',
    ]);
  });

  it("sends a single result with isDisposed, and a NatsRecord's headers on the message", () => {
    const { w } = writer();
    const r = request();
    const value = new NatsRecord({ n: 1 }, new MsgHeaders({ 'x-id': '2' }));
    w.write(r.msg, { kind: 'nest', id: '9', response: value, isDisposed: true });
    expect(r.sent).toEqual([
      {
        subject: '_INBOX.r1',
        payload: '{"id":"9","response":{"n":1},"isDisposed":true}',
        headers: { 'x-id': '2' },
      },
    ]);
  });

  it('sends an error as { id, err, isDisposed } without error headers', () => {
    const { w } = writer();
    const r = request();
    w.write(r.msg, { kind: 'nest', id: '9', err: { status: 'error' }, isDisposed: true });
    expect(r.sent).toEqual([
      {
        subject: '_INBOX.r1',
        payload: '{"id":"9","err":{"status":"error"},"isDisposed":true}',
        headers: undefined,
      },
    ]);
  });
});

describe('ReplyWriter: replies that cannot be sent as asked', () => {
  it('answers a value that cannot be encoded with one error reply (500)', () => {
    const { w, failures } = writer();
    const r = request();
    w.write(r.msg, { kind: 'value', value: { n: 1n } });
    expect(r.sent).toHaveLength(1);
    expect(r.sent[0].headers?.['Nats-Service-Error-Code']).toBe('500');
    expect(json(r.sent[0])).toMatchObject({ name: 'TypeError' });
    expect(String(json(r.sent[0]).message)).toMatch(/BigInt/);
    expect(failures).toEqual([]);
  });

  it('answers a value over max_payload with a 413 error reply', () => {
    const { w, failures } = writer();
    const r = request({ maxPayload: 200 });
    w.write(r.msg, { kind: 'value', value: 'x'.repeat(500) });
    expect(r.attempts).toHaveLength(2);
    expect(r.sent).toHaveLength(1);
    expect(r.sent[0].headers?.['Nats-Service-Error-Code']).toBe('413');
    expect(json(r.sent[0])).toMatchObject({
      statusCode: 413,
      code: 'MAX_PAYLOAD_EXCEEDED',
      message: expect.stringMatching(/^reply not sent: message size \d+ exceeds/) as unknown,
    });
    expect(failures).toEqual([]);
  });

  it('sends an error whose body cannot be encoded with only its message', () => {
    const { w } = writer();
    const r = request();
    w.write(r.msg, { kind: 'error', error: { statusCode: 400, message: 'bad', big: 1n } });
    expect(r.attempts).toHaveLength(1);
    expect(r.sent[0].headers?.['Nats-Service-Error-Code']).toBe('400');
    expect(json(r.sent[0])).toEqual({ message: 'bad' });
  });

  it('sends an error whose body is too large with its message cut to 1024 characters', () => {
    const { w } = writer();
    const r = request({ maxPayload: 1500 });
    const details = 'd'.repeat(5000);
    w.write(r.msg, { kind: 'error', error: { statusCode: 422, message: 'invalid', details } });
    expect(r.attempts).toHaveLength(2);
    expect(r.sent).toHaveLength(1);
    expect(json(r.sent[0])).toEqual({ message: 'invalid' });
    expect(r.sent[0].headers?.['Nats-Service-Error-Code']).toBe('422');
  });

  it("answers Nest's client with { id, err, isDisposed } when a packet is too large", () => {
    const { w, failures } = writer();
    const r = request({ maxPayload: 300 });
    w.write(r.msg, { kind: 'nest', id: '4', response: 'x'.repeat(1000) });
    expect(r.sent).toHaveLength(1);
    expect(r.sent[0].headers).toBeUndefined();
    expect(json(r.sent[0])).toMatchObject({
      id: '4',
      isDisposed: true,
      err: { code: 'MAX_PAYLOAD_EXCEEDED', name: 'MaxPayloadError' },
    });
    expect(failures).toEqual([]);
  });

  it("answers Nest's client with { id, err, isDisposed } when a packet cannot be encoded", () => {
    const { w } = writer();
    const r = request();
    w.write(r.msg, { kind: 'nest', id: '4', response: 5n, isDisposed: true });
    expect(r.sent).toHaveLength(1);
    expect(json(r.sent[0])).toMatchObject({
      id: '4',
      isDisposed: true,
      err: { name: 'TypeError' },
    });
  });

  it('logs a publish that fails for another reason, without trying a fallback', () => {
    const { w, failures } = writer();
    const closed = new ConnectionClosedError('closed');
    const r = request({ fail: closed });
    w.write(r.msg, { kind: 'value', value: 1 });
    expect(r.attempts).toHaveLength(1);
    expect(failures).toEqual([{ subject: 'calc.add', err: closed }]);
  });

  // The fallback is bounded: each failing reply is tried once, its error reply at most twice
  // (full body, then brief), then it is logged once; the writer never calls itself again.
  it.each<[string, Reply, number]>([
    ['value', { kind: 'value', value: 'v' }, 3],
    ['unencodable value', { kind: 'value', value: 1n }, 2],
    ['end marker', { kind: 'end' }, 3],
    ['error', { kind: 'error', error: new Error('e') }, 2],
    ['unencodable error', { kind: 'error', error: { message: 'm', n: 1n } }, 1],
    ['nest packet', { kind: 'nest', id: '1', response: 'v' }, 2],
    ['unencodable nest packet', { kind: 'nest', id: '1', response: 1n }, 1],
  ])('stops after a bounded number of attempts when nothing fits (%s)', (_, reply, tries) => {
    const { w, failures } = writer();
    const r = request({ maxPayload: -1 });
    w.write(r.msg, reply);
    expect(r.sent).toEqual([]);
    expect(r.attempts).toHaveLength(tries);
    expect(failures).toHaveLength(1);
    expect(failures[0].err).toBeInstanceOf(MaxPayloadError);
  });

  it('logs an error object whose fields throw when read, instead of throwing', () => {
    const { w, failures } = writer();
    const r = request();
    const hostile = {
      get message(): string {
        throw new Error('boom');
      },
    };
    expect(() => w.write(r.msg, { kind: 'error', error: hostile })).not.toThrow();
    expect(r.attempts).toEqual([]);
    expect(failures).toHaveLength(1);
  });
});

describe('ReplyWriter: Service API requests', () => {
  function serviceRequest(opts: { maxPayload?: number } = {}) {
    const core = request(opts);
    const errors: string[] = [];
    const done: number[] = [];
    const recorder: RequestRecorder = {
      error: (text) => errors.push(text),
      done: (ns) => done.push(ns),
    };
    return { ...core, req: new ServiceMsg(core.msg, recorder, 0), errors, done };
  }

  it('sends a value through respond(), counting no error', () => {
    const { w } = writer();
    const s = serviceRequest();
    w.write(s.req, { kind: 'value', value: { ok: true } });
    expect(s.sent).toEqual([{ subject: '_INBOX.r1', payload: '{"ok":true}', headers: undefined }]);
    expect(s.errors).toEqual([]);
    expect(s.done).toHaveLength(1);
  });

  it("sends an error through respondError(), so the endpoint's stats count it", () => {
    const { w } = writer();
    const s = serviceRequest();
    w.write(s.req, { kind: 'error', error: { statusCode: 409, message: 'taken' } });
    expectOneErrorReply(s.sent, '409', 'taken', { statusCode: 409, message: 'taken' });
    expect(s.errors).toEqual(['409:taken']);
  });

  it('counts the 413 that answers a value over max_payload', () => {
    const { w } = writer();
    const s = serviceRequest({ maxPayload: 200 });
    w.write(s.req, { kind: 'value', value: 'x'.repeat(500) });
    expect(s.sent).toHaveLength(1);
    expect(s.sent[0].headers?.['Nats-Service-Error-Code']).toBe('413');
    expect(s.errors).toHaveLength(1);
    expect(s.errors[0]).toMatch(/^413:reply not sent: /);
  });
});
