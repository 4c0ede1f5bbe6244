/**
 * `tsx scripts/check-boundaries.ts` (a step of `npm test`): fails when an import crosses a
 * module boundary. A service never imports another service; packages never import services,
 * scripts/, bench/ or test/; scripts/, bench/ and test/ use a service only through its public
 * entry, services/<name>/src/index.ts. The rules are in scripts/lib/boundaries.ts.
 *
 * Prints one line per violation, `file:line imports X — rule, what to do instead`, and exits 1
 * if there is any.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkFile, formatViolation, SOURCE_EXTENSIONS, type Violation, type Workspace } from './lib/boundaries.js';
import { say } from './lib/console.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const AREAS = ['services', 'packages', 'scripts', 'bench', 'test'];
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'build', 'coverage', 'test-results']);

/** Workspace packages (services/* and packages/*) by their package.json name. */
function workspacePackages(): Workspace {
  const workspace: Workspace = {};
  for (const group of ['services', 'packages']) {
    const dir = join(root, group);
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const manifest = join(dir, entry.name, 'package.json');
      if (!entry.isDirectory() || !existsSync(manifest)) continue;
      const { name } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string };
      if (name) workspace[name] = `${group}/${entry.name}`;
    }
  }
  return workspace;
}

function* sourceFiles(dir: string): Generator<string> {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || SKIPPED_DIRS.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (entry.isFile() && SOURCE_EXTENSIONS.includes(extname(entry.name))) yield path;
  }
}

const workspace = workspacePackages();
const violations: Violation[] = [];
let files = 0;
for (const area of AREAS) {
  for (const path of sourceFiles(join(root, area))) {
    files += 1;
    const file = relative(root, path).split(sep).join('/');
    violations.push(...checkFile(file, readFileSync(path, 'utf8'), workspace));
  }
}

for (const v of violations) process.stdout.write(`${formatViolation(v)}\n`);
if (violations.length > 0) {
  say.fail(
    `${violations.length} import${violations.length === 1 ? '' : 's'} cross a module boundary (${files} files read)`,
  );
  process.exit(1);
}
say.ok(`${files} files read: no import crosses a module boundary`);
