import {
  Ack,
  InvalidOptionError,
  MsgView,
  serverAtLeast,
  type HeadersInit,
  type Msg,
  type NatsConnection,
} from '../core/internal.js';
import { settleSpan, type SettleKind } from './telemetry.js';
import { msToNs } from './wire-convert.js';

/** What the ack subject of a JetStream message tells about it. */
export interface JsMsgMetadata {
  /** The stream the message is stored in. */
  stream: string;
  /** The consumer that delivered it. */
  consumer: string;
  /** The JetStream domain, '' when none. */
  domain: string;
  /** Routing hash of the account ('' in the 9-token form). */
  accountHash: string;
  /** Its position: the stream sequence and the consumer's delivery sequence. */
  sequence: {
    /** The message's sequence in the stream. */
    stream: number;
    /** The consumer's delivery sequence (redeliveries count too). */
    consumer: number;
  };
  /** Deliveries of this message so far (1 on the first). */
  numDelivered: number;
  /** Messages still pending for the consumer after this one. */
  numPending: number;
  /** When the message was stored. */
  timestamp: Date;
  /** The storage time in Unix nanoseconds, exactly. */
  timestampNanos: bigint;
}

function num(token: string, reply: string): number {
  if (!/^\d+$/.test(token)) throw notJs(reply);
  return Number(token);
}

function notJs(reply: string): InvalidOptionError {
  return new InvalidOptionError(`not a JetStream message: reply ${JSON.stringify(reply)}`);
}

/**
 * Parses an ack subject. The v1 form is `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.
 * <ns>.<pending>` (9 tokens); the v2 form puts `<domain>.<account hash>` after `$JS.ACK` (11
 * tokens; the domain is `_` when there is none). nats-server 2.14 sends v2 under the feature
 * flag `js_ack_fc_v2`, and accepts more tokens after the 11th for later extension (ADR-15 once
 * planned a random token there), so those are ignored. Throws `InvalidOptionError` otherwise.
 */
export function parseAckSubject(reply: string): JsMsgMetadata {
  const t = reply.split('.');
  if (t.length < 9 || t.length === 10 || t[0] !== '$JS' || t[1] !== 'ACK') throw notJs(reply);
  let domain = '';
  let accountHash = '';
  let i = 2;
  if (t.length >= 11) {
    domain = t[2] === '_' ? '' : t[2];
    accountHash = t[3];
    i = 4;
  }
  if (!/^\d+$/.test(t[i + 5])) throw notJs(reply);
  const nanos = BigInt(t[i + 5]);
  return {
    stream: t[i],
    consumer: t[i + 1],
    domain,
    accountHash,
    numDelivered: num(t[i + 2], reply),
    sequence: { stream: num(t[i + 3], reply), consumer: num(t[i + 4], reply) },
    timestampNanos: nanos,
    timestamp: new Date(Number(nanos / 1_000_000n)),
    numPending: num(t[i + 6], reply),
  };
}

/** True when `msg` is a JetStream-delivered message (its reply is an ack subject). */
export function isJsMsg(msg: Msg): boolean {
  return msg.reply.startsWith('$JS.ACK.');
}

/**
 * A message delivered by a JetStream consumer. Acks go to its reply subject; after the first
 * terminal ack (ack, nak, term) further acks are ignored and send nothing.
 */
export class JsMsg extends MsgView {
  private acked = false;
  private meta: JsMsgMetadata | undefined;

  constructor(
    msg: Msg,
    private readonly nc: NatsConnection,
  ) {
    super(msg);
  }

  /** The stream sequence (shortcut for `metadata.sequence.stream`). */
  get seq(): number {
    return this.metadata.sequence.stream;
  }
  /** Parsed from the ack subject on first access. */
  get metadata(): JsMsgMetadata {
    this.meta ??= parseAckSubject(this.msg.reply);
    return this.meta;
  }
  /** True once a terminal ack (ack, nak, term) was sent. */
  get isAcked(): boolean {
    return this.acked;
  }

  /** Publishes to the reply (ack) subject, as `Msg.respond()` does. */
  respond(data?: Uint8Array | string, opts?: { headers?: HeadersInit }): Promise<void> | undefined {
    return this.msg.respond(data, opts);
  }

  /** Acknowledges the message. */
  ack(): void {
    this.terminal(Ack.ACK, 'ack');
  }

  /** Asks for redelivery, after `delay` milliseconds when given. */
  nak(delay?: number): void {
    this.terminal(delay && delay > 0 ? `${Ack.NAK} {"delay": ${msToNs(delay)}}` : Ack.NAK, 'nak');
  }

  /** Resets the ack-wait timer (work in progress). May be repeated; ignored once acked. */
  inProgress(): void {
    if (!this.acked) void this.msg.respond(Ack.PROGRESS);
  }

  /**
   * Stops redelivery. The reason is sent only to servers that understand it (2.10.4+); one too
   * long for a single message is cut to fit the server's max_payload (ending `... (truncated)`).
   */
  term(reason?: string): void {
    const body =
      reason && supportsTermReason(this.nc) ? termBody(reason, this.nc.maxPayload) : Ack.TERM;
    this.terminal(body, 'term');
  }

  /**
   * Acknowledges and waits for the server to confirm. Rejects with `TimeoutError`; resolves at
   * once when the message was already acked.
   */
  async ackSync(timeout?: number): Promise<void> {
    if (this.acked) return;
    this.acked = true;
    const span = settleSpan(this.nc, this, 'ack');
    try {
      await this.nc.request(this.msg.reply, Ack.ACK, { timeout: timeout ?? 5000 });
      span?.end();
    } catch (err) {
      this.acked = false;
      span?.end(err);
      throw err;
    }
  }

  /** Sends a terminal ack; a `settle` span around it when the connection traces settles. */
  private terminal(body: string, kind: SettleKind): void {
    if (this.acked) return;
    const span = settleSpan(this.nc, this, kind);
    if (span === undefined) {
      void this.msg.respond(body);
    } else {
      try {
        void this.msg.respond(body);
      } catch (err) {
        span.end(err);
        throw err;
      }
      span.end();
    }
    this.acked = true;
  }
}

// nats-server 2.10.4 (nats-server#4697) reads a reason after `+TERM` into its advisory; older
// servers match `+TERM` exactly and would not take `+TERM <reason>` for a term.
function supportsTermReason(nc: NatsConnection): boolean {
  return serverAtLeast(nc, TERM_REASON_SINCE);
}

/** The first nats-server release that reads a reason after `+TERM`. */
export const TERM_REASON_SINCE = '2.10.4';

const TRUNCATED = '... (truncated)';

/**
 * `+TERM <reason>`, the reason cut (on a UTF-8 character boundary) when the whole would exceed
 * `maxPayload`: a stack trace or an error's JSON must not make the term itself fail.
 */
function termBody(reason: string, maxPayload: number): string {
  const body = `${Ack.TERM} ${reason}`;
  if (Buffer.byteLength(body) <= maxPayload) return body;
  const bytes = Buffer.from(body);
  let cut = Math.max(maxPayload - Buffer.byteLength(TRUNCATED), Ack.TERM.length);
  // Back off continuation bytes (10xxxxxx) so no character is split.
  while (cut > 0 && (bytes[cut] & 0xc0) === 0x80) cut--;
  return `${bytes.subarray(0, cut).toString()}${TRUNCATED}`;
}
