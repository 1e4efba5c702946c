// Durations as users write them in YAML and flags: "250ms", "5m", "1h30m", "30d", "2w".
// Prometheus accepts the same units (ms, s, m, h, d, w, y), so a window written here can be
// copied into a rule unchanged.

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/y;

/** Parses a duration to milliseconds; returns undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (s === '') return undefined;
  PART.lastIndex = 0;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    PART.lastIndex = pos;
    const m = PART.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    pos = PART.lastIndex;
  }
  // Digits beyond what a double holds exactly ("99999999999999999999y") are not a duration
  // anyone meant; neither is a fraction of a millisecond.
  return Number.isSafeInteger(Math.round(total)) ? Math.round(total) : undefined;
}

/** Formats milliseconds as the shortest Prometheus duration ("5m", "1h30m", "250ms"). */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ];
  let rest = Math.round(ms);
  let out = '';
  for (const [u, size] of units) {
    if (rest >= size) {
      const n = Math.floor(rest / size);
      out += `${n}${u}`;
      rest -= n * size;
    }
  }
  return out;
}
