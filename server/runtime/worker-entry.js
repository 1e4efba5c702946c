// Entry point of an inference worker thread (server/runtime/workers.ts starts it). Plain
// JavaScript because a worker does not inherit the loader hooks that let the main thread
// import TypeScript; it registers tsx itself, as bin/modelgate.js does, then loads the
// worker proper.
import { register } from 'tsx/esm/api';

register();
await import('./onnx-worker.ts');
