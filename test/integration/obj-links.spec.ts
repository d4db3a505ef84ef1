// Object store links: links to objects (also in other stores), links to stores, and misuse.
import { InvalidLinkError, ObjectExistsError, type ObjectStore } from '../../lib/obj/index.js';
import { JsFixture } from './jetstream-helpers.js';
import { bucketName, rejection } from './kv-helpers.js';

const fx = new JsFixture();
fx.install();

const open = (): Promise<ObjectStore> =>
  fx.js.createObjectStore({ bucket: bucketName('l'), storage: 'memory' });

const text = (b: Uint8Array | null): string | null =>
  b === null ? null : Buffer.from(b).toString();

describe('links', () => {
  it('reads an object through a link in the same store and in another one', async () => {
    const a = await open();
    const b = await open();
    const target = await a.put({ name: 'data', maxChunkSize: 3 }, 'linked content');
    const local = await a.link('alias', target);
    expect(local).toMatchObject({
      name: 'alias',
      bucket: a.bucket,
      size: 0,
      chunks: 0,
      options: { link: { bucket: a.bucket, name: 'data' } },
    });
    expect(local.nuid).not.toBe(target.nuid);
    await b.link('remote', target);
    expect(text(await a.getBytes('alias'))).toBe('linked content');
    expect(text(await b.getBytes('remote'))).toBe('linked content');
    const r = await b.get('remote');
    expect(r?.info.name).toBe('data');
    await r?.data.cancel();
    expect((await b.info('remote'))?.options?.link).toEqual({ bucket: a.bucket, name: 'data' });
  });

  it('links whole stores; reading one as an object is an InvalidLinkError', async () => {
    const a = await open();
    const b = await open();
    const info = await a.linkStore('other', b);
    expect(info.options?.link).toEqual({ bucket: b.bucket });
    const err = await rejection(a.get('other'));
    expect(err).toBeInstanceOf(InvalidLinkError);
    expect((err as InvalidLinkError).code).toBe('INVALID_LINK');
  });

  it('refuses links to deleted objects or to links, and over live objects', async () => {
    const os = await open();
    const obj = await os.put({ name: 'obj' }, 'x');
    const link = await os.link('l1', obj);
    await expect(os.link('l2', link)).rejects.toThrow(/cannot link to the link/);
    await os.put({ name: 'live' }, 'y');
    const err = await rejection(os.link('live', obj));
    expect(err).toBeInstanceOf(ObjectExistsError);
    expect((err as ObjectExistsError).code).toBe('OBJECT_EXISTS');
    await os.delete('obj');
    const deleted = await os.info('obj', { showDeleted: true });
    await expect(os.link('l3', deleted!)).rejects.toThrow(InvalidLinkError);
    await expect(
      os.put({ name: 'p', options: { link: { bucket: 'x' } } } as never, 'z'),
    ).rejects.toThrow(InvalidLinkError);
  });

  it('replaces a link with another link and resolves a dangling link to null', async () => {
    const os = await open();
    const one = await os.put({ name: 'one' }, '1');
    const two = await os.put({ name: 'two' }, '2');
    await os.link('current', one);
    await os.link('current', two);
    expect(text(await os.getBytes('current'))).toBe('2');
    await os.delete('two');
    expect(await os.getBytes('current')).toBeNull();
  });
});
