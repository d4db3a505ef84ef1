// `deadLetter: 'advisory'`: the server, not the handler, says when a message is given up. It
// publishes MAX_DELIVERIES when a message reached `maxDeliver` (a failed last attempt, a handler
// that hung past its ack wait, an instance that died holding it) and MSG_TERMINATED when one was
// termed. One instance of the app (a queue group) reads the original by its stream sequence and
// stores it on the dead-letter subject with the reason; the original itself is left as it is.
import {
  JetStreamApiError,
  JsApiCode,
  StreamNotFoundError,
  type MsgHeaders,
  type InFlight,
  type Msg,
  type NatsConnection,
  type Subscription,
} from '../../core/internal.js';
import type { JetStreamClient, JetStreamManager, StoredMsg } from '../../jetstream/internal.js';
import type { JetStreamHandlerOptions } from './jetstream-handler.decorator.js';
import { deadLetterHeaders } from './dead-letter-headers.js';
import type { WorkerLog } from './failure-policy.js';
import { consumerNames } from './partitions/durables.js';
import type { SettledEvent } from './jetstream-worker.js';
import { ProvisioningError } from './provisioner.js';

/** The advisories that dead-letter a message, by the token of their subject. */
const ADVISORIES = ['MAX_DELIVERIES', 'MSG_TERMINATED'] as const;
type AdvisoryKind = (typeof ADVISORIES)[number];

/** The JSON of both advisories (MSG_TERMINATED adds `consumer_seq` and `reason`). */
interface ConsumerAdvisoryWire {
  type: string;
  timestamp: string;
  stream: string;
  consumer: string;
  stream_seq: number;
  deliveries: number;
  consumer_seq?: number;
  /** Set by `+TERM <reason>` (2.10.4+) or by the server ("Message deleted by stream limits"). */
  reason?: string;
}

// Every instance subscribes; the queue group gives each advisory to one of them.
const QUEUE = 'nestjs-nats-dead-letter';

/** What an `AdvisoryDeadLetters` needs. */
export interface AdvisoryDeadLetterOptions {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  options: JetStreamHandlerOptions;
  /** Each dead letter being stored is tracked, so the transport's `close()` waits for it. */
  inFlight: InFlight;
  log: WorkerLog;
  /** Reports each message stored (outcome `dead-letter`). */
  onDeadLetter: (e: SettledEvent) => void;
}

/**
 * Starts the advisory dead-lettering of a `deadLetter: 'advisory'` handler (the transport
 * stops it on `close()`); resolves undefined for any other handler.
 */
export async function startAdvisoryDeadLetters(o: {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  options: JetStreamHandlerOptions;
  inFlight: InFlight;
  logger: { warn(text: string): void; error(text: string): void; debug(text: string): void };
  where: string;
  settled: (e: SettledEvent) => void;
}): Promise<AdvisoryDeadLetters | undefined> {
  if (o.options.deadLetter !== 'advisory') return undefined;
  const { logger, where } = o;
  const dead = new AdvisoryDeadLetters({
    ...o,
    log: {
      debug: (text) => logger.debug(`${where}: ${text}`),
      warn: (text) => logger.warn(`${where}: ${text}`),
      error: (err) => logger.error(`${where}: ${errorText(err)}`),
    },
    onDeadLetter: o.settled,
  });
  await dead.start();
  return dead;
}

/** The dead-letter side of a `deadLetter: 'advisory'` handler. */
export class AdvisoryDeadLetters {
  private subs: Subscription[] = [];

  constructor(private readonly o: AdvisoryDeadLetterOptions) {}

