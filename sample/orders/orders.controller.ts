import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { from, type Observable } from 'rxjs';
import { NatsContext, NatsRecordBuilder } from '../../lib/index.js';
import { OrdersService, type Order } from './orders.service.js';

/** The orders microservice: request-reply, a streamed reply, errors with codes, and events. */
@Controller()
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  /** `orders.get` answers with the order, or a 404 error the caller receives with its code. */
  @MessagePattern('orders.get')
  get(@Payload() id: string): Order {
    const order = this.orders.find(id);
    if (!order) throw new RpcException({ statusCode: 404, message: `order ${id} not found` });
    return order;
  }

  /** `orders.create` stores an order and answers with it plus a reply header. */
  @MessagePattern('orders.create')
  create(@Payload() input: { item: string; qty: number }, @Ctx() ctx: NatsContext) {
    const order = this.orders.create(input.item, input.qty);
    const traceId = ctx.getHeaders()?.get('x-trace-id') ?? 'none';
    return new NatsRecordBuilder(order).setHeaders({ 'x-trace-id': traceId }).build();
  }

  /** `orders.list` streams every order as its own reply. */
  @MessagePattern('orders.list')
  list(): Observable<Order> {
    return from(this.orders.all());
  }

  /** `orders.*.shipped` events (wildcard); the handler takes only the payload. */
  @EventPattern<string>('orders.*.shipped')
  shipped(@Payload() event: { id: string }, @Ctx() ctx: NatsContext): void {
    this.orders.markShipped(event.id, ctx.getSubject());
  }
}
