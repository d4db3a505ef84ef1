// Jest global setup: make sure a nats-server is there (getting one when none is: see
// server-install.ts), pin it for every worker through NATS_SERVER_BIN, and say which one it is.
// Jest loads this file without the TypeScript transform, so the TypeScript runs in a child.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export default function globalSetup() {
  const out = execFileSync(
    process.execPath,
    ['--import', './tools/ts-register.js', 'tools/nats-server.ts', '--ensure'],
    { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [bin, version] = out.trim().split('\n').pop().split('\t');
  process.env.NATS_SERVER_BIN = bin;
  process.stderr.write(`\ntests run against nats-server ${version} (${bin})\n`);
}
