// Persisted rollout state (`rollouts.json`): the shape of one model's record, and its
// validation, as strict as the config: a state the controller would act on must be one it
// could have written. Anything else is reported with the path of the bad value, and the
// controller refuses to act on that model (controller.ts `open`) instead of guessing.
import { isRecord } from '../common/index.ts';
import type { TrafficStats } from './analysis.ts';
import { PHASES } from './types.ts';
import type { EffectAction, RolloutState } from './types.ts';

/** A finished rollout, kept for `GET /api/v1/rollouts`. */
export interface HistoryEntry {
  canary: string | null;
  stable: string | null;
  phase: RolloutState['phase'];
  reason: string;
  startedAt: string | null;
  endedAt: string;
}

/** Why the controller refuses to act on a model: its persisted state was not valid. */
export interface BlockedState {
  reason: string;
  /** Where the invalid state file was moved (kept for the operator). */
  file: string;
  atMs: number;
}

/**
 * An effect whose intent is persisted and whose steps have not all succeeded yet
 * (rollout/effects.ts): the controller finishes it before it decides anything new, after a
 * restart too.
 */
export interface PendingEffect {
  action: EffectAction;
  /** Rollback only: the rollout had reached Promoting, so the `stable` label is moved back. */
  labelBack: boolean;
  /** When the decision was made (ms). */
  sinceMs: number;
  /** What it was decided on (`analysis`, `command:abort`, ...), for the audit of a re-run. */
  input: string;
  /** The decided state's reason: the state's reason again once a failed step succeeds. */
  reason: string;
}

export interface ModelRecord {
  state: RolloutState;
  history: HistoryEntry[];
  /** The last stable window with enough requests (the comparison baseline at 100% steps). */
  baseline: TrafficStats | null;
  /** Set while the model's persisted state was invalid and no operator has reset it. */
  blocked?: BlockedState;
  /** Set from the intent of an effect until all its steps succeeded. */
  pending?: PendingEffect;
}

/**
 * A version as TF Serving and KServe name them: digits (int64 versions), or a short name of
 * letters, digits, `.`, `_`, `-` that does not start with a dot (no path can hide in one).
 */
export const VERSION_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/;

const PAUSED_BY = ['operator', 'analysis'] as const;
const VERDICTS = ['pass', 'fail', 'inconclusive'] as const;

class Problems {
  readonly list: string[] = [];
  add(path: string, message: string): void {
    if (this.list.length < 20) this.list.push(`${path}: ${message}`);
  }
}

const isVersion = (v: unknown): v is string => typeof v === 'string' && VERSION_PATTERN.test(v);
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

function version(raw: Record<string, unknown>, key: string, path: string, p: Problems, nullable: boolean): void {
  const v = raw[key];
  if (v === null && nullable) return;
  if (!isVersion(v)) p.add(`${path}.${key}`, `must be a version string (${VERSION_PATTERN.source})${nullable ? ' or null' : ''}, got ${JSON.stringify(v)}`);
}

function time(raw: Record<string, unknown>, key: string, path: string, p: Problems, nullable: boolean): void {
  const v = raw[key];
  if (v === null && nullable) return;
  if (!isTime(v)) p.add(`${path}.${key}`, `must be a time in ms${nullable ? ' or null' : ''}, got ${JSON.stringify(v)}`);
}

