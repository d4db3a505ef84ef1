export { NatsHealthIndicator } from './nest/health/nats.health.js';
