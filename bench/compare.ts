// Reads results written by `npm run bench`: one file prints its table again;
// two or more print Latchkey's rate per scenario across them, oldest first,
// with the change from the first. For tracking speed over commits:
//   node --import tsx bench/compare.ts bench/results/*-sqlite.json
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { formatReport, type BenchReport } from './report.ts';

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write('usage: node --import tsx bench/compare.ts RESULT.json [MORE.json…]\n');
  process.exit(2);
}
const reports = files.map((file) => ({ file, report: JSON.parse(readFileSync(file, 'utf8')) as BenchReport })).sort((a, b) => a.report.startedAt.localeCompare(b.report.startedAt));

if (reports.length === 1) {
  process.stdout.write(`${formatReport(reports[0]!.report)}\n`);
} else {
  const first = reports[0]!.report;
  for (const { file, report } of reports) {
    process.stdout.write(`\n${path.basename(file)}  ${report.dialect}  commit ${report.machine.commit}  load ${report.machine.loadBefore[0]?.toFixed(2)}\n`);
    for (const scenario of report.scenarios) {
      const base = first.scenarios.find((s) => s.id === scenario.id);
      const change = base && base !== scenario ? ` (${scenario.latchkey.rate >= base.latchkey.rate ? '+' : ''}${Math.round((scenario.latchkey.rate / base.latchkey.rate - 1) * 100)}%)` : '';
      const ratio = scenario.reference ? `, ${Math.round((scenario.latchkey.rate / scenario.reference.rate) * 100)}% of the reference` : ' (Latchkey only)';
      process.stdout.write(`  ${scenario.id.padEnd(20)} ${Math.round(scenario.latchkey.rate).toLocaleString('en-US').padStart(8)} ${scenario.unit}${change}${ratio}\n`);
    }
  }
}
