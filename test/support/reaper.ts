// Last-resort cleanup of nats-server processes and temp dirs. Under Jest, `process.on('exit')`
// in a test file registers on a sandbox copy of `process` and never fires, and a SIGKILLed worker
// runs no hooks at all. So a tiny `sh` watchdog is spawned with a pipe as its stdin: when this
// process dies, for any reason, the pipe closes and the watchdog SIGKILLs the registered servers
// and removes the registered dirs.
import childProcess, { type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';

// Reads `kill<TAB>pid<TAB>config file` and `rm<TAB>dir` lines until EOF. Then it kills each pid
// whose command line still names its config file (so a recycled pid is never hit), and only then
// removes the directories.
const SCRIPT = `
trap '' INT
list=''
while IFS= read -r line; do list="$list$line
"; done
printf '%s' "$list" | while IFS='\t' read -r op pid conf; do
  [ "$op" = kill ] || continue
  if ps -p "$pid" -o args= 2>/dev/null | grep -qF -- "$conf"; then kill -9 "$pid"; fi
done
printf '%s' "$list" | while IFS='\t' read -r op dir; do
  if [ "$op" = rm ] && [ -n "$dir" ]; then rm -rf -- "$dir"; fi
done
`;

/**
 * Returns the value stored under `key` for this OS process, creating it on first use. It is kept
 * on a core module object, which (unlike globalThis) every test file of a Jest worker shares.
 */
export function perProcess<T>(key: string, create: () => T): T {
  const holder = childProcess as unknown as Record<symbol, T | undefined>;
  const sym = Symbol.for(`nestjs-nats.test-support.${key}`);
  return (holder[sym] ??= create());
}

function spawnReaper(): ChildProcess | undefined {
  try {
    const child = childProcess.spawn('/bin/sh', ['-c', SCRIPT], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    child.on('error', () => {}); // no sh: only the in-process cleanup remains
    child.stdin?.on('error', () => {});
    child.unref();
    (child.stdin as unknown as Socket | null)?.unref();
    return child;
  } catch {
    return undefined;
  }
}

const reaper = (): ChildProcess | undefined => perProcess('reaper', spawnReaper);

/** Registers a server process to be SIGKILLed when this process dies. */
export function watchServerProcess(pid: number, configFile: string): void {
  reaper()?.stdin?.write(`kill\t${pid}\t${configFile}\n`);
}

/** Registers a temp directory to be removed when this process dies (if it still exists). */
export function watchTempDir(dir: string): void {
  reaper()?.stdin?.write(`rm\t${dir}\n`);
}
