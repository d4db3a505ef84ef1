// TypeDoc plugin: a property whose type is one documented call signature, but which has no
// comment of its own (a member that a key-remapping mapped type named, which TypeScript gives no
// declaration), takes the signature's comment.
import { Converter, ReflectionKind, ReflectionType } from 'typedoc';
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    for (const r of context.project.getReflectionsByKind(ReflectionKind.Property)) {
      if (r.comment || !(r.type instanceof ReflectionType)) continue;
      const sigs = r.type.declaration.getNonIndexSignatures();
      if (sigs.length === 1 && sigs[0].comment) r.comment = sigs[0].comment.clone();
    }
  });
}
