// A ServerNats app as the `nats` CLI (natscli, a Go client nobody here wrote) sees it: its
// handlers discovered through the Service API (`nats micro`), its replies and error replies to
// `nats req`.
import {
  natsCli,
  natsCliBin,
  natsCliJson,
  startServer,
  type NatsServerHandle,
} from '../support/index.js';
import { startCalcApp } from './apps/calc.app.js';

let server: NatsServerHandle;
let app: Awaited<ReturnType<typeof startCalcApp>> | undefined;

beforeAll(async () => {
  natsCliBin(); // builds the pinned CLI on a machine that lacks it (once; minutes)
  server = await startServer();
  app = await startCalcApp('cli', {
    servers: server.url,
    queue: 'calc',
    service: {
      name: 'calc',
      version: '1.2.0',
      description: 'calculator',
      metadata: { team: 'core' },
    },
  });
}, 15 * 60_000);

afterAll(async () => {
  await app?.close();
  await server?.stop();
});

/** The shape `nats micro ... --json` prints (snake_case, as on the wire). */
interface CliEndpoint {
  name: string;
  subject: string;
  queue_group?: string;
  num_requests?: number;
  num_errors?: number;
  last_error?: string;
}
interface CliInfo {
  name: string;
  id: string;
  version: string;
  description: string;
  metadata: Record<string, string> | null;
  type: string;
  endpoints: CliEndpoint[];
}

const bySubject = (endpoints: CliEndpoint[], subject: string): CliEndpoint | undefined =>
  endpoints.find((e) => e.subject === subject);

describe('nats micro', () => {
  it('ls lists the ServerNats service with its request handlers as endpoints', async () => {
    const list = await natsCliJson<CliInfo[]>(server, ['micro', 'ls']);
    expect(list).toHaveLength(1);
    const [svc] = list;
    expect(svc).toMatchObject({
      name: 'calc',
      version: '1.2.0',
      description: 'calculator',
      metadata: { team: 'core' },
      type: 'io.nats.micro.v1.info_response',
    });
    expect(svc.id).toMatch(/^\w+$/);
    const subjects = svc.endpoints.map((e) => e.subject);
    expect(subjects).toEqual(expect.arrayContaining(['calc.sum', 'calc.fail', 'calc.wild.*']));
    expect(subjects).not.toContain('calc.events.>'); // events are not request endpoints
    expect(bySubject(svc.endpoints, 'calc.sum')).toMatchObject({
      name: 'calc_sum',
      queue_group: 'calc',
    });
    expect(bySubject(svc.endpoints, 'calc.wild.*')?.name).toBe('calc_wild_any');
    // A handler's own queue (its extras) wins over options.queue.
    expect(bySubject(svc.endpoints, 'calc.queued')?.queue_group).toBe('calc-queued');
  });

  it('info shows the endpoints and stats counting requests the CLI sent', async () => {
    await natsCli(server, ['req', 'calc.sum', '[1,2]', '--raw']);
    await natsCli(server, ['req', 'calc.sum', '[3]', '--raw']);
    await natsCli(server, ['req', 'calc.fail', '"rpc"', '--raw']);

    const shown = await natsCliJson<{ info: CliInfo; stats: CliInfo & { started: string } }>(
      server,
      ['micro', 'info', 'calc'],
    );
    expect(shown.info).toMatchObject({ name: 'calc', version: '1.2.0' });
    expect(shown.info.endpoints.map((e) => e.subject)).toEqual(
      expect.arrayContaining(['calc.sum', 'calc.fail']),
    );
    expect(shown.stats.type).toBe('io.nats.micro.v1.stats_response');
    expect(shown.stats.id).toBe(shown.info.id);
    expect(Number.isNaN(Date.parse(shown.stats.started))).toBe(false);
    expect(bySubject(shown.stats.endpoints, 'calc.sum')).toMatchObject({
      num_requests: 2,
      num_errors: 0,
    });
    expect(bySubject(shown.stats.endpoints, 'calc.fail')).toMatchObject({
      num_requests: 1,
      num_errors: 1,
      last_error: '422:bad input',
    });
  });

  it('ls <name> lists every running instance', async () => {
    const second = await startCalcApp('cli2', {
      servers: server.url,
      queue: 'calc',
      service: { name: 'calc', version: '1.2.0' },
    });
    try {
      const list = await natsCliJson<CliInfo[]>(server, ['micro', 'ls', 'calc']);
      expect(list).toHaveLength(2);
      expect(new Set(list.map((s) => s.id)).size).toBe(2);
    } finally {
      await second.close();
    }
  });
});

describe('nats req', () => {
  it('gets the reply of a @MessagePattern handler', async () => {
    const r = await natsCli(server, ['req', 'calc.sum', '[2,3,4]', '--raw']);
    expect(r.stdout.trim()).toBe('9');
    const wild = await natsCli(server, ['req', 'calc.wild.x', '{"a":1}', '--raw']);
    expect(JSON.parse(wild.stdout)).toEqual({ subject: 'calc.wild.x', data: { a: 1 } });
  });

  it('passes request headers to the handler and shows the reply headers', async () => {
    const r = await natsCli(server, ['req', 'calc.echo-headers', '{}', '-H', 'x-request-id:r-42']);
    // Without --raw the CLI logs each reply header on stderr.
    expect(r.stderr).toMatch(/x-request-id: r-42/i);
    expect(r.stderr).toMatch(/x-app: cli/i);
  });

  it('gets every reply a handler streams, all but the last marked Nats-Stream: more', async () => {
    const r = await natsCli(server, ['req', 'calc.count-records', '3', '--replies', '3']);
    expect(r.stdout.split(/\s+/).filter(Boolean)).toEqual(['0', '1', '2']);
    // Without --raw the CLI logs each reply's headers on stderr, reply after reply.
    const replies = r.stderr.split(/Received with rtt/).slice(1);
    expect(replies).toHaveLength(3);
    replies.forEach((text, i) => expect(text).toMatch(new RegExp(`x-index: ${i}\\b`)));
    expect(replies.map((text) => /Nats-Stream: more/.test(text))).toEqual([true, true, false]);
  });

  it('shows the status code of an RpcException in the Nats-Service-Error-Code header', async () => {
    const r = await natsCli(server, ['req', 'calc.fail', '"rpc"']);
    expect(r.stderr).toMatch(/Nats-Service-Error-Code: 422\b/);
    expect(r.stderr).toMatch(/Nats-Service-Error: bad input\b/);
    expect(JSON.parse(r.stdout)).toEqual({ statusCode: 422, message: 'bad input', field: 'x' });

    const boom = await natsCli(server, ['req', 'calc.fail', '"boom"']);
    expect(boom.stderr).toMatch(/Nats-Service-Error-Code: 500\b/);
  });
});
