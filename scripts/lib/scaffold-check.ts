import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readlinkSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** The name the proof generates; it never lands in the repository itself. */
export const PROBE_SERVICE = 'demo-probe';

export interface ScaffoldCheckResult {
  passed: number;
  failed: number;
  failures: string[];
}

function run(
  cwd: string,
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (error) => resolve({ code: 1, output: `${output}\n${error.message}` }));
    child.on('exit', (code) => resolve({ code: code ?? 1, output }));
  });
}

/**
 * Proves that adding a service is one command and no hand edit: copies the repository as it is
 * (tracked and untracked, not ignored) into a scratch folder, runs `npm run new-service --
 * demo-probe` there, and runs on the result what `npm test` runs on a real service — lint,
 * typecheck, boundaries, contracts, chart schemas, the generated integration test against this
 * run's PostgreSQL and Kafka, its production bundle started as the image starts it, and the
 * chart and policy checks. The scratch folder is removed.
 */
export async function checkScaffold(opts: {
  repoRoot: string;
  databaseUrl: string;
  kafkaBrokers: string;
  log: (line: string) => void;
}): Promise<ScaffoldCheckResult> {
  const result: ScaffoldCheckResult = { passed: 0, failed: 0, failures: [] };
  const scratch = mkdtempSync(join(tmpdir(), 'mo-scaffold-'));
  const env = { ...process.env, CI: 'true', DATABASE_URL: opts.databaseUrl, KAFKA_BROKERS: opts.kafkaBrokers };
  const bin = (tool: string) => join(scratch, 'node_modules', '.bin', tool);
  const check = async (name: string, cmd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) => {
    const { code, output } = await run(scratch, cmd, args, { ...env, ...extraEnv });
    if (code === 0) {
      result.passed += 1;
      opts.log(`\u2714 ${name}`);
    } else {
      result.failed += 1;
      result.failures.push(`scaffold: ${name} failed (exit ${code}):\n${output.slice(-4000)}`);
      opts.log(`\u2716 ${name}`);
    }
    return code === 0;
  };
  try {
    const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: opts.repoRoot,
      encoding: 'utf8',
    });
    if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
    for (const file of listed.stdout.split('\0').filter(Boolean)) {
      const from = join(opts.repoRoot, file);
      // Deleted in the working tree, or the tools folder linked below (a link git does not ignore).
      if (!existsSync(from) || file === '.cache' || file.startsWith('.cache/')) continue;
      mkdirSync(dirname(join(scratch, file)), { recursive: true });
      // Charts link their dependencies (charts/<svc>/charts/common → ../../common): links stay links.
      if (lstatSync(from).isSymbolicLink()) symlinkSync(readlinkSync(from), join(scratch, file));
      else copyFileSync(from, join(scratch, file));
    }
    // The pinned tools (pnpm, helm, conftest, opa) and Kafka jars are shared, not rebuilt.
    symlinkSync(join(opts.repoRoot, '.cache'), join(scratch, '.cache'));
    const pnpm = join(opts.repoRoot, '.cache', 'tools', 'node_modules', '.bin', 'pnpm');
    opts.log(`scratch copy in ${scratch}`);
    if (
      !(await check('install the copy (pnpm install --offline)', pnpm, ['install', '--offline', '--frozen-lockfile']))
    ) {
      return result;
    }
    if (
      !(await check(`npm run new-service -- ${PROBE_SERVICE}`, bin('tsx'), [
        join('scripts', 'new-service.ts'),
        PROBE_SERVICE,
      ]))
    ) {
      return result;
    }
    await check('lint and format (biome)', bin('biome'), ['check', '.']);
    await check('typecheck (tsc)', bin('tsc'), ['-p', 'tsconfig.json']);
    await check('module boundaries', bin('tsx'), [join('scripts', 'check-boundaries.ts')]);
    await check('API and event contracts up to date', bin('tsx'), [join('scripts', 'contracts.ts'), '--check']);
    await check('chart values schemas up to date', bin('tsx'), [join('scripts', 'chart-schemas.ts'), '--check']);
    await check(
      `${PROBE_SERVICE}'s integration test (migrates, starts, is ready, consumes, checks roles)`,
      bin('vitest'),
      ['run', '--project', 'integration', join('services', PROBE_SERVICE)],
    );
    await check(
      `${PROBE_SERVICE}'s production bundle (built, migrates and becomes ready as the image runs it)`,
      bin('vitest'),
      ['run', '--project', 'integration', join('test', 'bundles.test.ts')],
      { BUNDLE_TEST_SERVICES: PROBE_SERVICE },
    );
    await check('charts and policies, its chart included', bin('tsx'), [join('scripts', 'charts-check.ts')]);
  } catch (error) {
    result.failed += 1;
    result.failures.push(`scaffold: ${(error as Error).message}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return result;
}
