// Vitest's global setup: the tests that run Latchkey as `npm start` and
// `npx latchkey` do (from the compiled build) need a build of the sources
// under test, so a checkout whose build is missing or stale is built once
// here, before any test file starts. Everything else runs the sources.
import { execFileSync } from 'node:child_process';
import { buildProblem } from '../bin/build-check.js';

export default function setup(): void {
  if (buildProblem('src/main.js') === undefined) return;
  execFileSync('npm', ['run', 'build'], { stdio: 'inherit' });
}
