// TLS against real nats-server processes serving the generated test certificates.
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import {
  connect,
  ConnectionError,
  type ConnectOptions,
  InvalidOptionError,
  type NatsConnection,
  NatsError,
} from '../../lib/core/index.js';
import {
  type NatsServerHandle,
  recordStatus,
  startCluster,
  startServer,
  stopAllServers,
  tlsFixtures,
  type TlsFixtures,
} from '../support/index.js';
import { edgeCerts, type EdgeCerts, tlsConfig } from '../support/tls-edge-certs.js';

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

// TLS failure modes: certificate verification, plain-text ports, option errors.
describe('TLS failure modes', () => {
  async function failure(opts: ConnectOptions): Promise<unknown> {
    return connect({ timeout: 2000, reconnect: false, ...opts }).then(
      (nc) => {
        open.push(nc);
        return new Error('connected, but should not have');
      },
      (e: unknown) => e,
    );
  }

  let f: TlsFixtures;
  let c: EdgeCerts;
  let fixture: NatsServerHandle;
  let plain: NatsServerHandle;
  let mutual: NatsServerHandle;

  beforeAll(async () => {
    [f, c] = await Promise.all([tlsFixtures(), edgeCerts()]);
    [fixture, plain, mutual] = await Promise.all([
      startServer({ tls: {} }),
      startServer(),
      startServer({ tls: { verifyClient: true } }),
    ]);
  });

  describe('TLS: certificate verification', () => {
    it('refuses a server certificate issued for another host name (URL host localhost)', async () => {
      const s = await startServer({ config: tlsConfig(c.otherHost) });
      const err = await failure({
        servers: `tls://localhost:${s.port}`,
        tls: { caFile: c.caFile },
      });
      expect(err).toBeInstanceOf(ConnectionError);
      expect((err as Error).message).toMatch(/altname|host ?name|localhost/i);
    });

    it('refuses when the URL host (an alias of 127.0.0.1) is not in the certificate', async () => {
      // /etc/hosts maps "vm" to 127.0.0.1; the fixture certificate names localhost and 127.0.0.1 only.
      const err = await failure({ servers: `tls://vm:${fixture.port}`, tls: { caFile: f.caFile } });
      expect(err).toBeInstanceOf(ConnectionError);
      expect((err as Error).message).toMatch(/altname|host ?name|\bvm\b/i);
    });

    it('refuses an expired server certificate with a clear error', async () => {
      const s = await startServer({ config: tlsConfig(c.expired) });
      const err = await failure({
        servers: `tls://localhost:${s.port}`,
        tls: { caFile: c.caFile },
      });
      expect(err).toBeInstanceOf(ConnectionError);
      expect((err as Error).message).toMatch(/expired/i);
    });

    it('refuses a not-yet-valid server certificate with a clear error', async () => {
      const s = await startServer({ config: tlsConfig(c.future) });
      const err = await failure({
        servers: `tls://localhost:${s.port}`,
        tls: { caFile: c.caFile },
      });
      expect(err).toBeInstanceOf(ConnectionError);
      expect((err as Error).message).toMatch(/not yet valid/i);
    });

    it('accepts an expired certificate only with rejectUnauthorized: false', async () => {
      const s = await startServer({ config: tlsConfig(c.expired) });
      const nc = await connect({
        servers: `tls://localhost:${s.port}`,
        tls: { rejectUnauthorized: false },
        timeout: 2000,
      });
      open.push(nc);
      await nc.flush();
    });

    it('verifies a DNS-only certificate for a URL with the host name', async () => {
      const s = await startServer({ config: tlsConfig(c.dnsOnly) });
      const nc = await connect({ servers: `tls://localhost:${s.port}`, tls: { caFile: c.caFile } });
      open.push(nc);
      await nc.flush();
    });

    it('checks gossiped IPs against the configured host name (DNS-only cert, README TLS bullet)', async () => {
      const cluster = await startCluster(2, { config: tlsConfig(c.dnsOnly) });
      try {
        const [a, b] = cluster.servers as [NatsServerHandle, NatsServerHandle];
        const nc = await connect({
          servers: `tls://localhost:${a.port}`,
          tls: { caFile: c.caFile },
          noRandomize: true,
          reconnectTimeWait: 50,
          reconnectJitterTls: 10,
          maxReconnectAttempts: 10,
        });
        open.push(nc);
        const seen = recordStatus(nc);
        // Wait for b's own URL: under load an INFO may first list another member's URL.
        const bUrl = `tls://127.0.0.1:${b.port}`;
        for (let i = 0; i < 500 && !nc.discoveredServers.includes(bUrl); i++) await sleep(10);
        expect(nc.discoveredServers).toContain(bUrl);
        let reconnected = '';
        void (async () => {
          for await (const s of nc.status()) if (s.type === 'reconnect') reconnected = s.server;
        })();
        await a.stop();
        for (let i = 0; i < 400 && !reconnected && !nc.isClosed; i++) await sleep(10);
        const errors = seen
          .filter((s) => s.type === 'disconnect' || s.type === 'close')
          .map((s) => String((s as { error?: Error }).error?.message));
        expect({ reconnected, errors: reconnected ? [] : errors }).toEqual({
          reconnected: `tls://127.0.0.1:${b.port}`,
          errors: [],
        });
      } finally {
        await cluster.stop();
      }
    }, 20_000);
  });

  describe('TLS: plain-text ports and option errors', () => {
    it('says the server does not speak TLS for a tls:// URL to a plain server', async () => {
      const err = await failure({
        servers: `tls://127.0.0.1:${plain.port}`,
        tls: { caFile: f.caFile },
      });
      expect(err).toBeInstanceOf(ConnectionError);
      expect((err as Error).message).toMatch(/TLS/);
      expect((err as Error).message).toMatch(/not|plain|without/i);
    });

    it('says the server does not speak TLS with handshakeFirst to a plain server', async () => {
      const err = await failure({
        servers: `tls://127.0.0.1:${plain.port}`,
        tls: { caFile: f.caFile, handshakeFirst: true },
      });
      expect(err).toBeInstanceOf(ConnectionError);
      expect((err as Error).message).toMatch(/TLS/);
    });

    it('upgrades a plain nats:// URL to a TLS-required server with rejectUnauthorized:false', async () => {
      const nc = await connect({ servers: fixture.url, tls: { rejectUnauthorized: false } });
      open.push(nc);
      await nc.flush();
    });

    it('reports a caFile that does not exist as a typed error naming the file', async () => {
      const missing = join(f.dir, 'no-such-ca.pem');
      const err = await failure({
        servers: `tls://localhost:${fixture.port}`,
        tls: { caFile: missing },
      });
      // Observed: a plain Error "ENOENT: no such file or directory, open '.../no-such-ca.pem'".
      expect(err).toBeInstanceOf(NatsError);
      expect(err instanceof InvalidOptionError || err instanceof ConnectionError).toBe(true);
      expect((err as Error).message).toContain('no-such-ca.pem');
    });

    it('reports a missing caFile as a typed error with handshakeFirst too', async () => {
      const missing = join(f.dir, 'no-such-ca.pem');
      const err = await failure({
        servers: `tls://localhost:${fixture.port}`,
        tls: { caFile: missing, handshakeFirst: true },
      });
      expect(err).toBeInstanceOf(NatsError);
    });

    it('does not loop forever with waitOnFirstConnect when caFile does not exist', async () => {
      const missing = join(f.dir, 'no-such-ca.pem');
      const result = await Promise.race([
        connect({
          servers: `tls://localhost:${fixture.port}`,
          tls: { caFile: missing },
          waitOnFirstConnect: true,
          reconnectTimeWait: 20,
          reconnectJitterTls: 0,
        }).then(
          (nc) => {
            open.push(nc);
            return 'resolved';
          },
          (e: unknown) => e,
        ),
        sleep(3000, 'pending', { ref: false }),
      ]);
      // An option that can never work should be refused, not retried in the background.
      expect(result).toBeInstanceOf(NatsError);
    });

    it('reports certFile without keyFile clearly (mutual TLS server)', async () => {
      const err = await failure({
        servers: `tls://localhost:${mutual.port}`,
        tls: { caFile: f.caFile, certFile: f.clientCertFile },
      });
      expect(err).toBeInstanceOf(NatsError);
      expect((err as Error).message).toMatch(/key|certificate/i);
    });

    it('reports a key that does not match the certificate as a typed error', async () => {
      const err = await failure({
        servers: `tls://localhost:${mutual.port}`,
        tls: { caFile: f.caFile, certFile: f.clientCertFile, keyFile: f.keyFile },
      });
      // Observed: a plain Error "error:05800074:x509 certificate routines::key values mismatch".
      expect(err).toBeInstanceOf(NatsError);
      expect((err as Error).message).toMatch(/key/i);
    });

    it('fails mTLS without a client certificate quickly, clearly and without retrying', async () => {
      const started = Date.now();
      const err = await connect({
        servers: `tls://localhost:${mutual.port}`,
        tls: { caFile: f.caFile },
        timeout: 2000,
        reconnectTimeWait: 20,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectionError);
      expect((err as Error).message).toMatch(/certificate/i);
      expect(Date.now() - started).toBeLessThan(2500);
    });
  });
});
