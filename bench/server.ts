import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { findNatsServer } from '../test/support/find-server.js';

/** A nats-server started for the benchmark run. */
export interface BenchServer {
  url: string;
  version: string;
  stop(): Promise<void>;
}

/**
 * The nats-server the tests would use: `$NATS_SERVER_BIN`, else the release `$NATS_SERVER_VERSION`
 * names, else the newest of the cached builds (`npm run servers`) and the installed one.
 */
export function serverBinary(): string {
  return findNatsServer();
}

/** Starts a nats-server on 127.0.0.1 and a random port; resolves once it accepts clients. */
export async function startServer(): Promise<BenchServer> {
  const bin = serverBinary();
  const version = spawnSync(bin, ['--version'], { encoding: 'utf8' })
    .stdout.trim()
    .replace(/^nats-server:\s*/, '');
  // `-p -1` lets the server pick a free port; it logs which one.
  const child = spawn(bin, ['-a', '127.0.0.1', '-p', '-1'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const port = await readyPort(child).catch((err: unknown) => {
    child.kill();
    throw err;
  });
  return { url: `nats://127.0.0.1:${port}`, version, stop: () => stopProcess(child) };
}

/**
 * Resolves the client port a nats-server started with `-p -1` logged on stderr, once it logged
 * "Server is ready"; rejects with its log when it exits first or takes longer than 10 s.
 */
export function readyPort(child: ChildProcess): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => fail(new Error(`nats-server did not start:\n${log}`)), 10_000);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      reject(err);
    };
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`nats-server exited (${code}):\n${log}`)));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      log += text;
      const m = /Listening for client connections on [^\s]+:(\d+)/.exec(log);
      if (m && /Server is ready/.test(log)) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.stderr!.removeAllListeners('data');
        child.stderr!.resume();
        resolve(Number(m[1]));
      }
    });
  });
}

/** Stops a server process: SIGTERM, SIGKILL after 5 s. */
export function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
