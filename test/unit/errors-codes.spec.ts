// Error codes are a contract: every NatsError subclass in lib/ carries a code from `ErrorCode`,
// one code stands for one meaning, JetStream API codes have one name each in `JsApiCode`, errors
// are safe to serialise, and one misuse gets one error class wherever it happens (iterating a
// consumer that has a callback is an InvalidOperationError in the core and in JetStream alike).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import {
  AuthenticationExpiredError,
  AuthenticationRevokedError,
  AuthorizationError,
  CallbackError,
  CredentialSupplierError,
  ConnectionClosedError,
  ConnectionDrainingError,
  ConnectionError,
  ConsumerNotFoundError,
  ErrorCode,
  FeatureNotSupportedError,
  InvalidOperationError,
  InvalidOptionError,
  InvalidSubjectError,
  JetStreamApiError,
  JsApiCode,
  MaxPayloadError,
  NatsError,
  NoReplySubjectError,
  NoRespondersError,
  PermissionViolationError,
  ProtocolError,
  ReconnectBufferFullError,
  ServiceError,
  SlowConsumerError,
  StreamNotFoundError,
  TimeoutError,
  type NatsConnection,
} from '../../lib/core/index.js';
import * as coreEntry from '../../lib/core/index.js';
import { InFlight } from '../../lib/core/in-flight.js';
import { Msg, type Responder } from '../../lib/core/messages/msg.js';
import { Subscription } from '../../lib/core/subscriptions/subscription.js';
import {
  ConsumerConfigConflictError,
  JetStreamNotAvailableError,
  MessageTooLargeError,
  MessageTtlDisabledError,
  NoStreamForSubjectError,
  PriorityGroupError,
} from '../../lib/jetstream/index.js';
import {
  BucketNotFoundError,
  InvalidBucketNameError,
  InvalidKeyError,
  KeyExistsError,
  WrongLastRevisionError,
} from '../../lib/kv/index.js';
import { kvStreamConfig } from '../../lib/kv/config.js';
import {
  DigestMismatchError,
  InvalidLinkError,
  InvalidObjectNameError,
  ObjectExistsError,
  ObjectNotFoundError,
  StoreSealedError,
} from '../../lib/obj/index.js';
import { objStreamConfig } from '../../lib/obj/config.js';
import { ProvisioningError } from '../../lib/nest/jetstream/provisioner.js';

const LIB = join(import.meta.dirname, '../../lib');

