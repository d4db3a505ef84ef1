// Starts real nats-server processes for tests. Every server is tracked so that `stopAllServers()`
// (and, as a last resort, the process 'exit' hook) never leaves one running.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findNatsServer } from './find-server.js';
import { getFreePort } from './ports.js';
import { readInfo } from './raw-client.js';
import { renderConfig, type ConfigContext, type StartServerOptions } from './server-config.js';
import { tlsFixtures } from './tls-fixtures.js';

export type { StartServerOptions } from './server-config.js';

/** A running (or stopped) nats-server started by `startServer`. */
export interface NatsServerHandle {
  readonly host: string;
  readonly port: number;
  /** `nats://127.0.0.1:PORT` */
  readonly url: string;
  /** Temp dir holding the config file (and the JetStream store); removed by `stop()`. */
  readonly dir: string;
  readonly configFile: string;
  readonly storeDir: string | undefined;
  /** `http://127.0.0.1:PORT` of the monitoring endpoint, when enabled. */
  readonly monitorUrl: string | undefined;
  /** Pid of the current process (-1 once it has exited). */
  readonly pid: number;
  readonly running: boolean;
  /** Graceful shutdown (SIGTERM, SIGKILL after 5 s) and removal of the temp dir. */
  stop(): Promise<void>;
  /** Sends a terminating signal (default SIGKILL: a crash) and waits for the exit; keeps files. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Sends any signal without waiting (SIGHUP, SIGUSR2…). */
  signal(signal: NodeJS.Signals): void;
  /** Stops the process if needed and starts it again on the same port with the same store. */
  restart(): Promise<void>;
  /** Enters lame duck mode (SIGUSR2); resolves once the server logged it. */
  lameDuck(): Promise<void>;
  /** Rewrites the extra config text (when given) and reloads the server (SIGHUP). */
  reload(config?: string): Promise<void>;
  /** Resolves when the current process exits. */
  waitForExit(timeoutMs?: number): Promise<void>;
  /** Everything the server logged (all restarts included), possibly truncated at the front. */
  logs(): string;
}

const MAX_LOG_CHARS = 1 << 20;

