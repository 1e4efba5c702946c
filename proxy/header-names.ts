// Telling a few header names apart in a head without cutting every name out and
// lower-casing it: a name is first reduced to its shape (first letter, length), and only a
// name with a known shape is compared, character by character, case-insensitively.
// Most header names (content-type, date, user-agent, ...) then cost one array read.

/** Longest name a table holds (a longer one is never a known name). */
const MAX_NAME = 63;

/** A header name's slot: its first letter (a-z, any case) and its length; -1 for a name no table holds. */
function slotOf(first: number, length: number): number {
  const letter = (first | 0x20) - 0x61;
  return letter >= 0 && letter < 26 && length <= MAX_NAME ? letter * (MAX_NAME + 1) + length : -1;
}

/** Lower-case names by shape, for nameIn: a flat table indexed by first letter and length. */
export type NameTable = ReadonlyArray<readonly string[] | undefined>;

/** The table of `names` (lower case, made of letters and `-`, starting with a letter) for nameIn. */
export function byShape(names: Iterable<string>): NameTable {
  const table: (string[] | undefined)[] = new Array<string[] | undefined>(26 * (MAX_NAME + 1)).fill(undefined);
  for (const n of new Set(names)) {
    const slot = slotOf(n.charCodeAt(0), n.length);
    if (slot < 0) throw new Error(`header name ${JSON.stringify(n)} cannot be looked up by shape`);
    (table[slot] ??= []).push(n);
  }
  return table;
}

/**
 * The name `text[pos..colon)` as one of `names` (byShape), or undefined for any other.
 * `| 0x20` lower-cases letters and leaves `-`; the only other character it turns into a
 * letter or `-` is CR (into `-`), which is refused.
 */
export function nameIn(text: string, pos: number, colon: number, names: NameTable): string | undefined {
  const slot = slotOf(text.charCodeAt(pos), colon - pos);
  if (slot < 0) return undefined;
  const list = names[slot];
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
