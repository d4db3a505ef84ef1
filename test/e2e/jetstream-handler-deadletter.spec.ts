// Dead letters: to a stream or a core subject, headers kept or renamed, ids that would deduplicate.
import 'reflect-metadata';
import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import {
  connect,
  JetStreamHandler,
  MsgHeaders,
  type Msg,
  type NatsConnection,
} from '../../lib/index.js';
import { describeSince, startServer, type NatsServerHandle } from '../support/index.js';
import {
  outcomesOf,
  sleep,
  startApp,
  waitFor,
  waitUntilGone,
} from './apps/jetstream-faults.helpers.js';

const USERS = `authorization {
  users: [
    { user: "app", password: "pw", permissions: { publish: { deny: ["dlq.denied.>", "dlq.coredenied.>"] } } },
    { user: "admin", password: "pw" }
  ]
}`;

let server: NatsServerHandle;
let nc: NatsConnection;
beforeAll(async () => {
  server = await startServer({ jetstream: true, config: USERS });
  nc = await connect({ servers: server.url, user: 'admin', pass: 'pw' });
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: 'DL', subjects: ['dl.>'], storage: 'memory' });
  await jsm.streams.add({ name: 'DL2', subjects: ['dl2.>'], storage: 'memory' });
  await jsm.streams.add({
    name: 'DLQS',
    subjects: ['dlq.stream.>', 'dlq.denied.>'],
    storage: 'memory',
  });
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

const opts = { stream: 'DL', ackWait: 2000, maxDeliver: 2, retryDelay: 20 } as const;

@Controller()
class DlController {
  @JetStreamHandler('dl.s.>', { ...opts, durable: 'dl-s', deadLetterSubject: 'dlq.stream.s' })
  s(@Payload() _p: unknown) {
    throw new Error('boom\r\nsecond line');
  }
  @JetStreamHandler('dl2.>', {
    ...opts,
    stream: 'DL2',
    durable: 'dl2',
    deadLetterSubject: 'dlq.stream.s',
  })
  s2(@Payload() _p: unknown) {
    throw new Error('boom2');
  }
  @JetStreamHandler('dl.nosub.>', {
    ...opts,
    durable: 'dl-nosub',
    deadLetterSubject: 'dlq.nobody.x',
  })
  nosub(@Payload() _p: unknown) {
    throw new Error('nosub');
  }
  @JetStreamHandler('dl.core.>', { ...opts, durable: 'dl-core', deadLetterSubject: 'dlq.core.x' })
  core(@Payload() _p: unknown) {
    throw new Error('core');
  }
  @JetStreamHandler('dl.denied.>', {
    ...opts,
    durable: 'dl-denied',
    deadLetterSubject: 'dlq.denied.x',
  })
  denied(@Payload() _p: unknown) {
    throw new Error('denied');
  }
  @JetStreamHandler('dl.cdenied.>', {
    ...opts,
    durable: 'dl-cdenied',
    deadLetterSubject: 'dlq.coredenied.x',
  })
  coreDenied(@Payload() _p: unknown) {
    throw new Error('core denied');
  }
}

