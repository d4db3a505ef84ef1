// The bookkeeping of consume()'s pulls, without a server: what the outstanding pulls may still
// deliver (PullLedger), what a status message on a pull inbox means (pull-status), and the
// priority-group members of pulls with their checks and the pin (priority).
import {
  ConsumerNotFoundError,
  FeatureNotSupportedError,
  InvalidOptionError,
  JetStreamApiError,
} from '../../lib/core/index.js';
import { Msg, type Responder } from '../../lib/core/messages/msg.js';
import { PullLedger } from '../../lib/jetstream/pull-ledger.js';
import {
  checkPriorityOptions,
  Pin,
  PriorityGroupError,
  priorityMembers,
} from '../../lib/jetstream/priority.js';
import { msgSize, pullRequest, pullStatus, statusError } from '../../lib/jetstream/pull-status.js';

const noResponder: Responder = { respondTo: () => undefined };
const ACK = '$JS.ACK.S.C.1.10.4.1700000000000000000.0';
const INBOX = '_INBOX.abc.1';

/** A message as the parser hands it out: `head` is the header block without the final CRLF. */
function wire(subject: string, reply: string, head: string | null, data = ''): Msg {
  const raw = head === null ? null : Buffer.from(`${head}\r\n\r\n`);
  return new Msg(subject, 1, reply, Buffer.from(data), raw, noResponder);
}

/** A status message on a pull's inbox: `NATS/1.0 <line>` plus header lines. */
const status = (line: string, ...headers: string[]): Msg =>
  wire(INBOX, '', [`NATS/1.0 ${line}`, ...headers].join('\r\n'));

describe('PullLedger', () => {
  it('sums what the outstanding pulls may still deliver, and forgets ended ones', () => {
    const l = new PullLedger(true);
    expect([l.msgs, l.bytes]).toEqual([0, 0]);
    l.add('a', 10, 1000);
    l.add('b', 5, 500);
    expect([l.msgs, l.bytes]).toEqual([15, 1500]);
    l.end('a');
    expect([l.msgs, l.bytes]).toEqual([5, 500]);
    l.end('unknown'); // a status for a pull already ended
    expect(l.msgs).toBe(5);
    l.clear();
    expect([l.msgs, l.bytes]).toEqual([0, 0]);
  });

  it('counts deliveries against the pulls round-robin, in sending order', () => {
    const l = new PullLedger(false);
    l.add('a', 2, 0);
    l.add('b', 3, 0);
    l.delivered(0); // a: 1 left, to the back
    l.delivered(0); // b: 2 left
    l.delivered(0); // a: done
    l.end('b'); // b's status: a had none left, so it must be b that answered
    expect(l.msgs).toBe(0);
    l.add('c', 1, 0);
    l.delivered(0);
    expect(l.msgs).toBe(0);
    l.delivered(0); // a message for no known pull (one already expired): ignored
    expect([l.msgs, l.bytes]).toEqual([0, 0]);
  });

  it('ends a pull once its byte budget is spent, like the server', () => {
    const l = new PullLedger(true);
    l.add('a', 100, 250);
    l.delivered(100);
    expect([l.msgs, l.bytes]).toEqual([99, 150]);
    l.delivered(200); // more than is left: the budget is spent, never negative
    expect([l.msgs, l.bytes]).toEqual([0, 0]);
  });

  it('without a byte budget, counts messages only', () => {
    const l = new PullLedger(false);
    l.add('a', 3, 0);
    l.delivered(500);
    l.delivered(500);
    expect([l.msgs, l.bytes]).toEqual([1, 0]);
  });

  it('expires a pull silent for two checks after the one that last heard of it', () => {
    const l = new PullLedger(false);
    l.add('a', 1, 0);
    l.add('b', 1, 0);
    expect(l.expire()).toBe(false); // first check: both were just sent
    l.heard('b');
    expect(l.expire()).toBe(false);
    expect(l.expire()).toBe(true); // a: silent for the two checks after the first
    expect(l.msgs).toBe(1);
    expect(l.expire()).toBe(true); // b: silent for the two checks after the one that heard it
    expect(l.msgs).toBe(0);
    l.heard('b'); // a heartbeat for a pull already gone: ignored
    expect(l.msgs).toBe(0);
  });

  it('counts a check that found messages flowing as one that heard of every pull', () => {
    const l = new PullLedger(false);
    l.add('a', 1, 0);
    l.allAlive();
    expect(l.expire()).toBe(false);
    expect(l.expire()).toBe(true);
  });
});

