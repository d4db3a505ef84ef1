// Errors are safe to log: loggers serialise errors with JSON.stringify or util.inspect, so no
// error may hold an enumerable reference to a connection, subscription, socket or message (a
// reply Msg reaches its connection, which is circular). Every error class of the public entry
// points is found from their exports, built with the real objects it takes (a real reply Msg,
// a real socket error, a real JetStream API error) and checked; errors that real operations
// reject with are checked too.
import { EventEmitter } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import * as publicApi from '../../lib/index.js';
import {
  AuthenticationExpiredError,
  AuthenticationRevokedError,
  AuthorizationError,
  CredentialSupplierError,
  ErrorCode,
  BucketNotFoundError,
  CallbackError,
  ConnectionClosedError,
  ConnectionDrainingError,
  ConnectionError,
  ConsumerConfigConflictError,
  ConsumerNotFoundError,
  DigestMismatchError,
  FeatureNotSupportedError,
  InvalidBucketNameError,
  InvalidKeyError,
  InvalidLinkError,
  InvalidObjectNameError,
  InvalidOperationError,
  InvalidOptionError,
  InvalidSubjectError,
  JetStreamApiError,
  JetStreamNotAvailableError,
  KeyExistsError,
  MaxPayloadError,
  MessageTooLargeError,
  MessageTtlDisabledError,
  Msg,
  NatsConnection,
  NatsError,
  NoReplySubjectError,
  NoRespondersError,
  NoStreamForSubjectError,
  ObjectExistsError,
  ObjectNotFoundError,
  PermissionViolationError,
  ProtocolError,
  ProvisioningError,
  ReconnectBufferFullError,
  ServiceError,
  SlowConsumerError,
  StoreSealedError,
  StreamNotFoundError,
  Subscription,
  TermException,
  TimeoutError,
  WrongLastRevisionError,
  PriorityGroupError,
} from '../../lib/index.js';
import { MsgView } from '../../lib/core/internal.js';
import * as health from '../../lib/health.js';
import {
  getFreePort,
  startServer,
  stopAllServers,
  type NatsServerHandle,
} from '../support/index.js';
import { Connections, rejection, waitUntil } from './core-helpers.js';

type ErrorClass = abstract new (...args: never[]) => Error;

/** Every class exported by the public entry points that is an Error. */
function exportedErrorClasses(): Map<string, ErrorClass> {
  const found = new Map<string, ErrorClass>();
  for (const mod of [publicApi, health] as Record<string, unknown>[]) {
    for (const [name, value] of Object.entries(mod)) {
      if (typeof value === 'function' && value.prototype instanceof Error)
        found.set(name, value as ErrorClass);
    }
  }
  return found;
}

/** Names of the classes in lib/ that extend Error, directly or not, exported or not. */
function errorClassesInSources(): string[] {
  const root = join(import.meta.dirname, '../../lib');
  const extendsOf = new Map<string, string>();
  for (const file of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.ts')) continue;
    const src = readFileSync(join(root, file), 'utf8');
    for (const m of src.matchAll(/\bclass\s+(\w+)(?:<[^>]*>)?\s+extends\s+([\w.]+)/g))
      extendsOf.set(m[1], m[2]);
  }
  const errors = new Set(['Error', 'RpcException', 'TypeError', 'RangeError']);
  for (let grew = true; grew;) {
    grew = false;
    for (const [cls, base] of extendsOf)
      if (!errors.has(cls) && errors.has(base)) {
        errors.add(cls);
        grew = true;
      }
  }
  return [...extendsOf.keys()].filter((c) => errors.has(c)).sort();
}

/** Live objects no error may reach through its enumerable properties or its cause. */
function liveKind(value: unknown): string | undefined {
  if (value instanceof NatsConnection) return 'NatsConnection';
  if (value instanceof Subscription) return 'Subscription';
  if (value instanceof Msg) return 'Msg';
  if (value instanceof MsgView) return 'MsgView';
  // Sockets, servers, child processes, streams: anything with listeners.
  if (value instanceof EventEmitter) return `EventEmitter (${value.constructor.name})`;
  return undefined;
}