/** The .ts files of lib/, relative to it. */
function libFiles(): string[] {
  return readdirSync(LIB, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
}

/** Names of the classes in lib/ that extend NatsError, directly or not. */
function natsErrorClassesInSources(): string[] {
  const extendsOf = new Map<string, string>();
  for (const file of libFiles()) {
    const src = readFileSync(join(LIB, file), 'utf8');
    for (const m of src.matchAll(/\bclass\s+(\w+)(?:<[^>]*>)?\s+extends\s+([\w.]+)/g))
      extendsOf.set(m[1], m[2]);
  }
  const isNatsError = (cls: string | undefined): boolean =>
    cls === 'NatsError' || (cls !== undefined && isNatsError(extendsOf.get(cls)));
  return [...extendsOf.keys()].filter((cls) => isNatsError(extendsOf.get(cls))).sort();
}

const noResponder: Responder = { respondTo: () => undefined };
const replyMsg = (): Msg =>
  new Msg('svc.reply', 1, '', Buffer.from('{"detail":1}'), null, noResponder);

/** One instance of every NatsError subclass in lib/, keyed by class name. */
const factories: Record<string, () => NatsError> = {
  AuthenticationExpiredError: () =>
    new AuthenticationExpiredError('User Authentication Expired', 'user'),
  AuthenticationRevokedError: () => new AuthenticationRevokedError('User Authentication Revoked'),
  AuthorizationError: () => new AuthorizationError('Authorization Violation'),
  BucketNotFoundError: () => new BucketNotFoundError('b'),
  CallbackError: () => new CallbackError('a.b', new Error('boom')),
  ConnectionClosedError: () => new ConnectionClosedError(),
  ConnectionDrainingError: () => new ConnectionDrainingError(),
  ConnectionError: () => new ConnectionError('refused', { cause: new Error('ECONNREFUSED') }),
  ConsumerConfigConflictError: () =>
    new ConsumerConfigConflictError('S', 'C', [{ field: 'ackWait', wanted: 1, actual: 2 }]),
  ConsumerNotFoundError: () => new ConsumerNotFoundError(),
  CredentialSupplierError: () =>
    new CredentialSupplierError('token', 'threw an error (Error)', new Error('S3CRET')),
  DigestMismatchError: () => new DigestMismatchError('o', 'SHA-256=a', 'SHA-256=b'),
  FeatureNotSupportedError: () => new FeatureNotSupportedError('compression', '2.10.0', '2.9.10'),
  InvalidBucketNameError: () => new InvalidBucketNameError('a.b'),
  InvalidKeyError: () => new InvalidKeyError('.k', 'starts with a dot'),
  InvalidLinkError: () => new InvalidLinkError('link to a link'),
  InvalidObjectNameError: () => new InvalidObjectNameError(''),
  InvalidOperationError: () => new InvalidOperationError('no'),
  InvalidOptionError: () => new InvalidOptionError('no'),
  InvalidSubjectError: () => new InvalidSubjectError('a b'),
  JetStreamApiError: () => new JetStreamApiError('bad request', 10003, 400),
  JetStreamNotAvailableError: () => new JetStreamNotAvailableError('$JS.API.INFO'),
  KeyExistsError: () => new KeyExistsError('k', JsApiCode.WRONG_LAST_SEQUENCE),
  MaxPayloadError: () => new MaxPayloadError(2, 1),
  MessageTooLargeError: () => new MessageTooLargeError(1024),
  MessageTtlDisabledError: () => new MessageTtlDisabledError(),
  NoReplySubjectError: () => new NoReplySubjectError(),
  NoRespondersError: () => new NoRespondersError('svc'),
  NoStreamForSubjectError: () => new NoStreamForSubjectError('orders.1'),
  ObjectExistsError: () => new ObjectExistsError('b', 'o'),
  ObjectNotFoundError: () => new ObjectNotFoundError('b', 'o'),
  PermissionViolationError: () =>
    new PermissionViolationError('Permissions Violation', 'publish', 'x', 'q'),
  PriorityGroupError: () => new PriorityGroupError('pull refused: Priority Group missing'),
  ProtocolError: () => new ProtocolError('unexpected'),
  ProvisioningError: () => new ProvisioningError('differs', new Error('why')),
  ReconnectBufferFullError: () => new ReconnectBufferFullError(1024),
  ServiceError: () => new ServiceError(418, 'teapot', replyMsg()),
  SlowConsumerError: () => new SlowConsumerError('a', 1, 2, 3),
  StoreSealedError: () => new StoreSealedError('b'),
  StreamNotFoundError: () => new StreamNotFoundError(),
  TimeoutError: () => new TimeoutError(),
  WrongLastRevisionError: () =>
    new WrongLastRevisionError('k', 'wrong last sequence: 3', JsApiCode.WRONG_LAST_SEQUENCE),
};

const codes = Object.values(ErrorCode) as string[];

describe('ErrorCode', () => {
  it('is keyed by its own values, each once', () => {
    for (const [key, value] of Object.entries(ErrorCode)) expect(value).toBe(key);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code).toMatch(/^[A-Z][A-Z0-9_]*$/);
  });

  it('has a factory here for every NatsError subclass in lib/ (a new class needs one)', () => {
    expect(Object.keys(factories).sort()).toEqual(natsErrorClassesInSources());
  });

  it.each(Object.keys(factories))('%s has a code from ErrorCode and its own name', (name) => {
    const err = factories[name]();
    expect(err).toBeInstanceOf(NatsError);
    expect(err.name).toBe(name);
    expect(codes).toContain(err.code);
  });

  it('gives one code one meaning: classes sharing a code extend the one that owns it', () => {
    const byCode = new Map<string, NatsError[]>();
    for (const make of Object.values(factories)) {
      const err = make();
      byCode.set(err.code, [...(byCode.get(err.code) ?? []), err]);
    }
    for (const [code, errs] of byCode) {
      // The owner is the class every other class of the code extends.
      const owners = errs.filter((a) => errs.every((b) => b instanceof a.constructor));
      expect({ code, owners: owners.map((e) => e.name) }).toEqual({
        code,
        owners: [expect.any(String)],
      });
    }
  });

  it('lists only codes that some error uses', () => {
    const used = new Set<string>(Object.values(factories).map((make) => make().code));
    expect(codes.filter((c) => !used.has(c))).toEqual([]);
  });

  it('is exported with JsApiCode from the core entry point', () => {
    expect(coreEntry.ErrorCode).toBe(ErrorCode);
    expect(coreEntry.JsApiCode).toBe(JsApiCode);
  });
});

