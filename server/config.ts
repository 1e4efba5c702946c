// The server's configuration: tensorflow_model_server-compatible flags, and the model
// config file (our YAML form of TF Serving's ModelServerConfig, model_server_config.proto).
// Validated once at start; every problem is reported together with how to fix it.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { FlagSpec } from '../common/flags.ts';
import type { TlsFiles } from '../common/tls.ts';
import { ConfigError, Issues, checkKeys, isRecord, join, readBoolean, readNumber, readString } from '../common/validate.ts';
import type { VersionPolicy } from './repository/policy.ts';
import type { BatchingConfig, ModelConfig } from './models/types.ts';

export const SERVE_FLAGS: FlagSpec[] = [
  { name: 'port', type: 'number', default: 8500, help: 'gRPC port (TF Serving and KServe v2 gRPC); 0 picks a free port, -1 turns gRPC off' },
  { name: 'rest_api_port', type: 'number', default: 8501, help: 'REST port (TF Serving /v1, KServe /v2, /metrics); 0 picks a free port' },
  { name: 'host', type: 'string', default: '0.0.0.0', help: 'address to listen on' },
  { name: 'model_name', type: 'string', help: 'name of the one model to serve (with --model_base_path)' },
  { name: 'model_base_path', type: 'string', help: 'folder holding <version>/model.onnx for --model_name' },
  { name: 'model_config_file', type: 'string', help: 'YAML file listing several models (name, base_path, version_policy, version_labels, batching)' },
  { name: 'file_system_poll_wait_seconds', type: 'number', default: 1, help: 'seconds between repository scans; 0 scans once' },
  { name: 'rest_api_timeout_in_ms', type: 'number', default: 30000, help: 'per-request deadline for REST, ms (504 after)' },
  // No parse-time defaults on the limits below: a flag given wins over the `server:` section
  // of the model config file, which wins over the default (SERVER_LIMIT_DEFAULTS).
  { name: 'max_body_bytes', type: 'number', help: 'largest REST request body, bytes (413 above); a model may set its own max_body_bytes (default 4194304, 4 MiB)' },
  { name: 'body_read_timeout', type: 'duration', aliases: [{ name: 'body_read_timeout_ms', unit: 'ms' }], help: 'time a client has to send its whole request body (REST: 408, gRPC: the request message, CANCELLED), counted as the client\'s error (default 30s; body_read_timeout_ms in the server: section)' },
  { name: 'max_large_bodies', type: 'number', help: 'REST requests with a body over 1 MiB handled at once; more get 503 with Retry-After (default 2)' },
  { name: 'max_tensor_elements', type: 'number', help: 'largest element count of one gRPC request tensor (INVALID_ARGUMENT above, before allocating); 0 = grpc_max_message_bytes / 4 (default 0)' },
  { name: 'grpc_idle_timeout', type: 'duration', aliases: [{ name: 'grpc_idle_timeout_seconds', unit: 's' }], help: 'an HTTP/2 connection with no call open for this long is closed (GOAWAY) (default 2m; grpc_idle_timeout_seconds in the server: section)' },
  { name: 'grpc_max_message_bytes', type: 'number', default: 64 * 1024 * 1024, help: 'largest gRPC message (RESOURCE_EXHAUSTED above)' },
  { name: 'max_num_load_retries', type: 'number', default: 5, help: 'load attempts of a failing version before waiting for its file to change' },
  { name: 'load_retry_interval', type: 'duration', default: '1s', aliases: [{ name: 'load_retry_interval_ms', unit: 'ms' }], help: 'first retry delay after a failed load; doubles per attempt, at most 1m' },
  { name: 'intra_op_threads', type: 'number', default: 0, help: 'ONNX Runtime threads per run; 0 = one per core' },
  { name: 'drain_timeout', type: 'duration', default: '30s', allowZero: true, aliases: [{ name: 'drain_timeout_seconds', unit: 's' }], help: 'on SIGTERM, how long in-flight requests may take before exit; 0 cuts them at once' },
  { name: 'ssl_cert_file', type: 'string', help: 'PEM certificate (chain) for TLS on the REST and gRPC ports, with --ssl_key_file; re-read when the file changes (TF Serving: server_cert in --ssl_config_file)' },
  { name: 'ssl_key_file', type: 'string', help: 'PEM private key of --ssl_cert_file (TF Serving: server_key)' },
  { name: 'ssl_client_ca_file', type: 'string', help: 'PEM CA bundle: clients must present a certificate it signed (mTLS) (TF Serving: custom_ca with client_verify)' },
  { name: 'help', type: 'boolean', help: 'show this help' },
];

