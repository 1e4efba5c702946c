// "Did you mean" for misspelt keys, flags, commands and names: the one rule every message
// that suggests a name uses (config keys through validate.ts checkKeys, CLI flags and
// commands, enum-like values).

/** Levenshtein distance (insert, delete, substitute), case-insensitive. */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const cur = [i];
    for (let j = 1; j <= t.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (s[i - 1] === t[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[t.length]!;
}

/** A name with case, `_` and `-` left out: `max_body_bytes`, `maxBodyBytes` and `Max-Body-Bytes` are one name. */
const folded = (s: string): string => s.toLowerCase().replace(/[_-]/g, '');

/** The words of a name, lower case: split at `_`, `-` and where lower case turns upper (`maxP99Ratio` → max, p99, ratio). */
function wordsOf(s: string): string[] {
  return s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase().split(/[_-]+/).filter(Boolean);
}

/** Whether `name`'s words include all of `parts`, in order (`rest_port` in `rest_api_port`). */
function containsInOrder(name: string, parts: readonly string[]): boolean {
  let i = 0;
  for (const w of wordsOf(name)) if (w === parts[i]) i++;
  return i === parts.length;
}

/**
 * The candidate a misspelt word most likely meant, if any:
 *   1. the same name spelt in another case or with other separators (`sample_rate` → `sampleRate`);
 *   2. else the closest by edit distance, within a third of the word's length (at least 2 edits);
 *   3. else, for a word of two or more words, the shortest candidate holding all of them in
 *      order (`rest_port` → `rest_api_port`).
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const same = folded(word);
  const twin = candidates.find((c) => folded(c) === same);
  if (twin !== undefined) return twin;
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  if (best !== undefined) return best;
  const parts = wordsOf(word);
  if (parts.length < 2) return undefined;
  return candidates.filter((c) => containsInOrder(c, parts)).sort((a, b) => a.length - b.length)[0];
}

/** ` Did you mean "x"?` or a list of what is allowed. */
export function suggestion(word: string, candidates: readonly string[]): string {
  const near = closest(word, candidates);
  return near ? `did you mean "${near}"?` : `expected one of: ${candidates.join(', ')}`;
}
