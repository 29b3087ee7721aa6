// Migrates the database DATABASE_URL names, the way a booting Latchkey would,
// in a process of its own; tests spawn several to race real boots.
//
//   DATABASE_URL=… node --import tsx test/helpers/run-migrate.ts [--at <epoch ms>]
//
// --at makes the process load everything first and then wait until that
// instant, so processes spawned one after another start migrating together
// rather than staggered by their module-loading time.
// Prints one JSON line as it starts migrating ({"event":"migrating","pid":…})
// and one when done ({"event":"migrated","pid":…,"applied":[…]}); on failure
// the error's code and message on stderr and exit code 1.
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config/config.ts';
import { migrate } from '../../src/db/migrator.ts';

const { values } = parseArgs({ options: { at: { type: 'string' } } });

try {
  const config = loadConfig();
  if (values.at !== undefined) await sleep(Math.max(0, Number(values.at) - Date.now()));
  process.stdout.write(`${JSON.stringify({ event: 'migrating', pid: process.pid })}\n`);
  const result = await migrate(config.database);
  process.stdout.write(`${JSON.stringify({ event: 'migrated', pid: process.pid, applied: result.applied })}\n`);
} catch (error) {
  const code = (error as { code?: unknown }).code ?? 'unknown';
  process.stderr.write(`${String(code)}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
