// The connection options of issue 16 without a server: credential suppliers, nats contexts and
// reconnectToServer, each with the typed error its bad input gets.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { supplied } from '../../lib/core/auth/suppliers.js';
import { CredentialSupplierError, InvalidOptionError } from '../../lib/core/errors.js';
import { loadContext } from '../../lib/core/nats-context.js';
import { resolveOptions, type ConnectOptions } from '../../lib/core/options.js';
import { askReconnectToServer, type ReconnectToServer } from '../../lib/core/server-choice.js';
import { parseServerUrl } from '../../lib/core/servers.js';

const SECRET = 'tok-S3CRET-rotating';

/** Everything a logger could show of `err`. */
function shown(err: unknown): string {
  return [String(err), JSON.stringify(err), inspect(err, { depth: 10 })].join('\n');
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => new Error('resolved, but should have rejected'),
    (e: unknown) => e,
  );
}

describe('credential suppliers: option validation', () => {
  it.each<[string, ConnectOptions]>([
    ['token', { token: () => SECRET }],
    ['async token', { token: () => Promise.resolve(SECRET) }],
    ['user and pass', { user: () => 'u', pass: async () => 'p' }],
    ['user value and pass supplier', { user: 'u', pass: () => 'p' }],
    ['creds', { creds: () => 'creds text' }],
    ['nkeySeed', { nkeySeed: () => 'SUA' }],
  ])('accepts a %s supplier', (_what, opts) => {
    expect(() => resolveOptions(opts)).not.toThrow();
  });

  it.each<[string, ConnectOptions]>([
    ['a number token', { token: 42 as never }],
    ['an object token', { token: { value: SECRET } as never }],
    ['an empty token', { token: '' }],
    ['an empty creds text', { creds: '' }],
    ['a boolean user', { user: true as never, pass: 'p' }],
  ])('refuses %s with InvalidOptionError naming the option', (_what, opts) => {
    let err: unknown;
    try {
      resolveOptions(opts);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as Error).message).toMatch(/option (token|creds|user)/);
    expect(shown(err)).not.toContain(SECRET);
  });

  it('refuses a reconnectToServer that is not a function', () => {
    expect(() => resolveOptions({ reconnectToServer: 'nats://a' as never })).toThrow(
      InvalidOptionError,
    );
  });
});

describe('credential suppliers: calling them', () => {
  it('returns what the supplier returns, awaiting a promise, on every call', async () => {
    let n = 0;
    const token = (): Promise<string> => Promise.resolve(`t${++n}`);
    expect(await supplied('token', token)).toBe('t1');
    expect(await supplied('token', token)).toBe('t2');
    expect(await supplied('token', 'fixed')).toBe('fixed');
  });

  it('reports a supplier that throws without its message, keeping it non-enumerable', async () => {
    const thrown = new Error(`vault said no to ${SECRET}`);
    const err = await rejection(
      supplied('token', () => {
        throw thrown;
      }),
    );
    expect(err).toBeInstanceOf(CredentialSupplierError);
    const e = err as CredentialSupplierError;
    expect(e.code).toBe('CREDENTIAL_SUPPLIER');
    expect(e.option).toBe('token');
    expect(e.message).toBe('the token supplier threw an error (Error)');
    expect(e.supplierError).toBe(thrown);
    expect(Object.keys(e)).not.toContain('supplierError');
    expect(e.cause).toBeUndefined();
    expect(shown(e)).not.toContain(SECRET);
  });

  it('reports a rejected promise and a thrown non-Error the same way', async () => {
    const rejected = await rejection(supplied('pass', () => Promise.reject(new TypeError(SECRET))));
    expect((rejected as Error).message).toBe('the pass supplier threw an error (TypeError)');
    const str = await rejection(
      supplied('creds', () => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- a thrown string, on purpose
        throw SECRET;
      }),
    );
    expect((str as Error).message).toBe('the creds supplier threw a string');
    expect(shown([rejected, str])).not.toContain(SECRET);
  });

  it.each<[string, unknown, RegExp]>([
    ['a number', 42, /returned a number, not a string/],
    ['undefined', undefined, /returned undefined, not a string/],
    ['an object', { token: SECRET }, /returned an object, not a string/],
    ['an empty string', '', /returned an empty string/],
  ])('refuses a supplier returning %s with CredentialSupplierError', async (_w, value, re) => {
    const err = await rejection(supplied('token', () => value as string));
    expect(err).toBeInstanceOf(CredentialSupplierError);
    expect((err as Error).message).toMatch(re);
    expect(shown(err)).not.toContain(SECRET);
  });

  it('lets a pass supplier return an empty password', async () => {
    expect(await supplied('pass', () => '')).toBe('');
  });
});

