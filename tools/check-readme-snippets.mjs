// Type-checks every ```ts block of README.md as a user would paste it, in two apps:
//   cjs  a CommonJS NestJS 11 app: module commonjs, moduleResolution node10, the NestJS 11
//        packages of test/compat/nest11 (`npm ci --prefix test/compat/nest11` installs them);
//   esm  an ES module NestJS 12 app: module/moduleResolution nodenext, the NestJS 12
//        devDependencies.
// Both import `nestjs-nats` from a copy of the built package (`npm run build` first), placed in
// the app's node_modules as an install would. Each block is its own file and must have its
// imports; what snippets leave to the reader (services, a payment event type, @nestjs/config)
// is declared in tools/readme-snippets.d.ts, which every app includes.
//
//   node tools/check-readme-snippets.mjs [--only cjs|esm] [--keep]
//
// Errors are reported at their README line. --keep leaves the generated apps in
// test/compat/nest11/.readme-check and .readme-check for a look.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const keep = args.includes('--keep');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const preludeFile = join(root, 'tools/readme-snippets.d.ts');

/** The ```ts blocks of the README, with the README line of their first line of code. */
function snippets() {
  const lines = readFileSync(join(root, 'README.md'), 'utf8').split('\n');
  const blocks = [];
  let current;
  lines.forEach((line, i) => {
    if (current) {
      if (/^```\s*$/.test(line)) {
        blocks.push(current);
        current = undefined;
      } else current.code.push(line);
    } else if (/^```(ts|typescript)\s*$/.test(line)) current = { line: i + 2, code: [] };
  });
  if (current) throw new Error(`README.md:${current.line - 1}: unterminated code block`);
  return blocks;
}

const common = {
  target: 'ES2022',
  lib: ['ES2023'],
  types: ['node'],
  strict: true,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  skipLibCheck: true,
  noEmit: true,
};

const setups = {
  cjs: {
    // Inside test/compat/nest11, so the app and the package resolve NestJS 11 from there.
    dir: join(root, 'test/compat/nest11/.readme-check'),
    needs: join(root, 'test/compat/nest11/node_modules/@nestjs/core'),
    pkg: { name: 'readme-check-cjs', private: true },
    options: { ...common, module: 'commonjs', moduleResolution: 'node10' },
  },
  esm: {
    dir: join(root, '.readme-check'),
    needs: join(root, 'node_modules/@nestjs/core'),
    pkg: { name: 'readme-check-esm', private: true, type: 'module' },
    // As Nest's starter sets it: decorated constructors then need `import type` for interfaces.
    options: { ...common, module: 'nodenext', moduleResolution: 'nodenext', isolatedModules: true },
  },
};

function check(name, blocks) {
  const { dir, needs, pkg, options } = setups[name];
  if (!existsSync(needs)) {
    console.error(
      `${name}: ${needs} is missing (npm ci --prefix test/compat/nest11, or npm ci at the root)`,
    );
    return false;
  }
  rmSync(dir, { recursive: true, force: true });
  const installed = join(dir, 'node_modules/nestjs-nats');
  mkdirSync(installed, { recursive: true });
  cpSync(join(root, 'package.json'), join(installed, 'package.json'));
  cpSync(join(root, 'dist'), join(installed, 'dist'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
  cpSync(preludeFile, join(dir, 'readme-snippets.d.ts'));
  const files = ['readme-snippets.d.ts'];
  const origin = new Map();
  const problems = [];
  for (const block of blocks) {
    const file = `readme-${block.line}.ts`;
    if (!block.code.some((l) => /^import\b/.test(l)))
      problems.push(
        `README.md:${block.line}: the snippet has no import (every snippet shows its imports)`,
      );
    writeFileSync(join(dir, file), block.code.join('\n') + '\n');
    files.push(file);
    origin.set(file, block.line);
  }
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: options, files }, null, 2),
  );
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  const r = spawnSync(
    process.execPath,
    [tsc, '-p', join(dir, 'tsconfig.json'), '--pretty', 'false'],
    {
      cwd: dir,
      encoding: 'utf8',
    },
  );
  // file(line,col): error TSxxxx: ... -> README.md:line:col
  const out = `${r.stdout}${r.stderr}`.replace(
    /^(readme-(\d+)\.ts)\((\d+),(\d+)\)/gm,
    (_m, _f, start, l, c) => `README.md:${Number(start) + Number(l) - 1}:${c}`,
  );
  for (const p of problems) console.error(`${name}: ${p}`);
  if (out.trim()) console.error(out.replace(/^(?=.)/gm, `${name}: `).trimEnd());
  if (!keep) rmSync(dir, { recursive: true, force: true });
  const ok = r.status === 0 && problems.length === 0;
  console.log(`${name}: ${blocks.length} README snippets ${ok ? 'compile' : 'FAIL'}`);
  return ok;
}

if (!existsSync(join(root, 'dist/index.d.ts'))) {
  console.error('dist/ is missing: run `npm run build` first');
  process.exit(1);
}
const blocks = snippets();
let ok = true;
for (const name of Object.keys(setups)) if (!only || only === name) ok = check(name, blocks) && ok;
process.exit(ok ? 0 : 1);
