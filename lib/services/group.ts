import { InvalidOptionError } from '../core/internal.js';
import type { EndpointDefinition, ServiceEndpoint } from './endpoint.js';
import {
  DEFAULT_SERVICE_QUEUE_GROUP,
  type EndpointOptions,
  type GroupOptions,
  type QueueGroupSetting,
  type ServiceGroupApi,
  type ServiceHandler,
} from './types.js';
import {
  checkEndpointSubject,
  checkGroupPrefix,
  checkHandler,
  checkMetadata,
  checkName,
  checkQueueGroup,
} from './validate.js';

/** @internal What a group needs from its service. */
export interface GroupHost {
  /** Creates and subscribes an endpoint; throws when the service is stopped. */
  createEndpoint(def: EndpointDefinition): ServiceEndpoint;
}

function join(prefix: string, subject: string): string {
  return prefix === '' ? subject : `${prefix}.${subject}`;
}

/**
 * A subject prefix with its own default queue group. Endpoints added to it listen on
 * `<prefix>.<subject>`; nested groups extend the prefix and inherit the queue group.
 */
export class ServiceGroup implements ServiceGroupApi {
  /** @internal */
  constructor(
    private readonly host: GroupHost,
    /** The full prefix ('' for the service's root). */
    readonly prefix: string,
    /** The queue group inherited by endpoints; undefined means the default `q`. */
    readonly queueGroup: QueueGroupSetting | undefined,
  ) {}

  /**
   * Adds an endpoint; it subscribes at once (call `nc.flush()` to be sure the server has it).
   * Throws `InvalidOptionError` for an invalid name, subject, queue group or metadata, and
   * `InvalidOperationError` when the service is stopped.
   */
  addEndpoint(name: string, opts?: EndpointOptions | ServiceHandler): ServiceEndpoint {
    const o: EndpointOptions = typeof opts === 'function' ? { handler: opts } : (opts ?? {});
    checkName('endpoint', name);
    if (o.subject !== undefined && typeof o.subject !== 'string') {
      throw new InvalidOptionError('endpoint subject must be a string');
    }
    const queue =
      checkQueueGroup('endpoint', o.queueGroup) ?? this.queueGroup ?? DEFAULT_SERVICE_QUEUE_GROUP;
    return this.host.createEndpoint({
      name,
      subject: checkEndpointSubject(join(this.prefix, o.subject ?? name)),
      queueGroup: queue === false ? undefined : queue,
      metadata: checkMetadata('endpoint', o.metadata),
      handler: checkHandler(o.handler),
    });
  }

  /**
   * A nested group under `<this prefix>.<prefix>`. The second argument is its default queue
   * group (or options holding it); without one it inherits this group's. Throws
   * `InvalidOptionError` for a prefix containing `>` or an invalid queue group.
   */
  addGroup(prefix: string, opts?: GroupOptions | QueueGroupSetting): ServiceGroup {
    const o: GroupOptions =
      typeof opts === 'string' || opts === false ? { queueGroup: opts } : (opts ?? {});
    const own = checkGroupPrefix(prefix);
    const queue = checkQueueGroup('group', o.queueGroup) ?? this.queueGroup;
    const full = own === '' ? this.prefix : join(this.prefix, own);
    return new ServiceGroup(this.host, full, queue);
  }
}
