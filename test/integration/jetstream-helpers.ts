// Shared setup of the JetStream integration specs (not a spec file itself).
import { connect, type NatsConnection } from '../../lib/core/index.js';
import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from '../../lib/jetstream/index.js';
import { startServer, stopAllServers, type NatsServerHandle } from '../support/index.js';

/** A JetStream server shared by a spec file, and per-test connections. */
export class JsFixture {
  server!: NatsServerHandle;
  nc!: NatsConnection;
  js!: JetStreamClient;
  jsm!: JetStreamManager;
  private readonly open = new Set<NatsConnection>();
  private counter = 0;

  /** Call from beforeAll/beforeEach/afterEach/afterAll. */
  install(): void {
    beforeAll(async () => {
      this.server = await startServer({ jetstream: true });
    });
    beforeEach(async () => {
      this.nc = await this.connect();
      this.js = jetstream(this.nc);
      this.jsm = await jetstreamManager(this.nc);
    });
    afterEach(async () => {
      const all = [...this.open];
      this.open.clear();
      await Promise.all(all.map((nc) => nc.close().catch(() => undefined)));
    });
    afterAll(stopAllServers);
  }

  async connect(opts: Parameters<typeof connect>[0] = {}): Promise<NatsConnection> {
    const nc = await connect({ servers: this.server.url, ...opts });
    this.open.add(nc);
    return nc;
  }

  /** Counts the messages reaching `subject` from now on, as another connection sees them. */
  async spy(subject: string): Promise<() => number> {
    const spy = await this.connect();
    let n = 0;
    spy.subscribe(subject, { callback: () => void n++ });
    await spy.flush();
    return () => n;
  }

  /** A fresh, unique stream name and subject prefix: `{ stream: 'S3', subj: 's3' }`. */
  names(): { stream: string; subj: string } {
    this.counter++;
    return { stream: `S${this.counter}`, subj: `s${this.counter}` };
  }

  /** Creates a memory stream capturing `<subj>.>` and returns its names. */
  async stream(extra: Record<string, unknown> = {}): Promise<{ stream: string; subj: string }> {
    const n = this.names();
    await this.jsm.streams.add({
      name: n.stream,
      subjects: [`${n.subj}.>`],
      storage: 'memory',
      ...extra,
    });
    return n;
  }
}

/** Timers of `sleep()`s that have not fired yet. */
const sleeping = new Set<NodeJS.Timeout>();

/**
 * Resolves after `ms`. Often the time limit of a `Promise.race`: one the other side won stays
 * pending, and is cleared when its spec file ends, so no timer outlives the file (a worker left
 * with a pending timer when jest ends it is force-exited).
 */
export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(() => {
      sleeping.delete(timer);
      resolve();
    }, ms);
    sleeping.add(timer);
  });

afterAll(() => {
  for (const timer of sleeping) clearTimeout(timer);
  sleeping.clear();
});
