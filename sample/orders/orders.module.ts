import { Module } from '@nestjs/common';
import { BillingController } from './billing.controller.js';
import { OrdersController } from './orders.controller.js';
import { OrdersService } from './orders.service.js';

@Module({ controllers: [OrdersController, BillingController], providers: [OrdersService] })
export class OrdersModule {}
