import { NatsContext as NestBuiltInNatsContext } from '@nestjs/microservices';
import { MsgHeaders, type Msg } from '../../lib/core/index.js';
import { NatsContext, NatsMessageContext } from '../../lib/index.js';

describe('NatsMessageContext', () => {
  it('is exported under its own name and, for compatibility, as NatsContext', () => {
    expect(NatsContext).toBe(NatsMessageContext);
    expect(NatsMessageContext).not.toBe(NestBuiltInNatsContext);
  });

  it('types getHeaders() as MsgHeaders', () => {
    const msg = { subject: 'orders.1', headers: new MsgHeaders({ 'x-id': '7' }) } as unknown as Msg;
    const ctx = new NatsMessageContext(msg);
    const headers: MsgHeaders | undefined = ctx.getHeaders();
    expect(headers?.get('x-id')).toBe('7');
    expect(ctx.getSubject()).toBe('orders.1');
    expect(ctx.getMessage()).toBe(msg);
  });
});
