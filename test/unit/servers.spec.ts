import { InvalidOptionError } from '../../lib/core/errors.js';
import {
  ServerPool,
  displayUrl,
  parseServerUrl,
  type ServerEntry,
} from '../../lib/core/servers.js';

function parseError(raw: string): InvalidOptionError {
  let error: unknown;
  try {
    parseServerUrl(raw);
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(InvalidOptionError);
  expect((error as InvalidOptionError).code).toBe('INVALID_OPTION');
  return error as InvalidOptionError;
}

const hostports = (servers: readonly ServerEntry[]): string[] => servers.map((s) => s.hostport);

describe('parseServerUrl', () => {
  it('parses nats://host:port', () => {
    expect(parseServerUrl('nats://demo.nats.io:4222')).toMatchObject({
      hostname: 'demo.nats.io',
      port: 4222,
      hostport: 'demo.nats.io:4222',
      tls: false,
      implicit: false,
      reconnects: 0,
      didConnect: false,
    });
  });

  it('parses tls://host:port as a TLS server', () => {
    expect(parseServerUrl('tls://secure.example.com:4443')).toMatchObject({
      hostname: 'secure.example.com',
      port: 4443,
      hostport: 'secure.example.com:4443',
      tls: true,
    });
  });

  it('treats a bare host:port as nats://', () => {
    expect(parseServerUrl('127.0.0.1:5222')).toMatchObject({
      hostname: '127.0.0.1',
      port: 5222,
      hostport: '127.0.0.1:5222',
      tls: false,
    });
  });

  it('defaults the port to 4222 for a bare host and for a URL without a port', () => {
    expect(parseServerUrl('localhost')).toMatchObject({ hostname: 'localhost', port: 4222 });
    expect(parseServerUrl('nats://example.com')).toMatchObject({
      hostport: 'example.com:4222',
      port: 4222,
    });
    expect(parseServerUrl('tls://example.com')).toMatchObject({ port: 4222, tls: true });
  });

  it('accepts the scheme in any case and ignores surrounding whitespace', () => {
    expect(parseServerUrl('  NATS://h:1  ')).toMatchObject({ hostport: 'h:1', tls: false });
    expect(parseServerUrl('TLS://h:2')).toMatchObject({ hostport: 'h:2', tls: true });
  });

  it('takes user and password from nats://user:pass@host', () => {
    const s = parseServerUrl('nats://alice:s3cret@host:4222');
    expect(s).toMatchObject({ user: 'alice', pass: 's3cret', hostport: 'host:4222' });
    expect(s.token).toBeUndefined();
  });

  it('takes a token from nats://token@host', () => {
    const s = parseServerUrl('nats://mytoken@host');
    expect(s).toMatchObject({ token: 'mytoken', hostport: 'host:4222' });
    expect(s.user).toBeUndefined();
    expect(s.pass).toBeUndefined();
  });

  it('percent-decodes credentials', () => {
    expect(parseServerUrl('nats://us%40er:p%3Ass%2Fw@host')).toMatchObject({
      user: 'us@er',
      pass: 'p:ss/w',
    });
  });

  it('has no credentials for a URL without them', () => {
    const s = parseServerUrl('nats://host:4222');
    expect(s.user).toBeUndefined();
    expect(s.pass).toBeUndefined();
    expect(s.token).toBeUndefined();
  });

  it('parses a bracketed IPv6 address with and without a scheme', () => {
    for (const raw of ['[::1]:4222', 'nats://[::1]:4222']) {
      expect(parseServerUrl(raw)).toMatchObject({
        hostname: '::1',
        port: 4222,
        hostport: '[::1]:4222',
      });
    }
    expect(parseServerUrl('tls://[2001:db8::1]')).toMatchObject({
      hostname: '2001:db8::1',
      port: 4222,
      hostport: '[2001:db8::1]:4222',
      tls: true,
    });
  });

  it('marks entries as implicit when asked', () => {
    expect(parseServerUrl('h:1', true).implicit).toBe(true);
  });

  it('parses ws:// and wss:// URLs with their path, the default ports being 80 and 443', () => {
    expect(parseServerUrl('ws://h:8080/nats?x=1')).toMatchObject({
      scheme: 'ws',
      hostport: 'h:8080',
      tls: false,
      path: '/nats?x=1',
    });
    expect(parseServerUrl('ws://h')).toMatchObject({ port: 80, path: '/' });
    expect(parseServerUrl('WSS://h')).toMatchObject({ scheme: 'wss', port: 443, tls: true });
    expect(parseServerUrl('nats://h').path).toBeUndefined();
  });

  it.each(['http://host:4222', 'https://host', 'ftp://host'])(
    'rejects the unsupported scheme in %j',
    (raw) => {
      parseError(raw);
    },
  );

  it.each(['nats://', 'nats://host:notaport', 'nats://host:99999', 'nats://[::1', '::1'])(
    'rejects the malformed URL %j',
    (raw) => {
      parseError(raw);
    },
  );

  it('never echoes credentials in its error messages', () => {
    for (const raw of [
      'nats://alice:s3cret@[bad',
      'http://alice:s3cret@host',
      'nats://s3cret@host:bad',
      'nats://alice:s3cret@',
    ]) {
      expect(parseError(raw).message).not.toContain('s3cret');
    }
  });
});

describe('displayUrl', () => {
  it('shows scheme, host and port', () => {
    expect(displayUrl(parseServerUrl('h:1'))).toBe('nats://h:1');
    expect(displayUrl(parseServerUrl('tls://h'))).toBe('tls://h:4222');
    expect(displayUrl(parseServerUrl('[::1]:4222'))).toBe('nats://[::1]:4222');
    expect(displayUrl(parseServerUrl('wss://h/a/b?token=s3cret'))).toBe('wss://h:443/a/b');
    expect(displayUrl(parseServerUrl('ws://h:80/'))).toBe('ws://h:80');
  });

  it.each([
    'nats://alice:s3cret@host:4222',
    'tls://alice:s3cret@host:4222',
    'nats://s3cret@host:4222',
    'alice:s3cret@host:4222',
    'nats://alice:s3cret@[::1]:4222',
  ])('never contains the credentials of %j', (raw) => {
    const shown = displayUrl(parseServerUrl(raw));
    expect(shown).not.toContain('s3cret');
    expect(shown).not.toContain('alice');
    expect(shown).not.toContain('@');
  });
});

describe('ServerPool', () => {
  it('keeps the configured order without randomization', () => {
    const pool = new ServerPool(['a:1', 'nats://b:2', 'tls://c:3'], false);
    expect(hostports(pool.servers)).toEqual(['a:1', 'b:2', 'c:3']);
    expect(pool.servers.every((s) => !s.implicit)).toBe(true);
    expect(pool.current).toBeUndefined();
  });

  it('keeps every configured server when randomizing', () => {
    const urls = Array.from({ length: 20 }, (_, i) => `h${i}:4222`);
    const pool = new ServerPool(urls, true);
    expect([...hostports(pool.servers)].sort()).toEqual([...urls].sort());
  });

  it('rejects an invalid configured URL', () => {
    expect(() => new ServerPool(['nats://ok:1', 'http://bad:2'], false)).toThrow(
      InvalidOptionError,
    );
  });

  it('next() hands out servers in rotation and sets current', () => {
    const pool = new ServerPool(['a:1', 'b:2', 'c:3'], false);
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const s = pool.next();
      expect(s).toBeDefined();
      expect(pool.current).toBe(s);
      seen.push(s!.hostport);
    }
    expect(seen).toEqual(['a:1', 'b:2', 'c:3', 'a:1', 'b:2', 'c:3']);
  });

  it('remove() drops a server and next() returns undefined on an empty pool', () => {
    const pool = new ServerPool(['a:1'], false);
    const s = pool.next()!;
    pool.remove(s);
    expect(pool.servers).toHaveLength(0);
    expect(pool.next()).toBeUndefined();
  });

  it('update() adds gossiped host:port entries as implicit and returns their URLs', () => {
    const pool = new ServerPool(['a:1'], false);
    pool.next();
    const added = pool.update(['a:1', '10.0.0.2:4222', '10.0.0.3:4222'], 'nats');
    expect(added).toEqual(['nats://10.0.0.2:4222', 'nats://10.0.0.3:4222']);
    expect(hostports(pool.servers)).toEqual(['a:1', '10.0.0.2:4222', '10.0.0.3:4222']);
    const byHost = new Map(pool.servers.map((s) => [s.hostport, s]));
    expect(byHost.get('a:1')!.implicit).toBe(false);
    expect(byHost.get('10.0.0.2:4222')!.implicit).toBe(true);
    expect(byHost.get('10.0.0.3:4222')!.implicit).toBe(true);
  });

  it('update() uses the scheme of the current connection for gossiped entries', () => {
    const pool = new ServerPool(['tls://a:1'], false);
    pool.next();
    expect(pool.update(['b:2'], 'tls')).toEqual(['tls://b:2']);
    expect(pool.servers.find((s) => s.hostport === 'b:2')!.tls).toBe(true);
  });

  it('update() gives gossiped entries a WebSocket scheme and the root path', () => {
    const pool = new ServerPool(['wss://a:1/proxy'], false);
    pool.next();
    expect(pool.update(['b:2'], 'wss')).toEqual(['wss://b:2']);
    expect(pool.servers.find((s) => s.hostport === 'b:2')).toMatchObject({
      scheme: 'wss',
      tls: true,
      path: '/',
      implicit: true,
    });
  });

  it('update() handles gossiped IPv6 entries', () => {
    const pool = new ServerPool(['a:1'], false);
    pool.next();
    expect(pool.update(['[::1]:4223'], 'nats')).toEqual(['nats://[::1]:4223']);
    expect(pool.update(['[::1]:4223'], 'nats')).toEqual([]);
  });

  it('update() does not duplicate a gossiped URL that is already configured', () => {
    const pool = new ServerPool(['a:1', 'b:2'], false);
    pool.next();
    expect(pool.update(['b:2', 'a:1'], 'nats')).toEqual([]);
    expect(hostports(pool.servers)).toEqual(['b:2', 'a:1']);
    expect(pool.servers.every((s) => !s.implicit)).toBe(true);
  });

  it('update() returns nothing new when the same list is gossiped again', () => {
    const pool = new ServerPool(['a:1'], false);
    pool.next();
    pool.update(['c:3', 'd:4'], 'nats');
    expect(pool.update(['d:4', 'c:3'], 'nats')).toEqual([]);
    expect(pool.servers).toHaveLength(3);
  });

  it('update() drops implicit servers no longer listed but keeps configured ones', () => {
    const pool = new ServerPool(['a:1', 'b:2'], false);
    pool.next();
    pool.update(['c:3', 'd:4'], 'nats');
    expect(pool.update(['c:3'], 'nats')).toEqual([]);
    expect(hostports(pool.servers).sort()).toEqual(['a:1', 'b:2', 'c:3']);
  });

  it('update() keeps the current server even when it is implicit and no longer listed', () => {
    const pool = new ServerPool(['a:1'], false);
    pool.next();
    pool.update(['c:3'], 'nats');
    // Rotate until the current server is the gossiped one.
    let current = pool.next();
    while (current!.hostport !== 'c:3') current = pool.next();
    expect(current!.implicit).toBe(true);

    expect(pool.update(['d:4'], 'nats')).toEqual(['nats://d:4']);
    expect(hostports(pool.servers).sort()).toEqual(['a:1', 'c:3', 'd:4']);
    expect(pool.servers).toContain(current);
  });

  it('update() keeps the entry objects (and their counters) of servers still listed', () => {
    const pool = new ServerPool(['a:1'], false);
    pool.next();
    pool.update(['c:3'], 'nats');
    const c = pool.servers.find((s) => s.hostport === 'c:3')!;
    c.reconnects = 3;
    pool.update(['c:3', 'e:5'], 'nats');
    expect(pool.servers.find((s) => s.hostport === 'c:3')).toBe(c);
    expect(c.reconnects).toBe(3);
  });

  it('update() with randomization keeps position 0 and every entry', () => {
    for (let round = 0; round < 20; round++) {
      const pool = new ServerPool(['a:1', 'b:2', 'c:3'], true);
      pool.next();
      const first = pool.servers[0];
      const gossip = Array.from({ length: 10 }, (_, i) => `10.0.0.${i}:4222`);
      expect(pool.update(gossip, 'nats')).toHaveLength(10);
      expect(pool.servers[0]).toBe(first);
      expect(pool.servers).toHaveLength(13);
      expect(new Set(hostports(pool.servers)).size).toBe(13);
    }
  });
});