  /**
   * Checks that a stream takes the dead-letter subject (`ProvisioningError` otherwise) and
   * subscribes to the handler's advisories.
   */
  async start(): Promise<void> {
    const { jsm, options, log } = this.o;
    const subject = options.deadLetterSubject;
    const where = `deadLetter 'advisory' on ${options.stream}/${options.durable}`;
    if (subject === undefined)
      throw new ProvisioningError(`${where} needs a deadLetterSubject to store dead letters on`);
    try {
      await jsm.streams.find(subject);
    } catch (err) {
      if (!(err instanceof StreamNotFoundError)) throw err;
      throw new ProvisioningError(
        `${where}: no stream takes the deadLetterSubject ${subject}; declare one in ServerNats options.streams`,
        err,
      );
    }
    const retention = (await jsm.streams.info(options.stream)).config.retention ?? 'limits';
    if (retention !== 'limits')
      log.warn(
        `stream ${options.stream} has ${retention} retention: a termed message is removed ` +
          'before its advisory arrives, so its dead letter carries the reason but no body ' +
          '(Nats-Dead-Letter-Missing); messages past maxDeliver stay in the stream',
      );
    // A partitioned handler's consumers are `<durable>-<n>`: all of the stream's are read and
    // the others skipped.
    const partitioned = options.partitions !== undefined;
    const ours = new Set(consumerNames(options));
    for (const kind of ADVISORIES) {
      const sub = this.o.nc.subscribe(
        `$JS.EVENT.ADVISORY.CONSUMER.${kind}.${options.stream}.${partitioned ? '*' : options.durable}`,
        {
          queue: QUEUE,
          callback: (msg) => {
            if (ours.has(msg.subject.slice(msg.subject.lastIndexOf('.') + 1)))
              this.o.inFlight.track(this.onAdvisory(kind, msg));
          },
        },
      );
      this.subs.push(sub);
    }
    await this.o.nc.flush();
  }

  /** Stops listening; dead letters being stored finish (tracked by `inFlight`). */
  stop(): void {
    for (const sub of this.subs) sub.unsubscribe();
    this.subs = [];
  }

  private async onAdvisory(kind: AdvisoryKind, msg: Msg): Promise<void> {
    const { js, jsm, options, log } = this.o;
    let adv: ConsumerAdvisoryWire;
    try {
      adv = msg.json<ConsumerAdvisoryWire>();
      if (!Number.isSafeInteger(adv.stream_seq)) throw new Error('no stream_seq');
    } catch (err) {
      log.error(`unreadable ${kind} advisory on ${msg.subject}: ${errorText(err)}`);
      return;
    }
    const what = `${adv.stream}#${adv.stream_seq} (${kind}, delivery ${adv.deliveries})`;
    let original: StoredMsg | undefined;
    try {
      original = await jsm.streams.getMessage(adv.stream, { seq: adv.stream_seq });
    } catch (err) {
      if (!isMissing(err)) {
        log.error(`could not read ${what} to dead-letter it: ${errorText(err)}`);
        return;
      }
    }
    const headers = advisoryHeaders(kind, adv, original);
    const subject = options.deadLetterSubject as string;
    try {
      await js.publish(subject, original?.data ?? new Uint8Array(0), {
        headers,
        // One dead letter per message and consumer, however many advisories name it.
        msgId: `dead-letter:${adv.stream}:${adv.consumer}:${adv.stream_seq}`,
        retries: 0,
      });
    } catch (err) {
      log.error(`could not dead-letter ${what} to ${subject}: ${errorText(err)}`);
      return;
    }
    const reason = adv.reason ? `: ${adv.reason}` : '';
    if (original === undefined)
      log.warn(`dead-letter to ${subject} ${what}${reason}, without its body: no longer stored`);
    else log.warn(`dead-letter to ${subject} ${what}${reason}`);
    this.o.onDeadLetter({
      subject: original?.subject ?? '',
      stream: adv.stream,
      consumer: adv.consumer,
      streamSeq: adv.stream_seq,
      numDelivered: adv.deliveries,
      outcome: 'dead-letter',
    });
  }
}

/** The original's headers (less those the dead-letter stream would act on) and the reason. */
function advisoryHeaders(
  kind: AdvisoryKind,
  adv: ConsumerAdvisoryWire,
  original: StoredMsg | undefined,
): MsgHeaders {
  const h = deadLetterHeaders(original?.headers, {
    subject: original?.subject,
    stream: adv.stream,
    consumer: adv.consumer,
    seq: adv.stream_seq,
    deliveries: adv.deliveries,
  });
  h.set('Nats-Dead-Letter-Reason', kind);
  if (adv.reason) h.set('Nats-Dead-Letter-Term-Reason', oneLine(adv.reason));
  if (adv.timestamp) h.set('Nats-Dead-Letter-Time', adv.timestamp);
  return h;
}

/** The message is no longer in the stream (404 from direct get, 10037 from the leader). */
function isMissing(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.apiCode === JsApiCode.NO_MESSAGE_FOUND || err.status === 404)
  );
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').slice(0, 4096);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
