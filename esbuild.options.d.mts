import type { BuildOptions } from 'esbuild';

/** The options `npm run build` bundles the app with (esbuild.options.mjs). */
export declare const bundleOptions: BuildOptions;
