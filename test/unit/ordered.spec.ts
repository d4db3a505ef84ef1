// The decisions of an ordered consumer, without a server: which message is in order, when a gap or
// a heartbeat recreates the consumer and where the new one starts (OrderedSequence), and whether a
// reset runs now, follows the running one or is ignored (OrderedLifecycle).
import { AssertionError } from 'node:assert';
import {
  ORDERED_MOVES,
  OrderedLifecycle,
  OrderedSequence,
  rfc3339Nanos,
  type OrderedStateName,
  type SequencedMsg,
} from '../../lib/jetstream/ordered-sequence.js';

const SEC = 1_000_000_000n;

/** A delivered message: consumer and stream sequence, stored at `stamp` (ns), with `pending` left. */
function msg(
  consumer: number,
  stream: number,
  opts: { stamp?: bigint; pending?: number; rollup?: boolean } = {},
): SequencedMsg {
  return {
    metadata: {
      sequence: { consumer, stream },
      timestampNanos: opts.stamp ?? 100n * SEC,
      numPending: opts.pending ?? 0,
    },
    headers: opts.rollup ? { get: (k) => (k === 'Nats-Rollup' ? 'sub' : undefined) } : undefined,
  };
}

/** A sequence whose first incarnation was created (at 50 s) and delivered stream 1..n in order. */
function reading(n: number, purgeMaySkip = false): OrderedSequence {
  const s = new OrderedSequence({ deliverPolicy: 'all' });
  s.begin(purgeMaySkip);
  s.created(50n * SEC, n);
  for (let i = 1; i <= n; i++) expect(s.message(msg(i, i, { pending: n - i }))).toBe('deliver');
  return s;
}

