import { JetStreamApiError, type Msg } from '../core/index.js';
import { isJsMsg } from './jsmsg.js';
import { msToNs } from './config.js';
import type { PullRequestWire } from './wire-types.js';

/** How a status message on a pull inbox affects the pull. */
export interface PullStatus {
  code: number;
  description: string;
  /** A terminal status ends consuming altogether (consumer deleted, push based, bad request). */
  terminal: boolean;
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
  return {
    code: h.status,
    description,
    terminal,
    pendingMsgs: Number(h.get('Nats-Pending-Messages') ?? 0) || 0,
    pendingBytes: Number(h.get('Nats-Pending-Bytes') ?? 0) || 0,
  };
}

/** The error a terminal pull status stands for. */
export function statusError(status: PullStatus): JetStreamApiError {
  const text = status.description || `status ${status.code}`;
  return new JetStreamApiError(`pull ended: ${text}`, 0, status.code);
}

/** The JSON body of a `CONSUMER.MSG.NEXT` request, durations converted to nanoseconds. */
export function pullRequest(
  batch: number,
  expires: number,
  maxBytes?: number,
  heartbeat?: number,
): PullRequestWire {
  const req: PullRequestWire = { batch, expires: msToNs(expires) };
  if (maxBytes !== undefined && maxBytes > 0) req.max_bytes = maxBytes;
  if (heartbeat !== undefined && heartbeat > 0) req.idle_heartbeat = msToNs(heartbeat);
  return req;
}

/** Bytes a delivered message counts against `max_bytes`. */
export function msgSize(msg: Msg): number {
  const h = msg.hasHeaders ? (msg.headers?.encode().length ?? 0) : 0;
  return msg.subject.length + msg.reply.length + h + msg.data.length;
}
