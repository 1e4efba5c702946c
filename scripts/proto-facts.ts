// Prints the wire facts of a .proto tree as canonical JSON: every service the server uses
// and every message and enum reachable from them (plus the types we pack into
// google.protobuf.Any), with field numbers, types, labels, oneofs and options. Two trees
// with equal facts put the same bytes on the wire, whatever their text looks like.
//   node --import tsx scripts/proto-facts.ts [protoDir]   (default server/grpc/protos)
// server/grpc/protos/facts.json is this output for our tree; test/server/proto-facts.test.ts
// checks that the tree still matches it.
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

export const DEFAULT_PROTO_DIR = fileURLToPath(new URL('../server/grpc/protos', import.meta.url));

/** The files the server loads (server/grpc/protos.ts PROTO_FILES) and the Any payload's file. */
export const ENTRY_FILES = [
  'tensorflow_serving/apis/prediction_service.proto',
  'tensorflow_serving/apis/model_service.proto',
  'kserve/open_inference_grpc.proto',
  'grpc/health/v1/health.proto',
  'tensorflow_serving/apis/get_model_metadata.proto',
] as const;

/** The services the code serves and calls. */
export const ROOT_SERVICES = [
  'tensorflow.serving.PredictionService',
  'tensorflow.serving.ModelService',
  'inference.GRPCInferenceService',
  'grpc.health.v1.Health',
] as const;

/**
 * Types reachable only through google.protobuf.Any: GetModelMetadataResponse.metadata
 * holds a SignatureDefMap under "signature_def" (server/grpc/tf-service.ts packAny).
 */
export const ROOT_TYPES = ['tensorflow.serving.SignatureDefMap'] as const;

type Options = Record<string, unknown> | undefined;

interface FieldFacts {
  name: string;
  id: number;
  type: string;
  rule: 'optional' | 'repeated' | 'map' | 'singular';
  keyType?: string;
  oneof?: string;
  packed?: boolean;
  presence: boolean;
  options?: Options;
}

interface MessageFacts {
  kind: 'message';
  file: string;
  syntax?: string;
  fields: FieldFacts[];
  oneofs: Record<string, string[]>;
  reserved: Array<string | [number, number]>;
  options?: Options;
}

interface EnumFacts {
  kind: 'enum';
  file: string;
  syntax?: string;
  values: Array<{ name: string; number: number; options?: Options }>;
  reserved: Array<string | [number, number]>;
  options?: Options;
}

interface MethodFacts {
  name: string;
  requestType: string;
  responseType: string;
  requestStream: boolean;
  responseStream: boolean;
  options?: Options;
}

export interface ProtoFacts {
  services: Record<string, { file: string; methods: MethodFacts[] }>;
  types: Record<string, MessageFacts | EnumFacts>;
}

const fullName = (o: protobuf.ReflectionObject): string => o.fullName.replace(/^\./, '');

