// The `proxy:` section of modelgate.yaml: validated once at start into a frozen ProxyConfig.
// Nothing below this file sees YAML. Defaults cite where they come from.
import { Issues, join, isRecord, checkKeys, readString, readNumber, readBoolean, readDuration, readBytes } from '../common/index.ts';
import type { ClientTlsFiles, TlsFiles } from '../common/tls.ts';
import { readAccessLog, type AccessLogConfig } from './access-log.ts';
import { readSplit } from './split.ts';
import { GUARD_KEYS, readGuardConfig } from './guard/index.ts';
import type { GuardConfig } from './guard/index.ts';
import { readListenerTls, readUpstreamTls } from './tls-config.ts';
import { checkWorkers, readWorkers } from './workers-config.ts';
import type { Split } from './split.ts';

export type StatusApi = 'tfserving' | 'kserve' | 'none';

export interface ListenerConfig {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** REST: base URL `http://host:port`; gRPC: `host:port` (h2c). */
  upstream: string;
  /**
   * REST only: the upstream client for requests with no body or a small gathered one.
   * `native` = proxy/h1-upstream.ts, `undici` = undici Pool for everything.
   */
  client?: RestClient | GrpcEngine;
  /**
   * REST: the byte-level relay (h1-front.ts) or node:http for every request. gRPC: the
   * frame-level HTTP/2 server (h2/) or node:http2. The gRPC `client` is the same choice
   * towards the upstream.
   */
  server?: RestFront | GrpcEngine;
  /** TLS on this listener (`tls: {cert, key, clientCa?}`), reloaded when the files change. */
  tls?: TlsFiles;
  /** TLS to the upstream (`upstreamTls`): REST with an https:// upstream; gRPC whenever set. */
  upstreamTls?: ClientTlsFiles;
}

export type RestClient = 'native' | 'undici';
export type RestFront = 'relay' | 'node';
/** gRPC: HTTP/2 read and written frame by frame on node:net (proxy/h2), or node:http2. */
export type GrpcEngine = 'frames' | 'http2';

export interface ProxyConfig {
  rest?: ListenerConfig;
  grpc?: ListenerConfig;
  admin: { host: string; port: number; token?: string; tokenEnv: string; readOnly: boolean };
  timeouts: {
    /** Upstream must answer (headers for REST, the whole call for gRPC) within this. */
    upstreamMs: number;
    /** Client must send its request headers within this (slowloris guard). */
    headersMs: number;
    /** Client must send its whole request within this. */
    requestMs: number;
    /** Idle keep-alive connections to clients are closed after this. */
    keepAliveMs: number;
    /**
     * A client that sends no byte of its request body for this long gets 408 (its own
     * fault: not an upstream timeout, no error budget spent).
     */
    clientBodyMs: number;
    /** On SIGTERM/SIGINT, how long in-flight requests may take before the proxy exits. */
    drainMs: number;
  };
  limits: {
    maxBodyBytes: number;
    maxHeaderBytes: number;
    /** REST: most upstream connections (requests in flight) at once, all models together. */
    upstreamConnections: number;
    /** REST: most upstream connections one model may hold, so a slow model cannot starve the others. */
    modelConnections: number;
  };
  splits: Record<string, Split>;
  bodies: { sampleRate: number; maxBytes: number };
  labels: {
    maxModels: number;
    maxVersionsPerModel: number;
    goneVersionGraceMs: number;
    statusPollMs: number;
    statusApi: StatusApi;
  };
  /** SLO latency thresholds (seconds) that must be histogram buckets. */
  latencyThresholdsSeconds: number[];
  tracing: { enabled: boolean; otlp?: OtlpConfig };
  /** The admission stage (proxy/guard): `auth`, `rateLimits`, `concurrency`; all absent = open, unlimited. */
  guard: GuardConfig;
  /** One JSON line per request (proxy/access-log.ts); off unless configured. */
  accessLog: AccessLogConfig;
  /** Data-plane processes (proxy/workers-config.ts); 1 = this process only. */
  workers: number;
}

