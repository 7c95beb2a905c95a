// `npm run build` (after tsc): functions/app/main.ts and everything it imports, dependencies
// included, bundled into dist/main.js, the one file the Functions host loads (package.json `main`).
// What the app imports dynamically (`import()`: the identity library, the queue SDK) goes to
// chunks in dist/chunks/, read only when first needed, so a cold instance parses less before its
// first answer.
import { build } from 'esbuild';

await build({
  entryPoints: ['functions/app/main.ts'],
  outdir: 'dist',
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  sourcemap: true,
  logLevel: 'warning',
  external: [
    // The worker hands its own API to this package (`@azure/functions-core`) and the OpenTelemetry
    // instrumentation patches it by name: it stays one module, loaded from node_modules.
    '@azure/functions',
    '@azure/functions-core',
    // Azure Monitor's Azure SDK instrumentation hooks this package by name, as it is required.
    '@azure/core-tracing',
    // Loaded only when Application Insights is configured (functions/app/telemetry.ts): kept out of
    // the bundle so an app without it never reads them.
    '@azure/monitor-opentelemetry',
    '@azure/functions-opentelemetry-instrumentation',
    '@opentelemetry/*',
  ],
  // Bundled CommonJS dependencies call require(); an ES module has none of its own.
  banner: { js: "import { createRequire as __bundleRequire } from 'node:module';\nconst require = __bundleRequire(import.meta.url);" },
});
