// Starts real nats-server processes for tests. Every server is tracked so that `stopAllServers()`
// stops it, and registered with the reaper (see reaper.ts) in case the test process dies first.
import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findNatsServer } from './find-server.js';
import { getFreePort } from './ports.js';
import { readInfo } from './raw-client.js';
import { watchServerProcess, watchTempDir } from './reaper.js';
import { renderConfig, type ConfigContext, type StartServerOptions } from './server-config.js';
import { tlsFixtures } from './tls-fixtures.js';

export type { StartServerOptions } from './server-config.js';

/** A running (or stopped) nats-server started by `startServer`. */
export interface NatsServerHandle {
  readonly host: string;
  readonly port: number;
  /** `nats://127.0.0.1:PORT` */
  readonly url: string;
  /** `ws://127.0.0.1:PORT` or `wss://…` of the WebSocket listener, when started with one. */
  readonly wsUrl: string | undefined;
  /** Temp dir holding the config file (and the JetStream store); removed by `stop()`. */
  readonly dir: string;
  readonly configFile: string;
  /** stdout and stderr of every run of the process (see also `logs()`). */
  readonly logFile: string;
  readonly storeDir: string | undefined;
  /** `http://127.0.0.1:PORT` of the monitoring endpoint, when enabled. */
  readonly monitorUrl: string | undefined;
  /** Pid of the current process (-1 once it has exited). */
  readonly pid: number;
  readonly running: boolean;
  /** Graceful shutdown (SIGTERM, SIGKILL after 5 s) and removal of the temp dir. */
  stop(): Promise<void>;
  /**
   * Sends a terminating signal (default SIGKILL: a crash) and waits for the exit, escalating to
   * SIGKILL after 5 s; keeps the files so `restart()` can follow.
   */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Sends any signal without waiting (SIGHUP, SIGUSR2…). */
  signal(signal: NodeJS.Signals): void;
  /**
   * SIGSTOP, resolved once the kernel reports every thread stopped: until then a thread that is
   * already running may still answer a PING written after the signal.
   */
  freeze(): Promise<void>;
  /** SIGCONT after `freeze()`. */
  thaw(): void;
  /** Stops the process if needed and starts it again on the same port with the same store. */
  restart(): Promise<void>;
  /** Enters lame duck mode (SIGUSR2); resolves once the server logged it. */
  lameDuck(): Promise<void>;
  /** Rewrites the extra config text (when given) and reloads the server (SIGHUP). */
  reload(config?: string): Promise<void>;
  /** Resolves when the current process exits. */
  waitForExit(timeoutMs?: number): Promise<void>;
  /** Everything the server wrote to stdout/stderr, all restarts included. */
  logs(): string;
}

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
  readonly logFile: string;
  readonly monitorUrl: string | undefined;
  readonly wsUrl: string | undefined;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
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
    this.logFile = join(dir, 'server.log');
    this.monitorUrl = ctx.httpPort ? `http://127.0.0.1:${ctx.httpPort}` : undefined;
    this.wsUrl = ctx.wsPort
      ? `${opts.websocket?.tls ? 'wss' : 'ws'}://127.0.0.1:${ctx.wsPort}`
      : undefined;
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
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  private get log(): string {
    return this.logs();
  }

  /** Spawns the process and waits until it answers with INFO. */
  async spawn(): Promise<void> {
    const from = this.log.length;
    // Output goes straight to a file: no pipes that would keep the test process alive.
    const fd = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(findNatsServer(), ['-c', this.configFile], { stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    child.unref(); // a leaked server must not hold the test process open; the reaper kills it
    if (child.pid !== undefined) watchServerProcess(child.pid, this.configFile);
    this.child = child;
    this.alive = true;
    this.exited = new Promise((resolve) => {
      const done = (): void => {
        this.alive = false;
        resolve();
      };
      child.once('exit', done);
      child.once('error', (err) => {
        writeFileSync(this.logFile, `spawn error: ${err.message}\n`, { flag: 'a' });
        done();
      });
    });
    const timeoutMs = this.opts.readyTimeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.alive) {
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
      // The timer inside `within` also keeps the event loop alive (the child is unref'd).
      await within(this.exited, 10_000);
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

  async freeze(): Promise<void> {
    const pid = this.pid;
    if (pid < 0) return;
    this.signal('SIGSTOP');
    const deadline = Date.now() + 5000;
    while (!allThreadsStopped(pid)) {
      if (Date.now() > deadline) throw new Error(`nats-server ${pid} did not stop after SIGSTOP`);
      await sleep(2);
    }
  }

  thaw(): void {
    this.signal('SIGCONT');
  }

  async restart(): Promise<void> {
    if (this.stopped) throw new Error('cannot restart a server after stop()');
    await this.terminate('SIGTERM');
    await this.spawn();
  }

  async lameDuck(): Promise<void> {
    const from = this.log.length;
    this.signal('SIGUSR2');
    await this.waitForLog(/Entering lame duck mode/i, 5000, from);
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

let hookInstalled = false;

// Works in plain Node scripts; under Jest this `process` is a sandbox copy whose 'exit' never
// fires, which is why every server is also registered with the reaper.
function installExitHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  process.once('exit', () => servers.forEach((s) => s.killNow()));
}

/** Starts a nats-server on a free loopback port and waits until it accepts connections. */
export async function startServer(opts: StartServerOptions = {}): Promise<NatsServerHandle> {
  installExitHook();
  const tls = opts.tls || opts.websocket?.tls ? await tlsFixtures() : undefined;
  // A port picked by us may be grabbed by another process before the server binds it: retry.
  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await getFreePort());
    const httpPort = opts.monitor ? await getFreePort() : undefined;
    const wsPort = opts.websocket ? await getFreePort() : undefined;
    const dir = mkdtempSync(join(tmpdir(), 'nats-server-'));
    watchTempDir(dir);
    const storeDir = opts.jetstream ? join(dir, 'jetstream') : undefined;
    const ctx = { port, httpPort, storeDir, tls, wsPort };
    const server = new ServerProcess(port, dir, storeDir, opts, ctx);
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

/** True when /proc shows every thread of `pid` in state T (stopped); false if it is gone. */
function allThreadsStopped(pid: number): boolean {
  try {
    const tasks = readdirSync(`/proc/${pid}/task`);
    return tasks.every((tid) => {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      // The state follows the parenthesised command name, which may itself contain spaces.
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'T';
    });
  } catch {
    return false;
  }
}
