import { readFile } from 'node:fs/promises';
import { InvalidOptionError } from '../errors.js';
import type { AuthCredentials, ConnectOptions } from '../options.js';
import type { ServerEntry } from '../servers.js';
import { parseCreds } from './creds.js';
import { publicKeyFromSeed, signNonce } from './nkeys.js';

/**
 * The credential fields of CONNECT for this attempt: options win over credentials in the URL.
 * Seeds are read and used here only; nothing derived from a secret is kept or logged.
 */
export async function credentialFields(
  opts: ConnectOptions,
  server: ServerEntry,
  nonce: string | undefined,
): Promise<AuthCredentials> {
  if (opts.authenticator) return opts.authenticator(nonce);
  if (opts.nkeySeed) {
    if (!nonce)
      throw new InvalidOptionError(
        'nkey authentication needs a server nonce, but the server sent none',
      );
    return { nkey: publicKeyFromSeed(opts.nkeySeed), sig: signNonce(opts.nkeySeed, nonce) };
  }
  if (opts.credsFile !== undefined || opts.creds !== undefined) {
    const text = opts.creds ?? (await readCredsFile(opts.credsFile as string));
    const { jwt, seed } = parseCreds(text);
    if (!nonce)
      throw new InvalidOptionError(
        'JWT authentication needs a server nonce, but the server sent none',
      );
    return { jwt, sig: signNonce(seed, nonce) };
  }
  if (opts.token !== undefined) return { auth_token: opts.token };
  if (opts.user !== undefined) return { user: opts.user, pass: opts.pass };
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
