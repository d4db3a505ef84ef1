#!/usr/bin/env node
// Installs a Node.js release line from the npm registry (the official binaries are published there
// as `node-<platform>-<arch>` packages) into the cache, once, and prints the binary's path on stdout.
//
//   node tools/get-node.mjs 24          # newest 24.x
//   node tools/get-node.mjs 22.23.5     # an exact release
//   "$(node tools/get-node.mjs 24)" --version
//
// Cache: $NESTJS_NATS_CACHE, else $XDG_CACHE_HOME/nestjs-nats, else ~/.cache/nestjs-nats (the same
// root the test support uses for nats-server builds), under node/<spec>/. A second call reuses the
// install. Progress goes to stderr so that stdout is only the path. No dependencies: runs on Node 20.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

function fail(message) {
  process.stderr.write(`get-node: ${message}\n`);
  process.exit(1);
}

function cacheRoot(env) {
  if (env.NESTJS_NATS_CACHE) return env.NESTJS_NATS_CACHE;
  const base = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return join(base, 'nestjs-nats');
}

/** The registry package that holds the official binary for this machine. */
function packageName() {
  const platform = { linux: 'linux', darwin: 'darwin', win32: 'win' }[process.platform];
  const arch = { x64: 'x64', arm64: 'arm64' }[process.arch];
  if (!platform || !arch) fail(`no Node package is known for ${process.platform}/${process.arch}`);
  return `node-${platform}-${arch}`;
}

/** `--version` of a binary, or undefined when it does not run. */
function versionOf(bin) {
  try {
    return execFileSync(bin, ['--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

/** Whether `version` ("v24.1.0") satisfies `spec` ("24", "24.1" or "24.1.0"). */
function matches(version, spec) {
  const have = version.replace(/^v/, '').split('.');
  return spec.split('.').every((part, i) => have[i] === part);
}

const spec = process.argv[2];
if (!spec || !/^\d+(\.\d+){0,2}$/.test(spec)) {
  fail('usage: node tools/get-node.mjs <major>[.<minor>[.<patch>]]   e.g. 24');
}

const pkg = packageName();
const dir = join(cacheRoot(process.env), 'node', spec);
const binIn = (root) =>
  join(root, 'node_modules', pkg, 'bin', process.platform === 'win32' ? 'node.exe' : 'node');
const bin = binIn(dir);

const cached = existsSync(bin) ? versionOf(bin) : undefined;
if (cached && matches(cached, spec)) {
  process.stdout.write(`${bin}\n`);
  process.exit(0);
}

// Install into a scratch folder beside the final one, then move it in place, so that an interrupted
// or concurrent install never leaves a half-written binary where the next call would reuse it.
const started = Date.now();
const scratch = `${dir}.tmp-${process.pid}`;
rmSync(scratch, { recursive: true, force: true });
mkdirSync(scratch, { recursive: true });
process.stderr.write(`get-node: installing ${pkg}@${spec} into ${dir}\n`);
try {
  execFileSync(
    process.platform === 'win32' ? 'npm.cmd' : 'npm',
    [
      'install',
      '--prefix',
      scratch,
      '--no-save',
      '--no-package-lock',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      `${pkg}@${spec}`,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], shell: process.platform === 'win32' },
  );
} catch (err) {
  rmSync(scratch, { recursive: true, force: true });
  fail(`npm install ${pkg}@${spec} failed: ${err.message}`);
}

const installed = versionOf(binIn(scratch));
if (!installed || !matches(installed, spec)) {
  rmSync(scratch, { recursive: true, force: true });
  fail(
    `${pkg}@${spec} installed, but its binary reports ${installed ?? 'nothing (it did not run)'}`,
  );
}
rmSync(dir, { recursive: true, force: true });
try {
  renameSync(scratch, dir);
} catch (err) {
  // Another process finished the same install first: keep its copy when that one runs.
  rmSync(scratch, { recursive: true, force: true });
  if (!(existsSync(bin) && versionOf(bin) === installed))
    fail(`could not move the install into ${dir}: ${err.message}`);
}
const seconds = ((Date.now() - started) / 1000).toFixed(1);
process.stderr.write(`get-node: installed Node ${installed} in ${seconds}s\n`);
process.stdout.write(`${bin}\n`);
