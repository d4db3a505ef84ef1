import { InvalidOptionError } from '../../lib/index.js';
import type { JetStreamHandlerOptions } from '../../lib/nest/jetstream/jetstream-handler.decorator.js';
import {
  consumerNames,
  refuseCollidingDurables,
} from '../../lib/nest/jetstream/partitions/durables.js';
import { unpartitionedWarning } from '../../lib/nest/jetstream/partitions/unpartitioned.js';

const orders: JetStreamHandlerOptions = {
  stream: 'ORDERS',
  durable: 'orders',
  filterSubject: 'orders.*',
  partitions: 3,
};
const plain = (durable: string, stream = 'ORDERS'): JetStreamHandlerOptions => ({
  stream,
  durable,
  filterSubject: 'orders.audit',
});

describe('partitioned handlers’ consumer names', () => {
  it('are <durable>-<p> for each partition, the durable alone otherwise', () => {
    expect(consumerNames(orders)).toEqual(['orders-0', 'orders-1', 'orders-2']);
    expect(consumerNames(plain('audit'))).toEqual(['audit']);
  });

  it('refuses two handlers of one stream that would share a consumer, naming both', () => {
    expect(() => refuseCollidingDurables([orders, plain('orders-1')])).toThrow(InvalidOptionError);
    expect(() => refuseCollidingDurables([plain('orders-2'), orders])).toThrow(
      /orders\.audit \(ORDERS\/orders-2\) and @JetStreamHandler orders\.\* \(ORDERS\/orders, 3 partitions\) would both use the consumer orders-2/,
    );
  });

  it('accepts names that only look alike, and the same names on other streams', () => {
    expect(() =>
      refuseCollidingDurables([orders, plain('orders-3'), plain('orders-1', 'X')]),
    ).not.toThrow();
    // o-0 ... o-11 and o-1-0, o-1-1.
    const twelve = { ...orders, durable: 'o', partitions: 12 };
    expect(() =>
      refuseCollidingDurables([twelve, { ...orders, durable: 'o-1', partitions: 2 }]),
    ).not.toThrow();
  });
});

describe('messages stored before the partition transform', () => {
  it('says nothing for none, and how many and what to do otherwise', () => {
    expect(unpartitionedWarning(orders, 0)).toBeUndefined();
    expect(unpartitionedWarning(orders, 7)).toMatch(
      /holds 7 message\(s\) on orders\.\* .* purge the old ones \(jsm\.streams\.purge\('ORDERS', \{ filter: 'orders\.\*' \}\)/,
    );
  });

  it('does not advise a purge by a subject that also matches the partitioned ones', () => {
    const wide = { ...orders, filterSubject: '*.>' };
    expect(unpartitionedWarning(wide, 2)).toMatch(/delete the old ones by sequence/);
  });
});
