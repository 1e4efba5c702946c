// `modelgate serve`: the inference server on its own, flag-compatible with
// tensorflow_model_server where the flags apply.
import { helpText, parseArgs } from '../args.ts';
import { portError } from '../lifecycle.ts';
import { configFromFlags, SERVE_FLAGS } from '../../server/config.ts';
import { startServer } from '../../server/server.ts';

export async function run(argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, SERVE_FLAGS);
  if (flags.help) {
    console.log(helpText('usage: modelgate serve (--model_name NAME --model_base_path DIR | --model_config_file FILE) [flags]', SERVE_FLAGS));
    return 0;
  }
  const config = await configFromFlags(flags);
  const t0 = performance.now();
  const server = await startServer({ ...config, processMetrics: true, log: (m) => console.log(`[serve] ${m}`) }).catch((err: unknown) => {
    throw portError('serve', err, {}, [[Number(flags.rest_api_port), 'rest_api_port'], [Number(flags.port), 'port']]) ?? err;
  });
  console.log(`[serve] REST listening on ${server.restUrl} (${Math.round(performance.now() - t0)} ms incl. model loads); metrics at ${server.restUrl}/metrics`);
  if (server.grpcAddress) console.log(`[serve] gRPC listening on ${server.grpcAddress} (TF Serving PredictionService/ModelService, KServe v2, grpc.health.v1)`);
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      console.log(`[serve] ${signal}: not ready any more, draining in-flight requests`);
      server.drain().then(() => {
        console.log('[serve] drained, exiting');
        resolve(0);
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
