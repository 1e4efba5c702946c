// Admin routes of the ground-truth area, mounted by the gateway on the proxy's admin API:
//   POST /api/v1/feedback  labels for stored predictions (bearer token, like every change)
//   GET  /api/v1/accuracy  scores per model version, store and feedback counters
// The route signature is the admin API's (proxy/admin.ts), named structurally.
import type { GroundTruth } from './truth.ts';

type Reply = { status?: number; body?: unknown };
type Mount = (method: string, path: string, handler: (req: { body: unknown }) => Reply | Promise<Reply>, opts?: { auth?: boolean }) => void;

export function mountFeedbackRoutes(route: Mount, truth: GroundTruth): void {
  route('POST', '/api/v1/feedback', (req) => {
    const r = truth.feedback(req.body);
    if (!r.ok) return { status: r.status, body: r.index === undefined ? { error: r.message } : { error: r.message, index: r.index } };
    return { status: 200, body: r.report };
  });
  route('GET', '/api/v1/accuracy', () => ({ status: 200, body: { enabled: true, ...truth.snapshot() } }), { auth: false });
}