/** Where spans go when an OTLP exporter is configured (absent: spans are not exported). */
export interface OtlpConfig {
  /** The collector's OTLP/HTTP traces endpoint, e.g. `http://collector:4318/v1/traces`. */
  url: string;
  /** The `service.name` resource attribute the spans carry. */
  serviceName: string;
  /** Extra HTTP headers on every export (e.g. an auth token for a hosted collector). */
  headers: Record<string, string>;
  /** One export, retries included, gives up after this; also bounds the flush in close(). */
  timeoutMs: number;
}

const MiB = 1024 * 1024;

export const DEFAULTS = {
  // Loopback: the admin API can change traffic; Envoy's edge guide binds admin to 127.0.0.1.
  adminHost: '127.0.0.1',
  // REST upstream client: see proxy/h1-upstream.ts and docs/benchmarks.md (Proxy).
  restClient: 'native' as RestClient,
  // REST listener front: see proxy/h1-front.ts and docs/benchmarks.md (REST on the compiled build).
  restServer: 'relay' as RestFront,
  // gRPC server and upstream client: see proxy/h2/ and docs/benchmarks.md (gRPC tail latency).
  grpcEngine: 'frames' as GrpcEngine,
  adminPort: 9090,
  tokenEnv: 'MODELGATE_ADMIN_TOKEN',
  // TF Serving's older main.cc REST default (30 s); Envoy's route default is 15 s.
  upstreamMs: 30_000,
  // Node's headersTimeout default is 60 s; a proxy in front of model servers can be stricter.
  headersMs: 20_000,
  requestMs: 120_000,
  // Above the 5 s keep-alive of common load balancers is not needed; Node's default is 5 s.
  keepAliveMs: 5_000,
  // A stalled upload is the client's fault; the server's body-read timeout is 30 s too.
  clientBodyMs: 30_000,
  // Kubernetes' default terminationGracePeriodSeconds (30 s); the server's drain default.
  drainMs: 30_000,
  // Enough for a 2-core box at saturation without queueing, far under Envoy's 1024
  // default circuit breaker.
  upstreamConnections: 128,
  // Triton's --http-max-input-size default (64 MiB) returns 413 above it (common.h).
  maxBodyBytes: 64 * MiB,
  // Node's maxHeaderSize default (16 KiB); larger headers get 431 from llhttp.
  maxHeaderBytes: 16 * 1024,
  // Body copies for drift are sampled; 10% is plenty for sketches and cheap.
  sampleRate: 0.1,
  teeMaxBytes: 1 * MiB,
  // A hostile client cannot create more series than this (OTel SDK caps at 2000 per instrument).
  maxModels: 100,
  maxVersionsPerModel: 20,
  // Keep a gone version's series long enough for Prometheus to scrape its last counts and
  // for the SLO windows' shortest rule to see the end (the workbook's 5 m short window ×2).
  goneVersionGraceMs: 10 * 60_000,
  statusPollMs: 5_000,
  // The name a trace backend lists the proxy under (the OTel resource attribute service.name).
  otlpServiceName: 'modelgate-proxy',
  // OTEL_EXPORTER_OTLP_TIMEOUT's default (opentelemetry-specification protocol/exporter.md).
  otlpTimeoutMs: 10_000,
} as const;

const TOP_KEYS = ['rest', 'grpc', 'admin', 'timeouts', 'limits', 'splits', 'bodies', 'labels', 'latencyThresholds', 'tracing', 'accessLog', 'workers', ...GUARD_KEYS] as const;

function section(raw: Record<string, unknown>, key: string, path: string, issues: Issues): Record<string, unknown> {
  const v = raw[key];
  if (v === undefined || v === null) return {};
  if (!isRecord(v)) {
    issues.error(join(path, key), 'must be an object');
    return {};
  }
  return v;
}

