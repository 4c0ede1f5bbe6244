/**
 * `npm run new-service -- <name> [--description "…"]`: writes a working service from
 * templates/service/ — descriptor, config, app with one route, one consumer, migration, README,
 * runbook, Helm chart and an integration test — then links it into the workspace, generates
 * its migration, its chart values schema and its API contract. Nothing shared is edited by hand:
 * `npm start`, `npm test`, the contracts, the chart checks and the benchmarks find it by its
 * descriptor and its chart.
 */
import { scaffoldService } from './lib/scaffold.js';

const args = process.argv.slice(2);
const name = args.find((a) => !a.startsWith('--'));
const descriptionIndex = args.indexOf('--description');
const description = descriptionIndex >= 0 ? args[descriptionIndex + 1] : undefined;
if (!name) {
  console.error('usage: npm run new-service -- <name> [--description "what it does"]');
  process.exit(2);
}
try {
  const written = await scaffoldService({ name, ...(description ? { description } : {}), log: console.log });
  console.log(`\n✔ services/${name} is ready (${written.length} files). Next:`);
  console.log(`  node_modules/.bin/vitest run --project integration services/${name}   its own test`);
  console.log('  npm start                                                  it starts with the platform');
} catch (error) {
  console.error(`✖ ${(error as Error).message}`);
  process.exit(1);
}
