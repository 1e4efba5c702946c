// TF Serving's REST API: POST :predict / :classify / :regress, GET status and metadata.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkSignatureName, DEFAULT_SIGNATURE } from '../core/infer.ts';
import { SrvErr } from '../errors.ts';
import { dtypeInfo, type DType } from '../tensor/dtype.ts';
import { parseJson } from '../tensor/json.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { readBody } from './body.ts';
import type { RestLifecycle } from './lifecycle.ts';
import type { RestRequest } from './request.ts';
import { sendJson } from './respond.ts';
import type { Route } from './routes.ts';
import { classifyOutput, decodeExamples, decodePredict, encodeClassify, encodePredict, encodeRegress, regressOutput, tfDims } from './tf-codec.ts';

export type TfRoute = Extract<Route, { kind: 'tf' }>;

const encodeTf = (r: RestRequest, out: Map<string, Tensor>): string => encodePredict(r.format, out);
const encodeTfExamples = (r: RestRequest, out: Map<string, Tensor>): string => {
  const t = out.get(r.output)!;
  return r.api === 'regress' ? encodeRegress(t) : encodeClassify(t);
};

/** POST :predict / :classify / :regress: the hot path, without async frames. */
export function tfInference(lc: RestLifecycle, req: IncomingMessage, r: RestRequest, route: TfRoute): void {
  r.model = lc.modelLabel(route.model);
  r.api = route.verb;
  if (route.label !== undefined && route.version !== undefined) return lc.fail(r, SrvErr.SRV_ERR_INVALID_ARGUMENT('Specify either a version or a label, not both'));
  readBody(req, lc.bodyLimits(route.model, r), (text, err) => {
    if (text === undefined) return lc.fail(r, err);
    try {
      const body = parseJson(text, lc.options.json);
      const h = lc.manager.acquire(route.model, route); // the route carries version and label
      r.handle = h;
      r.version = String(h.version);
      if (route.verb === 'predict') {
        const p = decodePredict(body, h.signature);
        checkSignatureName(p.signatureName);
        r.format = p.format;
        return lc.run(r, p.inputs, encodeTf);
      }
      const ex = decodeExamples(body, h.signature);
      checkSignatureName(ex.signatureName);
      r.output = (route.verb === 'regress' ? regressOutput(h.signature) : classifyOutput(h.signature)).name;
      return lc.run(r, ex.inputs, encodeTfExamples, [r.output]);
    } catch (e) {
      lc.fail(r, e);
    }
  });
}

/** GET /v1/models/{m}[/versions/{v}|/labels/{l}][/metadata]: throws what the caller answers as an error. */
export function tfGet(lc: RestLifecycle, res: ServerResponse, route: TfRoute, r: RestRequest): void {
  r.model = lc.modelLabel(route.model);
  r.api = route.verb;
  if (route.label !== undefined && route.version !== undefined) throw SrvErr.SRV_ERR_INVALID_ARGUMENT('Specify either a version or a label, not both');
  if (route.verb === 'status') return tfStatus(lc, res, route);
  return tfMetadata(lc, res, route, r);
}

function tfStatus(lc: RestLifecycle, res: ServerResponse, route: TfRoute): void {
  const { manager } = lc;
  if (!manager.hasModel(route.model)) throw SrvErr.SRV_ERR_NOT_FOUND(`Could not find any versions of model ${route.model}`);
  // GetModelStatus looks only at the version; a label request lists every version
  // (get_model_status_impl.cc checks has_version() alone).
  const list = manager.status(route.model, route.version);
  const body = {
    model_version_status: list.map((s) => ({
      version: String(s.version),
      state: s.state,
      status: { error_code: s.errorCode, error_message: s.errorMessage },
    })),
  };
  sendJson(res, 200, JSON.stringify(body));
}

function tfMetadata(lc: RestLifecycle, res: ServerResponse, route: TfRoute, r: RestRequest): void {
  const h = lc.manager.acquire(route.model, { version: route.version, label: route.label });
  try {
    r.version = String(h.version);
    const tensorInfo = (s: { name: string; dtype: DType; shape: number[] }) => ({
      dtype: dtypeInfo(s.dtype).tf,
      tensor_shape: tfDims(s.shape),
      name: s.name,
    });
    const body = {
      model_spec: { name: route.model, signature_name: '', version: String(h.version) },
      metadata: {
        signature_def: {
          signature_def: {
            [DEFAULT_SIGNATURE]: {
              inputs: Object.fromEntries(h.signature.inputs.map((s) => [s.name, tensorInfo(s)])),
              outputs: Object.fromEntries(h.signature.outputs.map((s) => [s.name, tensorInfo(s)])),
              method_name: 'tensorflow/serving/predict',
              defaults: {},
            },
          },
        },
      },
    };
    sendJson(res, 200, JSON.stringify(body), h.version);
  } finally {
    h.release();
  }
}