export interface ServerConfig {
  host: string;
  restPort: number;
  /** -1: no gRPC server. */
  grpcPort: number;
  models: ModelConfig[];
  pollMs: number;
  requestTimeoutMs: number;
  bodyLimitBytes: number;
  grpcMaxMessageBytes: number;
  maxLoadRetries: number;
  retryBaseMs: number;
  intraOpThreads: number;
  drainTimeoutMs: number;
  bodyReadTimeoutMs: number;
  maxLargeBodies: number;
  /** 0: grpcMaxMessageBytes / 4. */
  maxTensorElements: number;
  grpcIdleTimeoutMs: number;
  /** TLS on the REST and gRPC listeners, from files reloaded on change (common/tls.ts). */
  tls?: TlsFiles;
}

/** Server-wide limits: the flags' defaults, and the keys of the model config file's `server:` section. */
export const SERVER_LIMIT_DEFAULTS = {
  max_body_bytes: 4 * 1024 * 1024,
  body_read_timeout_ms: 30_000,
  max_large_bodies: 2,
  max_tensor_elements: 0,
  grpc_idle_timeout_seconds: 120,
} as const;
export type ServerLimitKey = keyof typeof SERVER_LIMIT_DEFAULTS;
const LIMIT_MIN: Record<ServerLimitKey, number> = { max_body_bytes: 1, body_read_timeout_ms: 1, max_large_bodies: 1, max_tensor_elements: 0, grpc_idle_timeout_seconds: 1 };

/** The `server:` section as startServer options (`modelgate start` reads it this way; `serve` through its flags). */
export function limitOptions(l: Partial<Record<ServerLimitKey, number>>): Partial<Pick<ServerConfig, 'bodyLimitBytes' | 'bodyReadTimeoutMs' | 'maxLargeBodies' | 'maxTensorElements' | 'grpcIdleTimeoutMs'>> {
  const out: Partial<Pick<ServerConfig, 'bodyLimitBytes' | 'bodyReadTimeoutMs' | 'maxLargeBodies' | 'maxTensorElements' | 'grpcIdleTimeoutMs'>> = {};
  if (l.max_body_bytes !== undefined) out.bodyLimitBytes = l.max_body_bytes;
  if (l.body_read_timeout_ms !== undefined) out.bodyReadTimeoutMs = l.body_read_timeout_ms;
  if (l.max_large_bodies !== undefined) out.maxLargeBodies = l.max_large_bodies;
  if (l.max_tensor_elements !== undefined) out.maxTensorElements = l.max_tensor_elements;
  if (l.grpc_idle_timeout_seconds !== undefined) out.grpcIdleTimeoutMs = l.grpc_idle_timeout_seconds * 1000;
  return out;
}

function readLimits(raw: unknown, path: string, issues: Issues): Partial<Record<ServerLimitKey, number>> {
  if (raw === undefined || raw === null) return {};
  if (!isRecord(raw)) {
    issues.error(path, 'must be an object such as {max_body_bytes: 4194304, body_read_timeout_ms: 30000}');
    return {};
  }
  const keys = Object.keys(SERVER_LIMIT_DEFAULTS) as ServerLimitKey[];
  checkKeys(raw, keys, path, issues);
  const out: Partial<Record<ServerLimitKey, number>> = {};
  for (const k of keys) {
    const v = readNumber(raw, k, path, issues, { min: LIMIT_MIN[k], integer: true });
    if (v !== undefined) out[k] = v;
  }
  return out;
}

const DEFAULT_BATCHING: BatchingConfig = {
  // Defaults as TF's SharedBatchScheduler options (reference: model-servers.md §4), except
  // num_batch_threads, which defaults to the core count there and to 1 here: ONNX Runtime
  // already spreads one run over every core.
  maxBatchSize: 1000,
  batchTimeoutMicros: 0,
  maxEnqueuedBatches: 10,
  numBatchThreads: 1,
  allowedBatchSizes: [],
  preferredBatchSizes: [],
};

