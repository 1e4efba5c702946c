// Adapters from the other areas' real objects to the small interfaces the controller
// drives (controller.ts). Each is a few lines; the structural types below name only the
// methods used, so rollout/ does not import the server, SLO or drift implementations.
import type { BurnReading, DriftComparison } from './analysis.ts';
import type { BurnSource, DriftSource, LabelMover, VersionSource } from './ports.ts';

/** The part of server/ ModelManager the rollout uses. */
export interface ModelManagerLike {
  setLabel(name: string, label: string, version: number): void;
  availableVersions(name: string): number[];
}

/** In-process server: `stable` label moves with ModelManager.setLabel (TF Serving's version_labels). */
export function managerLabels(manager: ModelManagerLike): LabelMover & VersionSource {
  return {
    moveLabel: (model, label, version) => manager.setLabel(model, label, Number(version)),
    availableVersions: (model) => manager.availableVersions(model).map(String),
  };
}

/** The part of slo/ SloEngine the rollout uses. */
export interface SloEngineLike {
  snapshot(): { slos: ReadonlyArray<{ name: string; model: string; version: string }> };
  burnRate(slo: string, model: string, version: string, windowMs: number): { bad: number; total: number; burnRate: number | null };
}

/**
 * Burn rates of the SLOs that cover `model` at `version` (per-version SLOs, `version: each`,
 * or pinned to exactly that version), over the analysis window.
 */
export function sloBurnSource(engine: SloEngineLike): BurnSource {
  return {
    burnRates(model, version, windowMs): BurnReading[] {
      const names = engine.snapshot().slos.filter((s) => s.model === model && (s.version === 'each' || s.version === version)).map((s) => s.name);
      return names.map((slo) => {
        const r = engine.burnRate(slo, model, version, windowMs);
        return { slo, windowMs, bad: r.bad, total: r.total, burnRate: r.burnRate };
      });
    },
  };
}

/** The part of drift/ DriftRecorder the rollout uses. */
export interface DriftRecorderLike {
  compareVersions(model: string, stable: string, canary: string): {
    verdict: 'pass' | 'drift' | 'inconclusive';
    reason: string;
    samples: number;
    alpha: number;
    driftedFeatures: string[];
    features: ReadonlyArray<{ feature: string; method: string; score: number; threshold: number; drifted: boolean | null }>;
  };
}

export function driftSource(recorder: DriftRecorderLike): DriftSource {
  return {
    compareVersions(model, stable, canary): DriftComparison {
      const v = recorder.compareVersions(model, stable, canary);
      const values: DriftComparison['values'] = { samples: v.samples, alpha: v.alpha, driftedFeatures: v.driftedFeatures.join(',') };
      for (const f of v.features) values[`${f.feature}.${f.method}`] = Number.isFinite(f.score) ? Number(f.score.toPrecision(6)) : null;
      return { verdict: v.verdict, reason: v.reason, values };
    },
  };
}
