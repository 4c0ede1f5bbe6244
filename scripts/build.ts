/**
 * `npm run build [-- <service>...]`: bundles each service's entry points into
 * services/<name>/dist/*.mjs (scripts/lib/bundle.ts), every service when none is named.
 * `--dir <folder>` bundles one service folder laid out elsewhere (the image's build stage
 * bundles the folder `pnpm deploy` wrote).
 */
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleService, serviceDirs } from './lib/bundle.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const args = process.argv.slice(2);

function usage(message: string): never {
  process.stderr.write(`\u2716 ${message}\nusage: npm run build [-- <service>...] | [-- --dir <service folder>]\n`);
  process.exit(2);
}

let dirs: string[];
if (args[0] === '--dir') {
  if (args.length !== 2 || !args[1]) usage('--dir takes exactly one folder');
  dirs = [args[1]];
} else {
  const known = serviceDirs(root);
  const unknown = args.filter((a) => a.startsWith('-') || !existsSync(join(root, 'services', a, 'src', 'main.ts')));
  if (unknown.length > 0) {
    const names = known.map((d) => relative(join(root, 'services'), d));
    usage(`not a service: ${unknown.join(', ')} (services: ${names.join(', ')})`);
  }
  dirs = args.length > 0 ? args.map((a) => join(root, 'services', a)) : known;
}

let failed = false;
for (const dir of dirs) {
  try {
    const r = await bundleService(dir);
    const where = r.outputs.map((o) => relative(process.cwd(), o)).join(', ');
    process.stdout.write(`\u2714 ${r.service}: ${where} (${(r.bytes / 1e6).toFixed(1)} MB, ${r.ms} ms)\n`);
  } catch (error) {
    failed = true;
    process.stderr.write(`\u2716 ${dir}: ${(error as Error).message}\n`);
  }
}
process.exitCode = failed ? 1 : 0;
