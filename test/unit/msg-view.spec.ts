// The messages that wrap a core Msg (JetStream messages, service requests) show its fields by
// reading the Msg at every access, never by copying them (no network).
import { MsgView, type NatsConnection } from '../../lib/core/internal.js';
import { Msg, type Responder } from '../../lib/core/messages/msg.js';
import { JsMsg } from '../../lib/jetstream/index.js';
import { ServiceMsg } from '../../lib/services/internal.js';

const noResponder: Responder = { respondTo: () => undefined };
const nc = {} as NatsConnection;
const recorder = { error: () => undefined, done: () => undefined };
const fields = ['subject', 'sid', 'reply', 'data', 'headers', 'header'] as const;

/** A message whose headers and payload are views into one large read chunk. */
function inChunk(): Msg {
  const chunk = Buffer.alloc(64 * 1024, 0x2e);
  const headers = Buffer.from('NATS/1.0\r\nA: b\r\n\r\n');
  headers.copy(chunk, 100);
  chunk.write('{"n":1}', 100 + headers.length);
  const raw = chunk.subarray(100, 100 + headers.length);
  const data = chunk.subarray(100 + headers.length, 100 + headers.length + 7);
  return new Msg('orders.1', 7, '$JS.ACK.S.C.1.2.3.1700000000000000000.0', data, raw, noResponder);
}

describe.each([
  ['JsMsg', (msg: Msg): MsgView => new JsMsg(msg, nc)],
  ['ServiceMsg', (msg: Msg): MsgView => new ServiceMsg(msg, recorder, 0)],
])('%s reads its Msg through', (_name, wrap) => {
  it('shows the fields of the Msg', () => {
    const msg = inChunk();
    const view = wrap(msg);
    expect(view).toBeInstanceOf(MsgView);
    for (const field of fields) expect(view[field]).toBe(msg[field]);
    expect(view.headers?.get('A')).toBe('b');
    expect(view.header).toBe(view.headers);
    expect(view.json()).toEqual({ n: 1 });
    expect(view.string()).toBe('{"n":1}');
  });

  it('copies nothing: a payload that detach() replaced later is the one it shows', () => {
    const msg = inChunk();
    const view = wrap(msg);
    const before = view.data;
    msg.detach();
    expect(msg.data).not.toBe(before);
    expect(view.data).toBe(msg.data);
    expect(view.string()).toBe('{"n":1}');
    for (const field of fields) expect(Object.keys(view)).not.toContain(field);
  });

  it('leaves decoding the headers to the Msg, once, on first access', () => {
    const msg = inChunk();
    const view = wrap(msg);
    const headers = view.headers;
    expect(headers).toBeDefined();
    expect(msg.headers).toBe(headers);
    expect(view.headers).toBe(headers);
  });

  it('has read-only fields', () => {
    const view = wrap(inChunk()) as unknown as Record<string, unknown>;
    expect(() => {
      view.data = new Uint8Array(0);
    }).toThrow(TypeError);
  });
});
