// KV buckets and object stores shared with the `nats` CLI (natscli, a Go client nobody here
// wrote): what one writes, the other reads, byte for byte, in both directions.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { itSince, natsCli, natsCliBin, serverAtLeast } from '../support/index.js';
import { JsFixture } from './jetstream-helpers.js';
import { bucketName, collect } from './kv-helpers.js';

const fx = new JsFixture();
fx.install();

let work: string;
beforeAll(() => {
  natsCliBin(); // builds the pinned CLI on a machine that lacks it (once; minutes)
  work = mkdtempSync(join(tmpdir(), 'natscli-spec-'));
}, 15 * 60_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Deterministic bytes that differ from chunk to chunk. */
function content(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * seed + (i >> 9)) & 0xff;
  return out;
}

const digestOf = (b: Uint8Array): string =>
  `SHA-256=${createHash('sha256').update(b).digest('base64url')}=`;

describe('KV with the nats CLI', () => {
  it('the CLI gets what we put into a bucket we created, and sees our deletes', async () => {
    const bucket = bucketName('cli');
    const kv = await fx.js.createKeyValue({ bucket, history: 5 });
    await kv.put('greeting', 'hello world');
    await kv.put('greeting', 'héllo, wörld ✓');
    await kv.put('bin.value', new Uint8Array([0, 1, 0xff, 0x80, 10, 13]));
    await kv.put('gone', 'soon');
    await kv.delete('gone');

    const get = (key: string, ...extra: string[]) =>
      natsCli(fx.server, ['kv', 'get', bucket, key, '--raw', ...extra]);
    expect((await get('greeting')).stdout).toBe('héllo, wörld ✓');
    expect((await get('greeting', '--revision', '1')).stdout).toBe('hello world');
    expect([...(await get('bin.value')).stdoutBytes]).toEqual([0, 1, 0xff, 0x80, 10, 13]);
    const gone = await natsCli(fx.server, ['kv', 'get', bucket, 'gone'], { allowFailure: true });
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toMatch(/key not found/i);

    const keys = (await natsCli(fx.server, ['kv', 'ls', bucket])).stdout;
    expect(keys.split(/\s+/).filter(Boolean).sort()).toEqual(['bin.value', 'greeting']);

    // The CLI's view of the bucket's configuration matches ours.
    const info = (await natsCli(fx.server, ['kv', 'info', bucket])).stdout;
    expect(info).toMatch(/History Kept:\s+5\b/);
    expect(info).toMatch(new RegExp(`JetStream Stream:\\s+KV_${bucket}\\b`));
  });

  it('we read what the CLI puts and deletes in our bucket', async () => {
    const bucket = bucketName('cli');
    const kv = await fx.js.createKeyValue({ bucket, history: 3 });
    await kv.put('a', 'ours');

    await natsCli(fx.server, ['kv', 'put', bucket, 'a', 'theirs ✓']);
    await natsCli(fx.server, ['kv', 'put', bucket, 'b.c'], {
      input: new Uint8Array([0, 0xfe, 7]),
    });
    await natsCli(fx.server, ['kv', 'put', bucket, 'd', 'x']);
    await natsCli(fx.server, ['kv', 'del', bucket, 'd', '--force']);

    const a = await kv.get('a');
    expect(a).toMatchObject({ bucket, key: 'a', revision: 2, operation: 'PUT' });
    expect(a!.string()).toBe('theirs ✓');
    expect([...(await kv.get('b.c'))!.value]).toEqual([0, 0xfe, 7]);
    expect(await kv.get('d')).toBeNull();
    expect((await collect(kv.history('d'))).map((e) => e.operation)).toEqual(['PUT', 'DEL']);
    expect((await collect(kv.history('a'))).map((e) => e.string())).toEqual(['ours', 'theirs ✓']);
    expect((await collect(kv.keys())).sort()).toEqual(['a', 'b.c']);
  });

  it('the CLI shows the options of a bucket we created', async () => {
    const bucket = bucketName('cliopts');
    const compression = serverAtLeast('2.10.0');
    await fx.js.createKeyValue({
      bucket,
      description: 'our options',
      history: 3,
      ttl: 60_000,
      maxValueSize: 1024,
      republish: { dest: `rep.${bucket}.>` },
      ...(compression ? { compression: true, metadata: { owner: 'us' } } : {}),
    });
    const info = (await natsCli(fx.server, ['kv', 'info', bucket])).stdout;
    expect(info).toMatch(/Description:\s+our options\n/);
    expect(info).toMatch(/History Kept:\s+3\n/);
    expect(info).toMatch(/Maximum Age:\s+1m0s\n/);
    expect(info).toMatch(/Maximum Value Size:\s+1\.0 KiB\n/);
    expect(info).toMatch(
      new RegExp(`Republishing:\\s+\\$KV\\.${bucket}\\.> to rep\\.${bucket}\\.>`),
    );
    if (compression) {
      expect(info).toMatch(/Compressed:\s+true\n/);
      expect(info).toMatch(/owner:\s+us\n/);
    }
  });

  it('we open and use a bucket the CLI created, with its options', async () => {
    const bucket = bucketName('climade');
    const compression = serverAtLeast('2.10.0');
    await natsCli(fx.server, [
      'kv',
      'add',
      bucket,
      '--history',
      '4',
      '--ttl',
      '90s',
      '--max-value-size',
      '2048',
      '--description',
      'their options',
      '--storage',
      'memory',
      ...(compression ? ['--compress'] : []),
    ]);
    await natsCli(fx.server, ['kv', 'put', bucket, 'k', 'v1']);
    const kv = await fx.js.keyValue(bucket);
    const status = await kv.status();
    expect(status).toMatchObject({
      bucket,
      history: 4,
      ttl: 90_000,
      storage: 'memory',
      description: 'their options',
      streamName: `KV_${bucket}`,
      isCompressed: compression,
    });
    expect(status.streamInfo.config.maxMsgSize).toBe(2048);
    expect((await kv.get('k'))!.string()).toBe('v1');
    await kv.update('k', 'v2', 1);
    expect((await natsCli(fx.server, ['kv', 'get', bucket, 'k', '--raw'])).stdout).toBe('v2');
    await expect(kv.create('k', 'again')).rejects.toThrow();
  });

  itSince(
    '2.11.0',
    'keys the CLI gives a per-key TTL expire for us too',
    async () => {
      const bucket = bucketName('clittl');
      await natsCli(fx.server, ['kv', 'add', bucket, '--marker-ttl', '1s', '--storage', 'memory']);
      await natsCli(fx.server, ['kv', 'create', bucket, 'short', 'lived', '--ttl', '1s']);
      await natsCli(fx.server, ['kv', 'put', bucket, 'stays', 'here']);
      const kv = await fx.js.keyValue(bucket);
      expect((await kv.get('short'))!.string()).toBe('lived');
      const end = Date.now() + 8_000;
      while ((await kv.get('short')) !== null) {
        if (Date.now() > end) throw new Error('the key did not expire');
        await new Promise((r) => setTimeout(r, 100));
      }
      // The server's MaxAge marker reads as a purge; the other key is untouched.
      const last = (await collect(kv.history('short'))).pop();
      expect(last?.operation).toBe('PURGE');
      expect((await kv.get('stays'))!.string()).toBe('here');
      expect((await collect(kv.keys())).sort()).toEqual(['stays']);
    },
    15_000,
  );
});

