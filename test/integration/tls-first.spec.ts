// TLS-first handshake (`tls.handshakeFirst`). nats-server 2.9.10 does not support it (2.10.4+),
// so a tiny TLS server stands in: it starts TLS at once and sends INFO inside the tunnel.
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { ConnectionError, connect } from '../../lib/core/index.js';
import { tlsFixtures, type TlsFixtures } from '../support/index.js';

let f: TlsFixtures;
let server: tls.Server;
let port: number;
const received: string[] = [];

beforeAll(async () => {
  f = await tlsFixtures();
  server = tls.createServer(
    { cert: readFileSync(f.certFile), key: readFileSync(f.keyFile) },
    (socket) => {
      const info = {
        server_id: 'FAKE',
        version: '2.10.4',
        proto: 1,
        headers: true,
        max_payload: 1048576,
      };
      socket.write(`INFO ${JSON.stringify(info)}\r\n`);
      let text = '';
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        let nl: number;
        while ((nl = text.indexOf('\r\n')) >= 0) {
          const line = text.slice(0, nl);
          text = text.slice(nl + 2);
          received.push(line);
          if (line === 'PING') socket.write('PONG\r\n');
        }
      });
      socket.on('error', () => undefined);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

it('starts TLS before the INFO with handshakeFirst and verifies the certificate', async () => {
  const nc = await connect({
    servers: `tls://localhost:${port}`,
    tls: { caFile: f.caFile, handshakeFirst: true },
    reconnect: false,
  });
  try {
    expect(nc.info.server_id).toBe('FAKE');
    expect(
      received.some((l) => l.startsWith('CONNECT {') && l.includes('"tls_required":true')),
    ).toBe(true);
    await nc.flush();
  } finally {
    await nc.close();
  }
});

it('fails clearly when the certificate does not verify', async () => {
  const err = await connect({
    servers: `tls://localhost:${port}`,
    tls: { caFile: f.otherCaFile, handshakeFirst: true },
    reconnect: false,
  }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConnectionError);
  expect((err as ConnectionError).message).toMatch(/certificate/i);
});
