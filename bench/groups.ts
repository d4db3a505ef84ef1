import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { BenchGroup } from './types.js';

/** Imports `<dir>/<name>.js` and checks that it default-exports a `BenchGroup`. */
export async function loadGroup(dir: URL, name: string): Promise<BenchGroup> {
  const mod = (await import(new URL(`${name}.js`, dir).href)) as { default?: BenchGroup };
  const group = mod.default;
  if (!group || typeof group.name !== 'string' || !Array.isArray(group.cases)) {
    throw new Error(`${name}.js does not default-export a BenchGroup`);
  }
  return group;
}

/** The group modules in `dir` (compiled `bench/cases/*.js`), in file-name order. */
export async function groupNames(dir: URL): Promise<string[]> {
  const files = await readdir(fileURLToPath(dir));
  return files
    .filter((f) => f.endsWith('.js'))
    .map((f) => f.slice(0, -3))
    .sort();
}