function readPort(raw: Record<string, unknown>, key: string, path: string, issues: Issues, def: number): number {
  return readNumber(raw, key, path, issues, { default: def, min: 0, max: 65535, integer: true });
}

function readListener(raw: Record<string, unknown>, key: 'rest' | 'grpc', path: string, issues: Issues): ListenerConfig | undefined {
  if (raw[key] === undefined || raw[key] === null) return undefined;
  const p = join(path, key);
  const s = section(raw, key, path, issues);
  checkKeys(s, ['host', 'port', 'upstream', 'client', 'server', 'tls', 'upstreamTls'], p, issues);
  const host = readString(s, 'host', p, issues, { default: '0.0.0.0' });
  const port = readPort(s, 'port', p, issues, key === 'rest' ? 8501 : 8500);
  const upstream = readString(s, 'upstream', p, issues, { required: true });
  if (upstream === undefined) return undefined;
  if (key === 'rest' && !/^https?:\/\/[^/]+\/?$/.test(upstream)) {
    issues.error(join(p, 'upstream'), `must be a base URL like "http://127.0.0.1:8601", got ${JSON.stringify(upstream)}`);
  }
  if (key === 'grpc' && !/^[^/:]+:\d+$|^\[[^\]]+\]:\d+$/.test(upstream)) {
    issues.error(join(p, 'upstream'), `must be host:port like "127.0.0.1:8600" (h2c; add upstreamTls for TLS), got ${JSON.stringify(upstream)}`);
  }
  const out: ListenerConfig = { host, port, upstream: upstream.replace(/\/$/, '') };
  const tls = readListenerTls(s['tls'], join(p, 'tls'), issues);
  if (tls) out.tls = tls;
  const upTls = readUpstreamTls(s['upstreamTls'], join(p, 'upstreamTls'), issues);
  if (upTls) {
    if (key === 'rest' && !upstream.startsWith('https:')) issues.error(join(p, 'upstreamTls'), `applies to an https:// upstream; write upstream: "${upstream.replace(/^http:/, 'https:')}"`);
    out.upstreamTls = upTls;
  }
  if (key === 'rest') {
    const client = readString(s, 'client', p, issues, { default: DEFAULTS.restClient });
    if (client !== 'native' && client !== 'undici') issues.error(join(p, 'client'), `must be "native" or "undici", got ${JSON.stringify(client)}`);
    else out.client = client;
    if (out.client === 'native' && upstream.startsWith('https:')) out.client = 'undici'; // the native client speaks plain http only
    const front = readString(s, 'server', p, issues, { default: tls ? 'node' : DEFAULTS.restServer });
    if (front !== 'relay' && front !== 'node') issues.error(join(p, 'server'), `must be "relay" or "node", got ${JSON.stringify(front)}`);
    else if (front === 'relay' && tls) issues.error(join(p, 'server'), 'the relay front speaks plain HTTP only; remove "server" (a TLS listener uses node) or remove "tls"');
    else out.server = front;
  } else {
    const front = readString(s, 'server', p, issues, { default: DEFAULTS.grpcEngine });
    if (front !== 'frames' && front !== 'http2') issues.error(join(p, 'server'), `must be "frames" or "http2", got ${JSON.stringify(front)}`);
    else out.server = front;
    const client = readString(s, 'client', p, issues, { default: DEFAULTS.grpcEngine });
    if (client !== 'frames' && client !== 'http2') issues.error(join(p, 'client'), `must be "frames" or "http2", got ${JSON.stringify(client)}`);
    else out.client = client;
  }
  return out;
}

/**
 * Validates the `proxy:` section. Collects every problem in `issues`; the result is frozen.
 * One reader per subsection; a new subsection is a key in TOP_KEYS, a field of ProxyConfig,
 * its reader below and one line in the object built here.
 */
