// Gets nats-server (and the nats CLI) onto a machine that lacks them: Debian's package through
// apt-get when root or passwordless sudo allows it, else a `go install` build into the cache
// (see find-server.ts for where). Used by `npm test` (global setup), `npm run sample`,
// `npm run servers` and CI; every step says what it does and how long it took.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, renameSync, rmSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import {
  cacheRoot,
  cachedServerPath,
  findNatsServer,
  installedServer,
  notFoundMessage,
  serverVersionOf,
} from './find-server.js';
import {
  DEBIAN_SERVER_VERSION,
  NATS_CLI_VERSION,
  NEWEST_SERVER_VERSION,
} from './server-versions.js';

export interface InstallOptions {
  env?: NodeJS.ProcessEnv;
  /** Progress lines go here. @default console.error */
  log?: (line: string) => void;
  /** Directories tried after PATH for an installed nats-server. @default ['/usr/sbin'] */
  fallbackDirs?: readonly string[];
}

function onPath(command: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env['PATH'] ?? '').split(delimiter).filter(Boolean)) {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return join(dir, command);
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

/** `go install <module>@v<version>` into `dir`, atomically: a failed build leaves nothing there. */
function goInstall(
  module: string,
  version: string,
  binary: string,
  dir: string,
  opts: InstallOptions,
): string {
  const env = opts.env ?? process.env;
  const log = opts.log ?? console.error;
  const go = onPath('go', env);
  if (!go)
    throw new Error(`cannot build ${module}@v${version}: Go is not installed (no go on PATH)`);
  const staging = `${dir}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  log(`building ${module}@v${version} with go install into ${dir} ...`);
  const started = Date.now();
  const result = spawnSync(go, ['install', `${module}@v${version}`], {
    env: { ...env, GOBIN: staging, GOFLAGS: '-buildvcs=false' },
    encoding: 'utf8',
    timeout: 15 * 60_000,
  });
  if (result.status !== 0) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(
      `go install ${module}@v${version} failed (${seconds(started)}):\n${result.stderr ?? result.error}`,
    );
  }
  mkdirSync(dirname(dir), { recursive: true });
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
  log(`built ${binary} ${version} in ${seconds(started)}`);
  return join(dir, binary);
}

/** Builds nats-server `version` into the cache unless it is there already; returns the binary. */
export function buildServer(version: string, opts: InstallOptions = {}): string {
  const env = opts.env ?? process.env;
  const bin = cachedServerPath(version, env);
  if (serverVersionOf(bin) === version) return bin;
  return goInstall('github.com/nats-io/nats-server/v2', version, 'nats-server', dirname(bin), opts);
}

/** Builds the pinned `nats` CLI into the cache unless it is there already; returns the binary. */
export function buildNatsCli(opts: InstallOptions = {}): string {
  const dir = join(cacheRoot(opts.env ?? process.env), 'natscli', NATS_CLI_VERSION);
  try {
    accessSync(join(dir, 'nats'), constants.X_OK);
    return join(dir, 'nats');
  } catch {
    return goInstall('github.com/nats-io/natscli/nats', NATS_CLI_VERSION, 'nats', dir, opts);
  }
}

/** apt-get install nats-server, as root or through passwordless sudo; undefined when neither. */
function installDebianServer(opts: InstallOptions): string | undefined {
  const env = opts.env ?? process.env;
  const log = opts.log ?? console.error;
  if (!onPath('apt-get', env)) return undefined;
  const asRoot = process.getuid?.() === 0;
  const sudo = onPath('sudo', env);
  if (!asRoot && !(sudo && spawnSync(sudo, ['-n', 'true']).status === 0)) return undefined;
  const run = (args: string[]) =>
    spawnSync(asRoot ? args[0] : sudo!, asRoot ? args.slice(1) : args, {
      env: { ...env, DEBIAN_FRONTEND: 'noninteractive' },
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
    });
  log(`installing Debian's nats-server (${DEBIAN_SERVER_VERSION}) with apt-get ...`);
  const started = Date.now();
  run(['apt-get', 'update', '-qq']);
  const result = run(['apt-get', 'install', '-y', '-qq', 'nats-server']);
  if (result.status !== 0) {
    log(`apt-get install nats-server failed: ${result.stderr}`);
    return undefined;
  }
  log(`installed nats-server in ${seconds(started)}`);
  return installedServer(env, opts.fallbackDirs);
}

/**
 * Finds nats-server as `findNatsServer` does, and gets one when there is none: the release named
 * by `NATS_SERVER_VERSION` is built with Go (2.9.10 comes from apt-get); otherwise apt-get is
 * tried first, then a Go build of the newest pinned release. Throws with the exact commands to
 * run when neither works.
 */
export function ensureNatsServer(opts: InstallOptions = {}): { bin: string; version: string } {
  const env = opts.env ?? process.env;
  const found = (bin: string) => ({ bin, version: serverVersionOf(bin) ?? 'unknown' });
  try {
    return found(
      findNatsServer({ env, ...(opts.fallbackDirs ? { fallbackDirs: opts.fallbackDirs } : {}) }),
    );
  } catch (err) {
    if (env['NATS_SERVER_BIN']) throw err;
  }
  const wanted = env['NATS_SERVER_VERSION'];
  const log = opts.log ?? console.error;
  log(wanted ? `nats-server ${wanted} not found; getting it` : 'no nats-server found; getting one');
  if (!wanted || wanted === DEBIAN_SERVER_VERSION) {
    const debian = installDebianServer(opts);
    if (debian && (!wanted || serverVersionOf(debian) === wanted)) return found(debian);
  }
  const version = wanted ?? NEWEST_SERVER_VERSION;
  if (onPath('go', env)) return found(buildServer(version, opts));
  throw new Error(notFoundMessage(version, env));
}
