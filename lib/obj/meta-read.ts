import { JetStreamApiError, JsApiCode } from '../core/internal.js';
import type { JetStreamClient } from '../jetstream/internal.js';
import { parseTime } from '../buckets/internal.js';
import type { ObjectInfoWire } from './info.js';

/** A meta message read back: its JSON, sequence and time. */
export interface MetaMsg {
  wire: ObjectInfoWire;
  seq: number;
  time: Date;
}

interface MsgGetReply {
  type?: string;
  message: { seq: number; data?: string; time: string };
}

/**
 * The last message on a meta subject (or a filter such as `$O.<b>.M.>`), or null when there is
 * none: by direct get when the stream allows it, else through the stream leader.
 */
export async function readLastMeta(
  js: JetStreamClient,
  stream: string,
  subject: string,
  direct: boolean,
  timeout = js.api.timeout,
): Promise<MetaMsg | null> {
  const body = { last_by_subj: subject };
  if (direct) {
    const msg = await js.nc.request(`${js.api.prefix}.DIRECT.GET.${stream}`, JSON.stringify(body), {
      timeout,
    });
    const h = msg.headers;
    if (h?.status === 404) return null;
    if (h === undefined || h.status !== 0) {
      throw new JetStreamApiError(h?.description || 'direct get failed', 0, h?.status ?? 500);
    }
    const seq = Number(h.get('Nats-Sequence'));
    return { wire: msg.json<ObjectInfoWire>(), seq, time: parseTime(h.get('Nats-Time-Stamp')) };
  }
  try {
    const r = await js.api.request<MsgGetReply>(`STREAM.MSG.GET.${stream}`, body, timeout);
    const text = Buffer.from(r.message.data ?? '', 'base64').toString('utf8');
    return {
      wire: JSON.parse(text) as ObjectInfoWire,
      seq: r.message.seq,
      time: parseTime(r.message.time),
    };
  } catch (err) {
    if (err instanceof JetStreamApiError && err.apiCode === JsApiCode.NO_MESSAGE_FOUND) return null;
    throw err;
  }
}
