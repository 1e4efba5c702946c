// Compares the documented fields (fields.ts) with the keys the validators know (probe.ts).
// Pure, so the test can also feed it small tables and show it catches each kind of gap.
import type { KnownKeys } from './probe.ts';
import type { FieldTable } from './fields.ts';

/** `slos[].alerting.windows[].long` → [`slos[].alerting.windows[]`, `long`]; `slos` → [``, `slos`]. */
export function splitPath(path: string): [parent: string, key: string] {
  const dot = path.lastIndexOf('.');
  return dot === -1 ? ['', path] : [path.slice(0, dot), path.slice(dot + 1)];
}

/**
 * Problems, each a sentence naming the path:
 * - a key a validator knows that the table does not document;
 * - a documented field its validator does not know (stale docs);
 * - a documented field whose parent object the probe never reached, unless listed in
 *   `unprobed` (objects no validator checks keys of, documented by hand).
 */
export function fieldCoverage(fields: FieldTable, known: KnownKeys, unprobed: readonly string[] = []): string[] {
  const problems: string[] = [];
  for (const [parent, keys] of known) {
    for (const key of keys) {
      const path = parent ? `${parent}.${key}` : key;
      if (!(path in fields)) problems.push(`${path}: the validator knows this key but the reference does not document it`);
    }
  }
  for (const path of Object.keys(fields)) {
    const [parent, key] = splitPath(path);
    const keys = known.get(parent);
    if (keys) {
      if (!keys.includes(key)) problems.push(`${path}: documented, but the validator of ${parent || 'the top level'} does not know "${key}"`);
    } else if (!unprobed.includes(parent)) {
      problems.push(`${path}: no validator was probed at ${parent}; reach it in probe.ts or list it as checked by hand`);
    }
  }
  return problems;
}
