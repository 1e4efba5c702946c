// Rollout webhooks with a Flagger-style payload (fluxcd/flagger docs/gitbook/usage/webhooks.md:
// `{name, namespace, phase, checksum, metadata}`, metadata a string map). A 2xx answer is
// success; a timeout, a connection error or any other status is a failure. Only a failing
// `pre-rollout` hook changes the rollout (it blocks the start); promote/rollback hooks are
// notifications whose results go to the audit log.
import type { Phase, WebhookSpec, WebhookType } from './types.ts';

export interface WebhookPayload {
  name: string;
  namespace: string;
  phase: Phase;
  checksum: string;
  metadata: Record<string, string>;
}

export interface WebhookResult {
  name: string;
  type: WebhookType;
  url: string;
  ok: boolean;
  status: number | null;
  error: string | null;
  durationMs: number;
}

/** modelgate has no namespaces; the field is kept so Flagger receivers parse the payload. */
export const WEBHOOK_NAMESPACE = 'modelgate';

export interface PayloadFields {
  model: string;
  phase: Phase;
  canary: string;
  stable: string;
  weight: number;
  reason: string;
}

export function payloadFor(hook: WebhookSpec, f: PayloadFields): WebhookPayload {
  return {
    name: f.model,
    namespace: WEBHOOK_NAMESPACE,
    phase: f.phase,
    // Flagger's checksum identifies the canary revision; here the stable→canary pair.
    checksum: `${f.model}:${f.stable}->${f.canary}`,
    metadata: { ...hook.metadata, type: hook.type, canary: f.canary, stable: f.stable, weight: String(f.weight), reason: f.reason },
  };
}

export async function callWebhook(hook: WebhookSpec, payload: WebhookPayload, fetchImpl: typeof fetch, now: () => number): Promise<WebhookResult> {
  const started = now();
  const base = { name: hook.name, type: hook.type, url: hook.url };
  try {
    const res = await fetchImpl(hook.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(hook.timeoutMs),
    });
    await res.arrayBuffer().catch(() => undefined);
    const ok = res.status >= 200 && res.status < 300;
    return { ...base, ok, status: res.status, error: ok ? null : `answered ${res.status}`, durationMs: now() - started };
  } catch (e) {
    const err = e as Error;
    const error = err.name === 'TimeoutError' ? `no answer within ${hook.timeoutMs} ms` : `${err.message}${err.cause instanceof Error ? `: ${err.cause.message}` : ''}`;
    return { ...base, ok: false, status: null, error, durationMs: now() - started };
  }
}

/** Calls every hook of one type, in parallel. */
export function callWebhooks(hooks: readonly WebhookSpec[], type: WebhookType, f: PayloadFields, fetchImpl: typeof fetch, now: () => number): Promise<WebhookResult[]> {
  return Promise.all(hooks.filter((h) => h.type === type).map((h) => callWebhook(h, payloadFor(h, f), fetchImpl, now)));
}
