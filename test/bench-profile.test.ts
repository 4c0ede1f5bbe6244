import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { summariseCpuProfile } from '../bench/lib/profile.js';

// Services run as esbuild bundles: a CPU profile of one names only the bundle's chunk. The
// summary maps each frame back through the bundle's source map, so that functions and workspace
// folders are named as in the sources.

const root = mkdtempSync(join(tmpdir(), 'bench-profile-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Frame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

/**
 * Writes `<dir>/<name>.cpuprofile`: a root with `frames` as its children (ids 2, 3, …) and the
 * samples given by frame index, each lasting 1 ms (until the next sample; the last lasts 0).
 */
function writeProfile(dir: string, name: string, frames: Frame[], samples: number[]): string {
  const profile = {
    nodes: [
      {
        id: 1,
        callFrame: { functionName: '(root)', url: '', lineNumber: -1, columnNumber: -1 },
        children: frames.map((_, i) => i + 2),
      },
      ...frames.map((callFrame, i) => ({ id: i + 2, callFrame })),
    ],
    samples: samples.map((i) => i + 2),
    timeDeltas: samples.map((_, i) => (i === 0 ? 0 : 1000)),
    startTime: 0,
    endTime: samples.length * 1000,
  };
  const file = join(dir, `${name}.cpuprofile`);
  writeFileSync(file, JSON.stringify(profile));
  return file;
}

/** A bundle of services/demo with `busyWork` in it, a profile spending every sample there. */
async function bundledProfile(withMap: boolean): Promise<string> {
  const dir = mkdtempSync(join(root, 'case-'));
  mkdirSync(join(dir, 'services/demo/src'), { recursive: true });
  writeFileSync(
    join(dir, 'services/demo/src/work.ts'),
    [
      'export function busyWork(n: number): number {',
      '  let total = 0;',
      '  for (let i = 0; i < n; i += 1) total += i % 7;',
      '  return total;',
      '}',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'services/demo/src/main.ts'),
    "import { busyWork } from './work.js';\nconsole.log(busyWork(Number(process.argv[2] ?? 10)));\n",
  );
  const outfile = join(dir, 'dist/main.mjs');
  await build({
    entryPoints: [join(dir, 'services/demo/src/main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'node',
    outfile,
    sourcemap: withMap,
    logLevel: 'silent',
  });
  // Where V8 would place the function: its line and column in the bundle (0-based).
  const lines = readFileSync(outfile, 'utf8').split('\n');
  const lineNumber = lines.findIndex((l) => l.includes('function busyWork'));
  expect(lineNumber).toBeGreaterThanOrEqual(0);
  const columnNumber = (lines[lineNumber] ?? '').indexOf('function busyWork');
  const url = pathToFileURL(outfile).href;
  writeProfile(dir, 'demo', [{ functionName: 'busyWork', url, lineNumber, columnNumber }], [0, 0, 0, 0]);
  return dir;
}

describe(summariseCpuProfile.name, () => {
  it('names the source a bundled function came from, through the source map beside the bundle', async () => {
    const dir = await bundledProfile(true);
    const summary = summariseCpuProfile(join(dir, 'demo.cpuprofile'), dir);
    expect(summary.topFunctions[0]?.name).toBe('busyWork services/demo/src/work.ts');
    expect(summary.byOrigin[0]?.name).toBe('services/demo');
    expect(summary.byComponent[0]?.name).toBe('services/demo (route and service code)');
  });

  it("names a package by its pnpm store folder, even where the package's own map points outside it", () => {
    const dir = mkdtempSync(join(root, 'store-'));
    const store = `${dir}/node_modules/.pnpm/drizzle-orm@0.45.4_pg@8.23.1/node_modules`;
    const frame = (functionName: string, path: string): Frame => ({
      functionName,
      url: pathToFileURL(path).href,
      lineNumber: 3,
      columnNumber: 0,
    });
    // 2 ms in drizzle-orm, 1 ms in @opentelemetry/api (the last sample lasts 0).
    const file = writeProfile(
      dir,
      'store',
      [
        frame('build', `${store}/src/pg-core/columns/text.ts`),
        frame(
          'trace',
          `${dir}/node_modules/.pnpm/@opentelemetry+api@1.9.0/node_modules/@opentelemetry/api/build/index.js`,
        ),
      ],
      [0, 0, 1, 0],
    );
    const summary = summariseCpuProfile(file, dir);
    expect(summary.byOrigin.map((o) => [o.name, o.ms])).toEqual([
      ['drizzle-orm', 2],
      ['@opentelemetry/api', 1],
    ]);
    expect(summary.topFunctions[0]?.name).toBe('build drizzle-orm: src/pg-core/columns/text.ts');
  });

  it('keeps the bundle as the place when there is no map', async () => {
    const dir = await bundledProfile(false);
    const summary = summariseCpuProfile(join(dir, 'demo.cpuprofile'), dir);
    expect(summary.topFunctions[0]?.name).toMatch(/^busyWork dist\/main\.mjs:\d+$/);
    expect(summary.byOrigin[0]?.name).toBe('dist/main.mjs');
  });
});
