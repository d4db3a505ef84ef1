// Parsing and comparing nats-server releases, and the one gate for newer-server features.
import { FeatureNotSupportedError } from '../../lib/core/index.js';
import {
  compareVersions,
  parseServerVersion,
  requireServer,
  serverAtLeast,
} from '../../lib/core/server-version.js';

const server = (version?: string) => ({ info: { version } });

describe('server versions', () => {
  it.each([
    ['2.9.10', { major: 2, minor: 9, patch: 10 }],
    ['2.14.10', { major: 2, minor: 14, patch: 10 }],
    ['2.12.0-RC.1', { major: 2, minor: 12, patch: 0 }],
    ['v2.11.3', { major: 2, minor: 11, patch: 3 }],
  ])('parses %s', (text, parts) => {
    expect(parseServerVersion(text)).toEqual({ ...parts, text });
  });

  it.each([undefined, '', 'unknown', '2.10', 'x2.10.1'])('does not parse %j', (text) => {
    expect(parseServerVersion(text)).toBeUndefined();
  });

  it('compares by numbers, not text, and counts a pre-release as its release', () => {
    expect(compareVersions('2.10.0', '2.9.10')).toBeGreaterThan(0);
    expect(compareVersions('2.9.10', '2.10.4')).toBeLessThan(0);
    expect(compareVersions('2.14.10', '2.14.10')).toBe(0);
    expect(compareVersions('2.12.0-RC.1', '2.12.0')).toBe(0);
    expect(compareVersions('3.0.0', '2.99.99')).toBeGreaterThan(0);
  });

  it('serverAtLeast() reads the connection INFO; an unknown version is 0.0.0', () => {
    expect(serverAtLeast(server('2.10.4'), '2.10.4')).toBe(true);
    expect(serverAtLeast(server('2.10.3'), '2.10.4')).toBe(false);
    expect(serverAtLeast(server(undefined), '2.9.0')).toBe(false);
  });

  it('requireServer() throws FeatureNotSupportedError naming feature and versions', () => {
    expect(() => requireServer(server('2.11.0'), '2.11.0', 'x')).not.toThrow();
    const run = () => requireServer(server('2.9.10'), '2.10.0', 'stream config "metadata"');
    expect(run).toThrow(FeatureNotSupportedError);
    expect(run).toThrow(
      'stream config "metadata" needs nats-server 2.10.0 or newer (connected to 2.9.10)',
    );
    try {
      run();
    } catch (err) {
      expect(err).toMatchObject({
        code: 'FEATURE_NOT_SUPPORTED',
        feature: 'stream config "metadata"',
        minVersion: '2.10.0',
        serverVersion: '2.9.10',
        name: 'FeatureNotSupportedError',
      });
    }
    expect(() => requireServer(server(undefined), '2.10.0', 'x')).toThrow(
      'x needs nats-server 2.10.0 or newer (connected to unknown)',
    );
  });
});
