// Hand-written descriptions of every configuration field: type, default, units, meaning.
// The validators (slo/config.ts, proxy/config.ts, ...) are the truth for which keys exist;
// test/docs/reference.test.ts probes them (probe.ts) and fails when a key exists there but
// not here, or here but not there. Defaults are read from the constants the validators use,
// so a changed default changes the generated docs/reference.md (and the test asks for a
// regeneration) instead of leaving a stale number behind.
import { Issues, formatDuration } from '../../common/index.ts';
import { readProxyConfig } from '../../proxy/index.ts';
import { readModels } from '../../server/index.ts';
import { SERVER_LIMIT_DEFAULTS } from '../../server/config.ts';
import { PROXY_DEFAULTS as PROXY } from '../../proxy/index.ts';
import { GUARD_DEFAULTS as GUARD } from '../../proxy/guard/index.ts';
import { DRIFT_DEFAULTS as DRIFT, DRIFT_METHODS } from '../../drift/index.ts';
import {
  DEFAULT_ACCURACY_MIN_LABELS, DEFAULT_ALIGN_MS, DEFAULT_BAD_CODES, DEFAULT_DRIFT_MIN_EVENTS, DEFAULT_MAX_READING_AGE_MS, DEFAULT_MIN_EVENTS,
  DEFAULT_NOTIFY_TIMEOUT_MS, DEFAULT_PERIOD_MS, DEFAULT_PROMETHEUS_TIMEOUT_MS, INFERENCE_APIS,
} from '../../slo/index.ts';
import { ROLLOUT_DEFAULTS as ROLLOUT, WEBHOOK_TYPES } from '../../rollout/index.ts';
import { DEFAULT_LEASE_TTL_MS } from '../../app/leader.ts';
import { TRUTH_DEFAULTS as TRUTH } from '../../truth/index.ts';
import { CAPTURE_DEFAULTS as CAPTURE, CAPTURE_FIELDS, COMPARE_DEFAULTS as COMPARE, SHADOW_DEFAULTS as SHADOW } from '../../shadow/index.ts';
import { ACCESS_LOG_DEFAULTS as ACCESS, ACCESS_LOG_FIELDS } from '../../proxy/access-log.ts';

export interface FieldDoc {
  /** string, number, integer, boolean, duration, bytes, list of X, map of X, object, one of. */
  type: string;
  /**
   * The default as a YAML value (test/docs/reference.test.ts writes it into a config and
   * checks the validator reads it as it reads the field left out); absent when none.
   */
  default?: string;
  /** A default that is not one value (depends on other fields); prose, not checked. */
  defaultNote?: string;
  units?: string;
  required?: boolean;
  text: string;
}

/** Paths: `a.b` for keys, `a[]` for list items, `<name>` for keys the user chooses. */
export type FieldTable = Readonly<Record<string, FieldDoc>>;

const dur = (ms: number): string => formatDuration(ms);
const list = (xs: readonly (string | number)[]): string => `[${xs.join(', ')}]`;
const bytes = (n: number): string =>
  n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)}MiB` : n % 1024 === 0 ? `${n / 1024}KiB` : String(n);

// Defaults written as literals inside a validator are read back from its output for the
// smallest valid input, so they come from the code too.
const PROXY_OUT = readProxyConfig({ rest: { upstream: 'http://127.0.0.1:1' }, grpc: { upstream: '127.0.0.1:1' } }, 'proxy', new Issues());
const SERVER_OUT = readModels([{ name: 'm', base_path: '.', batching: {} }], 'models', new Issues(), '/')[0];
const BATCHING = SERVER_OUT?.batching;
const LATEST = SERVER_OUT?.policy.kind === 'latest' ? SERVER_OUT.policy.numVersions : undefined;
const str = (v: unknown): string => (Array.isArray(v) ? list(v as number[]) : String(v));

const DURATION = 'duration string (ms, s, m, h, d, w)';
const PERCENT = 'percent (0–100)';
const SHARE = 'share (0–1)';

/** A listener's `tls` and `upstreamTls` (proxy/tls-config.ts), the same for REST and gRPC. */
function tlsFields(at: string, listener: string, upstream: string): Record<string, FieldDoc> {
  return {
    [`${at}.tls`]: { type: 'object', text: `TLS on the ${listener} from PEM files, re-read when they change (certificate rotation without a restart or dropped connections).` },
    [`${at}.tls.cert`]: { type: 'string (path)', required: true, text: 'Certificate chain (PEM).' },
    [`${at}.tls.key`]: { type: 'string (path)', required: true, text: 'Private key (PEM).' },
    [`${at}.tls.clientCa`]: { type: 'string (path)', text: 'CA bundle (PEM): clients must present a certificate it signed (mTLS); others are refused in the handshake.' },
    [`${at}.upstreamTls`]: { type: 'object', text: `${upstream}; \`{}\` trusts the system CAs.` },
    [`${at}.upstreamTls.ca`]: { type: 'string (path)', text: "CA bundle (PEM) the upstream's certificate must chain to." },
    [`${at}.upstreamTls.cert`]: { type: 'string (path)', text: 'Client certificate (PEM) for an upstream that asks for one (with `key`).' },
    [`${at}.upstreamTls.key`]: { type: 'string (path)', text: 'Client key (PEM), with `cert`.' },
    [`${at}.upstreamTls.serverName`]: { type: 'string', text: "Name checked against the upstream's certificate (SNI) when it differs from the URL's host." },
  };
}