function readPolicy(raw: unknown, path: string, issues: Issues): VersionPolicy {
  if (raw === undefined || raw === null) return { kind: 'latest', numVersions: 1 };
  if (!isRecord(raw) || Object.keys(raw).length !== 1) {
    issues.error(path, 'must be one of {latest: {num_versions: N}}, {all: {}}, {specific: {versions: [..]}}');
    return { kind: 'latest', numVersions: 1 };
  }
  const [kind, body] = Object.entries(raw)[0]!;
  const b = isRecord(body) ? body : {};
  if (kind === 'latest') {
    checkKeys(b, ['num_versions'], join(path, 'latest'), issues);
    return { kind: 'latest', numVersions: readNumber(b, 'num_versions', join(path, 'latest'), issues, { default: 1, min: 1, integer: true }) };
  }
  if (kind === 'all') return { kind: 'all' };
  if (kind === 'specific') {
    const versions = b.versions;
    if (!Array.isArray(versions) || versions.length === 0 || !versions.every((v) => Number.isInteger(v) && v >= 0)) {
      issues.error(join(join(path, 'specific'), 'versions'), 'must be a non-empty list of version numbers, e.g. [1, 2]');
      return { kind: 'specific', versions: [] };
    }
    return { kind: 'specific', versions: versions as number[] };
  }
  issues.error(path, `unknown version policy "${kind}"; use latest, all or specific`);
  return { kind: 'latest', numVersions: 1 };
}

function readBatching(raw: unknown, path: string, issues: Issues): BatchingConfig | undefined {
  if (raw === undefined || raw === null || raw === false) return undefined;
  if (!isRecord(raw)) {
    issues.error(path, 'must be an object such as {max_batch_size: 32, batch_timeout_micros: 2000}');
    return undefined;
  }
  checkKeys(raw, ['max_batch_size', 'batch_timeout_micros', 'max_enqueued_batches', 'num_batch_threads', 'allowed_batch_sizes', 'preferred_batch_size'], path, issues);
  const b: BatchingConfig = {
    maxBatchSize: readNumber(raw, 'max_batch_size', path, issues, { default: DEFAULT_BATCHING.maxBatchSize, min: 1, integer: true }),
    batchTimeoutMicros: readNumber(raw, 'batch_timeout_micros', path, issues, { default: DEFAULT_BATCHING.batchTimeoutMicros, min: 0, integer: true }),
    maxEnqueuedBatches: readNumber(raw, 'max_enqueued_batches', path, issues, { default: DEFAULT_BATCHING.maxEnqueuedBatches, min: 1, integer: true }),
    numBatchThreads: readNumber(raw, 'num_batch_threads', path, issues, { default: DEFAULT_BATCHING.numBatchThreads, min: 1, integer: true }),
    allowedBatchSizes: readIntList(raw, 'allowed_batch_sizes', path, issues),
    preferredBatchSizes: readIntList(raw, 'preferred_batch_size', path, issues),
  };
  const a = b.allowedBatchSizes;
  if (a.length > 0) {
    if (a.some((v, i) => i > 0 && v <= a[i - 1]!)) issues.error(join(path, 'allowed_batch_sizes'), 'must be strictly increasing');
    // TF Serving's rule (batching_session.cc): the last allowed size must equal max_batch_size.
    if (a[a.length - 1] !== b.maxBatchSize) issues.error(join(path, 'allowed_batch_sizes'), `the last entry must equal max_batch_size (${b.maxBatchSize})`);
  }
  return b;
}

function readIntList(raw: Record<string, unknown>, key: string, path: string, issues: Issues): number[] {
  const v = raw[key];
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x) && x > 0)) {
    issues.error(join(path, key), 'must be a list of positive whole numbers');
    return [];
  }
  return v as number[];
}

