// Entry point of an inference worker thread (server/runtime/workers.ts starts it) when the
// TypeScript sources run through tsx: a worker does not inherit the loader hooks that let
// the main thread import TypeScript, so it registers tsx itself, as bin/modelgate.js does,
// then loads the worker proper. The compiled build has its own entry in dist/ (written by
// scripts/build.js) that imports the compiled worker with no tsx.
import { register } from 'tsx/esm/api';

register();
await import('./onnx-worker.ts');
