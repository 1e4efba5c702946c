// HTTP endpoints, by the port that serves them. Written by hand (routes are code, not data),
// and checked against the code by test/docs/reference.test.ts: every admin route the source
// mounts (`.route('GET', '/api/...')`) must be listed here, every server path must parse
// (server/rest/routes.ts parseRoute), and every GET listed here must answer (not 404) on a
// real server and gateway started on port 0.

export type Surface = 'server' | 'admin';

export interface EndpointDoc {
  surface: Surface;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** `:name` marks a parameter, `[...]` an optional part. */
  path: string;
  /** Admin routes: needs `Authorization: Bearer <token>`. */
  auth?: boolean;
  /** Who mounts it, when not always there. */
  mountedBy?: string;
  text: string;
  /** A concrete path the test sends (GET) or parses (server), with the example models. */
  example: string;
}

/** `modelgate serve` REST port (`--rest_api_port`), the TF Serving and KServe v2 surfaces. */
const SERVER: EndpointDoc[] = [
  { surface: 'server', method: 'GET', path: '/v1/models/:model[/versions/:version | /labels/:label]', text: 'TF Serving model status (GetModelStatus): every version and its state.', example: '/v1/models/half_plus_two' },
  { surface: 'server', method: 'GET', path: '/v1/models/:model[/versions/:version | /labels/:label]/metadata', text: 'TF Serving model metadata: the signature (`serving_default`) with input and output dtypes and shapes.', example: '/v1/models/half_plus_two/versions/123/metadata' },
  { surface: 'server', method: 'POST', path: '/v1/models/:model[/versions/:version | /labels/:label]:predict', text: 'TF Serving Predict: `{"instances": [...]}` (row format) or `{"inputs": ...}` (columnar).', example: '/v1/models/half_plus_two:predict' },
  { surface: 'server', method: 'POST', path: '/v1/models/:model[/versions/:version | /labels/:label]:classify', text: 'TF Serving Classify: `{"examples": [...]}`.', example: '/v1/models/fraud/labels/stable:classify' },
  { surface: 'server', method: 'POST', path: '/v1/models/:model[/versions/:version | /labels/:label]:regress', text: 'TF Serving Regress: `{"examples": [...]}`.', example: '/v1/models/fraud/versions/1:regress' },
  { surface: 'server', method: 'GET', path: '/v2', text: 'KServe v2 server metadata (name, version, extensions).', example: '/v2' },
  { surface: 'server', method: 'GET', path: '/v2/health/live', text: 'KServe v2 liveness: 200 while the process runs.', example: '/v2/health/live' },
  { surface: 'server', method: 'GET', path: '/v2/health/ready', text: 'KServe v2 readiness: 200 when every model has a version available and the server is not draining, else 503.', example: '/v2/health/ready' },
  { surface: 'server', method: 'GET', path: '/v2/models/:model[/versions/:version]', text: 'KServe v2 model metadata (inputs, outputs, versions).', example: '/v2/models/half_plus_two' },
  { surface: 'server', method: 'GET', path: '/v2/models/:model[/versions/:version]/ready', text: 'KServe v2 model readiness: 200 ready, 503 not yet.', example: '/v2/models/half_plus_two/versions/123/ready' },
  { surface: 'server', method: 'POST', path: '/v2/models/:model[/versions/:version]/infer', text: 'KServe v2 inference (JSON tensors).', example: '/v2/models/half_plus_two/infer' },
  { surface: 'server', method: 'GET', path: '/metrics', text: 'Prometheus metrics of the server (text format).', example: '/metrics' },
  { surface: 'server', method: 'GET', path: '/monitoring/prometheus/metrics', text: 'The same, at TF Serving\'s monitoring path.', example: '/monitoring/prometheus/metrics' },
];

