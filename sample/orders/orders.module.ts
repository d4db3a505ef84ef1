import { Module, type DynamicModule } from '@nestjs/common';
import { NatsModule } from '../../lib/index.js';
import { BillingController } from './billing.controller.js';
import { CatalogService } from './catalog.service.js';
import { OrdersController } from './orders.controller.js';
import { OrdersService } from './orders.service.js';

@Module({})
export class OrdersModule {
  /** The orders app; `servers` feeds the shared connection that backs the KV catalog. */
  static forRoot(servers: string): DynamicModule {
    return {
      module: OrdersModule,
      imports: [
        NatsModule.forRoot({ servers, name: 'orders-kv', kv: [{ bucket: 'catalog', history: 3 }] }),
      ],
      controllers: [OrdersController, BillingController],
      providers: [OrdersService, CatalogService],
    };
  }
}
