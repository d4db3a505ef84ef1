import { InvalidOptionError } from '../../lib/core/errors.js';
import { DEFAULTS, resolveOptions, type ConnectOptions } from '../../lib/core/options.js';

function expectInvalid(opts: ConnectOptions): InvalidOptionError {
  let error: unknown;
  try {
    resolveOptions(opts);
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(InvalidOptionError);
  expect((error as InvalidOptionError).code).toBe('INVALID_OPTION');
  return error as InvalidOptionError;
}

const NUMBER_OPTIONS = [
  'timeout',
  'maxReconnectAttempts',
  'reconnectTimeWait',
  'reconnectJitter',
  'reconnectJitterTls',
  'reconnectBufferSize',
  'pingInterval',
  'maxPingsOut',
  'writeHighWaterMark',
  'drainTimeout',
] as const;

describe('resolveOptions: defaults', () => {
  it('applies the documented defaults when called without options', () => {
    const o = resolveOptions();
    expect(o).toMatchObject({
      servers: 'nats://127.0.0.1:4222',
      timeout: 2000,
      reconnect: true,
      maxReconnectAttempts: 60,
      reconnectTimeWait: 2000,
      reconnectJitter: 100,
      reconnectJitterTls: 1000,
      reconnectBufferSize: 8 * 1024 * 1024,
      pingInterval: 120_000,
      maxPingsOut: 2,
      inboxPrefix: '_INBOX',
      writeHighWaterMark: 4 * 1024 * 1024,
      drainTimeout: 30_000,
    });
    expect(o).toEqual({ ...DEFAULTS });
  });

  it('applies the same defaults to an empty object', () => {
    expect(resolveOptions({})).toEqual(resolveOptions());
  });

  it('lets given options override defaults and keeps the others', () => {
    const o = resolveOptions({
      servers: ['nats://a:4222', 'b:4223'],
      timeout: 500,
      maxReconnectAttempts: -1,
      reconnect: false,
      name: 'svc',
      noEcho: true,
      inboxPrefix: 'my.inbox',
    });
    expect(o.servers).toEqual(['nats://a:4222', 'b:4223']);
    expect(o.timeout).toBe(500);
    expect(o.maxReconnectAttempts).toBe(-1);
    expect(o.reconnect).toBe(false);
    expect(o.name).toBe('svc');
    expect(o.noEcho).toBe(true);
    expect(o.inboxPrefix).toBe('my.inbox');
    expect(o.pingInterval).toBe(DEFAULTS.pingInterval);
    expect(o.reconnectBufferSize).toBe(DEFAULTS.reconnectBufferSize);
  });

  it('ignores options explicitly set to undefined', () => {
    const o = resolveOptions({ timeout: undefined, servers: undefined, inboxPrefix: undefined });
    expect(o.timeout).toBe(DEFAULTS.timeout);
    expect(o.servers).toBe(DEFAULTS.servers);
    expect(o.inboxPrefix).toBe(DEFAULTS.inboxPrefix);
  });

  it('does not modify the options object it is given', () => {
    const opts: ConnectOptions = { timeout: 100 };
    resolveOptions(opts);
    expect(opts).toEqual({ timeout: 100 });
  });

  it('accepts zero where zero is meaningful (no buffer, no pings, no jitter)', () => {
    const o = resolveOptions({
      reconnectBufferSize: 0,
      pingInterval: 0,
      reconnectJitter: 0,
      reconnectTimeWait: 0,
      maxReconnectAttempts: 0,
    });
    expect(o.reconnectBufferSize).toBe(0);
    expect(o.pingInterval).toBe(0);
  });
});

describe('resolveOptions: numbers', () => {
  it.each(NUMBER_OPTIONS.filter((k) => k !== 'maxReconnectAttempts'))(
    'rejects a negative %s',
    (key) => {
      expectInvalid({ [key]: -1 });
      expectInvalid({ [key]: -0.5 });
    },
  );

  it('accepts maxReconnectAttempts -1 (forever) but rejects other negatives', () => {
    expect(resolveOptions({ maxReconnectAttempts: -1 }).maxReconnectAttempts).toBe(-1);
    expectInvalid({ maxReconnectAttempts: -2 });
    expectInvalid({ maxReconnectAttempts: -100 });
  });

  it.each(NUMBER_OPTIONS)('rejects NaN for %s', (key) => {
    expectInvalid({ [key]: Number.NaN });
  });

  it.each(NUMBER_OPTIONS)('rejects a non-number for %s', (key) => {
    expectInvalid({ [key]: '100' as unknown as number });
    expectInvalid({ [key]: null as unknown as number });
  });

  it('rejects a zero connect timeout', () => {
    expectInvalid({ timeout: 0 });
  });

  it('names the offending option in the error', () => {
    expect(expectInvalid({ pingInterval: -5 }).message).toContain('pingInterval');
    expect(expectInvalid({ drainTimeout: Number.NaN }).message).toContain('drainTimeout');
  });
});

describe('resolveOptions: authentication', () => {
  const CREDS = '-----BEGIN NATS USER JWT-----\nx\n------END NATS USER JWT------\n';
  const authenticator = () => ({ auth_token: 't' });

  it.each<[string, ConnectOptions]>([
    ['token', { token: 't' }],
    ['user and pass', { user: 'u', pass: 'p' }],
    ['nkeySeed', { nkeySeed: 'SUAXXX' }],
    ['credsFile', { credsFile: '/tmp/x.creds' }],
    ['creds', { creds: CREDS }],
    ['authenticator', { authenticator }],
  ])('accepts %s alone', (_what, opts) => {
    expect(() => resolveOptions(opts)).not.toThrow();
  });

  it.each<[string, ConnectOptions]>([
    ['token and nkeySeed', { token: 't', nkeySeed: 'SUAXXX' }],
    ['token and credsFile', { token: 't', credsFile: '/tmp/x.creds' }],
    ['token and creds', { token: 't', creds: CREDS }],
    ['token and authenticator', { token: 't', authenticator }],
    ['nkeySeed and creds', { nkeySeed: 'SUAXXX', creds: CREDS }],
    ['nkeySeed and credsFile', { nkeySeed: 'SUAXXX', credsFile: '/tmp/x.creds' }],
    ['nkeySeed and authenticator', { nkeySeed: 'SUAXXX', authenticator }],
    ['credsFile and authenticator', { credsFile: '/tmp/x.creds', authenticator }],
    ['creds and authenticator', { creds: CREDS, authenticator }],
    ['all of them', { token: 't', nkeySeed: 'SUAXXX', creds: CREDS, authenticator }],
  ])('rejects %s together', (_what, opts) => {
    expectInvalid(opts);
  });

  it('rejects user without pass and pass without user', () => {
    expectInvalid({ user: 'u' });
    expectInvalid({ pass: 'p' });
  });
});

describe('resolveOptions: servers and inbox prefix', () => {
  it('accepts a single URL string and a list of URLs', () => {
    expect(resolveOptions({ servers: 'nats://h:4222' }).servers).toBe('nats://h:4222');
    expect(resolveOptions({ servers: ['h1:4222', 'tls://h2:4443'] }).servers).toEqual([
      'h1:4222',
      'tls://h2:4443',
    ]);
  });

  it.each<[string, string | string[]]>([
    ['an empty list', []],
    ['an empty string', ''],
    ['a blank string', '   '],
    ['a list with an empty entry', ['nats://a:4222', '']],
    ['a list with a blank entry', ['  ']],
    ['a list with a non-string entry', ['nats://a:4222', 42 as unknown as string]],
  ])('rejects servers given as %s', (_what, servers) => {
    expectInvalid({ servers });
  });

  it('rejects options that are not an object', () => {
    expectInvalid(null as unknown as ConnectOptions);
    expectInvalid('nats://h:4222' as unknown as ConnectOptions);
  });

  it.each(['_INBOX', 'my.inbox', 'app_1.replies'])('accepts the inbox prefix %j', (prefix) => {
    expect(resolveOptions({ inboxPrefix: prefix }).inboxPrefix).toBe(prefix);
  });

  it.each([
    ['empty', ''],
    ['with a space', 'my inbox'],
    ['with a * wildcard', 'my.*'],
    ['with a > wildcard', 'my.>'],
    ['with a trailing dot', 'my.inbox.'],
  ])('rejects an inbox prefix %s', (_what, prefix) => {
    expectInvalid({ inboxPrefix: prefix });
  });

  // BUG (lib/core/options.ts:159-165): the inboxPrefix check only rejects whitespace, wildcards
  // and a trailing dot, so prefixes that are not literal subjects (empty tokens) pass. The inboxes
  // built from them ('.inbox.<nuid>', 'my..inbox.<nuid>') are invalid subjects, which only
  // surfaces later as InvalidSubjectError from request()/subscribe().
  it('rejects an inbox prefix with a leading dot', () => {
    expectInvalid({ inboxPrefix: '.inbox' });
  });

  it('rejects an inbox prefix with an empty token', () => {
    expectInvalid({ inboxPrefix: 'my..inbox' });
  });
});
