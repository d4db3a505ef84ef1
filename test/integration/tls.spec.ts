// TLS against real nats-server processes serving the generated test certificates.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ConnectionError,
  connect,
  type ConnectOptions,
  type NatsConnection,
} from '../../lib/core/index.js';
import {
  startServer,
  stopAllServers,
  tlsFixtures,
  type NatsServerHandle,
  type TlsFixtures,
} from '../support/index.js';

afterAll(stopAllServers);

const open: NatsConnection[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((nc) => nc.close()));
});

async function client(opts: ConnectOptions): Promise<NatsConnection> {
  const nc = await connect({ timeout: 2000, ...opts });
  open.push(nc);
  return nc;
}

/** Connect options that must fail; resolves with the error. */
async function refused(opts: ConnectOptions): Promise<ConnectionError> {
  const err = await connect({ timeout: 2000, ...opts }).then(
    (nc) => {
      open.push(nc);
      return new Error('connected, but should not have');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConnectionError);
  expect((err as ConnectionError).code).toBe('CONNECTION_ERROR');
  return err as ConnectionError;
}

/** The TLS version the server reports for the connection with this name ('' for plain). */
async function tlsVersionOf(server: NatsServerHandle, name: string): Promise<string> {
  const res = await fetch(`${server.monitorUrl}/connz`);
  const connz = (await res.json()) as {
    connections: Array<{ name?: string; tls_version?: string }>;
  };
  const conn = connz.connections.find((c) => c.name === name);
  if (conn === undefined) throw new Error(`no connection named ${name} in connz`);
  return conn.tls_version ?? '';
}

async function roundTrip(nc: NatsConnection, subject: string): Promise<void> {
  const sub = nc.subscribe(subject);
  nc.publish(subject, 'over tls');
  expect((await sub.nextMsg(2000)).string()).toBe('over tls');
}

describe('TLS', () => {
  let f: TlsFixtures;
  let required: NatsServerHandle;
  let optional: NatsServerHandle;
  let mutual: NatsServerHandle;
  let plain: NatsServerHandle;
  beforeAll(async () => {
    f = await tlsFixtures();
    [required, optional, mutual, plain] = await Promise.all([
      startServer({ tls: {}, monitor: true }),
      startServer({ tls: { required: false }, monitor: true }),
      startServer({ tls: { verifyClient: true } }),
      startServer(),
    ]);
  });

  it('connects with a tls:// URL, verifying the server certificate against the CA', async () => {
    for (const host of ['localhost', '127.0.0.1']) {
      const name = `tls-url-${host}`;
      const nc = await client({
        servers: `tls://${host}:${required.port}`,
        tls: { caFile: f.caFile },
        name,
      });
      expect(nc.info.tls_required).toBe(true);
      expect(nc.connectedUrl).toBe(`tls://${host}:${required.port}`);
      expect(await tlsVersionOf(required, name)).toMatch(/^1\.[23]$/);
      await roundTrip(nc, `tls.url.${host.replace(/\./g, '-')}`);
    }
  });

  it('forces TLS when tls options are given, even with a nats:// URL', async () => {
    const secure = await client({
      servers: optional.url,
      tls: { caFile: f.caFile },
      name: 'forced',
    });
    const clear = await client({ servers: optional.url, name: 'clear' });
    expect(await tlsVersionOf(optional, 'forced')).toMatch(/^1\.[23]$/);
    expect(await tlsVersionOf(optional, 'clear')).toBe('');
    await roundTrip(secure, 'tls.forced');
    await roundTrip(clear, 'tls.clear');
  });

  it('never falls back to plain text when TLS is asked for and the server has none', async () => {
    await refused({ servers: `tls://127.0.0.1:${plain.port}`, tls: { caFile: f.caFile } });
    await refused({ servers: plain.url, tls: true });
  });

  it('upgrades after INFO when the server requires TLS, verifying the certificate by default', async () => {
    // No CA given: the client must upgrade (not send CONNECT in clear) and then refuse the
    // self-signed test CA.
    const err = await refused({ servers: required.url });
    expect(err.message).toMatch(/certificate/i);
    expect(err.message).not.toMatch(/TLS Required/i);
    const nc = await client({ servers: required.url, tls: { caFile: f.caFile }, name: 'upgraded' });
    expect(await tlsVersionOf(required, 'upgraded')).toMatch(/^1\.[23]$/);
    await roundTrip(nc, 'tls.upgraded');
  });

  it('rejects a server certificate signed by an unknown CA with a clear error', async () => {
    const err = await refused({
      servers: `tls://localhost:${required.port}`,
      tls: { caFile: f.otherCaFile },
    });
    expect(err.message).toMatch(/certificate/i);
    expect(err.message).toContain(`localhost:${required.port}`);
  });

  it('rejects a certificate that does not match the host name', async () => {
    const err = await refused({
      servers: `tls://127.0.0.1:${required.port}`,
      tls: { caFile: f.caFile, servername: 'wrong.example.com' },
    });
    expect(err.message).toMatch(/wrong\.example\.com|altname|host ?name/i);
  });

  it('skips verification only when told to with rejectUnauthorized: false', async () => {
    const nc = await client({
      servers: `tls://localhost:${required.port}`,
      tls: { caFile: f.otherCaFile, rejectUnauthorized: false },
    });
    await roundTrip(nc, 'tls.unverified');
  });

  it('presents a client certificate for mutual TLS and fails without one', async () => {
    const nc = await client({
      servers: `tls://localhost:${mutual.port}`,
      tls: { caFile: f.caFile, certFile: f.clientCertFile, keyFile: f.clientKeyFile },
    });
    expect(nc.info.tls_verify).toBe(true);
    await roundTrip(nc, 'tls.mutual');
    await refused({ servers: `tls://localhost:${mutual.port}`, tls: { caFile: f.caFile } });
  });

  it('reconnects over TLS after a server restart', async () => {
    const server = await startServer({ tls: {}, monitor: true });
    let reconnected = false;
    const nc = await client({
      servers: `tls://localhost:${server.port}`,
      tls: { caFile: f.caFile },
      name: 'tls-reconnect',
      reconnectTimeWait: 50,
      reconnectJitterTls: 20,
      onReconnect: () => (reconnected = true),
    });
    const sub = nc.subscribe('tls.after');
    await server.restart();
    for (let i = 0; i < 400 && !reconnected; i++) await sleep(10);
    expect(reconnected).toBe(true);
    expect(await tlsVersionOf(server, 'tls-reconnect')).toMatch(/^1\.[23]$/);
    nc.publish('tls.after', 'over tls');
    expect((await sub.nextMsg(2000)).string()).toBe('over tls');
  });
});
