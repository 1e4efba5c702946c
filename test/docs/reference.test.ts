// docs/reference.md cannot drift from the code: it is regenerated and compared, the config
// field descriptions are checked against the keys the validators know (probed, not retyped),
// and every documented endpoint is called on a real server and gateway on loopback.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { parse as parseYaml } from 'yaml';
import { Issues } from '../../common/index.ts';
import { METRIC_GROUPS, SLO_RULE } from '../../common/conventions.ts';
import { COMMANDS } from '../../cli/commands.ts';
import { SECTIONS } from '../../config/index.ts';
import { readModelConfigFile, readModels, servingServices, type RunningServer } from '../../server/index.ts';
import { parseRoute } from '../../server/rest/routes.ts';
import { startTestServer } from '../helpers/server.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { REFERENCE_FILE, buildReference } from '../../scripts/reference.ts';
import { CATALOGS, COMMAND_FLAGS, REPO_ROOT, collectErrors, helpOutput, collectGrpc, collectMetrics, collectRules } from '../../scripts/reference/collect.ts';
import { ENDPOINTS, ENVIRONMENT } from '../../scripts/reference/endpoints.ts';
import { MODELGATE_YAML, MODELS_YAML, type FieldTable } from '../../scripts/reference/fields.ts';
import { fieldCoverage } from '../../scripts/reference/coverage.ts';
import { modelgateYamlKeys, modelsYamlKeys } from '../../scripts/reference/probe.ts';
import { LABEL_TEXT } from '../../scripts/reference/render.ts';

const repo = (p: string): string => join(REPO_ROOT, p);

