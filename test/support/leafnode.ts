// A hub server and a leaf node server joined by a leafnode connection, each running JetStream in
// its own domain: the realistic setup for reaching another JetStream through `{ domain }`.
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, type NatsServerHandle } from './nats-server.js';
import { getFreePort } from './ports.js';
import { rawConnect } from './raw-client.js';

/** A running hub/leaf pair started by `startLeafPair`. */
export interface LeafPair {
  /** Accepts the leafnode connection; JetStream domain `hubDomain`. */
  hub: NatsServerHandle;
  /** Connects to the hub as a leaf node; JetStream domain `leafDomain`. */
  leaf: NatsServerHandle;
  hubDomain: string;
  leafDomain: string;
  stop(): Promise<void>;
}

/** Options of `startLeafPair`. */
export interface LeafPairOptions {
  /** @default 'hub' */
  hubDomain?: string;
  /** @default 'leaf' */
  leafDomain?: string;
  /** How long to wait for the leaf to reach the hub's JetStream. @default 15000 */
  timeoutMs?: number;
}

/**
 * Starts a hub and a leaf node (same account, the default one), and waits until a client of the
 * leaf gets an answer from the hub's JetStream through `$JS.<hubDomain>.API`.
 */
export async function startLeafPair(opts: LeafPairOptions = {}): Promise<LeafPair> {
  const hubDomain = opts.hubDomain ?? 'hub';
  const leafDomain = opts.leafDomain ?? 'leaf';
  const leafPort = await getFreePort();
  const hub = await startServer({
    jetstream: true,
    jetstreamDomain: hubDomain,
    serverName: 'hub',
    config: `leafnodes { listen: ${JSON.stringify(`127.0.0.1:${leafPort}`)} }`,
  });
  let leaf: NatsServerHandle | undefined;
  try {
    const remote = JSON.stringify(`nats-leaf://127.0.0.1:${leafPort}`);
    leaf = await startServer({
      jetstream: true,
      jetstreamDomain: leafDomain,
      serverName: 'leaf',
      config: `leafnodes { remotes: [ { url: ${remote} } ] }`,
    });
    await waitForDomain(leaf, hub, hubDomain, opts.timeoutMs ?? 15_000);
  } catch (err) {
    await Promise.all([hub.stop(), leaf?.stop()]);
    throw err;
  }
  const both = [hub, leaf];
  return {
    hub,
    leaf,
    hubDomain,
    leafDomain,
    stop: async () => void (await Promise.all(both.map((s) => s.stop()))),
  };
}

/**
 * Polls `$JS.<domain>.API.INFO` from a raw client of the leaf until it is answered. A connected
 * leafnode is not enough: the domain mapping and the interest behind it arrive just after.
 */
async function waitForDomain(
  leaf: NatsServerHandle,
  hub: NatsServerHandle,
  domain: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const client = await rawConnect(leaf.port);
  try {
    client.connect();
    await client.waitFor('PONG');
    client.send('SUB _INBOX.leafpair 1\r\n');
    for (;;) {
      client.send(`PUB $JS.${domain}.API.INFO _INBOX.leafpair 0\r\n\r\n`);
      try {
        await client.waitFor(/^MSG _INBOX\.leafpair /, 500);
        return;
      } catch (err) {
        if (Date.now() > deadline) {
          const tail = (s: NatsServerHandle): string => s.logs().split('\n').slice(-15).join('\n');
          throw new Error(
            `the leaf node never reached JetStream domain ${domain}: ${String(err)}\n` +
              `--- hub ---\n${tail(hub)}\n--- leaf ---\n${tail(leaf)}`,
          );
        }
        await sleep(100);
      }
    }
  } finally {
    client.close();
  }
}
