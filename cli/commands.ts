// The subcommands of `modelgate`. Each is imported only when run, so `modelgate serve`
// does not pay for loading the proxy, and the other way round.

export interface Command {
  summary: string;
  load: () => Promise<{ run(argv: string[]): Promise<number> }>;
}

export const COMMANDS: Record<string, Command> = {
  start: { summary: 'run the server and the proxy together (what npm start runs), on the example models by default', load: () => import('./commands/start.ts') },
  serve: { summary: 'run the inference server on an ONNX model repository', load: () => import('./commands/serve.ts') },
  check: { summary: 'validate modelgate.yaml (or a Sloth / OpenSLO file) and print every problem', load: () => import('./commands/check.ts') },
  baseline: { summary: 'build a drift baseline for a model version from a reference file (.jsonl / .csv)', load: () => import('./commands/baseline.ts') },
  rules: { summary: 'write Prometheus recording rules and burn-rate alerts for the SLOs in a config', load: () => import('./commands/rules.ts') },
  dashboards: { summary: 'regenerate the Grafana dashboards, provisioning files and docs/dashboards.md (--check to verify)', load: () => import('./commands/dashboards.ts') },
  proxy: { summary: 'run the transparent proxy (REST + gRPC) with per-version metrics, tracing and a canary split', load: () => import('./commands/proxy.ts') },
  rollout: { summary: 'show or steer canary rollouts on a running proxy: status|pause|resume|promote|abort MODEL', load: () => import('./commands/rollout.ts') },
  audit: { summary: 'verify FILE: check the hash chain of an audit log; exits 1 naming the first edited, removed or reordered line', load: () => import('./commands/audit.ts') },
  replay: { summary: 'replay captured requests against a server or version and report how its answers differ (exit 1 past --max_disagreement)', load: () => import('./commands/replay.ts') },
  demo: { summary: 'watch a bad canary rolled back and a good one promoted, on loopback, in under 2 minutes', load: () => import('./commands/demo.ts') },
};
