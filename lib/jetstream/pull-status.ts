import { ConsumerNotFoundError, JetStreamApiError, type Msg } from '../core/internal.js';
import { isJsMsg } from './jsmsg.js';
import { PriorityGroupError, type PriorityMembers } from './priority.js';
import { msToNs } from './wire-convert.js';
import type { PullRequestWire } from './wire-types.js';

/** How a status message on a pull inbox affects the pull. */
export interface PullStatus {
  code: number;
  description: string;
  /** A terminal status ends consuming altogether (consumer deleted, push based, bad request). */
  terminal: boolean;
  /**
   * The pull broke one of the consumer's limits (`409 Exceeded MaxRequestBatch of 5`,
   * MaxRequestExpires, MaxRequestMaxBytes, MaxWaiting): nothing comes for it until the pull
   * changes, so the user must hear of it.
   */
  warning: boolean;
  /** The limit a `409 Exceeded MaxRequestBatch of <n>` names, else undefined. */
  maxBatch: number | undefined;
  /**
   * 423: the pull carried a pin id, and the `pinned_client` consumer has pinned another client
   * (or none): drop the pin and pull on as a standby.
   */
  pinMismatch: boolean;
  /** Messages of the pull request that were not used (from `Nats-Pending-Messages`). */
  pendingMsgs: number;
  /** Bytes of the pull request that were not used (from `Nats-Pending-Bytes`). */
  pendingBytes: number;
}

/** The status carried by `msg`, or undefined when it is a delivered JetStream message. */
export function pullStatus(msg: Msg): PullStatus | undefined {
  if (isJsMsg(msg) || !msg.hasHeaders) return undefined;
  const h = msg.headers!;
  if (h.status === 0) return undefined;
  const description = h.description;
  const terminal =
    h.status === 400 ||
    (h.status === 409 && /consumer deleted|push based/i.test(description)) ||
    h.status === 503;
  const batchLimit = /exceeded maxrequestbatch of (\d+)/i.exec(description);
  return {
    code: h.status,
    description,
    terminal,
    warning: h.status === 409 && /^exceeded max/i.test(description),
    maxBatch: batchLimit ? Number(batchLimit[1]) : undefined,
    pinMismatch: h.status === 423,
    pendingMsgs: Number(h.get('Nats-Pending-Messages') ?? 0) || 0,
    pendingBytes: Number(h.get('Nats-Pending-Bytes') ?? 0) || 0,
  };
}

/** The error a terminal or warning pull status stands for. */
export function statusError(status: PullStatus): JetStreamApiError {
  const text = status.description || `status ${status.code}`;
  if (status.code === 409 && /consumer deleted/i.test(text))
    return new ConsumerNotFoundError(`pull ended: ${text}`, 0, 409);
  // `Bad Request - Priority Group missing`, `Invalid Priority Group`, `Not a Overflow Priority
  // consumer`... (nats-server 2.11+).
  if (status.code === 400 && /priority/i.test(text))
    return new PriorityGroupError(`pull refused: ${text}`);
  return new JetStreamApiError(
    `pull ${status.warning ? 'refused' : 'ended'}: ${text}`,
    0,
    status.code,
  );
}

/**
 * The JSON body of a `CONSUMER.MSG.NEXT` request, durations converted to nanoseconds, with the
 * priority-group members (see priority.ts).
 */
export function pullRequest(
  batch: number,
  expires: number,
  maxBytes?: number,
  heartbeat?: number,
  priority?: PriorityMembers,
): PullRequestWire {
  const req: PullRequestWire = { batch, expires: msToNs(expires), ...priority };
  if (maxBytes !== undefined && maxBytes > 0) req.max_bytes = maxBytes;
  if (heartbeat !== undefined && heartbeat > 0) req.idle_heartbeat = msToNs(heartbeat);
  return req;
}

/**
 * Bytes a delivered message counts against `max_bytes`, as nats-server counts them: subject,
 * reply and the header block as stored, in bytes, plus the payload.
 */
export function msgSize(msg: Msg): number {
  const subject = Buffer.byteLength(msg.subject) + Buffer.byteLength(msg.reply);
  return subject + msg.headerBytes + msg.data.length;
}
