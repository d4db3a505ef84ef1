// What an operator sees when a @JetStreamHandler fails: the error the handler threw (message,
// class, code) in the settled event, the log and the dead-letter headers, not what Nest's
// exception filters made of it; and the log levels of per-message outcomes.
import 'reflect-metadata';
import {
  Catch,
  Controller,
  ParseIntPipe,
  UseFilters,
  type ArgumentsHost,
  type RpcExceptionFilter,
} from '@nestjs/common';
import { MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { firstValueFrom, throwError, type Observable } from 'rxjs';
import {
  ClientNats,
  connect,
  JetStreamHandler,
  ServiceError,
  type HandlerError,
  type NatsConnection,
  type SettledEvent,
} from '../../lib/index.js';
import { startServer, type NatsServerHandle } from '../support/index.js';
import { outcomesOf, startApp, waitFor, type Started } from './apps/jetstream-faults.helpers.js';

/** An application error with a class of its own and a code. */
class PaymentError extends Error {
  readonly code = 'CARD_DECLINED';
}

/** A filter that hides every error from callers behind one message. */
@Catch()
class MaskingFilter implements RpcExceptionFilter<unknown> {
  catch(_err: unknown, _host: ArgumentsHost): Observable<never> {
    return throwError(() => ({ status: 'error', message: 'masked' }));
  }
}

const opts = { stream: 'ERR', ackWait: 2000, maxDeliver: 2, retryDelay: 20 } as const;

@Controller()
class ErrorsController {
  @JetStreamHandler('err.plain.>', { ...opts, durable: 'plain', deadLetterSubject: 'errdlq.plain' })
  plain(@Payload() _p: unknown) {
    throw new Error('card declined (transient)');
  }

  @JetStreamHandler('err.coded.>', { ...opts, durable: 'coded', deadLetterSubject: 'errdlq.coded' })
  async coded(@Payload() _p: unknown) {
    await new Promise((r) => setImmediate(r));
    throw new PaymentError('card declined (transient)');
  }

  @UseFilters(new MaskingFilter())
  @JetStreamHandler('err.masked.>', { ...opts, durable: 'masked' })
  masked(@Payload() _p: unknown) {
    throw new PaymentError('hidden from callers, not from operators');
  }

  @JetStreamHandler('err.rpc.>', { ...opts, durable: 'rpc' })
  rpc(@Payload() _p: unknown) {
    throw new RpcException({ message: 'bad input', code: 'E_INPUT', field: 'x' });
  }

  @JetStreamHandler('err.term.>', { ...opts, durable: 'term' })
  term(@Payload() _p: unknown) {
    throw new RpcException({ message: 'never again', terminal: true });
  }

  @JetStreamHandler('err.pipe.>', { ...opts, durable: 'pipe' })
  pipe(@Payload(ParseIntPipe) _n: number) {
    return;
  }

  @JetStreamHandler('err.ok.>', { ...opts, durable: 'ok' })
  ok(@Payload() _p: unknown) {
    return;
  }

  @MessagePattern('rr.err.plain')
  rrPlain() {
    throw new PaymentError('card declined (transient)');
  }

  @UseFilters(new MaskingFilter())
  @MessagePattern('rr.err.masked')
  rrMasked() {
    throw new PaymentError('card declined (transient)');
  }
}

let server: NatsServerHandle;
let nc: NatsConnection;
let s: Started;
let client: ClientNats;

beforeAll(async () => {
  server = await startServer({ jetstream: true });
  nc = await connect({ servers: server.url });
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: 'ERR', subjects: ['err.>'], storage: 'memory' });
  await jsm.streams.add({ name: 'ERRDLQ', subjects: ['errdlq.>'], storage: 'memory' });
  s = await startApp(ErrorsController, { servers: server.url });
  client = new ClientNats({ servers: server.url, timeout: 2000 });
  await client.connect();
});
afterAll(async () => {
  await client?.close();
  await s?.app.close();
  await nc?.close();
  await server?.stop();
});

