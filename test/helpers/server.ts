// The model server fixture: modelgate's own inference server (server/index.ts) as tests run
// it — REST on 127.0.0.1 port 0, gRPC off unless the test passes `grpcPort: 0`, and no
// polling of the repository (pollMs 0: the versions on disk at start are the ones served).
//
//   const repo = await TempRepo.create();
//   await repo.copyExample('fraud');
//   const server = await startTestServer([servedModel('fraud', repo.path('fraud'), { policy: ALL_VERSIONS, labels: { stable: 1 } })]);
//   ... server.restUrl, server.grpcAddress, server.manager ...
//   await server.close();
//
// `exampleModel` serves a model of examples/models in place (read only, no copy);
// `serveExampleCopies` copies example models into a temporary repository first (for tests
// that add, break or remove versions) and removes that repository on close().
import { join } from 'node:path';
import { startServer } from '../../server/index.ts';
import type { ModelConfig, RunningServer, StartOptions } from '../../server/index.ts';
import { EXAMPLES, TempRepo } from './repo.ts';

/** Every version in the folder (the default serves the newest only). */
export const ALL_VERSIONS: ModelConfig['policy'] = { kind: 'all' };

/** One entry of the server's model list: the newest version, no labels, unless `more` says otherwise. */
export function servedModel(name: string, basePath: string, more: Partial<Omit<ModelConfig, 'name' | 'basePath'>> = {}): ModelConfig {
  return { name, basePath, policy: { kind: 'latest', numVersions: 1 }, labels: {}, ...more };
}

/** A model of examples/models served in place; the files must not be changed by the test. */
export function exampleModel(name: string, more: Partial<Omit<ModelConfig, 'name' | 'basePath'>> = {}): ModelConfig {
  return servedModel(name, join(EXAMPLES, name), more);
}

/** Starts the server on 127.0.0.1 (REST on port 0, gRPC off unless `grpcPort: 0`, no polling). */
export function startTestServer(models: ModelConfig[], opts: Omit<StartOptions, 'models'> = {}): Promise<RunningServer> {
  return startServer({ host: '127.0.0.1', restPort: 0, grpcPort: -1, pollMs: 0, ...opts, models });
}

export interface ServerWithRepo extends RunningServer {
  /** The temporary repository the models are served from. */
  repo: TempRepo;
}

/**
 * Copies the named example models into a new temporary repository and serves them from it;
 * close() stops the server, then removes the repository.
 */
export async function serveExampleCopies(models: Record<string, Partial<Omit<ModelConfig, 'name' | 'basePath'>>>, opts: Omit<StartOptions, 'models'> = {}): Promise<ServerWithRepo> {
  const repo = await TempRepo.create();
  try {
    for (const name of Object.keys(models)) await repo.copyExample(name);
    const server = await startTestServer(Object.entries(models).map(([name, more]) => servedModel(name, repo.path(name), more)), opts);
    return {
      ...server,
      repo,
      close: async () => {
        await server.close();
        await repo.remove();
      },
    };
  } catch (err) {
    await repo.remove();
    throw err;
  }
}
