import net from 'node:net';
import { now, percentile, sampleRss } from './measure.js';

// The round trip with no client library at all: two bare sockets, hand-written CONNECT/SUB/PUB
// frames and a reader that only counts complete MSG frames. What it measures is what every
// client pays no matter how fast its code is (syscalls, loopback TCP, nats-server's two hops,
// waking up), so (this floor) / (a peer's latency) is the best ratio any client could reach.

/** Calls `onMsg` once per complete MSG frame read from `socket` (payload ignored). */
function frameReader(socket: net.Socket, onMsg: () => void): void {
  let pending = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    pending += chunk;
    for (;;) {
      const eol = pending.indexOf('\r\n');
      if (eol < 0) return;
      const line = pending.slice(0, eol);
      if (line.startsWith('MSG ')) {
        const size = Number(line.slice(line.lastIndexOf(' ') + 1));
        const end = eol + 2 + size + 2;
        if (pending.length < end) return;
        pending = pending.slice(end);
        onMsg();
      } else {
        if (line === 'PING') socket.write('PONG\r\n');
        pending = pending.slice(eol + 2);
      }
    }
  });
}

function open(url: string): Promise<net.Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port) }, () => {
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/**
 * p50/p99 in µs of `count` sequential request/reply round trips of `bytes`-byte payloads (after
 * `warmup` of them), requester and responder on two sockets of this process.
 */
export async function wireFloor(
  url: string,
  bytes: number,
  count: number,
  warmup: number,
): Promise<{ p50: number; p99: number }> {
  const [requester, responder] = await Promise.all([open(url), open(url)]);
  const body = 'x'.repeat(bytes);
  const request = `PUB floor.req floor.rep ${bytes}\r\n${body}\r\n`;
  const answer = `PUB floor.rep ${bytes}\r\n${body}\r\n`;
  let answered: (() => void) | undefined;
  frameReader(responder, () => responder.write(answer));
  frameReader(requester, () => answered?.());
  const ready = new Promise<void>((resolve) => (answered = resolve));
  responder.write('CONNECT {"verbose":false,"pedantic":false}\r\nSUB floor.req 1\r\n');
  requester.write('CONNECT {"verbose":false,"pedantic":false}\r\nSUB floor.rep 1\r\n');
  // Both SUBs are in place once a probe request makes the whole round trip.
  const probe = setInterval(() => requester.write(request), 50);
  await ready;
  clearInterval(probe);
  await new Promise((r) => setTimeout(r, 100)); // let extra probe replies drain
  const roundTrip = (): Promise<void> =>
    new Promise((resolve) => {
      answered = resolve;
      requester.write(request);
    });
  try {
    for (let i = 0; i < warmup; i++) await roundTrip();
    const micros = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      const t0 = now();
      await roundTrip();
      micros[i] = (now() - t0) * 1000;
    }
    sampleRss();
    return { p50: percentile(micros, 50), p99: percentile(micros, 99) };
  } finally {
    requester.destroy();
    responder.destroy();
  }
}
