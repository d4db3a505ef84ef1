import { AssertionError } from 'node:assert';
import {
  ConnectionClosedError,
  ConnectionDrainingError,
  TimeoutError,
} from '../../lib/core/index.js';
import type { ConnectOptions, Status } from '../../lib/core/index.js';
import { ConnectionStateMachine, MOVES, type Phase } from '../../lib/core/connection/state.js';

const PHASES = Object.keys(MOVES) as Phase[];

// A route from the initial phase to each phase, through allowed moves only.
const ROUTE: Record<Phase, Phase[]> = {
  connecting: [],
  connected: ['connected'],
  reconnecting: ['reconnecting'],
  draining: ['connected', 'draining'],
  flushing: ['connected', 'draining', 'flushing'],
  closing: ['connected', 'closing'],
  closed: ['connected', 'closing', 'closed'],
};

interface Probe {
  machine: ConnectionStateMachine;
  events: Status[];
  calls: string[];
  log: string[];
}

function probe(extra: ConnectOptions = {}): Probe {
  const calls: string[] = [];
  const log: string[] = [];
  const events: Status[] = [];
  const opts: ConnectOptions = {
    onError: (e) => calls.push(`error:${e.code}`),
    onDisconnect: (s) => calls.push(`disconnect:${s}`),
    onReconnect: (s) => calls.push(`reconnect:${s}`),
    onClose: (e) => calls.push(`close:${e?.message ?? ''}`),
    onDiscoveredServers: (s) => calls.push(`discovered:${s.join()}`),
    onLameDuck: (s) => calls.push(`lameDuck:${s}`),
    ...extra,
  };
  const machine = new ConnectionStateMachine(opts, (line) => log.push(line));
  const it = machine.iterate();
  // Collect synchronously emitted events: the broadcast queues them for the iterator.
  const drain = async (): Promise<void> => {
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      events.push(r.value);
    }
  };
  void drain();
  return { machine, events, calls, log };
}

