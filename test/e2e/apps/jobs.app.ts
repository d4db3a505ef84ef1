import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, Payload, type MicroserviceOptions } from '@nestjs/microservices';
import {
  JetStreamContext,
  JetStreamHandler,
  ServerNats,
  TermException,
  type ServerNatsOptions,
  type SettledEvent,
} from '../../../lib/index.js';

/** What a job asks the handler to do. */
export interface Job {
  id: string;
  fail?: number; // throw on the first N deliveries
  always?: 'fail' | 'term' | 'manual-nak';
  sleep?: number; // ms
}

export const jobsSeen: Array<{ id: string; delivered: number; at: number }> = [];

@Controller()
class JobsController {
  @JetStreamHandler('jobs.>', {
    stream: 'JOBS',
    durable: 'jobs-worker',
    ackWait: 600,
    maxDeliver: 3,
    retryDelay: (n) => 100 * n,
    deadLetterSubject: 'dlq.jobs',
    concurrency: 4,
  })
  async handle(@Payload() job: Job, @Ctx() ctx: JetStreamContext): Promise<void> {
    const delivered = ctx.getMetadata().numDelivered;
    jobsSeen.push({ id: job.id, delivered, at: Date.now() });
    if (job.sleep) await new Promise((r) => setTimeout(r, job.sleep));
    if (job.always === 'term') throw new TermException(`job ${job.id} is invalid`);
    if (job.always === 'fail') throw new Error(`job ${job.id} keeps failing`);
    if (job.always === 'manual-nak') {
      if (delivered === 1) ctx.nak(50);
      return;
    }
    if (job.fail && delivered <= job.fail)
      throw new Error(`job ${job.id} failed on delivery ${delivered}`);
  }
}

@Module({ controllers: [JobsController] })
class JobsModule {}

export const JOBS_STREAMS = [
  { name: 'JOBS', subjects: ['jobs.>'], storage: 'file' as const },
  { name: 'DLQ', subjects: ['dlq.>'], storage: 'file' as const },
];

/** Starts the jobs app; `settled` collects every settle outcome. */
export async function startJobsApp(options: ServerNatsOptions, settled: SettledEvent[] = []) {
  const strategy = new ServerNats({ streams: JOBS_STREAMS, ...options });
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(JobsModule, {
    strategy,
    logger: false,
  });
  strategy.on('settled', (e) => settled.push(e));
  await app.listen();
  return { app, strategy, settled };
}
