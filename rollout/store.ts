// Persistence of rollout state (one JSON file, replaced atomically) and the audit log
// (JSON lines, rotated by size). Writes are serialised so two ticks never race on the
// rename. The state is validated on load like config (state-schema.ts); a file that is not
// valid state is never overwritten: the controller moves it aside (`quarantine`) and
// refuses to act on the models it held until an operator resets them.
import { mkdir, open, readFile, rename, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { EMPTY_CHAIN, chainLine, headOf, type ChainHead } from './audit-chain.ts';
import { RolloutErrors } from './errors.ts';
import { asModelRecord, modelRecordProblems, type ModelRecord } from './state-schema.ts';
import { isRecord } from '../common/index.ts';

export const STATE_FORMAT = 'modelgate.rollout.state/v1';
export const STATE_FILE = 'rollouts.json';
export const AUDIT_FILE = 'rollouts-audit.jsonl';
/** The audit log is rotated past this size: `rollouts-audit.jsonl.1` … `.3` keep the older lines. */
export const DEFAULT_AUDIT_MAX_BYTES = 10 * 1024 * 1024;
export const AUDIT_GENERATIONS = 3;

export interface PersistedRollouts {
  format: typeof STATE_FORMAT;
  savedAt: string;
  models: Record<string, ModelRecord>;
}

/** What `read` found. */
export type LoadResult =
  | { kind: 'none' }
  /** The file as a whole is not rollout state (not JSON, another format, `models` not an object). */
  | { kind: 'corrupt'; reason: string }
  /** Valid records, and the problems of the invalid ones by model. */
  | { kind: 'ok'; data: PersistedRollouts; invalid: Record<string, string> };

/** An audit file's chain head, size and write queue, shared by every store of that file in the process. */
interface AuditLogState {
  head: ChainHead | undefined;
  bytes: number | undefined;
  queue: Promise<unknown>;
}
const AUDIT_LOGS = new Map<string, AuditLogState>();

export class RolloutStore {
  readonly statePath: string;
  readonly auditPath: string;
  readonly #dir: string;
  readonly #auditMaxBytes: number;
  readonly #auditLog: AuditLogState;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(dir: string, opts: { auditMaxBytes?: number } = {}) {
    this.#dir = dir;
    this.statePath = join(dir, STATE_FILE);
    this.auditPath = join(dir, AUDIT_FILE);
    this.#auditMaxBytes = opts.auditMaxBytes ?? DEFAULT_AUDIT_MAX_BYTES;
    const key = resolve(this.auditPath);
    let shared = AUDIT_LOGS.get(key);
    if (!shared) AUDIT_LOGS.set(key, (shared = { head: undefined, bytes: undefined, queue: Promise.resolve() }));
    this.#auditLog = shared;
  }

  /** Reads and validates the state file. Never throws for bad content (I/O errors other than ENOENT do). */
  async read(): Promise<LoadResult> {
    let text: string;
    try {
      text = await readFile(this.statePath, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
      throw e;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      return { kind: 'corrupt', reason: `${this.statePath} is not JSON (${(e as Error).message})` };
    }
    if (!isRecord(parsed)) return { kind: 'corrupt', reason: `${this.statePath} is not a JSON object` };
    if (parsed['format'] !== STATE_FORMAT) return { kind: 'corrupt', reason: `${this.statePath} is not ${STATE_FORMAT} state (format ${JSON.stringify(parsed['format'])})` };
    if (!isRecord(parsed['models'])) return { kind: 'corrupt', reason: `${this.statePath}: models must be an object keyed by model name, got ${JSON.stringify(parsed['models'])?.slice(0, 40)}` };
    const models: Record<string, ModelRecord> = {};
    const invalid: Record<string, string> = {};
    for (const [model, raw] of Object.entries(parsed['models'])) {
      const problems = modelRecordProblems(model, raw);
      if (problems.length) invalid[model] = problems.join('; ');
      else models[model] = asModelRecord(raw as Record<string, unknown>);
    }
    return { kind: 'ok', data: { format: STATE_FORMAT, savedAt: String(parsed['savedAt'] ?? ''), models }, invalid };
  }

  /**
   * The persisted state with only its valid records, or undefined when there is none yet.
   * Throws ROL_ERR_STATE_CORRUPT when the file as a whole is not rollout state. For readers
   * that never write (the split follower).
   */
  async load(): Promise<PersistedRollouts | undefined> {
    const r = await this.read();
    if (r.kind === 'none') return undefined;
    if (r.kind === 'corrupt') throw RolloutErrors.ROL_ERR_STATE_CORRUPT(r.reason);
    return r.data;
  }

  /**
   * Moves an invalid state file aside to `rollouts.json.corrupt-<time>` (kept for the
   * operator, never overwritten) and returns its new path.
   */
  quarantine(nowMs: number): Promise<string> {
    return this.#serial(async () => {
      const target = `${this.statePath}.corrupt-${new Date(nowMs).toISOString().replace(/[:.]/g, '-')}`;
      await rename(this.statePath, target);
      await this.#syncDir();
      return target;
    });
  }

  /**
   * Replaces the state file atomically: write a temporary file in the same directory,
   * fsync it, rename over the old one (rename(2) is atomic within a file system), fsync the
   * directory so the rename itself survives a power loss. A crash leaves either the old or
   * the new state, never half of one.
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
      await this.#syncDir();
    });
  }

  /**
   * Appends one JSON line to the audit log and fsyncs it. Past the size limit the log is
   * rotated first (`.1` newest … `.3` oldest; the oldest generation is dropped). Lines are
   * hash-chained (audit-chain.ts; `modelgate audit verify`), across rotations and restarts;
   * `actor` says who acted (an admin token's name, or "controller" when absent).
   */
  audit(entry: Record<string, unknown>): Promise<void> {
    // Every store of this folder in the process appends through the same queue and chain
    // head (the rollout controller and the gateway's admin-action audit share the file).
    const log = this.#auditLog;
    const write = async () => {
      await mkdir(this.#dir, { recursive: true });
      log.head ??= (await lastHead(this.auditPath)) ?? (await lastHead(`${this.auditPath}.1`)) ?? EMPTY_CHAIN;
      const chained = chainLine(log.head, { actor: 'controller', ...entry });
      const line = chained.line + '\n';
      const bytes = Buffer.byteLength(line);
      if (log.bytes === undefined) {
        try {
          log.bytes = (await stat(this.auditPath)).size;
        } catch {
          log.bytes = 0;
        }
      }
      if (log.bytes > 0 && log.bytes + bytes > this.#auditMaxBytes) {
        for (let g = AUDIT_GENERATIONS - 1; g >= 1; g--) {
          await rename(`${this.auditPath}.${g}`, `${this.auditPath}.${g + 1}`).catch(() => undefined);
        }
        await rename(this.auditPath, `${this.auditPath}.1`);
        await this.#syncDir();
        log.bytes = 0;
      }
      const fh = await open(this.auditPath, 'a');
      try {
        await fh.appendFile(line);
        await fh.sync();
      } finally {
        await fh.close();
      }
      log.head = chained.head;
      log.bytes += bytes;
    };
    const next = log.queue.then(write, write);
    log.queue = next.catch(() => undefined);
    return next;
  }

  async #syncDir(): Promise<void> {
    // fsync of a directory makes a rename in it durable (POSIX; Linux and macOS allow
    // opening a directory read-only for it). Platforms that refuse are not an error.
    let fh;
    try {
      fh = await open(this.#dir, 'r');
      await fh.sync();
    } catch {
      // best effort
    } finally {
      await fh?.close().catch(() => undefined);
    }
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(fn, fn);
    this.#chain = next.catch(() => undefined);
    return next;
  }
}

/**
 * The chain head of a log's last line; EMPTY_CHAIN when that line is not chained (a log from
 * before the chain: a new chain starts after it); undefined when the file is missing or empty.
 */
async function lastHead(path: string): Promise<ChainHead | undefined> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = (await fh.stat()).size;
    // Audit lines are well under 64 KiB; read the tail only.
    const len = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, size - len);
    const lines = buf.toString('utf8').split('\n').filter((l) => l !== '');
    const last = lines[lines.length - 1];
    return last === undefined ? undefined : (headOf(last) ?? EMPTY_CHAIN);
  } finally {
    await fh.close();
  }
}
