// YAML aliases (`*name`) copy the node their anchor (`&name`) marks, so nested aliases grow
// a small file exponentially when it is turned into values: nine lines of "billion laughs"
// expand to millions of values. Before converting a document, count what its aliases expand
// to (each node once, memoised, so the count itself is cheap) and refuse the document at the
// alias where the expansion passes MAX_EXPANDED_NODES, with that alias's line. An alias
// inside the node its anchor marks (`&a [*a]`) would make a value that contains itself: also
// refused, at its line.
import { isAlias, isMap, isPair, isSeq, type Document, type LineCounter } from 'yaml';
import type { Issue } from '../common/index.ts';

/** Values a document may expand to. A large modelgate.yaml has a few thousand. */
export const MAX_EXPANDED_NODES = 100_000;

/**
 * The documents as plain values, or the issues that stop that: an alias expanding past the
 * limit (with its line), or a conversion error. Never throws.
 */
export function documentValues(docs: readonly Document[], lc: LineCounter, limit = MAX_EXPANDED_NODES): { values: unknown[] } | { issues: Issue[] } {
  for (const doc of docs) {
    const bomb = findAliasBomb(doc, limit);
    if (bomb) {
      return {
        issues: [
          {
            severity: 'error',
            path: '',
            message:
              bomb.kind === 'cycle'
                ? `the alias *${bomb.name} here is inside the node &${bomb.name} marks, so its value would contain itself; write the value out`
                : `the alias *${bomb.name} here expands the document to more than ${limit} values (nested aliases multiply); write the values out or nest fewer aliases`,
            ...(bomb.offset === undefined ? {} : { line: lc.linePos(bomb.offset).line }),
          },
        ],
      };
    }
  }
  try {
    // Expansion is bounded above, so the yaml package's own alias-count check (100 uses of
    // one anchor) is not needed on top.
    return { values: docs.map((d) => d.toJS({ maxAliasCount: -1 }) as unknown) };
  } catch (err) {
    return { issues: [{ severity: 'error', path: '', message: `cannot read the YAML: ${(err as Error).message.split('\n')[0]}` }] };
  }
}

export interface AliasProblem {
  kind: 'cycle' | 'expansion';
  /** The anchor name the alias uses. */
  name: string;
  /** Source offset of the alias. */
  offset: number | undefined;
}

/**
 * An alias inside its own anchor's node, or else the first alias, in document order, at
 * which the running expansion passes `limit`.
 */
export function findAliasBomb(doc: Document, limit: number): AliasProblem | undefined {
  const sizes = new Map<unknown, number>();
  const open = new Set<unknown>();
  let cycle: AliasProblem | undefined;
  /** Values `node` expands to, counting every alias as a copy of its target (capped). */
  const size = (node: unknown): number => {
    if (node === null || typeof node !== 'object') return 1;
    const known = sizes.get(node);
    if (known !== undefined) return known;
    open.add(node);
    let n = 1;
    if (isAlias(node)) {
      const target = node.resolve(doc);
      if (open.has(target)) cycle ??= { kind: 'cycle', name: node.source, offset: node.range?.[0] };
      else n = size(target);
    }
    else if (isPair(node)) n = size(node.key) + size(node.value);
    else if (isMap(node) || isSeq(node)) for (const item of node.items) n = Math.min(n + size(item), Number.MAX_SAFE_INTEGER);
    open.delete(node);
    sizes.set(node, n);
    return n;
  };
  let total = 0;
  let found: AliasProblem | undefined;
  const walk = (node: unknown): void => {
    if (found || node === null || typeof node !== 'object') {
      total += 1;
      return;
    }
    if (isAlias(node)) {
      total += size(node);
      if (cycle) found = cycle;
      else if (total > limit) found = { kind: 'expansion', name: node.source, offset: node.range?.[0] };
      return;
    }
    if (isPair(node)) {
      walk(node.key);
      walk(node.value);
      return;
    }
    total += 1;
    if (isMap(node) || isSeq(node)) for (const item of node.items) walk(item);
  };
  walk(doc.contents);
  return found;
}
