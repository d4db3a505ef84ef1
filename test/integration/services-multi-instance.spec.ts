// Several live service instances on one real nats-server: the all-services $SRV.STATS request,
// and string queue-group overrides at group and endpoint level shared between instances.
import type { NatsConnection } from '../../lib/core/index.js';
import { ServiceClient, type Service, type ServiceMsg } from '../../lib/services/index.js';
import { startServer, stopAllServers, type NatsServerHandle } from '../support/index.js';
import { Connections } from './core-helpers.js';

let server: NatsServerHandle;
const conns = new Connections();
let nc: NatsConnection;
let client: ServiceClient;

beforeAll(async () => {
  server = await startServer({ monitor: true });
});
beforeEach(async () => {
  nc = await conns.connect({ servers: server.url });
  // Every instance answers from this process at once; a generous stall keeps a loaded CI
  // machine from ending the collection between two replies.
  client = new ServiceClient(nc, { timeout: 5000, stallTimeout: 500 });
});
afterEach(() => conns.closeAll());
afterAll(stopAllServers);

const echo = (req: ServiceMsg): void => void req.respond(req.data);

/** Starts a service instance on its own connection, as separate processes would. */
async function instance(
  name: string,
  setup: (svc: Service) => void,
): Promise<{ svc: Service; nc: NatsConnection }> {
  const c = await conns.connect({ servers: server.url, name: `${name}-instance` });
  const svc = await c.addService({ name, version: '1.0.0' });
  setup(svc);
  await c.flush();
  return { svc, nc: c };
}

async function requests(subject: string, n: number): Promise<void> {
  await Promise.all(Array.from({ length: n }, (_, i) => nc.request(subject, String(i))));
}

/** The queue group the server holds for each subscribed subject of a client (monitoring). */
async function serverQueueGroups(cid: number): Promise<Record<string, string>> {
  const res = await fetch(`${server.monitorUrl}/connz?subs=detail&cid=${cid}`);
  const body = (await res.json()) as {
    connections: Array<{ subscriptions_list_detail?: Array<{ subject: string; qgroup?: string }> }>;
  };
  const subs = body.connections[0]?.subscriptions_list_detail ?? [];
  return Object.fromEntries(subs.filter((s) => s.qgroup).map((s) => [s.subject, s.qgroup!]));
}

describe('$SRV.STATS for all services', () => {
  it('collects one STATS response per live instance of every service, with their counts', async () => {
    const alpha = (svc: Service): void => {
      svc.addEndpoint('work', { subject: 'alpha.work', handler: echo });
      svc.addEndpoint('fail', {
        subject: 'alpha.fail',
        handler: (req) => req.respondError(409, 'busy'),
      });
    };
    const a1 = await instance('alpha', alpha);
    const a2 = await instance('alpha', alpha);
    const b = await instance('beta', (svc) => svc.addEndpoint('ping', echo));
    await requests('alpha.work', 30);
    await Promise.all([nc.request('alpha.fail'), nc.request('alpha.fail')].map(swallow));
    await requests('ping', 7);

    const stats = await client.stats();
    const byId = new Map(stats.map((s) => [s.id, s]));
    expect(stats.map((s) => s.type)).toEqual(Array(3).fill('io.nats.micro.v1.stats_response'));
    expect([...byId.keys()].sort()).toEqual([a1, a2, b].map((i) => i.svc.info().id).sort());
    expect(stats.map((s) => s.name).sort()).toEqual(['alpha', 'alpha', 'beta']);

    const alphas = [a1, a2].map((i) => byId.get(i.svc.info().id)!);
    for (const s of alphas) expect(s.endpoints.map((e) => e.name)).toEqual(['work', 'fail']);
    const total = (ep: number, field: 'numRequests' | 'numErrors'): number =>
      alphas.reduce((sum, s) => sum + s.endpoints[ep][field], 0);
    // The queue group shares alpha's requests: each is counted once, by one instance.
    expect([total(0, 'numRequests'), total(0, 'numErrors')]).toEqual([30, 0]);
    expect([total(1, 'numRequests'), total(1, 'numErrors')]).toEqual([2, 2]);
    const beta = byId.get(b.svc.info().id)!;
    expect(beta.endpoints).toMatchObject([
      { name: 'ping', subject: 'ping', queueGroup: 'q', numRequests: 7, numErrors: 0 },
    ]);
    // What each instance reports about itself agrees with what was collected.
    for (const i of [a1, a2, b]) {
      const own = await i.svc.stats();
      const collected = byId.get(own.id)!;
      expect(collected.endpoints.map((e) => e.numRequests)).toEqual(
        own.endpoints.map((e) => e.numRequests),
      );
    }
  });
});

describe('queue group overrides between instances', () => {
  it('shares load within a group queue "g1" and an endpoint queue "e1", reported in INFO', async () => {
    const setup = (svc: Service): void => {
      const grp = svc.addGroup('grp', { queueGroup: 'g1' });
      grp.addEndpoint('inherits', echo);
      grp.addEndpoint('own', { handler: echo, queueGroup: 'e1' });
    };
    const instances = [await instance('queues', setup), await instance('queues', setup)];
    await requests('grp.inherits', 40);
    await requests('grp.own', 40);

    const counts = await Promise.all(
      instances.map(async (i) => (await i.svc.stats()).endpoints.map((e) => e.numRequests)),
    );
    // Each request was handled exactly once, and both members of each queue took some
    // (the server picks a member at random: all 40 to one side has odds of 2^-39).
    expect(counts[0][0] + counts[1][0]).toBe(40);
    expect(counts[0][1] + counts[1][1]).toBe(40);
    for (const c of counts.flat()) expect(c).toBeGreaterThan(0);

    for (const { svc, nc: c } of instances) {
      const id = svc.info().id;
      const wire = (await nc.request(`$SRV.INFO.queues.${id}`)).json<{
        endpoints: Array<{ name: string; subject: string; queue_group?: string }>;
      }>();
      expect(
        wire.endpoints.map(({ name, subject, queue_group }) => [name, subject, queue_group]),
      ).toEqual([
        ['inherits', 'grp.inherits', 'g1'],
        ['own', 'grp.own', 'e1'],
      ]);
      const [parsed] = await client.info('queues', id);
      expect(parsed.endpoints.map((e) => e.queueGroup)).toEqual(['g1', 'e1']);
      // The queue groups are the ones the server actually subscribed, not only reported ones.
      expect(await serverQueueGroups(c.clientId!)).toEqual({
        'grp.inherits': 'g1',
        'grp.own': 'e1',
      });
    }
  });
});

function swallow(p: Promise<unknown>): Promise<unknown> {
  return p.catch((err: unknown) => err);
}
