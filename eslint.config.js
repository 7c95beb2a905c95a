// ESLint with typescript-eslint's type-checked rules: a promise nobody awaits (a keepAlive or a
// row write that silently never happens) is exactly the kind of bug that loses a call.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.azurite/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', '*.mjs', 'bench/*.mjs', 'scripts/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    // Dependencies point one way: functions/ (the triggers and the composition root in functions/app)
    // build and call the domain in shared/; the domain never reaches back, nor into tests or tools.
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...['zod', 'zod/v4', 'zod/v4/classic', 'zod/v3'].map((name) => ({
              name,
              message:
                "Schemas are built with zod's functional API, from shared/schema.js: the classic API's schemas cost a cold start more to build (docs/performance.md).",
            })),
          ],
          patterns: [
            {
              group: ['**/functions/**', '@azure/functions'],
              message:
                'The domain (shared/) never imports the Functions wiring: take what it needs as a parameter (functions/app builds it).',
            },
            { group: ['**/test/**', '**/tools/**', '**/scripts/**', '**/bench/**'], message: 'The domain never imports tests or tools.' },
          ],
        },
      ],
    },
  },
  {
    // The bundle leaves out parts of two packages that nothing here uses (esbuild.options.mjs,
    // `standIns`); the tests, which run the sources, would not notice code that started to use them.
    files: ['shared/**/*.ts', 'functions/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@azure/identity',
              allowTypeImports: true,
              message:
                'Credentials come from shared/identityCredentials.ts: the bundle keeps only those, and leaves out the JWT signer that certificate credentials need (shared/identityCertificateSigning.ts).',
            },
            {
              name: '@azure/data-tables',
              importNames: ['TableServiceClient'],
              message:
                "The service's properties are sent as XML, which the bundle's Table SDK does not write (shared/storage/tableXml.ts).",
            },
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "ImportExpression[source.value='@azure/identity']",
          message: 'Credentials come from shared/identityCredentials.ts (import that lazily instead): the bundle keeps only those.',
        },
        {
          selector: "MemberExpression[property.name='setAccessPolicy']",
          message: "A table's access policy is sent as XML, which the bundle's Table SDK does not write (shared/storage/tableXml.ts).",
        },
      ],
    },
  },
  {
    files: ['shared/identityCredentials.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': 'off' },
  },
  {
    // Tools users run (the simulator, npm run simulate, the bench) stand on their own; the tests import them.
    files: ['tools/**/*.ts', 'scripts/**/*.{ts,mjs}', 'bench/**/*.{ts,mjs}'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/test/**'], message: 'Tools do not depend on the tests; the tests import the tools.' }] },
      ],
    },
  },
  {
    // vitest's asymmetric matchers (expect.any, expect.stringContaining, …) are typed `any`, and test
    // doubles implement async interfaces without awaiting anything.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