async function publish(subject: string, body: unknown = { n: 1 }): Promise<number> {
  return (await nc.jetstream().publish(subject, JSON.stringify(body))).seq;
}

const eventsOf = (stream: string, seq: number): SettledEvent[] =>
  s.settled.filter((e) => e.stream === stream && e.streamSeq === seq);

/** The log lines about one message of ERR. */
const linesOf = (seq: number): string[] => s.logger.lines.filter((l) => l.includes(`ERR#${seq} `));

/** The handler error without its `cause`, for toEqual. */
const shown = (e: HandlerError | undefined) => e && { ...e, cause: undefined };

describe('the original handler error', () => {
  it('is in the settled event: message, class name, code and the thrown value', async () => {
    const plain = await publish('err.plain.1');
    const coded = await publish('err.coded.1');
    await waitFor(() => outcomesOf(s.settled, plain).length === 2, 5000, 'plain settled');
    await waitFor(() => outcomesOf(s.settled, coded).length === 2, 5000, 'coded settled');
    expect(outcomesOf(s.settled, plain)).toEqual(['nak', 'dead-letter']);
    for (const e of eventsOf('ERR', plain))
      expect(shown(e.error)).toEqual({
        name: 'Error',
        message: 'card declined (transient)',
        cause: undefined,
      });
    for (const e of eventsOf('ERR', coded)) {
      expect(shown(e.error)).toEqual({
        name: 'PaymentError',
        message: 'card declined (transient)',
        code: 'CARD_DECLINED',
        cause: undefined,
      });
      expect(e.error?.cause).toBeInstanceOf(PaymentError);
    }
  });

  it('is in the dead-letter headers: message, class name and code', async () => {
    const coded = await publish('err.coded.2');
    const plain = await publish('err.plain.2');
    await waitFor(
      () =>
        outcomesOf(s.settled, coded).includes('dead-letter') &&
        outcomesOf(s.settled, plain).includes('dead-letter'),
      5000,
      'dead letters',
    );
    const jsm = await nc.jetstreamManager();
    const headersOf = async (subject: string) => {
      const h = (await jsm.streams.getMessage('ERRDLQ', { lastBySubject: subject })).headers!;
      return {
        error: h.get('Nats-Dead-Letter-Error'),
        name: h.get('Nats-Dead-Letter-Error-Name'),
        code: h.has('Nats-Dead-Letter-Error-Code') ? h.get('Nats-Dead-Letter-Error-Code') : null,
      };
    };
    expect(await headersOf('errdlq.coded')).toEqual({
      error: 'card declined (transient)',
      name: 'PaymentError',
      code: 'CARD_DECLINED',
    });
    expect(await headersOf('errdlq.plain')).toEqual({
      error: 'card declined (transient)',
      name: 'Error',
      code: null,
    });
  });

  it('is in the log lines, once per outcome, with its class and code', async () => {
    const seq = await publish('err.coded.3');
    await waitFor(() => outcomesOf(s.settled, seq).length === 2, 5000, 'settled');
    const ours = linesOf(seq);
    expect(ours).toEqual([
      expect.stringMatching(
        /^warn: JetStream handler ERR\/coded: nak \(retry in 20 ms\) ERR#\d+ \(err\.coded\.3, delivery 1\): PaymentError \[CARD_DECLINED\]: card declined \(transient\)/,
      ),
      expect.stringMatching(
        /^warn: JetStream handler ERR\/coded: dead-letter to errdlq\.coded ERR#\d+ \(err\.coded\.3, delivery 2\): PaymentError \[CARD_DECLINED\]: card declined \(transient\)/,
      ),
    ]);
    expect(ours.join('\n')).not.toMatch(/Internal server error/);
  });

  it('is reported even when an exception filter rewrites it for callers', async () => {
    const seq = await publish('err.masked.1');
    await waitFor(() => outcomesOf(s.settled, seq).length === 2, 5000, 'settled');
    expect(eventsOf('ERR', seq).map((e) => shown(e.error))).toEqual([
      {
        name: 'PaymentError',
        message: 'hidden from callers, not from operators',
        code: 'CARD_DECLINED',
        cause: undefined,
      },
      {
        name: 'PaymentError',
        message: 'hidden from callers, not from operators',
        code: 'CARD_DECLINED',
        cause: undefined,
      },
    ]);
  });

  it('an RpcException: its class, its error object’s message and code; terminal still terms', async () => {
    const rpc = await publish('err.rpc.1');
    const term = await publish('err.term.1');
    await waitFor(() => outcomesOf(s.settled, rpc).length === 2, 5000, 'rpc settled');
    await waitFor(() => outcomesOf(s.settled, term).length === 1, 5000, 'term settled');
    expect(shown(eventsOf('ERR', rpc)[0].error)).toEqual({
      name: 'RpcException',
      message: 'bad input',
      code: 'E_INPUT',
      cause: undefined,
    });
    expect(eventsOf('ERR', term).map((e) => [e.outcome, e.error?.message])).toEqual([
      ['term', 'never again'],
    ]);
  });

  it('a message given up without a dead-letter subject: one error line says so, no retry line', async () => {
    const seq = await publish('err.rpc.2');
    await waitFor(() => outcomesOf(s.settled, seq).length === 2, 5000, 'settled');
    const ours = linesOf(seq);
    expect(ours).toEqual([
      expect.stringMatching(
        /^warn: .*nak \(retry in 20 ms\) .*delivery 1\): RpcException \[E_INPUT\]: bad input/,
      ),
      expect.stringMatching(
        /^error: JetStream handler ERR\/rpc: gave up on ERR#\d+ \(err\.rpc\.2, delivery 2\) \(no deadLetterSubject\): it was its last allowed delivery \(maxDeliver 2\), so it stays in the stream and is not delivered again\. Handler error: RpcException \[E_INPUT\]: bad input/,
      ),
    ]);
  });

  it('an error thrown by a pipe before the handler is kept too', async () => {
    const seq = await publish('err.pipe.1', 'not a number');
    await waitFor(() => outcomesOf(s.settled, seq).length === 2, 5000, 'settled');
    expect(shown(eventsOf('ERR', seq)[0].error)).toEqual({
      name: 'BadRequestException',
      message: expect.stringMatching(/numeric string is expected/),
      cause: undefined,
    });
  });
});

