import { InvalidOptionError, isValidSubscribeSubject } from '../core/internal.js';
import {
  DEFAULT_SERVICE_PREFIX,
  type QueueGroupSetting,
  type ServiceConfig,
  type ServiceHandler,
} from './types.js';

const NAME = /^[A-Za-z0-9_-]+$/;
// The regular expression published with Semantic Versioning 2.0.0 (semver.org, FAQ).
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
// ADR-32: no spaces, and `>` only as the last character.
const QUEUE_GROUP = /^[^\s>]*>?$/;
const RESERVED_METADATA_PREFIX = '_nats';

/** A service config after validation, with defaults applied and metadata frozen. */
export interface NormalizedServiceConfig {
  name: string;
  version: string;
  description: string;
  metadata: Readonly<Record<string, string>>;
  queueGroup: QueueGroupSetting | undefined;
  statsHandler: ServiceConfig['statsHandler'];
}

function fail(message: string): never {
  throw new InvalidOptionError(message);
}

/** Throws `InvalidOptionError` unless `name` is a valid service or endpoint name. */
export function checkName(what: 'service' | 'endpoint', name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) fail(`${what} name is required`);
  if (!NAME.test(name)) {
    fail(
      `invalid ${what} name ${JSON.stringify(name)}: only A-Z, a-z, 0-9, '_' and '-' are allowed`,
    );
  }
  return name;
}

/** Throws `InvalidOptionError` unless `version` is a SemVer 2.0 version. */
export function checkVersion(version: unknown): string {
  if (typeof version !== 'string' || version.length === 0) fail('service version is required');
  if (!SEMVER.test(version)) {
    fail(`invalid service version ${JSON.stringify(version)}: it must be a SemVer 2.0 version`);
  }
  return version;
}

/**
 * Validates metadata (string keys and values, no reserved `_nats` keys) and returns a frozen
 * copy, or undefined when none was given.
 */
export function checkMetadata(
  what: string,
  metadata: unknown,
): Readonly<Record<string, string>> | undefined {
  if (metadata === undefined || metadata === null) return undefined;
  if (typeof metadata !== 'object' || Array.isArray(metadata)) {
    fail(`${what} metadata must be an object of strings`);
  }
  const copy: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (key.length === 0) fail(`${what} metadata keys must not be empty`);
    if (key.startsWith(RESERVED_METADATA_PREFIX)) {
      fail(`${what} metadata key ${JSON.stringify(key)} is reserved (keys starting with _nats)`);
    }
    if (typeof value !== 'string') {
      fail(`${what} metadata value of ${JSON.stringify(key)} must be a string`);
    }
    setKey(copy, key, value);
  }
  return Object.freeze(copy);
}

/** Validates a queue group setting; `''` counts as disabled, like `false`. */
export function checkQueueGroup(what: string, queue: unknown): QueueGroupSetting | undefined {
  if (queue === undefined || queue === null) return undefined;
  if (queue === false || queue === '') return false;
  if (typeof queue !== 'string') fail(`${what} queue group must be a string or false`);
  if (!QUEUE_GROUP.test(queue)) {
    fail(
      `invalid ${what} queue group ${JSON.stringify(queue)}: no spaces, and '>' only at the end`,
    );
  }
  return queue;
}

/** Validates a group prefix: '' or a subject without `>`. */
export function checkGroupPrefix(prefix: unknown): string {
  if (typeof prefix !== 'string') fail('group prefix must be a string');
  if (prefix === '') return prefix;
  if (!isValidSubscribeSubject(prefix) || prefix.split('.').includes('>')) {
    fail(`invalid group prefix ${JSON.stringify(prefix)}: it must be a subject without '>'`);
  }
  return prefix;
}

/** Validates the full subject of an endpoint (wildcards allowed, not under the `$SRV` prefix). */
export function checkEndpointSubject(subject: string): string {
  if (!isValidSubscribeSubject(subject)) {
    fail(
      `invalid endpoint subject ${JSON.stringify(subject)}: tokens must be non-empty, without spaces, '>' last`,
    );
  }
  if (subject.split('.')[0] === DEFAULT_SERVICE_PREFIX) {
    fail(`endpoint subject ${JSON.stringify(subject)} is under the reserved $SRV prefix`);
  }
  return subject;
}

/** Validates an endpoint handler (optional: without one the endpoint is iterated). */
export function checkHandler(handler: unknown): ServiceHandler | undefined {
  if (handler === undefined) return undefined;
  if (typeof handler !== 'function') fail('endpoint handler must be a function');
  return handler as ServiceHandler;
}

/** Validates `nc.addService()`'s config. Throws `InvalidOptionError` with what is wrong. */
export function normalizeServiceConfig(config: ServiceConfig): NormalizedServiceConfig {
  if (typeof config !== 'object' || config === null) fail('service config is required');
  const description = config.description ?? '';
  if (typeof description !== 'string') fail('service description must be a string');
  if (config.statsHandler !== undefined && typeof config.statsHandler !== 'function') {
    fail('service statsHandler must be a function');
  }
  return {
    name: checkName('service', config.name),
    version: checkVersion(config.version),
    description,
    metadata: checkMetadata('service', config.metadata) ?? Object.freeze({}),
    queueGroup: checkQueueGroup('service', config.queueGroup),
    statsHandler: config.statsHandler,
  };
}

/**
 * `obj[key] = value`, also for the key `__proto__` (which JSON allows as a plain key, while an
 * assignment would try to change the prototype and drop it).
 */
export function setKey(obj: Record<string, string>, key: string, value: string): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}
