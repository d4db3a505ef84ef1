import { Injectable, Logger } from '@nestjs/common';

export interface Order {
  id: string;
  item: string;
  qty: number;
  total: number;
  status: 'new' | 'shipped';
}

/** In-memory orders; enough to show the transport. */
@Injectable()
export class OrdersService {
  private readonly log = new Logger('Orders');
  private readonly orders = new Map<string, Order>();
  private next = 1;

  create(item: string, qty: number, total: number): Order {
    const order: Order = { id: String(this.next++), item, qty, total, status: 'new' };
    this.orders.set(order.id, order);
    return order;
  }

  find(id: string): Order | undefined {
    return this.orders.get(id);
  }

  all(): Order[] {
    return [...this.orders.values()];
  }

  markShipped(id: string, subject: string): void {
    const order = this.orders.get(id);
    if (order) order.status = 'shipped';
    this.log.log(`event on ${subject}: order ${id} shipped`);
  }
}
