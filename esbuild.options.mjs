// How esbuild bundles the app (esbuild.config.mjs runs it; test/bundle.test.ts builds with it too).
// What the app imports dynamically (`import()`: the identity library, the queue SDK) goes to
// chunks in dist/chunks/, read only when first needed, so a cold instance parses less before its
// first answer.
import { fileURLToPath } from 'node:url';

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

/**
 * Dependencies of dependencies that a cold instance need not read before its first answer, swapped
 * (for that importer only) for a module of the app's own. Each stand-in says why in its own file;
 * test/bundle.test.ts checks that the packages use no more of them than they provide, and
 * eslint.config.js refuses the app's code what they leave out.
 */
const standIns = [
  // The Table SDK's XML parser and serializer (about 100 KB): the parser loads the real library
  // on first use (an XML answer); the serializer refuses, as the app sends no XML bodies.
  { specifier: '@azure/core-xml', importer: '@azure/data-tables', module: './shared/storage/tableXml.ts' },
  // MSAL's JWT signer, with semver and the rest of its dependencies (about 90 KB): it signs only the
  // assertions of certificate credentials, which the app does not build.
  { specifier: 'jsonwebtoken', importer: '@azure/msal-node', module: './shared/identityCertificateSigning.ts' },
];
const standInsForUnusedParts = {
  name: 'stand-ins-for-unused-parts',
  setup(build) {
    for (const { specifier, importer, module } of standIns) {
      const exactly = new RegExp(`^${specifier.replace(/[/.]/g, '\\$&')}$`);
      build.onResolve({ filter: exactly }, (args) =>
        args.importer.replaceAll('\\', '/').includes(`/node_modules/${importer}/`)
          ? { path: fileURLToPath(new URL(module, import.meta.url)) }
          : undefined,
      );
    }
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
  logLevel: 'warning',
  // A package's ES module build (package.json `module`) where it has one and no `exports` map:
  // esbuild's default for node is `main`, a CommonJS build that cannot be tree-shaken. Tree-shaken,
  // the Graph client takes 51 KB of the bundle instead of 103 KB (docs/performance.md, session 17),
  // and the telemetry chunk 2.7 MB instead of 3.5 (session 18). Only a bundler reads the Graph
  // client's ES build (its imports name no file extensions); the tests, which vitest runs from the
  // sources, get its CommonJS one, and the bundle's own tests and the bench this one.
  mainFields: ['module', 'main'],
  plugins: [functionsByRequire, standInsForUnusedParts],
  external: [
    '@azure/functions-core',
    // Azure Monitor's Azure SDK instrumentation hooks this package by name, as it is required.
    '@azure/core-tracing',
    // Azure Monitor's distribution and the instrumentations (functions/app/telemetry.ts) are
    // bundled, into chunks read only when Application Insights is configured: from node_modules a
    // cold instance read some 1,600 files of theirs, about a second, before its first answer; from
    // the chunks it takes about 0.25 s (docs/performance.md, session 18). What they instrument stays
    // outside, found by name as it is required: `@azure/functions`, `@azure/core-tracing` and
    // Node's `http` and `https`.
    // The OpenTelemetry API itself (@opentelemetry/api, api-logs) is bundled: its copies share one
    // global registry, so the app's metrics and events reach the SDK the distribution registers,
    // and a cold instance does not read the API's hundred-odd files (about 40 ms).
  ],
  // Bundled CommonJS dependencies call require(); an ES module has none of its own.
  banner: { js: "import { createRequire as __bundleRequire } from 'node:module';\nconst require = __bundleRequire(import.meta.url);" },
};
