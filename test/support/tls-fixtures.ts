// Test certificates generated with the `openssl` CLI at test time (nothing secret is committed).
// Generated once per process into a temp dir that the reaper removes when the process exits.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { perProcess, watchTempDir } from './reaper.js';

const run = promisify(execFile);

/** Paths of the generated PEM files. */
export interface TlsFixtures {
  dir: string;
  /** CA that signed the server and client certificates. */
  caFile: string;
  /** Server certificate for `localhost` and IP 127.0.0.1. */
  certFile: string;
  keyFile: string;
  /** Client certificate (CN `nats-test-client`) signed by the same CA. */
  clientCertFile: string;
  clientKeyFile: string;
  /** An unrelated CA, for "wrong CA" tests. */
  otherCaFile: string;
}

// Own minimal config so the result does not depend on the system openssl.cnf.
const OPENSSL_CNF = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
[client]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
`;

export const KEY_ARGS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Runs the openssl CLI in `dir`, with a clear error when it is missing or fails. */
export async function openssl(dir: string, args: string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd: dir });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') {
      throw new Error('openssl was not found; install it (`sudo apt-get install openssl`)');
    }
    throw new Error(`openssl ${args[0]} failed: ${e.stderr ?? e.message}`);
  }
}

// Arguments are written as one string for readability; none of them contains spaces.
async function makeCa(dir: string, name: string, cn: string): Promise<void> {
  await openssl(dir, [
    ...`req -x509 -config openssl.cnf -extensions ca -subj /CN=${cn} -days 2`.split(' '),
    ...KEY_ARGS,
    ...`-keyout ${name}-key.pem -out ${name}.pem`.split(' '),
  ]);
}

async function makeLeaf(dir: string, name: string, cn: string, ext: string): Promise<void> {
  await openssl(dir, [
    ...`req -new -config openssl.cnf -subj /CN=${cn} -keyout ${name}-key.pem`.split(' '),
    ...KEY_ARGS,
    ...`-out ${name}.csr`.split(' '),
  ]);
  // A random serial per certificate (`-CAcreateserial` would race between parallel calls).
  const serial = `0x${randomBytes(8).toString('hex')}`;
  await openssl(dir, [
    ...`x509 -req -in ${name}.csr -CA ca.pem -CAkey ca-key.pem -set_serial ${serial}`.split(' '),
    ...`-days 2 -extfile openssl.cnf -extensions ${ext} -out ${name}-cert.pem`.split(' '),
  ]);
}

/** Generates (once per process) a CA, server and client certificates, and an unrelated CA. */
export function tlsFixtures(): Promise<TlsFixtures> {
  return perProcess('tls-fixtures', generate);
}

async function generate(): Promise<TlsFixtures> {
  const dir = mkdtempSync(join(tmpdir(), 'nats-tls-'));
  watchTempDir(dir); // removed when this process exits
  writeFileSync(join(dir, 'openssl.cnf'), OPENSSL_CNF);
  await Promise.all([
    makeCa(dir, 'ca', 'nats-test-ca'),
    makeCa(dir, 'other-ca', 'nats-test-other-ca'),
  ]);
  await Promise.all([
    makeLeaf(dir, 'server', 'localhost', 'server'),
    makeLeaf(dir, 'client', 'nats-test-client', 'client'),
  ]);
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    certFile: join(dir, 'server-cert.pem'),
    keyFile: join(dir, 'server-key.pem'),
    clientCertFile: join(dir, 'client-cert.pem'),
    clientKeyFile: join(dir, 'client-key.pem'),
    otherCaFile: join(dir, 'other-ca.pem'),
  };
}
