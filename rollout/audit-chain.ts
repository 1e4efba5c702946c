// The audit log's hash chain. Each line is one JSON object that ends with three fields:
//   "seq":  its position in the chain (1 for the first line ever written),
//   "prev": the "hash" of the line before it (GENESIS for seq 1),
//   "hash": SHA-256 (hex) of the line's own text up to the hash field, i.e. of
//           JSON.stringify({...entry, seq, prev}).
// An edited line no longer matches its hash; a removed, inserted or reordered line breaks
// the next line's prev (or seq). The chain is checked over the exact bytes written, so no
// canonical JSON is needed. It detects changes; it cannot stop someone who rewrites every
// hash from the edit on, nor a cut of the newest lines: keep a copy of the newest hash (or
// ship the lines) elsewhere for that. Rotation continues the chain in the next file.
import { createHash } from 'node:crypto';

/** `prev` of the first line. */
export const GENESIS = '0'.repeat(64);

export interface ChainHead {
  seq: number;
  hash: string;
}

export const EMPTY_CHAIN: ChainHead = { seq: 0, hash: GENESIS };

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const TAIL = /,"hash":"([0-9a-f]{64})"\}$/;

/** The line (without newline) that appends `entry` after `head`, and the new head. */
export function chainLine(head: ChainHead, entry: Record<string, unknown>): { line: string; head: ChainHead } {
  const { seq: _s, prev: _p, hash: _h, ...rest } = entry;
  const seq = head.seq + 1;
  const body = JSON.stringify({ ...rest, seq, prev: head.hash });
  const hash = sha256(body);
  return { line: `${body.slice(0, -1)},"hash":"${hash}"}`, head: { seq, hash } };
}

/** The chain head a line ends, or undefined when the line is not a chained line (an older, unchained log). */
export function headOf(line: string): ChainHead | undefined {
  const m = TAIL.exec(line);
  if (!m) return undefined;
  try {
    const seq = (JSON.parse(line) as { seq?: unknown }).seq;
    return typeof seq === 'number' && Number.isInteger(seq) && seq > 0 ? { seq, hash: m[1]! } : undefined;
  } catch {
    return undefined;
  }
}

export interface VerifyResult {
  ok: boolean;
  /** Lines checked, across all files. */
  lines: number;
  /** Lines before the first chained line (written before the log was chained); not checked. */
  unchained: number;
  /** seq of the first chained line: 1, or more when older files were rotated away. */
  firstSeq?: number;
  /** The last line's head (compare with a copy kept elsewhere to detect a cut of the newest lines). */
  head?: ChainHead;
  /** The first problem: file, 1-based line number in it, and what is wrong. */
  problem?: { file: string; line: number; message: string };
}

/**
 * Checks audit files given oldest first (e.g. `rollouts-audit.jsonl.2`, `.1`, the current
 * file): each line's hash, and that each line follows the one before it, across files.
 * With `fromGenesis`, the chain must start at seq 1 (no older generation was rotated away,
 * so a later start means the first lines were cut).
 */
export function verifyChain(files: Array<{ name: string; text: string }>, opts: { fromGenesis?: boolean } = {}): VerifyResult {
  const r: VerifyResult = { ok: true, lines: 0, unchained: 0 };
  let head: ChainHead | undefined;
  for (const f of files) {
    const lines = f.text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      r.lines++;
      const fail = (message: string): VerifyResult => ({ ...r, ok: false, problem: { file: f.name, line: i + 1, message } });
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return fail('not a JSON line (edited, or cut in the middle)');
      }
      const m = TAIL.exec(line);
      if (!m || parsed['hash'] === undefined) {
        if (head === undefined) {
          r.unchained++;
          continue; // written before the log was chained
        }
        return fail('has no hash, but the lines before it are chained (inserted or edited)');
      }
      const body = `${line.slice(0, m.index)}}`;
      if (sha256(body) !== m[1]) return fail('its content does not match its hash (the line was edited)');
      const seq = parsed['seq'];
      const prev = parsed['prev'];
      if (typeof seq !== 'number' || typeof prev !== 'string') return fail('seq or prev missing (edited)');
      if (head === undefined) {
        if (seq === 1 && prev !== GENESIS) return fail(`the first line must chain from the genesis value, got prev ${prev.slice(0, 12)}…`);
        if (seq !== 1 && prev === GENESIS) return fail(`chains from the genesis value but has seq ${seq} (lines before it were removed)`);
        if (seq !== 1 && opts.fromGenesis) return fail(`the chain starts at seq ${seq}, but no older file was rotated away: the ${seq - 1} lines before it were removed`);
        r.firstSeq = seq;
      } else {
        if (seq !== head.seq + 1) return fail(`has seq ${seq} after seq ${head.seq} (${seq > head.seq + 1 ? 'lines were removed before it' : 'lines were reordered or repeated'})`);
        if (prev !== head.hash) return fail(`does not follow the line before it (prev ${prev.slice(0, 12)}…, expected ${head.hash.slice(0, 12)}…): that line was edited, or lines were removed or reordered`);
      }
      head = { seq, hash: m[1]! };
    }
  }
  if (head) r.head = head;
  return r;
}
