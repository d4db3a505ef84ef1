// Extra certificates for the TLS failure modes in tls.spec.ts: expired, not yet valid, DNS-only.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watchTempDir } from './reaper.js';
import { KEY_ARGS, openssl } from './tls-fixtures.js';

const CNF = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
[ca]
default_ca = myca
[myca]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = pol
unique_subject = no
copy_extensions = none
[pol]
commonName = supplied
[both]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
[dnsonly]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost
[otherhost]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:other.example.com
`;

export interface EdgeCerts {
  dir: string;
  caFile: string;
  /** [cert, key] pairs */
  expired: { certFile: string; keyFile: string };
  future: { certFile: string; keyFile: string };
  dnsOnly: { certFile: string; keyFile: string };
  otherHost: { certFile: string; keyFile: string };
}

const fmt = (d: Date): string =>
  d
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d+Z$/, 'Z')
    .slice(0, 15);

export async function edgeCerts(): Promise<EdgeCerts> {
  const dir = mkdtempSync(join(tmpdir(), 'edge-certs-'));
  watchTempDir(dir);
  writeFileSync(join(dir, 'cnf'), CNF);
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  const o = (args: string[]) => openssl(dir, args);
  await o([
    ...'req -x509 -config cnf -extensions ca_ext -subj /CN=edge-ca -days 2'.split(' '),
    ...KEY_ARGS,
    ...'-keyout ca-key.pem -out ca.pem'.split(' '),
  ]);
  const leaf = async (
    name: string,
    ext: string,
    start: Date,
    end: Date,
  ): Promise<{ certFile: string; keyFile: string }> => {
    await o([
      ...`req -new -config cnf -subj /CN=${name} -keyout ${name}-key.pem`.split(' '),
      ...KEY_ARGS,
      ...`-out ${name}.csr`.split(' '),
    ]);
    await o([
      ...`ca -batch -config cnf -extensions ${ext} -cert ca.pem -keyfile ca-key.pem`.split(' '),
      ...`-in ${name}.csr -out ${name}-cert.pem -notext`.split(' '),
      ...['-startdate', fmt(start), '-enddate', fmt(end)],
    ]);
    return { certFile: join(dir, `${name}-cert.pem`), keyFile: join(dir, `${name}-key.pem`) };
  };
  const day = 86_400_000;
  const now = Date.now();
  const expired = await leaf('expired', 'both', new Date(now - 10 * day), new Date(now - day));
  const future = await leaf('future', 'both', new Date(now + day), new Date(now + 10 * day));
  const dnsOnly = await leaf('dnsonly', 'dnsonly', new Date(now - day), new Date(now + day));
  const otherHost = await leaf('otherhost', 'otherhost', new Date(now - day), new Date(now + day));
  return { dir, caFile: join(dir, 'ca.pem'), expired, future, dnsOnly, otherHost };
}

/** A nats-server tls block serving the given pair. */
export function tlsConfig(pair: { certFile: string; keyFile: string }, extra = ''): string {
  return [
    'tls {',
    `  cert_file: ${JSON.stringify(pair.certFile)}`,
    `  key_file: ${JSON.stringify(pair.keyFile)}`,
    '  timeout: 2',
    extra,
    '}',
  ].join('\n');
}
