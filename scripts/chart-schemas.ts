/**
 * Chart values schemas, generated from charts/common/values.schema.shared.json and each chart's
 * own part (values.schema.service.json, or values.schema.umbrella.json for the umbrella chart):
 *   tsx scripts/chart-schemas.ts          write charts/<chart>/values.schema.json
 *   tsx scripts/chart-schemas.ts --check  fail when a committed one is stale (run by npm test)
 */
import { chartSchemaFiles, staleChartSchemas, writeChartSchemas } from './lib/charts/schemas.js';

const fix = '`node_modules/.bin/tsx scripts/chart-schemas.ts`';
const check = process.argv.includes('--check');
try {
  if (check) {
    const stale = staleChartSchemas();
    if (stale.length > 0) {
      console.error(`stale chart values schemas (run ${fix} and commit):\n  ${stale.join('\n  ')}`);
      process.exit(1);
    }
    console.log(`chart values schemas are up to date (${chartSchemaFiles().size} charts)`);
  } else {
    const written = writeChartSchemas();
    for (const path of written) console.log(`wrote ${path}`);
    if (written.length === 0) console.log('chart values schemas are up to date');
  }
} catch (error) {
  console.error(`chart values schemas: ${(error as Error).message}`);
  process.exit(1);
}
