// `latchkey migrate`: apply pending migrations and say what was applied. The
// migration itself already ran when the CLI opened the database.
import { defineCommand } from '../command.ts';

export const migrateCommand = defineCommand<void>({
  usage: 'migrate',
  summary: 'Apply pending database migrations (every command also does this first)',
  options: {},
  parse: () => undefined,
  async run({ migration }) {
    const human = migration.applied.length
      ? `Applied ${migration.applied.length} migration(s):\n${migration.applied.map((name) => `  ${name}`).join('\n')}`
      : `Database is up to date (${migration.known.length} migration(s) applied earlier).`;
    return { json: { applied: migration.applied, known: migration.known }, human };
  },
});