describe('OrderedSequence', () => {
  it('delivers messages in order and tracks both sequences', () => {
    const s = new OrderedSequence({ deliverPolicy: 'all' });
    expect(s.begin(false)).toEqual({ deliverPolicy: 'all' });
    expect([s.nextConsumerSeq, s.lastStreamSeq]).toEqual([1, 0]);
    // Stream sequences may jump (other subjects, deleted messages); consumer ones may not.
    expect(s.message(msg(1, 3))).toBe('deliver');
    expect(s.message(msg(2, 4))).toBe('deliver');
    expect(s.message(msg(3, 9))).toBe('deliver');
    expect([s.nextConsumerSeq, s.lastStreamSeq]).toEqual([4, 9]);
  });

  it('resets on a gap in the consumer sequence, and moves no position', () => {
    const s = reading(2);
    expect(s.message(msg(4, 4))).toBe('reset'); // consumer sequence 3 was lost
    expect([s.nextConsumerSeq, s.lastStreamSeq]).toEqual([3, 2]);
    // A message delivered twice (consumer sequence already seen) is a gap too.
    expect(s.message(msg(2, 3))).toBe('reset');
  });

  it('resets when the stream sequence goes back (a consumer reset on nats-server 2.14)', () => {
    const s = reading(5);
    expect(s.message(msg(6, 5))).toBe('reset'); // same stream sequence again
    expect(s.message(msg(6, 2))).toBe('reset');
    expect(s.lastStreamSeq).toBe(5);
  });

  it('resets on a heartbeat whose Nats-Last-Consumer is ahead of what was received', () => {
    const s = reading(3);
    expect(s.heartbeat('3')).toBe(false); // agrees
    expect(s.heartbeat('4')).toBe(true); // consumer sequence 4 was delivered, never received
    // Behind, missing or not a number: nothing to go on, no reset.
    expect(s.heartbeat('2')).toBe(false);
    expect(s.heartbeat(undefined)).toBe(false);
    expect(s.heartbeat('x')).toBe(false);
    // Before any message, a heartbeat saying 0 agrees.
    const fresh = new OrderedSequence({ deliverPolicy: 'new' });
    fresh.begin(false);
    expect([fresh.heartbeat('0'), fresh.heartbeat('1')]).toEqual([false, true]);
  });

  it('restarts right after the last message, with a consumer sequence from 1', () => {
    const s = reading(4);
    expect(s.message(msg(6, 6))).toBe('reset');
    expect(s.begin(false)).toEqual({ deliverPolicy: 'by_start_sequence', optStartSeq: 5 });
    expect(s.nextConsumerSeq).toBe(1);
    expect(s.message(msg(1, 5))).toBe('deliver');
    expect(s.message(msg(2, 6))).toBe('deliver');
    expect(s.lastStreamSeq).toBe(6);
  });

  it('starts where the user asked until a message was seen, and drops the start time after', () => {
    const start = { deliverPolicy: 'by_start_time' as const, optStartTime: '2024-01-01T00:00:00Z' };
    const s = new OrderedSequence(start);
    expect(s.begin(false)).toEqual(start);
    expect(s.begin(false)).toEqual(start); // recreated before any message: same start
    expect(s.message(msg(1, 7))).toBe('deliver');
    expect(s.begin(false)).toEqual({ deliverPolicy: 'by_start_sequence', optStartSeq: 8 });
  });

  it('restartAfter() moves where the next incarnation starts', () => {
    const s = reading(3);
    s.restartAfter(10);
    expect(s.begin(false)).toEqual({ deliverPolicy: 'by_start_sequence', optStartSeq: 11 });
    expect(s.message(msg(1, 10))).toBe('reset'); // at or before the restart point
    expect(s.message(msg(1, 11))).toBe('deliver');
  });

  it('starts over where the user asked when the stream was created after the last message', () => {
    const s = new OrderedSequence({ deliverPolicy: 'last_per_subject' });
    expect(s.streamCheckable).toBe(false); // nothing seen: nothing to compare
    s.begin(false);
    expect(s.message(msg(1, 3, { stamp: 100n * SEC }))).toBe('deliver');
    expect(s.streamCheckable).toBe(true);
    expect(s.streamCreated(undefined)).toBe(false); // unknown
    expect(s.streamCreated(90n * SEC)).toBe(false); // older than the last message
    expect(s.streamCreated(100n * SEC)).toBe(false);
    expect(s.lastStreamSeq).toBe(3);
    expect(s.streamCreated(101n * SEC)).toBe(true);
    expect(s.lastStreamSeq).toBe(0);
    expect(s.begin(false)).toEqual({ deliverPolicy: 'last_per_subject' });
    expect(s.message(msg(1, 1))).toBe('deliver'); // the new stream's sequences start over
  });

  describe('a rollup after a purge skip (nats-server 2.9)', () => {
    it('is read again once when it follows a gap in stream sequences', () => {
      const s = reading(3, true);
      expect(s.message(msg(4, 7, { rollup: true }))).toBe('reread');
      expect(s.lastStreamSeq).toBe(3); // not handed on
      expect(s.begin(true)).toEqual({ deliverPolicy: 'by_start_sequence', optStartSeq: 4 });
      s.created(50n * SEC, 1);
      // The new incarnation delivers it after the same gap: it is not read a third time.
      expect(s.message(msg(1, 7, { rollup: true }))).toBe('deliver');
    });

    it('is handed on without a gap, without the rollup header, or on servers without the skip', () => {
      expect(reading(3, true).message(msg(4, 4, { rollup: true }))).toBe('deliver');
      expect(reading(3, true).message(msg(4, 7))).toBe('deliver');
      expect(reading(3, false).message(msg(4, 7, { rollup: true }))).toBe('deliver');
    });

    it('is handed on when stored well before the consumer was created (history)', () => {
      const s = reading(3, true);
      // Created at 50 s; allowed clock skew between servers is 1 s.
      expect(s.message(msg(4, 7, { rollup: true, stamp: 48n * SEC }))).toBe('deliver');
      const t = reading(3, true);
      expect(t.message(msg(4, 7, { rollup: true, stamp: 49n * SEC + 1n }))).toBe('reread');
    });

    it('is handed on during a last-per-subject snapshot, whose gaps are older values', () => {
      const s = new OrderedSequence({ deliverPolicy: 'last_per_subject' });
      s.begin(true);
      s.created(50n * SEC, 5);
      expect(s.message(msg(1, 2, { pending: 2 }))).toBe('deliver');
      expect(s.message(msg(2, 6, { pending: 1, rollup: true }))).toBe('deliver');
      expect(s.message(msg(3, 8, { pending: 0 }))).toBe('deliver'); // the snapshot is over
      expect(s.message(msg(4, 12, { rollup: true }))).toBe('reread');
    });

    it('a consumer created with nothing pending has no snapshot', () => {
      const s = new OrderedSequence({ deliverPolicy: 'last_per_subject' });
      s.begin(true);
      s.created(50n * SEC, 0);
      // The first message cannot follow a skip (nothing seen before it).
      expect(s.message(msg(1, 4, { pending: 3, rollup: true }))).toBe('deliver');
      expect(s.message(msg(2, 9, { pending: 2, rollup: true }))).toBe('reread');
    });
  });
});

