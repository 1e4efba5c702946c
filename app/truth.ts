// Delayed labels in the gateway: the proxy's sampled bodies feed the prediction store
// (truth/), each labelled row is an event of the model's accuracy SLOs, and the admin API
// gets POST /api/v1/feedback and GET /api/v1/accuracy.
import type { Clock } from '../common/index.ts';
import type { Registry } from 'prom-client';
import type { Config } from '../config/index.ts';
import type { Proxy } from '../proxy/index.ts';
import type { SloEngine } from '../slo/index.ts';
import { decodeGrpcBodies } from '../drift/grpc-bodies.ts';
import { GroundTruth, mountFeedbackRoutes, registerTruthMetrics } from '../truth/index.ts';

/** Every accuracy SLO tolerance: buckets of the absolute-error histogram, so the rules have an exact `le`. */
export function accuracyTolerances(config: Config): number[] {
  return config.slos.flatMap((s) => (s.sli.kind === 'accuracy' && s.sli.tolerance !== undefined ? [s.sli.tolerance] : []));
}

export function attachTruth(run: { config: Config; clock: Clock; registry: Registry }, proxy: Proxy, slo: SloEngine): GroundTruth | undefined {
  const section = run.config.truth;
  if (!section || section.models.length === 0) return undefined;
  const truth = new GroundTruth(section, { clock: run.clock, grpcDecoder: decodeGrpcBodies });
  registerTruthMetrics(run.registry, truth, { tolerances: accuracyTolerances(run.config) });
  proxy.onBodies((b) => truth.offer(b));
  truth.onLabelled((e) => slo.recordLabelled(e));
  mountFeedbackRoutes((m, p, h, o) => proxy.route(m, p, h, o), truth);
  return truth;
}
