import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { from, type Observable } from 'rxjs';
import { NatsMessageContext, NatsRecordBuilder } from '../../lib/index.js';
import { CatalogService } from './catalog.service.js';
import { OrdersService, type Order } from './orders.service.js';

/** The orders microservice: request-reply, a streamed reply, errors with codes, and events. */
@Controller()
export class OrdersController {
  constructor(
    private readonly orders: OrdersService,
    private readonly catalog: CatalogService,
  ) {}

  /** `orders.get` answers with the order, or a 404 error the caller receives with its code. */
  @MessagePattern('orders.get')
  get(@Payload() id: string): Order {
    const order = this.orders.find(id);
    if (!order) throw new RpcException({ statusCode: 404, message: `order ${id} not found` });
    return order;
  }

  /** `orders.create` prices the order from the KV catalog, stores it and answers with a reply header. */
  @MessagePattern('orders.create')
  async create(@Payload() input: { item: string; qty: number }, @Ctx() ctx: NatsMessageContext) {
    const price = await this.catalog.price(input.item);
    if (!price) throw new RpcException({ statusCode: 400, message: `unknown item ${input.item}` });
    const order = this.orders.create(input.item, input.qty, price.price * input.qty);
    const traceId = ctx.getHeaders()?.get('x-trace-id') ?? 'none';
    return new NatsRecordBuilder(order)
      .setHeaders({ 'x-trace-id': traceId, 'x-price-revision': String(price.revision) })
      .build();
  }

  /** `catalog.price` reads a price straight from the KV bucket. */
  @MessagePattern('catalog.price')
  async price(@Payload() item: string) {
    return (await this.catalog.price(item)) ?? null;
  }

  /** `orders.list` streams every order as its own reply. */
  @MessagePattern('orders.list')
  list(): Observable<Order> {
    return from(this.orders.all());
  }

  /** `orders.*.shipped` events (wildcard); the handler takes only the payload. */
  @EventPattern<string>('orders.*.shipped')
  shipped(@Payload() event: { id: string }, @Ctx() ctx: NatsMessageContext): void {
    this.orders.markShipped(event.id, ctx.getSubject());
  }
}