function walk(machine: ConnectionStateMachine, to: Phase): void {
  for (const step of ROUTE[to]) machine.transition(step, { server: 'nats://h:4222' });
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('connection state machine', () => {
  it('starts connecting, accepting publishes, with the public state connecting', () => {
    const { machine } = probe();
    expect(machine.phase).toBe('connecting');
    expect(machine.state).toBe('connecting');
    expect(machine.publishable).toBe(true);
    expect(machine.isConnected).toBe(false);
  });

  describe.each(PHASES)('from %s', (from) => {
    it(`allows exactly the moves to ${MOVES[from].join(', ') || 'nowhere'}`, () => {
      for (const to of MOVES[from]) {
        const { machine } = probe();
        walk(machine, from);
        machine.transition(to, { server: 'nats://h:4222' });
        expect(machine.phase).toBe(to);
      }
    });

    const refused = PHASES.filter((to) => !MOVES[from].includes(to));
    it.each(refused.map((to) => [to]))(
      'refuses the move to %s with an AssertionError, changing nothing',
      async (to) => {
        const p = probe();
        walk(p.machine, from);
        await tick();
        const before = p.events.length;
        const calls = p.calls.length;
        expect(() => p.machine.transition(to)).toThrow(AssertionError);
        expect(() => p.machine.transition(to)).toThrow(
          `connection cannot move from ${from} to ${to}`,
        );
        expect(p.machine.phase).toBe(from);
        await tick();
        expect(p.events.length).toBe(before);
        expect(p.calls.length).toBe(calls);
      },
    );
  });

  it('emits connect on the first connected, reconnect after that, counting nothing else', async () => {
    const p = probe();
    p.machine.transition('connected', { server: 'nats://a:4222' });
    p.machine.transition('reconnecting');
    p.machine.transition('connected', { server: 'nats://b:4222' });
    await tick();
    expect(p.events).toEqual([
      { type: 'connect', server: 'nats://a:4222' },
      { type: 'reconnect', server: 'nats://b:4222' },
    ]);
    expect(p.calls).toEqual(['reconnect:nats://b:4222']);
    expect(p.machine.everConnected).toBe(true);
  });

  it('emits connect when waitOnFirstConnect connects from reconnecting', async () => {
    const p = probe();
    p.machine.transition('reconnecting');
    p.machine.announce({ type: 'reconnecting', attempt: 1 });
    p.machine.transition('connected', { server: 'nats://a:4222' });
    await tick();
    expect(p.events.map((e) => e.type)).toEqual(['reconnecting', 'connect']);
  });

  it('emits close (then ends status() and resolves closed) only when closing completes', async () => {
    const p = probe();
    walk(p.machine, 'closing');
    expect(p.machine.isClosed).toBe(true);
    expect(p.machine.state).toBe('closed');
    await tick();
    expect(p.events.map((e) => e.type)).toEqual(['connect']);
    const err = new Error('boom');
    p.machine.transition('closed', { error: err });
    await expect(p.machine.closed).resolves.toBe(err);
    await tick();
    expect(p.events.map((e) => e.type)).toEqual(['connect', 'close']);
    expect(p.calls).toEqual(['close:boom']);
    // status() ended: a new reader gets nothing.
    await expect(p.machine.iterate().next()).resolves.toEqual({ done: true, value: undefined });
  });

  it('closes a first connect that failed without a close event', async () => {
    const p = probe();
    const err = new Error('refused');
    p.machine.transition('closed', { error: err });
    await expect(p.machine.closed).resolves.toBe(err);
    await tick();
    expect(p.events).toEqual([]);
    expect(p.calls).toEqual([]);
  });

  it('announces disconnect and lameDuck only while the link is up', async () => {
    for (const phase of ['connected', 'draining', 'flushing'] as const) {
      const p = probe();
      walk(p.machine, phase);
      p.machine.announce({ type: 'disconnect', server: 'nats://h:4222' });
      p.machine.announce({ type: 'lameDuck', server: 'nats://h:4222' });
      expect(p.calls).toEqual(['disconnect:nats://h:4222', 'lameDuck:nats://h:4222']);
    }
    for (const phase of ['connecting', 'reconnecting', 'closing', 'closed'] as const) {
      const p = probe();
      walk(p.machine, phase);
      expect(() => p.machine.announce({ type: 'disconnect', server: 'x' })).toThrow(AssertionError);
    }
    const closed = probe();
    walk(closed.machine, 'closed');
    expect(() => closed.machine.announce({ type: 'lameDuck', server: 'x' })).toThrow(
      AssertionError,
    );
  });

  it('announces reconnecting attempts only while reconnecting', () => {
    const p = probe();
    expect(() => p.machine.announce({ type: 'reconnecting', attempt: 1 })).toThrow(AssertionError);
    p.machine.transition('reconnecting');
    p.machine.announce({ type: 'reconnecting', attempt: 1 });
    walk(p.machine, 'connected');
    expect(() => p.machine.announce({ type: 'reconnecting', attempt: 2 })).toThrow(AssertionError);
  });

  it('announces discovered servers in every phase but closing and closed', () => {
    const p = probe();
    p.machine.announce({ type: 'discoveredServers', servers: ['nats://c:4222'] });
    expect(p.calls).toEqual(['discovered:nats://c:4222']);
    walk(p.machine, 'closing');
    expect(() => p.machine.announce({ type: 'discoveredServers', servers: [] })).toThrow(
      AssertionError,
    );
  });

  it('reports errors in any phase, closed included', async () => {
    const p = probe();
    walk(p.machine, 'closed');
    p.machine.reportError(new TimeoutError('late'));
    expect(p.calls.at(-1)).toBe('error:TIMEOUT');
  });

  it('warns on stderr, once a minute per code, when there is no onError', () => {
    const p = probe({ onError: undefined });
    const original = process.emitWarning;
    const warned: unknown[] = [];
    process.emitWarning = (w: unknown) => void warned.push(w);
    try {
      p.machine.reportError(new TimeoutError('one'));
      p.machine.reportError(new TimeoutError('two'));
      expect(warned).toEqual(['one']);
    } finally {
      process.emitWarning = original;
    }
  });

  it('refuses publishes from drain’s last step, with the error of the phase', () => {
    const p = probe();
    walk(p.machine, 'draining');
    expect(p.machine.publishable).toBe(true);
    expect(() => p.machine.assertOpen()).toThrow(ConnectionDrainingError);
    p.machine.transition('flushing');
    expect(p.machine.state).toBe('draining');
    expect(p.machine.publishable).toBe(false);
    expect(p.machine.publishRefusal()).toBeInstanceOf(ConnectionDrainingError);
    p.machine.transition('closing');
    expect(p.machine.publishRefusal()).toBeInstanceOf(ConnectionClosedError);
    expect(() => p.machine.assertOpen()).toThrow(ConnectionClosedError);
  });

  it('logs every move and every lifecycle event to its debug hook', () => {
    const p = probe();
    walk(p.machine, 'closed');
    expect(p.log).toEqual([
      'connection connecting -> connected',
      'status connect',
      'connection connected -> closing',
      'connection closing -> closed',
      'status close',
    ]);
  });
});

describe('status events have one source', () => {
  it('only the state machine notifies callbacks or broadcasts status events in lib/core', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const root = join(import.meta.dirname, '../../lib/core');
    const emitters = readdirSync(root, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .filter((f) =>
        /notifyCallbacks\(|new Broadcast<Status>/.test(readFileSync(join(root, f), 'utf8')),
      )
      .filter((f) => f !== 'status.ts');
    expect(emitters).toEqual([join('connection', 'state.ts')]);
  });
});
