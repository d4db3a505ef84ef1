// No import cycle between the files of lib/: parses every .ts file under lib/ with the TypeScript
// compiler, follows every relative import and re-export (`import`, `import type`, `export … from`,
// `export * from`, dynamic `import()`, `import x = require()`), and prints each cycle as a chain of
// files. Type-only imports count, and so do the internal.ts barrels: a file that imports its
// layer's barrel, which re-exports a file that imports the first one back, is a cycle.
//   node tools/check-cycles.mjs [folder]   lib/ unless a folder is named; exits 1 on a cycle
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lib = resolve(process.argv[2] ?? join(root, 'lib'));

function tsFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...tsFiles(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** The .ts file a relative specifier names (`./a.js` → `./a.ts`, `./dir` → `./dir/index.ts`). */
function resolveSpecifier(from, specifier) {
  const base = resolve(dirname(from), specifier);
  const candidates = [base.replace(/\.(m|c)?js$/, '.$1ts'), `${base}.ts`, join(base, 'index.ts')];
  if (base.endsWith('.ts')) candidates.unshift(base);
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

/** Every relative module specifier in a file, with the line it stands on. */
function specifiers(file) {
  const source = ts.createSourceFile(
    file,
    readFileSync(file, 'utf8'),
    ts.ScriptTarget.Latest,
    true,
  );
  const found = [];
  const add = (node) => {
    if (node && ts.isStringLiteralLike(node) && node.text.startsWith('.')) {
      const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
      found.push({ specifier: node.text, line });
    }
  };
  const visit = (node) => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node.moduleSpecifier);
    else if (
      ts.isImportEqualsDeclaration(node) &&
      ts.isExternalModuleReference(node.moduleReference)
    )
      add(node.moduleReference.expression);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword)
      add(node.arguments[0]);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument))
      add(node.argument.literal);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const files = tsFiles(lib);
const graph = new Map();
const unresolved = [];
for (const file of files) {
  const edges = new Map();
  for (const { specifier, line } of specifiers(file)) {
    const target = resolveSpecifier(file, specifier);
    if (target === undefined) unresolved.push(`${relative(root, file)}:${line} '${specifier}'`);
    else if (!edges.has(target)) edges.set(target, line);
  }
  graph.set(file, edges);
}

// Tarjan's strongly connected components: every component with more than one file (or a file that
// imports itself) holds at least one cycle.
const index = new Map();
const low = new Map();
const onStack = new Set();
const stack = [];
const components = [];
let counter = 0;
function connect(v) {
  index.set(v, counter);
  low.set(v, counter);
  counter += 1;
  stack.push(v);
  onStack.add(v);
  for (const w of graph.get(v)?.keys() ?? []) {
    if (!index.has(w)) {
      connect(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
  }
  if (low.get(v) === index.get(v)) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || graph.get(v)?.has(v)) components.push(component);
  }
}
for (const file of files) if (!index.has(file)) connect(file);

/** The shortest chain of imports from `from` to `to` inside one component (breadth-first). */
function shortestPath(from, to, members) {
  const previous = new Map([[from, undefined]]);
  const queue = [from];
  while (queue.length > 0) {
    const v = queue.shift();
    if (v === to) {
      const chain = [];
      for (let u = v; u !== undefined; u = previous.get(u)) chain.unshift(u);
      return chain;
    }
    for (const w of graph.get(v).keys()) {
      if (members.has(w) && !previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return undefined;
}

// Every import that lies on a cycle is shown on one: for each such import a -> b, the shortest
// chain back from b to a. A cycle seen from several of its imports is listed once.
const show = (chain) =>
  chain
    .map((f, i) => {
      const name = relative(root, f);
      const next = chain[i + 1];
      return next === undefined ? name : `${name}:${graph.get(f).get(next)}`;
    })
    .join(' -> ');
const cycles = new Map();
for (const component of components) {
  const members = new Set(component);
  for (const file of [...component].sort()) {
    for (const target of graph.get(file).keys()) {
      if (!members.has(target)) continue;
      const back = target === file ? [file] : shortestPath(target, file, members);
      if (back === undefined) continue;
      const ring = [file, ...back.slice(0, -1)];
      // Rotate to the smallest file name, so that the same ring compares equal.
      const first = ring.indexOf([...ring].sort()[0]);
      const rotated = [...ring.slice(first), ...ring.slice(0, first)];
      const key = rotated.join('|');
      if (!cycles.has(key)) cycles.set(key, [...rotated, rotated[0]]);
    }
  }
}

for (const line of unresolved) console.error(`unresolved import: ${line}`);
if (cycles.size === 0) {
  console.log(
    `no import cycle between the ${files.length} files of ${relative(root, lib) || '.'}/`,
  );
} else {
  console.error(
    `${cycles.size} import cycle(s) between the files of ${relative(root, lib) || '.'}/ (file:line -> imported file):`,
  );
  for (const chain of cycles.values()) console.error(`  ${show(chain)}`);
}
process.exit(cycles.size > 0 || unresolved.length > 0 ? 1 : 0);
