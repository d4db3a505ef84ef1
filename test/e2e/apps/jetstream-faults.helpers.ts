// Shared app builder and log capture of the jetstream-handler-* specs (not a spec file).
import 'reflect-metadata';
import { Module, type INestMicroservice, type LoggerService, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { MicroserviceOptions } from '@nestjs/microservices';
import {
  ServerNats,
  type JetStreamManager,
  type ServerNatsOptions,
  type SettledEvent,
} from '../../../lib/index.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitFor(
  cond: () => boolean,
  timeout = 5000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + timeout;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met in ${timeout} ms`);
    await sleep(10);
  }
}

export class CaptureLogger implements LoggerService {
  lines: string[] = [];
  private push(level: string, m: unknown, ...rest: unknown[]) {
    this.lines.push(
      `${level}: ${m instanceof Error ? m.message : String(m)} ${rest.map(String).join(' ')}`,
    );
  }
  log(m: unknown, ...r: unknown[]) {
    this.push('log', m, ...r);
  }
  error(m: unknown, ...r: unknown[]) {
    this.push('error', m, ...r);
  }
  warn(m: unknown, ...r: unknown[]) {
    this.push('warn', m, ...r);
  }
  debug(m: unknown, ...r: unknown[]) {
    this.push('debug', m, ...r);
  }
  verbose(m: unknown, ...r: unknown[]) {
    this.push('verbose', m, ...r);
  }
}

export interface Started {
  app: INestMicroservice;
  strategy: ServerNats;
  settled: SettledEvent[];
  logger: CaptureLogger;
}

export async function startApp(
  controller: Type<unknown>,
  options: ServerNatsOptions,
  settled: SettledEvent[] = [],
): Promise<Started> {
  @Module({ controllers: [controller] })
  class M {}
  const logger = new CaptureLogger();
  const strategy = new ServerNats(options);
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(M, { strategy, logger });
  strategy.on('settled', (e) => settled.push(e));
  await app.listen();
  return { app, strategy, settled, logger };
}

export const outcomesOf = (settled: SettledEvent[], seq: number) =>
  settled.filter((e) => e.streamSeq === seq).map((e) => e.outcome);

/** Waits until `stream` no longer holds message `seq` (it expired); false when it still does. */
export async function waitUntilGone(
  jsm: JetStreamManager,
  stream: string,
  seq: number,
  timeout = 8000,
): Promise<boolean> {
  const end = Date.now() + timeout;
  while (Date.now() < end) {
    const gone = await jsm.streams.getMessage(stream, { seq }).then(
      () => false,
      () => true,
    );
    if (gone) return true;
    await sleep(200);
  }
  return false;
}