export function readProxyConfig(raw: unknown, path: string, issues: Issues): ProxyConfig {
  const r = isRecord(raw) ? raw : {};
  if (raw !== undefined && raw !== null && !isRecord(raw)) issues.error(path, 'must be an object');
  checkKeys(r, TOP_KEYS, path, issues);
  const sub = <T>(key: (typeof TOP_KEYS)[number], read: SectionReader<T>): T => read(section(r, key, path, issues), join(path, key), issues);

  const rest = readListener(r, 'rest', path, issues);
  const grpc = readListener(r, 'grpc', path, issues);
  // An absent section is fine (a file may hold only SLOs); a present one must forward something.
  const present = raw !== undefined && raw !== null;
  if (present && !rest && !grpc && r['rest'] === undefined && r['grpc'] === undefined) {
    issues.error(path, 'configure at least one of "rest" or "grpc", each with an "upstream"');
  }
  const config: ProxyConfig = {
    admin: sub('admin', readAdmin),
    timeouts: sub('timeouts', readTimeouts),
    limits: sub('limits', readLimits),
    splits: sub('splits', readSplits),
    bodies: sub('bodies', readBodies),
    labels: sub('labels', readLabels),
    latencyThresholdsSeconds: readThresholds(r, path, issues),
    tracing: sub('tracing', readTracing),
    guard: readGuardConfig(r, path, issues),
    accessLog: readAccessLog(r['accessLog'], join(path, 'accessLog'), issues),
    workers: readWorkers(r, path, issues),
  };
  checkWorkers(config.workers, config.accessLog, path, issues);
  if (rest) config.rest = rest;
  if (grpc) config.grpc = grpc;
  return deepFreeze(config);
}

/** Reads one subsection (an object, `{}` when absent) found at `path`. */
type SectionReader<T> = (s: Record<string, unknown>, path: string, issues: Issues) => T;

function readAdmin(a: Record<string, unknown>, ap: string, issues: Issues): ProxyConfig['admin'] {
  checkKeys(a, ['host', 'port', 'token', 'tokenEnv', 'readOnly'], ap, issues);
  const admin: ProxyConfig['admin'] = {
    host: readString(a, 'host', ap, issues, { default: DEFAULTS.adminHost }),
    port: readPort(a, 'port', ap, issues, DEFAULTS.adminPort),
    tokenEnv: readString(a, 'tokenEnv', ap, issues, { default: DEFAULTS.tokenEnv }),
    readOnly: readBoolean(a, 'readOnly', ap, issues, false),
  };
  const token = readString(a, 'token', ap, issues);
  if (token !== undefined) {
    admin.token = token;
    issues.warn(join(ap, 'token'), `a token in the file is readable by anyone who can read the file; prefer the ${admin.tokenEnv} environment variable`);
  }
  if (!['127.0.0.1', '::1', 'localhost'].includes(admin.host)) {
    // Without a token (here or in the environment, known only at start) the proxy refuses
    // to start there unless readOnly is set (proxy/admin.ts adminExposureProblem).
    issues.warn(join(ap, 'host'), `the admin API listens beyond loopback on ${admin.host}; it starts only with a token (${admin.tokenEnv} or admin.token) or with admin.readOnly: true`);
  }
  return admin;
}

function readTimeouts(t: Record<string, unknown>, tp: string, issues: Issues): ProxyConfig['timeouts'] {
  checkKeys(t, ['upstream', 'headers', 'request', 'keepAlive', 'clientBody', 'drain'], tp, issues);
  const timeouts: ProxyConfig['timeouts'] = {
    upstreamMs: readDuration(t, 'upstream', tp, issues, { default: DEFAULTS.upstreamMs }),
    headersMs: readDuration(t, 'headers', tp, issues, { default: DEFAULTS.headersMs }),
    requestMs: readDuration(t, 'request', tp, issues, { default: DEFAULTS.requestMs }),
    keepAliveMs: readDuration(t, 'keepAlive', tp, issues, { default: DEFAULTS.keepAliveMs }),
    clientBodyMs: readDuration(t, 'clientBody', tp, issues, { default: DEFAULTS.clientBodyMs }),
    // 0 is allowed: exit at once, cutting whatever is in flight.
    drainMs: readDuration(t, 'drain', tp, issues, { default: DEFAULTS.drainMs, allowZero: true }),
  };
  if (timeouts.headersMs > timeouts.requestMs) {
    issues.error(join(tp, 'headers'), 'must not exceed timeouts.request (Node requires headersTimeout <= requestTimeout)');
  }
  return timeouts;
}

