// What the rollout controller drives and reads: small interfaces that the proxy, the
// server, the SLO engine and the drift recorder satisfy directly or through adapters.ts.
import type { AccuracyCounts, BurnReading, DriftComparison } from './analysis.ts';

export interface SplitValue {
  stable: string;
  canary?: string;
  weight: number;
}

/** The proxy's traffic split (proxy/index.ts `Proxy.setSplit/getSplit`). */
export interface SplitActuator {
  setSplit(model: string, split: SplitValue | undefined): void;
  getSplit(model: string): SplitValue | undefined;
}

/** Moves a server label (`stable`) to a version: ModelManager.setLabel in-process, or an admin call. */
export interface LabelMover {
  moveLabel(model: string, label: string, version: string): Promise<void> | void;
}

/** Versions that can serve (AVAILABLE), for `canary: newest` and the default stable. */
export interface VersionSource {
  availableVersions(model: string): Promise<readonly string[]> | readonly string[];
}

/** Burn rates of every SLO covering the model version over a window (slo/ SloEngine.burnRate). */
export interface BurnSource {
  burnRates(model: string, version: string, windowMs: number): readonly BurnReading[];
}

/** Labelled rows of a version whose labels arrived in the last `windowMs`, split-routed only (truth/ GroundTruth.labelledCounts). */
export interface AccuracySource {
  labelledCounts(model: string, version: string, windowMs: number): AccuracyCounts;
}

/** Drift between two versions of a model (drift/ DriftRecorder.compareVersions). */
export interface DriftSource {
  compareVersions(model: string, stable: string, canary: string): DriftComparison | Promise<DriftComparison>;
}

/** Shadow traffic of a model's current shadow step, judged (shadow/ Mirror.judge). */
export interface DivergenceSource {
  judge(model: string, thresholds: { maxDisagreement: number; maxCandidateErrors: number; minPairs: number }): {
    verdict: { verdict: 'pass' | 'fail' | 'inconclusive'; reasons: string[] };
    summary: { pairs: number; rows: number; disagreeingRows: number; agreement: number; candidateErrors: number; candidateErrorRate: number; mismatched: number } | undefined;
    dropped: number;
  };
}
