// Parsing of JetStream ack subjects into message metadata (no network).
import { InvalidOptionError } from '../../lib/core/index.js';
import { parseAckSubject } from '../../lib/jetstream/internal.js';

describe('parseAckSubject()', () => {
  it('reads the 9-token form', () => {
    const m = parseAckSubject('$JS.ACK.S.C1.2.17.5.1795699945368146127.3');
    expect(m).toMatchObject({
      stream: 'S',
      consumer: 'C1',
      domain: '',
      accountHash: '',
      numDelivered: 2,
      sequence: { stream: 17, consumer: 5 },
      numPending: 3,
    });
    expect(m.timestampNanos).toBe(1795699945368146127n);
    expect(m.timestamp.getTime()).toBe(1795699945368);
  });

  it('reads the 12-token form with domain and account hash, ignoring extra tokens', () => {
    const m = parseAckSubject(
      '$JS.ACK.hub.ACCHASH.ORDERS.proc.1.42.40.1700000000123456789.0.r4nd0m',
    );
    expect(m).toMatchObject({
      domain: 'hub',
      accountHash: 'ACCHASH',
      stream: 'ORDERS',
      consumer: 'proc',
      numDelivered: 1,
      sequence: { stream: 42, consumer: 40 },
      numPending: 0,
    });
    expect(m.timestamp.toISOString()).toBe('2023-11-14T22:13:20.123Z');
  });

  it('reads the 11-token form and maps the "_" domain to ""', () => {
    const m = parseAckSubject('$JS.ACK._.H.S.C.3.9.8.1000000.7');
    expect(m.domain).toBe('');
    expect(m.accountHash).toBe('H');
    expect(m.numDelivered).toBe(3);
    expect(m.numPending).toBe(7);
    expect(m.timestamp.getTime()).toBe(1);
  });

  it('reads the v2 form nats-server 2.14 sends under js_ack_fc_v2 (11 tokens, "_" domain)', () => {
    const m = parseAckSubject('$JS.ACK._.Dk8aYhCL.ORDERS.worker.2.17.23.1795699945368146127.5');
    expect(m).toMatchObject({
      domain: '',
      accountHash: 'Dk8aYhCL',
      stream: 'ORDERS',
      consumer: 'worker',
      numDelivered: 2,
      sequence: { stream: 17, consumer: 23 },
      numPending: 5,
    });
    expect(m.timestampNanos).toBe(1795699945368146127n);
  });

  it('ignores tokens after the 11th, which the server reserves for extensions', () => {
    const m = parseAckSubject('$JS.ACK.hub.H.S.C.1.2.3.4000000.5.tok.more');
    expect(m).toMatchObject({ domain: 'hub', stream: 'S', sequence: { stream: 2, consumer: 3 } });
    expect(m.numPending).toBe(5);
  });

  it.each([
    ['', 'empty'],
    ['_INBOX.abc.1', 'not an ack subject'],
    ['$JS.ACK.S.C.1.2.3.4', '8 tokens'],
    ['$JS.ACK.D.H.S.C.1.2.3.4', '10 tokens'],
    ['$JS.NAK.S.C.1.2.3.4.5', 'wrong second token'],
    ['$JS.ACK.S.C.x.2.3.4.5', 'non-numeric delivered'],
    ['$JS.ACK.S.C.1.2.3.-4.5', 'negative timestamp'],
    ['$JS.ACK._.H.S.C.1.2.3.4.x', 'non-numeric pending in the v2 form'],
    ['$JS.ACK._.H.S.C.1..3.4.5', 'empty stream sequence in the v2 form'],
  ])('rejects %j (%s)', (reply) => {
    expect(() => parseAckSubject(reply)).toThrow(InvalidOptionError);
  });
});
