import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { NatsConnection } from '../../core/internal.js';

/**
 * A @nestjs/terminus indicator: up while the injected `NatsConnection` is connected, with the
 * server and round-trip time; down while it reconnects or after it closed.
 * Import it from `nestjs-nats/health` (terminus is an optional peer dependency).
 */
@Injectable()
export class NatsHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly nc: NatsConnection,
  ) {}

  /** Checks the connection; `timeout` bounds the RTT probe (ms). */
  async isHealthy(key = 'nats', timeout = 1000): Promise<HealthIndicatorResult> {
    const indicator = this.health.check(key);
    if (!this.nc.isConnected)
      return indicator.down({ state: this.nc.isClosed ? 'closed' : 'reconnecting' });
    try {
      const rtt = await Promise.race([
        this.nc.rtt(),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('rtt timeout')), timeout).unref(),
        ),
      ]);
      return indicator.up({ server: this.nc.connectedUrl, rttMs: Math.round(rtt * 100) / 100 });
    } catch (err) {
      return indicator.down({ error: (err as Error).message });
    }
  }
}