describe('pullStatus()', () => {
  it('is undefined for a delivered message and for a message without a status', () => {
    expect(pullStatus(wire('orders.1', ACK, null, 'x'))).toBeUndefined();
    expect(pullStatus(wire('orders.1', ACK, 'NATS/1.0\r\nA: b'))).toBeUndefined();
    expect(pullStatus(wire(INBOX, '', null))).toBeUndefined();
    expect(pullStatus(wire(INBOX, '', 'NATS/1.0\r\nA: b'))).toBeUndefined();
  });

  it.each([
    ['404 No Messages', 404],
    ['408 Request Timeout', 408],
    ['408 Requests Pending', 408],
    ['408 Interest Expired', 408],
    ['409 Leadership Change', 409],
    ['409 Batch Completed', 409],
    ['409 Message Size Exceeds MaxBytes', 409],
  ])('%s ends the pull only', (line, code) => {
    expect(pullStatus(status(line))).toEqual({
      code,
      description: line.slice(4),
      terminal: false,
      warning: false,
      maxBatch: undefined,
      pinMismatch: false,
      pendingMsgs: 0,
      pendingBytes: 0,
    });
  });

  it.each([
    ['409 Exceeded MaxRequestBatch of 5', 5],
    ['409 Exceeded MaxRequestExpires of 1s', undefined],
    ['409 Exceeded MaxRequestMaxBytes of 1024', undefined],
    ['409 Exceeded MaxWaiting', undefined],
  ])('%s is a warning (a consumer limit)', (line, maxBatch) => {
    const s = pullStatus(status(line))!;
    expect([s.terminal, s.warning, s.maxBatch]).toEqual([false, true, maxBatch]);
  });

  it.each([
    '409 Consumer Deleted',
    '409 Consumer is push based',
    '400 Bad Request',
    '400 Bad Request - invalid json',
    '503',
  ])('%s is terminal', (line) => {
    const s = pullStatus(status(line))!;
    expect([s.terminal, s.warning]).toEqual([true, false]);
  });

  it('reads what an expired pull left unused from Nats-Pending-Messages and -Bytes', () => {
    const s = pullStatus(
      status('408 Request Timeout', 'Nats-Pending-Messages: 7', 'Nats-Pending-Bytes: 4096'),
    )!;
    expect([s.code, s.pendingMsgs, s.pendingBytes]).toEqual([408, 7, 4096]);
    const big = pullStatus(
      status(
        '409 Message Size Exceeds MaxBytes',
        'Nats-Pending-Messages: 1',
        'Nats-Pending-Bytes: 100',
      ),
    )!;
    expect([big.pendingMsgs, big.pendingBytes]).toEqual([1, 100]);
  });

  it('reads heartbeats, with the pending counts the server adds to them', () => {
    expect(pullStatus(status('100 Idle Heartbeat'))).toMatchObject({
      code: 100,
      description: 'Idle Heartbeat',
      terminal: false,
      warning: false,
      pendingMsgs: 0,
      pendingBytes: 0,
    });
    const hb = pullStatus(
      status('100 Idle Heartbeat', 'Nats-Pending-Messages: 3', 'Nats-Pending-Bytes: 300'),
    )!;
    expect([hb.code, hb.pendingMsgs, hb.pendingBytes]).toEqual([100, 3, 300]);
  });

  it('counts pending headers it cannot read as 0', () => {
    const s = pullStatus(
      status('408 Request Timeout', 'Nats-Pending-Messages: many', 'Nats-Pending-Bytes:'),
    )!;
    expect([s.pendingMsgs, s.pendingBytes]).toEqual([0, 0]);
  });

  it('matches descriptions regardless of case', () => {
    expect(pullStatus(status('409 consumer deleted'))!.terminal).toBe(true);
    expect(pullStatus(status('409 exceeded maxrequestbatch of 2'))!.maxBatch).toBe(2);
  });
});

