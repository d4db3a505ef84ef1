// ESLint rule `layers/imports`: lib/ is layered (nest -> services, kv, obj -> buckets ->
// jetstream -> core -> telemetry; services -> core), imports run only down, and a layer reaches
// another only through that layer's `internal.ts` barrel, never through its public entry point or
// its files. lib/telemetry (OpenTelemetry over the optional `@opentelemetry/api`) imports no other
// layer; the core loads it with a dynamic import only.
import path from 'node:path';

const ALLOWED = {
  telemetry: [],
  core: ['telemetry'],
  jetstream: ['core'],
  buckets: ['core', 'jetstream'],
  kv: ['core', 'jetstream', 'buckets'],
  obj: ['core', 'jetstream', 'buckets'],
  services: ['core'],
  nest: ['core', 'jetstream', 'kv', 'obj', 'services'],
};

function layerOf(file, lib) {
  const rel = path.relative(lib, file).split(path.sep);
  return rel.length > 1 && rel[0] in ALLOWED ? rel[0] : undefined;
}

const importsRule = {
  meta: {
    type: 'problem',
    docs: { description: 'Imports between the layers of lib/ run down, through internal.ts' },
    schema: [],
  },
  create(context) {
    const file = context.filename;
    const lib = path.join(context.cwd, 'lib');
    const from = layerOf(file, lib);
    if (from === undefined) return {};
    function check(node) {
      const source = node.source?.value;
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const target = path.resolve(path.dirname(file), source);
      const to = layerOf(target, lib);
      if (to === undefined || to === from) return;
      if (!ALLOWED[from].includes(to)) {
        context.report({
          node: node.source,
          message: `lib/${from} must not import lib/${to} (imports between layers run down: ${from} may use ${ALLOWED[from].join(', ') || 'no other layer'})`,
        });
      } else if (path.relative(lib, target) !== path.join(to, 'internal.js')) {
        context.report({
          node: node.source,
          message: `import lib/${to} through its internal barrel ('${path.relative(path.dirname(file), path.join(lib, to, 'internal.js'))}'), not '${source}'`,
        });
      }
    }
    return {
      ImportDeclaration: check,
      ExportNamedDeclaration: check,
      ExportAllDeclaration: check,
      ImportExpression: (node) => check({ source: node.source }),
    };
  },
};

export default { rules: { imports: importsRule } };
