// Persistence of rollout state (one JSON file, replaced atomically) and the append-only
// audit log (JSON lines). Writes are serialised so two ticks never race on the rename.
import { appendFile, mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { TrafficStats } from './analysis.ts';
import { RolloutErrors } from './errors.ts';
import type { RolloutState } from './types.ts';

export const STATE_FORMAT = 'modelgate.rollout.state/v1';
export const STATE_FILE = 'rollouts.json';
export const AUDIT_FILE = 'rollouts-audit.jsonl';

/** A finished rollout, kept for `GET /api/v1/rollouts`. */
export interface HistoryEntry {
  canary: string | null;
  stable: string | null;
  phase: RolloutState['phase'];
  reason: string;
  startedAt: string | null;
  endedAt: string;
}

export interface ModelRecord {
  state: RolloutState;
  history: HistoryEntry[];
  /** The last stable window with enough requests (the comparison baseline at 100% steps). */
  baseline: TrafficStats | null;
}

export interface PersistedRollouts {
  format: typeof STATE_FORMAT;
  savedAt: string;
  models: Record<string, ModelRecord>;
}

export class RolloutStore {
  readonly statePath: string;
  readonly auditPath: string;
  readonly #dir: string;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(dir: string) {
    this.#dir = dir;
    this.statePath = join(dir, STATE_FILE);
    this.auditPath = join(dir, AUDIT_FILE);
  }

  /** The persisted state, or undefined when there is none yet. Throws ROL_ERR_STATE_CORRUPT. */
  async load(): Promise<PersistedRollouts | undefined> {
    let text: string;
    try {
      text = await readFile(this.statePath, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw RolloutErrors.ROL_ERR_STATE_CORRUPT(`${this.statePath} is not JSON; move it away to start fresh`, e);
    }
    const p = parsed as Partial<PersistedRollouts> | null;
    if (!p || p.format !== STATE_FORMAT || typeof p.models !== 'object' || p.models === null) {
      throw RolloutErrors.ROL_ERR_STATE_CORRUPT(`${this.statePath} is not ${STATE_FORMAT} state; move it away to start fresh`);
    }
    return p as PersistedRollouts;
  }

  /**
   * Replaces the state file atomically: write a temporary file in the same directory,
   * fsync it, rename over the old one (rename(2) is atomic within a file system), so a
   * crash leaves either the old or the new state, never half of one.
   */
  save(data: PersistedRollouts): Promise<void> {
    return this.#serial(async () => {
      await mkdir(this.#dir, { recursive: true });
      const tmp = `${this.statePath}.${process.pid}.tmp`;
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(JSON.stringify(data, null, 2) + '\n');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.statePath);
    });
  }

  /** Appends one JSON line to the audit log. */
  audit(entry: Record<string, unknown>): Promise<void> {
    return this.#serial(async () => {
      await mkdir(this.#dir, { recursive: true });
      await appendFile(this.auditPath, JSON.stringify(entry) + '\n');
    });
  }

  #serial(fn: () => Promise<void>): Promise<void> {
    const next = this.#chain.then(fn, fn);
    this.#chain = next.catch(() => undefined);
    return next;
  }
}
