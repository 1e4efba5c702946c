// A LabelMover for a model server in another process that speaks TF Serving's gRPC
// ModelService (modelgate serve, or TF Serving itself): labels move through
// HandleReloadConfigRequest. That request replaces the server's WHOLE model config
// (tensorflow_serving/apis/model_management.proto, ReloadConfigRequest), so the mover keeps
// the list the server was started with (e.g. from its --model_config_file) and sends all of
// it with the one label changed. TF Serving only accepts a label on an AVAILABLE version
// (server_core.cc), as ModelManager.setLabel does; the error comes back as the failure.
import * as grpc from '@grpc/grpc-js';
import { servingServices } from '../server/grpc/index.ts';
import type { LabelMover } from './ports.ts';

/** One model of the server's config, as TF Serving's ModelConfig (model_server_config.proto). */
export interface ReloadModelConfig {
  name: string;
  basePath: string;
  /** Default `latest` with 1 version, as TF Serving. */
  policy?: { kind: 'latest'; numVersions: number } | { kind: 'all' } | { kind: 'specific'; versions: number[] };
  labels?: Record<string, number>;
  /** TF Serving's model_platform; modelgate accepts "onnx" or empty. */
  platform?: string;
}

/** A reload must not hang a tick: TF Serving answers once the new config is applied. */
const RELOAD_DEADLINE_MS = 30_000;

/** A LabelMover (controller.ts) that also closes its gRPC channel. */
export interface ReloadLabelMover extends LabelMover {
  moveLabel(model: string, label: string, version: string): Promise<void>;
  close(): void;
}

export function reloadConfigLabels(address: string, models: readonly ReloadModelConfig[]): ReloadLabelMover {
  const current = models.map((m) => ({ ...m, labels: { ...(m.labels ?? {}) } }));
  const client = new (servingServices().clients.ModelService)(address, grpc.credentials.createInsecure());
  return {
    async moveLabel(model, label, version) {
      const i = current.findIndex((m) => m.name === model);
      if (i === -1) throw new Error(`model "${model}" is not in the reload config list (${current.map((m) => m.name).join(', ') || 'empty'})`);
      const next = current.map((m, j) => (j === i ? { ...m, labels: { ...m.labels, [label]: Number(version) } } : m));
      const request = {
        config: {
          model_config_list: {
            config: next.map((m) => ({
              name: m.name,
              base_path: m.basePath,
              model_platform: m.platform ?? '',
              model_version_policy: policyProto(m.policy),
              version_labels: Object.fromEntries(Object.entries(m.labels).map(([k, v]) => [k, String(v)])),
            })),
          },
        },
      };
      const res = await new Promise<{ status?: { error_code?: string | number; error_message?: string } }>((resolve, reject) => {
        (client as unknown as Record<string, (req: unknown, md: { deadline: number }, cb: (e: grpc.ServiceError | null, r: unknown) => void) => void>)
          ['HandleReloadConfigRequest']!(request, { deadline: Date.now() + RELOAD_DEADLINE_MS }, (e, r) => (e ? reject(new Error(`HandleReloadConfigRequest failed: ${e.details || e.message}`)) : resolve(r as never)));
      });
      const code = res.status?.error_code;
      if (code !== undefined && code !== 'OK' && code !== 0) throw new Error(`HandleReloadConfigRequest answered ${code}: ${res.status?.error_message ?? ''}`);
      // Only a reload the server accepted changes what later reloads send.
      current[i] = next[i]!;
    },
    close: () => client.close(),
  };
}

function policyProto(p: ReloadModelConfig['policy']): Record<string, unknown> {
  if (!p || p.kind === 'latest') return { latest: { num_versions: p?.numVersions ?? 1 } };
  if (p.kind === 'all') return { all: {} };
  return { specific: { versions: p.versions.map(String) } };
}
