import { startServer } from '../support/index.js';
it('leaks', async () => {
  const s = await startServer();
  (await import('node:fs')).writeFileSync('/tmp/natsexp/leakpid', String(s.pid));
});
