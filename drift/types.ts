// The shapes drift/ hands to and takes from the rest of modelgate: what the proxy offers,
// what evaluation returns, what the admin API and the SLO engine read.
import type { DriftConfig } from './config.ts';
import type { FeatureResult, Verdict } from './evaluate.ts';
import type { DecodedTensor } from './extract.ts';
import type { ProfileSource } from './profile.ts';

export interface BodyOffer {
  model: string;
  version: string;
  api?: string;
  protocol?: 'rest' | 'grpc';
  requestBody: Uint8Array | string;
  responseBody: Uint8Array | string;
  contentType?: string;
  /** gRPC method path (`/tensorflow.serving.PredictionService/Predict`) when protocol is grpc. */
  method?: string;
  /**
   * The client chose the version (proxy RequestOutcome.pinned). Its rows count in the
   * version's windows (the drift SLI) but not in canary-vs-stable comparisons.
   */
  pinned?: boolean;
}

/** Turns one gRPC request/response message pair into tensors (drift/grpc-bodies.ts `decodeGrpcBodies`). */
export type GrpcDecoder = (method: string, request: Buffer, response: Buffer) => { inputs: DecodedTensor[]; outputs: DecodedTensor[] } | undefined;

export interface TensorOffer {
  model: string;
  version: string;
  inputs: readonly DecodedTensor[];
  outputs: readonly DecodedTensor[];
}

export type BaselineInfo =
  | { kind: 'profile'; version: string; inherited: boolean; rows: number; createdAt: string; source: ProfileSource }
  | { kind: 'version'; version: string; samples: number };

export interface DriftVerdict {
  model: string;
  version: string;
  verdict: Verdict;
  reason: string;
  evaluatedAtMs: number;
  window: { startMs: number; endMs: number; closed: boolean };
  requests: number;
  samples: number;
  alpha: number;
  driftedFeatures: string[];
  features: FeatureResult[];
  baseline: BaselineInfo | null;
}

/** The drift SLI unit: one closed evaluation window of one model version. */
export interface DriftWindow {
  model: string;
  version: string;
  startMs: number;
  endMs: number;
  verdict: Verdict;
  /** true = drift, false = no drift, null = inconclusive (not a window the SLI counts). */
  drifted: boolean | null;
  samples: number;
}

export interface DriftStats {
  offered: number;
  sampledOut: number;
  /** Offers for models the drift section does not list, for an unknown or overflow version, or while disabled. */
  ignored: number;
  /** Offers dropped because the queue was full, or a version beyond the per-model cap. */
  dropped: number;
  processed: number;
  unparsable: number;
  /** Parsed but not usable for drift (error responses). */
  skipped: number;
  /** Unexpected failures while recording (a bug if ever above 0). */
  errors: number;
  queued: number;
  /** Baselines captured from live traffic that could not be written. */
  persistFailures: number;
}

export interface DriftSnapshot {
  settings: { enabled: boolean; sampleRate: number; windowMs: number; minSamples: number; thresholds: DriftConfig['thresholds']; verdict: DriftConfig['verdict'] };
  stats: DriftStats;
  models: {
    model: string;
    features: { name: string; source: 'input' | 'output'; tensor: string; column?: number; kind: string; method: string }[];
    baselines: { version: string; rows: number; createdAt: string; source: ProfileSource; features: string[] }[];
    capture: { version: string; rows: number; startMs: number } | null;
    unparsable: number;
    versions: {
      version: string;
      last: DriftVerdict | null;
      currentWindow: { startMs: number; endMs: number; requests: number; rows: number };
      recentWindows: DriftWindow[];
      memoryBytes: number;
    }[];
  }[];
}
