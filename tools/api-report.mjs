// The API report: every name that each public entry point of the package exports, and the
// declaration of each as the published .d.ts shows it (comments left out), plus the declarations
// those refer to without exporting them. Any change to the public surface shows in its diff.
//   node tools/api-report.mjs --check    fails when the surface differs from api/nestjs-nats.api.md
//   node tools/api-report.mjs --update   rewrites api/nestjs-nats.api.md
//   --dist DIR                           read an existing build instead of compiling lib/ afresh
// Both also check that no declaration marked @internal in lib/ is left in the .d.ts files.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const reportFile = join(root, 'api/nestjs-nats.api.md');
const args = process.argv.slice(2);
const mode = args.includes('--update') ? 'update' : 'check';
const distArg = args.includes('--dist') ? args[args.indexOf('--dist') + 1] : undefined;

const posix = (p) => p.split(sep).join('/');

function build() {
  const out = mkdtempSync(join(tmpdir(), 'nestjs-nats-api-'));
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', out], {
    cwd: root,
    stdio: 'inherit',
  });
  return out;
}

/** Entry point name -> .d.ts file, from package.json's exports. */
function entryPoints(dist) {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const entries = [];
  for (const [sub, target] of Object.entries(pkg.exports)) {
    if (typeof target !== 'object' || !target.types) continue;
    const name = sub === '.' ? pkg.name : `${pkg.name}/${sub.slice(2)}`;
    entries.push([name, join(dist, target.types.replace(/^\.\/dist\//, ''))]);
  }
  return entries;
}

const printer = ts.createPrinter({ removeComments: true, newLine: ts.NewLineKind.LineFeed });

function kindOf(decl) {
  if (ts.isClassDeclaration(decl)) return 'class';
  if (ts.isInterfaceDeclaration(decl)) return 'interface';
  if (ts.isTypeAliasDeclaration(decl)) return 'type';
  if (ts.isEnumDeclaration(decl)) return 'enum';
  if (ts.isFunctionDeclaration(decl)) return 'function';
  if (ts.isVariableDeclaration(decl)) return 'const';
  if (ts.isModuleDeclaration(decl)) return 'namespace';
  return ts.SyntaxKind[decl.kind];
}

function declText(decl) {
  const node = ts.isVariableDeclaration(decl) ? decl.parent.parent : decl;
  return printer.printNode(ts.EmitHint.Unspecified, node, decl.getSourceFile()).trim();
}

function report(dist) {
  const entries = entryPoints(dist);
  const program = ts.createProgram(
    entries.map(([, file]) => file),
    {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      types: ['node'],
      typeRoots: [join(root, 'node_modules/@types')],
      noEmit: true,
    },
  );
  const checker = program.getTypeChecker();
  const ours = (sf) => posix(relative(dist, sf.fileName)).startsWith('..') === false;
  const where = (decl) => posix(relative(dist, decl.getSourceFile().fileName));

  // Declarations to print, keyed "file#name", and the ones reached only through another.
  const decls = new Map();
  const queue = [];
  function include(sym, exported) {
    const topLevel = (d) => {
      const statement = ts.isVariableDeclaration(d) ? d.parent.parent : d;
      return ts.isSourceFile(statement.parent) || ts.isModuleBlock(statement.parent);
    };
    const declarations = (sym.declarations ?? []).filter(
      (d) => ours(d.getSourceFile()) && topLevel(d),
    );
    if (declarations.length === 0) return undefined;
    const key = `${where(declarations[0])}#${sym.getName()}`;
    const known = decls.get(key);
    if (known) {
      if (exported) known.exported = true;
      return key;
    }
    decls.set(key, { name: sym.getName(), declarations, exported });
    queue.push(key);
    return key;
  }

  const sections = [];
  for (const [name, file] of entries) {
    const sf = program.getSourceFile(file);
    if (!sf) throw new Error(`${name}: ${file} is missing (build first)`);
    const moduleSym = checker.getSymbolAtLocation(sf);
    const lines = [];
    for (const sym of checker
      .getExportsOfModule(moduleSym)
      .sort((a, b) => (a.getName() < b.getName() ? -1 : a.getName() > b.getName() ? 1 : 0))) {
      const typeOnly = (sym.declarations ?? []).some(
        (d) =>
          (ts.isExportSpecifier(d) && (d.isTypeOnly || d.parent.parent.isTypeOnly)) ||
          ts.isTypeOnlyImportOrExportDeclaration?.(d),
      );
      const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
      const key = include(target, true);
      const kinds = [...new Set((target.declarations ?? []).map(kindOf))].join(' + ');
      // Only a value can be exported for types alone (`export type { SomeClass }`).
      const isValue = (target.flags & ts.SymbolFlags.Value) !== 0;
      lines.push(
        `- \`${sym.getName()}\`: ${typeOnly && isValue ? 'type-only ' : ''}${kinds}` +
          (key ? ` (${key.split('#')[0]})` : ''),
      );
    }
    sections.push(`## ${name}\n\n${lines.join('\n')}\n`);
  }

  // Follow the types named in each declaration to the package's declarations they need.
  while (queue.length > 0) {
    const entry = decls.get(queue.shift());
    for (const decl of entry.declarations) {
      const visit = (node) => {
        if (ts.isTypeReferenceNode(node) || ts.isExpressionWithTypeArguments(node)) {
          const at = ts.isTypeReferenceNode(node) ? node.typeName : node.expression;
          let sym = checker.getSymbolAtLocation(at);
          if (sym && sym.flags & ts.SymbolFlags.Alias) sym = checker.getAliasedSymbol(sym);
          if (sym && !(sym.flags & ts.SymbolFlags.TypeParameter)) include(sym, false);
        } else if (ts.isTypeQueryNode(node)) {
          let sym = checker.getSymbolAtLocation(node.exprName);
          if (sym && sym.flags & ts.SymbolFlags.Alias) sym = checker.getAliasedSymbol(sym);
          if (sym) include(sym, false);
        }
        ts.forEachChild(node, visit);
      };
      visit(decl);
    }
  }

  const declSections = [...decls.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, { declarations, exported }]) => {
      const texts = declarations.map((d) => {
        const file = where(d);
        return (file === key.split('#')[0] ? '' : `// ${file}\n`) + declText(d);
      });
      return `### ${key}${exported ? '' : ' (not exported)'}\n\n\`\`\`ts\n${texts.join('\n\n')}\n\`\`\`\n`;
    });
  return [
    '# nestjs-nats: API report',
    '',
    'Generated by `npm run api:update` from the published .d.ts files; `npm run api:check` fails',
    'when the public surface differs from this file. Review every change to it.',
    '',
    sections.join('\n'),
    '## Declarations',
    '',
    declSections.join('\n'),
  ].join('\n');
}

/** Names declared with an @internal tag in lib/ that are still in the .d.ts files. */
function internalLeaks(dist) {
  const leaks = [];
  const walk = (dir, out) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name), out);
      else out.push(join(dir, e.name));
    }
    return out;
  };
  const isInternal = (node) => ts.getJSDocTags(node).some((t) => t.tagName.text === 'internal');
  const nameOf = (node) => (node.name && ts.isIdentifier(node.name) ? node.name.text : undefined);
  const collect = (sf, wantInternal) => {
    const found = new Set();
    const visit = (node, path) => {
      const own = nameOf(node) ?? (ts.isConstructorDeclaration(node) ? 'constructor' : undefined);
      const here = own ? [...path, own] : path;
      if (own && (!wantInternal || isInternal(node))) found.add(here.join('.'));
      if (wantInternal && own && isInternal(node)) return;
      ts.forEachChild(node, (child) => visit(child, here));
    };
    visit(sf, []);
    return found;
  };
  for (const file of walk(join(root, 'lib'), []).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(file, 'utf8');
    if (!text.includes('@internal')) continue;
    const src = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const dts = join(dist, relative(join(root, 'lib'), file)).replace(/\.ts$/, '.d.ts');
    if (!existsSync(dts)) continue;
    const dtsText = readFileSync(dts, 'utf8');
    const out = collect(ts.createSourceFile(dts, dtsText, ts.ScriptTarget.Latest, true), false);
    for (const name of collect(src, true)) {
      if (out.has(name)) leaks.push(`${posix(relative(root, file))}: ${name}`);
    }
  }
  for (const file of walk(dist, []).filter((f) => f.endsWith('.d.ts'))) {
    if (readFileSync(file, 'utf8').includes('@internal')) {
      leaks.push(`${posix(relative(dist, file))}: an @internal comment`);
    }
  }
  return leaks;
}

