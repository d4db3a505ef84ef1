import { FeatureNotSupportedError } from './errors.js';

/** A nats-server release as reported in INFO (`2.14.10`, `2.12.0-RC.1`). */
export interface ServerVersion {
  /** The major number (2 in `2.14.10`). */
  major: number;
  /** The minor number (14 in `2.14.10`). */
  minor: number;
  /** The patch number (10 in `2.14.10`). */
  patch: number;
  /** The text the server sent, pre-release suffix included. */
  text: string;
}

/** Parses `major.minor.patch[-suffix]`; undefined when the text does not start that way. */
export function parseServerVersion(text: string | undefined): ServerVersion | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(text ?? '');
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), text: text as string };
}

/**
 * Compares two versions by their numbers only: a pre-release (`2.12.0-RC.1`) counts as its
 * release, since release candidates carry the release's features. Unparsable text is 0.0.0.
 */
export function compareVersions(a: string, b: string): number {
  const pa = parseServerVersion(a) ?? { major: 0, minor: 0, patch: 0 };
  const pb = parseServerVersion(b) ?? { major: 0, minor: 0, patch: 0 };
  return pa.major - pb.major || pa.minor - pb.minor || pa.patch - pb.patch;
}

/** What the version checks need of a connection (its last known INFO). */
export interface HasServerInfo {
  readonly info: { readonly version?: string };
}

/** True when the connected server is release `min` or newer. */
export function serverAtLeast(nc: HasServerInfo, min: string): boolean {
  return compareVersions(nc.info.version ?? '0.0.0', min) >= 0;
}

/**
 * The one gate for features of newer servers: throws `FeatureNotSupportedError` naming the
 * feature and `min` when the connected server is older, before anything is sent.
 */
export function requireServer(nc: HasServerInfo, min: string, feature: string): void {
  if (!serverAtLeast(nc, min))
    throw new FeatureNotSupportedError(feature, min, nc.info.version ?? 'unknown');
}
