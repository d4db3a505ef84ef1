import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The package built from lib/ into an app folder of its own, as an app that installed
// nestjs-nats and none of its optional peers has it: node_modules/nestjs-nats and nothing else.
const root = join(import.meta.dirname, '../..');

/** An app folder with only the built package installed. */
export interface BuiltPackageApp {
  /** The app's folder. */
  dir: string;
  /** Runs `code` as an ES module (or CommonJS) inside the app; its exit status and output. */
  run(code: string, type?: 'module' | 'commonjs', timeout?: number): RunResult;
  /** Deletes the folder. */
  remove(): void;
}

export interface RunResult {
  status: number | null;
  output: string;
}

/** Builds the package (tsc, tsconfig.build.json) into a new temporary app named `prefix…`. */
export function buildPackageApp(prefix: string): BuiltPackageApp {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const pkg = join(dir, 'node_modules/nestjs-nats');
  mkdirSync(pkg, { recursive: true });
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  execFileSync(
    process.execPath,
    [tsc, '-p', 'tsconfig.build.json', '--outDir', join(pkg, 'dist')],
    {
      cwd: root,
    },
  );
  cpSync(join(root, 'package.json'), join(pkg, 'package.json'));
  return {
    dir,
    run: (code, type = 'module', timeout) => runIn(dir, code, type, timeout),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function runIn(dir: string, code: string, type: string, timeout?: number): RunResult {
  // Nothing from this repository's node_modules may leak in.
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_PATH;
  delete env.NODE_OPTIONS;
  const r = spawnSync(process.execPath, [`--input-type=${type}`, '-e', code], {
    cwd: dir,
    env,
    encoding: 'utf8',
    ...(timeout !== undefined ? { timeout } : {}),
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
