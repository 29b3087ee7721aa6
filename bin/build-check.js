// The compiled build (dist/app) is what `npm start` and the CLI run; this
// refuses one that is missing or older than a source under src/, with the
// command that fixes it, instead of compiling on every start. `npm run build`
// (also run by `npm ci`, through prepare) stamps dist/app/.tsbuildinfo.
// Where src/ is not shipped (an image built without it) there is nothing to compare.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(file));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(file).mtimeMs);
  }
  return newest;
}

/** Why the build cannot run `file` (a path under dist/app), or undefined when it can. */
export function buildProblem(file, base = root) {
  const stamp = path.join(base, 'dist/app/.tsbuildinfo');
  const source = path.join(base, 'src');
  if (!existsSync(path.join(base, 'dist/app', file)) || !existsSync(stamp)) return 'has not been built';
  if (existsSync(source) && newestSource(source) > statSync(stamp).mtimeMs) return 'has sources newer than its build';
  return undefined;
}

/** The path of `file` in the build; exits with one line saying what to run when the build cannot be used. */
export function compiled(file) {
  const problem = buildProblem(file);
  if (problem) {
    process.stderr.write(`latchkey: this checkout ${problem}; run \`npm run build\`\n`);
    process.exit(1);
  }
  return path.join(root, 'dist/app', file);
}
