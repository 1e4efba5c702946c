// The internal SLO model. Nothing below the config loader sees YAML: `slo/config.ts` (and
// the Sloth / OpenSLO importers) map user documents to these types, the way Sloth keeps
// its spec apart from its model (slok/sloth internal/storage/io/sloth.go).
import type { Api } from '../common/index.ts';

export type Severity = 'page' | 'ticket';
export const SEVERITIES: readonly Severity[] = ['page', 'ticket'];

/** Good = not a server-side failure. Bad codes match the proxy's `code` label text. */
export interface AvailabilitySli {
  kind: 'availability';
  /**
   * Bad `code` label values as anchored regular-expression alternatives in the syntax
   * shared by RE2 (Prometheus) and JavaScript: "5.." for every 5xx, "UNAVAILABLE" for a
   * gRPC code name. Built from the YAML (`5xx`, `503`, `UNAVAILABLE`) by slo/config.ts.
   */
  badCodes: readonly string[];
  /**
   * Count requests the proxy refused before forwarding (RequestOutcome.rejected: shed, rate
   * limited, unauthenticated, forbidden) by their code like the others. Off by default: the
   * model never saw them, and they are not in modelgate_requests_total either, so the
   * generated Prometheus rules never count them.
   */
  countRejected?: boolean;
}

/** Good = served within the threshold (the histogram bucket `le="<threshold>"`). */
export interface LatencySli {
  kind: 'latency';
  thresholdSeconds: number;
}

/**
 * Good = a closed drift evaluation window of the model version without drift (drift/
 * recorder.ts `onWindowClosed`); inconclusive windows (too few rows, no baseline) count
 * neither way. Events are windows, not requests: `apis` does not apply.
 */
export interface DriftSli {
  kind: 'drift';
}

/**
 * Good = a labelled prediction that was right (classifiers) or within `tolerance` of the
 * label (regression, absolute). Events are labels as they arrive (truth/, POST
 * /api/v1/feedback; SloEngine.recordLabelled), not requests: `apis` does not apply.
 */
export interface AccuracySli {
  kind: 'accuracy';
  /** Labels a window needs before it can fire (the alerting.minEvents default). */
  minLabels: number;
  /** Regression: largest absolute error that counts as right. Absent: classifier (right = the predicted class). */
  tolerance?: number;
}

/** SLIs whose events are requests (SloEngine.record). */
export type RequestSli = AvailabilitySli | LatencySli;
export type Sli = RequestSli | DriftSli | AccuracySli;
export type SliKind = Sli['kind'];

/** One multiwindow alert condition: both windows burn faster than `factor`. */
export interface AlertWindow {
  severity: Severity;
  longMs: number;
  shortMs: number;
  /** Burn-rate factor: error ratio / (1 - objective) must exceed it in both windows. */
  factor: number;
}

export interface SloAlerting {
  windows: readonly AlertWindow[];
  /** Fewer events than this in a window means the window cannot fire (low traffic). */
  minEvents: number;
  runbookUrl?: string;
  /** Extra labels put on alerts and notifications. */
  labels: Readonly<Record<string, string>>;
}

export interface Slo {
  /** Unique, label-safe. */
  name: string;
  description?: string;
  model: string;
  /** A version string, or undefined for "each version" (one series per version). */
  version?: string;
  /** Which `api` label values count as requests for this SLO. */
  apis: readonly Api[];
  sli: Sli;
  /** Target ratio in (0, 1), e.g. 0.999. */
  objective: number;
  periodMs: number;
  alerting: SloAlerting;
  /** Names of notification targets (top-level `notify:` section). */
  notify: readonly string[];
}

/** APIs that carry inference traffic; status/metadata/health probes do not spend budget by default. */
export const INFERENCE_APIS: readonly Api[] = ['predict', 'classify', 'regress', 'infer'];