describe('reconnectToServer: checking what it returns', () => {
  const pool = [parseServerUrl('nats://10.0.0.1:4222'), parseServerUrl('tls://h2:4443')];
  const ask = (pick: ReconnectToServer): ReturnType<typeof askReconnectToServer> =>
    askReconnectToServer(pick, pool, undefined);
  const error = (outcome: ReturnType<typeof askReconnectToServer>): string => {
    expect(outcome).toHaveProperty('error');
    const err = (outcome as { error: Error }).error;
    expect(err).toBeInstanceOf(InvalidOptionError);
    return err.message;
  };

  it('hands the pool over as plain views, with the last error', () => {
    const seen: unknown[] = [];
    const last = new Error('lost');
    askReconnectToServer((servers, lastError) => void seen.push(servers, lastError), pool, last);
    expect(seen).toEqual([
      [
        {
          url: 'nats://10.0.0.1:4222',
          reconnects: 0,
          didConnect: false,
          discovered: false,
          lastAttempt: 0,
        },
        {
          url: 'tls://h2:4443',
          reconnects: 0,
          didConnect: false,
          discovered: false,
          lastAttempt: 0,
        },
      ],
      last,
    ]);
  });

  it('picks a server by its url or its host:port, with an optional delay', () => {
    expect(ask(() => ({ server: 'tls://h2:4443', delay: 250 }))).toEqual({
      server: pool[1],
      delay: 250,
    });
    expect(ask(() => ({ server: '10.0.0.1:4222' }))).toEqual({ server: pool[0], delay: undefined });
  });

  it('keeps the default choice for undefined', () => {
    expect(ask(() => undefined)).toBeUndefined();
  });

  it('refuses a server outside the pool, naming it', () => {
    expect(error(ask(() => ({ server: 'nats://elsewhere:4222' })))).toMatch(
      /"nats:\/\/elsewhere:4222", which is not in the server pool/,
    );
  });

  it('refuses a bad delay, a missing server, an async callback and a throw', () => {
    expect(error(ask(() => ({ server: 'tls://h2:4443', delay: -1 })))).toMatch(/delay/);
    expect(error(ask(() => ({ server: 'tls://h2:4443', delay: Infinity })))).toMatch(/delay/);
    expect(error(ask(() => ({}) as never))).toMatch(/no server URL/);
    expect(error(ask((() => Promise.resolve({ server: 'tls://h2:4443' })) as never))).toMatch(
      /must not be async/,
    );
    expect(
      error(
        ask(() => {
          throw new RangeError('no idea');
        }),
      ),
    ).toBe('option reconnectToServer threw RangeError: no idea');
  });
});

