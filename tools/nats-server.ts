// `npm run servers [-- VERSION... | --all] [--cli]`: builds the tested nats-server releases (or the
// ones named) into the cache with `go install`, and the nats CLI with `--cli`; prints each path.
// `--newest` prints the newest tested release.
// `npm run servers -- --path [VERSION]` prints where that release (default: the one tests use) is;
// `--ensure` gets a server when none is found and prints its path and version.
import { findNatsServer } from '../test/support/find-server.js';
import { buildNatsCli, buildServer, ensureNatsServer } from '../test/support/server-install.js';
import { BUILT_SERVER_VERSIONS, NEWEST_SERVER_VERSION } from '../test/support/server-versions.js';

const args = process.argv.slice(2);
try {
  if (args[0] === '--path') {
    const env = args[1] ? { ...process.env, NATS_SERVER_VERSION: args[1] } : process.env;
    console.log(findNatsServer({ env }));
  } else if (args[0] === '--ensure') {
    const { bin, version } = ensureNatsServer();
    console.log(`${bin}\t${version}`);
  } else if (args[0] === '--newest') {
    console.log(NEWEST_SERVER_VERSION);
  } else {
    const cli = args.includes('--cli');
    const named = args.filter((a) => !a.startsWith('--'));
    const all = args.includes('--all') || (!cli && named.length === 0);
    for (const version of named.length ? named : all ? BUILT_SERVER_VERSIONS : []) {
      console.log(buildServer(version));
    }
    if (cli) console.log(buildNatsCli());
  }
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
