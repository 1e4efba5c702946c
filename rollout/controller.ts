// The rollout controller: effects at the edge around the pure `decide`. Each tick, per
// model: finish an effect left unfinished, resolve the canary/stable pair, ask `decide`,
// gather what it asks for (an analysis, the pre-rollout webhooks) and ask again, then carry
// the decision out through the interfaces of ports.ts (split weights, label move, webhooks)
// in the one order effects.ts states: persist intent, actuate, persist result, audit.
// Nothing here decides anything `decide` could.
import type { Registry } from 'prom-client';
import type { Clock, RequestOutcome } from '../common/index.ts';
import { analyze, combine, pinnedNote } from './analysis.ts';
import type { AnalysisInputs } from './analysis.ts';
import { resolveCandidate } from './candidate.ts';
import { decide, initialState, resumeAfterRestart } from './decide.ts';
import { EFFECTS, isEffect, labelOf, splitOf } from './effects.ts';
import { RolloutErrors } from './errors.ts';
import { RolloutMetrics } from './metrics.ts';
import { RolloutStore } from './store.ts';
import type { PersistedRollouts } from './store.ts';
import type { BlockedState, ModelRecord, PendingEffect } from './state-schema.ts';
import { STATE_FORMAT } from './store.ts';
import { TrafficCollector, emptyTraffic } from './traffic.ts';
import type { Action, Analysis, Command, DecideInput, Decision, EffectAction, RolloutSpec, RolloutState } from './types.ts';
import { COMMANDS, TERMINAL_PHASES, inShadowStep } from './types.ts';
import { callWebhooks } from './webhooks.ts';
import type { WebhookResult } from './webhooks.ts';
import type { AccuracySource, BurnSource, DivergenceSource, DriftSource, LabelMover, SplitActuator, SplitValue, VersionSource } from './ports.ts';
import { historyOf, verdictOf, viewOf } from './views.ts';
import type { RolloutView, VerdictView } from './views.ts';

export interface ControllerOptions {
  specs: readonly RolloutSpec[];
  clock: Clock;
  split: SplitActuator;
  labels?: LabelMover;
  versions?: VersionSource;
  burn?: BurnSource;
  drift?: DriftSource;
  /** Labelled accuracy per version (truth/), for `analysis.accuracy`. */
  accuracy?: AccuracySource;
  /** Shadow traffic (shadow/ Mirror), for the shadow step's `divergence` check. */
  divergence?: DivergenceSource;
  /** Directory for `rollouts.json` and `rollouts-audit.jsonl`. */
  stateDir: string;
  registry: Registry;
  fetch?: typeof fetch;
  random?: () => number;
  /** One line per transition, for the terminal (the demo prints these). */
  log?: (line: string) => void;
  /** Audit log size before it is rotated (default 10 MiB). */
  auditMaxBytes?: number;
}

/** Finished rollouts kept per model in the state file and the snapshot. */
const HISTORY_LIMIT = 50;

interface Runtime {
  spec: RolloutSpec;
  record: ModelRecord;
}

export class RolloutController {
  readonly store: RolloutStore;
  readonly #o: ControllerOptions;
  readonly #rt = new Map<string, Runtime>();
  /** Records of models in the state file that are not configured now: kept as they are, never dropped. */
  #others: Record<string, ModelRecord> = {};
  readonly #traffic: TrafficCollector;
  readonly #metrics: RolloutMetrics;
  readonly #fetch: typeof fetch;
  #ticking: Promise<void> | undefined;
  /** Ticks and commands run one at a time, so a command never interleaves with an analysis. */
  #lock: Promise<unknown> = Promise.resolve();
  #timer: ReturnType<typeof setInterval> | undefined;
  /** A state write failed: what is in memory is not on disk yet, so no effect may act on it. */
  #unsaved = false;

  private constructor(o: ControllerOptions) {
    this.#o = o;
    this.store = new RolloutStore(o.stateDir, o.auditMaxBytes !== undefined ? { auditMaxBytes: o.auditMaxBytes } : {});
    this.#traffic = new TrafficCollector(o.specs.map((s) => s.model), o.random ? { random: o.random } : {});
    this.#metrics = new RolloutMetrics(o.registry);
    this.#fetch = o.fetch ?? fetch;
  }

