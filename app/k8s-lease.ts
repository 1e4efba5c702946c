// A LeaseBackend (app/leader.ts) on a Kubernetes coordination.k8s.io/v1 Lease, the object
// controllers elect their leader with. The protocol is client-go's leaderelection
// (tools/leaderelection/leaderelection.go, tryAcquireOrRenew):
//
// - GET the Lease; 404 → CREATE it with us as holder (409 AlreadyExists: someone else was
//   first, we are not leader this round);
// - the lease is free when it has no holder, or when its record has not changed for
//   leaseDurationSeconds *as measured on our own clock since we first saw that record*
//   (client-go's observedTime): the holder's renewTime is never compared with our clock,
//   so clock offsets between nodes do not matter, only clock rates;
// - we hold it, or it is free → UPDATE (PUT) with the resourceVersion we read: the API
//   server answers 409 Conflict when anybody wrote in between, and then we did not get it;
// - release (clean shutdown) writes an empty holderIdentity, so the next candidate takes
//   it at its next retry instead of after the lease duration.
//
// In a pod the API server, token, CA and namespace come from the service account
// (inClusterApi below): KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT and
// /var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}. The token is read
// again for every request, since bound service account tokens are rotated on disk.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import type { LeaseBackend, LeaseRecord } from './leader.ts';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Where the API server is and how to authenticate to it. */
export interface KubeApi {
  /** https://host:port */
  url: string;
  /** PEM CA bundle that signed the API server's certificate. */
  ca: string | Buffer;
  /** The bearer token, read on every request (rotated tokens are picked up). */
  token: () => string;
  /** The pod's namespace (service account's), the default for the Lease. */
  namespace: string;
}

export class InClusterError extends Error {}

/**
 * The API server as a pod sees it. `dir` is the service account mount (overridable with
 * MODELGATE_SERVICEACCOUNT_DIR for running outside a pod against a test API server).
 */
export function inClusterApi(env: Readonly<Record<string, string | undefined>>): KubeApi {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'] ?? '443';
  const dir = env['MODELGATE_SERVICEACCOUNT_DIR'] ?? SERVICE_ACCOUNT_DIR;
  if (!host) {
    throw new InClusterError('leader.lease.kubernetes: KUBERNETES_SERVICE_HOST is not set, so this is not a Kubernetes pod; use leader.lease.file (a shared volume) or mode: single outside Kubernetes');
  }
  const read = (name: string) => {
    try {
      return readFileSync(`${dir}/${name}`, 'utf8');
    } catch (e) {
      throw new InClusterError(`leader.lease.kubernetes: cannot read the service account's ${name} (${(e as Error).message}); the pod needs automountServiceAccountToken: true and a serviceAccountName with the Role in deploy/kubernetes/modelgate.yaml`);
    }
  };
  const ca = read('ca.crt');
  const namespace = read('namespace').trim();
  read('token');
  return {
    url: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca,
    token: () => read('token').trim(),
    namespace,
  };
}

/** The parts of a coordination.k8s.io/v1 Lease this backend reads and writes. */
interface LeaseObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  spec?: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number | null;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number | null;
  };
}

export interface KubernetesLeaseOptions {
  api: KubeApi;
  /** The Lease's name, e.g. "modelgate-leader". */
  name: string;
  /** Default: the service account's namespace. */
  namespace?: string;
  /** Per request; a request that takes longer fails this attempt (the elector retries). */
  timeoutMs?: number;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds, UTC. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class KubernetesLeaseBackend implements LeaseBackend {
  readonly name: string;
  readonly namespace: string;
  readonly #api: KubeApi;
  readonly #agent: Agent;
  readonly #timeoutMs: number;
  /** The last record we read and when we (our clock) first saw it: client-go's observedTime. */
  #observed: { key: string; at: number } | null = null;

  constructor(o: KubernetesLeaseOptions) {
    this.#api = o.api;
    this.name = o.name;
    this.namespace = o.namespace ?? o.api.namespace;
    this.#timeoutMs = o.timeoutMs ?? 5_000;
    this.#agent = new Agent({ ca: o.api.ca, keepAlive: true, maxSockets: 2 });
  }

  describe(): string {
    return `Kubernetes Lease ${this.namespace}/${this.name}`;
  }

  get #path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.namespace)}/leases/${encodeURIComponent(this.name)}`;
  }

