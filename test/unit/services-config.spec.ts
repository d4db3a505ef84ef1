// Service API config validation, queue group resolution and subject composition (no network).
import { InvalidOptionError } from '../../lib/core/errors.js';
import type { EndpointDefinition, ServiceEndpoint } from '../../lib/services/endpoint.js';
import { ServiceGroup } from '../../lib/services/group.js';
import type { ServiceConfig } from '../../lib/services/types.js';
import { normalizeServiceConfig } from '../../lib/services/validate.js';

function config(overrides: Partial<ServiceConfig>): ServiceConfig {
  return { name: 'calc', version: '1.0.0', ...overrides };
}

function invalid(overrides: Partial<ServiceConfig>): InvalidOptionError {
  try {
    normalizeServiceConfig(config(overrides));
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionError);
    return err as InvalidOptionError;
  }
  throw new Error('expected the config to be rejected');
}

/** A root group whose endpoints are recorded instead of subscribed. */
function recordingRoot(queueGroup?: string | false): {
  root: ServiceGroup;
  defs: EndpointDefinition[];
} {
  const defs: EndpointDefinition[] = [];
  const host = {
    createEndpoint(def: EndpointDefinition): ServiceEndpoint {
      defs.push(def);
      return def as unknown as ServiceEndpoint;
    },
  };
  return { root: new ServiceGroup(host, '', queueGroup), defs };
}

describe('service config validation', () => {
  it('accepts a minimal config and applies the defaults', () => {
    const c = normalizeServiceConfig(config({}));
    expect(c).toMatchObject({ name: 'calc', version: '1.0.0', description: '', metadata: {} });
    expect(c.queueGroup).toBeUndefined();
  });

  it.each(['calc', 'Calc_2', 'a-b', 'X', '0'])('accepts the name %j', (name) => {
    expect(normalizeServiceConfig(config({ name })).name).toBe(name);
  });

  it.each(['', 'a b', 'a.b', 'a*', 'a>', 'ünïcode', 'a/b', 'a:b'])(
    'rejects the name %j',
    (name) => {
      expect(invalid({ name }).message).toMatch(/service name/);
    },
  );

  it.each([
    '0.0.0',
    '1.0.0',
    '10.20.30',
    '1.2.3-rc.1+build.5',
    '1.0.0-alpha',
    '1.0.0+meta',
    '1.0.0-0.3.7',
  ])('accepts the SemVer version %j', (version) => {
    expect(normalizeServiceConfig(config({ version })).version).toBe(version);
  });

  it.each([
    '',
    '1',
    '1.0',
    'v1.0.0',
    '01.0.0',
    '1.0.0-',
    '1.0.0-01',
    '1.0.0+',
    '1.0.0.0',
    ' 1.0.0',
  ])('rejects the version %j with a clear message', (version) => {
    expect(invalid({ version }).message).toMatch(/version/);
  });

  it('freezes a copy of the metadata', () => {
    const metadata = { region: 'eu' };
    const c = normalizeServiceConfig(config({ metadata }));
    metadata.region = 'us';
    expect(c.metadata).toEqual({ region: 'eu' });
    expect(Object.isFrozen(c.metadata)).toBe(true);
  });

  it('rejects reserved, empty and non-string metadata', () => {
    expect(invalid({ metadata: { _nats_x: 'y' } }).message).toMatch(/reserved/);
    expect(invalid({ metadata: { '': 'y' } }).message).toMatch(/empty/);
    expect(invalid({ metadata: { n: 1 } as unknown as Record<string, string> }).message).toMatch(
      /must be a string/,
    );
    expect(invalid({ metadata: ['a'] as unknown as Record<string, string> }).message).toMatch(
      /object of strings/,
    );
  });

  it('validates the queue group: no spaces, > only last; false and "" disable it', () => {
    expect(normalizeServiceConfig(config({ queueGroup: 'workers' })).queueGroup).toBe('workers');
    expect(normalizeServiceConfig(config({ queueGroup: 'w>' })).queueGroup).toBe('w>');
    expect(normalizeServiceConfig(config({ queueGroup: false })).queueGroup).toBe(false);
    expect(normalizeServiceConfig(config({ queueGroup: '' })).queueGroup).toBe(false);
    expect(invalid({ queueGroup: 'a b' }).message).toMatch(/queue group/);
    expect(invalid({ queueGroup: 'a>b' }).message).toMatch(/queue group/);
  });

  it('rejects a non-string description and a non-function statsHandler', () => {
    expect(invalid({ description: 5 as unknown as string }).message).toMatch(/description/);
    expect(invalid({ statsHandler: 'x' as unknown as () => unknown }).message).toMatch(
      /statsHandler/,
    );
  });
});

