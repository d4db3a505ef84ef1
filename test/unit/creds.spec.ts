import { parseCreds } from '../../lib/core/auth/creds.js';
import { PREFIX_USER, createKeyPair } from '../../lib/core/auth/nkeys.js';
import { InvalidOptionError } from '../../lib/core/errors.js';
import { formatCreds } from '../support/jwt.js';

const JWT = 'eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJVQUJDIn0.c2lnbmF0dXJl';
const { seed: SEED } = createKeyPair(PREFIX_USER);

describe('parseCreds', () => {
  it('parses the standard nsc layout', () => {
    expect(parseCreds(formatCreds(JWT, SEED))).toEqual({ jwt: JWT, seed: SEED });
  });

  it('handles CRLF line endings, indentation and short dash runs', () => {
    const text = `  ---BEGIN JWT---\r\n  ${JWT}  \r\n---END---\r\n\r\n---SEED---\r\n${SEED}\r\n---\r\n`;
    expect(parseCreds(text)).toEqual({ jwt: JWT, seed: SEED });
  });

  it('falls back to the first SU line when the seed block is missing', () => {
    const text = `-----BEGIN NATS USER JWT-----\n${JWT}\n------END NATS USER JWT------\n\n${SEED}\n`;
    expect(parseCreds(text)).toEqual({ jwt: JWT, seed: SEED });
  });

  it('throws InvalidOptionError without echoing the content', () => {
    for (const text of [`just the seed\n${SEED}\n`, `---A---\nnot a jwt\n---B---\n${SEED}`, '']) {
      try {
        parseCreds(text);
        throw new Error('expected parseCreds to throw');
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidOptionError);
        expect((err as Error).message).not.toContain(SEED);
      }
    }
    const noSeed = `-----BEGIN NATS USER JWT-----\n${JWT}\n------END NATS USER JWT------\n`;
    expect(() => parseCreds(noSeed)).toThrow(/no NKey seed/);
  });
});
