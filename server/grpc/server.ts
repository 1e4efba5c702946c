// The gRPC server of `modelgate serve` (TF Serving's --port, default 8500): TF Serving's
// PredictionService and ModelService, KServe v2 GRPCInferenceService and grpc.health.v1,
// all on one @grpc/grpc-js server sharing the REST surface's inference core.
import * as grpc from '@grpc/grpc-js';
import type { ServerMetrics } from '../metrics.ts';
import type { ModelManager } from '../models/manager.ts';
import { createHealth } from './health.ts';
import { inferenceServiceImpl } from './kserve-service.ts';
import { servingServices } from './protos.ts';
import { modelServiceImpl, predictionServiceImpl } from './tf-service.ts';

export interface GrpcServerOptions {
  manager: ModelManager;
  metrics: ServerMetrics;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /**
   * Largest message accepted or sent, bytes; a bigger request gets RESOURCE_EXHAUSTED from
   * grpc-js itself. Default 64 MiB (TF Serving allows INT32_MAX; a bound protects memory).
   */
  maxMessageBytes?: number;
  /** Readiness of the whole server (models loaded, not draining); drives Health and ServerReady. */
  isReady: () => boolean;
  serverName: string;
  serverVersion: string;
  /** Answer TF Predict with tensor_content bytes instead of typed fields. */
  tensorContentOutputs?: boolean;
}

export interface GrpcServer {
  /** 'host:port' clients dial, e.g. '127.0.0.1:8500'. */
  address: string;
  port: number;
  /** Health goes NOT_SERVING and inference calls are refused; calls in flight finish. */
  stopAccepting(): void;
  /** Waits for calls in flight up to `graceMs`, then cuts the rest. */
  close(graceMs?: number): Promise<void>;
}

export const DEFAULT_GRPC_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export async function startGrpcServer(opts: GrpcServerOptions): Promise<GrpcServer> {
  const max = opts.maxMessageBytes ?? DEFAULT_GRPC_MAX_MESSAGE_BYTES;
  const server = new grpc.Server({
    'grpc.max_receive_message_length': max,
    'grpc.max_send_message_length': max,
  });
  let accepting = true;
  const deps = { manager: opts.manager, metrics: opts.metrics, accepting: () => accepting };
  const health = createHealth(() => accepting && opts.isReady());
  const services = servingServices();
  server.addService(services.predictionService, predictionServiceImpl(deps, { tensorContentOutputs: opts.tensorContentOutputs }));
  server.addService(services.modelService, modelServiceImpl(deps));
  server.addService(services.inferenceService, inferenceServiceImpl({
    ...deps,
    isReady: () => accepting && opts.isReady(),
    serverName: opts.serverName,
    serverVersion: opts.serverVersion,
  }));
  server.addService(services.health, health.impl);

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(hostPort(opts.host, opts.port), grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  const dialHost = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;

  let closing: Promise<void> | undefined;
  return {
    address: hostPort(dialHost, port),
    port,
    stopAccepting() {
      accepting = false;
      health.notify();
    },
    close(graceMs = 30_000) {
      if (closing) return closing;
      accepting = false;
      health.notify();
      health.close();
      closing = new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.forceShutdown(), graceMs);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return closing;
    },
  };
}
