// The admin API on its own port (loopback by default): /metrics, /healthz, the split
// actuator, and routes other areas mount (`/api/v1/slos`, `/api/v1/drift`, ...).
// Everything under /api/ needs `Authorization: Bearer <token>` (RFC 6750 §2.1); with no
// token configured those routes answer 403, so an unconfigured proxy cannot be steered.
// Beyond loopback without a token the proxy does not start (adminExposureProblem) unless
// read-only exposure is asked for (`admin.readOnly: true`): then only GET/HEAD are served.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { Registry } from 'prom-client';
import { isModelgateError } from '../common/index.ts';
import { ProxyErrors, errorBody } from './errors.ts';

export interface AdminRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Parsed JSON body (PUT/POST), or undefined. */
  body: unknown;
  headers: IncomingMessage['headers'];
}

export interface AdminReply {
  status?: number;
  /** Serialised as JSON unless `text` is given. */
  body?: unknown;
  text?: string;
  contentType?: string;
}

export type AdminHandler = (req: AdminRequest) => AdminReply | Promise<AdminReply>;

/** A change made through the admin API (a PUT, POST or DELETE that succeeded), for the audit log. */
export interface AdminAction {
  method: string;
  path: string;
  params: Record<string, string>;
  status: number;
  /** Who: "admin" (the holder of the admin token). */
  actor: string;
  /** The request body (JSON), when it had one. */
  body?: unknown;
}

export interface RouteOptions {
  /** Require the bearer token. Default: true for paths under /api/, false otherwise. */
  auth?: boolean;
}

interface RouteEntry {
  method: string;
  segments: string[];
  handler: AdminHandler;
  auth: boolean;
}

// Admin bodies are small JSON documents; Fastify's default bodyLimit is 1 MiB.
const MAX_ADMIN_BODY = 1024 * 1024;

const digest = (s: string) => createHash('sha256').update(s).digest();

export class AdminApi {
  readonly #routes: RouteEntry[] = [];
  readonly #tokenDigest: Buffer | undefined;
  readonly #readOnly: boolean;
  readonly #actions: Array<(a: AdminAction) => void> = [];
  readonly server: Server;

  constructor(opts: { registry: Registry; token: string | undefined; readOnly?: boolean }) {
    // Compare digests so the comparison time does not depend on the token's length either.
    this.#tokenDigest = opts.token ? digest(opts.token) : undefined;
    this.#readOnly = opts.readOnly === true;
    this.server = createServer((req, res) => void this.#handle(req, res));
    this.route('GET', '/healthz', () => ({ body: { status: 'ok' } }));
    this.route('GET', '/metrics', async () => ({ text: await opts.registry.metrics(), contentType: opts.registry.contentType }));
  }

  /**
   * Mounts a route. Path segments starting with ':' are parameters: `/api/v1/models/:model/split`.
   * Later mounts of the same method and path replace earlier ones.
   */
  route(method: string, path: string, handler: AdminHandler, opts: RouteOptions = {}): void {
    const segments = path.split('/').filter(Boolean);
    const m = method.toUpperCase();
    const existing = this.#routes.findIndex((r) => r.method === m && r.segments.join('/') === segments.join('/'));
    const entry = { method: m, segments, handler, auth: opts.auth ?? path.startsWith('/api/') };
    if (existing === -1) this.#routes.push(entry);
    else this.#routes[existing] = entry;
  }

  /** Subscribes to successful changes (PUT, POST, DELETE answered 2xx); returns the unsubscribe. */
  onAction(fn: (a: AdminAction) => void): () => void {
    this.#actions.push(fn);
    return () => {
      const i = this.#actions.indexOf(fn);
      if (i !== -1) this.#actions.splice(i, 1);
    };
  }

  #match(path: string): Array<{ route: RouteEntry; params: Record<string, string> }> {
    const parts = path.split('/').filter(Boolean);
    const out: Array<{ route: RouteEntry; params: Record<string, string> }> = [];
    for (const route of this.#routes) {
      if (route.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < parts.length && ok; i++) {
        const seg = route.segments[i]!;
        const part = parts[i]!;
        if (seg.startsWith(':')) {
          try {
            params[seg.slice(1)] = decodeURIComponent(part);
          } catch {
            ok = false;
          }
        } else ok = seg === part;
      }
      if (ok) out.push({ route, params });
    }
    return out;
  }

