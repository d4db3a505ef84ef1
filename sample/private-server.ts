import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureNatsServer } from '../test/support/server-install.js';

/** A nats-server started for the sample: JetStream on, temp store, random port. */
export interface PrivateServer {
  url: string;
  /** The release it runs ('2.14.10'). */
  version: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`nats-server exited with code ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('nats-server did not start within 5 s');
}

/**
 * Starts a private nats-server with JetStream in a temp dir: the newest one installed or built
 * (NATS_SERVER_BIN or NATS_SERVER_VERSION choose another), getting one first when there is none.
 */
export async function startPrivateServer(): Promise<PrivateServer> {
  const { bin, version } = ensureNatsServer({ log: (line) => console.log(line) });
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-nats-sample-'));
  const child = spawn(bin, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], {
    stdio: 'ignore',
  });
  await waitForPort(port, child);
  return {
    url: `nats://127.0.0.1:${port}`,
    version,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    },
  };
}
