#!/usr/bin/env node
// The `latchkey` provisioning CLI. Runs the TypeScript sources through tsx so
// the CLI never needs a separate build step, exactly like `npm start`.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