/** True if `promise` settles within `ms`; the timer is cleared so it never holds the process. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
const servers = new Set<ServerProcess>();

class ServerProcess implements NatsServerHandle {
  readonly host = '127.0.0.1';
  readonly configFile: string;
  readonly monitorUrl: string | undefined;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private log = '';
  private alive = false;
  private stopped = false;

  constructor(
    readonly port: number,
    readonly dir: string,
    readonly storeDir: string | undefined,
    private opts: StartServerOptions,
    private ctx: ConfigContext,
  ) {
    this.configFile = join(dir, 'server.conf');
    this.monitorUrl = ctx.httpPort ? `http://127.0.0.1:${ctx.httpPort}` : undefined;
    writeFileSync(this.configFile, renderConfig(opts, ctx));
  }

  get url(): string {
    return `nats://${this.host}:${this.port}`;
  }

  get pid(): number {
    return this.alive ? (this.child?.pid ?? -1) : -1;
  }

  get running(): boolean {
    return this.alive;
  }

  logs(): string {
    return this.log;
  }

  private append(text: string): void {
    this.log += text;
    if (this.log.length > MAX_LOG_CHARS) this.log = this.log.slice(-MAX_LOG_CHARS / 2);
  }

  /** Spawns the process and waits until it answers with INFO. */
  async spawn(): Promise<void> {
    const child = spawn(findNatsServer(), ['-c', this.configFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.alive = true;
    this.exited = new Promise((resolve) => {
      const done = (): void => {
        this.alive = false;
        resolve();
      };
      child.once('exit', done);
      child.once('error', (err) => {
        this.append(`spawn error: ${err.message}\n`);
        done();
      });
    });
    child.stdout?.setEncoding('utf8').on('data', (s: string) => this.append(s));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => this.append(s));
    const from = this.log.length;
    const timeoutMs = this.opts.readyTimeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.alive) {
        await sleep(20); // let the remaining output arrive
        throw new Error(`nats-server exited before accepting connections\n${this.tail()}`);
      }
      // The log line proves it is our process (not a stranger on the same port) that is up.
      if (this.log.includes('Server is ready', from)) {
        try {
          await readInfo(this.port, this.host, 1000);
          return;
        } catch {
          // not accepting yet
        }
      }
      await sleep(20);
    }
    await this.terminate('SIGKILL');
    throw new Error(
      `nats-server on port ${this.port} not ready after ${timeoutMs} ms\n${this.tail()}`,
    );
  }

  private tail(): string {
    return `--- nats-server log tail ---\n${this.log.split('\n').slice(-30).join('\n')}`;
  }

  private async terminate(signal: NodeJS.Signals, graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.child?.kill(signal);
    if (!(await within(this.exited, graceMs))) {
      this.child?.kill('SIGKILL');
      await this.exited;
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.terminate('SIGTERM');
    servers.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.terminate(signal, signal === 'SIGKILL' ? 60_000 : 5000);
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child?.kill(signal);
  }

  async restart(): Promise<void> {
    if (this.stopped) throw new Error('cannot restart a server after stop()');
    await this.terminate('SIGTERM');
    await this.spawn();
  }

  async lameDuck(): Promise<void> {
    this.signal('SIGUSR2');
    await this.waitForLog(/lame duck mode/i, 5000);
  }

  async reload(config?: string): Promise<void> {
    if (config !== undefined) {
      this.opts = { ...this.opts, config };
      writeFileSync(this.configFile, renderConfig(this.opts, this.ctx));
    }
    const from = this.log.length;
    this.signal('SIGHUP');
    await this.waitForLog(/Reloaded server configuration|Failed to reload/i, 5000, from);
    if (/Failed to reload/i.test(this.log.slice(from))) {
      throw new Error(`reload failed\n${this.tail()}`);
    }
  }

  async waitForExit(timeoutMs = 10_000): Promise<void> {
    if (!(await within(this.exited, timeoutMs))) {
      throw new Error(`nats-server did not exit within ${timeoutMs} ms`);
    }
  }

  private async waitForLog(pattern: RegExp, timeoutMs: number, from = 0): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.log.slice(from))) {
      if (Date.now() > deadline) throw new Error(`no log line matching ${pattern}\n${this.tail()}`);
      await sleep(10);
    }
  }

  /** Synchronous last-resort kill for the 'exit' hook. */
  killNow(): void {
    if (this.running) this.child?.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const killAll = (): void => servers.forEach((s) => s.killNow());
  process.once('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      killAll();
      // Re-raise so the default action still happens when nobody else handles the signal.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  }
}

/** Starts a nats-server on a free loopback port and waits until it accepts connections. */
export async function startServer(opts: StartServerOptions = {}): Promise<NatsServerHandle> {
  installExitHooks();
  const tls = opts.tls ? await tlsFixtures() : undefined;
  // A port picked by us may be grabbed by another process before the server binds it: retry.
  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await getFreePort());
    const httpPort = opts.monitor ? await getFreePort() : undefined;
    const dir = mkdtempSync(join(tmpdir(), 'nats-server-'));
    const storeDir = opts.jetstream ? join(dir, 'jetstream') : undefined;
    const server = new ServerProcess(port, dir, storeDir, opts, { port, httpPort, storeDir, tls });
    servers.add(server);
    try {
      await server.spawn();
      return server;
    } catch (err) {
      const inUse = /address already in use/i.test(server.logs());
      await server.stop();
      if (!inUse || opts.port !== undefined || attempt >= 3) throw err;
    }
  }
}

/** Stops every server started by this process (use in `afterAll`). */
export async function stopAllServers(): Promise<void> {
  await Promise.all([...servers].map((s) => s.stop()));
}