describe('groups and endpoints', () => {
  const handler = (): void => undefined;

  it('uses the name as subject and q as the default queue group', () => {
    const { root, defs } = recordingRoot();
    root.addEndpoint('add', handler);
    expect(defs[0]).toMatchObject({ name: 'add', subject: 'add', queueGroup: 'q' });
  });

  it('nests group prefixes in front of the endpoint subject', () => {
    const { root, defs } = recordingRoot();
    const math = root.addGroup('math');
    math.addEndpoint('add', { handler, subject: 'plus.*' });
    math.addGroup('v2.int').addEndpoint('mul', handler);
    root.addGroup('').addEndpoint('top', handler);
    expect(defs.map((d) => d.subject)).toEqual(['math.plus.*', 'math.v2.int.mul', 'top']);
  });

  it('resolves the queue group: endpoint, then group, then parent group, then service, then q', () => {
    const { root, defs } = recordingRoot('svc');
    root.addEndpoint('a', handler);
    const g = root.addGroup('g', { queueGroup: 'grp' });
    g.addEndpoint('b', handler);
    g.addEndpoint('c', { handler, queueGroup: 'ep' });
    g.addGroup('inner').addEndpoint('d', handler);
    g.addEndpoint('e', { handler, queueGroup: false });
    root.addGroup('nq', false).addEndpoint('f', handler);
    root.addGroup('off', { queueGroup: false }).addEndpoint('h', handler);
    expect(defs.map((d) => d.queueGroup)).toEqual([
      'svc',
      'grp',
      'ep',
      'grp',
      undefined,
      undefined,
      undefined,
    ]);
    const { root: plain, defs: plainDefs } = recordingRoot();
    plain.addGroup('g', 'workers').addEndpoint('x', handler);
    expect(plainDefs[0].queueGroup).toBe('workers');
  });

  it('freezes endpoint metadata and keeps the handler', () => {
    const { root, defs } = recordingRoot();
    root.addEndpoint('a', { handler, metadata: { k: 'v' } });
    expect(defs[0].metadata).toEqual({ k: 'v' });
    expect(Object.isFrozen(defs[0].metadata)).toBe(true);
    expect(defs[0].handler).toBe(handler);
  });

  it('allows an endpoint without a handler (iterated)', () => {
    const { root, defs } = recordingRoot();
    root.addEndpoint('it');
    expect(defs[0].handler).toBeUndefined();
  });

  it.each([
    ['an invalid endpoint name', () => recordingRoot().root.addEndpoint('a.b', handler)],
    [
      'a subject with > not last',
      () => recordingRoot().root.addEndpoint('a', { subject: 'x.>.y', handler }),
    ],
    [
      'a subject with a space',
      () => recordingRoot().root.addEndpoint('a', { subject: 'x y', handler }),
    ],
    ['an empty subject', () => recordingRoot().root.addEndpoint('a', { subject: '', handler })],
    [
      'a subject under $SRV',
      () => recordingRoot().root.addEndpoint('a', { subject: '$SRV.x', handler }),
    ],
    ['a group prefix with >', () => recordingRoot().root.addGroup('a.>')],
    ['a group prefix with an empty token', () => recordingRoot().root.addGroup('a..b')],
    ['a bad group queue group', () => recordingRoot().root.addGroup('a', { queueGroup: 'x y' })],
    [
      'a bad endpoint queue group',
      () => recordingRoot().root.addEndpoint('a', { handler, queueGroup: 'x y' }),
    ],
    [
      'a handler that is not a function',
      () => recordingRoot().root.addEndpoint('a', { handler: 'no' as unknown as () => void }),
    ],
    [
      'reserved endpoint metadata',
      () => recordingRoot().root.addEndpoint('a', { handler, metadata: { _nats: 'x' } }),
    ],
  ])('rejects %s with InvalidOptionError', (_what, fn) => {
    expect(fn).toThrow(InvalidOptionError);
  });
});
