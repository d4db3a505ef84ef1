// Runs the `nats` CLI (natscli, pinned by NATS_CLI_VERSION) against a test server: a real client
// nobody here wrote, used to check that what our client stores and serves reads the same to it.
// The CLI never sees the user's contexts or NATS_* settings: it runs with --no-context, an
// environment without any NATS_ variable, and HOME/XDG_CONFIG_HOME in a private temp dir.
import { execFile } from 'node:child_process';
import { accessSync, constants, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheRoot } from './find-server.js';
import { watchTempDir } from './reaper.js';
import { buildNatsCli } from './server-install.js';
import { NATS_CLI_VERSION } from './server-versions.js';

let cliPath: string | undefined;
let cliHome: string | undefined;

/**
 * The `nats` binary: `$NATS_CLI_BIN` when set, else the pinned build from the cache, built with
 * `go install` when it is not there yet (minutes, once per machine: give the caller's hook a long
 * timeout). Throws with the reason when it cannot be had.
 */
export function natsCliBin(): string {
  if (cliPath) return cliPath;
  const given = process.env['NATS_CLI_BIN'];
  if (given) {
    accessSync(given, constants.X_OK);
    cliPath = given;
  } else {
    cliPath = buildOrFind();
  }
  return cliPath;
}

function buildOrFind(): string {
  try {
    return buildNatsCli();
  } catch (err) {
    // Another worker may have finished the same build first (its rename beat ours).
    const cached = join(cacheRoot(), 'natscli', NATS_CLI_VERSION, 'nats');
    try {
      accessSync(cached, constants.X_OK);
      return cached;
    } catch {
      throw new Error(
        `the nats CLI ${NATS_CLI_VERSION} is needed by this spec and could not be built ` +
          `(build it with \`npm run servers -- --cli\`, or set NATS_CLI_BIN): ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
}

function isolatedEnv(): NodeJS.ProcessEnv {
  if (!cliHome) {
    cliHome = mkdtempSync(join(tmpdir(), 'natscli-home-'));
    watchTempDir(cliHome);
  }
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('NATS_') && k !== 'XDG_CONFIG_HOME' && k !== 'HOME') env[k] = v;
  }
  return { ...env, HOME: cliHome, XDG_CONFIG_HOME: join(cliHome, '.config'), NO_COLOR: '1' };
}

export interface NatsCliOptions {
  /** Kill the CLI after this long. @default 15000 */
  timeoutMs?: number;
  /** Written to the CLI's stdin (then closed); stdin is empty otherwise. */
  input?: string | Uint8Array;
  /** Working directory (where `nats object get` writes its file). */
  cwd?: string;
  /** Resolve on a non-zero exit instead of rejecting. */
  allowFailure?: boolean;
}

export interface NatsCliResult {
  code: number;
  /** stdout decoded as UTF-8. */
  stdout: string;
  /** stdout exactly as written (for binary output such as `kv get --raw`). */
  stdoutBytes: Buffer;
  stderr: string;
}

/** The error of a CLI run that failed: the command line, exit code and both outputs. */
export class NatsCliError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly result: NatsCliResult,
  ) {
    super(
      `nats ${args.join(' ')} exited with ${result.code}\n` +
        `stdout: ${result.stdout}\nstderr: ${result.stderr}`,
    );
    this.name = 'NatsCliError';
  }
}

/**
 * Runs `nats --no-context --server <url> <args...>`. Rejects with `NatsCliError` on a non-zero
 * exit (unless `allowFailure`) and when the timeout kills it.
 */
export function natsCli(
  server: string | { url: string },
  args: readonly string[],
  opts: NatsCliOptions = {},
): Promise<NatsCliResult> {
  const url = typeof server === 'string' ? server : server.url;
  const full = ['--no-context', '--server', url, ...args];
  return new Promise((resolve, reject) => {
    const child = execFile(
      natsCliBin(),
      full,
      {
        env: isolatedEnv(),
        cwd: opts.cwd,
        timeout: opts.timeoutMs ?? 15_000,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'buffer',
      },
      (err, stdoutBytes, stderrBytes) => {
        const killed = err !== null && (err as { killed?: boolean }).killed === true;
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        const stderr = stderrBytes.toString('utf8') + (killed ? '\n[killed: timeout]' : '');
        const result = { code, stdout: stdoutBytes.toString('utf8'), stdoutBytes, stderr };
        if ((code !== 0 && !opts.allowFailure) || killed) reject(new NatsCliError(full, result));
        else resolve(result);
      },
    );
    child.stdin?.end(opts.input ?? '');
  });
}

/** Runs the CLI with `--json` added and parses what it prints. */
export async function natsCliJson<T = unknown>(
  server: string | { url: string },
  args: readonly string[],
  opts: NatsCliOptions = {},
): Promise<T> {
  const { stdout } = await natsCli(server, [...args, '--json'], opts);
  try {
    return JSON.parse(stdout) as T;
  } catch {
    throw new Error(`nats ${args.join(' ')} --json printed no JSON:\n${stdout}`);
  }
}