describe('object store with the nats CLI', () => {
  const SIZE = 300 * 1024; // three chunks at the default 128 KiB

  it('the CLI gets a multi-chunk object we put, byte for byte', async () => {
    const bucket = bucketName('clio');
    const os = await fx.js.createObjectStore({ bucket });
    const data = content(SIZE, 31);
    const info = await os.put({ name: 'dir/ours.bin', description: 'from us' }, data);
    expect(info.chunks).toBe(3);

    const out = join(work, `${bucket}-ours.bin`);
    await natsCli(fx.server, [
      'object',
      'get',
      bucket,
      'dir/ours.bin',
      '--output',
      out,
      '--no-progress',
      '--force',
    ]);
    const got = readFileSync(out);
    expect(got.length).toBe(SIZE);
    expect(Buffer.compare(got, Buffer.from(data))).toBe(0);

    const shown = (await natsCli(fx.server, ['object', 'info', bucket, 'dir/ours.bin'])).stdout;
    // The CLI shows the digest in hex.
    const hex = Buffer.from(info.digest.replace(/^SHA-256=/, ''), 'base64url').toString('hex');
    expect(hex).toBe(createHash('sha256').update(data).digest('hex'));
    expect(shown).toMatch(new RegExp(`Digest:\\s+SHA-256 ${hex}\\b`));
    expect(shown).toContain('from us');
  });

  it('we get a multi-chunk object the CLI put, byte for byte, with its digest', async () => {
    const bucket = bucketName('clio');
    const os = await fx.js.createObjectStore({ bucket });
    const data = content(SIZE + 17, 7);
    const file = join(work, `${bucket}-theirs.bin`);
    writeFileSync(file, data);
    await natsCli(fx.server, [
      'object',
      'put',
      bucket,
      file,
      '--name',
      'theirs.bin',
      '--description',
      'from the CLI',
      '--no-progress',
      '--force',
    ]);

    const info = await os.info('theirs.bin');
    expect(info).toMatchObject({
      bucket,
      name: 'theirs.bin',
      description: 'from the CLI',
      size: SIZE + 17,
      chunks: 3,
      digest: digestOf(data),
      deleted: false,
    });
    const got = await os.getBytes('theirs.bin');
    expect(got).not.toBeNull();
    expect(Buffer.compare(Buffer.from(got!), Buffer.from(data))).toBe(0);
  });

  it('headers, metadata, links and deletes read the same on both sides', async () => {
    const bucket = bucketName('clio');
    const os = await fx.js.createObjectStore({ bucket, description: 'shared store' });
    const ours = await os.put(
      { name: 'ours.txt', metadata: { owner: 'us' }, headers: { 'X-Ours': ['a', 'b'] } },
      'our text',
    );
    await os.link('ours-link', ours);

    const shown = (await natsCli(fx.server, ['object', 'info', bucket, 'ours.txt'])).stdout;
    expect(shown).toMatch(/Headers:\s+X-Ours: a\n\s+X-Ours: b\n/);
    expect(shown).toMatch(/owner:\s+us\n/);
    expect((await natsCli(fx.server, ['object', 'info', bucket])).stdout).toMatch(
      /Description:\s+shared store\n/,
    );
    // The CLI follows our link to the object (`nats object info` on a link panics in natscli
    // 0.5.0 itself, whoever made the link: it splits the empty digest of a link).
    const viaLink = join(work, `${bucket}-link.txt`);
    await natsCli(fx.server, [
      'object',
      'get',
      bucket,
      'ours-link',
      '--output',
      viaLink,
      '--no-progress',
      '--force',
    ]);
    expect(readFileSync(viaLink, 'utf8')).toBe('our text');

    const file = join(work, `${bucket}-h.txt`);
    writeFileSync(file, 'their text');
    await natsCli(fx.server, [
      'object',
      'put',
      bucket,
      file,
      '--name',
      'theirs.txt',
      '-H',
      'X-Theirs:c',
      '-H',
      'X-Theirs:d',
      '--no-progress',
      '--force',
    ]);
    const theirs = await os.info('theirs.txt');
    expect(theirs?.headers).toEqual({ 'X-Theirs': ['c', 'd'] });
    expect(await os.getBytes('theirs.txt')).toEqual(new TextEncoder().encode('their text'));

    await natsCli(fx.server, ['object', 'del', bucket, 'ours.txt', '--force']);
    expect(await os.info('ours.txt')).toBeNull();
    expect(await os.info('ours.txt', { showDeleted: true })).toMatchObject({
      deleted: true,
      size: 0,
      chunks: 0,
    });
    await os.delete('theirs.txt');
    const gone = await natsCli(fx.server, ['object', 'get', bucket, 'theirs.txt', '--force'], {
      allowFailure: true,
      cwd: work,
    });
    expect(gone.code).not.toBe(0);
  });
});
