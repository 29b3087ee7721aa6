// Compiles the @latchkey/verify workspace (packages/verify/src) into
// packages/verify/dist (JavaScript + .d.ts), which its package.json exports:
// other services import plain JavaScript and need neither tsx nor a
// TypeScript toolchain. Runs from the root's `npm run prepare` (so the demo
// and anything importing the package by name work after `npm ci`) and from
// the package's `prepack` (so `npm pack` never ships a stale build).
//
// The compiler options are packages/verify/tsconfig.json, which extends the
// repository's, so the shipped code passes the same strict checks as the rest
// of Latchkey. Files are written to a scratch folder and renamed into place
// one by one, so a process importing the package while this runs never reads
// a half-written file.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = path.join(root, 'packages/verify');
const source = path.join(pkg, 'src');
const target = path.join(pkg, 'dist');
let scratch; // the build folder, removed on every exit path

let ts;
try {
  ts = (await import('typescript')).default;
} catch {
  // A production install without devDependencies: nothing in the server needs this build.
  process.stderr.write('build-verify: typescript is not installed; @latchkey/verify was not built\n');
  process.exit(0);
}

const configFile = ts.readConfigFile(path.join(pkg, 'tsconfig.json'), ts.sys.readFile);
if (configFile.error) fail([configFile.error]);
const { options } = ts.parseJsonConfigFileContent(configFile.config, ts.sys, pkg);

mkdirSync(path.dirname(target), { recursive: true });
scratch = mkdtempSync(path.join(path.dirname(target), '.verify-build-'));
try {
  // Only what index.ts reaches is shipped; outDir is the scratch folder.
  const program = ts.createProgram([path.join(source, 'index.ts')], { ...options, outDir: scratch });
  const emitted = program.emit();
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics];
  if (diagnostics.length || emitted.emitSkipped) fail(diagnostics);

  const outside = program.getSourceFiles().find((file) => !file.isDeclarationFile && !file.fileName.startsWith(source + path.sep));
  if (outside) fail([], `packages/verify must be self-contained, but it imports ${path.relative(root, outside.fileName)}`);

  mkdirSync(target, { recursive: true });
  const built = readdirSync(scratch);
  for (const name of built) {
    const file = path.join(scratch, name);
    // tsc rewrites `.ts` specifiers in JavaScript but leaves them in declarations;
    // `.js` resolves for every consumer, with or without allowImportingTsExtensions.
    if (name.endsWith('.d.ts')) {
      writeFileSync(file, readFileSync(file, 'utf8').replace(/(from '\.\/[\w-]+)\.ts'/g, "$1.js'"));
    }
    renameSync(file, path.join(target, name));
  }
  for (const name of readdirSync(target)) {
    if (!built.includes(name)) rmSync(path.join(target, name), { force: true });
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

function fail(diagnostics, message) {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' };
  process.stderr.write(`build-verify: ${message ?? 'packages/verify does not compile'}\n${ts.formatDiagnostics(diagnostics, host)}`);
  process.exit(1);
}