/** Paths of enumerable own properties (and causes) that lead to a live object. */
function liveReferences(value: unknown, path = 'err', seen = new Set<unknown>()): string[] {
  if (typeof value !== 'object' || value === null || seen.has(value)) return [];
  seen.add(value);
  const kind = liveKind(value);
  if (kind !== undefined) return [`${path}: ${kind}`];
  const found: string[] = [];
  for (const [k, v] of Object.entries(value))
    found.push(...liveReferences(v, `${path}.${k}`, seen));
  if (value instanceof Error && value.cause !== undefined)
    found.push(...liveReferences(value.cause, `${path}.cause`, seen));
  return found;
}

/** The checks every error must pass. */
function expectSafeToLog(err: Error, className: string): void {
  expect(liveReferences(err)).toEqual([]);

  let json = '';
  expect(() => (json = JSON.stringify(err))).not.toThrow();
  const parsed = JSON.parse(json) as Record<string, unknown>;
  expect(parsed.name).toBe(className);
  expect(parsed.message).toBe(err.message);
  expect(err.message.length).toBeGreaterThan(0);
  if (err instanceof NatsError) {
    expect(parsed.code).toBe(err.code);
    expect(err.code).toMatch(/^[A-Z][A-Z0-9_]*$/);
  }
  // No data field is dropped from the log line.
  for (const [k, v] of Object.entries(err))
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v))
      expect(parsed[k]).toEqual(v);
  if (err.cause instanceof Error) {
    expect(parsed.cause).toMatchObject({ name: err.cause.name, message: err.cause.message });
  }

  const shown = inspect(err, { depth: 8 });
  expect(shown).toContain(err.message);
  expect(shown).not.toMatch(/\b(NatsConnection|Subscription|Msg|JsMsg|ServiceMsg|Socket)\s\{/);
  expect(shown).not.toMatch(/<ref \*\d+>|\[Circular/);
}

let server: NatsServerHandle;
const conns = new Connections();
let nc: NatsConnection;

beforeAll(async () => {
  server = await startServer({ jetstream: true });
  nc = await conns.connect({ servers: server.url });
});
afterAll(async () => {
  await conns.closeAll();
  await stopAllServers();
});

/** Real objects the error classes take. */
interface Real {
  /** A message received on a subscription of a live connection. */
  msg: Msg;
  /** The ServiceError a real service endpoint's error reply makes request() reject with. */
  serviceError: ServiceError;
  /** The ConnectionError of a connect to a port nobody listens on (its cause is Node's). */
  refused: ConnectionError;
  /** The StreamNotFoundError of a real JetStream API call. */
  apiError: JetStreamApiError;
}

async function realObjects(): Promise<Real> {
  const sub = nc.subscribe('log.me');
  nc.publish('log.me', 'hello', { headers: { 'X-Trace': 'abc' } });
  const msg = await sub.nextMsg(2000);
  sub.unsubscribe();

  const svc = await nc.addService({ name: 'logsafe', version: '1.0.0' });
  svc.addEndpoint('fail', {
    subject: 'log.fail',
    handler: (req) => req.respondError(418, "I'm a teapot", 'details'),
  });
  await nc.flush();
  const serviceError = (await rejection(nc.request('log.fail'))) as ServiceError;
  await svc.stop();

  const port = await getFreePort();
  const refused = (await rejection(
    conns.connect({ servers: `127.0.0.1:${port}`, reconnect: false, timeout: 1000 }),
  )) as ConnectionError;

  const jsm = await nc.jetstreamManager();
  const apiError = (await rejection(jsm.streams.info('NO_SUCH_STREAM'))) as JetStreamApiError;
  return { msg, serviceError, refused, apiError };
}

/** One instance of each error class, built with the real objects it takes. */
function factories(real: Real): Record<string, () => Error> {
  const userError = Object.assign(new Error('the handler failed'), { code: 'E_HANDLER' });
  return {
    NatsError: () =>
      new NatsError(ErrorCode.CONNECTION_ERROR, 'something failed', { cause: real.refused }),
    ConnectionError: () =>
      new ConnectionError('cannot connect', { cause: real.refused.cause ?? real.refused }),
    ConnectionClosedError: () =>
      new ConnectionClosedError('connection closed', { cause: real.refused }),
    ConnectionDrainingError: () => new ConnectionDrainingError(),
    AuthorizationError: () => new AuthorizationError("'Authorization Violation'"),
    AuthenticationExpiredError: () =>
      new AuthenticationExpiredError('User Authentication Expired', 'account'),
    AuthenticationRevokedError: () => new AuthenticationRevokedError('User Authentication Revoked'),
    // What a supplier threw stays out of what is logged (non-enumerable).
    CredentialSupplierError: () =>
      new CredentialSupplierError('token', 'threw an error (Error)', userError),
    PermissionViolationError: () =>
      new PermissionViolationError(
        "Permissions Violation for Publish to 'forbidden.x'",
        'publish',
        'forbidden.x',
        'q',
      ),
    ProtocolError: () => new ProtocolError('unexpected bytes'),
    TimeoutError: () => new TimeoutError(),
    NoRespondersError: () => new NoRespondersError('svc.echo'),
    InvalidSubjectError: () => new InvalidSubjectError('invalid subject "a b"'),
    InvalidOperationError: () => new InvalidOperationError('nextMsg() on a callback subscription'),
    InvalidOptionError: () => new InvalidOptionError('timeout must be positive'),
    MaxPayloadError: () => new MaxPayloadError(2048, 1024),
    SlowConsumerError: () => new SlowConsumerError('log.me', 3, 10, 1000),
    CallbackError: () => new CallbackError('log.me', userError),
    NoReplySubjectError: () => new NoReplySubjectError(),
    ReconnectBufferFullError: () => new ReconnectBufferFullError(1024),
    FeatureNotSupportedError: () =>
      new FeatureNotSupportedError('consumer pause', '2.11.0', '2.9.10'),
    JetStreamApiError: () => new JetStreamApiError('wrong last sequence: 1', 10071, 400),
    StreamNotFoundError: () => new StreamNotFoundError(),
    ConsumerNotFoundError: () => new ConsumerNotFoundError(),
    PriorityGroupError: () => new PriorityGroupError('pull refused: missing group'),
    ConsumerConfigConflictError: () =>
      new ConsumerConfigConflictError('ORDERS', 'worker', [
        { field: 'ackWait', wanted: 30000, actual: 10000 },
      ]),
    // The reply message a real endpoint answered with, and one from a live subscription.
    ServiceError: () => new ServiceError(503, 'overloaded', real.msg),
    JetStreamNotAvailableError: () => new JetStreamNotAvailableError('$JS.API.INFO'),
    NoStreamForSubjectError: () => new NoStreamForSubjectError('orders.new'),
    MessageTooLargeError: () => new MessageTooLargeError(1024),
    MessageTtlDisabledError: () => new MessageTtlDisabledError(),
    ObjectNotFoundError: () => new ObjectNotFoundError('files', 'a.txt'),
    DigestMismatchError: () => new DigestMismatchError('a.txt', 'SHA-256=abc', 'SHA-256=def'),
    StoreSealedError: () => new StoreSealedError('files'),
    ObjectExistsError: () => new ObjectExistsError('files', 'a.txt'),
    InvalidLinkError: () => new InvalidLinkError('a link to a link'),
    InvalidObjectNameError: () => new InvalidObjectNameError(''),
    InvalidKeyError: () => new InvalidKeyError('a b', 'spaces are not allowed'),
    InvalidBucketNameError: () => new InvalidBucketNameError('a.b'),
    BucketNotFoundError: () => new BucketNotFoundError('cfg'),
    KeyExistsError: () => new KeyExistsError('k', 10071),
    WrongLastRevisionError: () => new WrongLastRevisionError('k', 'wrong last sequence: 4', 10071),
    ProvisioningError: () => new ProvisioningError('stream ORDERS differs', real.apiError),
    TermException: () => new TermException('poison message'),
  };
}

describe('errors are safe to log', () => {
  let real: Real;
  beforeAll(async () => {
    real = await realObjects();
  });

  it('covers every error class of the public entry points and of lib/', () => {
    const exported = [...exportedErrorClasses().keys()].sort();
    expect(Object.keys(factories(real)).sort()).toEqual(exported);
    // A new error class that is not exported is caught too.
    expect(exported).toEqual(expect.arrayContaining(errorClassesInSources()));
  });

  it('every error class: JSON.stringify works, keeps name/code/message, holds nothing live', () => {
    const classes = exportedErrorClasses();
    for (const [name, make] of Object.entries(factories(real))) {
      const err = make();
      expect(err).toBeInstanceOf(classes.get(name) as ErrorClass);
      expect(err.constructor.name).toBe(name);
      expectSafeToLog(err, name);
    }
  });

  it('a ServiceError from a real endpoint keeps its reply as msg, out of the log line', () => {
    const err = real.serviceError;
    expect(err).toBeInstanceOf(ServiceError);
    expect(err.msg).toBeInstanceOf(Msg);
    expect(err.msg?.headers?.get('Nats-Service-Error-Code')).toBe('418');
    expect(err.msg?.string()).toBe('details');
    expect(Object.keys(err)).not.toContain('msg');
    expectSafeToLog(err, 'ServiceError');
    expect(JSON.parse(JSON.stringify(err))).toEqual({
      name: 'ServiceError',
      code: 'SERVICE_ERROR',
      message: "service error 418: I'm a teapot",
      serviceCode: 418,
      description: "I'm a teapot",
    });
  });

  it('a socket error cause is summarised with its code', () => {
    const err = real.refused;
    expect(err).toBeInstanceOf(ConnectionError);
    expectSafeToLog(err, 'ConnectionError');
    const json = JSON.parse(JSON.stringify(err)) as { cause?: Record<string, unknown> };
    if (err.cause instanceof Error)
      expect(json.cause).toMatchObject({ code: (err.cause as NodeJS.ErrnoException).code });
  });

  it('errors real operations reject with or report are safe to log', async () => {
    const got: Error[] = [real.serviceError, real.refused, real.apiError];
    got.push((await rejection(nc.request('log.nobody', '', { timeout: 500 }))) as Error);
    const sub = nc.subscribe('log.quiet');
    got.push((await rejection(sub.nextMsg(20))) as Error);
    sub.unsubscribe();

    const reported: NatsError[] = [];
    const cb = await conns.connect({ servers: server.url, onError: (e) => reported.push(e) });
    cb.subscribe('log.throws', {
      callback: () => {
        throw new Error('handler bug');
      },
    });
    await cb.flush();
    nc.publish('log.throws', 'x');
    await waitUntil(() => reported.length > 0, 2000);
    got.push(...reported);

    const closed = await conns.connect({ servers: server.url });
    await closed.close();
    got.push((await rejection(closed.request('log.any'))) as Error);

    expect(got.map((e) => e.constructor.name)).toEqual([
      'ServiceError',
      'ConnectionError',
      'StreamNotFoundError',
      'NoRespondersError',
      'TimeoutError',
      'CallbackError',
      'ConnectionClosedError',
    ]);
    for (const err of got) expectSafeToLog(err, err.constructor.name);
  });
});