describe('OrderedLifecycle', () => {
  const NAMES = Object.keys(ORDERED_MOVES) as OrderedStateName[];

  function at(name: OrderedStateName): OrderedLifecycle {
    const l = new OrderedLifecycle();
    if (name !== 'reading') l.transition(name);
    return l;
  }

  it('allows exactly the moves in ORDERED_MOVES and refuses the others with an assertion', () => {
    for (const from of NAMES) {
      for (const to of NAMES) {
        const l = at(from);
        if (ORDERED_MOVES[from].includes(to)) {
          l.transition(to);
          expect(l.name).toBe(to);
        } else {
          expect(() => l.transition(to)).toThrow(AssertionError);
          expect(l.name).toBe(from);
        }
      }
    }
    expect(ORDERED_MOVES.stopped).toEqual([]); // stopped is for good
  });

  it('runs a reset asked for while reading, and reads again after one round', () => {
    const l = new OrderedLifecycle();
    expect(l.reset(true)).toBe(true);
    expect(l.state).toEqual({ name: 'recreating', then: 'none' });
    l.round();
    expect(l.roundDone()).toBeUndefined();
    expect(l.name).toBe('reading');
    expect(l.resets).toBe(1);
  });

  it('runs a reset asked for while one runs once more after it, checking the stream if either asks', () => {
    const l = new OrderedLifecycle();
    expect(l.reset(false)).toBe(true);
    l.round();
    expect(l.reset(false)).toBe(false); // follows
    expect(l.state).toEqual({ name: 'recreating', then: 'same-stream' });
    expect(l.reset(false)).toBe(false); // still one round, not two
    expect(l.reset(true)).toBe(false);
    expect(l.state).toEqual({ name: 'recreating', then: 'check-stream' });
    expect(l.reset(false)).toBe(false); // does not downgrade the check
    expect(l.roundDone()).toBe(true); // one more round, with the stream check
    l.round();
    expect(l.state).toEqual({ name: 'recreating', then: 'none' });
    expect(l.reset(false)).toBe(false);
    expect(l.roundDone()).toBe(false); // and one more, without it
    l.round();
    expect(l.roundDone()).toBeUndefined();
    expect([l.name, l.resets]).toEqual(['reading', 3]);
  });

  it('stops during a recreate: the running round ends the reset, and what was asked is dropped', () => {
    const l = new OrderedLifecycle();
    l.reset(true);
    l.round();
    l.reset(true);
    expect(l.stop()).toBe(true);
    expect(l.state).toEqual({ name: 'stopped' });
    expect(l.roundDone()).toBeUndefined();
    expect(l.name).toBe('stopped');
    expect(l.reset(true)).toBe(false); // ignored once stopped
    expect(l.stop()).toBe(false); // idempotent
    expect(l.resets).toBe(1);
  });
});

describe('rfc3339Nanos', () => {
  it('keeps all nine fraction digits and the zone', () => {
    const base = BigInt(Date.parse('2024-05-06T07:08:09Z')) * 1_000_000n;
    expect(rfc3339Nanos('2024-05-06T07:08:09Z')).toBe(base);
    expect(rfc3339Nanos('2024-05-06T07:08:09.123456789Z')).toBe(base + 123_456_789n);
    expect(rfc3339Nanos('2024-05-06T07:08:09.5Z')).toBe(base + 500_000_000n);
    expect(rfc3339Nanos('2024-05-06T09:08:09.000000001+02:00')).toBe(base + 1n);
    expect(rfc3339Nanos('0001-01-01T00:00:00Z')).toBeDefined();
    expect(rfc3339Nanos('not a time')).toBeUndefined();
    expect(rfc3339Nanos('')).toBeUndefined();
  });
});