  /**
   * Loads persisted state and makes the proxy's split agree with it: the persisted state is
   * the source of truth over the static `proxy.splits` in every phase (a promoted version
   * stays promoted across restarts), and the log says what was applied. State that is not
   * valid is moved aside (`rollouts.json.corrupt-<time>`), never overwritten, and the models
   * it held are blocked: exposed (metric, admin API, status page) and not acted on until
   * `modelgate rollout reset MODEL`.
   */
  static async open(o: ControllerOptions): Promise<RolloutController> {
    const c = new RolloutController(o);
    const loaded = await c.store.read();
    const now = o.clock.now();
    let corruptFile: string | undefined;
    const invalid = loaded.kind === 'ok' ? loaded.invalid : {};
    if (loaded.kind === 'corrupt' || Object.keys(invalid).length > 0) {
      corruptFile = await c.store.quarantine(now);
      const what = loaded.kind === 'corrupt' ? loaded.reason : Object.entries(invalid).map(([m, why]) => `${m}: ${why}`).join('; ');
      c.#log(`the rollout state is not valid and was moved to ${corruptFile}: ${what}`);
    }
    const saved = loaded.kind === 'ok' ? loaded.data : undefined;
    const configured = new Set(o.specs.map((x) => x.model));
    for (const [m, rec] of Object.entries(saved?.models ?? {})) if (!configured.has(m)) c.#others[m] = rec;
    for (const [m, why] of Object.entries(invalid)) {
      // An invalid record of a model no longer configured: still kept aside in the corrupt file; noted here.
      if (!configured.has(m)) c.#log(`${m}: its persisted state was not valid (${why}); it is kept in ${corruptFile}`);
    }
    // Audit lines are written after the state they describe is committed (below).
    const audits: Array<Record<string, unknown>> = [];
    for (const spec of o.specs) {
      const prev = saved?.models[spec.model];
      const why = loaded.kind === 'corrupt' ? loaded.reason : invalid[spec.model];
      let record: ModelRecord;
      if (why !== undefined) {
        const blocked: BlockedState = { reason: why, file: corruptFile!, atMs: now };
        record = { state: { ...initialState(spec.model, now), reason: blockedReason(spec.model, blocked) }, history: [], baseline: null, blocked };
      } else if (prev) {
        record = { state: resumeAfterRestart(prev.state, now), history: prev.history ?? [], baseline: prev.baseline ?? null };
        if (prev.blocked) record.blocked = prev.blocked;
        if (prev.pending) record.pending = prev.pending;
      } else {
        record = { state: initialState(spec.model, now), history: [], baseline: null };
      }
      c.#rt.set(spec.model, { spec, record });
      c.#metrics.init(spec.model);
      c.#metrics.update(record.state);
      c.#metrics.blocked(spec.model, record.blocked !== undefined);
      if (record.blocked) {
        c.#log(`${spec.model}: not acting on this model: ${blockedReason(spec.model, record.blocked)}`);
        if (why !== undefined) audits.push(c.#auditEntry(record.state, { kind: 'restart' }, { type: 'none' }, { note: 'persisted state not valid; model blocked', blocked: record.blocked }));
        continue;
      }
      if (prev) {
        const applied = c.#restore(record.state);
        const p = record.pending;
        const unfinished = p ? `; the ${p.action.type} decided on ${p.input} at ${new Date(p.sinceMs).toISOString()} is not finished and is carried out on the first tick` : '';
        c.#log(`${spec.model}: restored from ${c.store.statePath}: phase ${record.state.phase}; ${applied}${unfinished}`);
        audits.push(c.#auditEntry(record.state, { kind: 'restart' }, { type: 'none' }, { note: `resumed after restart in phase ${record.state.phase}${unfinished}`, applied }));
      }
    }
    await c.#save();
    for (const entry of audits) await c.store.audit(entry);
    return c;
  }

  /**
   * After a restart: the split the persisted state implies, applied over whatever the proxy
   * started with (its static `proxy.splits`). Returns what was done, in words.
   */
  #restore(s: RolloutState): string {
    const cur = this.#o.split.getSplit(s.model);
    const had = cur ? `proxy.splits had ${describeSplit(cur)}` : 'the proxy had no split';
    let want: SplitValue | undefined;
    if (s.stable === null) return `no version chosen yet; ${had}, kept`;
    if ((s.phase === 'Progressing' || s.phase === 'Paused' || s.phase === 'Promoting') && s.step >= 0 && s.canary !== null) {
      want = { stable: s.stable, canary: s.canary, weight: s.weight };
    } else {
      // Succeeded (stable is the promoted version), RolledBack, Failed, Pending: all on stable.
      want = { stable: s.stable, weight: 0 };
    }
    if (cur && cur.stable === want.stable && (cur.canary ?? undefined) === want.canary && (cur.weight === want.weight || (want.canary === undefined && (cur.canary === undefined || cur.weight === 0)))) {
      return `persisted split ${describeSplit(want)} applied (${had}: already the same)`;
    }
    try {
      this.#setSplit(s.model, want);
      return `persisted split ${describeSplit(want)} applied over the static config (${had})`;
    } catch (e) {
      return `persisted split ${describeSplit(want)} NOT applied (${had}): ${(e as Error).message}; retried every tick`;
    }
  }

  /** Feed every finished request here (`proxy.onOutcome(c.observe)`). O(1), never throws. */
  readonly observe = (o: RequestOutcome): void => {
    this.#traffic.record(o);
  };

  get models(): string[] {
    return [...this.#rt.keys()];
  }

  /** Starts the tick loop. Ticks never overlap: a slow one makes the next wait. */
  start(everyMs: number): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.tick().catch((e) => this.#log(`tick failed: ${(e as Error).message}`)), everyMs);
    this.#timer.unref();
  }

  /** Stops the loop and waits for a running tick. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#ticking;
  }

  /** One evaluation of every rollout. */
  tick(): Promise<void> {
    if (this.#ticking) return this.#ticking;
    this.#ticking = this.#exclusive(async () => {
      for (const rt of this.#rt.values()) await this.#tickOne(rt);
    }).finally(() => {
      this.#ticking = undefined;
    });
    return this.#ticking;
  }

  /** Operator command. Throws ROL_ERR_UNKNOWN_MODEL, ROL_ERR_INVALID_ARGUMENT or ROL_ERR_CONFLICT. */
  async command(model: string, command: string): Promise<RolloutView> {
    const rt = this.#runtime(model);
    if (command === 'reset') return this.#exclusive(() => this.#reset(rt));
    if (rt.record.blocked) throw RolloutErrors.ROL_ERR_STATE_CORRUPT(blockedReason(model, rt.record.blocked));
    if (!COMMANDS.includes(command as Command)) throw RolloutErrors.ROL_ERR_INVALID_ARGUMENT(`unknown command "${command}"; one of ${COMMANDS.join(', ')}`);
    return this.#exclusive(async () => {
      const before = rt.record.state;
      const d = decide(rt.spec, before, { kind: 'command', command: command as Command }, this.#o.clock.now());
      if (d.rejected) throw RolloutErrors.ROL_ERR_CONFLICT(d.rejected);
      // A resume starts a fresh interval: traffic seen while paused is not judged.
      if (d.state.lastCheckAtMs !== before.lastCheckAtMs) this.#traffic.drain(model);
      await this.#carryOut(rt, { kind: 'command', command: command as Command }, d);
      return this.view(model);
    });
  }

  /**
   * `modelgate rollout reset MODEL`: the operator resolves a blocked model. Its rollout
   * starts afresh (Pending, no history here: the old state stays in the corrupt file).
   */
  async #reset(rt: Runtime): Promise<RolloutView> {
    const { model } = rt.spec;
    const blocked = rt.record.blocked;
    if (!blocked) throw RolloutErrors.ROL_ERR_CONFLICT(`nothing to reset: the rollout state of "${model}" is valid (reset clears only a model blocked by invalid state)`);
    const now = this.#o.clock.now();
    const state: RolloutState = { ...initialState(model, now), reason: `reset by operator; the invalid state is kept in ${blocked.file}` };
    rt.record = { state, history: [], baseline: null };
    this.#traffic.drain(model);
    this.#metrics.update(state);
    this.#metrics.blocked(model, false);
    await this.#save();
    await this.store.audit(this.#auditEntry(state, { kind: 'command', command: 'reset' }, { type: 'none' }, { note: `reset: the invalid state (${blocked.reason}) is kept in ${blocked.file}` }));
    this.#log(`${model}: reset by operator; starting afresh (the invalid state is kept in ${blocked.file})`);
    return this.view(model);
  }

  /** Models whose persisted state was invalid and that wait for `rollout reset`. */
  blocked(): Array<{ model: string } & BlockedState> {
    return [...this.#rt.values()].filter((rt) => rt.record.blocked).map((rt) => ({ model: rt.spec.model, ...rt.record.blocked! }));
  }

  /** Whether the model has a rollout moving traffic (the admin API refuses manual splits then). */
  activeRollout(model: string): RolloutState | undefined {
    const s = this.#rt.get(model)?.record.state;
    if (!s || TERMINAL_PHASES.includes(s.phase)) return undefined;
    return s.step >= 0 || s.phase === 'Promoting' ? s : undefined;
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => undefined);
    return run;
  }

  view(model: string): RolloutView {
    const { spec, record } = this.#runtime(model);
    return viewOf(spec, record);
  }

  /** JSON for admin `GET /api/v1/rollouts`: every rollout's state and history. */
  snapshot(): { rollouts: RolloutView[]; stateFile: string; auditLog: string } {
    return { rollouts: this.models.map((m) => this.view(m)), stateFile: this.store.statePath, auditLog: this.store.auditPath };
  }

  /** The verdict an external controller polls (Argo Rollouts web metric, Flagger webhook). */
  verdict(model: string): VerdictView {
    return verdictOf(this.#runtime(model).record.state);
  }

  #runtime(model: string): Runtime {
    const rt = this.#rt.get(model);
    if (!rt) throw RolloutErrors.ROL_ERR_UNKNOWN_MODEL(`no rollout configured for model "${model}"; configured: ${this.models.join(', ') || '(none)'}`);
    return rt;
  }

  async #tickOne(rt: Runtime): Promise<void> {
    if (rt.record.blocked) return;
    if (rt.record.pending) {
      // An effect left unfinished (a step failed, or the process stopped) comes first.
      await this.#finish(rt, null);
      if (rt.record.pending) return;
    }
    const s = rt.record.state;
    const needsCandidate = s.step < 0 || TERMINAL_PHASES.includes(s.phase);
    const candidate = needsCandidate ? await this.#candidate(rt) : null;
    const input: DecideInput = { kind: 'tick', candidate };
    const d = decide(rt.spec, s, input, this.#o.clock.now());
    await this.#carryOut(rt, input, d);
    // A tick decides at most twice: once on time, and once on what that decision asked to
    // gather (an analysis or the pre-rollout hooks). Decisions on gathered input only act;
    // an effect's own result (a promotion's) is part of carrying it out. No loop, no bound.
    if (d.action.type === 'analyze' || d.action.type === 'preRollout') {
      const gathered = d.action.type === 'analyze' ? await this.#gatherAnalysis(rt) : await this.#gatherPreRollout(rt);
      const next = decide(rt.spec, rt.record.state, gathered.input, this.#o.clock.now());
      if (next.action.type === 'analyze' || next.action.type === 'preRollout') {
        throw new Error(`${rt.spec.model}: decide asked for ${next.action.type} on a ${gathered.input.kind} input; only a tick gathers`);
      }
      await this.#carryOut(rt, gathered.input, next, gathered.extra);
    }
    this.#reconcile(rt);
  }

  async #gatherAnalysis(rt: Runtime): Promise<{ input: DecideInput; extra: Record<string, unknown> }> {
    return { input: { kind: 'analysis', analysis: await this.#analyze(rt) }, extra: {} };
  }

  async #gatherPreRollout(rt: Runtime): Promise<{ input: DecideInput; extra: Record<string, unknown> }> {
    const s = rt.record.state;
    const now = () => this.#o.clock.now();
    const results = await callWebhooks(rt.spec.webhooks, 'pre-rollout', { model: rt.spec.model, phase: s.phase, canary: s.canary!, stable: s.stable!, weight: 0, reason: s.reason }, this.#fetch, now);
    const failed = results.filter((r) => !r.ok);
    // The window starts with the first step: drop anything gathered before it.
    this.#traffic.drain(rt.spec.model);
    return { input: { kind: 'preRollout', ok: failed.length === 0, reason: failed.map((r) => `${r.name}: ${r.error}`).join('; ') }, extra: { webhooks: results } };
  }

  /**
   * Carries a decision out in the order effects.ts states. Step 1, persist intent: the new
   * state and, for a decision with an effect, the effect as `pending`. A decision without
   * one leaves a pending effect in place (a pause does not cancel a weight being set); a
   * decision with one replaces it (every effect sets the whole split). Then steps 2-4.
   */
  async #carryOut(rt: Runtime, input: DecideInput, d: Decision, extra: Record<string, unknown> = {}): Promise<void> {
    const prev = rt.record.state;
    const effect = isEffect(d.action) ? d.action : undefined;
    // Unchanged state with nothing to do (a quiet tick, an analysis not due) writes nothing.
    if (d.state === prev && !effect) return;
    const { model } = rt.spec;
    const now = this.#o.clock.now();
    // A new rollout after a finished one: archive the finished one.
    if (TERMINAL_PHASES.includes(prev.phase) && !TERMINAL_PHASES.includes(d.state.phase) && prev.canary !== null && prev.canary !== d.state.canary) {
      rt.record.history = [...rt.record.history, historyOf(prev)].slice(-HISTORY_LIMIT);
      rt.record.baseline = null;
    }
    const decisionLine = this.#auditEntry(d.state, input, d.action, extra);
    rt.record.state = d.state;
    if (effect) {
      const labelBack = effect.type === 'rollback' && (prev.phase === 'Promoting' || rt.record.pending?.action.type === 'promote');
      rt.record.pending = { action: effect, labelBack, sinceMs: now, input: inputName(input), reason: d.state.reason };
    }
    if (effect?.type === 'rollback') this.#metrics.rollbacks.inc({ model });
    this.#metrics.update(d.state);
    if (prev.phase !== d.state.phase) this.#log(`${model}: ${prev.phase} → ${d.state.phase} (${d.state.reason})`);
    // 1. persist intent
    try {
      await this.#save();
    } catch (e) {
      if (effect && EFFECTS[effect.type].runsWithoutIntent.includes('split')) this.#trySplit(model, splitOf(effect));
      throw e;
    }
    if (!effect) {
      // Nothing to actuate: the intent is the result (steps 2 and 3 are empty). 4. audit
      await this.store.audit(decisionLine);
      return;
    }
    await this.#finish(rt, decisionLine);
  }

  /**
   * Steps 2-4 of the rule for the model's pending effect: actuate the steps of EFFECTS in
   * order (webhooks only after the traffic steps succeeded), persist the result (`pending`
   * cleared, or kept with the failure as the reason), then audit. Runs right after the
   * intent, and again on every tick while the effect is pending (after a restart too).
   * `decisionLine` is the audit line of the decision that made the intent (null on a re-run).
   */
  async #finish(rt: Runtime, decisionLine: Record<string, unknown> | null): Promise<void> {
    const pending = rt.record.pending!;
    const { model } = rt.spec;
    const a = pending.action;
    const now = () => this.#o.clock.now();
    // Nothing moves before its intent is on disk (a write of the intent that failed is retried here).
    if (this.#unsaved) await this.#save();
    // 2. actuate: split and label, in table order
    const applied: string[] = [];
    let failure: string | undefined;
    for (const step of EFFECTS[a.type].steps) {
      if (failure !== undefined || step === 'hooks') continue;
      failure = step === 'split' ? this.#splitStep(model, a, applied) : await this.#labelStep(model, a, pending, applied);
    }
    // The state after the effect.
    const before = rt.record.state;
    let state = before;
    let resultInput: DecideInput | undefined;
    if (a.type === 'promote') {
      resultInput = { kind: 'promoted', ok: failure === undefined, reason: failure ?? applied.join('; ') };
      state = decide(rt.spec, state, resultInput, now()).state;
    } else if (failure !== undefined) {
      const reason = a.type === 'setWeight' ? `could not set the split, retrying every tick: ${failure}` : `${pending.reason}; not applied yet, retrying every tick: ${failure}`;
      state = reason === state.reason ? state : { ...state, reason, updatedAtMs: now() };
    } else if (state.reason !== pending.reason) {
      state = { ...state, reason: pending.reason, updatedAtMs: now() };
    }
    // A step whose split was set late is judged on a full interval from now on.
    if (a.type === 'setWeight' && failure === undefined && !decisionLine) state = resumeAfterRestart(state, now());
    // A re-run that failed the same way again changes nothing: nothing is written.
    if (failure !== undefined && !decisionLine && state.reason === before.reason) return;
    // 2. actuate: webhooks, once the traffic is where the state says
    let webhooks: WebhookResult[] = [];
    if (failure === undefined && EFFECTS[a.type].steps.includes('hooks')) {
      const type = a.type === 'promote' ? 'promote' : 'rollback';
      const fields = a.type === 'promote'
        ? { model, phase: 'Succeeded' as const, canary: a.canary, stable: a.stable, weight: 100, reason: state.reason }
        : { model, phase: 'RolledBack' as const, canary: a.canary, stable: a.stable, weight: 0, reason: a.type === 'rollback' ? a.reason : state.reason };
      webhooks = await callWebhooks(rt.spec.webhooks, type, fields, this.#fetch, now);
    }
    // 3. persist result
    rt.record.state = state;
    if (failure === undefined) delete rt.record.pending;
    this.#metrics.update(state);
    await this.#save();
    // 4. audit
    if (decisionLine) await this.store.audit(decisionLine);
    const extra: Record<string, unknown> = { effect: a.type, applied, webhooks, ...(failure !== undefined ? { failed: failure } : {}), ...(decisionLine ? {} : { rerun: `of the ${a.type} decided on ${pending.input} at ${new Date(pending.sinceMs).toISOString()}` }) };
    if (resultInput) await this.store.audit(this.#auditEntry(state, resultInput, { type: 'none' }, extra));
    else await this.store.audit(this.#auditEntry(state, { kind: 'effect' }, { type: 'none' }, extra));
    if (failure === undefined) this.#logDone(model, a);
    else this.#log(`${model}: ${a.type} not applied yet, retrying every tick: ${failure}`);
  }

  /** The split step of an effect. Returns the failure, or undefined. */
  #splitStep(model: string, a: EffectAction, applied: string[]): string | undefined {
    const split = splitOf(a);
    try {
      this.#setSplit(model, split);
    } catch (e) {
      return `setting the split failed: ${(e as Error).message}`;
    }
    if (a.type === 'setWeight') this.#traffic.drain(model);
    applied.push(a.type === 'setWeight' ? `split ${describeSplit(split)}` : `split 100% → ${split.stable}`);
    return undefined;
  }

  /** The label step of an effect. Returns the failure, or undefined. */
  async #labelStep(model: string, a: EffectAction, p: PendingEffect, applied: string[]): Promise<string | undefined> {
    const version = labelOf(a, p.labelBack);
    if (version === undefined) return undefined;
    if (!this.#o.labels) {
      applied.push('stable label not moved: no label mover attached (the upstream is not modelgate); move it by hand');
      return undefined;
    }
    try {
      await this.#o.labels.moveLabel(model, 'stable', version);
    } catch (e) {
      return `moving the stable label failed: ${(e as Error).message}`;
    }
    applied.push(`label stable → ${version}`);
    return undefined;
  }

  #logDone(model: string, a: EffectAction): void {
    if (a.type === 'promote') {
      this.#metrics.promotions.inc({ model });
      this.#log(`${model}: promoted ${a.canary} (was ${a.stable})`);
    } else if (a.type === 'rollback') {
      this.#traffic.drain(model);
      this.#log(`${model}: rolled back ${a.canary} → all traffic on ${a.stable}: ${a.reason}`);
    }
  }

  /** Sets a split when nothing else may be done; a failure is only logged. */
  #trySplit(model: string, split: SplitValue): void {
    try {
      this.#setSplit(model, split);
    } catch (e) {
      this.#log(`${model}: could not set the split ${describeSplit(split)}: ${(e as Error).message}`);
    }
  }

  #setSplit(model: string, split: SplitValue): void {
    // Keep what the operator set besides the versions and weight (e.g. a sticky header).
    const current = this.#o.split.getSplit(model) as (SplitValue & { stickyHeader?: string }) | undefined;
    const next: SplitValue & { stickyHeader?: string } = { stable: split.stable, weight: split.canary === undefined ? 0 : split.weight };
    if (split.canary !== undefined) next.canary = split.canary;
    if (current?.stickyHeader !== undefined) next.stickyHeader = current.stickyHeader;
    this.#o.split.setSplit(model, next);
  }

