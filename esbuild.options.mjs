// How esbuild bundles the app (esbuild.config.mjs runs it; test/bundle.test.ts builds with it too).
// What the app imports dynamically (`import()`: the identity library, the queue SDK) goes to
// chunks in dist/chunks/, read only when first needed, so a cold instance parses less before its
// first answer.

/**
 * `@azure/functions` is loaded with `require`, not `import`: it is CommonJS, and importing it from
 * an ES module makes Node scan its source for export names first, about 25 ms of a cold start.
 * It stays external: the worker hands its own API to it (`@azure/functions-core`), and the
 * OpenTelemetry instrumentation patches it by name.
 */
const functionsByRequire = {
  name: 'functions-by-require',
  setup(build) {
    build.onResolve({ filter: /^@azure\/functions$/ }, (args) =>
      args.namespace === 'functions-by-require'
        ? { path: args.path, external: true }
        : { path: args.path, namespace: 'functions-by-require' },
    );
    build.onLoad({ filter: /.*/, namespace: 'functions-by-require' }, () => ({
      contents: "module.exports = require('@azure/functions');",
      loader: 'js',
    }));
  },
};

/** @type {import('esbuild').BuildOptions} */
export const bundleOptions = {
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
  // Less source to read and parse on a cold start (names are kept, so stack traces stay readable;
  // the source maps lead back to the code).
  minifyWhitespace: true,
  minifySyntax: true,
  // Packages' CommonJS builds (esbuild's default for node): the Graph client's ES module build
  // would make the bundle 80 KB smaller, but a sweep ran 8-15% slower on it (docs/performance.md).
  logLevel: 'warning',
  plugins: [functionsByRequire],
  external: [
    '@azure/functions-core',
    // Azure Monitor's Azure SDK instrumentation hooks this package by name, as it is required.
    '@azure/core-tracing',
    // Loaded only when Application Insights is configured (functions/app/telemetry.ts): kept out of
    // the bundle so an app without it never reads them.
    '@azure/monitor-opentelemetry',
    '@azure/functions-opentelemetry-instrumentation',
    '@opentelemetry/instrumentation*',
    // The OpenTelemetry API itself (@opentelemetry/api, api-logs) is bundled: its copies share one
    // global registry, so the app's metrics and events reach the SDK the distribution registers,
    // and a cold instance does not read the API's hundred-odd files (about 40 ms).
  ],
  // Bundled CommonJS dependencies call require(); an ES module has none of its own.
  banner: { js: "import { createRequire as __bundleRequire } from 'node:module';\nconst require = __bundleRequire(import.meta.url);" },
};
