import { createServer } from 'node:net';

// Ports handed out by this process; never hand the same one out twice, even after it is freed.
const handedOut = new Set<number>();

/** Finds a free TCP port on 127.0.0.1 by binding port 0 and releasing it. */
export async function getFreePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.unref();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        const found = typeof address === 'object' && address ? address.port : 0;
        server.close(() => resolve(found));
      });
    });
    if (port > 0 && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}
