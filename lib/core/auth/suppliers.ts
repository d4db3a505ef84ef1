// Credential options given as functions: called on every connect and reconnect, so credentials
// that rotate (a token from a vault, a creds file re-issued) are read fresh each time. Nothing a
// supplier returns or throws reaches an error message: it may be the secret itself.
import { CredentialSupplierError, InvalidOptionError, NatsError } from '../errors.js';

/**
 * A credential given as a function instead of a value: called, and awaited, before every
 * connect and reconnect, so rotating credentials work. It must return a string; a throw, a
 * rejection or another type fails the attempt with `CredentialSupplierError`.
 */
export type CredentialSupplier = () => string | Promise<string>;

/** The credential options that take a value or a `CredentialSupplier`. */
export const SUPPLIED_OPTIONS = ['token', 'user', 'pass', 'creds', 'nkeySeed'] as const;
export type SuppliedOption = (typeof SUPPLIED_OPTIONS)[number];

// An empty token, creds text or seed is a mistake that would otherwise connect without
// credentials; an empty user name or password is something a server can be configured with.
const MAY_BE_EMPTY: ReadonlySet<SuppliedOption> = new Set(['user', 'pass']);

/** Refuses a supplied option that is neither a string nor a function (at `connect()`). */
export function checkSuppliedOption(option: SuppliedOption, value: unknown): void {
  if (value === undefined || typeof value === 'function') return;
  if (typeof value !== 'string')
    throw new InvalidOptionError(
      `option ${option} must be a string or a function returning one, not ${describeType(value)}`,
    );
  if (value === '' && !MAY_BE_EMPTY.has(option))
    throw new InvalidOptionError(`option ${option} must not be empty`);
}

/** The value of a supplied option for this attempt: the string, or what its supplier returns. */
export async function supplied(
  option: SuppliedOption,
  value: string | CredentialSupplier,
): Promise<string> {
  if (typeof value !== 'function') return value;
  let got: unknown;
  try {
    got = await value();
  } catch (err) {
    throw new CredentialSupplierError(option, `threw ${describeThrown(err)}`, err);
  }
  if (typeof got !== 'string')
    throw new CredentialSupplierError(option, `returned ${describeType(got)}, not a string`);
  if (got === '' && !MAY_BE_EMPTY.has(option))
    throw new CredentialSupplierError(option, 'returned an empty string');
  return got;
}

/**
 * What was thrown, by kind only (`an error (TypeError)`, `a string`); the message too for this
 * library's own errors, which never hold a secret (a context's `env://` naming an unset variable).
 */
export function describeThrown(err: unknown): string {
  if (err instanceof NatsError) return `${err.name}: ${err.message}`;
  return err instanceof Error ? `an error (${err.name})` : describeType(err);
}

function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return 'an array';
  const t = typeof v;
  return t === 'object' ? 'an object' : `a ${t}`;
}