describe('statusError()', () => {
  it('is a ConsumerNotFoundError for a deleted consumer', () => {
    const err = statusError(pullStatus(status('409 Consumer Deleted'))!);
    expect(err).toBeInstanceOf(ConsumerNotFoundError);
    expect(err.message).toBe('pull ended: Consumer Deleted');
    expect([err.status, err.apiCode]).toEqual([409, 0]);
  });

  it('says "refused" for a warning and "ended" otherwise, with the status code', () => {
    const warn = statusError(pullStatus(status('409 Exceeded MaxWaiting'))!);
    expect(warn).toBeInstanceOf(JetStreamApiError);
    expect(warn).not.toBeInstanceOf(ConsumerNotFoundError);
    expect([warn.message, warn.status]).toEqual(['pull refused: Exceeded MaxWaiting', 409]);
    const bad = statusError(pullStatus(status('400 Bad Request'))!);
    expect([bad.message, bad.status]).toEqual(['pull ended: Bad Request', 400]);
  });

  it('names the code when the status has no description', () => {
    expect(statusError(pullStatus(status('503'))!).message).toBe('pull ended: status 503');
  });
});

describe('pullRequest()', () => {
  it('converts durations to nanoseconds and leaves unset limits out', () => {
    expect(pullRequest(100, 30_000)).toEqual({ batch: 100, expires: 30_000_000_000 });
    expect(pullRequest(10, 1000, 0, 0)).toEqual({ batch: 10, expires: 1_000_000_000 });
    expect(pullRequest(10, 1000, 2048, 500)).toEqual({
      batch: 10,
      expires: 1_000_000_000,
      max_bytes: 2048,
      idle_heartbeat: 500_000_000,
    });
  });
});

describe('msgSize()', () => {
  it('counts subject, reply, header block and payload, as the byte budget does', () => {
    const plain = wire('orders.1', ACK, null, 'hello');
    expect(msgSize(plain)).toBe('orders.1'.length + ACK.length + 5);
    const head = 'NATS/1.0\r\nNats-Msg-Id: 42';
    const withHeaders = wire('orders.1', ACK, head, 'hello');
    expect(msgSize(withHeaders)).toBe(
      'orders.1'.length + ACK.length + Buffer.byteLength(`${head}\r\n\r\n`) + 5,
    );
  });

  it('counts payload bytes, not characters', () => {
    expect(msgSize(wire('s', '', null, 'é€'))).toBe(1 + 2 + 3);
  });

  // nats-server counts the stored header block as it is (len(hdr)), so a block not in canonical
  // form ('A:b', no space) counts at its wire length, not as the decoded headers encoded again.
  it('counts a non-canonical header block (e.g. "A:b") at its wire length', () => {
    const head = 'NATS/1.0\r\nA:b\r\nodd line';
    expect(msgSize(wire('s', '', head, 'x'))).toBe(1 + Buffer.byteLength(`${head}\r\n\r\n`) + 1);
  });

  it('counts subject and reply in UTF-8 bytes', () => {
    expect(msgSize(wire('ü.é', 'r', null, ''))).toBe(5 + 1);
  });
});

