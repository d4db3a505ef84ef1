import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

// Debian's package installs the binary in /usr/sbin, which is often not on a user's PATH.
const FALLBACK_DIRS: readonly string[] = ['/usr/sbin'];

export interface FindNatsServerOptions {
  /** Where `NATS_SERVER_BIN` and `PATH` are read from. @default process.env */
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
 * Locates the `nats-server` binary: `NATS_SERVER_BIN`, then `PATH`, then `/usr/sbin/nats-server`.
 * Throws an Error explaining how to install it when none is found.
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
  const pathDirs = (env['PATH'] ?? '').split(delimiter).filter((dir) => dir !== '');
  for (const dir of [...pathDirs, ...fallbackDirs]) {
    const file = join(dir, 'nats-server');
    if (isExecutable(file)) return file;
  }
  throw new Error(
    'nats-server was not found. Install it (Debian/Ubuntu: `sudo apt-get install nats-server`, ' +
      'or download a release from https://github.com/nats-io/nats-server/releases) ' +
      'or set NATS_SERVER_BIN to the path of the binary.',
  );
}
