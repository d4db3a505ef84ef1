import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '../../..');

/** A child process running test/e2e/apps/exclusive.app.ts. */
export interface ChildApp {
  id: string;
  proc: ChildProcess;
  output: string[];
}

/** Starts the app in its own process; resolves once it is listening. */
export async function startChildApp(
  url: string,
  mode: 'exclusive' | 'partitions',
  id: string,
  env: Record<string, string> = {},
): Promise<ChildApp> {
  const proc = spawn(
    process.execPath,
    ['--import', './tools/ts-register.js', 'test/e2e/apps/exclusive.app.ts'],
    {
      cwd: root,
      env: { ...process.env, NODE_OPTIONS: '', NATS_URL: url, APP_MODE: mode, APP_ID: id, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  const output: string[] = [];
  proc.stderr.on('data', (d: Buffer) => output.push(d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${id} did not start: ${output.join('')}`)),
      30_000,
    );
    proc.stdout.on('data', (d: Buffer) => {
      output.push(d.toString());
      if (output.join('').includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${id} exited with ${code}: ${output.join('')}`));
    });
  });
  return { id, proc, output };
}

/** Kills the app (SIGKILL unless told) and waits until it is gone. */
export async function killChildApp(
  app: ChildApp,
  signal: NodeJS.Signals = 'SIGKILL',
): Promise<void> {
  if (app.proc.exitCode !== null || app.proc.signalCode !== null) return;
  const gone = new Promise((r) => app.proc.once('exit', r));
  app.proc.kill(signal);
  await gone;
}
