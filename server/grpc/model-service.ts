// tensorflow.serving.ModelService: GetModelStatus and HandleReloadConfigRequest, after
// tensorflow_serving/model_servers/get_model_status_impl.cc and model_service_impl.cc.
import { resolve } from 'node:path';
import { SrvErr } from '../errors.ts';
import type { ModelConfig } from '../models/types.ts';
import type { VersionPolicy } from '../repository/policy.ts';
import { modelLabel, parseModelSpec, unary, type CallDeps, type MethodTable, type ModelSpecMsg } from './calls.ts';

interface PolicyMsg {
  policy_choice?: 'latest' | 'all' | 'specific';
  latest?: { num_versions?: number } | null;
  specific?: { versions?: (string | number)[] } | null;
}
interface ModelConfigMsg {
  name?: string;
  base_path?: string;
  model_platform?: string;
  model_version_policy?: PolicyMsg | null;
  version_labels?: Record<string, string | number>;
}
interface ReloadRequestMsg {
  config?: { config?: 'model_config_list' | 'custom_model_config'; model_config_list?: { config?: ModelConfigMsg[] } | null } | null;
}

function policyFromProto(p: PolicyMsg | null | undefined): VersionPolicy {
  if (p?.policy_choice === 'all') return { kind: 'all' };
  if (p?.policy_choice === 'specific') {
    const versions = (p.specific?.versions ?? []).map(Number);
    if (versions.length === 0) throw SrvErr.SRV_ERR_INVALID_ARGUMENT('model_version_policy.specific.versions is empty; list the versions to serve');
    return { kind: 'specific', versions };
  }
  // latest is the default, with num_versions 1 (file_system_storage_path_source.proto).
  return { kind: 'latest', numVersions: Math.max(1, p?.latest?.num_versions ?? 1) };
}

/**
 * ModelServerConfig → our ModelConfig list. The proto has no batching field: a model that
 * is already configured keeps its batching parameters.
 */
export function modelsFromReload(req: ReloadRequestMsg, current: (name: string) => ModelConfig | undefined): ModelConfig[] {
  const cfg = req.config;
  if (!cfg || cfg.config !== 'model_config_list') {
    throw SrvErr.SRV_ERR_INVALID_ARGUMENT('ReloadConfigRequest needs config.model_config_list (custom_model_config is not supported)');
  }
  const seen = new Set<string>();
  return (cfg.model_config_list?.config ?? []).map((m, i) => {
    if (!m.name) throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`model_config_list.config[${i}].name is empty`);
    if (seen.has(m.name)) throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`model_config_list has model "${m.name}" twice`);
    seen.add(m.name);
    if (!m.base_path) throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`model_config_list.config[${i}].base_path is empty`);
    if (m.model_platform && m.model_platform !== 'onnx') {
      throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`model "${m.name}": model_platform "${m.model_platform}" is not served here; use "onnx" or leave it empty`);
    }
    const labels: Record<string, number> = {};
    for (const [l, v] of Object.entries(m.version_labels ?? {})) labels[l] = Number(v);
    return {
      name: m.name,
      basePath: resolve(m.base_path),
      policy: policyFromProto(m.model_version_policy),
      labels,
      batching: current(m.name)?.batching,
    };
  });
}

export function modelServiceImpl(deps: CallDeps): MethodTable {
  return {
    GetModelStatus: unary<{ model_spec?: ModelSpecMsg | null }, unknown>(deps, 'status', async (req, ctx) => {
      const spec = parseModelSpec(req.model_spec);
      ctx.model = modelLabel(deps.manager, spec.name);
      // get_model_status_impl.cc looks at the version only; a label lists every version.
      const list = deps.manager.status(spec.name, spec.version);
      return {
        model_version_status: list.map((s) => ({
          version: String(s.version),
          state: s.state,
          status: { error_code: s.errorCode, error_message: s.errorMessage },
        })),
      };
    }),

    HandleReloadConfigRequest: unary<ReloadRequestMsg, unknown>(deps, 'reload', async (req) => {
      const models = modelsFromReload(req, (n) => deps.manager.config(n));
      await deps.manager.reconfigure(models);
      return { status: { error_code: 'OK', error_message: '' } };
    }),
  };
}