describe('dead letters', () => {
  let s: Awaited<ReturnType<typeof startApp>>;
  beforeAll(async () => {
    s = await startApp(DlController, { servers: server.url, user: 'app', pass: 'pw' });
  });
  afterAll(async () => {
    await s?.app.close();
  });

  it('to a stream: all Nats-Dead-Letter-* headers and the original headers are kept', async () => {
    const { seq } = await nc.jetstream().publish('dl.s.1', JSON.stringify({ a: 1 }), {
      headers: new MsgHeaders({ 'X-Trace': 'abc', 'X-Multi': 'v1' }),
    });
    await waitFor(() => outcomesOf(s.settled, seq).includes('dead-letter'), 4000);
    const jsm = await nc.jetstreamManager();
    const dead = await jsm.streams.getMessage('DLQS', { lastBySubject: 'dlq.stream.s' });
    const h = dead.headers!;
    expect({
      body: dead.json(),
      trace: h.get('X-Trace'),
      subject: h.get('Nats-Dead-Letter-Subject'),
      stream: h.get('Nats-Dead-Letter-Stream'),
      consumer: h.get('Nats-Dead-Letter-Consumer'),
      seq: h.get('Nats-Dead-Letter-Sequence'),
      deliveries: h.get('Nats-Dead-Letter-Deliveries'),
      error: h.get('Nats-Dead-Letter-Error'),
    }).toEqual({
      body: { a: 1 },
      trace: 'abc',
      subject: 'dl.s.1',
      stream: 'DL',
      consumer: 'dl-s',
      seq: String(seq),
      deliveries: '2',
      error: 'boom second line',
    });
    expect(outcomesOf(s.settled, seq)).toEqual(['nak', 'dead-letter']);
  });

  it('an original published with an expected-stream header still reaches the dead-letter stream', async () => {
    const { seq } = await nc
      .jetstream()
      .publish('dl.s.exp', JSON.stringify({ b: 2 }), { expect: { stream: 'DL' } });
    await waitFor(() => outcomesOf(s.settled, seq).length >= 2, 4000);
    await sleep(200);
    const jsm = await nc.jetstreamManager();
    const dead = await jsm.streams
      .getMessage('DLQS', { lastBySubject: 'dlq.stream.s' })
      .then((m) => m.headers?.get('Nats-Dead-Letter-Sequence'))
      .catch((e: Error) => e.message);
    const info = await jsm.consumers.info('DL', 'dl-s');
    expect({
      outcomes: outcomesOf(s.settled, seq),
      deadSeq: dead,
      errors: s.logger.lines.filter((l) => l.startsWith('error') && /dl-s:/.test(l)),
      stillOnConsumer: info.numAckPending + info.numPending,
    }).toEqual({
      outcomes: ['nak', 'dead-letter'],
      deadSeq: String(seq),
      errors: [],
      stillOnConsumer: 0,
    });
  });

  it('two source streams whose publishers use the same msg id: both failures are stored in the dead-letter stream', async () => {
    const { seq: s1 } = await nc.jetstream().publish('dl.s.id', '{"c":1}', { msgId: 'order-42' });
    const { seq: s2 } = await nc.jetstream().publish('dl2.x', '{"d":1}', { msgId: 'order-42' });
    await waitFor(
      () =>
        outcomesOf(s.settled, s1).includes('dead-letter') &&
        s.settled.some(
          (e) => e.stream === 'DL2' && e.streamSeq === s2 && e.outcome === 'dead-letter',
        ),
      4000,
    );
    const jsm = await nc.jetstreamManager();
    const stored: string[] = [];
    const info = await jsm.streams.info('DLQS');
    for (let q = info.state.firstSeq; q <= info.state.lastSeq; q++) {
      const m = await jsm.streams.getMessage('DLQS', { seq: q }).catch(() => undefined);
      if (m?.headers?.get('Nats-Dead-Letter-Msg-Id') === 'order-42')
        stored.push(m.headers.get('Nats-Dead-Letter-Stream') ?? '?');
    }
    expect(stored.sort()).toEqual(['DL', 'DL2']);
  });

  it('to a core subject with a (non-replying) subscriber: delivered with the headers, then term, promptly', async () => {
    const got: Msg[] = [];
    const sub = nc.subscribe('dlq.core.x', { callback: (m) => got.push(m) });
    await nc.flush();
    try {
      const t0 = Date.now();
      const { seq } = await nc.jetstream().publish('dl.core.1', '{"z":1}', {
        headers: new MsgHeaders({ 'X-Trace': 'core' }),
      });
      await waitFor(() => outcomesOf(s.settled, seq).length >= 2, 9000);
      expect({
        outcomes: outcomesOf(s.settled, seq),
        received: got.length,
        trace: got[0]?.headers?.get('X-Trace'),
        fast: Date.now() - t0 < 2000,
        errors: s.logger.lines.filter((l) => l.startsWith('error') && /dl-core/.test(l)),
      }).toEqual({
        outcomes: ['nak', 'dead-letter'],
        received: 1,
        trace: 'core',
        fast: true,
        errors: [],
      });
    } finally {
      sub.unsubscribe();
    }
  }, 14_000);

  it.each([
    ['nobody subscribes to', 'dl.nosub.1', 'dl-nosub', /no responders for dlq\.nobody\.x/],
    ['the app may not publish to', 'dl.cdenied.1', 'dl-cdenied', /permission/i],
  ])(
    'to a core subject %s: not lost silently but logged, naked and left in the stream',
    async (_case, subject, durable, reason) => {
      const { seq } = await nc.jetstream().publish(subject, '{"n":1}');
      await waitFor(() => outcomesOf(s.settled, seq).length >= 2, 9000);
      await sleep(50);
      const errors = s.logger.lines.filter((l) => l.includes(`could not dead-letter DL#${seq}`));
      expect({ outcomes: outcomesOf(s.settled, seq), errors: errors.length }).toEqual({
        outcomes: ['nak', 'nak'],
        errors: 1,
      });
      expect(errors[0]).toMatch(reason);
      // Said once and clearly: the last delivery gets that one error line (with the handler's
      // error), no "nak (retry in ...)" line contradicting it.
      const lines = s.logger.lines.filter((l) => l.includes(`DL#${seq} `));
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^warn: .*nak \(retry in \d+ ms\) .*delivery 1\): Error: /);
      expect(lines[1]).toMatch(
        /^error: .*could not dead-letter .*delivery 2\) to .*it was its last allowed delivery \(maxDeliver 2\), so it stays in the stream and is not delivered again\. Handler error: Error: /,
      );
      const jsm = await nc.jetstreamManager();
      expect((await jsm.streams.getMessage('DL', { seq })).subject).toBe(subject);
      expect((await jsm.consumers.info('DL', durable)).numAckPending).toBe(0);
    },
    14_000,
  );
});

