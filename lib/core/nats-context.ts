// `connect({ context })`: the settings of a `nats` CLI context (natscli / jsm.go natscontext),
// read from `$XDG_CONFIG_HOME/nats/context/<name>.json`. Error messages name files and fields,
// never a value read from them: a context holds passwords, tokens and seeds.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { InvalidOptionError } from './errors.js';
import type { ConnectOptions, TlsOptions } from './options.js';
import type { CredentialSupplier } from './auth/suppliers.js';

/** The JetStream settings of a context: the defaults of `nc.jetstream()` and the manager. */
export interface ContextJetStream {
  domain?: string;
  apiPrefix?: string;
}

/** What a context gives `connect()`: the merged options, and the JetStream defaults. */
export interface ContextSettings {
  options: ConnectOptions;
  jetstream: ContextJetStream;
}

// The fields of a context this client has no equivalent for; a context that sets one is refused
// rather than connected without it.
const UNSUPPORTED = [
  'nsc',
  'socks_proxy',
  'windows_cert_store',
  'windows_cert_match_by',
  'windows_cert_match',
  'windows_ca_certs_match',
] as const;

const CREDENTIAL_OPTIONS = [
  'user',
  'pass',
  'token',
  'nkeySeed',
  'credsFile',
  'creds',
  'authenticator',
] as const;

/** The directory the CLI keeps its settings in: `$XDG_CONFIG_HOME/nats` or `~/.config/nats`. */
export function natsConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_CONFIG_HOME'];
  return join(xdg !== undefined && xdg !== '' ? xdg : join(homedir(), '.config'), 'nats');
}

/**
 * The settings of `opts.context` merged under `opts` (options given to `connect()` win), or
 * undefined without a context. Rejects with `InvalidOptionError` naming the file looked in.
 */
