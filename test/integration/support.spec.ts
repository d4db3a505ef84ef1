// Checks the test-support helpers against the real nats-server using bare sockets only (the
// client under test is not involved).
import { readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { parseCreds } from '../../lib/core/auth/creds.js';
import { PREFIX_USER, createKeyPair, signNonce } from '../../lib/core/auth/nkeys.js';
import {
  connectLine,
  itBefore,
  itSince,
  rawConnect,
  startCluster,
  startFakeServer,
  startJwtServer,
  startServer,
  stopAllServers,
  tlsFixtures,
  type RawClient,
  type ServerInfo,
} from '../support/index.js';

afterAll(stopAllServers);

/** Connects, sends CONNECT (built from the INFO) + PING and returns the first PONG or -ERR. */
async function handshake(
  port: number,
  fields: (info: ServerInfo) => Record<string, unknown> = () => ({}),
): Promise<string> {
  const client = await rawConnect(port);
  try {
    client.connect(fields(client.info));
    return await client.waitFor(/^(PONG|-ERR)/);
  } finally {
    client.close();
  }
}

/** Sends a request over a raw connection and returns the reply payload line. */
async function rawRequest(client: RawClient, subject: string, body: string): Promise<string> {
  const inbox = `_INBOX.${Math.random().toString(36).slice(2)}`;
  client.send(
    `SUB ${inbox} 99\r\nPUB ${subject} ${inbox} ${Buffer.byteLength(body)}\r\n${body}\r\n`,
  );
  await client.waitFor(new RegExp(`^MSG ${inbox.replace('.', '\\.')} `));
  return client.waitFor(/^\{/);
}

describe('auth configs', () => {
  it('accepts user/password and rejects a bad password', async () => {
    const server = await startServer({ user: 'alice', pass: 's3cret' });
    expect(await handshake(server.port, () => ({ user: 'alice', pass: 's3cret' }))).toBe('PONG');
    const bad = await handshake(server.port, () => ({ user: 'alice', pass: 'nope' }));
    expect(bad).toBe("-ERR 'Authorization Violation'");
    await server.stop();
  });

  it('accepts a token', async () => {
    const server = await startServer({ token: 't0ken' });
    expect(await handshake(server.port, () => ({ auth_token: 't0ken' }))).toBe('PONG');
    expect(await handshake(server.port)).toBe("-ERR 'Authorization Violation'");
    await server.stop();
  });

  it('accepts an nkey user that signs the nonce', async () => {
    const user = createKeyPair(PREFIX_USER);
    const server = await startServer({ nkeyUsers: [user.publicKey] });
    const reply = await handshake(server.port, (info) => ({
      nkey: user.publicKey,
      sig: signNonce(user.seed, String(info['nonce'])),
    }));
    expect(reply).toBe('PONG');
    await server.stop();
  });

  it('accepts a JWT user from a creds file, with JetStream enabled for the account', async () => {
    const { server, user } = await startJwtServer({ jetstream: true });
    expect(readFileSync(user.credsFile, 'utf8')).toBe(user.creds);
    const { jwt, seed } = parseCreds(user.creds);
    const client = await rawConnect(server.port);
    expect(client.info['auth_required']).toBe(true);
    client.connect({ jwt, sig: signNonce(seed, String(client.info['nonce'])) });
    expect(await client.waitFor(/^(PONG|-ERR)/)).toBe('PONG');
    expect(await rawRequest(client, '$JS.API.INFO', '')).toContain('account_info_response');
    client.close();
    const bad = await handshake(server.port, () => ({ jwt, sig: 'AAAA' }));
    expect(bad).toBe("-ERR 'Authorization Violation'");
    await server.stop();
  });
});

describe('TLS fixtures', () => {
  it('serves TLS that verifies against the CA and fails against the other CA', async () => {
    const f = await tlsFixtures();
    const server = await startServer({ tls: { verifyClient: true } });
    const upgrade = async (ca: string): Promise<string> => {
      const raw = await rawConnect(server.port);
      expect(raw.info).toMatchObject({ tls_required: true, tls_verify: true });
      raw.socket.removeAllListeners('data');
      const socket = tlsConnect({
        socket: raw.socket,
        servername: 'localhost',
        ca: readFileSync(ca),
        cert: readFileSync(f.clientCertFile),
        key: readFileSync(f.clientKeyFile),
      });
      try {
        await new Promise((resolve, reject) => {
          socket.once('secureConnect', resolve).once('error', reject);
        });
        socket.write(connectLine() + 'PING\r\n');
        // Lines up to the PONG: 2.12+ may send its post-CONNECT INFO in the same chunk, after it.
        return await new Promise<string>((resolve) => {
          let text = '';
          socket.on('data', (d) => {
            text += `${d}`;
            const at = text.indexOf('PONG\r\n');
            if (at >= 0) resolve(text.slice(0, at + 6));
          });
        });
      } finally {
        socket.destroy();
      }
    };
    expect(await upgrade(f.caFile)).toBe('PONG\r\n');
    await expect(upgrade(f.otherCaFile)).rejects.toThrow(/certificate/);
    await server.stop();
  });
});

describe('server lifecycle', () => {
  it('restarts on the same port and keeps the JetStream store', async () => {
    const server = await startServer({ jetstream: true });
    const { port, storeDir } = server;
    let client = await rawConnect(port);
    client.connect();
    const created = await rawRequest(client, '$JS.API.STREAM.CREATE.KEEP', '{"name":"KEEP"}');
    expect(created).toContain('"name":"KEEP"');
    client.close();

    const pid = server.pid;
    await server.kill(); // a crash: SIGKILL
    expect(server.running).toBe(false);
    await server.restart();
    expect(server.port).toBe(port);
    expect(server.storeDir).toBe(storeDir);
    expect(server.pid).not.toBe(pid);
    client = await rawConnect(port);
    client.connect();
    expect(await rawRequest(client, '$JS.API.STREAM.INFO.KEEP', '')).toContain('"name":"KEEP"');
    client.close();
    await server.stop();
  });

  itSince('2.12.0', 'sends a second INFO with connect_info:true after the CONNECT', async () => {
    const server = await startServer();
    const client = await rawConnect(server.port);
    client.connect();
    await client.waitFor('PONG');
    const info = await client.waitFor(/^INFO /);
    expect(JSON.parse(info.slice(5))).toMatchObject({ connect_info: true });
    client.close();
    await server.stop();
  });

  itBefore('2.12.0', 'sends no INFO after the CONNECT', async () => {
    const server = await startServer();
    const client = await rawConnect(server.port);
    client.connect();
    await client.waitFor('PONG');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(client.lines.filter((l) => l.startsWith('INFO '))).toHaveLength(1);
    client.close();
    await server.stop();
  });

  it('sends an INFO with ldm:true to connected clients in lame duck mode', async () => {
    const server = await startServer();
    const client = await rawConnect(server.port);
    client.connect();
    await client.waitFor('PONG');
    await server.lameDuck();
    // 2.12+ sends an INFO of its own after the CONNECT (connect_info: true); wait for the ldm one.
    const info = await client.waitFor(/^INFO .*"ldm":true/);
    expect(JSON.parse(info.slice(5))).toMatchObject({ ldm: true });
    await client.closed; // after the 1 s grace period
    await server.waitForExit();
    await server.stop();
  });
});

describe('startCluster', () => {
  it('forms a 3-node mesh that routes messages', async () => {
    const cluster = await startCluster(3);
    // A server learns its peers' client URLs as routes form: under load the first INFO may
    // list two of three, so connect again until the mesh is complete (or 10 s pass).
    let urls: unknown[] = [];
    for (let i = 0; i < 50 && urls.length < 3; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 200));
      const probe = await rawConnect(cluster.servers[0].port);
      urls = (probe.info['connect_urls'] as unknown[] | undefined) ?? [];
      probe.close();
    }
    expect(urls).toHaveLength(3);
    const [a, , c] = await Promise.all(cluster.servers.map((s) => rawConnect(s.port)));
    c.connect();
    c.send('SUB routed.subject 1\r\n');
    await c.waitFor('PONG');
    a.connect();
    // Interest crosses the route asynchronously: publish until it arrives.
    const received = c.waitFor(/^MSG routed\.subject 1 2$/, 5000);
    const timer = setInterval(() => a.send('PUB routed.subject 2\r\nhi\r\n'), 50);
    await received.finally(() => clearInterval(timer));
    a.close();
    c.close();
    await cluster.stop();
    expect(cluster.servers.every((s) => !s.running)).toBe(true);
  });

  it('forms a JetStream cluster with a meta leader', async () => {
    const cluster = await startCluster(3, { jetstream: true });
    type Jsz = { meta_cluster: { cluster_size: number; leader: string } };
    const jszOf = async (): Promise<Jsz> =>
      (await (await fetch(`${cluster.servers[0].monitorUrl}/jsz`)).json()) as Jsz;
    // A leader can be known before every peer is counted (seen on 2.14 under load).
    let jsz = await jszOf();
    for (let i = 0; i < 50 && jsz.meta_cluster.cluster_size < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      jsz = await jszOf();
    }
    expect(jsz.meta_cluster.cluster_size).toBe(3);
    expect(jsz.meta_cluster.leader).toMatch(/^s[123]$/);
    await cluster.stop();
  });
});

describe('startFakeServer', () => {
  it('lets a test script the protocol byte by byte', async () => {
    const fake = await startFakeServer(async (conn) => {
      const connect = await conn.handshake({ max_payload: 1024 });
      conn.send(`MSG a 1 ${JSON.stringify(connect).length}\r\n`);
      conn.send(`${JSON.stringify(connect)}\r\n`);
    });
    const client = await rawConnect(fake.port);
    expect(client.info['max_payload']).toBe(1024);
    client.connect({ name: 'probe' });
    await client.waitFor('PONG');
    expect(await client.waitFor(/"name":"probe"/)).toContain('"verbose":false');
    client.close();
    await fake.close();
    expect(fake.errors).toEqual([]);
  });
});