describe('priority groups on pulls', () => {
  const on = (version: string) => ({ info: { version } });
  const pinned = {
    name: 'C',
    config: { priorityGroups: ['g'], priorityPolicy: 'pinned_client' as const },
  };

  it('reads a 423 (either wording) as a pin mismatch, neither terminal nor a warning', () => {
    for (const line of ['423 Nats-Pin-Id mismatch', '423 Nats-Wrong-Pin-Id']) {
      const s = pullStatus(status(line, 'Nats-Pending-Messages: 5', 'Nats-Pending-Bytes: 0'))!;
      expect(s).toMatchObject({ code: 423, pinMismatch: true, terminal: false, warning: false });
      expect(s.pendingMsgs).toBe(5);
    }
    expect(pullStatus(status('408 Request Timeout'))!.pinMismatch).toBe(false);
  });

  it("maps the server's priority-group refusals (400) to PriorityGroupError", () => {
    for (const d of [
      'Bad Request - Priority Group missing',
      'Bad Request - Invalid Priority Group',
      'Bad Request - Not a Overflow Priority consumer',
      'Bad Request - Not a Pinned Client Priority consumer',
    ]) {
      const s = pullStatus(status(`400 ${d}`))!;
      expect(s.terminal).toBe(true);
      const err = statusError(s);
      expect(err).toBeInstanceOf(PriorityGroupError);
      expect([err.code, err.status, err.message]).toEqual([
        'PRIORITY_GROUP',
        400,
        `pull refused: ${d}`,
      ]);
    }
    expect(statusError(pullStatus(status('400 Bad Request'))!)).not.toBeInstanceOf(
      PriorityGroupError,
    );
  });

  it('puts group, min_pending, min_ack_pending, priority and the pin id in the request', () => {
    const members = priorityMembers(
      { group: 'g', minPending: 10, minAckPending: 5, priority: 2 },
      'PIN',
    );
    expect(pullRequest(1, 1000, undefined, undefined, members)).toEqual({
      batch: 1,
      expires: 1_000_000_000,
      group: 'g',
      min_pending: 10,
      min_ack_pending: 5,
      priority: 2,
      id: 'PIN',
    });
    expect(priorityMembers({})).toEqual({});
    expect(priorityMembers({ group: 'g' })).toEqual({ group: 'g' });
  });

  it('keeps the Nats-Pin-Id of delivered messages until a 423 drops it', () => {
    const pin = new Pin();
    pin.observe(wire('s.a', ACK, null, 'x'));
    expect(pin.id).toBeUndefined();
    pin.observe(wire('s.a', ACK, 'NATS/1.0\r\nNats-Pin-Id: ABC'));
    expect(pin.id).toBe('ABC');
    pin.observe(wire('s.a', ACK, 'NATS/1.0\r\nOther: 1'));
    expect(pin.id).toBe('ABC');
    pin.drop();
    expect(pin.id).toBeUndefined();
  });

  it('refuses options the server is too old for, naming the release that has them', () => {
    expect(() => checkPriorityOptions(on('2.10.27'), { group: 'g' })).toThrow(
      FeatureNotSupportedError,
    );
    expect(() => checkPriorityOptions(on('2.10.27'), { minAckPending: 1 })).toThrow(/2\.11\.0/);
    expect(() => checkPriorityOptions(on('2.11.17'), { group: 'g' })).not.toThrow();
    expect(() => checkPriorityOptions(on('2.11.17'), { priority: 1 })).toThrow(/2\.12\.0/);
    expect(() => checkPriorityOptions(on('2.12.15'), { priority: 1 })).not.toThrow();
  });

  it('refuses bad values, and options that do not fit the consumer, before sending', () => {
    const v = on('2.14.10');
    expect(() => checkPriorityOptions(v, { group: 'no spaces' })).toThrow(InvalidOptionError);
    expect(() => checkPriorityOptions(v, { group: 'a'.repeat(17) })).toThrow(InvalidOptionError);
    expect(() => checkPriorityOptions(v, { minPending: 0 })).toThrow(InvalidOptionError);
    expect(() => checkPriorityOptions(v, { priority: 10 })).toThrow(InvalidOptionError);
    expect(() => checkPriorityOptions(v, {}, pinned)).toThrow(PriorityGroupError);
    expect(() => checkPriorityOptions(v, { group: 'h' }, pinned)).toThrow(PriorityGroupError);
    expect(() => checkPriorityOptions(v, { group: 'g', minPending: 1 }, pinned)).toThrow(
      /'overflow'/,
    );
    expect(() => checkPriorityOptions(v, { group: 'g', priority: 1 }, pinned)).toThrow(
      /'prioritized'/,
    );
    expect(() => checkPriorityOptions(v, { group: 'g' }, pinned)).not.toThrow();
    const plain = { name: 'C', config: {} };
    expect(() => checkPriorityOptions(v, {}, plain)).not.toThrow();
    expect(() => checkPriorityOptions(v, { group: 'g' }, plain)).toThrow(PriorityGroupError);
  });
});
