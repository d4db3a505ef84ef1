// What README snippets leave to the reader, declared for tools/check-readme-snippets.mjs (it
// includes this file in the apps it type-checks the snippets in). Keep it small: a snippet that
// needs more than a service or a type of its own should show it.

interface Order {
  id: string;
  item: string;
  qty: number;
}

interface PaymentEvent {
  orderId: string;
  amount: number;
}

declare class OrdersService {
  find(id: string): Order | undefined;
}

declare class PaymentsService {
  charge(event: PaymentEvent): Promise<void>;
}

// @nestjs/config is not a dependency of this project; the forRootAsync example imports it.
declare module '@nestjs/config' {
  export class ConfigModule {
    static forRoot(options?: { isGlobal?: boolean }): import('@nestjs/common').DynamicModule;
  }
  export class ConfigService {
    get<T = string>(key: string): T | undefined;
    getOrThrow<T = string>(key: string): T;
  }
}
