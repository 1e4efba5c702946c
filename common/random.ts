// Small deterministic number tools shared by the example models (byte-identical rebuilds),
// drift reservoirs and baselines (reproducible samples), the proxy's sticky split
// (consistent hashing) and tests (no Math.random).

/** A seeded PRNG (mulberry32, public domain, Tommy Ettinger 2017): uniform numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * FNV-1a 32-bit (Fowler–Noll–Vo, IETF draft-eastlake-fnv §2) over a string's UTF-16 code
 * units: a fast, well-mixed hash for sticky routing and per-key seeds. Not cryptographic.
 */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
