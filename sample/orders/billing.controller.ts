import { Controller, Logger } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { JetStreamContext, JetStreamHandler, TermException } from '../../lib/index.js';

export interface PaymentEvent {
  orderId: string;
  amount: number;
}

/**
 * A durable JetStream consumer: each `orders.paid.*` event is charged once. Success acks; a
 * thrown error naks with a growing delay (the payment gateway is flaky on first contact); an
 * invalid amount is terminated, so it is never retried.
 */
@Controller()
export class BillingController {
  private readonly log = new Logger('Billing');
  private readonly attempts = new Map<string, number>();

  @JetStreamHandler('orders.paid.*', {
    stream: 'ORDERS',
    durable: 'billing',
    ackWait: 5000,
    maxDeliver: 4,
    retryDelay: (delivered) => 100 * delivered,
  })
  charge(@Payload() event: PaymentEvent, @Ctx() ctx: JetStreamContext): void {
    const { numDelivered, sequence } = ctx.getMetadata();
    if (event.amount <= 0) throw new TermException(`invalid amount ${event.amount}`);
    const n = (this.attempts.get(event.orderId) ?? 0) + 1;
    this.attempts.set(event.orderId, n);
    // Nest's RpcExceptionsHandler logs it with its stack; the settled event keeps its message.
    if (event.orderId === '2' && n === 1) throw new Error('payment gateway timeout');
    this.log.log(
      `charged order ${event.orderId}: ${event.amount} (stream seq ${sequence.stream}, delivery ${numDelivered})`,
    );
  }
}