function main() {
  const dist = distArg ?? build();
  try {
    const leaks = internalLeaks(dist);
    if (leaks.length > 0) {
      console.error(`@internal declarations in the published .d.ts:\n  ${leaks.join('\n  ')}`);
      return 1;
    }
    const text = report(dist);
    if (mode === 'update') {
      mkdirSync(dirname(reportFile), { recursive: true });
      writeFileSync(reportFile, text);
      console.log(`wrote ${posix(relative(root, reportFile))}`);
      return 0;
    }
    const current = existsSync(reportFile) ? readFileSync(reportFile, 'utf8') : '';
    if (current === text) {
      console.log('the public API matches api/nestjs-nats.api.md');
      return 0;
    }
    const scratch = join(mkdtempSync(join(tmpdir(), 'nestjs-nats-api-')), 'nestjs-nats.api.md');
    writeFileSync(scratch, text);
    try {
      execFileSync('git', ['diff', '--no-index', '--', reportFile, scratch], { stdio: 'inherit' });
    } catch {
      // git diff exits 1 when the files differ
    }
    console.error(
      'The public API differs from api/nestjs-nats.api.md (diff above). If the change is\n' +
        'deliberate, run `npm run api:update` and commit the report with it.',
    );
    return 1;
  } finally {
    if (!distArg) rmSync(dist, { recursive: true, force: true });
  }
}

process.exit(main());