@Controller()
class DirectiveController {
  @JetStreamHandler('dlt.>', {
    ...opts,
    stream: 'DLT',
    durable: 'dlt',
    deadLetterSubject: 'dlq.ttl.x',
  })
  ttl(@Payload() _p: unknown) {
    throw new Error('ttl');
  }
}

@Controller()
class CounterDlController {
  @JetStreamHandler('dlc.>', {
    ...opts,
    stream: 'DLC',
    durable: 'dlc',
    deadLetterSubject: 'dlq.stream.c',
  })
  counter(@Payload() _p: unknown) {
    throw new Error('counter');
  }
}

// Headers the dead-letter stream would act on are not copied: the copy would expire, purge the
// dead-letter subject, or be refused by a stream without TTLs, rollups or counters.
const DIRECTIVES = /^nats-(ttl|rollup|incr|expected-|schedule|batch-)/i;

describeSince('2.11.0', 'dead letters of messages with server directives', () => {
  let s: Awaited<ReturnType<typeof startApp>>;
  beforeAll(async () => {
    const jsm = await nc.jetstreamManager();
    const common = { storage: 'memory', allowMsgTtl: true } as const;
    await jsm.streams.add({ ...common, name: 'DLT', subjects: ['dlt.>'], allowRollupHdrs: true });
    await jsm.streams.add({ ...common, name: 'DLQT', subjects: ['dlq.ttl.>'] });
    s = await startApp(DirectiveController, { servers: server.url, user: 'app', pass: 'pw' });
  });
  afterAll(async () => {
    await s?.app.close();
  });

  it('a message with a TTL, a rollup and an expectation is stored without them and outlives the TTL', async () => {
    const { seq } = await nc.jetstream().publish('dlt.a', '{"t":1}', {
      ttl: 2000,
      expect: { stream: 'DLT' },
      msgId: 'ttl-1',
      headers: new MsgHeaders({ 'Nats-Rollup': 'sub', 'X-Trace': 'ttl' }),
    });
    await waitFor(() => outcomesOf(s.settled, seq).includes('dead-letter'), 4000);
    const jsm = await nc.jetstreamManager();
    const original = await jsm.streams.getMessage('DLT', { seq });
    expect(original.headers?.get('Nats-TTL')).toBe('2s');
    const dead = await jsm.streams.getMessage('DLQT', { lastBySubject: 'dlq.ttl.x' });
    const names = dead.headers!.keys();
    expect(names.filter((n) => DIRECTIVES.test(n))).toEqual([]);
    expect({
      body: dead.json(),
      trace: dead.headers!.get('X-Trace'),
      msgId: dead.headers!.get('Nats-Dead-Letter-Msg-Id'),
      seq: dead.headers!.get('Nats-Dead-Letter-Sequence'),
    }).toEqual({ body: { t: 1 }, trace: 'ttl', msgId: 'ttl-1', seq: String(seq) });
    // The original expires; its dead letter stays.
    expect(await waitUntilGone(jsm, 'DLT', seq)).toBe(true);
    await sleep(500);
    await expect(jsm.streams.getMessage('DLQT', { seq: dead.seq })).resolves.toMatchObject({
      subject: 'dlq.ttl.x',
    });
  }, 15_000);
});

describeSince('2.12.0', 'dead letters of counter messages', () => {
  let s: Awaited<ReturnType<typeof startApp>>;
  beforeAll(async () => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({
      name: 'DLC',
      subjects: ['dlc.>'],
      storage: 'memory',
      allowMsgCounter: true,
    });
    s = await startApp(CounterDlController, { servers: server.url, user: 'app', pass: 'pw' });
  });
  afterAll(async () => {
    await s?.app.close();
  });

  it('a counter increment reaches a plain dead-letter stream, without Nats-Incr', async () => {
    expect(await nc.jetstream().counter('dlc.hits').increment(5)).toBe(5n);
    const jsm = await nc.jetstreamManager();
    const seq = (await jsm.streams.info('DLC')).state.lastSeq;
    await waitFor(() => outcomesOf(s.settled, seq).length >= 2, 4000);
    expect(outcomesOf(s.settled, seq)).toEqual(['nak', 'dead-letter']);
    const dead = await jsm.streams.getMessage('DLQS', { lastBySubject: 'dlq.stream.c' });
    expect(dead.headers!.keys().filter((n) => DIRECTIVES.test(n))).toEqual([]);
    expect([dead.json(), dead.headers!.get('Nats-Dead-Letter-Stream')]).toEqual([
      { val: '5' },
      'DLC',
    ]);
  });
});