/** The proxy's admin port (`proxy.admin.port`, default 9090). */
const ADMIN: EndpointDoc[] = [
  { surface: 'admin', method: 'GET', path: '/healthz', text: 'Health and readiness of the proxy: `{"status": "ok"}`; 503 `{"status": "draining"}` from the moment a SIGTERM drain starts.', example: '/healthz' },
  { surface: 'admin', method: 'GET', path: '/readyz', text: 'The same as `/healthz`, at the name readiness probes often use.', example: '/readyz' },
  { surface: 'admin', method: 'GET', path: '/metrics', text: 'Prometheus metrics of the proxy process: proxy, SLO, drift and rollout metrics.', example: '/metrics' },
  { surface: 'admin', method: 'GET', path: '/api/v1/splits', auth: true, text: 'Every model\'s traffic split.', example: '/api/v1/splits' },
  { surface: 'admin', method: 'GET', path: '/api/v1/models/:model/split', auth: true, text: 'One model\'s split.', example: '/api/v1/models/fraud/split' },
  { surface: 'admin', method: 'PUT', path: '/api/v1/models/:model/split', auth: true, text: 'Set a split: `{"stable": "1", "canary": "2", "weight": 10}`.', example: '/api/v1/models/fraud/split' },
  { surface: 'admin', method: 'DELETE', path: '/api/v1/models/:model/split', auth: true, text: 'Remove a split (requests go where they name).', example: '/api/v1/models/fraud/split' },
  { surface: 'admin', method: 'GET', path: '/api/v1/slos', mountedBy: 'gateway (`modelgate start`, `modelgate proxy --config`)', text: 'Last SLO evaluation: burn rates per window, budget left, alert states, verdicts.', example: '/api/v1/slos' },
  { surface: 'admin', method: 'GET', path: '/api/v1/fleet', mountedBy: 'gateway', text: 'The SLO source (local or Prometheus) and leadership: who acts.', example: '/api/v1/fleet' },
  { surface: 'admin', method: 'GET', path: '/api/v1/drift', mountedBy: 'gateway', text: 'Last drift evaluation per model and version: features, scores, verdicts.', example: '/api/v1/drift' },
  { surface: 'admin', method: 'GET', path: '/api/v1/rollouts', mountedBy: 'gateway, on the replica that leads, when `rollouts:` is set', text: 'Every rollout: phase, step, weight, history.', example: '/api/v1/rollouts' },
  { surface: 'admin', method: 'GET', path: '/api/v1/rollouts/:model', mountedBy: 'gateway, with rollouts', text: 'One rollout.', example: '/api/v1/rollouts/fraud' },
  { surface: 'admin', method: 'GET', path: '/api/v1/rollouts/:model/verdict', mountedBy: 'gateway, with rollouts', text: 'The last analysis: pass, fail or inconclusive with its numbers. `?status=1` answers 200 pass, 409 fail, 425 inconclusive (for a Flagger webhook gate or Argo Rollouts web metric).', example: '/api/v1/rollouts/fraud/verdict' },
  { surface: 'admin', method: 'POST', path: '/api/v1/rollouts/:model/:command', auth: true, mountedBy: 'gateway, with rollouts', text: '`pause`, `resume`, `promote` or `abort` (what `modelgate rollout` sends).', example: '/api/v1/rollouts/fraud/pause' },
  { surface: 'admin', method: 'POST', path: '/api/v1/feedback', auth: true, mountedBy: 'gateway, with `truth:`', text: 'Labels for stored predictions: `[{"id": "<x-request-id>", "label": "fraud"}]` (class name or index; a list for a batch prediction) or `{"id", "value": 12.5}` for regression, at most `truth.maxBatch` entries. Answers what joined: `matched`, `unmatched` (unknown or expired ids), `duplicate`, `rejected`; an invalid entry answers 400 with its `index` and nothing is applied.', example: '/api/v1/feedback' },
  { surface: 'admin', method: 'GET', path: '/api/v1/accuracy', mountedBy: 'gateway, with `truth:`', text: 'Per model version over `truth.window`: accuracy, precision/recall per class, log loss (classifiers), MAE/RMSE (regression), labelled share, label delay; store size, evictions and feedback counters.', example: '/api/v1/accuracy' },
  { surface: 'admin', method: 'GET', path: '/api/v1/shadow', mountedBy: 'gateway', text: 'Shadow traffic of the rollouts in their shadow step: per model the candidate, the mirrored share, dropped copies and the comparison (agreement, flips per class output, score differences p50/p99/max, candidate errors, latency of both). `{"enabled": false}` when no rollout has `shadow:`.', example: '/api/v1/shadow' },
  { surface: 'admin', method: 'GET', path: '/status', mountedBy: 'gateway', text: 'HTML status page: SLOs, burn, drift, rollouts, recent alerts.', example: '/status' },
  { surface: 'admin', method: 'GET', path: '/status.json', mountedBy: 'gateway', text: 'The status page\'s numbers as JSON.', example: '/status.json' },
];

export const ENDPOINTS: readonly EndpointDoc[] = [...SERVER, ...ADMIN];

export interface EnvDoc {
  name: string;
  readBy: string;
  text: string;
}

/** Environment variables the code reads; the test scans the sources for `env['NAME']`. */
export const ENVIRONMENT: readonly EnvDoc[] = [
  { name: 'MODELGATE_ADMIN_TOKEN', readBy: '`modelgate proxy`, `modelgate start`, `modelgate rollout`', text: 'Admin API bearer token (the variable named by `proxy.admin.tokenEnv`; `--token` of `modelgate rollout` overrides it).' },
  { name: 'HOSTNAME', readBy: 'the gateway (`leader:`)', text: 'This replica\'s identity when `leader.identity` is not set (the pod name in Kubernetes).' },
  { name: 'KUBERNETES_SERVICE_HOST', readBy: 'the gateway (`leader.lease.kubernetes`)', text: 'The API server\'s address, set by the kubelet in every pod; without it the Kubernetes Lease refuses to start.' },
  { name: 'KUBERNETES_SERVICE_PORT', readBy: 'the gateway (`leader.lease.kubernetes`)', text: 'The API server\'s port (default 443), set by the kubelet.' },
  { name: 'MODELGATE_SERVICEACCOUNT_DIR', readBy: 'the gateway (`leader.lease.kubernetes`)', text: 'Where the service account\'s token, ca.crt and namespace are (default /var/run/secrets/kubernetes.io/serviceaccount); for running against a test API server.' },
  { name: 'NODE_CLUSTER_SCHED_POLICY', readBy: '`modelgate proxy` (`proxy.workers` > 1)', text: 'Node\'s own setting: `rr` makes the primary accept connections and hand them to the workers in turn; unset, modelgate lets the kernel spread connections over the workers\' shared sockets (`none`).' },
  { name: 'SOURCE_DATE_EPOCH', readBy: '`modelgate baseline`', text: 'Seconds since the epoch written as the baseline\'s creation time, so a committed baseline rebuilds byte for byte.' },
];
