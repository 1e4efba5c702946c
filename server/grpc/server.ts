// The gRPC server of `modelgate serve` (TF Serving's --port, default 8500): TF Serving's
// PredictionService and ModelService, KServe v2 GRPCInferenceService and grpc.health.v1,
// on one HTTP/2 listener (transport.ts), sharing the REST surface's inference core.
import type { ServerMetrics } from '../metrics.ts';
import type { ModelManager } from '../models/manager.ts';
import { OVERFLOW_LABEL_VALUE, UNKNOWN_VERSION } from '../../common/conventions.ts';
import { grpcCodeName } from './calls.ts';
import { createHealth } from './health.ts';
import { inferenceServiceImpl } from './kserve-service.ts';
import { servingServices } from './protos.ts';
import { modelServiceImpl } from './model-service.ts';
import { predictionServiceImpl } from './tf-service.ts';
import { startTransport, type ServiceBinding } from './transport.ts';

export interface GrpcServerOptions {
  manager: ModelManager;
  metrics: ServerMetrics;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /**
   * Largest request message accepted, bytes; a bigger one gets RESOURCE_EXHAUSTED as soon
   * as its length prefix arrives. Default 64 MiB (TF Serving allows INT32_MAX; a bound
   * protects memory).
   */
  maxMessageBytes?: number;
  /** Readiness of the whole server (models loaded, not draining); drives Health and ServerReady. */
  isReady: () => boolean;
  serverName: string;
  serverVersion: string;
  /** Answer TF Predict with tensor_content bytes instead of typed fields. */
  tensorContentOutputs?: boolean;
  /** Largest element count of one request tensor; default maxMessageBytes / 4 (a float32 tensor filling the message). */
  maxTensorElements?: number;
  /** A connection with no call open for this long is closed (GOAWAY), ms; default 120 s. */
  idleTimeoutMs?: number;
  /** Time a client has to send a call's request message, ms (the call deadline cuts earlier); default 30 s. */
  messageReadTimeoutMs?: number;
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
  let accepting = true;
  const deps = { manager: opts.manager, metrics: opts.metrics, accepting: () => accepting };
  const health = createHealth(() => accepting && opts.isReady());
  const services = servingServices();
  const maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_GRPC_MAX_MESSAGE_BYTES;
  const maxTensorElements = opts.maxTensorElements ?? Math.floor(maxMessageBytes / 4);
  const wire = (d: unknown) => d as ServiceBinding['definition'];
  const transport = await startTransport({
    host: opts.host,
    port: opts.port,
    maxMessageBytes,
    messageReadTimeoutMs: opts.messageReadTimeoutMs,
    idleTimeoutMs: opts.idleTimeoutMs,
    services: [
      { definition: wire(services.predictionService), methods: predictionServiceImpl(deps, { tensorContentOutputs: opts.tensorContentOutputs, maxTensorElements }) },
      { definition: wire(services.modelService), methods: modelServiceImpl(deps) },
      {
        definition: wire(services.inferenceService),
        methods: inferenceServiceImpl({ ...deps, isReady: () => accepting && opts.isReady(), serverName: opts.serverName, serverVersion: opts.serverVersion, maxTensorElements }),
      },
      { definition: wire(services.health), methods: health.methods },
    ],
    // Counted like any call, under the overflow labels: no model was read.
    onRefused: (code) => opts.metrics.requests.inc({ model: OVERFLOW_LABEL_VALUE, version: UNKNOWN_VERSION, api: 'other', entrypoint: 'grpc', code: grpcCodeName(code) }),
  });
  const dialHost = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  return {
    address: hostPort(dialHost, transport.port),
    port: transport.port,
    stopAccepting() {
      accepting = false;
      health.notify();
    },
    close(graceMs = 30_000) {
      accepting = false;
      health.notify();
      health.close();
      return transport.close(graceMs);
    },
  };
}
