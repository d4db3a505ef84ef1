// deadLetter: 'advisory': the server's MAX_DELIVERIES and MSG_TERMINATED advisories dead-letter
// the original (read by stream sequence) with the reason; one dead letter per message however
// many instances run; WorkQueue streams (a termed message is gone before its advisory arrives).
import 'reflect-metadata';
import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import {
  connect,
  JetStreamHandler,
  MsgHeaders,
  ProvisioningError,
  TermException,
  type JetStreamHandlerOptions,
  type NatsConnection,
  type StoredMsg,
} from '../../lib/index.js';
import { describeSince, startServer, type NatsServerHandle } from '../support/index.js';
import { sleep, startApp, waitUntilGone, type Started } from './apps/jetstream-faults.helpers.js';

let server: NatsServerHandle;
let nc: NatsConnection;
beforeAll(async () => {
  server = await startServer({ jetstream: true });
  nc = await connect({ servers: server.url });
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: 'AD', subjects: ['ad.>'], storage: 'memory', allowDirect: true });
  await jsm.streams.add({
    name: 'ADW',
    subjects: ['adw.>'],
    storage: 'memory',
    retention: 'workqueue',
  });
  await jsm.streams.add({ name: 'ADLQ', subjects: ['adlq.>'], storage: 'memory' });
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

const opts = {
  ackWait: 2000,
  maxDeliver: 2,
  retryDelay: 20,
  deadLetter: 'advisory',
} satisfies Partial<JetStreamHandlerOptions>;

@Controller()
class AdvisoryController {
  static calls = 0;
  @JetStreamHandler('ad.fail.>', {
    ...opts,
    stream: 'AD',
    durable: 'ad-fail',
    deadLetterSubject: 'adlq.fail',
  })
  fail(@Payload() _p: unknown) {
    AdvisoryController.calls++;
    throw new Error('always fails');
  }
  @JetStreamHandler('ad.term.>', {
    ...opts,
    stream: 'AD',
    durable: 'ad-term',
    deadLetterSubject: 'adlq.term',
  })
  term(@Payload() _p: unknown) {
    throw new TermException('invalid payload');
  }
  @JetStreamHandler('adw.term.>', {
    ...opts,
    stream: 'ADW',
    durable: 'adw-term',
    deadLetterSubject: 'adlq.wterm',
  })
  wqTerm(@Payload() _p: unknown) {
    throw new TermException('invalid payload');
  }
  @JetStreamHandler('adw.fail.>', {
    ...opts,
    stream: 'ADW',
    durable: 'adw-fail',
    deadLetterSubject: 'adlq.wfail',
  })
  wqFail(@Payload() _p: unknown) {
    throw new Error('always fails');
  }
}

/** Every dead letter stored on `subject`. */
async function deadLetters(subject: string): Promise<StoredMsg[]> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info('ADLQ');
  const out: StoredMsg[] = [];
  for (let seq = info.state.firstSeq; seq <= info.state.lastSeq && seq > 0; seq++) {
    const m = await jsm.streams.getMessage('ADLQ', { seq }).catch(() => undefined);
    if (m?.subject === subject) out.push(m);
  }
  return out;
}

async function waitForDeadLetter(subject: string, seq: number): Promise<StoredMsg> {
  const end = Date.now() + 8000;
  while (Date.now() < end) {
    const found = (await deadLetters(subject)).find(
      (m) => m.headers?.get('Nats-Dead-Letter-Sequence') === String(seq),
    );
    if (found) return found;
    await sleep(100);
  }
  throw new Error(`no dead letter for #${seq} on ${subject}`);
}

const deadLetterHeaders = (m: StoredMsg) => {
  const h = m.headers!;
  return {
    reason: h.get('Nats-Dead-Letter-Reason'),
    subject: h.get('Nats-Dead-Letter-Subject'),
    stream: h.get('Nats-Dead-Letter-Stream'),
    consumer: h.get('Nats-Dead-Letter-Consumer'),
    deliveries: h.get('Nats-Dead-Letter-Deliveries'),
    missing: h.get('Nats-Dead-Letter-Missing'),
  };
};

