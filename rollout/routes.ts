// Admin API routes of the rollout controller, mounted on the proxy's admin server. As for
// /api/v1/slos and /api/v1/drift (app/gateway.ts), reads are open on the admin port
// (loopback by default) and every change needs the bearer token (proxy/admin.ts).
//   GET  /api/v1/rollouts                    every rollout: state and history
//   GET  /api/v1/rollouts/:model             one rollout
//   POST /api/v1/rollouts/:model/:command    pause | resume | promote | abort | reset
//   GET  /api/v1/rollouts/:model/verdict     pass/fail/inconclusive with the numbers; for an
//        Argo Rollouts `web` metric (jsonPath "{$.verdict}", successCondition
//        result == "pass") or a Flagger webhook gate (see verdictStatus)
import type { RolloutController } from './controller.ts';
import { RolloutErrors } from './errors.ts';

/** The admin router's shape (proxy `Proxy.route`), named structurally. */
export interface AdminRouter {
  route(
    method: string,
    path: string,
    handler: (req: { params: Record<string, string>; query: URLSearchParams }) => { status?: number; body?: unknown } | Promise<{ status?: number; body?: unknown }>,
    opts?: { auth?: boolean },
  ): void;
}

export function mountRolloutRoutes(router: AdminRouter, controller: RolloutController): void {
  const open = { auth: false };
  // A model blocked by invalid persisted state answers 503 with the reason and the fix
  // (`modelgate rollout reset MODEL`); the body still carries every rollout.
  router.route('GET', '/api/v1/rollouts', () => {
    const blocked = controller.blocked();
    if (blocked.length === 0) return { body: controller.snapshot() };
    const error = blocked.map((b) => `rollout state of "${b.model}" was not valid (${b.reason}); kept in ${b.file}; run: modelgate rollout reset ${b.model}`).join('; ');
    return { status: RolloutErrors.ROL_ERR_STATE_CORRUPT.http, body: { error, code: RolloutErrors.ROL_ERR_STATE_CORRUPT.code, ...controller.snapshot() } };
  }, open);
  router.route('GET', '/api/v1/rollouts/:model', ({ params }) => {
    const v = controller.view(params['model']!);
    if (!v.blocked) return { body: v };
    return { status: RolloutErrors.ROL_ERR_STATE_CORRUPT.http, body: { error: v.reason, code: RolloutErrors.ROL_ERR_STATE_CORRUPT.code, ...v } };
  }, open);
  router.route('GET', '/api/v1/rollouts/:model/verdict', ({ params, query }) => {
    const view = controller.view(params['model']!);
    if (view.blocked) return { status: RolloutErrors.ROL_ERR_STATE_CORRUPT.http, body: { error: view.reason, code: RolloutErrors.ROL_ERR_STATE_CORRUPT.code, verdict: 'inconclusive' } };
    const v = controller.verdict(params['model']!);
    // `?status=1`: answer 200 only on pass, so a Flagger webhook (any non-2xx fails the
    // check) can gate on it without parsing; the body carries the numbers either way.
    const status = query.get('status') === '1' ? verdictStatus(v.verdict) : 200;
    return { status, body: v };
  }, open);
  router.route('POST', '/api/v1/rollouts/:model/:command', async ({ params }) => ({ body: await controller.command(params['model']!, params['command']!) }), { auth: true });
}

/** HTTP status for a verdict when the status itself is the answer: 200 pass, 409 fail, 425 inconclusive (retry later). */
export function verdictStatus(v: 'pass' | 'fail' | 'inconclusive'): number {
  return v === 'pass' ? 200 : v === 'fail' ? 409 : 425;
}