export async function loadContext(
  opts: ConnectOptions | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ContextSettings | undefined> {
  if (typeof opts !== 'object' || opts === null || opts.context === undefined) return undefined;
  const { name, path } = locate(opts.context, env);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new InvalidOptionError(
      code === 'ENOENT'
        ? `nats context ${JSON.stringify(name)} not found: ${path} does not exist`
        : `cannot read nats context ${JSON.stringify(name)} from ${path}: ${code}`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    // The parser's message quotes the text around the fault, which may be a secret.
    const at = /position (\d+)/.exec((err as Error).message)?.[1];
    throw new InvalidOptionError(
      `nats context ${JSON.stringify(name)} (${path}) is not valid JSON` +
        (at === undefined ? '' : ` (at position ${at})`),
    );
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new InvalidOptionError(`nats context ${JSON.stringify(name)} (${path}) is not an object`);
  return merge(opts, new ContextFields(raw as Record<string, unknown>, name, path, env));
}

/** The context's name and file: a name, a path to a `.json` file, or `true` for the selected one. */
function locate(context: string | true, env: NodeJS.ProcessEnv): { name: string; path: string } {
  let name: string;
  if (context === true) {
    name = env['NATS_CONTEXT'] ?? '';
    if (name === '') name = selectedContext(env);
  } else if (typeof context === 'string' && context.trim() !== '') {
    name = context.trim();
  } else {
    throw new InvalidOptionError('option context must be a context name, or true');
  }
  if (name.endsWith('.json') || name.includes('/') || name.includes('\\'))
    return { name, path: isAbsolute(name) ? name : resolve(name) };
  if (name === '.' || name === '..')
    throw new InvalidOptionError(`${JSON.stringify(name)} is not a nats context name`);
  return { name, path: join(natsConfigDir(env), 'context', `${name}.json`) };
}

/** The name the CLI's `nats context select` wrote to `context.txt`. */
function selectedContext(env: NodeJS.ProcessEnv): string {
  const file = join(natsConfigDir(env), 'context.txt');
  let name = '';
  try {
    name = readFileSync(file, 'utf8').trim();
  } catch {
    // No selection: reported below.
  }
  if (name === '')
    throw new InvalidOptionError(
      `option context is true but no nats context is selected: NATS_CONTEXT is not set and ${file} names none`,
    );
  return name;
}

/** The string fields of a context, with paths expanded and secret references resolved. */
class ContextFields {
  constructor(
    private readonly raw: Record<string, unknown>,
    readonly name: string,
    readonly path: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    for (const field of UNSUPPORTED) {
      const v = raw[field];
      if (v !== undefined && v !== '' && v !== null && !(Array.isArray(v) && v.length === 0))
        throw this.invalid(field, 'is not supported by this client');
    }
  }

  invalid(field: string, problem: string): InvalidOptionError {
    return new InvalidOptionError(
      `nats context ${JSON.stringify(this.name)} (${this.path}): ${field} ${problem}`,
    );
  }

  /** A string field; '' and absent are the same, as in the CLI. */
  text(field: string): string | undefined {
    const v = this.raw[field];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw this.invalid(field, 'must be a string');
    return v;
  }

  flag(field: string): boolean {
    const v = this.raw[field];
    if (v === undefined || v === null) return false;
    if (typeof v !== 'boolean') throw this.invalid(field, 'must be true or false');
    return v;
  }

  /** A path field: `~` and `$VAR` expanded, a `file://` prefix dropped; other schemes refused. */
  file(field: string): string | undefined {
    const v = this.text(field);
    if (v === undefined) return undefined;
    const scheme = schemeOf(v);
    if (scheme !== undefined && scheme !== 'file')
      throw this.invalid(field, `uses ${scheme}://, but only a file path is supported here`);
    return this.expand(v.replace(/^file:\/\//i, ''));
  }

  /**
   * A secret field: a literal, or a reference the CLI resolves at connect time (`env://NAME`,
   * `file://path`, `data:;base64,...`), which becomes a supplier read on every connect.
   */
  secret(field: string): string | CredentialSupplier | undefined {
    const v = this.text(field);
    if (v === undefined) return undefined;
    const scheme = schemeOf(v);
    if (scheme === undefined) return v;
    if (scheme === 'env') {
      const variable = v.slice('env://'.length);
      return () => {
        const value = this.env[variable];
        if (value === undefined || value === '')
          throw this.invalid(field, `names the environment variable ${variable}, which is not set`);
        return value;
      };
    }
    if (scheme === 'file') {
      const file = this.expand(v.slice('file://'.length));
      return async () => (await readFile(file, 'utf8')).replace(/[\r\n]+$/, '');
    }
    if (scheme === 'data') {
      const comma = v.indexOf(',');
      if (comma < 0 || !/;\s*base64\s*(;|$)/i.test(v.slice(0, comma)))
        throw this.invalid(field, 'is a data: reference without ";base64,"');
      const decoded = Buffer.from(v.slice(comma + 1), 'base64').toString('utf8');
      return decoded.replace(/[\r\n]+$/, '');
    }
    throw this.invalid(field, `uses ${scheme}://, which this client cannot resolve`);
  }

  /** `~` and `$VAR` / `${VAR}` expanded as the CLI does; relative paths stay relative. */
  private expand(path: string): string {
    const expanded = path.replace(
      /\$\{(\w+)\}|\$(\w+)/g,
      (_m, a?: string, b?: string) => this.env[(a ?? b) as string] ?? '',
    );
    return expanded.startsWith('~') ? homedir() + expanded.slice(1) : expanded;
  }
}

/** `env`, `file`, `data`, `op`... for a reference, undefined for a literal (or a Windows path). */
function schemeOf(v: string): string | undefined {
  const m = /^([a-z][a-z0-9+.-]+):/i.exec(v);
  if (!m) return undefined;
  const scheme = m[1].toLowerCase();
  return scheme === 'data' || v.slice(m[0].length).startsWith('//') ? scheme : undefined;
}

/** The context's settings under the user's options: what `connect()` was given wins. */
function merge(opts: ConnectOptions, ctx: ContextFields): ContextSettings {
  const out: ConnectOptions = { ...opts };
  delete out.context;
  const url = ctx.text('url');
  if (out.servers === undefined && url !== undefined)
    out.servers = url
      .split(',')
      .map((u) => u.trim())
      .filter((u) => u !== '');
  const inbox = ctx.text('inbox_prefix');
  if (out.inboxPrefix === undefined && inbox !== undefined) out.inboxPrefix = inbox;
  if (!CREDENTIAL_OPTIONS.some((k) => opts[k] !== undefined)) Object.assign(out, credentials(ctx));
  const tls = tlsSettings(ctx);
  if (tls !== undefined && out.tls !== false) {
    out.tls = typeof out.tls === 'object' ? { ...tls, ...out.tls } : tls;
  }
  const jetstream: ContextJetStream = {};
  const domain = ctx.text('jetstream_domain');
  const apiPrefix = ctx.text('jetstream_api_prefix');
  if (domain !== undefined) jetstream.domain = domain;
  if (apiPrefix !== undefined) jetstream.apiPrefix = apiPrefix;
  return { options: out, jetstream };
}

/**
 * The context's credentials, in the CLI's order: user and password, a creds file, an nkey seed
 * file, a user JWT with its seed; a token goes alone (this client sends one kind at a time).
 */
function credentials(ctx: ContextFields): ConnectOptions {
  const user = ctx.text('user');
  const creds = ctx.text('creds');
  const nkey = ctx.text('nkey');
  const jwt = ctx.secret('user_jwt');
  const token = ctx.secret('token');
  const kinds = [user, creds, nkey, jwt].filter((v) => v !== undefined).length;
  if (token !== undefined && kinds > 0)
    throw ctx.invalid('token', 'is set together with other credentials; keep one kind');
  if (user !== undefined) return { user, pass: ctx.secret('password') ?? '' };
  if (creds !== undefined) {
    const scheme = schemeOf(creds);
    if (scheme === undefined || scheme === 'file') return { credsFile: ctx.file('creds') };
    return { creds: ctx.secret('creds') };
  }
  if (nkey !== undefined) return { nkeySeed: seedOf(ctx.secret('nkey') ?? nkey, ctx) };
  if (jwt !== undefined) {
    const seed = ctx.secret('user_seed');
    if (seed === undefined)
      throw ctx.invalid('user_jwt', 'needs user_seed: a bare JWT cannot sign the server nonce');
    return { creds: async () => credsText(await value(jwt), await value(seed)) };
  }
  return token !== undefined ? { token } : {};
}

/** An nkey field names a seed file (bare path, `file://`) or references the seed itself. */
function seedOf(ref: string | CredentialSupplier, ctx: ContextFields): CredentialSupplier {
  const raw = ctx.text('nkey') as string;
  const scheme = schemeOf(raw);
  const read: CredentialSupplier =
    scheme === undefined || scheme === 'file'
      ? async () => readFile(ctx.file('nkey') as string, 'utf8')
      : async () => value(ref);
  return async () => {
    const text = await read();
    const lines = text.split(/\r?\n/).map((l) => l.trim());
    return lines.find((l) => /^S[UAO][A-Z2-7]+$/.test(l)) ?? text.trim();
  };
}

function value(v: string | CredentialSupplier): string | Promise<string> {
  return typeof v === 'function' ? v() : v;
}

/** A creds file's text from a JWT and seed, which `parseCreds` reads. */
function credsText(jwt: string, seed: string): string {
  return [
    '-----BEGIN NATS USER JWT-----',
    jwt,
    '------END NATS USER JWT------',
    '-----BEGIN USER NKEY SEED-----',
    seed,
    '------END USER NKEY SEED------',
  ].join('\n');
}

/** TLS files and TLS-first from the context, or undefined when it sets none. */
function tlsSettings(ctx: ContextFields): TlsOptions | undefined {
  const tls: TlsOptions = {};
  const certFile = ctx.file('cert');
  const keyFile = ctx.file('key');
  const caFile = ctx.file('ca');
  if ((certFile === undefined) !== (keyFile === undefined))
    throw ctx.invalid(certFile ? 'cert' : 'key', 'needs the other of cert and key');
  if (certFile !== undefined) tls.certFile = certFile;
  if (keyFile !== undefined) tls.keyFile = keyFile;
  if (caFile !== undefined) tls.caFile = caFile;
  if (ctx.flag('tls_first')) tls.handshakeFirst = true;
  return Object.keys(tls).length > 0 ? tls : undefined;
}

const jetstreamDefaults = new WeakMap<object, ContextJetStream>();

/** Called by `connect()` for a connection made from a context. */
export function registerContextJetStream(nc: object, js: ContextJetStream): void {
  if (js.domain !== undefined || js.apiPrefix !== undefined) jetstreamDefaults.set(nc, js);
}

/** The JetStream domain and API prefix of the context `nc` was made from, if it set any. */
export function contextJetStream(nc: object): ContextJetStream | undefined {
  return jetstreamDefaults.get(nc);
}