/** Validates the `models:` list of a model config file. Paths are relative to `baseDir`. */
export function readModels(raw: unknown, path: string, issues: Issues, baseDir: string): ModelConfig[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    issues.error(path, 'must be a non-empty list of models, each with name and base_path');
    return [];
  }
  const names = new Set<string>();
  return raw.map((m, i): ModelConfig | undefined => {
    const p = join(path, i);
    if (!isRecord(m)) {
      issues.error(p, 'must be an object with name and base_path');
      return undefined;
    }
    checkKeys(m, ['name', 'base_path', 'version_policy', 'version_labels', 'batching', 'worker_threads', 'allow_signature_change', 'max_body_bytes'], p, issues);
    const name = readString(m, 'name', p, issues, { required: true }) ?? '';
    if (name && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) issues.error(join(p, 'name'), `"${name}" is not a valid model name; use letters, digits, _ . -`);
    if (names.has(name)) issues.error(join(p, 'name'), `model "${name}" is listed twice`);
    names.add(name);
    const basePath = readString(m, 'base_path', p, issues, { required: true }) ?? '';
    const labels: Record<string, number> = {};
    const rawLabels = m.version_labels;
    if (rawLabels !== undefined) {
      if (!isRecord(rawLabels)) issues.error(join(p, 'version_labels'), 'must map label names to versions, e.g. {stable: 1, canary: 2}');
      else
        for (const [l, v] of Object.entries(rawLabels)) {
          if (!/^[A-Za-z0-9_]+$/.test(l)) issues.error(join(join(p, 'version_labels'), l), 'label names are letters, digits and _ (g3doc/serving_config.md)');
          if (!Number.isInteger(v) || (v as number) < 0) issues.error(join(join(p, 'version_labels'), l), `must be a version number, got ${JSON.stringify(v)}`);
          else labels[l] = v as number;
        }
    }
    return {
      name,
      basePath: resolve(baseDir, basePath),
      policy: readPolicy(m.version_policy, join(p, 'version_policy'), issues),
      labels,
      batching: readBatching(m.batching, join(p, 'batching'), issues),
      workerThreads: readNumber(m, 'worker_threads', p, issues, { default: 0, min: 0, max: 64, integer: true }),
      allowSignatureChange: readBoolean(m, 'allow_signature_change', p, issues, false),
      maxBodyBytes: readNumber(m, 'max_body_bytes', p, issues, { min: 1, integer: true }),
    };
  }).filter((m): m is ModelConfig => m !== undefined);
}

export async function readModelConfigFile(file: string): Promise<ModelConfig[]> {
  return (await readServerConfigFile(file)).models;
}

/** The model config file: `models:` and the optional server-wide `server:` limits. */
export async function readServerConfigFile(file: string): Promise<{ models: ModelConfig[]; limits: Partial<Record<ServerLimitKey, number>> }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [{ severity: 'error', path: '', message: `cannot read the model config file: ${(e as Error).message}` }]);
  }
  const issues = new Issues();
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new ConfigError(file, [{ severity: 'error', path: '', message: `not valid YAML: ${(e as Error).message}` }]);
  }
  if (!isRecord(doc)) throw new ConfigError(file, [{ severity: 'error', path: '', message: 'must be a YAML object with a `models:` list' }]);
  const { models, limits } = validateServerConfigDoc(doc, dirname(resolve(file)), issues);
  if (!issues.ok) throw new ConfigError(file, issues.errors);
  return { models, limits };
}

/** The model config file's parsed contents (`models:`, `server:`); paths relative to `baseDir`. Used by `modelgate check` too. */
export function validateServerConfigDoc(doc: Record<string, unknown>, baseDir: string, issues: Issues): { models: ModelConfig[]; limits: Partial<Record<ServerLimitKey, number>> } {
  checkKeys(doc, ['models', 'server'], '', issues);
  return { models: readModels(doc['models'], 'models', issues, baseDir), limits: readLimits(doc['server'], 'server', issues) };
}