  async tryAcquire(holder: string, ttlMs: number, now: number): Promise<{ acquired: boolean; record: LeaseRecord | null }> {
    const got = await this.#call('GET', this.#path);
    const durationSeconds = Math.max(1, Math.ceil(ttlMs / 1000));
    if (got.status === 404) {
      const created = await this.#call('POST', this.#path.slice(0, this.#path.lastIndexOf('/')), {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.name, namespace: this.namespace },
        spec: { holderIdentity: holder, leaseDurationSeconds: durationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
      });
      if (created.status === 409) return { acquired: false, record: null };
      this.#expect(created, 'create');
      this.#observe(created.body as LeaseObject, now);
      return { acquired: true, record: { holder, renewedAt: now, ttlMs: durationSeconds * 1000 } };
    }
    this.#expect(got, 'get');
    const lease = got.body as LeaseObject;
    const spec = lease.spec ?? {};
    const current = recordOf(lease);
    this.#observe(lease, now);
    const mine = spec.holderIdentity === holder;
    const free = !spec.holderIdentity || this.#observed!.at + (spec.leaseDurationSeconds ?? 0) * 1000 <= now;
    if (!mine && !free) return { acquired: false, record: current };
    const next: LeaseObject = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: holder,
        leaseDurationSeconds: durationSeconds,
        acquireTime: mine && spec.acquireTime ? spec.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (mine ? 0 : 1),
      },
    };
    const put = await this.#call('PUT', this.#path, next);
    // Somebody wrote since our GET (resourceVersion changed): not ours this round.
    if (put.status === 409) return { acquired: false, record: current };
    this.#expect(put, 'update');
    this.#observe(put.body as LeaseObject, now);
    return { acquired: true, record: { holder, renewedAt: now, ttlMs: durationSeconds * 1000 } };
  }

  async release(holder: string): Promise<void> {
    const got = await this.#call('GET', this.#path);
    if (got.status === 404) return;
    this.#expect(got, 'get');
    const lease = got.body as LeaseObject;
    if (lease.spec?.holderIdentity !== holder) return;
    const now = Date.now();
    // client-go's release: no holder, a 1 s duration, so the next candidate takes it at once.
    const put = await this.#call('PUT', this.#path, {
      ...lease,
      spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(now), acquireTime: microTime(now) },
    });
    if (put.status === 409) return; // somebody else wrote it: nothing of ours to release
    this.#expect(put, 'release');
  }

  close(): void {
    this.#agent.destroy();
  }

  #observe(lease: LeaseObject, now: number): void {
    const s = lease.spec ?? {};
    const key = JSON.stringify([s.holderIdentity ?? '', s.renewTime ?? '', s.acquireTime ?? '', s.leaseDurationSeconds ?? 0, s.leaseTransitions ?? 0]);
    if (this.#observed?.key !== key) this.#observed = { key, at: now };
  }

  #expect(r: { status: number; body: unknown }, what: string): void {
    if (r.status >= 200 && r.status < 300) return;
    const message = (r.body as { message?: string } | null)?.message;
    const hint = r.status === 403 ? ' (the service account needs get/create/update on leases: the Role and RoleBinding in deploy/kubernetes/modelgate.yaml)' : r.status === 401 ? ' (the service account token was refused)' : '';
    throw new Error(`${what} ${this.describe()}: HTTP ${r.status}${message ? `: ${message}` : ''}${hint}`);
  }

  #call(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const url = new URL(path, this.#api.url);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          agent: this.#agent,
          headers: {
            accept: 'application/json',
            authorization: `Bearer ${this.#api.token()}`,
            ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
          },
          timeout: this.#timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = null;
            try {
              parsed = text ? JSON.parse(text) : null;
            } catch {
              parsed = { message: text.slice(0, 200) };
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer from the API server within ${this.#timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }
}

function recordOf(lease: LeaseObject): LeaseRecord | null {
  const s = lease.spec;
  if (!s?.holderIdentity) return null;
  return { holder: s.holderIdentity, renewedAt: s.renewTime ? Date.parse(s.renewTime) : 0, ttlMs: (s.leaseDurationSeconds ?? 0) * 1000 };
}
