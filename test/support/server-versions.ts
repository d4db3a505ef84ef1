// The one list of nats-server releases this project is tested against. Debian's package gives
// 2.9.10; every other release is built from the Go module proxy by `npm run servers`.

/** The release Debian's `nats-server` package installs (`apt-get install nats-server`). */
export const DEBIAN_SERVER_VERSION: string = '2.9.10';

/** The newest patch release of each minor line that is built with `go install`, oldest first. */
export const BUILT_SERVER_VERSIONS = ['2.10.27', '2.11.17', '2.12.15', '2.14.10'] as const;

/** Every tested release, oldest first; the last is the default. */
export const SERVER_VERSIONS = [DEBIAN_SERVER_VERSION, ...BUILT_SERVER_VERSIONS] as const;

/** The newest tested release: what `npm test` and `npm run bench` use when it is available. */
export const NEWEST_SERVER_VERSION: string =
  BUILT_SERVER_VERSIONS[BUILT_SERVER_VERSIONS.length - 1];

/** The `nats` CLI (natscli) release used for the interoperability checks. */
export const NATS_CLI_VERSION = '0.5.0';
