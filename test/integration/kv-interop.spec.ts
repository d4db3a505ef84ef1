// KV buckets shared with nats.js (@nats-io/kv): what one client writes, the other reads,
// watches and updates.
import { Kvm } from '@nats-io/kv';
import {
  connect as natsJsConnect,
  type NatsConnection as NatsJsConnection,
} from '@nats-io/transport-node';
import { KeyExistsError, type KvWatchEntry } from '../../lib/kv/index.js';
import { JsFixture } from './jetstream-helpers.js';
import { bucketName, collect, drainInto, until } from './kv-helpers.js';

const fx = new JsFixture();
fx.install();

let theirNc: NatsJsConnection;
beforeEach(async () => {
  theirNc = await natsJsConnect({ servers: fx.server.url });
});
afterEach(async () => {
  await theirNc.close();
});

describe('KV interop with nats.js', () => {
  it('nats.js reads, watches and updates a bucket we created and wrote', async () => {
    const bucket = bucketName('ours');
    const kv = await fx.js.createKeyValue({ bucket, history: 5 });
    await kv.put('a', '1');
    await kv.put('b.c', JSON.stringify({ x: 1 }));
    await kv.put('a', '3');
    await kv.delete('d');

    const theirs = await new Kvm(theirNc).open(bucket);
    const a = await theirs.get('a');
    expect(a).toMatchObject({ key: 'a', revision: 3, operation: 'PUT' });
    expect(a!.string()).toBe('3');
    expect((await theirs.get('b.c'))!.json()).toEqual({ x: 1 });
    expect((await theirs.get('d'))?.operation).toBe('DEL');
    expect((await theirs.get('a', { revision: 1 }))!.string()).toBe('1');
    expect((await collect(await theirs.keys())).sort()).toEqual(['a', 'b.c']);
    expect((await theirs.status()).history).toBe(5);

    const seen: string[] = [];
    const watch = await theirs.watch();
    const done = (async () => {
      for await (const e of watch) seen.push(`${e.key}:${e.operation}@${e.revision}`);
    })();
    await until(() => seen.length === 3);
    await kv.put('e', 'new');
    await until(() => seen.length === 4);
    watch.stop();
    await done;
    expect(seen).toEqual(['b.c:PUT@2', 'a:PUT@3', 'd:DEL@4', 'e:PUT@5']);

    const rev = await theirs.update('a', 'theirs', 3);
    await expect(theirs.create('a', 'no')).rejects.toThrow();
    await theirs.purge('b.c');
    expect(await kv.get('a')).toMatchObject({ revision: rev, operation: 'PUT' });
    expect((await kv.get('a'))!.string()).toBe('theirs');
    expect(await kv.get('b.c')).toBeNull();
    expect((await collect(kv.history('b.c'))).map((e) => e.operation)).toEqual(['PURGE']);
  });

  it('we read, watch and update a bucket nats.js created and wrote', async () => {
    const bucket = bucketName('theirs');
    const theirs = await new Kvm(theirNc).create(bucket, { history: 3 });
    await theirs.put('x', 'one');
    await theirs.put('y.z', 'two');
    await theirs.put('x', 'three');
    await theirs.delete('gone');

    const kv = await fx.js.keyValue(bucket);
    expect(await kv.get('x')).toMatchObject({ key: 'x', revision: 3, operation: 'PUT' });
    expect((await kv.get('x'))!.string()).toBe('three');
    expect((await kv.get('x', { revision: 1 }))!.string()).toBe('one');
    expect(await kv.get('gone')).toBeNull();
    expect((await collect(kv.keys())).sort()).toEqual(['x', 'y.z']);
    expect((await collect(kv.history('x'))).map((e) => e.string())).toEqual(['one', 'three']);
    expect((await kv.status()).history).toBe(3);

    const w = await kv.watch();
    const seen: KvWatchEntry[] = [];
    const done = drainInto(w, seen);
    expect(await w.initialized).toBe(3);
    await theirs.put('y.z', 'changed');
    await until(() => seen.length === 4);
    w.stop();
    await done;
    expect(seen.map((e) => `${e.key}:${e.operation}:${e.isUpdate}`)).toEqual([
      'y.z:PUT:false',
      'x:PUT:false',
      'gone:DEL:false',
      'y.z:PUT:true',
    ]);

    const rev = await kv.update('x', 'ours', 3);
    await expect(kv.create('x', 'no')).rejects.toThrow(KeyExistsError);
    const created = await kv.create('gone', 'back');
    const back = await theirs.get('x');
    expect(back).toMatchObject({ revision: rev });
    expect(back!.string()).toBe('ours');
    expect(await theirs.get('gone')).toMatchObject({ revision: created, operation: 'PUT' });
  });
});
