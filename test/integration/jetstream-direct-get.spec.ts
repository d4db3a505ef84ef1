// Which API a read takes: DIRECT.GET when the stream allows direct get (any replica or mirror
// may answer), STREAM.MSG.GET through the leader when it does not. A second connection listens
// on both API subjects and sees the requests.
import type { NatsConnection } from '../../lib/core/index.js';
import { JsFixture } from './jetstream-helpers.js';
import { bucketName } from './kv-helpers.js';

const fx = new JsFixture();
fx.install();

type Seen = { direct: string[]; msgGet: string[] };

/**
 * Records the subjects of the API reads `nc` sends while `run` runs. A marker published by `nc`
 * last reaches the spy after every earlier request of `nc`, so nothing is missed or counted late.
 */
async function readsOf(nc: NatsConnection, run: () => Promise<unknown>): Promise<Seen> {
  const spy = await fx.connect();
  const seen: Seen = { direct: [], msgGet: [] };
  spy.subscribe('$JS.API.DIRECT.GET.>', { callback: (m) => void seen.direct.push(m.subject) });
  spy.subscribe('$JS.API.STREAM.MSG.GET.>', { callback: (m) => void seen.msgGet.push(m.subject) });
  const marker = spy.subscribe(spy.newInbox(), { max: 1 });
  await spy.flush();
  await run();
  nc.publish(marker.subject);
  await marker.nextMsg(10_000);
  return seen;
}

describe('reads by direct get or through the stream leader', () => {
  it('streams.getMessage() uses DIRECT.GET when the stream allows direct get', async () => {
    const { stream, subj } = await fx.stream({ allowDirect: true });
    await fx.js.publish(`${subj}.a`, 'one');
    const seen = await readsOf(fx.nc, async () => {
      expect((await fx.jsm.streams.getMessage(stream, { seq: 1 })).string()).toBe('one');
      const last = await fx.jsm.streams.getMessage(stream, { lastBySubject: `${subj}.a` });
      expect(last.seq).toBe(1);
    });
    expect(seen.direct).toEqual([`$JS.API.DIRECT.GET.${stream}`, `$JS.API.DIRECT.GET.${stream}`]);
    expect(seen.msgGet).toEqual([]);
  });

  it('streams.getMessage() uses STREAM.MSG.GET when the stream does not allow direct get', async () => {
    const { stream, subj } = await fx.stream({ allowDirect: false });
    await fx.js.publish(`${subj}.a`, 'one');
    const seen = await readsOf(fx.nc, async () => {
      expect((await fx.jsm.streams.getMessage(stream, { seq: 1 })).string()).toBe('one');
      const last = await fx.jsm.streams.getMessage(stream, { lastBySubject: `${subj}.a` });
      expect(last.seq).toBe(1);
    });
    expect(seen.direct).toEqual([]);
    expect(seen.msgGet).toEqual([
      `$JS.API.STREAM.MSG.GET.${stream}`,
      `$JS.API.STREAM.MSG.GET.${stream}`,
    ]);
  });

  it('kv.get() uses DIRECT.GET on a bucket with direct get (the default)', async () => {
    const kv = await fx.js.createKeyValue({
      bucket: bucketName('dg'),
      storage: 'memory',
      history: 5,
    });
    expect((await kv.status()).allowDirect).toBe(true);
    await kv.put('a.b', 'v1');
    await kv.put('a.b', 'v2');
    const seen = await readsOf(fx.nc, async () => {
      expect((await kv.get('a.b'))?.string()).toBe('v2');
      expect((await kv.get('a.b', { revision: 1 }))?.string()).toBe('v1');
      expect(await kv.get('missing')).toBeNull();
    });
    const api = `$JS.API.DIRECT.GET.${kv.streamName}`;
    // The latest value by the subject form (no body); a revision by a JSON body.
    expect(seen.direct).toEqual([
      `${api}.$KV.${kv.bucket}.a.b`,
      api,
      `${api}.$KV.${kv.bucket}.missing`,
    ]);
    expect(seen.msgGet).toEqual([]);
  });

  it('kv.get() uses STREAM.MSG.GET on a bucket without direct get', async () => {
    const kv = await fx.js.createKeyValue({
      bucket: bucketName('mg'),
      storage: 'memory',
      history: 5,
      allowDirect: false,
    });
    await kv.put('a', 'v1');
    await kv.put('a', 'v2');
    const seen = await readsOf(fx.nc, async () => {
      expect((await kv.get('a'))?.string()).toBe('v2');
      expect((await kv.get('a', { revision: 1 }))?.string()).toBe('v1');
      expect(await kv.get('missing')).toBeNull();
    });
    expect(seen.direct).toEqual([]);
    expect(seen.msgGet).toEqual(Array(3).fill(`$JS.API.STREAM.MSG.GET.${kv.streamName}`));
  });

  it('os.info() reads object metadata with DIRECT.GET', async () => {
    const os = await fx.js.createObjectStore({ bucket: bucketName('og'), storage: 'memory' });
    await os.put({ name: 'x' }, 'content');
    const seen = await readsOf(fx.nc, async () => {
      expect((await os.info('x'))?.size).toBe(7);
    });
    expect(seen.direct).toEqual([`$JS.API.DIRECT.GET.${os.streamName}`]);
    expect(seen.msgGet).toEqual([]);
  });
});
