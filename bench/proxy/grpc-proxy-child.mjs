// `modelgate proxy --config FILE` from the compiled build (dist/, `npm run build`) under plain
// node, with no TypeScript loader and whether or not dist/ matches the sources (which
// bin/modelgate.js checks, falling back to tsx). Arguments are the CLI's. MODELGATE_DIST
// names another build directory (a copy of an older dist/ for an A/B; it needs a
// node_modules next to it or above it).
import { pathToFileURL } from 'node:url';

const dist = process.env.MODELGATE_DIST ? pathToFileURL(`${process.env.MODELGATE_DIST}/`) : new URL('../../dist/', import.meta.url);
const { main } = await import(new URL('cli/main.js', dist).href);
process.exitCode = await main(process.argv.slice(2));
