import { InvalidOptionError } from '../../lib/index.js';
import { assignPartitions } from '../../lib/nest/jetstream/partitions/assignment.js';
import {
  partitionOptions,
  partitionTransform,
} from '../../lib/nest/jetstream/partitions/transform.js';
import type { JetStreamHandlerOptions } from '../../lib/nest/jetstream/jetstream-handler.decorator.js';

const base: JetStreamHandlerOptions = {
  stream: 'ORDERS',
  durable: 'orders',
  filterSubject: 'orders.*.*',
  partitions: 6,
};

describe('partition transform', () => {
  it('prefixes the partition number computed from the chosen wildcards', () => {
    expect(partitionTransform({ ...base, partitionBy: 2 })).toEqual({
      src: 'orders.*.*',
      dest: '{{partition(6,2)}}.orders.{{wildcard(1)}}.{{wildcard(2)}}',
    });
    expect(partitionTransform(base).dest).toBe(
      '{{partition(6,1,2)}}.orders.{{wildcard(1)}}.{{wildcard(2)}}',
    );
  });

  it('refuses a subject without wildcards and a position that is not one', () => {
    expect(() => partitionTransform({ ...base, filterSubject: 'orders.x' })).toThrow(
      InvalidOptionError,
    );
    expect(() => partitionTransform({ ...base, partitionBy: 3 })).toThrow(/not one of the 2/);
    expect(() => partitionTransform({ ...base, partitions: 0 })).toThrow(/1 to 1024/);
  });

  it('gives partition p its own exclusive durable on p.<subject>', () => {
    expect(partitionOptions(base, 4)).toEqual({
      stream: 'ORDERS',
      durable: 'orders-4',
      filterSubject: '4.orders.*.*',
      exclusive: true,
    });
  });
});

describe('partition assignment', () => {
  const members = ['a', 'b', 'c'];

  it('gives every partition exactly one member, at most ceil(N / members) each', () => {
    const out = assignPartitions(6, members);
    const all = [...out.values()].flat().sort();
    expect(all).toEqual([0, 1, 2, 3, 4, 5]);
    for (const ps of out.values()) expect(ps.length).toBe(2);
  });

  it('is the same whatever order the members are listed in', () => {
    expect(assignPartitions(12, ['c', 'a', 'b'])).toEqual(assignPartitions(12, members));
  });

  it('moves little more than the partitions of a member that leaves', () => {
    const owners = (m: Map<string, number[]>) =>
      new Map([...m].flatMap(([k, ps]) => ps.map((p) => [p, k] as const)));
    const moved = (n: number, from: string[], to: string[]) => {
      const x = owners(assignPartitions(n, from));
      const y = owners(assignPartitions(n, to));
      return [...x].filter(([p, m]) => y.get(p) !== m).length;
    };
    expect(moved(6, members, ['a', 'b'])).toBe(2);
    // d had 16 of 64; the load cap moves a few more.
    expect(moved(64, ['a', 'b', 'c', 'd'], members)).toBeLessThanOrEqual(20);
  });

  it('gives nothing when there are no members', () => {
    expect(assignPartitions(6, []).size).toBe(0);
  });
});
