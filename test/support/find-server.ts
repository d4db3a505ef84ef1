import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const FALLBACK = '/usr/sbin/nats-server';

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
export function findNatsServer(): string {
  const fromEnv = process.env['NATS_SERVER_BIN'];
  if (fromEnv) {
    if (isExecutable(fromEnv)) return fromEnv;
    throw new Error(`NATS_SERVER_BIN is set to "${fromEnv}", which is not an executable file`);
  }
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, 'nats-server'))) return join(dir, 'nats-server');
  }
  if (isExecutable(FALLBACK)) return FALLBACK;
  throw new Error(
    'nats-server was not found. Install it (Debian/Ubuntu: `sudo apt-get install nats-server`, ' +
      'or download a release from https://github.com/nats-io/nats-server/releases) ' +
      'or set NATS_SERVER_BIN to the path of the binary.',
  );
}
