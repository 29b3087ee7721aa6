#!/usr/bin/env node
// The `latchkey` provisioning CLI, run from the compiled build (dist/app) so a
// call starts in well under a second and needs no TypeScript loader.
import { pathToFileURL } from 'node:url';
import { compiled } from './build-check.js';

await import(pathToFileURL(compiled('src/cli/main.js')).href);
