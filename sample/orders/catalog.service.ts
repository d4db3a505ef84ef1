import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectKv } from '../../lib/index.js';
import type { KvBucket } from '../../lib/kv/index.js';

/** Item prices in a KV bucket: the lookup every order does, shared by every instance. */
@Injectable()
export class CatalogService implements OnModuleInit {
  constructor(@InjectKv('catalog') private readonly catalog: KvBucket) {}

  async onModuleInit(): Promise<void> {
    // Seed the sample's catalog; a real app would manage it elsewhere.
    await this.catalog.put('book', JSON.stringify({ price: 15 }));
    await this.catalog.put('pen', JSON.stringify({ price: 2 }));
  }

  /** The item's price and the KV revision it was read at, or undefined when unknown. */
  async price(item: string): Promise<{ price: number; revision: number } | undefined> {
    const entry = await this.catalog.get(item);
    return entry
      ? { price: entry.json<{ price: number }>().price, revision: entry.revision }
      : undefined;
  }

  async setPrice(item: string, price: number): Promise<number> {
    return this.catalog.put(item, JSON.stringify({ price }));
  }
}
