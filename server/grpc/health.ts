// grpc.health.v1.Health (grpc/grpc-proto grpc/health/v1/health.proto, semantics in
// grpc/doc/health-checking.md), tied to the server's readiness: SERVING only while every
// model has an available version and the server is not draining. The overall service ""
// and each served service answer; TF Serving registers "tensorflow.serving.ModelService"
// and "tensorflow.serving.PredictionService" (model_servers/server.cc).
import { SrvErr } from '../errors.ts';
import type { MethodTable, StreamOut } from './calls.ts';

export const HEALTH_SERVICES = [
  '',
  'tensorflow.serving.PredictionService',
  'tensorflow.serving.ModelService',
  'inference.GRPCInferenceService',
] as const;

type Status = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

/** How often Watch streams re-check readiness (model loads change it without an event). */
const WATCH_POLL_MS = 500;

export interface HealthService {
  methods: MethodTable;
  /** Sends the current status to every Watch stream now (e.g. on drain). */
  notify(): void;
  /** Ends every Watch stream, so a graceful shutdown is not held open by them. */
  close(): void;
}

export function createHealth(isServing: () => boolean): HealthService {
  const watchers = new Set<() => void>();
  const enders = new Set<() => void>();
  const statusOf = (service: string): Status | undefined =>
    (HEALTH_SERVICES as readonly string[]).includes(service) ? (isServing() ? 'SERVING' : 'NOT_SERVING') : undefined;

  const methods: MethodTable = {
    Check: {
      kind: 'unary',
      fn: async (req: { service?: string }) => {
        const service = req.service ?? '';
        const status = statusOf(service);
        if (!status) throw SrvErr.SRV_ERR_NOT_FOUND(`unknown service "${service}"`);
        return { status };
      },
    },
    List: {
      kind: 'unary',
      fn: async () => ({ statuses: Object.fromEntries(HEALTH_SERVICES.map((s) => [s, { status: statusOf(s) }])) }),
    },
    Watch: {
      kind: 'stream',
      fn: (req: { service?: string }, _ctx, out: StreamOut) => {
        const service = req.service ?? '';
        let last: Status | undefined;
        const send = () => {
          const status = statusOf(service) ?? 'SERVICE_UNKNOWN';
          if (status !== last) {
            last = status;
            out.write({ status });
          }
        };
        const timer = setInterval(send, WATCH_POLL_MS);
        const end = () => out.end();
        watchers.add(send);
        enders.add(end);
        out.onClose(() => {
          clearInterval(timer);
          watchers.delete(send);
          enders.delete(end);
        });
        send();
      },
    },
  };
  return {
    methods,
    notify: () => {
      for (const w of watchers) w();
    },
    close: () => {
      for (const e of [...enders]) e();
    },
  };
}
