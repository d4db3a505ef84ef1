// Service API JSON: what we send matches ADR-32 field for field; what Go and JS send parses.
import {
  infoFromWire,
  infoToWire,
  pingFromWire,
  statsFromWire,
  statsToWire,
} from '../../lib/services/wire.js';
import { ServiceResponseType } from '../../lib/services/types.js';

const identity = { name: 'calc', id: 'Q8bB4Lm1iZL2ys7Mq2yT3k', version: '1.0.0', metadata: {} };

describe('service wire JSON', () => {
  it('writes INFO with snake_case fields, null endpoint metadata and no queue group when disabled', () => {
    const json = infoToWire({
      ...identity,
      type: ServiceResponseType.INFO,
      description: 'adds numbers',
      endpoints: [
        { name: 'add', subject: 'calc.add', queueGroup: 'q' },
        { name: 'sub', subject: 'calc.sub', metadata: { k: 'v' } },
      ],
    });
    expect(JSON.parse(JSON.stringify(json))).toEqual({
      type: 'io.nats.micro.v1.info_response',
      ...identity,
      description: 'adds numbers',
      endpoints: [
        { name: 'add', subject: 'calc.add', queue_group: 'q', metadata: null },
        { name: 'sub', subject: 'calc.sub', metadata: { k: 'v' } },
      ],
    });
  });

  it('writes STATS with nanosecond integers and an ISO started time', () => {
    const started = new Date('2026-01-01T00:00:00.000Z');
    const json = statsToWire({
      ...identity,
      type: ServiceResponseType.STATS,
      started,
      endpoints: [
        {
          name: 'add',
          subject: 'calc.add',
          queueGroup: 'q',
          numRequests: 10,
          numErrors: 1,
          lastError: '500:boom',
          processingTime: 0.123456,
          averageProcessingTime: 0.0123456,
        },
      ],
    });
    expect(JSON.parse(JSON.stringify(json))).toEqual({
      type: 'io.nats.micro.v1.stats_response',
      ...identity,
      started: '2026-01-01T00:00:00.000Z',
      endpoints: [
        {
          name: 'add',
          subject: 'calc.add',
          queue_group: 'q',
          num_requests: 10,
          num_errors: 1,
          last_error: '500:boom',
          processing_time: 123456,
          average_processing_time: 12346,
        },
      ],
    });
  });

  it('parses Go-style INFO (null metadata) and JS-style INFO (missing fields)', () => {
    const go = infoFromWire({
      type: 'io.nats.micro.v1.info_response',
      ...identity,
      description: '',
      endpoints: [{ name: 'add', subject: 'calc.add', queue_group: 'q', metadata: null }],
    });
    expect(go?.endpoints).toEqual([{ name: 'add', subject: 'calc.add', queueGroup: 'q' }]);
    const js = infoFromWire({
      type: 'io.nats.micro.v1.info_response',
      name: 'calc',
      id: 'x',
      version: '1.0.0',
      endpoints: [{ name: 'add', subject: 'add', queue_group: '' }],
    });
    expect(js).toEqual({
      type: 'io.nats.micro.v1.info_response',
      name: 'calc',
      id: 'x',
      version: '1.0.0',
      metadata: {},
      description: '',
      endpoints: [{ name: 'add', subject: 'add' }],
    });
  });

  it('parses Go-style STATS with a nanosecond timestamp and converts times to ms', () => {
    const stats = statsFromWire({
      type: 'io.nats.micro.v1.stats_response',
      ...identity,
      started: '2026-01-01T00:00:00.123456789Z',
      endpoints: [
        {
          name: 'add',
          subject: 'calc.add',
          queue_group: 'q',
          num_requests: 2,
          num_errors: 0,
          last_error: '',
          processing_time: 3_000_000,
          average_processing_time: 1_500_000,
          data: null,
        },
      ],
    });
    expect(stats?.started.toISOString()).toBe('2026-01-01T00:00:00.123Z');
    expect(stats?.endpoints[0]).toEqual({
      name: 'add',
      subject: 'calc.add',
      queueGroup: 'q',
      numRequests: 2,
      numErrors: 0,
      lastError: '',
      processingTime: 3,
      averageProcessingTime: 1.5,
    });
  });

  it('returns undefined for documents of another type', () => {
    expect(pingFromWire({ type: 'io.nats.micro.v1.info_response', ...identity })).toBeUndefined();
    expect(infoFromWire('nope')).toBeUndefined();
    expect(statsFromWire(null)).toBeUndefined();
    expect(pingFromWire({ type: 'io.nats.micro.v1.ping_response', ...identity })).toEqual({
      type: 'io.nats.micro.v1.ping_response',
      ...identity,
    });
  });
});