// Options as written in the .proto ([packed = true], [deprecated = true], json_name, ...),
// with sorted keys; undefined when there are none.
function cleanOptions(options: Options): Options {
  if (!options) return undefined;
  const kept = Object.entries(options).filter(([, v]) => v !== undefined);
  return kept.length ? Object.fromEntries(kept.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : undefined;
}

function reservedOf(r: Array<number[] | string> | undefined): Array<string | [number, number]> {
  return (r ?? [])
    .map((x): string | [number, number] => (typeof x === 'string' ? x : [x[0]!, x[1]!]))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

export function loadTree(dir: string): protobuf.Root {
  const root = new protobuf.Root();
  // Same resolution as server/grpc/protos.ts: google/protobuf/* from protobufjs's bundled copies.
  root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') || target.startsWith('/') ? target : join(dir, target));
  root.loadSync([...ENTRY_FILES], { keepCase: true });
  root.resolveAll();
  return root;
}

// google.protobuf.* come from protobufjs's bundled JSON, which has no file name.
function fileOf(o: protobuf.ReflectionObject, dir: string): string {
  const f = o.filename;
  if (!f) return '(protobufjs bundled)';
  return f.startsWith('google/protobuf/') ? f : relative(dir, f);
}

// The file's syntax ("proto2"/"proto3", protobufjs's `_edition`, not a public API hence the
// cast) fixes the defaults that field numbers alone do not show: implicit or explicit
// presence, packing, open or closed enums. Recording it catches a proto2/proto3 slip.
type WithEdition = { _edition?: string };
function syntaxOf(o: protobuf.ReflectionObject): string | undefined {
  return (o as unknown as WithEdition)._edition;
}

/** Canonical facts of the tree in `dir`, sorted so that equal trees give equal JSON. */
export function protoFacts(dir: string = DEFAULT_PROTO_DIR): ProtoFacts {
  const absDir = resolve(dir);
  const root = loadTree(absDir);
  const types: ProtoFacts['types'] = {};
  const queue: Array<protobuf.Type | protobuf.Enum> = [];
  const visit = (t: protobuf.Type | protobuf.Enum) => {
    if (!(fullName(t) in types) && !queue.includes(t)) queue.push(t);
  };

  const services: ProtoFacts['services'] = {};
  for (const name of ROOT_SERVICES) {
    const svc = root.lookupService(name);
    const methods = svc.methodsArray.map((m): MethodFacts => {
      m.resolve();
      visit(m.resolvedRequestType!);
      visit(m.resolvedResponseType!);
      return {
        name: m.name,
        requestType: fullName(m.resolvedRequestType!),
        responseType: fullName(m.resolvedResponseType!),
        requestStream: Boolean(m.requestStream),
        responseStream: Boolean(m.responseStream),
        ...(cleanOptions(m.options) ? { options: cleanOptions(m.options) } : {}),
      };
    });
    methods.sort((a, b) => a.name.localeCompare(b.name));
    services[name] = { file: fileOf(svc, absDir), methods };
  }
  for (const name of ROOT_TYPES) visit(root.lookupType(name));

  while (queue.length) {
    const t = queue.shift()!;
    const name = fullName(t);
    if (t instanceof protobuf.Enum) {
      const values = Object.entries(t.values)
        .map(([n, number]) => {
          const o = cleanOptions(t.valuesOptions?.[n]);
          return { name: n, number, ...(o ? { options: o } : {}) };
        })
        .sort((a, b) => a.number - b.number || a.name.localeCompare(b.name));
      const o = cleanOptions(t.options);
      types[name] = { kind: 'enum', file: fileOf(t, absDir), syntax: syntaxOf(t), values, reserved: reservedOf(t.reserved), ...(o ? { options: o } : {}) };
      continue;
    }
    const fields = t.fieldsArray.map((f): FieldFacts => {
      f.resolve();
      const target = f.resolvedType;
      if (target) visit(target);
      const isMap = f instanceof protobuf.MapField;
      const o = cleanOptions(f.options);
      return {
        name: f.name,
        id: f.id,
        type: target ? fullName(target) : f.type,
        rule: isMap ? 'map' : f.repeated ? 'repeated' : f.partOf ? 'singular' : f.rule === 'optional' ? 'optional' : 'singular',
        ...(isMap ? { keyType: (f as protobuf.MapField).keyType } : {}),
        ...(f.partOf ? { oneof: f.partOf.name } : {}),
        // The effective packing, for the types that can be packed (proto3 packs repeated
        // scalars unless told not to; strings, bytes and messages never are).
        ...(f.repeated && !isMap && !target && f.type in protobuf.types.packed ? { packed: f.packed } : {}),
        ...(f.repeated && !isMap && target instanceof protobuf.Enum ? { packed: f.packed } : {}),
        // Explicit presence (message fields, oneof members, proto3 `optional`).
        presence: Boolean(f.hasPresence),
        ...(o ? { options: o } : {}),
      };
    });
    fields.sort((a, b) => a.id - b.id);
    const oneofs = Object.fromEntries(
      t.oneofsArray.map((o) => [o.name, o.fieldsArray.map((f) => f.name).sort()] as const).sort(([a], [b]) => a.localeCompare(b)),
    );
    const o = cleanOptions(t.options);
    types[name] = { kind: 'message', file: fileOf(t, absDir), syntax: syntaxOf(t), fields, oneofs, reserved: reservedOf(t.reserved), ...(o ? { options: o } : {}) };
  }

  const sortedTypes = Object.fromEntries(Object.entries(types).sort(([a], [b]) => a.localeCompare(b)));
  return { services, types: sortedTypes };
}

/** The JSON text written to facts.json (stable key order, trailing newline). */
export function factsJson(dir?: string): string {
  return `${JSON.stringify(protoFacts(dir), null, 2)}\n`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(factsJson(process.argv[2]));
}
