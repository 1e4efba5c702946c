// Maps an issue path (`slos[2].objective`) back to a line of the YAML source, using the
// node ranges the `yaml` package keeps and its LineCounter. A path that does not exist
// (a missing field) resolves to the deepest part that does.
import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

export function pathSegments(path: string): Array<string | number> {
  const out: Array<string | number> = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}

/** 1-based line of the path in the document, or undefined when not even the root has a range. */
export function lineOf(doc: Document, lc: LineCounter, segments: ReadonlyArray<string | number>): number | undefined {
  let node: unknown = doc.contents;
  let offset: number | undefined = rangeStart(node);
  for (const seg of segments) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
      if (!pair) break;
      offset = rangeStart(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item === undefined) break;
      offset = rangeStart(item) ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset === undefined ? undefined : lc.linePos(offset).line;
}

function rangeStart(node: unknown): number | undefined {
  const r = (node as Node | null | undefined)?.range;
  return r ? r[0] : undefined;
}