function integer(raw: Record<string, unknown>, key: string, path: string, p: Problems, min: number, max: number): void {
  const v = raw[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) p.add(`${path}.${key}`, `must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
}

function checkState(raw: unknown, model: string, path: string, p: Problems): void {
  if (!isRecord(raw)) {
    p.add(path, 'must be an object');
    return;
  }
  if (raw['model'] !== model) p.add(`${path}.model`, `must be "${model}" (the key it is stored under), got ${JSON.stringify(raw['model'])}`);
  if (!PHASES.includes(raw['phase'] as never)) p.add(`${path}.phase`, `must be one of ${PHASES.join(', ')}, got ${JSON.stringify(raw['phase'])}`);
  version(raw, 'canary', path, p, true);
  version(raw, 'stable', path, p, true);
  integer(raw, 'step', path, p, -1, 1000);
  const w = raw['weight'];
  if (typeof w !== 'number' || !Number.isFinite(w) || w < 0 || w > 100) p.add(`${path}.weight`, `must be a percentage from 0 to 100, got ${JSON.stringify(w)}`);
  integer(raw, 'failedChecks', path, p, 0, 1_000_000);
  if (raw['pausedBy'] !== null && !PAUSED_BY.includes(raw['pausedBy'] as never)) p.add(`${path}.pausedBy`, `must be null, "operator" or "analysis", got ${JSON.stringify(raw['pausedBy'])}`);
  if (typeof raw['reason'] !== 'string') p.add(`${path}.reason`, 'must be a string');
  time(raw, 'startedAtMs', path, p, true);
  time(raw, 'stepStartedAtMs', path, p, true);
  time(raw, 'lastCheckAtMs', path, p, true);
  time(raw, 'updatedAtMs', path, p, false);
  const rb = raw['rolledBack'];
  if (!Array.isArray(rb) || !rb.every(isVersion)) p.add(`${path}.rolledBack`, 'must be a list of version strings');
  const a = raw['lastAnalysis'];
  if (a !== null && (!isRecord(a) || !VERDICTS.includes(a['verdict'] as never) || !Array.isArray(a['checks']) || !Array.isArray(a['notes']))) {
    p.add(`${path}.lastAnalysis`, 'must be null or an analysis {verdict, checks[], notes[]}');
  }
  // A rollout that moved traffic knows both of its versions.
  const phase = raw['phase'];
  const started = typeof raw['step'] === 'number' && raw['step'] >= 0;
  if ((phase === 'Progressing' || phase === 'Promoting' || phase === 'Succeeded' || phase === 'RolledBack' || (phase === 'Paused' && started)) && (raw['canary'] === null || raw['stable'] === null)) {
    p.add(path, `a ${phase} rollout needs both canary and stable versions`);
  }
  if (raw['canary'] !== null && raw['canary'] === raw['stable'] && phase !== 'Succeeded') p.add(path, `canary and stable are the same version (${JSON.stringify(raw['canary'])})`);
}

function checkHistory(raw: unknown, path: string, p: Problems): void {
  if (!Array.isArray(raw)) {
    p.add(path, 'must be a list');
    return;
  }
  raw.forEach((h, i) => {
    const hp = `${path}[${i}]`;
    if (!isRecord(h)) return p.add(hp, 'must be an object');
    version(h, 'canary', hp, p, true);
    version(h, 'stable', hp, p, true);
    if (!PHASES.includes(h['phase'] as never)) p.add(`${hp}.phase`, `must be one of ${PHASES.join(', ')}`);
    if (typeof h['endedAt'] !== 'string') p.add(`${hp}.endedAt`, 'must be a time string');
  });
}

function checkBaseline(raw: unknown, path: string, p: Problems): void {
  if (raw === null || raw === undefined) return;
  if (!isRecord(raw)) return p.add(path, 'must be null or traffic stats');
  version(raw, 'version', path, p, false);
  integer(raw, 'requests', path, p, 0, Number.MAX_SAFE_INTEGER);
  integer(raw, 'errors', path, p, 0, Number.MAX_SAFE_INTEGER);
  const l = raw['latencies'];
  if (!Array.isArray(l) || !l.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0)) p.add(`${path}.latencies`, 'must be a list of seconds');
}

function checkBlocked(raw: unknown, path: string, p: Problems): void {
  if (raw === null || raw === undefined) return;
  if (!isRecord(raw) || typeof raw['reason'] !== 'string' || typeof raw['file'] !== 'string' || !isTime(raw['atMs'])) p.add(path, 'must be null or {reason, file, atMs}');
}

function checkPending(raw: unknown, path: string, p: Problems): void {
  if (raw === null || raw === undefined) return;
  if (!isRecord(raw) || !isRecord(raw['action'])) return p.add(path, 'must be null or {action, labelBack, sinceMs, input, reason}');
  const a = raw['action'];
  const type = a['type'];
  if (type !== 'setWeight' && type !== 'promote' && type !== 'rollback') p.add(`${path}.action.type`, `must be setWeight, promote or rollback, got ${JSON.stringify(type)}`);
  version(a, 'stable', `${path}.action`, p, false);
  version(a, 'canary', `${path}.action`, p, false);
  if (type === 'setWeight') {
    const w = a['weight'];
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0 || w > 100) p.add(`${path}.action.weight`, `must be a percentage from 0 to 100, got ${JSON.stringify(w)}`);
  }
  if (type === 'rollback' && typeof a['reason'] !== 'string') p.add(`${path}.action.reason`, 'must be a string');
  if (typeof raw['labelBack'] !== 'boolean') p.add(`${path}.labelBack`, 'must be true or false');
  time(raw, 'sinceMs', path, p, false);
  if (typeof raw['input'] !== 'string') p.add(`${path}.input`, 'must be a string');
  if (typeof raw['reason'] !== 'string') p.add(`${path}.reason`, 'must be a string');
}

/** Problems of one model's persisted record (empty when it is valid). */
export function modelRecordProblems(model: string, raw: unknown): string[] {
  const p = new Problems();
  const path = `models.${model}`;
  if (!isRecord(raw)) {
    p.add(path, 'must be an object {state, history, baseline}');
    return p.list;
  }
  checkState(raw['state'], model, `${path}.state`, p);
  checkHistory(raw['history'] ?? [], `${path}.history`, p);
  checkBaseline(raw['baseline'], `${path}.baseline`, p);
  checkBlocked(raw['blocked'], `${path}.blocked`, p);
  checkPending(raw['pending'], `${path}.pending`, p);
  return p.list;
}

/** A validated record in its typed form (call only when modelRecordProblems is empty). */
export function asModelRecord(raw: Record<string, unknown>): ModelRecord {
  const record: ModelRecord = {
    state: raw['state'] as RolloutState,
    history: (raw['history'] ?? []) as HistoryEntry[],
    baseline: (raw['baseline'] ?? null) as TrafficStats | null,
  };
  const b = raw['blocked'] as ModelRecord['blocked'];
  if (b) record.blocked = b;
  const pending = raw['pending'] as ModelRecord['pending'];
  if (pending) record.pending = pending;
  return record;
}