describe('request-reply callers still get what Nest’s filters decide', () => {
  const sendErr = (subject: string) =>
    firstValueFrom(client.send(subject, {})).then(
      (v) => {
        throw new Error('expected an error reply, got ' + JSON.stringify(v));
      },
      (e: unknown) => e as ServiceError,
    );

  it('Nest’s default filter: "Internal server error", not the handler’s message', async () => {
    const err = await sendErr('rr.err.plain');
    expect(err).toBeInstanceOf(ServiceError);
    expect({ description: err.description, details: err.details }).toEqual({
      description: 'Internal server error',
      details: { status: 'error', message: 'Internal server error' },
    });
  });

  it('an app’s own filter', async () => {
    const err = await sendErr('rr.err.masked');
    expect({ description: err.description, details: err.details }).toEqual({
      description: 'masked',
      details: { status: 'error', message: 'masked' },
    });
  });
});

describe('log levels', () => {
  it('a message handled successfully logs nothing at log or verbose level, one debug line', async () => {
    const seq = await publish('err.ok.1');
    await waitFor(() => outcomesOf(s.settled, seq).length === 1, 5000, 'acked');
    const ours = linesOf(seq);
    expect(ours).toEqual([
      expect.stringMatching(
        /^debug: JetStream handler ERR\/ok: ack ERR#\d+ \(err\.ok\.1, delivery 1\)/,
      ),
    ]);
    expect(s.logger.lines.filter((l) => /^(log|verbose):/.test(l) && l.includes('ERR#'))).toEqual(
      [],
    );
  });
});
