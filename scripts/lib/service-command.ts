/**
 * How a service's entry point is started as its own Node process: as production starts it (the
 * bundle, `node dist/<entry>.mjs`, scripts/lib/bundle.ts) or from its TypeScript source under
 * tsx (`node --import tsx src/<entry>.ts`, run with the repository as the working folder, where
 * `tsx` resolves), to compare the two.
 * MO_SERVICE_RUNNER=tsx|bundle picks one for the tools that start services as processes (the
 * benchmark); the default is the bundle.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { type BundleResult, bundleService } from './bundle.js';

export const SERVICE_RUNNERS = ['bundle', 'tsx'] as const;
export type ServiceRunner = (typeof SERVICE_RUNNERS)[number];
export type ServiceEntry = 'main' | 'migrate';

/** MO_SERVICE_RUNNER, checked: unset or empty means the bundle. */
export function serviceRunnerFromEnv(env: NodeJS.ProcessEnv = process.env): ServiceRunner {
  const value = env.MO_SERVICE_RUNNER;
  if (value === undefined || value === '') return 'bundle';
  if (!(SERVICE_RUNNERS as readonly string[]).includes(value)) {
    throw new Error(`MO_SERVICE_RUNNER must be one of ${SERVICE_RUNNERS.join(', ')}, not ${JSON.stringify(value)}`);
  }
  return value as ServiceRunner;
}

/**
 * Node's arguments (before any of the caller's own) that run `entry` of the service in
 * `serviceDir`: from the bundle in `bundleDir` (default `<serviceDir>/dist`) or under tsx.
 */
export function serviceNodeArgs(
  serviceDir: string,
  entry: ServiceEntry,
  runner: ServiceRunner,
  bundleDir = join(serviceDir, 'dist'),
): string[] {
  return runner === 'bundle'
    ? [join(bundleDir, `${entry}.mjs`)]
    : ['--import', 'tsx', join(serviceDir, 'src', `${entry}.ts`)];
}

/**
 * The V8 heap flags the service's Helm chart starts it with (`node.maxOldSpaceSizeMb`,
 * `node.maxSemiSpaceSizeMb` in `charts/<service>/values.yaml`; 0 or absent: Node's default), so
 * that what starts a service as production does (the benchmark) measures the same process.
 */
export function chartNodeArgs(serviceDir: string, chartsDir = join(REPO, 'charts')): string[] {
  const values = join(chartsDir, basename(serviceDir), 'values.yaml');
  if (!existsSync(values)) return [];
  const node = (parseYaml(readFileSync(values, 'utf8')) as { node?: Record<string, unknown> } | null)?.node ?? {};
  const flag = (key: string, name: string): string[] => {
    const value = node[key];
    if (value === undefined || value === 0) return [];
    if (!Number.isSafeInteger(value) || (value as number) < 0) {
      throw new Error(
        `${values}: node.${key} must be a whole number of MiB (0 = Node's default), not ${JSON.stringify(value)}`,
      );
    }
    return [`--${name}=${value}`];
  };
  return [...flag('maxOldSpaceSizeMb', 'max-old-space-size'), ...flag('maxSemiSpaceSizeMb', 'max-semi-space-size')];
}

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUNDLES = join(REPO, '.dev', 'bundles');

/** Where this process's bundle of a service goes: `.dev/bundles/run-<pid>/<service>`. */
export function processBundleDir(serviceDir: string): string {
  return join(BUNDLES, `run-${process.pid}`, basename(serviceDir));
}

/** Removes the bundle folders of processes that are gone. */
function removeStaleBundles(): void {
  let runs: string[];
  try {
    runs = readdirSync(BUNDLES);
  } catch {
    return;
  }
  for (const run of runs) {
    const pid = Number(/^run-(\d+)$/.exec(run)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch {
      rmSync(join(BUNDLES, run), { recursive: true, force: true });
    }
  }
}

const built = new Map<string, Promise<BundleResult>>();

/**
 * Bundles the service once per process (the first caller builds, later ones wait for it) into
 * `processBundleDir`, so a run never starts a bundle older than the sources it measures, nor one
 * that a test run beside it is rebuilding.
 */
export function bundleOnce(serviceDir: string): Promise<BundleResult> {
  let bundle = built.get(serviceDir);
  if (!bundle) {
    if (built.size === 0) removeStaleBundles();
    bundle = bundleService(serviceDir, { outdir: processBundleDir(serviceDir) });
    built.set(serviceDir, bundle);
  }
  return bundle;
}
