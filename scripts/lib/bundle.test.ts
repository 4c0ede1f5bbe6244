import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { temporaryDirectories } from '@micro-oncall/test-kit/temp';
import { describe, expect, it } from 'vitest';
import { bundleService, relativeUrl } from './bundle.js';

const tempDir = temporaryDirectories();

/** A service folder laid out as in the repository: a shared package beside it that reads its own files. */
function fixture(root: string): string {
  const files: Record<string, string> = {
    'services/svc/package.json': '{"name":"@fixture/svc","type":"module"}',
    'services/svc/src/main.ts': [
      "import { readFileSync } from 'node:fs';",
      "import { fileURLToPath } from 'node:url';",
      "import { sharedErrorName, sharedText } from '../../../packages/shared/src/index.ts';",
      "const own = readFileSync(fileURLToPath(new URL('../data/own.txt', import.meta.url)), 'utf8');",
      // Two classes of one name in two modules: the bundle renames one, `.name` must not change.
      'class NamedError extends Error {}',
      // The CommonJS idioms an ES module may spell out itself: the bundle's own helpers must not clash.
      "import { createRequire } from 'node:module';",
      "import { dirname } from 'node:path';",
      'const require = createRequire(import.meta.url);',
      'const __dirname = dirname(fileURLToPath(import.meta.url));',
      "if (!__dirname.endsWith('src') || typeof require('node:fs').readFileSync !== 'function') throw new Error(__dirname);",
      'console.log(JSON.stringify({ own, shared: sharedText(), names: [NamedError.name, sharedErrorName()] }));',
    ].join('\n'),
    'services/svc/src/migrate.ts': "console.log('migrated');",
    'services/svc/data/own.txt': 'own file',
    'packages/shared/src/index.ts': [
      "import { readFileSync } from 'node:fs';",
      "import { fileURLToPath } from 'node:url';",
      "export const sharedText = (): string => readFileSync(fileURLToPath(new URL('../ui/common.txt', import.meta.url)), 'utf8');",
      'class NamedError extends Error {}',
      'export const sharedErrorName = (): string => NamedError.name;',
    ].join('\n'),
    'packages/shared/ui/common.txt': 'shared file',
  };
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return join(root, 'services', 'svc');
}

describe(bundleService.name, () => {
  it('bundles main and migrate, and each module finds its own files from the bundle after the tree moves', async () => {
    const root = join(tempDir('mo-bundle-'), 'a tree #1');
    const dir = fixture(root);
    const result = await bundleService(dir);
    expect(result.outputs).toEqual([join(dir, 'dist', 'main.mjs'), join(dir, 'dist', 'migrate.mjs')]);
    expect(readdirSync(join(dir, 'dist')).some((f) => f.endsWith('.mjs.map'))).toBe(true);

    // As the image copies /out to /app: the whole tree moves, and the bundle runs from elsewhere.
    const moved = join(tempDir('mo-bundle-moved-'), 'app');
    cpSync(root, moved, { recursive: true });
    const run = (entry: string) =>
      execFileSync(process.execPath, [join(moved, 'services', 'svc', 'dist', entry)], { cwd: tempDir('mo-cwd-') });
    expect(JSON.parse(run('main.mjs').toString())).toEqual({
      own: 'own file',
      shared: 'shared file',
      names: ['NamedError', 'NamedError'],
    });
    expect(run('migrate.mjs').toString().trim()).toBe('migrated');
  });

  it('replaces an earlier bundle instead of leaving its files behind', async () => {
    const dir = fixture(tempDir('mo-bundle-'));
    mkdirSync(join(dir, 'dist'));
    writeFileSync(join(dir, 'dist', 'stale-chunk.mjs'), 'throw new Error("stale")');
    await bundleService(dir);
    expect(existsSync(join(dir, 'dist', 'stale-chunk.mjs'))).toBe(false);
  });

  it('refuses a folder that is not a service, and names a module it cannot resolve', async () => {
    const empty = tempDir('mo-bundle-empty-');
    await expect(bundleService(empty)).rejects.toThrow(/not a service folder \(no package\.json\)/);
    writeFileSync(join(empty, 'package.json'), '{}');
    await expect(bundleService(empty)).rejects.toThrow(/has no src\/main\.ts/);

    const dir = fixture(tempDir('mo-bundle-'));
    writeFileSync(join(dir, 'src', 'main.ts'), "import './missing.js';");
    await expect(bundleService(dir)).rejects.toThrow(/Could not resolve "\.\/missing\.js"/);
    expect(existsSync(join(dir, 'dist', 'main.mjs'))).toBe(false);
  });
});

describe(relativeUrl.name, () => {
  it('escapes each path segment, so spaces, # and % survive URL resolution', () => {
    const url = relativeUrl('/t/svc/dist', '/t/pk g/a#b/c%d.ts');
    expect(url).toBe('../../pk%20g/a%23b/c%25d.ts');
    expect(new URL(url, 'file:///t/svc/dist/main.mjs').pathname).toBe('/t/pk%20g/a%23b/c%25d.ts');
  });
});
