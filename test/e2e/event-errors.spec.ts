import { firstValueFrom } from 'rxjs';
import { ClientNats } from '../../lib/index.js';
import { startServer, type NatsServerHandle } from '../support/index.js';
import { seen, startCalcApp } from './apps/calc.app.js';
import { CaptureLogger, waitFor } from './apps/jetstream-faults.helpers.js';

let server: NatsServerHandle;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.stop();
});

it('logs a failing @EventPattern handler through Nest’s Logger and keeps taking events', async () => {
  const logger = new CaptureLogger();
  const app = await startCalcApp('ev', { servers: server.url }, logger);
  const client = new ClientNats({ servers: server.url });
  const emit = (subject: string) =>
    firstValueFrom(client.emit(subject, { subject }), { defaultValue: undefined });
  try {
    for (const round of [1, 2]) {
      await emit('calc.bad-event');
      await emit(`calc.events.after-failure-${round}`);
    }
    const delivered = (round: number) =>
      seen.events.some((e) => e.app === 'ev' && e.subject === `calc.events.after-failure-${round}`);
    await waitFor(() => delivered(1) && delivered(2), 10_000, 'events after the failures');
    const errors = () => logger.lines.filter((l) => l.startsWith('error'));
    const failures = () => errors().filter((l) => l.includes('calc.bad-event'));
    await waitFor(() => failures().length === 2, 10_000, 'both failures logged');
    // ServerNats names the subject; Nest's exception layer logs the error itself.
    for (const line of failures()) expect(line).toMatch(/failed: Internal server error/);
    expect(errors().filter((l) => l.includes('event handler failure'))).toHaveLength(2);
  } finally {
    await client.close();
    await app.close();
  }
});
