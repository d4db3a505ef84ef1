import { Controller, Logger } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { JetStreamContext, JetStreamHandler } from '../../lib/index.js';

/** What the newer-server part of the sample shows, by what the connected server supports. */
export interface ModernFeatures {
  /** Exclusive handlers: pinned priority groups, nats-server 2.11+. */
  exclusive: boolean;
  /** Delayed events: message schedules, nats-server 2.12+. */
  delayed: boolean;
}

/**
 * An exclusive handler: however many instances of the app run, exactly one processes the
 * ledger at a time, in stream order; the others stand by and take over if it dies.
 */
@Controller()
export class LedgerController {
  static readonly entries: number[] = [];
  private readonly log = new Logger('Ledger');

  @JetStreamHandler('ledger.*', { stream: 'LEDGER', durable: 'ledger', exclusive: true })
  book(@Payload() entry: { n: number }, @Ctx() ctx: JetStreamContext): void {
    LedgerController.entries.push(entry.n);
    this.log.log(`booked entry ${entry.n} (stream seq ${ctx.getMetadata().sequence.stream})`);
  }
}

/** Receives the delayed reminders the client schedules with `NatsRecordBuilder.delay()`. */
@Controller()
export class RemindersController {
  static readonly received: Array<{ orderId: string; at: number }> = [];

  @JetStreamHandler('orders.reminder.*', { stream: 'REMINDERS', durable: 'reminders' })
  remind(@Payload() reminder: { orderId: string }): void {
    RemindersController.received.push({ orderId: reminder.orderId, at: Date.now() });
  }
}
