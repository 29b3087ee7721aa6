// Usage text: the overview and one page per command group.
import type { Command, CommandGroup } from './command.ts';

export function overview(groups: readonly CommandGroup[], migrate: Command): string {
  return [
    'Usage: latchkey <command> [options]',
    '',
    'Provision a Latchkey server: database, OAuth clients, API resources and users.',
    '',
    'Commands:',
    `  migrate      ${migrate.summary}`,
    ...groups.map((group) => `  ${group.name.padEnd(11)}  ${group.summary}: ${Object.keys(group.commands).join(', ')}`),
    '  help [GROUP] Show this text, or the commands of one group',
    '',
    'Every command takes --json: stdout then carries exactly one JSON object.',
    'Configuration comes from the environment (DATABASE_URL, NODE_ENV, LATCHKEY_DATA_DIR, …), as for the server.',
    'Exit status: 0 done, 1 refused or failed, 2 usage error.',
  ].join('\n');
}

export function groupHelp(group: CommandGroup): string {
  return [
    `Usage: latchkey ${group.name} <command> [options] [--json]`,
    '',
    `${group.summary}.`,
    '',
    ...Object.values(group.commands).flatMap((command) => [`  latchkey ${group.name} ${command.usage}`, `      ${command.summary}`]),
  ].join('\n');
}

export function commandHelp(prefix: string, command: Command): string {
  return [`Usage: latchkey ${prefix}${command.usage} [--json]`, '', `${command.summary}.`].join('\n');
}
