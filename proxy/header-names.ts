// Telling a few header names apart in a head without cutting every name out and
// lower-casing it: a name is first reduced to its shape (first letter, length), and only a
// name with a known shape is compared, character by character, case-insensitively.
// Most header names (content-type, date, user-agent, ...) then cost two lookups.

/** A header name's shape: its first letter lower-cased and its length. */
export function shapeOf(name: string): number {
  return ((name.charCodeAt(0) | 0x20) << 16) | name.length;
}

/** Lower-case `names` by shape, for nameIn. */
export function byShape(names: Iterable<string>): Map<number, string[]> {
  const m = new Map<number, string[]>();
  for (const n of new Set(names)) m.set(shapeOf(n), [...(m.get(shapeOf(n)) ?? []), n]);
  return m;
}

/**
 * The name `text[pos..colon)` as one of `names` (byShape, made of letters and `-`), or
 * undefined for any other. `| 0x20` lower-cases letters and leaves `-`; the only other
 * character it turns into a letter or `-` is CR (into `-`), which is refused.
 */
export function nameIn(text: string, pos: number, colon: number, names: ReadonlyMap<number, readonly string[]>): string | undefined {
  const list = names.get(((text.charCodeAt(pos) | 0x20) << 16) | (colon - pos));
  if (list === undefined) return undefined;
  for (const n of list) {
    let k = 1;
    for (; k < n.length; k++) {
      const c = text.charCodeAt(pos + k);
      if ((c | 0x20) !== n.charCodeAt(k) || c === 0x0d) break;
    }
    if (k === n.length) return n;
  }
  return undefined;
}

/** Space or tab: optional whitespace around a field value (OWS, RFC 9110 §5.6.3). */
export const isOws = (c: number): boolean => c === 0x20 || c === 0x09;
