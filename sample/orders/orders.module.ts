import { Module, type DynamicModule } from '@nestjs/common';
import { NatsModule } from '../../lib/index.js';
import { BillingController } from './billing.controller.js';
import { CatalogService } from './catalog.service.js';
import {
  LedgerController,
  RemindersController,
  type ModernFeatures,
} from './modern.controllers.js';
import { OrdersController } from './orders.controller.js';
import { OrdersService } from './orders.service.js';

@Module({})
export class OrdersModule {
  /**
   * The orders app; `servers` feeds the shared connection that backs the KV catalog. The
   * exclusive ledger and the reminders join when the server supports them.
   */
  static forRoot(
    servers: string,
    features: ModernFeatures = { exclusive: false, delayed: false },
  ): DynamicModule {
    return {
      module: OrdersModule,
      imports: [
        NatsModule.forRoot({ servers, name: 'orders-kv', kv: [{ bucket: 'catalog', history: 3 }] }),
      ],
      controllers: [
        OrdersController,
        BillingController,
        ...(features.exclusive ? [LedgerController] : []),
        ...(features.delayed ? [RemindersController] : []),
      ],
      providers: [OrdersService, CatalogService],
    };
  }
}
