// Runs the chart and policy checks on their own:
//   node_modules/.bin/tsx scripts/charts-check.ts
// The first run builds helm, conftest and opa into .cache/tools/bin (~12 minutes on 2
// cores); later runs take seconds. `npm test` runs the same checks through runChartChecks().
import { runChartChecks } from './lib/charts-check.js';

const started = Date.now();
const log = (line: string) => process.stdout.write(`${line}\n`);
const summary = await runChartChecks(log);
log(`finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
for (const failure of summary.failures) log(`  \u2716 ${failure.split('\n')[0]}`);
log(`charts: ${summary.passed} passed, ${summary.failed} failed`);
if (summary.failed > 0) process.exitCode = 1;
