// A CommonJS NestJS 11 app, as most existing Nest apps are: it require()s the built package
// (copied next to the NestJS 11 packages so both resolve there) and serves one request-reply
// handler and one event through ServerNats, called by ClientNats. Run by tools/check-cjs.cjs.
'use strict';

require('reflect-metadata');
const { spawn } = require('node:child_process');
const net = require('node:net');
const { Controller, Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { MessagePattern, EventPattern, Payload } = require('@nestjs/microservices');
const { lastValueFrom } = require('rxjs');
const { ServerNats, ClientNats } = require('nestjs-nats');

const events = [];
class MathController {
  sum(numbers) {
    return numbers.reduce((a, b) => a + b, 0);
  }
  noted(text) {
    events.push(text);
  }
}
// What TypeScript emits for @MessagePattern / @EventPattern / @Payload on these methods.
const proto = MathController.prototype;
for (const [method, decorator] of [
  ['sum', MessagePattern('math.sum')],
  ['noted', EventPattern('math.noted')],
]) {
  Payload()(proto, method, 0);
  const descriptor = Object.getOwnPropertyDescriptor(proto, method);
  Object.defineProperty(proto, method, decorator(proto, method, descriptor) || descriptor);
}
Controller()(MathController);
class AppModule {}
Module({ controllers: [MathController] })(AppModule);

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function main() {
  const port = await freePort();
  const bin = process.env.NATS_SERVER_BIN || 'nats-server';
  const server = spawn(bin, ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const url = `nats://127.0.0.1:${port}`;
  try {
    for (let i = 0; ; i++) {
      const up = await new Promise((r) => {
        const s = net
          .connect(port, '127.0.0.1', () => (s.destroy(), r(true)))
          .on('error', () => r(false));
      });
      if (up) break;
      if (i > 100) throw new Error(`nats-server did not start on ${port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const app = await NestFactory.createMicroservice(AppModule, {
      strategy: new ServerNats({ servers: url }),
      logger: false,
    });
    await app.listen();
    const client = new ClientNats({ servers: url });
    const sum = await lastValueFrom(client.send('math.sum', [1, 2, 3]));
    await lastValueFrom(client.emit('math.noted', 'hello'));
    for (let i = 0; events.length === 0 && i < 100; i++)
      await new Promise((r) => setTimeout(r, 20));
    await client.close();
    await app.close();
    if (sum !== 6 || events[0] !== 'hello') {
      throw new Error(`unexpected results: sum ${sum}, events ${JSON.stringify(events)}`);
    }
    const nest = require('@nestjs/core/package.json').version;
    console.log(`CommonJS app on NestJS ${nest}: send() and emit() through ServerNats ok`);
  } finally {
    server.kill();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
