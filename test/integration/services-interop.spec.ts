// Service API interop with nats.js (@nats-io/services): each side discovers and calls the other.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ServiceError as JsServiceError,
  Svcm,
  type ServiceIdentity as JsIdentity,
  type ServiceInfo as JsInfo,
  type ServiceStats as JsStats,
} from '@nats-io/services';
import { connect as jsConnect, type NatsConnection as JsConnection } from '@nats-io/transport-node';
import { ServiceError, type NatsConnection } from '../../lib/core/index.js';
import { ServiceClient, type Service } from '../../lib/services/index.js';
import { startServer, stopAllServers, type NatsServerHandle } from '../support/index.js';
import { Connections, rejection } from './core-helpers.js';

let server: NatsServerHandle;
const conns = new Connections();
let nc: NatsConnection;
let jsnc: JsConnection;

beforeAll(async () => {
  server = await startServer();
});
beforeEach(async () => {
  nc = await conns.connect({ servers: server.url });
  jsnc = await jsConnect({ servers: server.url });
});
afterEach(async () => {
  await jsnc.close();
  await conns.closeAll();
});
afterAll(stopAllServers);

// @nats-io/services pins its own copy of @nats-io/nats-core, whose types differ from the one
// transport-node uses in details irrelevant here; these casts bridge the two at runtime-equal values.
type SvcmConnection = ConstructorParameters<typeof Svcm>[0];
type SvcmMsg = Parameters<typeof JsServiceError.isServiceError>[0];
const svcm = (): Svcm => new Svcm(jsnc as unknown as SvcmConnection);
const asSvcmMsg = (m: unknown): SvcmMsg => m as SvcmMsg;

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of it) out.push(v);
  return out;
}

const jsDiscovery = () => svcm().client({ strategy: 'stall', stall: 150, maxWait: 2000 });

describe('a service written with this library, seen from nats.js', () => {
  let svc: Service;

  beforeEach(async () => {
    svc = await nc.addService({
      name: 'ours',
      version: '1.2.3-rc.1',
      description: 'ours to call',
      metadata: { lang: 'ts' },
    });
    svc.addEndpoint('echo', { subject: 'ours.echo', handler: (req) => void req.respond(req.data) });
    svc.addGroup('ours').addEndpoint('fail', (req) => req.respondError(409, 'conflict', 'why'));
    svc.addEndpoint('throw', {
      subject: 'ours.throw',
      handler: () => {
        throw new Error('kaput');
      },
    });
    await nc.flush();
  });

  it('is discovered by PING, INFO and STATS at every level', async () => {
    const id = svc.info().id;
    const client = jsDiscovery();
    const pings = await collect<JsIdentity>(await client.ping());
    expect(pings.find((p) => p.id === id)).toEqual({
      type: 'io.nats.micro.v1.ping_response',
      name: 'ours',
      id,
      version: '1.2.3-rc.1',
      metadata: { lang: 'ts' },
    });
    const [info] = await collect<JsInfo>(await client.info('ours'));
    expect(info).toMatchObject({ name: 'ours', id, description: 'ours to call' });
    expect(info.endpoints.map((e) => [e.name, e.subject, e.queue_group])).toEqual([
      ['echo', 'ours.echo', 'q'],
      ['fail', 'ours.fail', 'q'],
      ['throw', 'ours.throw', 'q'],
    ]);
    await jsnc.request('ours.echo', 'x');
    const [stats] = await collect<JsStats>(await client.stats('ours', id));
    expect(stats.id).toBe(id);
    expect(new Date(stats.started).getTime()).toBeLessThanOrEqual(Date.now());
    expect(stats.endpoints?.[0]).toMatchObject({ name: 'echo', num_requests: 1, num_errors: 0 });
  });

  it('is called with nats.js requests, error headers included', async () => {
    expect((await jsnc.request('ours.echo', 'hello')).string()).toBe('hello');
    const failed = await jsnc.request('ours.fail');
    expect(JsServiceError.isServiceError(asSvcmMsg(failed))).toBe(true);
    const err = JsServiceError.toServiceError(asSvcmMsg(failed));
    expect([err?.code, err?.message, failed.string()]).toEqual([409, 'conflict', 'why']);
    const thrown = JsServiceError.toServiceError(asSvcmMsg(await jsnc.request('ours.throw')));
    expect([thrown?.code, thrown?.message]).toEqual([500, 'kaput']);
  });
});

describe('a nats.js service, seen from this library', () => {
  it('is discovered by nc.services and called with nc.request, errors as ServiceError', async () => {
    const jsvc = await svcm().add({
      name: 'theirs',
      version: '0.9.0',
      description: 'from nats.js',
      metadata: { lang: 'js' },
    });
    jsvc.addEndpoint('echo', { subject: 'theirs.echo', handler: (_err, m) => m.respond(m.data) });
    const grp = jsvc.addGroup('theirs', 'workers');
    grp.addEndpoint('fail', (_err, m) => m.respondError(422, 'unprocessable', 'bad input'));
    // nats.js ignores what a handler returns: answer from the timer.
    grp.addEndpoint('slow', (_err, m) => void sleep(20).then(() => m.respond('late')));
    await jsnc.flush();
    const id = jsvc.info().id;
    const client = new ServiceClient(nc, { stallTimeout: 150 });

    const pings = await nc.services.ping();
    expect(pings.find((p) => p.id === id)).toEqual({
      type: 'io.nats.micro.v1.ping_response',
      name: 'theirs',
      id,
      version: '0.9.0',
      metadata: { lang: 'js' },
    });
    const [info] = await client.info('theirs', id);
    expect(info).toMatchObject({ name: 'theirs', id, description: 'from nats.js' });
    expect(info.endpoints).toEqual([
      { name: 'echo', subject: 'theirs.echo', queueGroup: 'q' },
      { name: 'fail', subject: 'theirs.fail', queueGroup: 'workers' },
      { name: 'slow', subject: 'theirs.slow', queueGroup: 'workers' },
    ]);

    expect((await nc.request('theirs.echo', 'hi')).string()).toBe('hi');
    expect((await nc.request('theirs.slow')).string()).toBe('late');
    const err = (await rejection(nc.request('theirs.fail'))) as ServiceError;
    expect(err).toBeInstanceOf(ServiceError);
    expect(err).toMatchObject({ serviceCode: 422, description: 'unprocessable' });

    const [stats] = await client.stats('theirs');
    expect(stats.id).toBe(id);
    expect(stats.started).toBeInstanceOf(Date);
    expect(Number.isNaN(stats.started.getTime())).toBe(false);
    // nats.js 3.0.0-25 neither counts respondError() nor times past the synchronous part, so
    // only what every implementation reports is checked here.
    for (const e of stats.endpoints) {
      expect(e.numRequests).toBe(1);
      expect(typeof e.numErrors).toBe('number');
      expect(typeof e.lastError).toBe('string');
      expect(e.processingTime).toBeGreaterThanOrEqual(0);
    }
    await jsvc.stop();
  });
});
