// Lets `node --import ./tools/ts-register.js file.ts` run the TypeScript sources directly (the
// sample and the benchmarks), transpiled by swc with decorator metadata, which NestJS DI needs.
import { register } from 'node:module';

register('./ts-hooks.js', import.meta.url);
