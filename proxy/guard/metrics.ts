// The admission stage's metrics, names from common/conventions.ts. Label values that come
// from clients are capped: models through the proxy's catalog (unknown names are
// `__other__`), identities to the configured key names plus the first N other names.
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { LABEL, OVERFLOW_LABEL_VALUE, PROXY_METRIC } from '../../common/index.ts';
import type { RejectReason } from '../../common/index.ts';
import type { AuthFailure } from './errors.ts';

export interface GuardMetricsOptions {
  /** Put an `identity` label on the rejected-requests counter. */
  identityLabel: boolean;
  /** Names always allowed as label values (API key names). */
  knownIdentities: readonly string[];
  maxIdentityLabels: number;
  /** Current limit and in-flight count per model, read at scrape time. */
  limits: () => Iterable<{ model: string; limit: number; inFlight: number }>;
}

export class GuardMetrics {
  readonly authFailures: Counter<typeof LABEL.reason>;
  readonly rejected: Counter<string>;
  readonly #identityLabel: boolean;
  readonly #identities: Set<string>;
  readonly #max: number;

  constructor(registry: Registry, opts: GuardMetricsOptions) {
    const registers = [registry];
    this.#identityLabel = opts.identityLabel;
    this.#identities = new Set(opts.knownIdentities);
    this.#max = opts.knownIdentities.length + opts.maxIdentityLabels;
    this.authFailures = new Counter({
      name: PROXY_METRIC.authFailures,
      help: 'Requests refused for their credential, by reason: missing_credential, unknown_key, invalid_token, expired_token (401), forbidden (403).',
      labelNames: [LABEL.reason],
      registers,
    });
    this.rejected = new Counter({
      name: PROXY_METRIC.rejected,
      help: 'Requests refused before forwarding, by model and reason (unauthenticated, forbidden, rate_limited, shed); never sent upstream, not counted by the availability SLOs.',
      labelNames: opts.identityLabel ? [LABEL.model, LABEL.reason, LABEL.identity] : [LABEL.model, LABEL.reason],
      registers,
    });
    const limits = opts.limits;
    new Gauge({
      name: PROXY_METRIC.concurrencyLimit,
      help: 'Current concurrency limit per model (fixed, or where an adaptive limit stands now).',
      labelNames: [LABEL.model],
      registers,
      collect() {
        this.reset();
        for (const l of limits()) this.set({ model: l.model }, l.limit);
      },
    });
    new Gauge({
      name: PROXY_METRIC.admittedInFlight,
      help: 'Admitted requests in flight per model, as the concurrency limiter counts them.',
      labelNames: [LABEL.model],
      registers,
      collect() {
        this.reset();
        for (const l of limits()) this.set({ model: l.model }, l.inFlight);
      },
    });
  }

  authFailure(reason: AuthFailure): void {
    this.authFailures.inc({ reason });
  }

  reject(model: string, reason: RejectReason, identity: string | undefined): void {
    if (this.#identityLabel) this.rejected.inc({ model, reason, identity: this.identityLabel(identity) });
    else this.rejected.inc({ model, reason });
  }

  /** The label value for an identity: '' for none, capped like the model label. */
  identityLabel(identity: string | undefined): string {
    if (identity === undefined) return '';
    if (this.#identities.has(identity)) return identity;
    if (this.#identities.size < this.#max) {
      this.#identities.add(identity);
      return identity;
    }
    return OVERFLOW_LABEL_VALUE;
  }
}
