import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { compareVersions } from '../../lib/core/server-version.js';
import { DEBIAN_SERVER_VERSION, NEWEST_SERVER_VERSION } from './server-versions.js';

// Debian's package installs the binary in /usr/sbin, which is often not on a user's PATH.
const FALLBACK_DIRS: readonly string[] = ['/usr/sbin'];

export interface FindNatsServerOptions {
  /** Where `NATS_SERVER_BIN`, `NATS_SERVER_VERSION`, `PATH` and the cache dir are read from. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Directories tried after `PATH`. @default ['/usr/sbin'] */
  fallbackDirs?: readonly string[];
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where built servers live: `$NESTJS_NATS_CACHE`, else `$XDG_CACHE_HOME/nestjs-nats`, else
 * `~/.cache/nestjs-nats`; outside the repo so a fresh clone reuses them.
 */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env['NESTJS_NATS_CACHE']) return env['NESTJS_NATS_CACHE'];
  const base = env['XDG_CACHE_HOME'] || join(env['HOME'] || homedir(), '.cache');
  return join(base, 'nestjs-nats');
}

/** The path a build of `version` has in the cache (it may not exist). */
export function cachedServerPath(version: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheRoot(env), 'nats-server', version, 'nats-server');
}

// The client's own comparison (numbers only; a pre-release counts as its release).
export { compareVersions };

const versionsByBinary = new Map<string, string>();

/** The version a binary reports with `--version` ('2.14.10'), or undefined when it cannot run. */
export function serverVersionOf(bin: string): string | undefined {
  const known = versionsByBinary.get(bin);
  if (known) return known;
  let version: string | undefined;
  try {
    const out = execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    version = /v?(\d+\.\d+\.\d+(?:-[\w.]+)?)/.exec(out)?.[1];
  } catch {
    return undefined; // not built yet, or not a nats-server: asked again next time
  }
  if (version) versionsByBinary.set(bin, version);
  return version;
}

/** Builds in the cache, newest first. */
export function cachedServers(
  env: NodeJS.ProcessEnv = process.env,
): { version: string; bin: string }[] {
  const dir = join(cacheRoot(env), 'nats-server');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((version) => /^\d+\.\d+\.\d+/.test(version))
    .map((version) => ({ version, bin: cachedServerPath(version, env) }))
    .filter(({ bin }) => isExecutable(bin))
    .sort((a, b) => compareVersions(b.version, a.version));
}

/** The first executable `nats-server` on PATH, then in the fallback directories. */
export function installedServer(
  env: NodeJS.ProcessEnv,
  fallbackDirs: readonly string[] = FALLBACK_DIRS,
): string | undefined {
  const pathDirs = (env['PATH'] ?? '').split(delimiter).filter((dir) => dir !== '');
  for (const dir of [...pathDirs, ...fallbackDirs]) {
    const file = join(dir, 'nats-server');
    if (isExecutable(file)) return file;
  }
  return undefined;
}

/** Why no server was found, with the exact commands that get one. */
export function notFoundMessage(version = NEWEST_SERVER_VERSION, env = process.env): string {
  const specific = version !== NEWEST_SERVER_VERSION;
  const apt = 'sudo apt-get install nats-server';
  const go = `GOBIN=${join(cacheRoot(env), 'nats-server', version)} go install github.com/nats-io/nats-server/v2@v${version}`;
  const lines =
    version === DEBIAN_SERVER_VERSION
      ? [`  ${apt}`]
      : specific
        ? [`  ${go}   (needs Go)`]
        : [
            `  ${apt}   (Debian/Ubuntu: nats-server ${DEBIAN_SERVER_VERSION})`,
            'or, with Go installed,',
            `  ${go}`,
          ];
  return [
    `nats-server ${specific ? `${version} ` : ''}was not found. Get it with`,
    ...lines,
    '(`npm run servers` builds every tested release: https://github.com/nats-io/nats-server/releases)',
    'or set NATS_SERVER_BIN to the path of a nats-server binary.',
  ].join('\n');
}

/**
 * Locates the `nats-server` binary: `NATS_SERVER_BIN`; else with `NATS_SERVER_VERSION` the build
 * of that release in the cache, or an installed binary reporting it; else the newest of the
 * cached builds and the installed binary (`PATH`, then `/usr/sbin`). Throws an Error that says
 * how to get one when none is found.
 */
export function findNatsServer({
  env = process.env,
  fallbackDirs = FALLBACK_DIRS,
}: FindNatsServerOptions = {}): string {
  const fromEnv = env['NATS_SERVER_BIN'];
  if (fromEnv) {
    if (isExecutable(fromEnv)) return fromEnv;
    throw new Error(`NATS_SERVER_BIN is set to "${fromEnv}", which is not an executable file`);
  }
  const cached = cachedServers(env);
  const installed = installedServer(env, fallbackDirs);
  const wanted = env['NATS_SERVER_VERSION'];
  if (wanted) {
    const build = cached.find((c) => c.version === wanted);
    if (build) return build.bin;
    if (installed && serverVersionOf(installed) === wanted) return installed;
    throw new Error(notFoundMessage(wanted, env));
  }
  const newestBuild = cached[0];
  if (installed && newestBuild) {
    const installedVersion = serverVersionOf(installed);
    const installedIsNewer =
      installedVersion !== undefined && compareVersions(installedVersion, newestBuild.version) > 0;
    return installedIsNewer ? installed : newestBuild.bin;
  }
  const found = installed ?? newestBuild?.bin;
  if (found) return found;
  throw new Error(notFoundMessage(NEWEST_SERVER_VERSION, env));
}