  #authorized(req: IncomingMessage): 'ok' | 'missing' | 'disabled' {
    if (!this.#tokenDigest) return 'disabled';
    const h = req.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(h);
    if (!m) return 'missing';
    return timingSafeEqual(digest(m[1]!.trim()), this.#tokenDigest) ? 'ok' : 'missing';
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    try {
      const matches = this.#match(url.pathname);
      const hit = matches.find((m) => m.route.method === req.method || (req.method === 'HEAD' && m.route.method === 'GET'));
      if (!hit) {
        if (matches.length) {
          res.setHeader('allow', [...new Set(matches.map((m) => m.route.method))].join(', '));
          throw ProxyErrors.PRX_ERR_METHOD_NOT_ALLOWED(`${req.method} is not allowed on ${url.pathname}`);
        }
        throw ProxyErrors.PRX_ERR_NOT_FOUND(`no admin route ${url.pathname}`);
      }
      if (this.#readOnly && req.method !== 'GET' && req.method !== 'HEAD') {
        throw ProxyErrors.PRX_ERR_ADMIN_DISABLED('the admin API is read-only (admin.readOnly: true): no changes through it');
      }
      if (hit.route.auth) {
        const a = this.#authorized(req);
        if (a === 'disabled') throw ProxyErrors.PRX_ERR_ADMIN_DISABLED('the admin API is disabled: set admin.token in the config or the MODELGATE_ADMIN_TOKEN environment variable');
        if (a === 'missing') {
          res.setHeader('www-authenticate', 'Bearer realm="modelgate"');
          throw ProxyErrors.PRX_ERR_UNAUTHORIZED('missing or wrong bearer token');
        }
      }
      const body = await readJson(req);
      const reply = await hit.route.handler({ method: req.method ?? 'GET', path: url.pathname, params: hit.params, query: url.searchParams, body, headers: req.headers });
      const text = reply.text ?? (reply.body === undefined ? '' : JSON.stringify(reply.body));
      res.writeHead(reply.status ?? 200, { 'content-type': reply.contentType ?? (reply.text !== undefined ? 'text/plain; charset=utf-8' : 'application/json') });
      res.end(req.method === 'HEAD' ? undefined : text);
      const status = reply.status ?? 200;
      if (req.method !== 'GET' && req.method !== 'HEAD' && status < 300) {
        const action: AdminAction = { method: req.method ?? '', path: url.pathname, params: hit.params, status, actor: 'admin', ...(body !== undefined ? { body } : {}) };
        for (const fn of this.#actions) {
          try {
            fn(action);
          } catch {
            // an observer never breaks the admin API
          }
        }
      }
    } catch (err) {
      const e = isModelgateError(err) ? err : ProxyErrors.PRX_ERR_INTERNAL('internal error in an admin route');
      if (!res.headersSent) {
        res.writeHead(e.http, { 'content-type': 'application/json' });
        res.end(errorBody(e.code, e.message));
      } else res.destroy();
    }
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'DELETE') {
    req.resume();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_ADMIN_BODY) throw ProxyErrors.PRX_ERR_INVALID_ARGUMENT(`body over ${MAX_ADMIN_BODY} bytes`);
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  try {
    // JSON.parse creates "__proto__" as an own data property, never touching prototypes.
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw ProxyErrors.PRX_ERR_INVALID_ARGUMENT('body is not valid JSON');
  }
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * Why the admin API must not start as configured, or undefined. Beyond loopback it can
 * change traffic, so it needs a token, unless read-only exposure is asked for explicitly.
 */
export function adminExposureProblem(host: string, token: string | undefined, readOnly: boolean, tokenEnv = 'MODELGATE_ADMIN_TOKEN'): string | undefined {
  if (LOOPBACK.has(host) || token || readOnly) return undefined;
  return `the admin API would listen beyond loopback on ${host} without a token: set ${tokenEnv} (or admin.token), bind admin.host to 127.0.0.1, or set admin.readOnly: true to expose only its reads (metrics, health, status)`;
}
