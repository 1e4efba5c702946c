// Alert payloads, as pure functions of a transition.
//
// Webhook: the body Alertmanager posts to webhook receivers (prometheus/alertmanager
// docs/configuration.md, <webhook_config>), `version: "4"`, so anything that consumes
// Alertmanager webhooks can consume ours. Alertmanager API: the `postableAlert` list of
// POST /api/v2/alerts (api/v2/openapi.yaml).
import { LABEL, SLO_RULE } from '../../common/index.ts';
import type { AlertTransition } from '../status.ts';
import { alertAnnotations } from '../rules.ts';

/** Alertmanager writes the zero Go time as endsAt of firing alerts in webhooks. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

export interface AlertBody {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

export interface WebhookPayload {
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: AlertBody[];
}

export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL: string;
}

const FNV_OFFSET_64 = 0xcbf29ce484222325n;
const FNV_PRIME_64 = 0x100000001b3n;
const MASK_64 = 0xffffffffffffffffn;
/** prometheus/common model/labels.go SeparatorByte: never valid in UTF-8. */
const SEPARATOR = 255;

/**
 * The Alertmanager fingerprint of a label set: FNV-1a 64 over the sorted names and values,
 * each followed by the separator byte, as 16 hex digits (prometheus/common
 * model/signature.go labelSetToFingerprint, model/fnv.go).
 */
export function fingerprint(labels: Readonly<Record<string, string>>): string {
  let h = FNV_OFFSET_64;
  const add = (b: number) => {
    h ^= BigInt(b);
    h = (h * FNV_PRIME_64) & MASK_64;
  };
  for (const name of Object.keys(labels).sort()) {
    for (const b of Buffer.from(name, 'utf8')) add(b);
    add(SEPARATOR);
    for (const b of Buffer.from(labels[name]!, 'utf8')) add(b);
    add(SEPARATOR);
  }
  return h.toString(16).padStart(16, '0');
}

export function alertLabels(t: AlertTransition): Record<string, string> {
  return {
    alertname: SLO_RULE.alert,
    [LABEL.slo]: t.slo.name,
    [LABEL.model]: t.model,
    [LABEL.version]: t.version,
    [LABEL.severity]: t.severity,
    ...t.slo.alerting.labels,
  };
}

/** The rule annotations with `{{ $labels.x }}` expanded. */
export function expandedAnnotations(t: AlertTransition, labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(alertAnnotations(t.slo, t.severity))) {
    out[k] = v.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, name: string) => labels[name] ?? '');
  }
  return out;
}

export function alertBody(t: AlertTransition, generatorURL: string): AlertBody {
  const labels = alertLabels(t);
  return {
    status: t.status,
    labels,
    annotations: expandedAnnotations(t, labels),
    startsAt: new Date(t.startsAt).toISOString(),
    endsAt: t.status === 'resolved' && t.endsAt !== undefined ? new Date(t.endsAt).toISOString() : ZERO_TIME,
    generatorURL,
    fingerprint: fingerprint(labels),
  };
}

export function webhookPayload(t: AlertTransition, receiver: string, externalURL: string): WebhookPayload {
  const alert = alertBody(t, `${externalURL}/api/v1/slos`);
  const groupLabels = { alertname: alert.labels['alertname']!, [LABEL.slo]: t.slo.name };
  return {
    version: '4',
    groupKey: `{}:{alertname="${groupLabels.alertname}", slo="${t.slo.name}"}`,
    truncatedAlerts: 0,
    status: t.status,
    receiver,
    groupLabels,
    commonLabels: alert.labels,
    commonAnnotations: alert.annotations,
    externalURL,
    alerts: [alert],
  };
}

/**
 * One alert for POST /api/v2/alerts. A firing alert ends at `expiresAt` unless re-sent
 * (Alertmanager resolves alerts that stop arriving); a resolved one ends when it resolved.
 */
export function postableAlert(t: AlertTransition, externalURL: string, expiresAtMs: number): PostableAlert {
  const body = alertBody(t, `${externalURL}/api/v1/slos`);
  return {
    labels: body.labels,
    annotations: body.annotations,
    startsAt: body.startsAt,
    endsAt: t.status === 'resolved' ? body.endsAt : new Date(expiresAtMs).toISOString(),
    generatorURL: body.generatorURL,
  };
}