  /**
   * Makes the proxy's split agree with the state when something else changed it. While an
   * effect is pending its own steps own the split.
   */
  #reconcile(rt: Runtime): void {
    const s = rt.record.state;
    if (rt.record.pending || s.stable === null || s.canary === null) return;
    try {
      const cur = this.#o.split.getSplit(s.model);
      if ((s.phase === 'Progressing' || s.phase === 'Paused') && s.step >= 0) {
        if (!cur || cur.stable !== s.stable || cur.canary !== s.canary || cur.weight !== s.weight) this.#setSplit(s.model, { stable: s.stable, canary: s.canary, weight: s.weight });
      } else if (s.phase === 'RolledBack') {
        if (!cur || (cur.canary === s.canary && cur.weight > 0) || cur.stable === s.canary) this.#setSplit(s.model, { stable: s.stable, weight: 0 });
      }
    } catch (e) {
      this.#log(`${s.model}: could not reconcile the split: ${(e as Error).message}`);
    }
  }

  /** The canary/stable pair a Pending or finished rollout should look at, or null. */
  async #candidate(rt: Runtime): Promise<{ canary: string; stable: string } | null> {
    let available: readonly string[] | undefined;
    if (this.#o.versions) {
      try {
        available = await this.#o.versions.availableVersions(rt.spec.model);
      } catch {
        return null;
      }
    }
    return resolveCandidate(rt.spec, rt.record.state, this.#o.split.getSplit(rt.spec.model)?.stable, available);
  }

  /**
   * What shadow traffic to send for a model: its candidate, share and comparison while the
   * rollout is in its shadow step; undefined otherwise (the gateway's mirror asks per request).
   */
  shadowPlan(model: string): { candidate: string; share: number; compare: NonNullable<RolloutSpec['shadow']>['compare']; sinceMs: number } | undefined {
    const rt = this.#rt.get(model);
    const shadow = rt?.spec.shadow;
    if (!rt || !shadow || rt.record.blocked) return undefined;
    const s = rt.record.state;
    if (!inShadowStep(rt.spec, s) || s.canary === null || s.stepStartedAtMs === null) return undefined;
    return { candidate: s.canary, share: shadow.share, compare: shadow.compare, sinceMs: s.stepStartedAtMs };
  }

  /** The shadow step's analysis: the `divergence` check alone (the canary serves no client). */
  #shadowAnalysis(rt: Runtime, now: number, windowMs: number, canary: ReturnType<typeof emptyTraffic>, stable: ReturnType<typeof emptyTraffic>): Analysis {
    const shadow = rt.spec.shadow!;
    const notes: string[] = [];
    const pinned = pinnedNote(canary, stable);
    if (pinned) notes.push(pinned);
    if (!this.#o.divergence) {
      const checks = [{ name: 'divergence', verdict: 'inconclusive' as const, reason: 'no shadow traffic source attached (the gateway mirrors; a bare controller cannot)', values: {} }];
      return { verdict: 'inconclusive', atMs: now, windowMs, checks, notes };
    }
    const thresholds = { maxDisagreement: shadow.maxDisagreement, maxCandidateErrors: shadow.maxCandidateErrors, minPairs: shadow.minRequests };
    const j = this.#o.divergence.judge(rt.spec.model, thresholds);
    const sm = j.summary;
    const values = {
      comparedRequests: sm ? sm.pairs + sm.candidateErrors : 0, minRequests: shadow.minRequests, rows: sm?.rows ?? 0, disagreeingRows: sm?.disagreeingRows ?? 0,
      agreement: sm && sm.rows > 0 ? sm.agreement : null, candidateErrors: sm?.candidateErrors ?? 0, candidateErrorRate: sm?.candidateErrorRate ?? 0,
      mismatched: sm?.mismatched ?? 0, dropped: j.dropped, maxDisagreement: shadow.maxDisagreement, maxCandidateErrors: shadow.maxCandidateErrors,
    };
    const pct = (x: number) => `${Math.round(x * 10_000) / 100}%`;
    const reason =
      j.verdict.verdict === 'inconclusive' ? `too few mirrored requests compared yet: ${j.verdict.reasons.join('; ')}`
      : j.verdict.verdict === 'fail' ? j.verdict.reasons.join('; ')
      : `the candidate answered as stable on ${pct(sm!.agreement)} of ${sm!.rows} rows (${sm!.pairs} requests, ${sm!.candidateErrors} candidate errors)`;
    const checks = [{ name: 'divergence', verdict: j.verdict.verdict, reason, values }];
    return { verdict: combine(checks), atMs: now, windowMs, checks, notes };
  }

  async #analyze(rt: Runtime): Promise<Analysis> {
    const { spec, record } = rt;
    const s = record.state;
    const now = this.#o.clock.now();
    const windowMs = Math.max(1, now - (s.lastCheckAtMs ?? now));
    const traffic = this.#traffic.drain(spec.model);
    const canary = traffic.get(s.canary!) ?? emptyTraffic(s.canary!);
    let stable = traffic.get(s.stable!) ?? emptyTraffic(s.stable!);
    if (inShadowStep(spec, s)) return this.#shadowAnalysis(rt, now, windowMs, canary, stable);
    const notes: string[] = [];
    let analysisSpec = spec.analysis;
    if (stable.requests >= spec.minRequests) {
      record.baseline = stable;
    } else if (record.baseline && record.baseline.version === s.stable) {
      // At a 100% step stable serves nothing: its error ratio is compared from the last
      // window that had traffic. Latency is not: a window from another time saw another
      // load on the machine (the e2e tests caught 5x p99 "regressions" this way), so at
      // such a step latency is judged only by the canary's own SLOs.
      notes.push(`stable served ${stable.requests} requests; error ratio compared with its last window that had ${record.baseline.requests}; latency not compared across time`);
      stable = record.baseline;
      analysisSpec = { ...spec.analysis, latency: { ...spec.analysis.latency, enabled: false } };
    }
    const inputs: AnalysisInputs = { atMs: now, windowMs, canary, stable };
    if (this.#o.burn && spec.analysis.slo.enabled) {
      try {
        inputs.burn = this.#o.burn.burnRates(spec.model, s.canary!, spec.analysis.slo.windowMs ?? windowMs);
      } catch (e) {
        inputs.burn = { error: (e as Error).message };
      }
    }
    if (this.#o.drift && spec.analysis.drift.enabled) {
      try {
        inputs.drift = await this.#o.drift.compareVersions(spec.model, s.stable!, s.canary!);
      } catch (e) {
        inputs.drift = { error: (e as Error).message };
      }
    }
    if (this.#o.accuracy && spec.analysis.accuracy.enabled) {
      // Labels come late and slowly: both versions are judged on every label that arrived
      // since the rollout started (the last hour at most), not one interval's, which also
      // keeps stable's labels in the comparison at a 100% step, where it serves nothing.
      const sinceStart = Math.max(windowMs, now - (s.startedAtMs ?? now));
      try {
        inputs.accuracy = {
          canary: this.#o.accuracy.labelledCounts(spec.model, s.canary!, sinceStart),
          stable: this.#o.accuracy.labelledCounts(spec.model, s.stable!, sinceStart),
        };
      } catch (e) {
        inputs.accuracy = { error: (e as Error).message };
      }
    }
    const a = analyze(analysisSpec, spec.minRequests, inputs);
    return notes.length ? { ...a, notes: [...a.notes, ...notes] } : a;
  }

  #auditEntry(s: RolloutState, input: DecideInput | { kind: 'restart' } | { kind: 'effect' } | { kind: 'command'; command: 'reset' }, action: Action, extra: Record<string, unknown>): Record<string, unknown> {
    const entry: Record<string, unknown> = {
      time: new Date(this.#o.clock.now()).toISOString(),
      model: s.model,
      phase: s.phase,
      step: s.step,
      weight: s.weight,
      canary: s.canary,
      stable: s.stable,
      failedChecks: s.failedChecks,
      input: input.kind === 'command' ? `command:${input.command}` : input.kind,
      action,
      reason: s.reason,
    };
    if (input.kind === 'analysis') {
      entry['verdict'] = input.analysis.verdict;
      entry['checks'] = input.analysis.checks;
      entry['notes'] = input.analysis.notes;
      entry['windowMs'] = input.analysis.windowMs;
    }
    return { ...entry, ...extra };
  }

  /** Writes every model's record. Until a write succeeds, memory is ahead of the disk (`#unsaved`). */
  async #save(): Promise<void> {
    const models: Record<string, ModelRecord> = { ...this.#others };
    for (const [m, rt] of this.#rt) models[m] = rt.record;
    const data: PersistedRollouts = { format: STATE_FORMAT, savedAt: new Date(this.#o.clock.now()).toISOString(), models };
    this.#unsaved = true;
    await this.store.save(data);
    this.#unsaved = false;
  }

  #log(line: string): void {
    this.#o.log?.(line);
  }
}

function inputName(input: DecideInput): string {
  return input.kind === 'command' ? `command:${input.command}` : input.kind;
}

function describeSplit(s: SplitValue): string {
  return s.canary !== undefined && s.weight > 0 ? `{stable ${s.stable}, canary ${s.canary} at ${s.weight}%}` : `{all on ${s.stable}}`;
}

function blockedReason(model: string, b: BlockedState): string {
  return `the persisted rollout state of "${model}" was not valid (${b.reason}); it is kept in ${b.file}. Nothing is done for this model until an operator runs: modelgate rollout reset ${model}`;
}
