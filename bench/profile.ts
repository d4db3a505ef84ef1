import { readFile } from 'node:fs/promises';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The parts of V8's `.cpuprofile` JSON that the summary reads. */
interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  }[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotFunction {
  name: string;
  /** `file:line:column` of the TypeScript source when a source map knows it, else the JS. */
  location: string;
  selfMs: number;
  share: number;
}

/**
 * The functions with the most self time in a profile written by `node --cpu-prof`, locations
 * mapped through the `.js.map` files next to the compiled sources. `filter` keeps only frames
 * whose URL passes it (e.g. our client's files).
 */
export async function hotFunctions(
  file: string,
  root: string,
  limit: number,
  filter: (url: string) => boolean = () => true,
): Promise<HotFunction[]> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt);
    total += dt;
  }
  // Several nodes (one per call path) share a function: sum them by function and position.
  const merged = new Map<string, { frame: CpuProfile['nodes'][number]['callFrame']; us: number }>();
  for (const [id, us] of self) {
    const frame = byId.get(id)!.callFrame;
    const key = `${frame.functionName}@${frame.url}:${frame.lineNumber}:${frame.columnNumber}`;
    const entry = merged.get(key) ?? { frame, us: 0 };
    entry.us += us;
    merged.set(key, entry);
  }
  const maps = new SourceMaps();
  const top = [...merged.values()]
    .filter((e) => filter(e.frame.url))
    .sort((a, b) => b.us - a.us)
    .slice(0, limit);
  return Promise.all(
    top.map(async ({ frame, us }) => ({
      name: frame.functionName || '(anonymous)',
      location: await maps.locate(frame.url, frame.lineNumber, frame.columnNumber, root),
      selfMs: us / 1000,
      share: total > 0 ? us / total : 0,
    })),
  );
}

class SourceMaps {
  private readonly cache = new Map<string, Promise<SourceMap | null>>();

  async locate(url: string, line: number, column: number, root: string): Promise<string> {
    if (!url.startsWith('file://')) return url || '(native)';
    const js = fileURLToPath(url);
    const map = await this.load(js);
    const entry = map?.findEntry(line, column);
    if (entry && 'originalSource' in entry) {
      const hit = entry;
      const source = resolve(dirname(js), hit.originalSource);
      return `${relative(root, source)}:${hit.originalLine + 1}:${hit.originalColumn + 1}`;
    }
    return `${relative(root, js)}:${line + 1}:${column + 1}`;
  }

  private load(js: string): Promise<SourceMap | null> {
    let map = this.cache.get(js);
    if (!map) {
      map = readFile(`${js}.map`, 'utf8').then(
        (text) => new SourceMap(JSON.parse(text) as SourceMapPayload),
        () => null,
      );
      this.cache.set(js, map);
    }
    return map;
  }
}