/** Turns parsed flags into the server config; throws ConfigError listing every problem. */
export async function configFromFlags(flags: Record<string, string | number | boolean | undefined>): Promise<ServerConfig> {
  const issues = new Issues();
  const num = (k: string) => flags[k] as number;
  let models: ModelConfig[] = [];
  let fileLimits: Partial<Record<ServerLimitKey, number>> = {};
  if (flags.model_config_file) {
    if (flags.model_name || flags.model_base_path) issues.error('--model_config_file', 'use either --model_config_file or --model_name with --model_base_path, not both');
    ({ models, limits: fileLimits } = await readServerConfigFile(String(flags.model_config_file)));
  } else if (flags.model_name || flags.model_base_path) {
    if (!flags.model_name) issues.error('--model_name', 'is required with --model_base_path');
    if (!flags.model_base_path) issues.error('--model_base_path', 'is required with --model_name');
    models = [{ name: String(flags.model_name), basePath: resolve(String(flags.model_base_path ?? '')), policy: { kind: 'latest', numVersions: 1 }, labels: {} }];
  } else {
    issues.error('--model_config_file', 'no model to serve: give --model_config_file FILE, or --model_name NAME --model_base_path DIR');
  }
  for (const k of ['rest_api_port', 'port']) {
    const v = num(k);
    if (!Number.isInteger(v) || v < -1 || v > 65535) issues.error(`--${k}`, `must be a port number 0-65535 (or -1 to turn it off), got ${v}`);
  }
  if (num('rest_api_timeout_in_ms') <= 0) issues.error('--rest_api_timeout_in_ms', 'must be > 0');
  // The duration flags carry milliseconds; the file's keys keep their units.
  const fromFlag: Partial<Record<ServerLimitKey, number | undefined>> = {
    max_body_bytes: flags['max_body_bytes'] as number | undefined,
    max_large_bodies: flags['max_large_bodies'] as number | undefined,
    max_tensor_elements: flags['max_tensor_elements'] as number | undefined,
    body_read_timeout_ms: flags['body_read_timeout'] as number | undefined,
  };
  const limit = (k: ServerLimitKey): number => {
    const v = fromFlag[k];
    if (v === undefined) return fileLimits[k] ?? SERVER_LIMIT_DEFAULTS[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < LIMIT_MIN[k]) issues.error(`--${k === 'body_read_timeout_ms' ? 'body_read_timeout' : k}`, `must be a whole number >= ${LIMIT_MIN[k]}, got ${v}`);
    return v as number;
  };
  const limits = Object.fromEntries((Object.keys(SERVER_LIMIT_DEFAULTS) as ServerLimitKey[]).map((k) => [k, limit(k)])) as Record<ServerLimitKey, number>;
  if (!(num('grpc_max_message_bytes') > 0)) issues.error('--grpc_max_message_bytes', 'must be > 0, e.g. 67108864 (64 MiB)');
  const tls = tlsFromFlags(flags, issues);
  if (!issues.ok) throw new ConfigError('modelgate serve', issues.errors);
  return {
    host: String(flags.host),
    restPort: num('rest_api_port'),
    grpcPort: num('port'),
    models,
    pollMs: Math.max(0, num('file_system_poll_wait_seconds')) * 1000,
    requestTimeoutMs: num('rest_api_timeout_in_ms'),
    bodyLimitBytes: limits.max_body_bytes,
    bodyReadTimeoutMs: limits.body_read_timeout_ms,
    maxLargeBodies: limits.max_large_bodies,
    maxTensorElements: limits.max_tensor_elements,
    grpcIdleTimeoutMs: typeof flags['grpc_idle_timeout'] === 'number' ? flags['grpc_idle_timeout'] : limits.grpc_idle_timeout_seconds * 1000,
    grpcMaxMessageBytes: num('grpc_max_message_bytes'),
    maxLoadRetries: num('max_num_load_retries'),
    retryBaseMs: num('load_retry_interval'),
    intraOpThreads: num('intra_op_threads'),
    drainTimeoutMs: num('drain_timeout'),
    ...(tls ? { tls } : {}),
  };
}

function tlsFromFlags(flags: Record<string, string | number | boolean | undefined>, issues: Issues): TlsFiles | undefined {
  const cert = flags['ssl_cert_file'];
  const key = flags['ssl_key_file'];
  const ca = flags['ssl_client_ca_file'];
  if (cert === undefined && key === undefined) {
    if (ca !== undefined) issues.error('--ssl_client_ca_file', 'needs --ssl_cert_file and --ssl_key_file (the server\'s own certificate) too');
    return undefined;
  }
  if (cert === undefined) issues.error('--ssl_cert_file', 'is required with --ssl_key_file');
  if (key === undefined) issues.error('--ssl_key_file', 'is required with --ssl_cert_file');
  if (cert === undefined || key === undefined) return undefined;
  return { cert: resolve(String(cert)), key: resolve(String(key)), ...(ca !== undefined ? { clientCa: resolve(String(ca)) } : {}) };
}
