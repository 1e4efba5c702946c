// The import graph of the product sources, read with TypeScript's own pre-processor (the
// same scanner tsc uses to find a file's imports: comments and strings are not imports).
// One reader for every test that checks how the folders depend on each other
// (test/docs/architecture.test.ts, test/architecture/imports.test.ts).
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** The repository root (tests run from any working directory). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Top-level folders that are not product code (tests, benchmarks, scripts, examples, build output). */
export const NOT_PRODUCT = new Set(['node_modules', 'test', 'bench', 'scripts', 'examples', 'dist', 'deploy', 'alerts', 'docs', 'bin']);

/** Every product `.ts` file (not `.d.ts`), as a path relative to the root with `/` separators, sorted. */
export function productSources(root = ROOT): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(join(root, dir))) {
      if (name.startsWith('.') || (dir === '' && NOT_PRODUCT.has(name))) continue;
      const p = dir === '' ? name : `${dir}/${name}`;
      if (statSync(join(root, p)).isDirectory()) walk(p);
      else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
    }
  };
  walk('');
  return out.sort();
}

export interface ImportEdge {
  /** The importing file, relative to the root. */
  from: string;
  /** The imported file, relative to the root (a path outside the sources is kept as written). */
  to: string;
  /** `import('…')`: loaded when called, not when the importer loads. */
  dynamic: boolean;
  /** 1-based line of the import in `from`. */
  line: number;
}

/** Resolves a relative specifier to a source file: `./x.ts`, `./x.js` (the compiled name), `./x`, `./x/index.ts`. */
function resolveSpecifier(from: string, spec: string, root: string): string {
  const base = normalize(join(dirname(from), spec)).split('\\').join('/');
  const candidates = [base, base.replace(/\.js$/, '.ts'), `${base}.ts`, `${base}/index.ts`];
  return candidates.find((c) => c.endsWith('.ts') && existsSync(join(root, c))) ?? base;
}

/**
 * The relative imports of one file: `import`, `import type`, `export … from`, `import x = require()`
 * and `import('…')`. Package imports (`node:fs`, `undici`) are not edges of the graph.
 */
export function importsOf(file: string, root = ROOT, text = readFileSync(join(root, file), 'utf8')): ImportEdge[] {
  const info = ts.preProcessFile(text, true, true);
  const dynamicAt = new Set<number>();
  // preProcessFile does not say which imports are dynamic; the scanner's positions do.
  for (const m of text.matchAll(/\bimport\s*\(\s*(['"`])/g)) dynamicAt.add(m.index + m[0].length - 1);
  const edges: ImportEdge[] = [];
  for (const ref of info.importedFiles) {
    if (!ref.fileName.startsWith('.')) continue;
    edges.push({
      from: file,
      to: resolveSpecifier(file, ref.fileName, root),
      dynamic: dynamicAt.has(ref.pos),
      line: text.slice(0, ref.pos).split('\n').length,
    });
  }
  return edges;
}

/** file → its relative imports, for every product source. */
export function importGraph(root = ROOT, files = productSources(root)): Map<string, ImportEdge[]> {
  return new Map(files.map((f) => [f, importsOf(f, root)]));
}

/** The area of a file: its top-level folder (`server/rest/http.ts` → `server`). */
export function areaOf(file: string): string {
  return file.includes('/') ? file.slice(0, file.indexOf('/')) : '.';
}

/**
 * Every cycle between files, each as the list of files around it (starting at its smallest
 * path, each file importing the next, the last importing the first). Found per strongly
 * connected component (Tarjan), then one shortest cycle through each edge inside a component,
 * so a component of several intertwined cycles reports each of them, not one long walk.
 */
export function findCycles(graph: Map<string, ImportEdge[]>, keep: (e: ImportEdge) => boolean = () => true): string[][] {
  const next = new Map<string, string[]>();
  for (const [f, edges] of graph) next.set(f, [...new Set(edges.filter(keep).map((e) => e.to).filter((t) => graph.has(t)))].sort());

  // Tarjan's strongly connected components.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const component = new Map<string, number>();
  let components = 0;
  const strong = (v: string) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v)!) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.set(w, components);
      } while (w !== v);
      components++;
    }
  };
  for (const v of [...next.keys()].sort()) if (!idx.has(v)) strong(v);

  const cycles = new Map<string, string[]>();
  for (const [v, targets] of next) {
    for (const w of targets) {
      if (component.get(v) !== component.get(w)) continue;
      // Shortest path w → v inside the component closes the cycle through the edge v → w.
      const prev = new Map<string, string>([[w, w]]);
      const queue = [w];
      while (queue.length && !prev.has(v)) {
        const u = queue.shift()!;
        for (const x of next.get(u)!) {
          if (prev.has(x) || component.get(x) !== component.get(v)) continue;
          prev.set(x, u);
          queue.push(x);
        }
      }
      const path = [v];
      for (let u = v; u !== w; ) path.unshift((u = prev.get(u)!));
      // path is w … v; rotate to start at the smallest file so each cycle is reported once.
      const start = path.indexOf([...path].sort()[0]!);
      const cycle = [...path.slice(start), ...path.slice(0, start)];
      cycles.set(cycle.join(' → '), cycle);
    }
  }
  return [...cycles.values()].sort((a, b) => a.join().localeCompare(b.join()));
}
