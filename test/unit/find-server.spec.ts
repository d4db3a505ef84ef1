// How the test support locates nats-server. Every case builds its own directory tree of fake
// binaries (empty files; only the execute bit matters) and passes its own env, so nothing
// depends on what is installed on the machine and nothing is spawned.
import {
  accessSync,
  chmodSync,
  constants,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { findNatsServer } from '../support/find-server.js';

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'find-server-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Creates `<root>/<dir>/nats-server`, executable unless told otherwise; returns its path. */
function fakeBinary(dir: string, executable = true): string {
  mkdirSync(join(root, dir), { recursive: true });
  const file = join(root, dir, 'nats-server');
  writeFileSync(file, '');
  // Mode 0o644 has no execute bit at all, so X_OK fails even when the tests run as root.
  chmodSync(file, executable ? 0o755 : 0o644);
  return file;
}

function pathOf(...dirs: string[]): string {
  return dirs.map((d) => join(root, d)).join(delimiter);
}

describe('findNatsServer', () => {
  it('prefers NATS_SERVER_BIN over PATH and the fallback directories', () => {
    const chosen = fakeBinary('custom');
    fakeBinary('bin');
    fakeBinary('sbin');
    const env = { NATS_SERVER_BIN: chosen, PATH: pathOf('bin') };
    expect(findNatsServer({ env, fallbackDirs: [join(root, 'sbin')] })).toBe(chosen);
  });

  it('throws when NATS_SERVER_BIN names a file that is not executable, rather than looking on', () => {
    const notExecutable = fakeBinary('custom', false);
    fakeBinary('bin');
    const env = { NATS_SERVER_BIN: notExecutable, PATH: pathOf('bin') };
    expect(() => findNatsServer({ env, fallbackDirs: [] })).toThrow(
      `NATS_SERVER_BIN is set to "${notExecutable}", which is not an executable file`,
    );
  });

  it('takes the first executable nats-server on PATH, skipping empty and non-executable entries', () => {
    fakeBinary('a', false);
    const second = fakeBinary('b');
    fakeBinary('c');
    const env = { PATH: `${delimiter}${pathOf('missing', 'a', 'b', 'c')}` };
    expect(findNatsServer({ env, fallbackDirs: [] })).toBe(second);
  });

  it('falls back to the fallback directories when PATH has no nats-server', () => {
    fakeBinary('bin', false);
    const fallback = fakeBinary('sbin');
    const env = { PATH: pathOf('bin') };
    expect(findNatsServer({ env, fallbackDirs: [join(root, 'sbin')] })).toBe(fallback);
  });

  it('looks in PATH before the fallback directories', () => {
    const onPath = fakeBinary('bin');
    fakeBinary('sbin');
    const env = { PATH: pathOf('bin') };
    expect(findNatsServer({ env, fallbackDirs: [join(root, 'sbin')] })).toBe(onPath);
  });

  it('explains how to install it when no binary is found, even without PATH', () => {
    fakeBinary('sbin', false);
    let error: unknown;
    try {
      findNatsServer({ env: {}, fallbackDirs: [join(root, 'sbin'), join(root, 'missing')] });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(Error);
    const { message } = error as Error;
    expect(message).toContain('nats-server was not found');
    expect(message).toContain('sudo apt-get install nats-server');
    expect(message).toContain('https://github.com/nats-io/nats-server/releases');
    expect(message).toContain('NATS_SERVER_BIN');
  });

  // The default fallback is checked read-only against the real file, where Debian's package put it.
  const debianBinary = '/usr/sbin/nats-server';
  const debianInstalled = (() => {
    try {
      accessSync(debianBinary, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  })();
  (debianInstalled ? it : it.skip)('falls back to /usr/sbin by default', () => {
    expect(findNatsServer({ env: { PATH: pathOf('empty') } })).toBe(debianBinary);
  });

  it('reads process.env by default', () => {
    const chosen = fakeBinary('custom');
    const saved = process.env['NATS_SERVER_BIN'];
    process.env['NATS_SERVER_BIN'] = chosen;
    try {
      expect(findNatsServer()).toBe(chosen);
    } finally {
      if (saved === undefined) delete process.env['NATS_SERVER_BIN'];
      else process.env['NATS_SERVER_BIN'] = saved;
    }
  });
});
