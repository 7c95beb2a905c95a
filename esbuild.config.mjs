// `npm run build` (after tsc): functions/app/main.ts and everything it imports, dependencies
// included, bundled into dist/main.js, the one file the Functions host loads (package.json `main`),
// with the options in esbuild.options.mjs (which the test of the bundle builds with too).
import { build } from 'esbuild';
import { bundleOptions } from './esbuild.options.mjs';

await build(bundleOptions);