describe("deadLetter: 'advisory'", () => {
  const apps: Started[] = [];
  beforeAll(async () => {
    // Two instances: the advisory queue group gives each advisory to one of them.
    apps.push(await startApp(AdvisoryController, { servers: server.url }));
    apps.push(await startApp(AdvisoryController, { servers: server.url }));
  });
  afterAll(async () => {
    for (const s of apps) await s.app.close();
  });

  it('after maxDeliver: stores the original with the reason, once, and leaves it in its stream', async () => {
    const js = nc.jetstream();
    const { seq } = await js.publish('ad.fail.1', JSON.stringify({ a: 1 }), {
      msgId: 'fail-1',
      headers: new MsgHeaders({ 'X-Trace': 'abc' }),
    });
    const dead = await waitForDeadLetter('adlq.fail', seq);
    expect(dead.json()).toEqual({ a: 1 });
    expect(deadLetterHeaders(dead)).toEqual({
      reason: 'MAX_DELIVERIES',
      subject: 'ad.fail.1',
      stream: 'AD',
      consumer: 'ad-fail',
      deliveries: '2',
      missing: undefined,
    });
    expect(dead.headers?.get('X-Trace')).toBe('abc');
    expect(dead.headers?.get('Nats-Dead-Letter-Msg-Id')).toBe('fail-1');
    // Its own id makes a repeated advisory a duplicate in the dead-letter stream.
    expect(dead.headers?.get('Nats-Msg-Id')).toBe(`dead-letter:AD:ad-fail:${seq}`);
    // No client-side republish and no third delivery: the server stopped at maxDeliver.
    await sleep(500);
    expect(AdvisoryController.calls).toBe(2);
    expect((await deadLetters('adlq.fail')).length).toBe(1);
    const jsm = await nc.jetstreamManager();
    await expect(jsm.streams.getMessage('AD', { seq })).resolves.toMatchObject({ seq });
    const settled = apps.flatMap((s) => s.settled).filter((e) => e.streamSeq === seq);
    expect(settled.map((e) => e.outcome).sort()).toEqual(['dead-letter', 'nak', 'nak']);
  });

  it('after a term: stores the original with MSG_TERMINATED', async () => {
    const { seq } = await nc.jetstream().publish('ad.term.1', JSON.stringify({ b: 2 }));
    const dead = await waitForDeadLetter('adlq.term', seq);
    expect(dead.json()).toEqual({ b: 2 });
    expect(deadLetterHeaders(dead)).toMatchObject({
      reason: 'MSG_TERMINATED',
      subject: 'ad.term.1',
      consumer: 'ad-term',
      deliveries: '1',
    });
    await sleep(300);
    expect((await deadLetters('adlq.term')).length).toBe(1);
  });

  it('WorkQueue stream, term: the original is removed before the advisory, so the dead letter has no body', async () => {
    const { seq } = await nc.jetstream().publish('adw.term.1', JSON.stringify({ c: 3 }));
    const dead = await waitForDeadLetter('adlq.wterm', seq);
    expect(dead.data.length).toBe(0);
    expect(deadLetterHeaders(dead)).toMatchObject({
      reason: 'MSG_TERMINATED',
      subject: undefined,
      stream: 'ADW',
      missing: 'true',
    });
    const jsm = await nc.jetstreamManager();
    await expect(jsm.streams.getMessage('ADW', { seq })).rejects.toMatchObject({ status: 404 });
  });

  it('WorkQueue stream, maxDeliver: stored with its body, and the original stays in the stream', async () => {
    const { seq } = await nc.jetstream().publish('adw.fail.1', JSON.stringify({ d: 4 }));
    const dead = await waitForDeadLetter('adlq.wfail', seq);
    expect(dead.json()).toEqual({ d: 4 });
    expect(deadLetterHeaders(dead).reason).toBe('MAX_DELIVERIES');
    const jsm = await nc.jetstreamManager();
    await expect(jsm.streams.getMessage('ADW', { seq })).resolves.toMatchObject({ seq });
    // Started instances warned about the work-queue retention.
    expect(apps[0].logger.lines.some((l) => /ADW.*workqueue retention/.test(l))).toBe(true);
  });
});

@Controller()
class NoDlqStream {
  @JetStreamHandler('ad.nodlq.>', {
    ...opts,
    stream: 'AD',
    durable: 'ad-nodlq',
    deadLetterSubject: 'nowhere.dlq',
  })
  handle() {}
}

@Controller()
class NoDlqSubject {
  @JetStreamHandler('ad.nosubj.>', { ...opts, stream: 'AD', durable: 'ad-nosubj' })
  handle() {}
}

it('refuses to start without a stream for the deadLetterSubject, or without one at all', async () => {
  for (const controller of [NoDlqStream, NoDlqSubject]) {
    const err: unknown = await startApp(controller, { servers: server.url }).then(
      async (s) => {
        await s.app.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProvisioningError);
  }
});

@Controller()
class AdvisoryTtlController {
  @JetStreamHandler('adt.>', {
    ...opts,
    stream: 'ADT',
    durable: 'adt',
    deadLetterSubject: 'adlqt.x',
  })
  handle(@Payload() _p: unknown) {
    throw new Error('always fails');
  }
}

describeSince('2.11.0', "deadLetter: 'advisory' of a message with a TTL", () => {
  let app: Started | undefined;
  beforeAll(async () => {
    const jsm = await nc.jetstreamManager();
    const common = { storage: 'memory', allowMsgTtl: true } as const;
    await jsm.streams.add({ ...common, name: 'ADT', subjects: ['adt.>'] });
    await jsm.streams.add({ ...common, name: 'ADLQT', subjects: ['adlqt.>'] });
    app = await startApp(AdvisoryTtlController, { servers: server.url });
  });
  afterAll(async () => {
    await app?.app.close();
  });

  it('stores the original without Nats-TTL or its expectations, and the copy outlives the TTL', async () => {
    const { seq } = await nc.jetstream().publish('adt.1', JSON.stringify({ e: 5 }), {
      ttl: 2000,
      expect: { stream: 'ADT' },
    });
    const jsm = await nc.jetstreamManager();
    let dead: StoredMsg | undefined;
    const end = Date.now() + 8000;
    while (dead === undefined && Date.now() < end) {
      dead = await jsm.streams.getMessage('ADLQT', { lastBySubject: 'adlqt.x' }).catch(() => {
        return undefined;
      });
      if (dead === undefined) await sleep(100);
    }
    expect(dead?.headers?.get('Nats-Dead-Letter-Sequence')).toBe(String(seq));
    expect(dead!.json()).toEqual({ e: 5 });
    expect(dead!.headers!.keys().filter((n) => /^nats-(ttl|expected-)/i.test(n))).toEqual([]);
    // The original expires; its dead letter stays.
    expect(await waitUntilGone(jsm, 'ADT', seq)).toBe(true);
    await sleep(500);
    await expect(jsm.streams.getMessage('ADLQT', { seq: dead!.seq })).resolves.toMatchObject({
      subject: 'adlqt.x',
    });
  }, 20_000);
});
