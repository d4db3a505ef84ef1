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
import { ensureNatsServer } from '../support/server-install.js';
import { NEWEST_SERVER_VERSION } from '../support/server-versions.js';

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

/** An empty build cache, so the real one (~/.cache/nestjs-nats) plays no part. */
function noCache(): { NESTJS_NATS_CACHE: string } {
  return { NESTJS_NATS_CACHE: join(root, 'cache') };
}

/** A script that answers `--version` as nats-server `version` does, at `<root>/<dir>/nats-server`. */
function versionedBinary(dir: string, version: string): string {
  mkdirSync(join(root, dir), { recursive: true });
  const file = join(root, dir, 'nats-server');
  writeFileSync(file, `#!/bin/sh\necho "nats-server: v${version}"\n`);
  chmodSync(file, 0o755);
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
    const env = { NATS_SERVER_BIN: chosen, PATH: pathOf('bin'), ...noCache() };
    expect(findNatsServer({ env, fallbackDirs: [join(root, 'sbin')] })).toBe(chosen);
  });

  it('throws when NATS_SERVER_BIN names a file that is not executable, rather than looking on', () => {
    const notExecutable = fakeBinary('custom', false);
    fakeBinary('bin');
    const env = { NATS_SERVER_BIN: notExecutable, PATH: pathOf('bin'), ...noCache() };
    expect(() => findNatsServer({ env, fallbackDirs: [] })).toThrow(
      `NATS_SERVER_BIN is set to "${notExecutable}", which is not an executable file`,
    );
  });

  it('takes the first executable nats-server on PATH, skipping empty and non-executable entries', () => {
    fakeBinary('a', false);
    const second = fakeBinary('b');
    fakeBinary('c');
    const env = { PATH: `${delimiter}${pathOf('missing', 'a', 'b', 'c')}`, ...noCache() };
    expect(findNatsServer({ env, fallbackDirs: [] })).toBe(second);
  });

  it('falls back to the fallback directories when PATH has no nats-server', () => {
    fakeBinary('bin', false);
    const fallback = fakeBinary('sbin');
    const env = { PATH: pathOf('bin'), ...noCache() };
    expect(findNatsServer({ env, fallbackDirs: [join(root, 'sbin')] })).toBe(fallback);
  });

  it('looks in PATH before the fallback directories', () => {
    const onPath = fakeBinary('bin');
    fakeBinary('sbin');
    const env = { PATH: pathOf('bin'), ...noCache() };
    expect(findNatsServer({ env, fallbackDirs: [join(root, 'sbin')] })).toBe(onPath);
  });

  it('explains how to install it when no binary is found, even without PATH', () => {
    fakeBinary('sbin', false);
    let error: unknown;
    try {
      findNatsServer({ env: noCache(), fallbackDirs: [join(root, 'sbin'), join(root, 'missing')] });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(Error);
    const { message } = error as Error;
    expect(message).toContain('nats-server was not found');
    expect(message).toContain('sudo apt-get install nats-server');
    expect(message).toContain(
      `go install github.com/nats-io/nats-server/v2@v${NEWEST_SERVER_VERSION}`,
    );
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
    expect(findNatsServer({ env: { PATH: pathOf('empty'), ...noCache() } })).toBe(debianBinary);
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

  it('takes the newest of the cached builds and the installed binary by default', () => {
    const installed = versionedBinary('sbin', '2.9.10');
    versionedBinary('cache/nats-server/2.10.27', '2.10.27');
    const newest = versionedBinary('cache/nats-server/2.12.15', '2.12.15');
    const env = { PATH: pathOf('empty'), ...noCache() };
    expect(findNatsServer({ env, fallbackDirs: [join(root, 'sbin')] })).toBe(newest);
    const newer = versionedBinary('bin', '2.99.0');
    expect(findNatsServer({ env: { ...env, PATH: pathOf('bin') }, fallbackDirs: [] })).toBe(newer);
    expect(installed).not.toBe(newer);
  });

  it('picks the release NATS_SERVER_VERSION names, from the cache or the installed binary', () => {
    const debian = versionedBinary('sbin', '2.9.10');
    const build = versionedBinary('cache/nats-server/2.11.17', '2.11.17');
    versionedBinary('cache/nats-server/2.14.10', '2.14.10');
    const env = { PATH: pathOf('empty'), ...noCache() };
    const fallbackDirs = [join(root, 'sbin')];
    expect(findNatsServer({ env: { ...env, NATS_SERVER_VERSION: '2.11.17' }, fallbackDirs })).toBe(
      build,
    );
    expect(findNatsServer({ env: { ...env, NATS_SERVER_VERSION: '2.9.10' }, fallbackDirs })).toBe(
      debian,
    );
    expect(() =>
      findNatsServer({ env: { ...env, NATS_SERVER_VERSION: '2.12.15' }, fallbackDirs }),
    ).toThrow('go install github.com/nats-io/nats-server/v2@v2.12.15');
  });
});

describe('ensureNatsServer', () => {
  it('fails with the exact commands to run when no server, apt-get or Go is anywhere', () => {
    const lines: string[] = [];
    const env = { PATH: pathOf('empty'), ...noCache() };
    let error: unknown;
    try {
      ensureNatsServer({ env, fallbackDirs: [], log: (l) => lines.push(l) });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(Error);
    const { message } = error as Error;
    expect(message).toContain('sudo apt-get install nats-server');
    expect(message).toContain(
      `GOBIN=${join(root, 'cache', 'nats-server', NEWEST_SERVER_VERSION)} go install github.com/nats-io/nats-server/v2@v${NEWEST_SERVER_VERSION}`,
    );
    expect(lines).toEqual(['no nats-server found; getting one']);
  });

  it('builds the newest pinned release with Go when no server is installed, and says so', () => {
    // A stand-in for `go install` that leaves a nats-server reporting the version asked for.
    mkdirSync(join(root, 'go'), { recursive: true });
    writeFileSync(
      join(root, 'go', 'go'),
      '#!/bin/sh\nv=${2##*@v}\nprintf \'#!/bin/sh\\necho "nats-server: v%s"\\n\' "$v" > "$GOBIN/nats-server"\nchmod +x "$GOBIN/nats-server"\n',
    );
    chmodSync(join(root, 'go', 'go'), 0o755);
    const lines: string[] = [];
    const env = { PATH: `${pathOf('go')}${delimiter}/bin${delimiter}/usr/bin`, ...noCache() };
    const got = ensureNatsServer({ env, fallbackDirs: [], log: (l) => lines.push(l) });
    expect(got).toEqual({
      bin: join(root, 'cache', 'nats-server', NEWEST_SERVER_VERSION, 'nats-server'),
      version: NEWEST_SERVER_VERSION,
    });
    expect(lines.join('\n')).toMatch(
      new RegExp(
        `building github.com/nats-io/nats-server/v2@v${NEWEST_SERVER_VERSION.replace(/\./g, '\\.')}[^]*built nats-server ${NEWEST_SERVER_VERSION.replace(/\./g, '\\.')} in [\\d.]+ s`,
      ),
    );
  });
});
