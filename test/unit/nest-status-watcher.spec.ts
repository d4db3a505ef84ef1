// The status watcher that ServerNats and ClientNats share, fed a scripted list of connection
// events: what reaches Nest's status observable, the on() listeners and the log, per caller.
import { EventEmitter } from 'node:events';
import {
  ConnectionClosedError,
  type NatsConnection,
  type Status,
} from '../../lib/core/internal.js';
import { watchStatus, type StatusWatcherOptions } from '../../lib/nest/status-watcher.js';

const script: Status[] = [
  { type: 'discoveredServers', servers: ['nats://b:4222'] },
  { type: 'disconnect', server: 'nats://a:4222' },
  { type: 'reconnecting', attempt: 1 },
  { type: 'reconnect', server: 'nats://b:4222' },
  { type: 'lameDuck', server: 'nats://b:4222' },
  { type: 'error', error: new ConnectionClosedError('slow') },
  { type: 'close' },
];

async function* events(list: Status[]): AsyncIterable<Status> {
  for (const s of list) yield await Promise.resolve(s);
}

async function watch(extra: Partial<StatusWatcherOptions> = {}) {
  const states: string[] = [];
  const emitted: [string, unknown][] = [];
  const emitter = new EventEmitter();
  for (const name of ['disconnected', 'reconnecting', 'reconnected'])
    emitter.on(name, (arg: unknown) => emitted.push([name, arg]));
  const nc = { connectedUrl: 'nats://a:4222' } as NatsConnection;
  await watchStatus(nc, events(script), {
    status: { next: (s) => states.push(s) },
    events: emitter,
    ...extra,
  });
  return { states, emitted };
}

function recordingLog() {
  const lines: string[] = [];
  return {
    lines,
    log: {
      log: (t: string) => lines.push(`log ${t}`),
      warn: (t: string) => lines.push(`warn ${t}`),
      error: (t: string) => lines.push(`error ${t}`),
    },
  };
}

const reported: [string, unknown][] = [
  ['disconnected', 'nats://a:4222'],
  ['reconnecting', 1],
  ['reconnected', 'nats://b:4222'],
];

describe('watchStatus', () => {
  it('as ClientNats uses it: the status and events of a loss and reconnect, no log', async () => {
    const { states, emitted } = await watch();
    expect(states).toEqual(['disconnected', 'reconnecting', 'connected']);
    expect(emitted).toEqual(reported);
  });

  it('as ServerNats uses it on its own connection: also logs the loss and the reconnect', async () => {
    const { lines, log } = recordingLog();
    const { states, emitted } = await watch({ log });
    expect(states).toEqual(['disconnected', 'reconnecting', 'connected']);
    expect(emitted).toEqual(reported);
    expect(lines).toEqual([
      'warn disconnected from nats://a:4222',
      'log reconnected to nats://b:4222',
    ]);
  });

  it('on a shared connection: logs its errors and reports its closing at the last server', async () => {
    const { lines, log } = recordingLog();
    const { states, emitted } = await watch({ log, shared: { serving: () => true } });
    expect(states).toEqual(['disconnected', 'reconnecting', 'connected', 'disconnected']);
    expect(emitted).toEqual([...reported, ['disconnected', 'nats://b:4222']]);
    expect(lines).toEqual([
      'warn disconnected from nats://a:4222',
      'log reconnected to nats://b:4222',
      'error CONNECTION_CLOSED: slow',
      'warn the shared connection closed: the handlers receive no more messages',
    ]);
  });

  it('on a shared connection the transport no longer serves: its closing is not reported', async () => {
    const { lines, log } = recordingLog();
    const { states } = await watch({ log, shared: { serving: () => false } });
    expect(states).toEqual(['disconnected', 'reconnecting', 'connected']);
    expect(lines.at(-1)).toBe('error CONNECTION_CLOSED: slow');
  });
});