function readLimits(l: Record<string, unknown>, lp: string, issues: Issues): ProxyConfig['limits'] {
  checkKeys(l, ['maxBodyBytes', 'maxHeaderBytes', 'upstreamConnections', 'modelConnections'], lp, issues);
  const upstreamConnections = readNumber(l, 'upstreamConnections', lp, issues, { default: DEFAULTS.upstreamConnections, min: 1, max: 65535, integer: true });
  // Half the pool by default: a saturated model leaves the other half to the rest.
  const modelDefault = Math.max(1, Math.floor(upstreamConnections / 2));
  const modelConnections = readNumber(l, 'modelConnections', lp, issues, { default: modelDefault, min: 1, integer: true });
  if (modelConnections > upstreamConnections) {
    issues.error(join(lp, 'modelConnections'), `must not exceed limits.upstreamConnections (${upstreamConnections}); at most ${Math.max(1, upstreamConnections - 1)} leaves room for other models`);
  }
  return {
    maxBodyBytes: readBytes(l, 'maxBodyBytes', lp, issues, { default: DEFAULTS.maxBodyBytes }),
    maxHeaderBytes: readBytes(l, 'maxHeaderBytes', lp, issues, { default: DEFAULTS.maxHeaderBytes }),
    upstreamConnections,
    modelConnections,
  };
}

function readSplits(s: Record<string, unknown>, sp: string, issues: Issues): ProxyConfig['splits'] {
  const splits: Record<string, Split> = {};
  for (const [model, v] of Object.entries(s)) {
    const split = readSplit(v, join(sp, model), issues);
    if (split) splits[model] = split;
  }
  return splits;
}

function readBodies(b: Record<string, unknown>, bp: string, issues: Issues): ProxyConfig['bodies'] {
  checkKeys(b, ['sampleRate', 'maxBytes'], bp, issues);
  return {
    sampleRate: readNumber(b, 'sampleRate', bp, issues, { default: DEFAULTS.sampleRate, min: 0, max: 1 }),
    maxBytes: readBytes(b, 'maxBytes', bp, issues, { default: DEFAULTS.teeMaxBytes }),
  };
}

function readLabels(lb: Record<string, unknown>, lbp: string, issues: Issues): ProxyConfig['labels'] {
  checkKeys(lb, ['maxModels', 'maxVersionsPerModel', 'goneVersionGrace', 'statusPoll', 'statusApi'], lbp, issues);
  const statusApi = readString(lb, 'statusApi', lbp, issues, { default: 'tfserving' });
  if (!['tfserving', 'kserve', 'none'].includes(statusApi)) {
    issues.error(join(lbp, 'statusApi'), `must be "tfserving" (GET /v1/models/{m}), "kserve" (GET /v2/models/{m}) or "none", got ${JSON.stringify(statusApi)}`);
  }
  return {
    maxModels: readNumber(lb, 'maxModels', lbp, issues, { default: DEFAULTS.maxModels, min: 1, integer: true }),
    maxVersionsPerModel: readNumber(lb, 'maxVersionsPerModel', lbp, issues, { default: DEFAULTS.maxVersionsPerModel, min: 1, integer: true }),
    goneVersionGraceMs: readDuration(lb, 'goneVersionGrace', lbp, issues, { default: DEFAULTS.goneVersionGraceMs }),
    statusPollMs: readDuration(lb, 'statusPoll', lbp, issues, { default: DEFAULTS.statusPollMs }),
    statusApi: statusApi as StatusApi,
  };
}

