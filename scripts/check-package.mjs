// `npm run package:check`: what `func azure functionapp publish <app> --build remote` uploads, read
// from the files git tracks plus the build output, filtered by .funcignore as Core Tools filters
// it (gitignore rules). Fails when the package would miss what the host needs or carry what it
// must not (tests, tools, infra, local settings, node_modules: the remote build installs those).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ignore from 'ignore';

const root = process.cwd();
const tracked = execFileSync('git', ['ls-files'], { encoding: 'utf8' }).split('\n').filter(Boolean);
const built = walk('dist').map((file) => relative(root, file));
const filter = ignore().add(readFileSync('.funcignore', 'utf8'));
const shipped = [...tracked, ...built].filter((file) => !filter.ignores(file)).sort();

const problems = [];
const must = ['host.json', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'];
for (const file of must) if (!shipped.includes(file)) problems.push(`missing ${file}`);
// The host loads package.json `main`: the bundle of functions/app/main.ts, which must import every
// function file (a function left out would never be registered).
const { main } = JSON.parse(readFileSync('package.json', 'utf8'));
if (main !== 'dist/main.js') problems.push(`package.json main is ${JSON.stringify(main)}, expected "dist/main.js" (the bundle)`);
if (!shipped.includes('dist/main.js')) problems.push('missing dist/main.js (npm run build first)');
const entry = readFileSync('functions/app/main.ts', 'utf8');
for (const file of readdirSync('functions').filter((f) => f.endsWith('.ts'))) {
  if (!entry.includes(`'../${file.replace(/\.ts$/, '.js')}'`)) problems.push(`functions/app/main.ts does not import functions/${file}`);
}
// The bundle's chunks (what it imports, at once or on first use) must ship with it.
const chunksNamed = (file) => {
  const text = readFileSync(file, 'utf8');
  const dir = file.startsWith('dist/chunks/') ? 'dist/chunks/' : 'dist/';
  // `from "./x.js"`, `import "./x.js"` (a chunk run for its effects) and `import("./x.js")`.
  return [...text.matchAll(/(?:from |import ?\(?)"\.\/((?:chunks\/)?[\w.-]+\.js)"/g)].map((m) => dir + m[1]);
};
const reached = new Set();
const pending = shipped.includes('dist/main.js') ? ['dist/main.js'] : [];
while (pending.length > 0) {
  const file = pending.pop();
  if (reached.has(file)) continue;
  reached.add(file);
  if (!shipped.includes(file)) problems.push(`missing ${file} (a chunk of the bundle)`);
  else pending.push(...chunksNamed(file));
}
for (const config of ['esbuild.config.mjs', 'esbuild.options.mjs']) {
  if (!shipped.includes(config)) problems.push(`missing ${config} (the remote build runs it)`);
}
const forbidden = [
  /^test\//,
  /^tools\//,
  /^scripts\//,
  /^bench\//,
  /^infra\//,
  /^docs\//,
  /^node_modules\//,
  /^local\.settings\.json$/,
  /\.map$/,
];
for (const file of shipped) if (forbidden.some((pattern) => pattern.test(file))) problems.push(`must not ship ${file}`);

console.log(`${shipped.length} files would be published:`);
for (const file of shipped.filter((f) => !f.startsWith('dist/') && !f.startsWith('functions/') && !f.startsWith('shared/')))
  console.log(`  ${file}`);
console.log(`  functions/, shared/ (sources for the remote build) and dist/ (${built.filter((f) => !filter.ignores(f)).length} files)`);
if (problems.length > 0) {
  console.error(`\nThe package is wrong:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}

function walk(dir) {
  let files = [];
  let names = [];
  try {
    names = readdirSync(dir);
  } catch {
    return files; // no build output yet: the checks above say so
  }
  for (const name of names) {
    const path = join(dir, name);
    files = statSync(path).isDirectory() ? [...files, ...walk(path)] : [...files, path];
  }
  return files;
}
