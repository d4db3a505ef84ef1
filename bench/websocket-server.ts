// A nats-server with a WebSocket listener for the WebSocket cases. The runner's server has none,
// so the worker starts a private one (plain ws://, no compression) and stops it when the case is
// done, as jetstream-server.ts does for JetStream.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readyPort, serverBinary, stopProcess } from './server.js';

/** The URLs of one server: its WebSocket listener and its TCP listener. */
export interface WebSocketServer {
  /** `ws://127.0.0.1:PORT` */
  wsUrl: string;
  /** `nats://127.0.0.1:PORT` */
  url: string;
}

// `-1`: the server picks a free port and logs it, like `-p -1` does for clients.
const CONFIG = [
  'websocket {',
  '  listen: "127.0.0.1:-1"',
  '  no_tls: true',
  '  compression: false',
  '}',
].join('\n');

/** Runs `fn` with a private nats-server that listens for WebSocket clients. */
export async function withWebSocketServer<T>(fn: (server: WebSocketServer) => Promise<T>) {
  const dir = mkdtempSync(join(tmpdir(), 'nats-bench-ws-'));
  const configFile = join(dir, 'server.conf');
  writeFileSync(configFile, `${CONFIG}\n`);
  const child = spawn(serverBinary(), ['-a', '127.0.0.1', '-p', '-1', '-c', configFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // Registered before readyPort's own listener, so it has seen the line once the server is ready.
  let log = '';
  child.stderr.on('data', (chunk: Buffer | string) => (log += String(chunk)));
  // A worker that dies on an exception must not leave the server running.
  const killNow = (): void => void child.kill('SIGKILL');
  process.once('exit', killNow);
  try {
    const port = await readyPort(child);
    const ws = /Listening for websocket clients on ws:\/\/[^\s]+:(\d+)/.exec(log);
    if (!ws) throw new Error(`nats-server logged no websocket listener:\n${log}`);
    return await fn({ wsUrl: `ws://127.0.0.1:${ws[1]}`, url: `nats://127.0.0.1:${port}` });
  } finally {
    process.removeListener('exit', killNow);
    await stopProcess(child);
    rmSync(dir, { recursive: true, force: true });
  }
}
