import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { transformFile, type Options } from '@swc/core';

// The same transform as jest.config.js (decorators for the Nest layer), with source maps kept
// next to the output so CPU profiles can be mapped back to the TypeScript.
const swcOptions: Options = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
  },
  module: { type: 'es6' },
  sourceMaps: true,
};

/** Directories (relative to the project root) whose TypeScript the workers run. */
const SOURCE_DIRS = ['bench', 'lib', 'test/support'];

/**
 * Transpiles `bench/**` and `lib/**` into `outDir`, keeping the layout, so the workers run plain
 * JavaScript without a loader. Imports already name `.js` files, so nothing is rewritten.
 * Returns the number of files written.
 */
export async function compileSources(root: string, outDir: string): Promise<number> {
  await removeCompiled(outDir);
  const files: string[] = [];
  for (const dir of SOURCE_DIRS) {
    const entries = await readdir(join(root, dir), { recursive: true });
    for (const entry of entries) {
      if (entry.endsWith('.ts') && !entry.endsWith('.d.ts')) files.push(join(dir, entry));
    }
  }
  await Promise.all(
    files.map(async (file) => {
      const source = join(root, file);
      const target = join(outDir, file.slice(0, -3) + '.js');
      const { code, map } = await transformFile(source, {
        ...swcOptions,
        filename: source,
        sourceFileName: relative(dirname(target), source),
      });
      await mkdir(dirname(target), { recursive: true });
      const mapName = `${target.slice(dirname(target).length + 1)}.map`;
      await writeFile(target, `${code}\n//# sourceMappingURL=${mapName}\n`);
      if (map) await writeFile(`${target}.map`, map);
    }),
  );
  return files.length;
}

/**
 * Deletes `outDir`. ESLint does not read .gitignore, so JavaScript left in `.bench-tmp/` would
 * fail the lint.
 */
export async function removeCompiled(outDir: string): Promise<void> {
  await rm(outDir, { recursive: true, force: true });
}
