import { readFile } from 'node:fs/promises';
import { CredentialSupplierError, InvalidOptionError } from '../errors.js';
import type { AuthCredentials, ConnectOptions } from '../options.js';
import type { ServerEntry } from '../servers.js';
import { parseCreds } from './creds.js';
import { publicKeyFromSeed, signNonce } from './nkeys.js';
import { describeThrown, supplied } from './suppliers.js';

/**
 * The credential fields of CONNECT for this attempt: options win over credentials in the URL.
 * Suppliers (options given as functions) and the creds file are read here, for every attempt.
 * Seeds are read and used here only; nothing derived from a secret is kept or logged.
 */
export async function credentialFields(
  opts: ConnectOptions,
  server: ServerEntry,
  nonce: string | undefined,
): Promise<AuthCredentials> {
  if (opts.authenticator) return fromAuthenticator(opts.authenticator, nonce);
  if (opts.nkeySeed) {
    const seed = await supplied('nkeySeed', opts.nkeySeed);
    if (!nonce)
      throw new InvalidOptionError(
        'nkey authentication needs a server nonce, but the server sent none',
      );
    return { nkey: publicKeyFromSeed(seed), sig: signNonce(seed, nonce) };
  }
  if (opts.credsFile !== undefined || opts.creds !== undefined) {
    const text =
      opts.creds !== undefined
        ? await supplied('creds', opts.creds)
        : await readCredsFile(opts.credsFile as string);
    const { jwt, seed } = parseCreds(text);
    if (!nonce)
      throw new InvalidOptionError(
        'JWT authentication needs a server nonce, but the server sent none',
      );
    return { jwt, sig: signNonce(seed, nonce) };
  }
  if (opts.token !== undefined) return { auth_token: await supplied('token', opts.token) };
  if (opts.user !== undefined) {
    const user = await supplied('user', opts.user);
    return { user, pass: await supplied('pass', opts.pass ?? '') };
  }
  if (server.token !== undefined) return { auth_token: server.token };
  if (server.user !== undefined) return { user: server.user, pass: server.pass ?? '' };
  return {};
}

async function readCredsFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new InvalidOptionError(
      `cannot read creds file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
}

const CREDENTIAL_FIELDS = ['user', 'pass', 'auth_token', 'nkey', 'sig', 'jwt'] as const;

/**
 * Calls the user's authenticator: a failure becomes a `CredentialSupplierError` that names no
 * secret (the original is its non-enumerable `supplierError`), and only the credential fields
 * of what it returns reach CONNECT, so it cannot change protocol fields such as `headers` or
 * `verbose` by accident.
 */
async function fromAuthenticator(
  authenticator: NonNullable<ConnectOptions['authenticator']>,
  nonce: string | undefined,
): Promise<AuthCredentials> {
  let got: unknown;
  try {
    got = await authenticator(nonce);
  } catch (err) {
    throw new CredentialSupplierError('authenticator', `threw ${describeThrown(err)}`, err);
  }
  const out: AuthCredentials = {};
  if (typeof got !== 'object' || got === null) return out;
  for (const field of CREDENTIAL_FIELDS) {
    const value = (got as Record<string, unknown>)[field];
    if (typeof value === 'string') out[field] = value;
  }
  return out;
}