/** modelgate.yaml (`modelgate start --config`, `modelgate proxy --config`, `modelgate check`). */
export const MODELGATE_YAML: FieldTable = {
  apiVersion: { type: 'string', required: true, text: 'Must be `modelgate/v1`. Sloth `prometheus/v1` and OpenSLO `v1` documents are also accepted and imported.' },

  // slos: (slo/config.ts)
  slos: { type: 'list of SLO', default: '[]', text: 'Service level objectives, evaluated per model version.' },
  'slos[].name': { type: 'string', required: true, text: 'Unique name: letters, digits, `_`, `.`, `-`. The `slo` label of the SLO metrics and rules.' },
  'slos[].description': { type: 'string', text: 'Free text; in the alert description and in GET /api/v1/slos.' },
  'slos[].model': { type: 'string', required: true, text: 'Model name as served.' },
  'slos[].version': { type: 'string', default: 'each', text: '`each` keeps one series per version; a version such as `"2"` restricts the SLO to it.' },
  'slos[].apis': { type: 'list of string', default: list(INFERENCE_APIS), text: 'Which request kinds count: predict, classify, regress, infer, status, metadata, health, other.' },
  'slos[].sli': { type: 'one of', required: true, text: 'Exactly one of `availability`, `latency`, `drift` or `accuracy`.' },
  'slos[].sli.availability': { type: 'object', text: 'Good = a response whose code is not in `badCodes`. `{}` takes the defaults.' },
  'slos[].sli.availability.badCodes': { type: 'list of code', default: list(DEFAULT_BAD_CODES), text: 'HTTP statuses (`503`), classes (`5xx`) or gRPC code names (`UNAVAILABLE`) that spend error budget.' },
  'slos[].sli.availability.countRejected': { type: 'boolean', default: 'false', text: 'Also count requests the proxy refused before forwarding (shed, rate limited, unauthenticated, forbidden) by their code. In-process evaluation only: the generated Prometheus rules count forwarded requests (`modelgate_requests_total` does not hold refused ones).' },
  'slos[].sli.latency': { type: 'object', text: 'Good = a successful response within `threshold`.' },
  'slos[].sli.latency.threshold': { type: 'duration', required: true, units: DURATION, text: 'Latency bound; added to the proxy histogram buckets so the Prometheus rule has an exact `le` bucket.' },
  'slos[].sli.drift': { type: 'object', text: 'Good = a drift evaluation window of the model version without drift (the `drift:` section\'s verdict). Takes no settings: write `{}`. Its events are windows, so `apis` is ignored.' },
  'slos[].sli.accuracy': { type: 'object', text: 'Good = a labelled prediction (`POST /api/v1/feedback`, the `truth:` section) that was right, or within `tolerance` for regression. Its events are labels as they arrive, so `apis` is ignored.' },
  'slos[].sli.accuracy.minLabels': { type: 'integer', default: String(DEFAULT_ACCURACY_MIN_LABELS), text: 'Labels an alert window needs before it can fire (the default of `alerting.minEvents` for this SLI).' },
  'slos[].sli.accuracy.tolerance': { type: 'number', text: 'Regression models: the largest absolute error that counts as right; added to the `modelgate_prediction_abs_error` buckets. Leave it out for classifiers.' },
  'slos[].objective': { type: 'number', required: true, units: PERCENT, text: 'Target share of good events, e.g. `99.9`. Must be below 100.' },
  'slos[].period': { type: 'duration', default: dur(DEFAULT_PERIOD_MS), units: DURATION, text: 'SLO period (error budget horizon); 1h to 1y. The default alert windows scale with it.' },
  'slos[].alerting': { type: 'object', text: 'Multiwindow burn-rate alerting.' },
  'slos[].alerting.minEvents': { type: 'integer', default: String(DEFAULT_MIN_EVENTS), units: 'events', text: `A window with fewer events cannot fire (avoids paging on 1 failure in 2 requests). A drift SLI defaults to ${DEFAULT_DRIFT_MIN_EVENTS}: its events are whole drift windows.` },
  'slos[].alerting.runbook': { type: 'string (URL)', text: 'Runbook URL carried by every alert of this SLO.' },
  'slos[].alerting.labels': { type: 'map of string', default: '{}', text: 'Extra alert labels; `slo`, `model`, `version`, `severity`, `alertname` are reserved.' },
  'slos[].alerting.windows': { type: 'list of window', defaultNote: 'the SRE workbook table, scaled to the period', text: 'Replaces the default 14.4×/1h/5m, 6×/6h/30m (page), 3×/1d/2h, 1×/3d/6h (ticket) table (for a 30d period). `[]`: no burn-rate alerts (the SLI is still recorded).' },
  'slos[].alerting.windows[].severity': { type: 'string', required: true, text: '`page` or `ticket`.' },
  'slos[].alerting.windows[].long': { type: 'duration', required: true, units: DURATION, text: 'Long window; at most the period.' },
  'slos[].alerting.windows[].short': { type: 'duration', required: true, units: DURATION, text: 'Short window (resets the alert quickly); shorter than `long` (the workbook uses long / 12).' },
  'slos[].alerting.windows[].factor': { type: 'number', required: true, units: 'burn rate (× the budget rate)', text: 'The alert fires when both windows burn faster than this.' },
  'slos[].notify': { type: 'list of string', default: '[]', text: 'Names of targets in the top-level `notify:` list.' },

  // notify: (slo/notify/config.ts)
  notify: { type: 'list of target', default: '[]', text: 'Named notification targets that SLO alerts are sent to.' },
  'notify[].name': { type: 'string', required: true, text: 'Unique name, referred to by `slos[].notify`.' },
  'notify[].webhook': { type: 'string (URL)', text: 'POST the Alertmanager webhook payload (version "4") here. Exactly one of `webhook` or `alertmanager`.' },
  'notify[].alertmanager': { type: 'string (URL)', text: 'Alertmanager base URL; alerts are POSTed to `/api/v2/alerts`.' },
  'notify[].timeout': { type: 'duration', default: dur(DEFAULT_NOTIFY_TIMEOUT_MS), units: DURATION, text: 'Per-request timeout.' },

  // proxy: (proxy/config.ts, proxy/split.ts)
  proxy: { type: 'object', text: 'The transparent proxy. When present, at least one of `rest` or `grpc` must be set.' },
  'proxy.rest': { type: 'object', text: 'REST listener (TF Serving `/v1`, KServe `/v2`) and its upstream.' },
  'proxy.rest.host': { type: 'string', default: str(PROXY_OUT.rest?.host), text: 'Listen address.' },
  'proxy.rest.port': { type: 'integer', default: str(PROXY_OUT.rest?.port), units: 'TCP port (0 = any free port)', text: 'Listen port.' },
  'proxy.rest.upstream': { type: 'string (URL)', required: true, text: 'Upstream base URL such as `http://127.0.0.1:8601`.' },
  ...tlsFields('proxy.rest', 'REST listener', 'TLS to an `https://` upstream'),
  'proxy.rest.client': { type: 'string', default: str(PROXY_OUT.rest?.client), units: '`native` or `undici`', text: 'Upstream client for requests with no body or a small one (up to 64 KiB with a content-length): `native` is the proxy\'s own keep-alive HTTP/1.1 client (one write per request), `undici` the undici Pool. Streamed bodies and `https` upstreams always use undici.' },
  'proxy.rest.server': { type: 'string', default: str(PROXY_OUT.rest?.server), units: '`relay` or `node`', text: 'How the REST listener reads requests. `relay` (the default without `tls`): the proxy parses the common request itself (GET or POST, HTTP/1.1, one Host, a content-length up to 64 KiB, no transfer-encoding, expect or upgrade, plain header bytes) and hands any other request, with its connection, to node:http, which answers it as it always does; it saves CPU per request (docs/benchmarks.md). `node`: node:http reads every request. A listener with `tls` always uses `node`.' },
  'proxy.grpc': { type: 'object', text: 'gRPC listener (plaintext h2c) and its upstream.' },
  'proxy.grpc.host': { type: 'string', default: str(PROXY_OUT.grpc?.host), text: 'Listen address.' },
  'proxy.grpc.port': { type: 'integer', default: str(PROXY_OUT.grpc?.port), units: 'TCP port (0 = any free port)', text: 'Listen port.' },
  'proxy.grpc.upstream': { type: 'string (host:port)', required: true, text: 'Upstream such as `127.0.0.1:8600`.' },
  'proxy.grpc.server': { type: 'string', default: str(PROXY_OUT.grpc?.server), units: '`frames` or `http2`', text: 'How the gRPC listener speaks HTTP/2. `frames` (the default): the proxy reads and writes HTTP/2 frames itself, on a plain TCP socket (h2c with prior knowledge, as gRPC clients connect) or, with `tls`, on a TLS socket whose ALPN selects h2, with its own limits against hostile clients (rapid reset, CONTINUATION floods, HPACK bombs, window abuse, unread output); it leaves no per-call HTTP/2 objects for the garbage collector, which node:http2 does (throughput and tail latency in docs/benchmarks.md, "gRPC on frames"). `http2`: node:http2.' },
  'proxy.grpc.client': { type: 'string', default: str(PROXY_OUT.grpc?.client), units: '`frames` or `http2`', text: 'How the proxy speaks HTTP/2 to the upstream: `frames` (the default), its own frame-level client (h2c, or TLS with ALPN h2 when `upstreamTls` is set), or `http2`, node:http2.' },
  ...tlsFields('proxy.grpc', 'gRPC listener', 'gRPC to the upstream over TLS (ALPN h2)'),
  'proxy.admin': { type: 'object', text: 'Admin API: `/metrics`, `/healthz`, `/api/v1/...`.' },
  'proxy.admin.host': { type: 'string', default: PROXY.adminHost, text: 'Listen address. Beyond loopback the proxy starts only with a token, or with `readOnly: true`.' },
  'proxy.admin.port': { type: 'integer', default: String(PROXY.adminPort), units: 'TCP port', text: 'Listen port.' },
  'proxy.admin.token': { type: 'string', text: 'Bearer token for changes under `/api/`; prefer the environment variable (a warning is given).' },
  'proxy.admin.tokenEnv': { type: 'string', default: PROXY.tokenEnv, text: 'Environment variable the token is read from.' },
  'proxy.admin.readOnly': { type: 'boolean', default: 'false', text: 'Serve only reads (GET/HEAD): every change answers 403. Lets the admin API listen beyond loopback without a token.' },
  'proxy.timeouts': { type: 'object', text: 'Connection and request deadlines.' },
  'proxy.timeouts.upstream': { type: 'duration', default: dur(PROXY.upstreamMs), units: DURATION, text: 'Upstream must answer (REST headers, the whole gRPC call) within this; else 504 / DEADLINE_EXCEEDED.' },
  'proxy.timeouts.headers': { type: 'duration', default: dur(PROXY.headersMs), units: DURATION, text: 'Client must send its request headers within this; at most `request`. Also the deadline for a TLS handshake on a listener with `tls`, and for the HTTP/2 connection preface on the gRPC listener.' },
  'proxy.timeouts.request': { type: 'duration', default: dur(PROXY.requestMs), units: DURATION, text: 'Client must send its whole request within this.' },
  'proxy.timeouts.keepAlive': { type: 'duration', default: dur(PROXY.keepAliveMs), units: DURATION, text: 'Idle client keep-alive connections are closed after this.' },
  'proxy.timeouts.clientBody': { type: 'duration', default: dur(PROXY.clientBodyMs), units: DURATION, text: 'A client that sends no byte of its request body for this long gets 408 `PRX_ERR_CLIENT_TIMEOUT` (gRPC unary calls: CANCELLED), counted as `client_timeout` (the client\'s fault: no error budget spent). The upstream timeout starts only once the whole request has been received and sent upstream.' },
  'proxy.timeouts.drain': { type: 'duration', default: dur(PROXY.drainMs), units: DURATION, text: 'On SIGTERM/SIGINT, how long in-flight requests may take before the proxy cuts them and exits (`--drain_timeout`); 0 cuts at once.' },
  'proxy.limits': { type: 'object', text: 'Size limits.' },
  'proxy.limits.maxBodyBytes': { type: 'bytes', default: bytes(PROXY.maxBodyBytes), units: 'bytes (integer or "64MiB", "512KiB")', text: 'Larger request bodies get 413 / RESOURCE_EXHAUSTED.' },
  'proxy.limits.maxHeaderBytes': { type: 'bytes', default: bytes(PROXY.maxHeaderBytes), units: 'bytes (integer or "16KiB")', text: 'REST: larger request headers get 431. gRPC with the frames server: the decoded header list limit it advertises (SETTINGS_MAX_HEADER_LIST_SIZE, at least 16 KiB); a larger one gets RST_STREAM ENHANCE_YOUR_CALM.' },
  'proxy.limits.upstreamConnections': { type: 'integer', default: String(PROXY.upstreamConnections), units: 'connections', text: 'REST: most connections (requests in flight) to the upstream at once, all models together.' },
  'proxy.limits.modelConnections': { type: 'integer', defaultNote: 'half of upstreamConnections', units: 'connections', text: 'REST: most upstream connections one model may hold, so a slow model cannot starve the others; past it, the model\'s requests wait in its own queue, and a freed connection goes to the waiting model holding the fewest. At most upstreamConnections.' },
  'proxy.splits': { type: 'map of split', default: '{}', text: 'Canary traffic split per model name (the rollout controller changes it at run time).' },
  'proxy.splits.<model>.stable': { type: 'string', required: true, text: 'Version that takes the traffic not sent to the canary.' },
  'proxy.splits.<model>.canary': { type: 'string', text: 'Candidate version; absent = all traffic to stable.' },
  'proxy.splits.<model>.weight': { type: 'number', default: '0', units: PERCENT, text: 'Share of requests that name no version sent to the canary.' },
  'proxy.splits.<model>.stickyHeader': { type: 'string', text: 'Request header (e.g. `x-user-id`) whose value keeps a caller on one variant.' },
  'proxy.bodies': { type: 'object', text: 'Request/response body copies for drift.' },
  'proxy.bodies.sampleRate': { type: 'number', default: String(PROXY.sampleRate), units: SHARE, text: 'Share of requests whose bodies are copied.' },
  'proxy.bodies.maxBytes': { type: 'bytes', default: bytes(PROXY.teeMaxBytes), units: 'bytes (integer or "1MiB")', text: 'Larger bodies are not copied (counted as dropped).' },
  'proxy.labels': { type: 'object', text: 'Metric label allowlist (cardinality cap).' },
  'proxy.labels.maxModels': { type: 'integer', default: String(PROXY.maxModels), units: 'models', text: 'Models beyond this are labelled `__other__`.' },
  'proxy.labels.maxVersionsPerModel': { type: 'integer', default: String(PROXY.maxVersionsPerModel), units: 'versions', text: 'Versions beyond this are labelled `__other__`.' },
  'proxy.labels.goneVersionGrace': { type: 'duration', default: dur(PROXY.goneVersionGraceMs), units: DURATION, text: 'A version gone from the upstream keeps its series this long.' },
  'proxy.labels.statusPoll': { type: 'duration', default: dur(PROXY.statusPollMs), units: DURATION, text: 'How often the upstream model status is read to learn versions.' },
  'proxy.labels.statusApi': { type: 'string', default: PROXY_OUT.labels.statusApi, text: '`tfserving` (GET /v1/models/{m}), `kserve` (GET /v2/models/{m}) or `none`.' },
  'proxy.latencyThresholds': { type: 'list of number', default: '[]', units: 'seconds', text: 'Extra latency histogram buckets (SLO latency thresholds are added automatically).' },
  'proxy.workers': { type: 'integer or "auto"', default: '1', units: 'processes (1–64; `auto` = one per core)', text: 'Processes that forward REST and gRPC (node:cluster workers sharing the listen sockets); the admin API, SLOs, drift and rollouts stay in the primary, which merges the workers\' metrics and outcomes. Only `modelgate proxy --config`; rate and concurrency limits apply per worker; refused with an access-log file (use `stdout`). See the README, "Several cores".' },
  'proxy.tracing': { type: 'object', text: 'OpenTelemetry tracing.' },
  'proxy.tracing.enabled': { type: 'boolean', default: str(PROXY_OUT.tracing.enabled), text: 'One OpenTelemetry server span per request (W3C `traceparent` continued and sent upstream); spans go to the OTLP exporter below when set, else to whatever OpenTelemetry SDK is registered.' },
  'proxy.tracing.otlp': { type: 'object', text: 'Export spans over OTLP/HTTP (JSON) with a batch processor; absent = no export. A slow or down collector loses spans, never requests; the queue is flushed when the proxy closes.' },
  'proxy.tracing.otlp.url': { type: 'string', required: true, units: 'URL', text: 'The collector\'s traces endpoint, used as given, e.g. `http://collector:4318/v1/traces`.' },
  'proxy.tracing.otlp.serviceName': { type: 'string', default: PROXY.otlpServiceName, text: 'The `service.name` resource attribute of the spans.' },
  'proxy.tracing.otlp.headers': { type: 'map of string', default: '{}', text: 'Extra HTTP headers on every export (e.g. `authorization` for a hosted collector).' },
  'proxy.tracing.otlp.timeout': { type: 'duration', default: dur(PROXY.otlpTimeoutMs), units: DURATION, text: 'One export, retries included, gives up after this; also bounds the flush when the proxy closes.' },

  // proxy: admission (proxy/guard/config.ts)
  'proxy.auth': { type: 'object', text: 'Callers must authenticate (API key or JWT) and a rule must allow the model, version and API; absent = open. Refusals: 401 + `WWW-Authenticate` / UNAUTHENTICATED, 403 / PERMISSION_DENIED (the same for a model that does not exist). Health checks stay open. Checked credentials are not forwarded upstream.' },
  'proxy.auth.apiKeys': { type: 'list of API key', default: '[]', text: 'API keys, sent as `Authorization: Bearer <key>` or `x-api-key: <key>` (gRPC: the same metadata). Each needs exactly one of `hash`, `file`, `env`.' },
  'proxy.auth.apiKeys[].name': { type: 'string', required: true, text: 'The identity the key stands for (rules, rate limits, priorities, access log); never the key itself.' },
  'proxy.auth.apiKeys[].hash': { type: 'string', text: '`sha256:<64 hex digits>` (`printf %s "$KEY" | sha256sum`) or `scrypt:<salt base64>:<hash base64>` (checked once per key, then cached).' },
  'proxy.auth.apiKeys[].file': { type: 'string (path)', text: 'A file holding the key (e.g. a mounted Secret), read at start.' },
  'proxy.auth.apiKeys[].env': { type: 'string', text: 'An environment variable holding the key, read at start.' },
  'proxy.auth.apiKeys[].groups': { type: 'list of string', default: '[]', text: 'Groups of this identity, for `group:<name>` in rules and priorities.' },
  'proxy.auth.jwt': { type: 'object', text: 'JWT bearer tokens (`Authorization: Bearer <jwt>`), verified with jose: signature against the JWKS, `iss`, `aud`, `exp` (required), `nbf`. The subject claim is the identity.' },
  'proxy.auth.jwt.issuer': { type: 'string', required: true, text: 'Required `iss`.' },
  'proxy.auth.jwt.audience': { type: 'list of string', required: true, text: 'Accepted `aud` values (a string is a list of one).' },
  'proxy.auth.jwt.jwksUrl': { type: 'string (URL)', text: 'The issuer\'s JWKS, fetched and cached; a token naming an unknown `kid` refetches it (key rotation). One of `jwksUrl`, `jwksFile`.' },
  'proxy.auth.jwt.jwksFile': { type: 'string (path)', text: 'A JWKS JSON file, read at start and re-read when it changes (key rotation). One of `jwksUrl`, `jwksFile`.' },
  'proxy.auth.jwt.algorithms': { type: 'list of string', default: list(GUARD.algorithms), text: 'Accepted `alg` values (RS*, PS*, ES*, EdDSA); `none` and shared-secret HS* are refused.' },
  'proxy.auth.jwt.clockSkew': { type: 'duration', default: dur(GUARD.clockSkewMs), units: DURATION, text: 'Tolerance for `exp` and `nbf` against the proxy\'s clock.' },
  'proxy.auth.jwt.subjectClaim': { type: 'string', default: 'sub', text: 'The claim naming the identity.' },
  'proxy.auth.jwt.groupsClaim': { type: 'string', default: 'groups', text: 'The claim listing the identity\'s groups (a list, or a space-separated string).' },
  'proxy.auth.jwt.jwksCacheMaxAge': { type: 'duration', default: dur(GUARD.jwksCacheMs), units: DURATION, text: '`jwksUrl`: a fetched key set is used this long before it is fetched again.' },
  'proxy.auth.jwt.jwksTimeout': { type: 'duration', default: dur(GUARD.jwksTimeoutMs), units: DURATION, text: '`jwksUrl`: a fetch gives up after this (the token is refused, 401).' },
  'proxy.auth.jwt.jwksCooldown': { type: 'duration', default: dur(GUARD.jwksCooldownMs), units: DURATION, text: '`jwksUrl`: a token with an unknown `kid` refetches the set at most this often.' },
  'proxy.auth.jwt.jwksReload': { type: 'duration', default: dur(GUARD.jwksReloadMs), units: DURATION, text: '`jwksFile`: how often the file\'s modification time is checked.' },
  'proxy.auth.rules': { type: 'list of rule', default: '[]', text: 'Who may call what; a request is allowed when any rule matches. No rules: every caller is refused (403).' },
  'proxy.auth.rules[].identities': { type: 'list of string', required: true, text: 'Key names, JWT subjects, `group:<name>`, or `*` for any authenticated caller.' },
  'proxy.auth.rules[].models': { type: 'list of string', required: true, text: 'Model names, or `*` (also server-level calls such as server metadata).' },
  'proxy.auth.rules[].versions': { type: 'list of string', default: '["*"]', text: 'Version numbers or labels the request must name; `*` = any, including none.' },
  'proxy.auth.rules[].apis': { type: 'list of string', default: '[predict, metadata, status]', text: '`predict` (every inference call: predict, classify, regress, infer), `classify`, `regress`, `infer`, `metadata`, `status`, `other` (paths and methods the proxy does not parse).' },
  'proxy.auth.realm': { type: 'string', default: GUARD.realm, text: 'The `realm` of the `WWW-Authenticate: Bearer` challenge.' },
  'proxy.auth.identityLabel': { type: 'boolean', default: 'false', text: 'Adds an `identity` label to `modelgate_requests_rejected_total` (key names, plus the first `maxIdentityLabels` other identities; the rest `__other__`).' },
  'proxy.auth.maxIdentityLabels': { type: 'integer', default: String(GUARD.maxIdentityLabels), units: 'identities', text: 'JWT subjects that may become label values beyond the key names.' },
  'proxy.rateLimits': { type: 'object', text: 'Token buckets (GCRA): over its rate a request gets 429 + `Retry-After` / RESOURCE_EXHAUSTED. Per identity (needs `auth`) and per model; a request takes a token from each bucket that applies, or from none.' },
  'proxy.rateLimits.identity': { type: 'object', text: 'Each identity\'s own bucket, for identities not listed in `identities`.' },
  'proxy.rateLimits.identity.rps': { type: 'number', required: true, units: 'requests per second', text: 'Sustained rate.' },
  'proxy.rateLimits.identity.burst': { type: 'integer', defaultNote: 'rps rounded up (at least 1)', units: 'requests', text: 'Requests that may come at once after a quiet spell.' },
  'proxy.rateLimits.identities': { type: 'map of rate', default: '{}', text: 'Per identity name (key name or JWT subject): its own `{rps, burst}`.' },
  'proxy.rateLimits.identities.<identity>.rps': { type: 'number', required: true, units: 'requests per second', text: 'Sustained rate.' },
  'proxy.rateLimits.identities.<identity>.burst': { type: 'integer', defaultNote: 'rps rounded up (at least 1)', units: 'requests', text: 'Burst.' },
  'proxy.rateLimits.model': { type: 'object', text: 'Each model\'s own bucket, all callers together, for models not listed in `models`.' },
  'proxy.rateLimits.model.rps': { type: 'number', required: true, units: 'requests per second', text: 'Sustained rate.' },
  'proxy.rateLimits.model.burst': { type: 'integer', defaultNote: 'rps rounded up (at least 1)', units: 'requests', text: 'Burst.' },
  'proxy.rateLimits.models': { type: 'map of rate', default: '{}', text: 'Per model name: its own `{rps, burst}`.' },
  'proxy.rateLimits.models.<model>.rps': { type: 'number', required: true, units: 'requests per second', text: 'Sustained rate.' },
  'proxy.rateLimits.models.<model>.burst': { type: 'integer', defaultNote: 'rps rounded up (at least 1)', units: 'requests', text: 'Burst.' },
  'proxy.rateLimits.identityModel': { type: 'object', text: 'Each identity\'s own bucket for each model it calls (needs `auth`), on top of the identity\'s and the model\'s buckets: one caller cannot take a model\'s whole rate.' },
  'proxy.rateLimits.identityModel.rps': { type: 'number', required: true, units: 'requests per second', text: 'Sustained rate.' },
  'proxy.rateLimits.identityModel.burst': { type: 'integer', defaultNote: 'rps rounded up (at least 1)', units: 'requests', text: 'Burst.' },
  'proxy.concurrency': { type: 'object', text: 'Per-model limits on admitted requests in flight: past the limit a request is shed at once, 503 + `Retry-After: 1` / UNAVAILABLE, before it can queue at the model server. Shed and rate-limited requests are not counted by the availability SLOs (unless `countRejected`).' },
  'proxy.concurrency.default': { type: 'object or integer', text: 'The limit of models not listed in `models` (each its own); absent = those are not limited. Same fields as `models.<model>`.' },
  'proxy.concurrency.default.limit': { type: 'integer', units: 'requests', text: 'A fixed limit (or write the number alone: `default: 8`).' },
  'proxy.concurrency.default.adaptive': { type: 'string', text: '`aimd` or `gradient`: a limit that follows latency, instead of `limit`.' },
  'proxy.concurrency.default.initial': { type: 'integer', defaultNote: '10 within min..max', units: 'requests', text: 'Adaptive: the starting limit.' },
  'proxy.concurrency.default.min': { type: 'integer', default: String(GUARD.adaptiveMin), units: 'requests', text: 'Adaptive: the lowest limit.' },
  'proxy.concurrency.default.max': { type: 'integer', default: String(GUARD.adaptiveMax), units: 'requests', text: 'Adaptive: the highest limit.' },
  'proxy.concurrency.default.latencyTarget': { type: 'duration', default: dur(GUARD.latencyTargetMs), units: DURATION, text: 'Adaptive: `aimd` shrinks the limit by 10% for each request slower than this (or dropped) and grows it by one for each faster one while over half used; `gradient` shrinks it when a window\'s mean latency rises above 1.5x its long-term level or above this. Set it to the latency SLO threshold or below.' },
  'proxy.concurrency.models': { type: 'map of limit', default: '{}', text: 'Per model name: `{limit}`, `{adaptive, initial, min, max, latencyTarget}`, or a number.' },
  'proxy.concurrency.models.<model>.limit': { type: 'integer', units: 'requests', text: 'A fixed limit.' },
  'proxy.concurrency.models.<model>.adaptive': { type: 'string', text: '`aimd` or `gradient` (see `default.latencyTarget`).' },
  'proxy.concurrency.models.<model>.initial': { type: 'integer', defaultNote: '10 within min..max', units: 'requests', text: 'Adaptive: the starting limit.' },
  'proxy.concurrency.models.<model>.min': { type: 'integer', default: String(GUARD.adaptiveMin), units: 'requests', text: 'Adaptive: the lowest limit.' },
  'proxy.concurrency.models.<model>.max': { type: 'integer', default: String(GUARD.adaptiveMax), units: 'requests', text: 'Adaptive: the highest limit.' },
  'proxy.concurrency.models.<model>.latencyTarget': { type: 'duration', default: dur(GUARD.latencyTargetMs), units: DURATION, text: 'Adaptive: see `default.latencyTarget`.' },
  'proxy.concurrency.priority': { type: 'list of string', default: '[]', text: 'Identities (names or `group:<name>`; needs `auth`) shed last: only they may use the reserved share of each limit.' },
  'proxy.concurrency.reserve': { type: 'number', default: String(GUARD.reserve), units: 'share (0–0.9)', text: 'Share of each limit kept for `priority` identities (applies only when `priority` names some).' },

  'proxy.accessLog': { type: 'object', text: 'One JSON line per finished request (REST and gRPC; written by pino off the request path; flushed by the drain); absent = off.' },
  'proxy.accessLog.enabled': { type: 'boolean', default: 'true', text: 'Turns the access log off without removing the section.' },
  'proxy.accessLog.sample': { type: 'number', default: String(ACCESS.sample), units: SHARE, text: 'Share of requests logged.' },
  'proxy.accessLog.fields': { type: 'list of string', defaultNote: 'all', text: `Fields written: ${ACCESS_LOG_FIELDS.map((f) => '`' + f + '`').join(', ')}.` },
  'proxy.accessLog.to': { type: 'one of', default: 'stdout', text: '`stdout`, or `{file, maxBytes, keep}` for a file rotated by size.' },
  'proxy.accessLog.to.file': { type: 'string (path)', required: true, text: 'The log file; rotated files are `file.1` (newest) … `file.<keep>`.' },
  'proxy.accessLog.to.maxBytes': { type: 'bytes', default: bytes(ACCESS.maxBytes), units: 'bytes (integer or "100MiB")', text: 'Rotate when the file would grow past this (lines written while the new file opens still go to it).' },
  'proxy.accessLog.to.keep': { type: 'integer', default: String(ACCESS.keep), units: 'files (0–100)', text: 'Rotated files kept.' },

  // capture: (shadow/config.ts)
  capture: { type: 'object', text: 'Sampled capture of inference exchanges (request and answer) to rotating JSON Lines files, for `modelgate replay`; off the request path, bounded, drops counted in `modelgate_capture_records_total`; absent = off.' },
  'capture.dir': { type: 'string (path)', default: CAPTURE.dir, text: 'Folder of `capture.jsonl` and its rotated files (`capture.1.jsonl` newest); relative to the config file.' },
  'capture.sample': { type: 'number', default: String(CAPTURE.sample), units: SHARE, text: 'Share of each captured model\'s inference requests written (independent of `proxy.bodies.sampleRate`).' },
  'capture.models': { type: 'list of string', defaultNote: 'every model', text: 'Models captured.' },
  'capture.fields': { type: 'list of string', defaultNote: 'all', text: `Fields kept in each line: ${CAPTURE_FIELDS.map((f) => '`' + f + '`').join(', ')}; without \`request\` a line cannot be replayed.` },
  'capture.inputs': { type: 'list of string', defaultNote: 'every input', text: 'Keep only these inputs of JSON request bodies (TF Serving rows or columns, KServe v2), so other inputs (personal data) are never written. gRPC request messages are then left out whole (their lines cannot be replayed).' },
  'capture.maxFileSize': { type: 'bytes', default: bytes(CAPTURE.maxFileBytes), units: 'bytes (integer or "64MiB")', text: 'A file is rotated before it passes this.' },
  'capture.maxFiles': { type: 'integer', default: String(CAPTURE.maxFiles), units: 'files (1–1000)', text: 'Files kept, the current one included; the oldest is deleted.' },

  // truth: (truth/config.ts)
  truth: { type: 'object', text: 'Delayed labels: predictions kept by request id for `POST /api/v1/feedback`, live accuracy per version; absent = off.' },
  'truth.sampleRate': { type: 'number', default: String(TRUTH.sampleRate), units: SHARE, text: 'Share of each model\'s requests whose prediction is stored (the proxy copies their bodies for it, whatever `proxy.bodies.sampleRate` is); only those can be labelled.' },
  'truth.ttl': { type: 'duration', default: dur(TRUTH.ttlMs), units: DURATION, text: 'A prediction not labelled within this is dropped (counted in `modelgate_prediction_store_evictions_total{reason="ttl"}`).' },
  'truth.maxEntries': { type: 'integer', default: String(TRUTH.maxEntries), units: 'predictions (1–10000000)', text: 'Predictions kept at most; the oldest are evicted first (`reason="capacity"`).' },
  'truth.maxBatch': { type: 'integer', default: String(TRUTH.maxBatch), units: 'entries (1–100000)', text: 'Feedback entries per request; more → 413.' },
  'truth.window': { type: 'duration', default: dur(TRUTH.windowMs), units: DURATION, text: 'Accuracy, precision, recall, log loss, MAE, RMSE, labelled share and label delay are over the predictions of this much time.' },
  'truth.models': { type: 'map of model', required: true, text: 'Per model name: its task and where its prediction is in the response.' },
  'truth.models.<model>.task': { type: 'string', required: true, text: '`classification` or `regression`.' },
  'truth.models.<model>.predicted': { type: 'one of', text: 'Classification: the output holding the predicted class (an output name or `{ output, column }`); absent: the argmax of `probabilities`.' },
  'truth.models.<model>.predicted.output': { type: 'string', required: true, text: 'Output tensor / row key.' },
  'truth.models.<model>.predicted.column': { type: 'integer', text: 'Column of a [N, C] output.' },
  'truth.models.<model>.probabilities': { type: 'string', text: 'Classification: the output holding one probability per class ([N, classes]), for log loss; needs `classes`.' },
  'truth.models.<model>.classes': { type: 'list of string', text: 'Class names by index (index 0 first); labels and predictions may use a name or its index.' },
  'truth.models.<model>.value': { type: 'one of', required: true, text: 'Regression: the output holding the predicted value (an output name or `{ output, column }`).' },
  'truth.models.<model>.value.output': { type: 'string', required: true, text: 'Output tensor / row key.' },
  'truth.models.<model>.value.column': { type: 'integer', text: 'Column of a [N, C] output.' },

  // drift: (drift/config.ts)
  drift: { type: 'object', text: 'Drift detection; absent = off.' },
  'drift.enabled': { type: 'boolean', default: String(DRIFT.enabled), text: 'Turns drift detection off without removing the section.' },
  'drift.sampleRate': { type: 'number', default: String(DRIFT.sampleRate), units: SHARE, text: 'Share of copied bodies that are parsed into rows.' },
  'drift.window': { type: 'duration', default: dur(DRIFT.window), units: DURATION, text: 'Evaluation window; one verdict per window.' },
  'drift.minSamples': { type: 'integer', default: String(DRIFT.minSamples), units: 'rows', text: 'Fewer rows in a window → inconclusive.' },
  'drift.reservoirSize': { type: 'integer', default: String(DRIFT.reservoirSize), units: 'values per feature (10–100000)', text: 'Values kept per model × version × feature for KS.' },
  'drift.maxCategories': { type: 'integer', default: String(DRIFT.maxCategories), units: 'categories (2–10000)', text: 'Distinct categories counted per categorical feature before the rest fold into one.' },
  'drift.bins': { type: 'integer', default: String(DRIFT.bins), units: 'bins (2–100)', text: 'Quantile bins per numeric feature in a baseline built here.' },
  'drift.smallReferenceRows': { type: 'integer', default: String(DRIFT.smallReferenceRows), units: 'rows', text: '`auto` uses tests (KS, chi-square) up to this reference size and distances (Wasserstein, JS) above.' },
  'drift.baselineDir': { type: 'string (path)', default: DRIFT.baselineDir, text: 'Baselines live at `<dir>/<model>/<version>/drift-baseline.json`; a relative path is relative to this file.' },
  'drift.thresholds': { type: 'object', text: 'Per-method drift thresholds.' },
  'drift.thresholds.psi': { type: 'number', default: String(DRIFT.thresholds.psi), units: 'PSI', text: 'PSI at or above this is drift.' },
  'drift.thresholds.pValue': { type: 'number', default: String(DRIFT.thresholds.pValue), units: 'probability (0–1)', text: 'p-value below this (after correction) is drift.' },
  'drift.thresholds.js': { type: 'number', default: String(DRIFT.thresholds.js), units: 'Jensen-Shannon distance (0–√ln2)', text: 'Distance at or above this is drift.' },
  'drift.thresholds.wasserstein': { type: 'number', default: String(DRIFT.thresholds.wasserstein), units: 'W1 / σ of the reference', text: 'Normed Wasserstein distance at or above this is drift.' },
  'drift.verdict': { type: 'one of', default: DRIFT.verdict.rule, text: '`bonferroni` (any feature drifts after Bonferroni correction) or `{ share: N }`.' },
  'drift.verdict.share': { type: 'number', required: true, units: SHARE, text: 'The model drifts when at least this share of its features drift.' },
  'drift.maxQueue': { type: 'integer', default: String(DRIFT.maxQueue), units: 'bodies', text: 'Bodies waiting to be parsed; beyond this, offers are dropped and counted.' },
  'drift.models': { type: 'map of model', default: '{}', text: 'Per model name: the features to watch and the baseline.' },
  'drift.models.<model>.baseline': { type: 'one of', default: 'file', text: '`file` (built by `modelgate baseline`), `live`, or `{ from: live, version, window, minSamples }`.' },
  'drift.models.<model>.baseline.from': { type: 'string', default: 'file', text: '`file` or `live` (the stable version\'s own traffic).' },
  'drift.models.<model>.baseline.version': { type: 'string', text: 'Live only: version whose traffic is the reference; default the split\'s stable version.' },
  'drift.models.<model>.baseline.window': { type: 'duration', default: dur(DRIFT.liveBaselineWindow), units: DURATION, text: 'Live only: how long reference traffic is collected.' },
  'drift.models.<model>.baseline.minSamples': { type: 'integer', default: String(DRIFT.liveBaselineMinSamples), units: 'rows', text: 'Live only: rows needed before the baseline is used.' },
  'drift.models.<model>.inputs': { type: 'list of feature', default: '[]', text: 'Input features: a name, or an object below.' },
  'drift.models.<model>.inputs[].name': { type: 'string', required: true, text: 'Feature name (the `feature` label).' },
  'drift.models.<model>.inputs[].input': { type: 'string', defaultNote: 'the name', text: 'Input tensor / row key to read.' },
  'drift.models.<model>.inputs[].output': { type: 'string', text: 'Not allowed under `inputs` (reported as an error); use `input`.' },
  'drift.models.<model>.inputs[].column': { type: 'integer', units: 'column index', text: 'Column of a [N, C] tensor.' },
  'drift.models.<model>.inputs[].type': { type: 'string', default: 'numeric', text: '`numeric` or `categorical`.' },
  'drift.models.<model>.inputs[].method': { type: 'string', default: 'auto', text: `One of ${DRIFT_METHODS.join(', ')}.` },
  'drift.models.<model>.outputs': { type: 'list of feature', default: '[]', text: 'Output (prediction) features: a name, or an object below.' },
  'drift.models.<model>.outputs[].name': { type: 'string', required: true, text: 'Feature name (the `feature` label).' },
  'drift.models.<model>.outputs[].output': { type: 'string', defaultNote: 'the name', text: 'Output tensor to read.' },
  'drift.models.<model>.outputs[].input': { type: 'string', text: 'Not allowed under `outputs` (reported as an error); use `output`.' },
  'drift.models.<model>.outputs[].column': { type: 'integer', units: 'column index', text: 'Column of a [N, C] tensor, e.g. 1 for the positive-class probability.' },
  'drift.models.<model>.outputs[].type': { type: 'string', defaultNote: 'categorical for outputs named label(s), class(es), class_id(s); else numeric', text: '`numeric` or `categorical`.' },
  'drift.models.<model>.outputs[].method': { type: 'string', default: 'auto', text: `One of ${DRIFT_METHODS.join(', ')}.` },

  // rollouts: (rollout/config.ts)
  rollouts: { type: 'list of rollout', default: '[]', text: 'Automated canary rollouts, one per model.' },
  'rollouts[].model': { type: 'string', required: true, text: 'Model name; one rollout per model.' },
  'rollouts[].canary': { type: 'string', default: 'newest', text: '`newest` (the highest available version above stable) or a version.' },
  'rollouts[].stable': { type: 'string', text: 'Stable version; default the proxy split\'s stable version.' },
  'rollouts[].weights': { type: 'list of number', default: list(ROLLOUT.weights), units: PERCENT, text: 'Increasing canary weights, one step per passed interval. Or `stepWeight` + `maxWeight`.' },
  'rollouts[].stepWeight': { type: 'number', units: PERCENT, text: 'Flagger style: add this per step (with `maxWeight`, instead of `weights`).' },
  'rollouts[].maxWeight': { type: 'number', units: PERCENT, text: 'Flagger style: the last step\'s weight.' },
  'rollouts[].interval': { type: 'duration', default: dur(ROLLOUT.intervalMs), units: DURATION, text: 'Analysis interval; a step lasts one interval when it passes.' },
  'rollouts[].minRequests': { type: 'integer', default: String(ROLLOUT.minRequests), units: 'requests', text: 'Canary requests needed in an interval for a verdict; fewer → inconclusive.' },
  'rollouts[].failureThreshold': { type: 'integer', default: String(ROLLOUT.failureThreshold), units: 'consecutive failed checks', text: 'Failed checks in a row that roll back.' },
  'rollouts[].analysis': { type: 'object', text: 'The checks each interval runs.' },
  'rollouts[].analysis.slo': { type: 'object', text: 'Burn rate of the canary\'s SLOs.' },
  'rollouts[].analysis.slo.enabled': { type: 'boolean', default: 'true', text: 'Run this check.' },
  'rollouts[].analysis.slo.maxBurnRate': { type: 'number', default: String(ROLLOUT.maxBurnRate), units: 'burn rate', text: 'The canary fails above this burn rate.' },
  'rollouts[].analysis.slo.window': { type: 'duration', defaultNote: 'the time since the last check', units: DURATION, text: 'Window the burn rate is read over.' },
  'rollouts[].analysis.slo.minEvents': { type: 'integer', default: String(ROLLOUT.sloMinEvents), units: 'events', text: 'Fewer SLO events → inconclusive.' },
  'rollouts[].analysis.errors': { type: 'object', text: 'Canary error ratio against stable\'s.' },
  'rollouts[].analysis.errors.enabled': { type: 'boolean', default: 'true', text: 'Run this check.' },
  'rollouts[].analysis.errors.maxIncrease': { type: 'number', default: String(ROLLOUT.maxIncreasePoints), units: 'percentage points', text: 'Error ratio the canary may add over stable.' },
  'rollouts[].analysis.latency': { type: 'object', text: 'Canary latency against stable\'s (p99 ratio and Mann-Whitney U).' },
  'rollouts[].analysis.latency.enabled': { type: 'boolean', default: 'true', text: 'Run this check.' },
  'rollouts[].analysis.latency.maxP99Ratio': { type: 'number', default: String(ROLLOUT.maxP99Ratio), units: 'ratio (≥ 1)', text: 'Canary p99 over stable p99 above this fails.' },
  'rollouts[].analysis.latency.confidence': { type: 'number', default: String(ROLLOUT.confidencePercent), units: 'percent (50–99.9999)', text: 'Confidence of the Mann-Whitney test (Kayenta\'s judge).' },
  'rollouts[].analysis.latency.tolerance': { type: 'number', default: String(ROLLOUT.tolerancePercent), units: 'percent', text: 'The canary fails only when its shift (Hodges-Lehmann) is more than this share of stable\'s latency, as well as significant.' },
  'rollouts[].analysis.latency.minDelta': { type: 'duration', default: dur(ROLLOUT.minDeltaMs), units: DURATION, text: 'Latency differences below this never fail.' },
  'rollouts[].analysis.latency.minSamples': { type: 'integer', default: String(ROLLOUT.minSamples), units: 'requests per side', text: 'Fewer → inconclusive.' },
  'rollouts[].analysis.drift': { type: 'object', text: 'Drift verdict of the canary.' },
  'rollouts[].analysis.drift.enabled': { type: 'boolean', default: 'true', text: 'Run this check.' },
  'rollouts[].analysis.accuracy': { type: 'object', text: 'Labelled accuracy (`truth:` section), canary vs stable: a one-sided two-proportion z-test on the split-routed predictions whose labels arrived since the rollout started (the last hour at most). Absent = off: labels come late, and a check without them holds every step inconclusive.' },
  'rollouts[].analysis.accuracy.enabled': { type: 'boolean', defaultNote: 'true when the section is present', text: 'Run this check.' },
  'rollouts[].analysis.accuracy.minLabels': { type: 'integer', default: String(ROLLOUT.accuracyMinLabels), units: 'labels per side', text: 'Fewer labelled predictions on either side → inconclusive.' },
  'rollouts[].analysis.accuracy.confidence': { type: 'number', default: String(ROLLOUT.accuracyConfidencePercent), units: PERCENT, text: 'The test fails the canary at significance 1 − confidence.' },
  'rollouts[].analysis.accuracy.maxDecrease': { type: 'number', default: String(ROLLOUT.accuracyMaxDecreasePoints), units: 'percentage points', text: 'Accuracy the canary may lose before a significant difference fails.' },
  'rollouts[].shadow': { type: 'object', text: 'A first step in which the canary takes no client traffic: `share` of stable\'s split-routed requests are sent again to the canary (pinned in the path or ModelSpec, on the mirror\'s own connections, dropped and counted when its queue is full) and the answers compared; after `duration` and `minRequests` compared requests the `divergence` check passes (the weight steps follow) or fails (counted towards `failureThreshold`, then rolled back). Fewer compared requests: inconclusive, the rollout waits (paused) and never promotes. Absent = no shadow step.' },
  'rollouts[].shadow.share': { type: 'number', default: String(SHADOW.sharePercent), units: 'percent (0.01–100)', text: 'Share of the model\'s split-routed requests mirrored to the canary.' },
  'rollouts[].shadow.duration': { type: 'duration', default: dur(SHADOW.durationMs), units: DURATION, text: 'The shadow step lasts at least this long before it is judged.' },
  'rollouts[].shadow.minRequests': { type: 'integer', default: String(SHADOW.minRequests), units: 'requests', text: 'Compared requests (answers or candidate errors) before the step can pass or fail.' },
  'rollouts[].shadow.compare': { type: 'object', text: 'How the two answers are compared and judged.' },
  'rollouts[].shadow.compare.outputs': { type: 'list of output', defaultNote: 'every output both answers have', text: 'Outputs to compare: names, or `{output, column?, kind?, absTolerance?, relTolerance?}`.' },
  'rollouts[].shadow.compare.outputs[].output': { type: 'string', required: true, text: 'Output tensor / row key (as in the drift section).' },
  'rollouts[].shadow.compare.outputs[].column': { type: 'integer', text: 'One column of a [N, C] output; absent: every column.' },
  'rollouts[].shadow.compare.outputs[].kind': { type: 'string', defaultNote: 'class for integers, strings and booleans; score for floats', text: '`class`: equal or not (agreement, flip matrix); `score`: within tolerance (difference quantiles).' },
  'rollouts[].shadow.compare.outputs[].absTolerance': { type: 'number', text: 'This output\'s absolute tolerance.' },
  'rollouts[].shadow.compare.outputs[].relTolerance': { type: 'number', text: 'This output\'s relative tolerance.' },
  'rollouts[].shadow.compare.absTolerance': { type: 'number', default: String(COMPARE.absTolerance), text: 'Scores agree when |a − b| ≤ absTolerance + relTolerance·|a|.' },
  'rollouts[].shadow.compare.relTolerance': { type: 'number', default: String(COMPARE.relTolerance), text: 'See `absTolerance`.' },
  'rollouts[].shadow.compare.maxDisagreement': { type: 'number', default: String(SHADOW.maxDisagreementPercent), units: 'percent of rows', text: 'More rows with any compared value differing fails the check.' },
  'rollouts[].shadow.compare.maxCandidateErrors': { type: 'number', default: String(SHADOW.maxCandidateErrorsPercent), units: 'percent of mirrored requests', text: 'More candidate failures (error answers, timeouts) fails the check.' },
  'rollouts[].webhooks': { type: 'list of webhook', default: '[]', text: 'Hooks called around the rollout (Flagger style).' },
  'rollouts[].webhooks[].name': { type: 'string', required: true, text: 'Name in the audit log.' },
  'rollouts[].webhooks[].type': { type: 'string', required: true, text: `One of ${WEBHOOK_TYPES.join(', ')}.` },
  'rollouts[].webhooks[].url': { type: 'string (URL)', required: true, text: 'http(s) URL that gets a POST with a Flagger-style payload; a 2xx answer is success. Only a failing `pre-rollout` hook changes the rollout (it blocks the start).' },
  'rollouts[].webhooks[].timeout': { type: 'duration', default: dur(ROLLOUT.webhookTimeoutMs), units: DURATION, text: 'Per-call timeout.' },
  'rollouts[].webhooks[].metadata': { type: 'map of string', default: '{}', text: 'Sent in the payload\'s `metadata` (with type, canary, stable, weight and reason added).' },

  // sloSource: (slo/source-config.ts)
  sloSource: { type: 'one of', default: 'local', text: '`local` (this process\'s windows) or `{ prometheus: {...} }` (fleet-wide counts through the Prometheus HTTP API).' },
  'sloSource.local': { type: 'any', text: 'Same as `sloSource: local`.' },
  'sloSource.prometheus': { type: 'object', text: 'Read good/total counts from Prometheus.' },
  'sloSource.prometheus.url': { type: 'string (URL)', required: true, text: 'Prometheus base URL (without `/api/v1`).' },
  'sloSource.prometheus.timeout': { type: 'duration', default: dur(DEFAULT_PROMETHEUS_TIMEOUT_MS), units: DURATION, text: 'A slower query makes the tick inconclusive.' },
  'sloSource.prometheus.align': { type: 'duration', default: dur(DEFAULT_ALIGN_MS), units: DURATION, text: 'Evaluation instants are multiples of this, so replicas agree exactly.' },
  'sloSource.prometheus.offset': { type: 'duration', default: '0s', units: DURATION, text: 'Evaluate this far in the past (lets the last scrape land).' },
  'sloSource.prometheus.maxAge': { type: 'duration', default: dur(DEFAULT_MAX_READING_AGE_MS), units: DURATION, text: 'Older readings are not given to the rollout analysis.' },

  // leader: (app/leader-config.ts)
  leader: { type: 'object', default: '{ mode: single }', text: 'Which replica acts on verdicts (rollouts, notifications).' },
  'leader.mode': { type: 'string', default: 'single', text: '`single` (one named replica acts) or `lease` (the lease holder acts).' },
  'leader.controller': { type: 'string', text: 'mode single: only the replica with this identity acts; absent = this process acts.' },
  'leader.identity': { type: 'string', defaultNote: '$HOSTNAME, else host:pid', text: 'This replica\'s name.' },
  'leader.lease': { type: 'object', text: 'mode lease: required.' },
  'leader.lease.file': { type: 'string (path)', text: 'Lease file on a volume every replica shares (give this or kubernetes); a relative path is relative to this file.' },
  'leader.lease.kubernetes': { type: 'object', text: 'A coordination.k8s.io/v1 Lease, with the pod\'s service account (give this or file).' },
  'leader.lease.kubernetes.name': { type: 'string', default: 'modelgate-leader', text: 'The Lease object\'s name.' },
  'leader.lease.kubernetes.namespace': { type: 'string', defaultNote: 'the pod\'s namespace', text: 'The Lease object\'s namespace.' },
  'leader.lease.ttl': { type: 'duration', default: dur(DEFAULT_LEASE_TTL_MS), units: DURATION, text: 'Lease duration: a record unchanged this long may be taken over; at least 3s.' },
  'leader.lease.renewDeadline': { type: 'duration', defaultNote: '2/3 of ttl (10s)', units: DURATION, text: 'The holder stops acting when its last renewal is this old; shorter than ttl.' },
  'leader.lease.retryPeriod': { type: 'duration', defaultNote: '2/15 of ttl (2s) for kubernetes, ttl/3 for file', units: DURATION, text: 'How often the holder renews and the others try; shorter than renewDeadline.' },
};

