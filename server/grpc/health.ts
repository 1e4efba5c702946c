// grpc.health.v1.Health (grpc/grpc-proto grpc/health/v1/health.proto, semantics in
// grpc/doc/health-checking.md), tied to the server's readiness: SERVING only while every
// model has an available version and the server is not draining. The overall service ""
// and each served service answer; TF Serving registers "tensorflow.serving.ModelService"
// and "tensorflow.serving.PredictionService" (model_servers/server.cc).
import * as grpc from '@grpc/grpc-js';
import { SrvErr } from '../errors.ts';

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
  impl: grpc.UntypedServiceImplementation;
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
  const impl: grpc.UntypedServiceImplementation = {
    Check: (call: grpc.ServerUnaryCall<{ service?: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const service = call.request.service ?? '';
      const status = statusOf(service);
      if (!status) {
        const e = SrvErr.SRV_ERR_NOT_FOUND(`unknown service "${service}"`);
        callback({ code: e.grpc, details: e.message } as grpc.ServiceError);
        return;
      }
      callback(null, { status });
    },
    List: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      callback(null, { statuses: Object.fromEntries(HEALTH_SERVICES.map((s) => [s, { status: statusOf(s) }])) });
    },
    Watch: (call: grpc.ServerWritableStream<{ service?: string }, unknown>) => {
      const service = call.request.service ?? '';
      let last: Status | undefined;
      const send = () => {
        const status = statusOf(service) ?? 'SERVICE_UNKNOWN';
        if (status !== last) {
          last = status;
          call.write({ status });
        }
      };
      send();
      const timer = setInterval(send, WATCH_POLL_MS);
      const end = () => {
        stop();
        call.end();
      };
      const stop = () => {
        clearInterval(timer);
        watchers.delete(send);
        enders.delete(end);
      };
      watchers.add(send);
      enders.add(end);
      call.on('cancelled', stop);
      call.on('close', stop);
      call.on('error', stop);
    },
  };
  return {
    impl,
    notify: () => {
      for (const w of watchers) w();
    },
    close: () => {
      for (const e of [...enders]) e();
    },
  };
}
