// Builds operator/account/user JWTs for decentralized-auth tests, signed with our own nkeys code.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  PREFIX_ACCOUNT,
  PREFIX_OPERATOR,
  PREFIX_USER,
  base32Encode,
  createKeyPair,
  publicKeyFromSeed,
  signBytes,
} from '../../lib/core/auth/nkeys.js';
import { startServer, type NatsServerHandle, type StartServerOptions } from './nats-server.js';

/** An NKey pair plus the JWT that describes it. */
export interface JwtIdentity {
  seed: string;
  publicKey: string;
  jwt: string;
}

/** A user created for a JWT server, with its creds file. */
export interface JwtUser extends JwtIdentity {
  /** Text of the `.creds` file. */
  creds: string;
  /** Path of the `.creds` file (inside the server's temp dir). */
  credsFile: string;
}

/** Per-user options: permissions (`{ pub: { allow: [...] } }`…) and expiry (unix seconds). */
export interface JwtUserOptions {
  name?: string;
  pub?: { allow?: string[]; deny?: string[] };
  sub?: { allow?: string[]; deny?: string[] };
  expires?: number;
}

const b64url = (data: string | Uint8Array): string => Buffer.from(data).toString('base64url');
const HEADER = b64url(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }));

/**
 * Encodes and signs a JWT. `iat`, `iss` (the signer's public key) and `jti` (base32 of the
 * SHA-256 of the other claims) are filled in.
 */
export function encodeJwt(claims: Record<string, unknown>, issuerSeed: string): string {
  const body: Record<string, unknown> = {
    iat: Math.floor(Date.now() / 1000),
    iss: publicKeyFromSeed(issuerSeed),
    ...claims,
  };
  body['jti'] = base32Encode(createHash('sha256').update(JSON.stringify(body)).digest());
  const signingInput = `${HEADER}.${b64url(JSON.stringify(body))}`;
  return `${signingInput}.${b64url(signBytes(issuerSeed, Buffer.from(signingInput)))}`;
}

/** Formats a creds file exactly as `nsc` does. */
export function formatCreds(jwt: string, seed: string): string {
  return [
    '-----BEGIN NATS USER JWT-----',
    jwt,
    '------END NATS USER JWT------',
    '',
    '************************* IMPORTANT *************************',
    'NKEY Seed printed below can be used to sign and prove identity.',
    'NKEYs are sensitive and should be treated as secrets.',
    '',
    '-----BEGIN USER NKEY SEED-----',
    seed,
    '------END USER NKEY SEED------',
    '',
    '*************************************************************',
    '',
  ].join('\n');
}

const identity = (seed: string): { seed: string; publicKey: string } => ({
  seed,
  publicKey: publicKeyFromSeed(seed),
});

/** Creates an operator (self-signed JWT); pass `seed` to re-issue the JWT of an existing one. */
export function createOperator(
  opts: { name?: string; systemAccount?: string; seed?: string } = {},
): JwtIdentity {
  const kp = opts.seed ? identity(opts.seed) : createKeyPair(PREFIX_OPERATOR);
  const nats: Record<string, unknown> = { type: 'operator', version: 2 };
  if (opts.systemAccount) nats['system_account'] = opts.systemAccount;
  const claims = { sub: kp.publicKey, name: opts.name ?? 'test-operator', nats };
  return { ...kp, jwt: encodeJwt(claims, kp.seed) };
}

/** Creates an account signed by the operator seed, with no limits (JetStream on if asked). */
export function createAccount(
  operatorSeed: string,
  opts: { name?: string; jetstream?: boolean } = {},
): JwtIdentity {
  const kp = createKeyPair(PREFIX_ACCOUNT);
  const js = opts.jetstream ? -1 : 0;
  const limits = {
    ...{ subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1 },
    ...{ leaf: -1, mem_storage: js, disk_storage: js, streams: js, consumer: js },
  };
  const nats = { limits, default_permissions: { pub: {}, sub: {} }, type: 'account', version: 2 };
  const claims = { sub: kp.publicKey, name: opts.name ?? 'test-account', nats };
  return { ...kp, jwt: encodeJwt(claims, operatorSeed) };
}

/** Creates a user signed by the account seed. */
export function createUser(accountSeed: string, opts: JwtUserOptions = {}): JwtIdentity {
  const kp = createKeyPair(PREFIX_USER);
  const nats = {
    ...{ pub: opts.pub ?? {}, sub: opts.sub ?? {}, subs: -1, data: -1, payload: -1 },
    ...{ type: 'user', version: 2 },
  };
  const claims: Record<string, unknown> = {
    sub: kp.publicKey,
    name: opts.name ?? 'test-user',
    nats,
  };
  if (opts.expires !== undefined) claims['exp'] = opts.expires;
  return { ...kp, jwt: encodeJwt(claims, accountSeed) };
}

/** A server in operator mode with one account and one user. */
export interface JwtServer {
  server: NatsServerHandle;
  operator: JwtIdentity;
  account: JwtIdentity;
  /** The system account (required by 2.9.10 for JetStream in operator mode). */
  system: JwtIdentity;
  user: JwtUser;
  /** Creates (and writes the creds file of) another user of the same account. */
  addUser(opts?: JwtUserOptions): JwtUser;
}

/**
 * Starts a server with decentralized JWT auth: `operator` + `resolver: MEMORY` with the account
 * preloaded. Accepts the usual server options (`jetstream: true` also enables it for the account).
 */
export async function startJwtServer(opts: StartServerOptions = {}): Promise<JwtServer> {
  // 2.9.10 refuses to start JetStream in operator mode without a system account.
  const operatorKeys = createKeyPair(PREFIX_OPERATOR);
  const system = createAccount(operatorKeys.seed, { name: 'SYS' });
  const operator = createOperator({ seed: operatorKeys.seed, systemAccount: system.publicKey });
  const account = createAccount(operator.seed, { jetstream: opts.jetstream === true });
  const preload = [system, account].map((a) => `  ${a.publicKey}: ${JSON.stringify(a.jwt)}`);
  const config = [
    `operator: ${JSON.stringify(operator.jwt)}`,
    `system_account: ${system.publicKey}`,
    'resolver: MEMORY',
    'resolver_preload: {',
    ...preload,
    '}',
    opts.config ?? '',
  ].join('\n');
  const server = await startServer({ ...opts, config });
  let count = 0;
  const addUser = (userOpts: JwtUserOptions = {}): JwtUser => {
    const user = createUser(account.seed, userOpts);
    const creds = formatCreds(user.jwt, user.seed);
    const credsFile = join(server.dir, `user-${++count}.creds`);
    writeFileSync(credsFile, creds, { mode: 0o600 });
    return { ...user, creds, credsFile };
  };
  return { server, operator, account, system, user: addUser(), addUser };
}