/** The server's model config file (`modelgate serve --model_config_file`, `modelgate start --model_config_file`). */
export const MODELS_YAML: FieldTable = {
  models: { type: 'list of model', required: true, text: 'Models to serve (our YAML form of TF Serving\'s ModelServerConfig).' },
  'models[].name': { type: 'string', required: true, text: 'Model name in URLs and gRPC model specs: letters, digits, `_ . -`.' },
  'models[].base_path': { type: 'string (path)', required: true, text: 'Folder holding `<version>/model.onnx`; relative to the config file.' },
  'models[].version_policy': { type: 'one of', default: '{ latest: { num_versions: 1 } }', text: '`{ latest: { num_versions: N } }`, `{ all: {} }` or `{ specific: { versions: [1, 2] } }`.' },
  'models[].version_policy.latest': { type: 'object', text: 'Serve the N highest versions.' },
  'models[].version_policy.latest.num_versions': { type: 'integer', default: str(LATEST), units: 'versions', text: 'How many of the highest versions are served.' },
  'models[].version_policy.all': { type: 'object', text: 'Serve every version found.' },
  'models[].version_policy.specific': { type: 'object', text: 'Serve the listed versions.' },
  'models[].version_policy.specific.versions': { type: 'list of integer', required: true, text: 'Version numbers.' },
  'models[].version_labels': { type: 'map of integer', default: '{}', text: 'Label → version, e.g. `{ stable: 1, canary: 2 }` (`/v1/models/m/labels/canary`).' },
  'models[].batching': { type: 'object', text: 'Dynamic batching (TF Serving BatchingParameters names); absent = off.' },
  'models[].batching.max_batch_size': { type: 'integer', default: str(BATCHING?.maxBatchSize), units: 'rows', text: 'Largest merged batch.' },
  'models[].batching.batch_timeout_micros': { type: 'integer', default: str(BATCHING?.batchTimeoutMicros), units: 'microseconds', text: 'How long a batch waits for company once a batch thread is free.' },
  'models[].batching.max_enqueued_batches': { type: 'integer', default: str(BATCHING?.maxEnqueuedBatches), units: 'batches', text: 'Queue length; beyond it requests get 503 / UNAVAILABLE.' },
  'models[].batching.num_batch_threads': { type: 'integer', default: str(BATCHING?.numBatchThreads), units: 'threads', text: 'Batches run at once; more than 1 runs batches in parallel only with `worker_threads` of at least as many (on the event loop, runs take turns).' },
  'models[].batching.allowed_batch_sizes': { type: 'list of integer', default: str(BATCHING?.allowedBatchSizes), units: 'rows', text: 'Batches are padded up to one of these; strictly increasing, last = max_batch_size.' },
  'models[].batching.preferred_batch_size': { type: 'list of integer', default: str(BATCHING?.preferredBatchSizes), units: 'rows', text: 'A batch runs without waiting once it reaches the largest of these (Triton\'s preferred_batch_size); default max_batch_size.' },
  'models[].worker_threads': { type: 'integer', default: '0', units: 'threads', text: 'Threads that run this model, each with its own ONNX Runtime session (Triton\'s instance_group count); 0 runs it on the event-loop thread. Worth it for models whose runs take hundreds of µs or more: the server keeps reading and answering while they compute, and up to N runs (e.g. `num_batch_threads`) compute at once. Each thread holds its own copy of the weights.' },
  'models[].allow_signature_change': { type: 'boolean', default: 'false', text: 'Serve a new version even when its signature (input and output names, dtypes, shapes) differs from the serving version\'s. Off: such a version is not swapped in; the serving one stays and the new one shows `END` / `FAILED_PRECONDITION` with the differences in its status.' },
  'models[].max_body_bytes': { type: 'integer', defaultNote: 'the server\'s max_body_bytes', units: 'bytes', text: 'Largest REST request body for this model (413 above), in place of the server-wide limit.' },
  server: { type: 'object', text: 'Server-wide limits, the same as the `modelgate serve` flags of the same names; a flag given on the command line wins.' },
  'server.max_body_bytes': { type: 'integer', default: String(SERVER_LIMIT_DEFAULTS.max_body_bytes), units: 'bytes', text: 'Largest REST request body (413 above).' },
  'server.body_read_timeout_ms': { type: 'integer', default: String(SERVER_LIMIT_DEFAULTS.body_read_timeout_ms), units: 'ms', text: 'Time a client has to send its whole request body: 408 after, counted as a client error (gRPC: the request message, CANCELLED). The flag `--body_read_timeout` (a duration) wins over it.' },
  'server.max_large_bodies': { type: 'integer', default: String(SERVER_LIMIT_DEFAULTS.max_large_bodies), units: 'requests', text: 'REST requests with a body over 1 MiB handled at once; one more gets 503 with Retry-After.' },
  'server.max_tensor_elements': { type: 'integer', default: String(SERVER_LIMIT_DEFAULTS.max_tensor_elements), units: 'elements', text: 'Largest element count of one gRPC request tensor (INVALID_ARGUMENT above, before allocating); 0 = grpc_max_message_bytes / 4.' },
  'server.grpc_idle_timeout_seconds': { type: 'integer', default: String(SERVER_LIMIT_DEFAULTS.grpc_idle_timeout_seconds), units: 'seconds', text: 'An HTTP/2 connection with no call open for this long is closed (GOAWAY). The flag `--grpc_idle_timeout` (a duration) wins over it.' },
};