describe('nats contexts: reading the file', () => {
  let home: string;
  let env: NodeJS.ProcessEnv;
  const contextDir = (): string => join(home, 'cfg', 'nats', 'context');
  const write = (name: string, body: unknown): void => {
    mkdirSync(contextDir(), { recursive: true });
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    writeFileSync(join(contextDir(), `${name}.json`), text);
  };

  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'nats-ctx-unit-'));
    env = { XDG_CONFIG_HOME: join(home, 'cfg') };
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it('refuses a context that does not exist, naming the file it looked for', async () => {
    const err = await rejection(loadContext({ context: 'nope' }, env));
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as Error).message).toBe(
      `nats context "nope" not found: ${join(contextDir(), 'nope.json')} does not exist`,
    );
  });

  it('refuses a context file that is not JSON, without quoting it', async () => {
    write('broken', `{ "token": "${SECRET}", }`);
    const err = await rejection(loadContext({ context: 'broken' }, env));
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as Error).message).toMatch(
      /nats context "broken" \(.*broken\.json\) is not valid JSON/,
    );
    expect(shown(err)).not.toContain(SECRET);
  });

  it('refuses JSON that is not an object, and fields of the wrong type', async () => {
    write('list', '[]');
    write('typed', { url: 4222 });
    expect(await rejection(loadContext({ context: 'list' }, env))).toBeInstanceOf(
      InvalidOptionError,
    );
    const err = await rejection(loadContext({ context: 'typed' }, env));
    expect((err as Error).message).toMatch(/url must be a string/);
  });

  it('refuses fields this client has no equivalent for, instead of ignoring them', async () => {
    write('socks', { url: 'nats://h:4222', socks_proxy: 'socks5://p:1080' });
    const err = await rejection(loadContext({ context: 'socks' }, env));
    expect((err as Error).message).toMatch(/socks_proxy is not supported/);
  });

  it('takes the selected context for true: NATS_CONTEXT first, then context.txt', async () => {
    write('a', { url: 'nats://a:4222' });
    write('b', { url: 'nats://b:4222' });
    writeFileSync(join(home, 'cfg', 'nats', 'context.txt'), 'b\n');
    expect((await loadContext({ context: true }, env))?.options.servers).toEqual(['nats://b:4222']);
    const named = await loadContext({ context: true }, { ...env, NATS_CONTEXT: 'a' });
    expect(named?.options.servers).toEqual(['nats://a:4222']);
  });

  it('refuses true when no context is selected, naming where it looked', async () => {
    const err = await rejection(loadContext({ context: true }, env));
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as Error).message).toContain(join(home, 'cfg', 'nats', 'context.txt'));
    expect((err as Error).message).toContain('NATS_CONTEXT');
  });

  it('refuses an empty or non-string context option', async () => {
    for (const context of ['', '  ', 42, false]) {
      const err = await rejection(loadContext({ context: context as never }, env));
      expect(err).toBeInstanceOf(InvalidOptionError);
    }
  });

  it('fills only what the options leave open; options given to connect() win', async () => {
    write('full', {
      url: 'nats://a:4222, nats://b:4222',
      user: 'bob',
      password: SECRET,
      inbox_prefix: '_I.ctx',
      jetstream_domain: 'hub',
      jetstream_api_prefix: '',
      description: 'ignored: for people',
    });
    const got = await loadContext({ context: 'full', inboxPrefix: '_MINE' }, env);
    expect(got?.options).toEqual({
      servers: ['nats://a:4222', 'nats://b:4222'],
      user: 'bob',
      pass: SECRET,
      inboxPrefix: '_MINE',
    });
    expect(got?.jetstream).toEqual({ domain: 'hub' });
    const own = await loadContext({ context: 'full', servers: 'nats://c', token: 't' }, env);
    expect(own?.options).toEqual({ servers: 'nats://c', token: 't', inboxPrefix: '_I.ctx' });
  });

  it('resolves env:// and file:// secrets on every connect, as suppliers', async () => {
    const file = join(home, 'pw.txt');
    writeFileSync(file, 'from-file\n');
    write('refs', { user: 'bob', password: `file://${file}` });
    write('envs', { token: 'env://NATS_TEST_TOKEN' });
    const refs = await loadContext({ context: 'refs' }, env);
    expect(await supplied('pass', refs?.options.pass as string)).toBe('from-file');
    writeFileSync(file, 'rotated\n');
    expect(await supplied('pass', refs?.options.pass as string)).toBe('rotated');
    const envs = await loadContext({ context: 'envs' }, env);
    env['NATS_TEST_TOKEN'] = 'from-env';
    expect(await supplied('token', envs?.options.token as string)).toBe('from-env');
    delete env['NATS_TEST_TOKEN'];
    const err = await rejection(supplied('token', envs?.options.token as string));
    expect(err).toBeInstanceOf(CredentialSupplierError);
  });

  it('refuses secret references it cannot resolve, and credentials it cannot combine', async () => {
    write('op', { user: 'u', password: 'op://vault/item/pw' });
    write('both', { token: 't', creds: '/x.creds' });
    write('jwt', { user_jwt: 'a.b.c' });
    write('half', { cert: '/c.pem' });
    const messages = await Promise.all(
      ['op', 'both', 'jwt', 'half'].map(async (context) =>
        String(((await rejection(loadContext({ context }, env))) as Error).message),
      ),
    );
    expect(messages[0]).toMatch(/password uses op:\/\//);
    expect(messages[1]).toMatch(/token is set together with other credentials/);
    expect(messages[2]).toMatch(/user_jwt needs user_seed/);
    expect(messages[3]).toMatch(/cert needs the other of cert and key/);
  });

  it('maps TLS files with ~ and $VAR expanded, and tls_first', async () => {
    write('tls', { ca: '$CERTS/ca.pem', cert: '~/c.pem', key: 'file:///k.pem', tls_first: true });
    const got = await loadContext({ context: 'tls' }, { ...env, CERTS: '/etc/certs' });
    expect(got?.options.tls).toEqual({
      caFile: '/etc/certs/ca.pem',
      certFile: join(homedir(), 'c.pem'),
      keyFile: '/k.pem',
      handshakeFirst: true,
    });
  });
});