describe('JsApiCode', () => {
  it('names each JetStream API code once', () => {
    const values = Object.values(JsApiCode);
    expect(new Set(values).size).toBe(values.length);
    for (const v of values) expect(v).toBeGreaterThan(10000);
    expect(JsApiCode.STREAM_NOT_FOUND).toBe(10059);
    expect(JsApiCode.CONSUMER_NOT_FOUND).toBe(10014);
  });

  it('gives the typed errors their API codes', () => {
    expect(new StreamNotFoundError().apiCode).toBe(JsApiCode.STREAM_NOT_FOUND);
    expect(new ConsumerNotFoundError().apiCode).toBe(JsApiCode.CONSUMER_NOT_FOUND);
    expect(new BucketNotFoundError('b').apiCode).toBe(JsApiCode.STREAM_NOT_FOUND);
    expect(new StoreSealedError('b').apiCode).toBe(JsApiCode.STREAM_SEALED);
    const conflict = new ConsumerConfigConflictError('S', 'C', []);
    expect(conflict.apiCode).toBe(JsApiCode.CONSUMER_ALREADY_EXISTS);
  });
});

describe('lib/ sources', () => {
  /** Lines of `src` without comments (good enough for the patterns below). */
  const code = (src: string): string =>
    src
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .split('\n')
      .map((l) => l.replace(/\/\/.*$/, ''))
      .join('\n');

  it('take error codes from ErrorCode and API codes from JsApiCode, not literals', () => {
    const found: string[] = [];
    for (const file of libFiles()) {
      if (file.endsWith('error-codes.ts')) continue;
      const src = code(readFileSync(join(LIB, file), 'utf8'));
      for (const m of src.matchAll(/super\([^;]*?'[A-Z][A-Z_]+'[^;]*?\);/g))
        found.push(`${file}: ${m[0]}`);
      for (const m of src.matchAll(/apiCode\s*[!=]==?\s*\d+|\b10[01]\d\d\b(?!_)/g))
        found.push(`${file}: ${m[0]}`);
    }
    expect(found).toEqual([]);
  });

  it('throw no plain TypeError/RangeError/Error at users outside the Nest layer', () => {
    // Each kept site, and why it is not a user's misuse.
    const allowed = [
      // A non-Error thrown by a user callback becomes the cause of a CallbackError.
      'core/async/callback-runner.ts: new Error(',
      // An iterator's throw(reason) with a reason that is not an Error rejects with one.
      'core/async/queue.ts: new Error(',
      // Fallback reason of a chunk publish that rejected without one.
      'obj/transfer.ts: new Error(',
    ];
    const found: string[] = [];
    for (const file of libFiles()) {
      if (file.startsWith('nest')) continue;
      const src = code(readFileSync(join(LIB, file), 'utf8'));
      for (const m of src.matchAll(/new (?:Type|Range|Syntax)?Error\(/g))
        found.push(`${file}: ${m[0]}`);
    }
    expect(found.sort()).toEqual(allowed.sort());
  });
});

describe('errors are safe to serialise', () => {
  it.each(Object.keys(factories))('%s: JSON.stringify and util.inspect', (name) => {
    const err = factories[name]();
    for (const [k, v] of Object.entries(err) as [string, unknown][])
      expect({
        k,
        kind: typeof v === 'object' && v !== null ? v.constructor.name : 'data',
      }).toEqual({ k, kind: Array.isArray(v) ? 'Array' : 'data' });
    const parsed = JSON.parse(JSON.stringify(err)) as Record<string, unknown>;
    expect(parsed).toMatchObject({ name, code: err.code, message: err.message });
    const shown = inspect(err, { depth: 8 });
    expect(shown).toContain(err.message);
    expect(shown).not.toMatch(/\bMsg \{|<ref \*\d+>|\[Circular/);
  });
});

describe('one misuse, one error class', () => {
  const callbackIterated = (it: AsyncIterable<unknown>): Promise<unknown> =>
    it[Symbol.asyncIterator]()
      .next()
      .then(
        () => undefined,
        (err: unknown) => err,
      );

  const expectInvalidOperation = (err: unknown): void => {
    expect(err).toBeInstanceOf(InvalidOperationError);
    expect((err as NatsError).code).toBe(ErrorCode.INVALID_OPERATION);
  };

  it('iterating a core callback subscription', async () => {
    const host = {
      unsubscribe: () => undefined,
      drainSubscription: () => Promise.resolve(),
      reportError: () => undefined,
      callbacks: new InFlight(),
    };
    const sub = new Subscription(host, 1, 'a', { callback: () => undefined });
    expectInvalidOperation(await callbackIterated(sub));
  });

  it('compression on a server older than 2.10 is FeatureNotSupportedError for KV and obj', () => {
    const old = { info: { version: '2.9.10' } } as unknown as NatsConnection;
    for (const make of [
      () => kvStreamConfig({ bucket: 'b', compression: true }, old),
      () => objStreamConfig({ bucket: 'b', compression: true }, old),
    ]) {
      expect(make).toThrow(FeatureNotSupportedError);
      expect(make).toThrow(
        /compression needs nats-server 2\.10\.0 or newer \(connected to 2\.9\.10\)/,
      );
    }
  });
});
