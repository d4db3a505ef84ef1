import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import swc from '@swc/core';

const options = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
  },
  module: { type: 'es6' },
  sourceMaps: 'inline',
};

// NESTJS_NATS_PEERS=<dir>: NestJS and rxjs come from <dir>/node_modules instead (used to run the
// sample against the NestJS 11 install under test/compat/nest11).
const peersDir = process.env.NESTJS_NATS_PEERS;
const peersFrom = peersDir ? pathToFileURL(`${resolvePath(peersDir)}/`).href : undefined;
const PEER = /^(@nestjs\/(common|core|microservices|testing|terminus)|rxjs)(\/|$)/;

// Sources import siblings as `./x.js` (NodeNext style); map them to `./x.ts` when only that exists.
export async function resolve(specifier, context, next) {
  if (peersFrom && PEER.test(specifier)) {
    return next(specifier, { ...context, parentURL: peersFrom });
  }
  if (
    specifier.endsWith('.js') &&
    context.parentURL &&
    !context.parentURL.includes('/node_modules/')
  ) {
    const url = new URL(specifier, context.parentURL);
    if (url.protocol === 'file:' && !existsSync(fileURLToPath(url))) {
      const ts = new URL(specifier.slice(0, -3) + '.ts', context.parentURL);
      if (existsSync(fileURLToPath(ts))) return next(ts.href, context);
    }
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.endsWith('.ts')) return next(url, context);
  const source = await readFile(fileURLToPath(url), 'utf8');
  const { code } = await swc.transform(source, { ...options, filename: fileURLToPath(url) });
  return { format: 'module', source: code, shortCircuit: true };
}