/** `latencyThresholds`: a list, not a section. */
function readThresholds(r: Record<string, unknown>, path: string, issues: Issues): number[] {
  const thresholds: number[] = [];
  const th = r['latencyThresholds'];
  if (th !== undefined && th !== null) {
    if (!Array.isArray(th)) issues.error(join(path, 'latencyThresholds'), 'must be a list of seconds, e.g. [0.1, 0.25]');
    else th.forEach((v, i) => {
      if (typeof v === 'number' && v > 0 && Number.isFinite(v)) thresholds.push(v);
      else issues.error(join(join(path, 'latencyThresholds'), i), `must be a positive number of seconds, got ${JSON.stringify(v)}`);
    });
  }
  return thresholds;
}

function readTracing(tr: Record<string, unknown>, trp: string, issues: Issues): ProxyConfig['tracing'] {
  checkKeys(tr, ['enabled', 'otlp'], trp, issues);
  const tracing: ProxyConfig['tracing'] = { enabled: readBoolean(tr, 'enabled', trp, issues, true) };
  const otlp = readOtlp(tr, trp, issues);
  if (otlp) {
    tracing.otlp = otlp;
    if (!tracing.enabled) issues.warn(join(trp, 'otlp'), 'is ignored while tracing.enabled is false: no spans are made; remove otlp or set enabled: true');
  }
  return tracing;
}

// OTLP/HTTP (opentelemetry-proto docs/specification.md): collectors listen on 4318 and take
// traces at /v1/traces. A per-signal endpoint is used as given, no path appended
// (opentelemetry-specification protocol/exporter.md, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT),
// and the JS exporter's `url` behaves the same, so a bare origin would POST to "/".
function readOtlp(raw: Record<string, unknown>, path: string, issues: Issues): OtlpConfig | undefined {
  if (raw['otlp'] === undefined || raw['otlp'] === null) return undefined;
  const o = section(raw, 'otlp', path, issues);
  const p = join(path, 'otlp');
  checkKeys(o, ['url', 'serviceName', 'headers', 'timeout'], p, issues);
  const url = readString(o, 'url', p, issues, { required: true });
  if (url !== undefined) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      issues.error(join(p, 'url'), `must be the collector's OTLP/HTTP traces URL like "http://collector:4318/v1/traces", got ${JSON.stringify(url)}`);
    } else if (parsed.pathname === '/' || parsed.pathname === '') {
      issues.error(join(p, 'url'), `is used as given, so it needs the traces path: "${parsed.origin}/v1/traces"`);
    }
  }
  const serviceName = readString(o, 'serviceName', p, issues, { default: DEFAULTS.otlpServiceName });
  if (serviceName.trim() === '') issues.error(join(p, 'serviceName'), `must not be empty; leave it out for "${DEFAULTS.otlpServiceName}"`);
  const headers: Record<string, string> = {};
  const h = o['headers'];
  if (h !== undefined && h !== null) {
    if (!isRecord(h)) issues.error(join(p, 'headers'), 'must be a map of header name to string value, e.g. { authorization: "Bearer ..." }');
    else for (const [name, value] of Object.entries(h)) {
      // RFC 9110 §5.1: a field name is a token.
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) issues.error(join(join(p, 'headers'), name), 'is not a valid HTTP header name (letters, digits and -)');
      else if (typeof value !== 'string' && typeof value !== 'number') issues.error(join(join(p, 'headers'), name), `must be a string value, got ${JSON.stringify(value)}`);
      else headers[name] = String(value);
    }
  }
  const timeoutMs = readDuration(o, 'timeout', p, issues, { default: DEFAULTS.otlpTimeoutMs });
  return url === undefined ? undefined : { url, serviceName, headers, timeoutMs };
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
