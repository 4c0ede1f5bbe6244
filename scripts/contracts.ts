/**
 * Contracts for other teams, generated from the zod schemas the code validates with:
 * docs/api/<service>.openapi.json and docs/events/<topic>.schema.json (+ an example message).
 *   tsx scripts/contracts.ts          write them
 *   tsx scripts/contracts.ts --check  fail when a committed file is stale (run by npm test)
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { REPO_ROOT } from '@micro-oncall/test-kit';
import { contractFiles } from './lib/contracts.js';

const check = process.argv.includes('--check');
const stale: string[] = [];
for (const [path, content] of await contractFiles()) {
  const file = join(REPO_ROOT, path);
  const current = existsSync(file) ? readFileSync(file, 'utf8') : null;
  if (current === content) continue;
  if (check) {
    stale.push(relative(REPO_ROOT, file));
  } else {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
    console.log(`wrote ${path}`);
  }
}
if (stale.length > 0) {
  console.error(
    `stale contracts (run \`node_modules/.bin/tsx scripts/contracts.ts\` and commit):\n  ${stale.join('\n  ')}`,
  );
  process.exit(1);
}
if (check) console.log('contracts are up to date');
