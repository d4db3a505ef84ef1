// Tolerant parser for NATS `.creds` files (spec §11). Error messages never echo file content,
// because the file holds a secret seed.
import { InvalidOptionError } from '../errors.js';

/** The credentials held by a creds file: the user JWT and the user's NKey seed. */
export interface Credentials {
  jwt: string;
  seed: string;
}

// A boundary line: 3+ dashes, any label, 3+ dashes (`-----BEGIN NATS USER JWT-----`).
const BOUNDARY = /^-{3,}.*-{3,}$/;
const SEED_LINE = /^S[UAO][A-Z2-7]+$/;
const JWT_SHAPE = /^[A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]+$/;

/** Collects the text of every block enclosed by a pair of dash boundary lines. */
function blocks(lines: string[]): string[] {
  const found: string[] = [];
  let current: string[] | undefined;
  for (const line of lines) {
    if (BOUNDARY.test(line)) {
      if (current) {
        found.push(current.join(''));
        current = undefined;
      } else {
        current = [];
      }
    } else if (current && line !== '') {
      current.push(line);
    }
  }
  return found;
}

/**
 * Parses the text of a creds file into `{ jwt, seed }`. The first dash-delimited block is the
 * JWT and the second the seed; when the seed block is missing, the first line starting with
 * `SU`, `SA` or `SO` is used. Throws `InvalidOptionError` when either part is missing.
 */
export function parseCreds(text: string): Credentials {
  const lines = text.split(/\r?\n|\r/).map((l) => l.trim());
  const found = blocks(lines);
  const jwt = found[0] ?? '';
  const seed = found[1] ?? lines.find((l) => SEED_LINE.test(l)) ?? '';
  if (jwt === '') throw new InvalidOptionError('creds: no JWT block found');
  if (!JWT_SHAPE.test(jwt)) throw new InvalidOptionError('creds: the JWT block is not a JWT');
  if (seed === '') throw new InvalidOptionError('creds: no NKey seed found');
  if (!SEED_LINE.test(seed))
    throw new InvalidOptionError('creds: the seed block is not an NKey seed');
  return { jwt, seed };
}
