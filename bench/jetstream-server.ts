// A JetStream-enabled server for the JetStream cases. The runner's server is used when it has
// JetStream; otherwise the worker starts a private one (file store in a temp dir) and stops it
// when the case is done, so the cases do not depend on how the runner starts its server.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readyPort, serverBinary, stopProcess } from './server.js';

const START_TIMEOUT = 10_000;

/** Reads the server's INFO line and tells whether it announces JetStream. */
function hasJetStream(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(Number(port), hostname);
    const timer = setTimeout(() => fail(new Error(`no INFO from ${url}`)), START_TIMEOUT);
    let text = '';
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.setEncoding('utf8');
    socket.on('error', fail);
    socket.on('data', (chunk: string) => {
      text += chunk;
      const end = text.indexOf('\r\n');
      if (end < 0) return;
      clearTimeout(timer);
      socket.destroy();
      const info = JSON.parse(text.slice('INFO '.length, end)) as { jetstream?: boolean };
      resolve(info.jetstream === true);
    });
  });
}

interface PrivateServer {
  url: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

/** What a JetStream case gets: the server's URL and, where known, a reader of its CPU time. */
export interface JetStreamServer {
  url: string;
  /** CPU time (user + system) the server process has used so far, in ms; undefined if unknown. */
  cpuMs(): number | undefined;
}

// Linux reports process times in clock ticks of 1/100 s (USER_HZ) in /proc/<pid>/stat.
const TICK_MS = 10;

/** CPU time of process `pid` in ms from /proc (Linux); undefined elsewhere or when it is gone. */
function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at "state", field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS; // utime, stime
  } catch {
    return undefined;
  }
}

/** Starts `nats-server -js` on 127.0.0.1 and a random port with a fresh store dir. */
async function startPrivate(): Promise<PrivateServer> {
  const dir = mkdtempSync(join(tmpdir(), 'nats-bench-js-'));
  const child = spawn(serverBinary(), ['-a', '127.0.0.1', '-p', '-1', '-js', '-sd', dir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // A worker that dies on an exception must not leave the server running.
  const killNow = (): void => void child.kill('SIGKILL');
  process.once('exit', killNow);
  const stop = async (): Promise<void> => {
    process.removeListener('exit', killNow);
    await stopProcess(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const port = await readyPort(child);
    return { url: `nats://127.0.0.1:${port}`, pid: child.pid, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Runs `fn` with a JetStream server: the runner's at `url` when it has JetStream (its CPU time is
 * read when the runner put its pid in `$BENCH_SERVER_PID`), else a private one.
 */
export async function withJetStream<T>(
  url: string,
  fn: (server: JetStreamServer) => Promise<T>,
): Promise<T> {
  if (await hasJetStream(url)) {
    const pid = process.env.BENCH_SERVER_PID ? Number(process.env.BENCH_SERVER_PID) : undefined;
    return fn({ url, cpuMs: () => processCpuMs(pid) });
  }
  const server = await startPrivate();
  try {
    return await fn({ url: server.url, cpuMs: () => processCpuMs(server.pid) });
  } finally {
    await server.stop();
  }
}
