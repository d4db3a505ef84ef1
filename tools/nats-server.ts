// `npm run servers [-- VERSION...]`: builds the tested nats-server releases (or the ones named)
// into the cache with `go install`, and the nats CLI with `--cli`; prints each binary's path.
// `npm run servers -- --path [VERSION]` prints where that release (default: the one tests use) is;
// `--ensure` gets a server when none is found and prints its path and version.
import { findNatsServer } from '../test/support/find-server.js';
import { buildNatsCli, buildServer, ensureNatsServer } from '../test/support/server-install.js';
import { BUILT_SERVER_VERSIONS } from '../test/support/server-versions.js';

const args = process.argv.slice(2);
try {
  if (args[0] === '--path') {
    const env = args[1] ? { ...process.env, NATS_SERVER_VERSION: args[1] } : process.env;
    console.log(findNatsServer({ env }));
  } else if (args[0] === '--ensure') {
    const { bin, version } = ensureNatsServer();
    console.log(`${bin}\t${version}`);
  } else {
    const cli = args.includes('--cli');
    const named = args.filter((a) => !a.startsWith('--'));
    for (const version of named.length ? named : cli ? [] : BUILT_SERVER_VERSIONS) {
      console.log(buildServer(version));
    }
    if (cli) console.log(buildNatsCli());
  }
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
