// A fake Kubernetes API server for the Lease backend: HTTPS on 127.0.0.1 with a fixed
// self-signed certificate (fixtures/apiserver.crt, which is also the CA a client trusts),
// bearer tokens, and coordination.k8s.io/v1 Leases with get / create / update. Updates
// are conditional on metadata.resourceVersion as on a real API server: a stale one is
// 409 Conflict; a create of an existing Lease is 409 AlreadyExists.
//
// Test controls: `partition(token)` makes every request with that token fail (the socket
// is destroyed, as when a node loses the network); `gateGets(n)` holds the next n GETs
// until all n have arrived, so n candidates read the same resourceVersion and race.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { KubeApi } from '../../app/k8s-lease.ts';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
export const CA = readFileSync(join(FIXTURES, 'apiserver.crt'), 'utf8');
const KEY = readFileSync(join(FIXTURES, 'apiserver.key'), 'utf8');

export interface StoredLease {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; resourceVersion: string; uid: string; creationTimestamp: string };
  spec: Record<string, unknown>;
}

export interface Write {
  verb: 'create' | 'update';
  token: string;
  status: number;
  holder: unknown;
}

export class FakeKubeApi {
  readonly leases = new Map<string, StoredLease>();
  readonly writes: Write[] = [];
  readonly tokens = new Set<string>();
  readonly #partitioned = new Set<string>();
  #rv = 100;
  #gate: { n: number; waiting: Array<() => void> } | null = null;
  #server!: Server;
  port = 0;

  static async start(tokens: string[] = ['token-a', 'token-b']): Promise<FakeKubeApi> {
    const f = new FakeKubeApi();
    for (const t of tokens) f.tokens.add(t);
    f.#server = createServer({ key: KEY, cert: CA }, (req, res) => void f.#handle(req, res));
    await new Promise<void>((r) => f.#server.listen(0, '127.0.0.1', r));
    f.port = (f.#server.address() as AddressInfo).port;
    return f;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** What a pod with this token sees. */
  api(token: string, namespace = 'default'): KubeApi {
    return { url: this.url, ca: CA, token: () => token, namespace };
  }

  /** A service account directory (token, ca.crt, namespace) as mounted in a pod. */
  async serviceAccountDir(token: string, namespace = 'default'): Promise<{ dir: string; remove: () => Promise<void> }> {
    const dir = await mkdtemp(join(tmpdir(), 'modelgate-sa-'));
    await writeFile(join(dir, 'token'), token);
    await writeFile(join(dir, 'ca.crt'), CA);
    await writeFile(join(dir, 'namespace'), namespace);
    return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
  }

  partition(token: string): void {
    this.#partitioned.add(token);
  }

  heal(token: string): void {
    this.#partitioned.delete(token);
  }

  gateGets(n: number): void {
    this.#gate = { n, waiting: [] };
  }

  lease(name: string, namespace = 'default'): StoredLease | undefined {
    return this.leases.get(`${namespace}/${name}`);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    if (this.#partitioned.has(token)) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const status = (code: number, reason: string, message: string) => send(code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, message, code });
    if (!this.tokens.has(token)) return status(401, 'Unauthorized', 'Unauthorized');
    const m = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/]+))?$/.exec(req.url ?? '');
    if (!m) return status(404, 'NotFound', `the server could not find the requested resource (${req.method} ${req.url})`);
    const ns = decodeURIComponent(m[1]!);
    const name = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
    const key = `${ns}/${name}`;
    const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as StoredLease) : undefined;

    if (req.method === 'GET' && name !== undefined) {
      if (this.#gate) {
        const g = this.#gate;
        await new Promise<void>((r) => {
          g.waiting.push(r);
          if (g.waiting.length >= g.n) {
            this.#gate = null;
            for (const w of g.waiting) w();
          }
        });
      }
      const l = this.leases.get(key);
      return l ? send(200, l) : status(404, 'NotFound', `leases.coordination.k8s.io "${name}" not found`);
    }
    if (req.method === 'POST' && name === undefined && body) {
      const k = `${ns}/${body.metadata.name}`;
      if (this.leases.has(k)) {
        this.writes.push({ verb: 'create', token, status: 409, holder: body.spec?.['holderIdentity'] });
        return status(409, 'AlreadyExists', `leases.coordination.k8s.io "${body.metadata.name}" already exists`);
      }
      const stored: StoredLease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: body.metadata.name, namespace: ns, resourceVersion: String(++this.#rv), uid: `uid-${this.#rv}`, creationTimestamp: new Date().toISOString() },
        spec: body.spec ?? {},
      };
      this.leases.set(k, stored);
      this.writes.push({ verb: 'create', token, status: 201, holder: stored.spec['holderIdentity'] });
      return send(201, stored);
    }
    if (req.method === 'PUT' && name !== undefined && body) {
      const cur = this.leases.get(key);
      if (!cur) return status(404, 'NotFound', `leases.coordination.k8s.io "${name}" not found`);
      if (body.metadata.resourceVersion !== cur.metadata.resourceVersion) {
        this.writes.push({ verb: 'update', token, status: 409, holder: body.spec?.['holderIdentity'] });
        return status(409, 'Conflict', `Operation cannot be fulfilled on leases.coordination.k8s.io "${name}": the object has been modified; please apply your changes to the latest version and try again`);
      }
      const stored: StoredLease = { ...cur, metadata: { ...cur.metadata, resourceVersion: String(++this.#rv) }, spec: body.spec ?? {} };
      this.leases.set(key, stored);
      this.writes.push({ verb: 'update', token, status: 200, holder: stored.spec['holderIdentity'] });
      return send(200, stored);
    }
    return status(405, 'MethodNotAllowed', `${req.method} is not supported here`);
  }
}
