/**
 * Production bundles of the services (docs/adr: "Services run as esbuild bundles"). Each
 * service's entry points (src/main.ts, the server; src/migrate.ts, the chart's migration Job)
 * become one ES module each under services/<name>/dist/, with a linked source map, so that a
 * container starts `node --enable-source-maps dist/main.mjs` instead of compiling TypeScript
 * through tsx at every start (less memory and a faster start; see /work/notes/bundle-perf.md).
 *
 * What a bundle still needs from the tree beside it (so the whole service folder ships, as
 * `pnpm deploy` lays it out in the image):
 * - files found relative to a module (`new URL('../drizzle', import.meta.url)`: migrations,
 *   UI pages, scenarios): every `import.meta.url` in a bundled module is replaced with that
 *   module's own original URL, written relative to the bundle, so the lookup lands where it did
 *   under tsx — in the repository and in the image alike, as long as the bundle is built in the
 *   tree it runs in;
 * - the packages in EXTERNAL, loaded from node_modules at run time.
 *
 * Plain Node and esbuild only (no workspace import): the image's build stage runs it before the
 * workspace packages' dependencies exist.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { build, type Loader, type Plugin } from 'esbuild';

/** Entry points bundled when the service has them: src/<name>.ts → dist/<name>.mjs. */
export const ENTRY_POINTS = ['main', 'migrate'] as const;

/**
 * Packages left to Node's resolver at run time. `pg-native`: an optional native addon `pg`
 * loads only when asked to (never here), not installed; bundling would fail to resolve it.
 */
export const EXTERNAL = ['pg-native'];

/** The Node the images run (Dockerfile NODE_IMAGE, package.json engines). */
const TARGET = 'node20.18';

/**
 * CommonJS dependencies inside an ES module bundle still call `require` for Node built-ins and
 * read `__filename`/`__dirname`, which ES modules do not have. The banner provides them under
 * names no module declares (`define` points the free `__dirname`/`__filename` at them), so a
 * bundled module's own `const __dirname = …` stays valid. They name the bundle's folder: a
 * dependency that reads its own files through them (pino's transports, unused here) needs to be
 * in EXTERNAL.
 */
const BANNER = [
  "import { createRequire as __bundleCreateRequire } from 'node:module';",
  "import { fileURLToPath as __bundleFileURLToPath } from 'node:url';",
  'const require = __bundleCreateRequire(import.meta.url);',
  'const __bundleFilename = __bundleFileURLToPath(import.meta.url);',
  "const __bundleDirname = __bundleFileURLToPath(new URL('.', import.meta.url));",
].join('\n');

const LOADERS: Record<string, Loader> = {
  '.ts': 'ts',
  '.mts': 'ts',
  '.cts': 'ts',
  '.js': 'js',
  '.mjs': 'js',
  '.cjs': 'js',
};

/** `path` as a URL reference relative to a module in `fromDir` (POSIX separators, each segment escaped). */
export function relativeUrl(fromDir: string, path: string): string {
  return relative(fromDir, path).split(sep).map(encodeURIComponent).join('/');
}

/**
 * Rewrites `import.meta.url` in every module that reads it to the module's original URL,
 * computed at run time from the bundle's own URL: `new URL('../src/app.ts', import.meta.url).href`.
 */
export function originalImportMetaUrl(outdir: string): Plugin {
  return {
    name: 'original-import-meta-url',
    setup(b) {
      b.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => {
        if (args.namespace !== 'file') return undefined;
        const source = readFileSync(args.path, 'utf8');
        if (!source.includes('import.meta.url')) return undefined;
        const original = `new URL(${JSON.stringify(relativeUrl(outdir, args.path))}, import.meta.url).href`;
        return {
          contents: source.replace(/\bimport\.meta\.url\b/g, original),
          loader: LOADERS[extname(args.path)] ?? 'js',
          resolveDir: dirname(args.path),
        };
      });
    },
  };
}

export interface BundleResult {
  service: string;
  /** The bundles written, absolute (dist/<entry>.mjs). */
  outputs: string[];
  /** Bytes of JavaScript written (source maps not counted). */
  bytes: number;
  ms: number;
}

/**
 * Bundles one service folder (services/<name> in the repository, or the folder `pnpm deploy`
 * wrote in the image) into `<dir>/dist`, or `outdir`, replacing what was there. Tools that run
 * beside each other on one checkout (the tests, the benchmark) each build into a folder of their
 * own, so that one never deletes a bundle another is running. Throws with esbuild's messages
 * when a module cannot be resolved or compiled.
 */
export async function bundleService(serviceDir: string, opts: { outdir?: string } = {}): Promise<BundleResult> {
  const dir = resolve(serviceDir);
  if (!existsSync(join(dir, 'package.json'))) throw new Error(`${dir} is not a service folder (no package.json)`);
  const service = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name ?? dir;
  const entries = ENTRY_POINTS.filter((e) => existsSync(join(dir, 'src', `${e}.ts`)));
  if (!entries.includes('main')) throw new Error(`${dir} has no src/main.ts to bundle`);
  const outdir = opts.outdir ? resolve(opts.outdir) : join(dir, 'dist');
  const started = performance.now();
  rmSync(outdir, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: dir,
    entryPoints: entries.map((e) => ({ in: join(dir, 'src', `${e}.ts`), out: e })),
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: TARGET,
    // Entry points share one copy of the common code instead of a copy each, and what main.ts
    // imports with import() (the service: runEntry, packages/service-kit/src/entry.ts) is a chunk
    // of its own that a primary of worker processes never loads. Chunks sit beside the entry
    // points: the import.meta.url rewrite is relative to that one folder.
    splitting: true,
    chunkNames: '[name]-[hash]',
    sourcemap: 'linked',
    // Stack traces need the mappings, not the sources (which ship beside the bundle anyway).
    sourcesContent: false,
    // Error classes and components are told apart by `.name` (logs, the error middleware).
    keepNames: true,
    // The compiler options that change emitted code, as tsconfig.base.json sets them, given here
    // so the bundle is the same whether a tsconfig.json is found (the repository) or not (the
    // folder `pnpm deploy` writes in the image).
    tsconfigRaw: { compilerOptions: { target: 'ES2023', useDefineForClassFields: true, verbatimModuleSyntax: true } },
    external: EXTERNAL,
    banner: { js: BANNER },
    define: { __dirname: '__bundleDirname', __filename: '__bundleFilename' },
    plugins: [originalImportMetaUrl(outdir)],
    metafile: true,
    logLevel: 'silent',
  });
  const outputs = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith('.mjs'));
  return {
    service,
    outputs: entries.map((e) => join(outdir, `${e}.mjs`)),
    bytes: outputs.reduce((sum, [, o]) => sum + o.bytes, 0),
    ms: Math.round(performance.now() - started),
  };
}

/** Every folder under `<root>/services` with a src/main.ts, by name. */
export function serviceDirs(root: string): string[] {
  const services = join(root, 'services');
  return readdirSync(services)
    .sort()
    .filter((name) => existsSync(join(services, name, 'src', 'main.ts')))
    .map((name) => join(services, name));
}
