import { InvalidOptionError } from '../errors.js';

/** A header map given to `publish()`: a `MsgHeaders` or a plain `{ name: value | value[] }`. */
export type HeadersInit = MsgHeaders | Record<string, string | string[]>;

const VERSION = 'NATS/1.0';
const CRLF = '\r\n';

/**
 * NATS message headers: names keep the case they were given and are matched case-insensitively;
 * a name may carry several values, kept in insertion order. Status messages expose `status` and
 * `description` from the version line (`NATS/1.0 503`, `NATS/1.0 404 No Messages`).
 */
export class MsgHeaders implements Iterable<[string, string[]]> {
  /** The status code of a status message (for example 503, 408, 100), or 0. */
  status = 0;
  /** The description that follows the status code, or ''. */
  description = '';
  // Keyed by lower-cased name so lookups are case-insensitive; the entry keeps the original case.
  private readonly entries = new Map<string, { name: string; values: string[] }>();

  constructor(init?: Record<string, string | string[]>) {
    if (init) for (const name of Object.keys(init)) this.set(name, init[name]);
  }

  /** The first value of `name`, or undefined. */
  get(name: string): string | undefined {
    return this.entries.get(name.toLowerCase())?.values[0];
  }

  /** All values of `name`, in order (empty when absent). */
  getAll(name: string): string[] {
    return this.entries.get(name.toLowerCase())?.values.slice() ?? [];
  }

  /** True when a header of this name (any case) is present. */
  has(name: string): boolean {
    return this.entries.has(name.toLowerCase());
  }

  /** Replaces every value of `name`. Throws `InvalidOptionError` for an invalid name or value. */
  set(name: string, value: string | string[]): this {
    const values = (Array.isArray(value) ? value : [value]).map((v) => checkValue(name, v));
    this.entries.set(checkName(name).toLowerCase(), { name, values });
    return this;
  }

  /** Adds a value to `name`, keeping the existing ones. */
  append(name: string, value: string): this {
    const key = checkName(name).toLowerCase();
    const entry = this.entries.get(key);
    if (entry) entry.values.push(checkValue(name, value));
    else this.entries.set(key, { name, values: [checkValue(name, value)] });
    return this;
  }

  /** Removes every value of the header (any case); true when it was present. */
  delete(name: string): boolean {
    return this.entries.delete(name.toLowerCase());
  }

  /** The header names as they were first given. */
  keys(): string[] {
    return [...this.entries.values()].map((e) => e.name);
  }

  /** How many distinct header names there are. */
  get size(): number {
    return this.entries.size;
  }

  /** Each header as `[name, values]`, in the order the names were added. */
  *[Symbol.iterator](): Iterator<[string, string[]]> {
    for (const e of this.entries.values()) yield [e.name, e.values.slice()];
  }

  /** A plain object `{ name: values[] }`, handy for logging and JSON. */
  toJSON(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const e of this.entries.values()) out[e.name] = e.values.slice();
    return out;
  }

  /** The wire form: the `NATS/1.0` line, one line per value, and the blank line. */
  encode(): Uint8Array {
    let text = VERSION;
    if (this.status) text += ` ${this.status}${this.description ? ' ' + this.description : ''}`;
    text += CRLF;
    for (const e of this.entries.values()) {
      for (const v of e.values) text += `${e.name}: ${v}${CRLF}`;
    }
    return Buffer.from(text + CRLF, 'utf8');
  }

  /** Parses a header block (as found at the start of an HMSG payload). Lenient on lines it cannot read. */
  static decode(block: Uint8Array): MsgHeaders {
    const text = Buffer.from(block.buffer, block.byteOffset, block.byteLength).toString('utf8');
    const h = new MsgHeaders();
    const lines = text.split(CRLF);
    const first = lines[0] ?? '';
    if (first.startsWith(VERSION)) {
      const rest = first.slice(VERSION.length).trim();
      if (rest.length >= 3) {
        const code = Number.parseInt(rest.slice(0, 3), 10);
        if (Number.isFinite(code)) h.status = code;
        h.description = rest.slice(3).trim();
      }
    }
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i];
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon);
      if (/\s/.test(name)) continue;
      const value = line.slice(colon + 1).replace(/^[ \t]+/, '');
      const key = name.toLowerCase();
      const entry = h.entries.get(key);
      if (entry) entry.values.push(value);
      else h.entries.set(key, { name, values: [value] });
    }
    return h;
  }

  /** Normalises the `headers` option of publish/request into a `MsgHeaders`. */
  static from(init: HeadersInit): MsgHeaders {
    return init instanceof MsgHeaders ? init : new MsgHeaders(init);
  }
}

/**
 * A new `MsgHeaders` with the entries of `init` (empty when undefined): headers a layer adds to
 * must not change the ones its caller passed and may reuse.
 */
export function copyHeaders(init: HeadersInit | undefined): MsgHeaders {
  const copy = new MsgHeaders();
  if (init === undefined) return copy;
  for (const [name, values] of MsgHeaders.from(init)) copy.set(name, values);
  return copy;
}

function checkName(name: string): string {
  if (typeof name !== 'string' || name.length === 0 || !/^[\x21-\x39\x3b-\x7e]+$/.test(name)) {
    throw new InvalidOptionError(
      `invalid header name ${JSON.stringify(name)}: printable ASCII without ':' or spaces`,
    );
  }
  return name;
}

function checkValue(name: string, value: string): string {
  if (typeof value !== 'string')
    throw new InvalidOptionError(`header ${name}: value must be a string`);
  if (value.includes('\r') || value.includes('\n')) {
    throw new InvalidOptionError(`header ${name}: value must not contain CR or LF`);
  }
  return value;
}