/** Non-test TypeScript sources under the given top-level folders. */
async function sources(folders: readonly string[]): Promise<Array<{ file: string; text: string }>> {
  const out: Array<{ file: string; text: string }> = [];
  for (const folder of folders) {
    for (const entry of await readdir(repo(folder), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
      const file = join(entry.parentPath, entry.name);
      out.push({ file, text: await readFile(file, 'utf8') });
    }
  }
  return out;
}

type Doc = Record<string, unknown>;

/** Small valid documents reaching every object that has fields with defaults. */
const MODELGATE_BASE: Doc = {
  slos: [{ name: 'a', model: 'm', objective: 99, sli: { availability: {} }, alerting: {} }],
  notify: [{ name: 'n', webhook: 'http://127.0.0.1:1/' }],
  proxy: {
    rest: { upstream: 'http://127.0.0.1:1' }, grpc: { upstream: '127.0.0.1:1' }, splits: { m: { stable: '1' } }, tracing: { otlp: { url: 'http://127.0.0.1:1/v1/traces' } },
    auth: { apiKeys: [{ name: 'k', hash: `sha256:${'0'.repeat(64)}` }], jwt: { issuer: 'https://issuer', audience: 'a', jwksUrl: 'http://127.0.0.1:1/jwks.json' }, rules: [{ identities: ['*'], models: ['*'] }] },
    rateLimits: {},
    concurrency: { default: { adaptive: 'aimd' }, models: { m: { adaptive: 'gradient' } } },
  },
  drift: { models: { m: { inputs: [{ name: 'a' }], outputs: [{ name: 'b' }], baseline: { from: 'live' } } } },
  rollouts: [{ model: 'm', analysis: {}, webhooks: [{ name: 'w', type: 'promote', url: 'http://127.0.0.1:1/' }] }],
  sloSource: { prometheus: { url: 'http://127.0.0.1:9090' } },
  leader: { mode: 'lease', lease: { file: '/tmp/modelgate-reference.lease' } },
};
const MODELS_BASE: Doc = { models: [{ name: 'm', base_path: '.', version_policy: { latest: {} }, batching: {} }] };

/** A copy of `doc` with the field at a reference path (`a[].b.<model>.c`) set, or removed when value is undefined. */
function edit(doc: Doc, path: string, value: unknown): Doc {
  const copy = structuredClone(doc);
  const segs = path.split('.').flatMap((seg) => (seg.endsWith('[]') ? [seg.slice(0, -2), 0] : [seg === '<model>' ? 'm' : seg]));
  let cur: Record<string | number, unknown> = copy;
  for (const [i, seg] of segs.entries()) {
    if (i === segs.length - 1) {
      if (value === undefined) delete cur[seg];
      else cur[seg] = value;
      break;
    }
    const next = cur[seg] ?? (typeof segs[i + 1] === 'number' ? [{}] : {});
    cur[seg] = next;
    cur = next as Record<string | number, unknown>;
  }
  return copy;
}

describe('docs/reference.md', () => {
  test('is exactly what `npm run reference` generates from the code today', async () => {
    const committed = await readFile(REFERENCE_FILE, 'utf8');
    assert.ok(committed === (await buildReference()), 'docs/reference.md is out of date: run `npm run reference` and commit it');
  });

  test('the committed file names every flag, metric with its labels, error code, field, endpoint and gRPC method', async () => {
    const doc = await readFile(REFERENCE_FILE, 'utf8');
    const rows = doc.split('\n').filter((l) => l.startsWith('| '));
    const row = (first: string) => rows.find((l) => l.startsWith(`| ${first} |`));
    for (const [name, flags] of Object.entries(COMMAND_FLAGS)) {
      const section = doc.slice(doc.indexOf(`### modelgate ${name}\n`)).split('\n### ')[0]!;
      for (const f of flags) assert.ok(section.includes(`| \`--${f.name}\` |`), `modelgate ${name} --${f.name}`);
    }
    for (const m of collectMetrics()) {
      const r = row(`\`${m.name}\``);
      assert.ok(r, m.name);
      for (const l of m.labels) assert.ok(r.includes(`\`${l}\``), `${m.name} label ${l}`);
    }
    for (const e of collectErrors()) assert.ok(row(`\`${e.code}\``)?.includes(`| ${e.http} | ${e.grpc} |`), e.code);
    for (const path of Object.keys({ ...MODELGATE_YAML, ...MODELS_YAML })) assert.ok(row(`\`${path}\``), path);
    for (const e of ENDPOINTS) assert.ok(rows.some((l) => l.startsWith(`| ${e.method} | \`${e.path.replace(/\|/g, '\\|')}\` |`)), `${e.method} ${e.path}`);
    for (const m of collectGrpc()) assert.ok(rows.some((l) => l.startsWith(`| \`${m.service}\` | ${m.method}`)), m.path);
    for (const name of Object.values(SLO_RULE)) assert.ok(rows.some((l) => l.startsWith(`| \`${name}`)), `rule ${name}`);
  });

  test('documents every key the modelgate.yaml validators know, and no key they do not', () => {
    assert.deepEqual(fieldCoverage(MODELGATE_YAML, modelgateYamlKeys()), []);
  });

  test('documents every key of the server model config file', async () => {
    // readPolicy (server/config.ts) checks the policy kind by hand, not with checkKeys.
    const byHand = ['models[].version_policy', 'models[].version_policy.specific'];
    assert.deepEqual(fieldCoverage(MODELS_YAML, await modelsYamlKeys(), byHand), []);
  });

  test('the field check catches an undocumented key, a stale field and an object the probe never reached', () => {
    const doc = (text: string) => ({ type: 'string', text });
    const known = new Map([['', ['a', 'b']], ['b', ['c']]]);
    const cases: Array<{ fields: FieldTable; expect: RegExp[] }> = [
      { fields: { a: doc('.'), b: doc('.'), 'b.c': doc('.') }, expect: [] },
      { fields: { a: doc('.'), b: doc('.') }, expect: [/^b\.c: the validator knows/] },
      { fields: { a: doc('.'), b: doc('.'), 'b.c': doc('.'), 'b.gone': doc('.') }, expect: [/^b\.gone: documented, but/] },
      { fields: { a: doc('.'), b: doc('.'), 'b.c': doc('.'), 'a.x': doc('.') }, expect: [/^a\.x: no validator was probed/] },
    ];
    for (const c of cases) {
      const problems = fieldCoverage(c.fields, known);
      assert.equal(problems.length, c.expect.length, problems.join('\n'));
      c.expect.forEach((re, i) => assert.match(problems[i]!, re));
    }
  });

  test('every documented default is what the validator uses when the field is left out', () => {
    // Each default is written into a small valid document and compared with the same
    // document without the field: the validated models must be equal, with no new error.
    const cases: Array<[FieldTable, Doc, (doc: Doc, issues: Issues) => unknown]> = [
      [MODELGATE_YAML, MODELGATE_BASE, (doc, issues) => SECTIONS.map((s) => s.validate(doc[s.key], s.key, issues))],
      [MODELS_YAML, MODELS_BASE, (doc, issues) => readModels(doc['models'], 'models', issues, '/')],
    ];
    let checked = 0;
    for (const [fields, base, validate] of cases) {
      for (const [path, f] of Object.entries(fields)) {
        if (f.default === undefined) continue;
        const run = (doc: Doc) => {
          const issues = new Issues();
          return { model: JSON.stringify(validate(doc, issues)), errors: issues.errors.map((i) => i.path) };
        };
        const without = run(edit(base, path, undefined));
        const withDefault = run(edit(base, path, parseYaml(f.default)));
        assert.deepEqual(withDefault.errors, without.errors, `${path}: ${f.default}`);
        assert.equal(withDefault.model, without.model, `${path}: the documented default ${f.default} is not what the validator uses`);
        checked++;
      }
    }
    assert.ok(checked > 80, `only ${checked} defaults checked`);
  });

  test('every field says its type and what it means', () => {
    for (const [path, f] of Object.entries({ ...MODELGATE_YAML, ...MODELS_YAML })) {
      assert.ok(f.type && f.text, `${path} needs a type and a text`);
      assert.ok(!(f.required && f.default !== undefined), `${path} is required and has a default`);
    }
  });

  test('every command has its flag list, and its --help prints exactly those flags', async () => {
    const doc = await readFile(REFERENCE_FILE, 'utf8');
    for (const name of Object.keys(COMMANDS)) {
      const flags = COMMAND_FLAGS[name];
      assert.ok(flags, `modelgate ${name} has no flag list in scripts/reference/collect.ts COMMAND_FLAGS`);
      assert.ok(doc.includes(`### modelgate ${name}\n`), `modelgate ${name} has no section`);
      const shown = [...(await helpOutput(name)).matchAll(/^\s+--([a-z_]+)\s/gm)].map((m) => m[1]);
      assert.deepEqual(shown.sort(), flags.map((f) => f.name).sort(), `modelgate ${name} --help`);
    }
  });

  test('lists every metric name in common/conventions.ts, each with labels', () => {
    const names = new Set(collectMetrics().map((m) => m.name));
    for (const group of METRIC_GROUPS) {
      for (const name of Object.values(group)) assert.ok(names.has(name), `${name} is in conventions.ts but no metric constructor makes it`);
    }
    for (const m of collectMetrics()) assert.ok(m.labels.length > 0 && m.help, `${m.name} has labels and help`);
  });

  test('explains every label a metric or a generated rule uses', () => {
    for (const m of [...collectMetrics(), ...collectRules()]) for (const l of m.labels) assert.ok(LABEL_TEXT[l], `label ${l} of ${m.name} is not explained in render.ts LABEL_TEXT`);
  });

  test('lists every error catalog in the code, and says what each code means', async () => {
    const defined = (await sources(['server', 'proxy', 'slo', 'drift', 'rollout', 'truth', 'app', 'config', 'common', 'dashboards', 'cli']))
      .flatMap(({ text }) => [...text.matchAll(/export const (\w+) = defineErrors\(/g)].map((m) => m[1]));
    assert.deepEqual(defined.sort(), CATALOGS.map((c) => c.name).sort());
    for (const e of collectErrors()) assert.ok(e.text, `${e.code} needs a meaning (a comment in its catalog or ERROR_NOTES)`);
  });

  test('documents every admin route the source mounts', async () => {
    const documented = new Set(ENDPOINTS.filter((e) => e.surface === 'admin').map((e) => `${e.method} ${e.path}`));
    const mounted = (await sources(['proxy', 'app', 'rollout', 'slo', 'drift', 'truth']))
      .flatMap(({ text }) => [...text.matchAll(/\broute\(\s*'(GET|POST|PUT|DELETE)',\s*'([^']+)'/g)].map((m) => `${m[1]} ${m[2]}`));
    assert.ok(mounted.length >= 10, `found only ${mounted.length} routes; has the mounting code changed shape?`);
    for (const r of mounted) assert.ok(documented.has(r), `${r} is mounted but not in scripts/reference/endpoints.ts`);
  });

  test('documents every environment variable the code reads', async () => {
    const documented = new Set(ENVIRONMENT.map((e) => e.name));
    const read = (await sources(['server', 'proxy', 'slo', 'drift', 'rollout', 'app', 'config', 'common', 'dashboards', 'cli']))
      .flatMap(({ text }) => [...text.matchAll(/\benv(?:\.([A-Z][A-Z0-9_]+)|\[['"]([A-Z][A-Z0-9_]+)['"]\])/g)].map((m) => m[1] ?? m[2]!));
    assert.ok(read.length > 0);
    for (const name of read) assert.ok(documented.has(name) || name === 'CI', `${name} is read but not in scripts/reference/endpoints.ts ENVIRONMENT`);
  });

  test('every documented server path is one the server routes', () => {
    for (const e of ENDPOINTS.filter((x) => x.surface === 'server')) {
      assert.notEqual(parseRoute(e.method, e.example).kind, 'unknown', `${e.method} ${e.example}`);
    }
  });

  test('lists every gRPC service the server binds', async () => {
    const text = await readFile(repo('server/grpc/server.ts'), 'utf8');
    const bound = [...text.matchAll(/definition: wire\(services\.(\w+)\)/g)].length;
    assert.equal(new Set(collectGrpc().map((m) => m.service)).size, bound);
  });
});

describe('docs/reference.md against a running server and gateway', () => {
  let server: RunningServer;
  let gateway: TestGateway;

  before(async () => {
    server = await startTestServer(await readModelConfigFile(repo('examples/models.yaml')), { grpcPort: 0 });
    gateway = await startTestGateway(server.restUrl, { tickMs: 3_600_000, proxy: (p) => ({ ...p, admin: { ...p.admin, token: 'reference-test' } }) });
    // Rollout routes are mounted once this replica leads (at once without leader:).
    for (let i = 0; i < 100 && !gateway.rollouts(); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(gateway.rollouts(), 'the rollout controller did not start');
    // A split to read back (GET /api/v1/models/:model/split answers 404 for a model without one).
    const put = await fetch(`${gateway.proxy.adminUrl}/api/v1/models/fraud/split`, { method: 'PUT', headers: { authorization: 'Bearer reference-test', 'content-type': 'application/json' }, body: '{"stable": "1"}' });
    assert.equal(put.status, 200, await put.text());
  });

  after(async () => {
    await gateway?.close();
    await server?.close();
  });

  test('every documented GET endpoint answers (none is a 404)', async () => {
    for (const e of ENDPOINTS.filter((x) => x.method === 'GET')) {
      const base = e.surface === 'server' ? server.restUrl : gateway.proxy.adminUrl;
      const res = await fetch(`${base}${e.example}`, { headers: { authorization: 'Bearer reference-test' } });
      await res.arrayBuffer();
      assert.notEqual(res.status, 404, `${e.surface} GET ${e.example}`);
    }
  });

  test('every documented gRPC method is implemented (an empty request is not answered "Method not found")', async () => {
    const { clients } = servingServices();
    const byService: Record<string, grpc.ServiceClientConstructor> = {
      'tensorflow.serving.PredictionService': clients.PredictionService,
      'tensorflow.serving.ModelService': clients.ModelService,
      'inference.GRPCInferenceService': clients.GRPCInferenceService,
      'grpc.health.v1.Health': clients.Health,
    };
    for (const m of collectGrpc()) {
      const Client = byService[m.service];
      assert.ok(Client, `no client for ${m.service}`);
      const client = new Client(server.grpcAddress!, grpc.credentials.createInsecure()) as unknown as Record<string, (...args: unknown[]) => grpc.ClientReadableStream<unknown>>;
      try {
        const deadline = new Date(Date.now() + 5_000);
        const err = await new Promise<grpc.ServiceError | undefined>((resolve) => {
          if (m.streaming) {
            const call = client[m.method]!({}, { deadline });
            call.on('data', () => { resolve(undefined); call.cancel(); });
            call.on('error', (e: grpc.ServiceError) => resolve(e));
          } else {
            client[m.method]!({}, { deadline }, (e: grpc.ServiceError | null) => resolve(e ?? undefined));
          }
        });
        const missing = err?.code === grpc.status.UNIMPLEMENTED && /method not found/i.test(err.details);
        assert.ok(!missing, `${m.path}: ${err?.details}`);
      } finally {
        (client as unknown as grpc.Client).close();
      }
    }
  });

  test('every metric the server and the proxy process export is documented', async () => {
    const documented = new Set(collectMetrics().map((m) => m.name));
    for (const url of [`${server.restUrl}/metrics`, `${gateway.proxy.adminUrl}/metrics`]) {
      const text = await (await fetch(url)).text();
      const exported = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!);
      assert.ok(exported.length > 0, url);
      for (const name of exported) assert.ok(documented.has(name), `${name} (${url}) is not in docs/reference.md`);
    }
  });
});
