// The version of the nats-server the tests run against, and specs that need a newer one: they
// are skipped on older servers with the reason in their title (listed after the run).
import { compareVersions, findNatsServer, serverVersionOf } from './find-server.js';

let version: string | undefined;

/** The release of the nats-server `startServer` spawns ('2.14.10'). */
export function testServerVersion(): string {
  version ??= serverVersionOf(findNatsServer()) ?? '0.0.0';
  return version;
}

/** True when the test server is `min` or newer. */
export function serverAtLeast(min: string): boolean {
  return compareVersions(testServerVersion(), min) >= 0;
}

// The reason goes into the title, where test/support/skip-reporter.mjs finds it after the run.
function skipReason(min: string, title: string): string {
  return `${title} [skipped: needs nats-server >= ${min}, running ${testServerVersion()}]`;
}

/** `describe` that runs only on nats-server `min` or newer. */
export function describeSince(min: string, title: string, fn: () => void): void {
  if (serverAtLeast(min)) describe(title, fn);
  else describe.skip(skipReason(min, title), fn);
}

/** `it` that runs only on nats-server `min` or newer. */
export function itSince(
  min: string,
  title: string,
  fn: () => Promise<unknown>,
  timeout?: number,
): void {
  if (serverAtLeast(min)) it(title, fn, timeout);
  else it.skip(skipReason(min, title), fn, timeout);
}

/** `it` that runs only on servers older than `below` (behaviour a newer release changed). */
export function itBefore(
  below: string,
  title: string,
  fn: () => Promise<unknown>,
  timeout?: number,
): void {
  if (!serverAtLeast(below)) it(title, fn, timeout);
  else {
    const reason = `only before nats-server ${below}, running ${testServerVersion()}`;
    it.skip(`${title} [skipped: ${reason}]`, fn, timeout);
  }
}
