/**
 * `npm test`: every check the project has, against a real PostgreSQL and Kafka started here,
 * ending with a pass/fail summary. Steps run in order and all of them run even when an earlier
 * one fails, so one run shows everything that is wrong.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, type Stack, startStack } from '@micro-oncall/test-kit';
import { elapsed, say } from './lib/console.js';
import { checkScaffold, PROBE_SERVICE } from './lib/scaffold-check.js';
import { ensureTool, toolPins } from './lib/tools.js';

interface StepResult {
  name: string;
  passed: number;
  failed: number;
  seconds: number;
  note?: string;
}

const results: StepResult[] = [];
const bin = (name: string) => join(REPO_ROOT, 'node_modules', '.bin', name);

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: REPO_ROOT, stdio: 'inherit', env });
    child.on('exit', (code) => resolve(code ?? 1));
    child.on('error', (error) => {
      say.fail(`${cmd} could not start: ${error.message}`);
      resolve(1);
    });
  });
}

async function step(name: string, fn: () => Promise<Omit<StepResult, 'name' | 'seconds'>>) {
  const start = Date.now();
  say.step(name);
  let result: Omit<StepResult, 'name' | 'seconds'>;
  try {
    result = await fn();
  } catch (error) {
    say.fail(`${name}: ${(error as Error).message}`);
    result = { passed: 0, failed: 1 };
  }
  results.push({ name, seconds: (Date.now() - start) / 1000, ...result });
  (result.failed > 0 ? say.fail : say.ok)(
    `${name}: ${result.passed} passed, ${result.failed} failed (${elapsed(start)})`,
  );
}

const single = (code: number) => ({ passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1 });

let stack: Stack | undefined;
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    say.fail(`interrupted: stopping what this run started`);
    void (stack?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

const started = Date.now();
await step('lint and format (biome)', async () => single(await run(bin('biome'), ['check', '.'])));
await step('module boundaries (services, packages, scripts, bench)', async () =>
  single(await run(bin('tsx'), [join('scripts', 'check-boundaries.ts')])),
);
await step('typecheck (tsc: services and packages, then every ui/ folder against the DOM)', async () => {
  let code = await run(bin('tsc'), ['-p', 'tsconfig.json']);
  // The pages' plain JS (services/*/ui, packages/web-ui/ui), each folder with its own tsconfig.json.
  for (const area of ['packages', 'services']) {
    for (const name of readdirSync(join(REPO_ROOT, area)).sort()) {
      const ui = join(area, name, 'ui');
      if (code === 0 && existsSync(join(REPO_ROOT, ui, 'tsconfig.json'))) code = await run(bin('tsc'), ['-p', ui]);
    }
  }
  return single(code);
});

await step('API and event contracts are up to date (docs/api, docs/events)', async () =>
  single(await run(bin('tsx'), [join('scripts', 'contracts.ts'), '--check'])),
);
await step('chart values schemas are up to date (charts/*/values.schema.json)', async () =>
  single(await run(bin('tsx'), [join('scripts', 'chart-schemas.ts'), '--check'])),
);

// Built here, before vitest, so that a cold run shows each build's progress once and no test
// spends its hook timeout on a Go build: the tests that start Alertmanager (webhook-ingest,
// escalation) or OPA (app-registry, the newcomer's path) then find them cached. Run alone, those
// tests build them on first use.
await step(
  `Go tools the integration tests run: Alertmanager ${toolPins.alertmanager.version} and OPA ${toolPins.opa.version} (built from source once, ~2 min each)`,
  async () => {
    const outcome = { passed: 0, failed: 0 };
    for (const tool of ['alertmanager', 'opa'] as const) {
      try {
        say.info(`${tool}: ${await ensureTool(tool, say.info)}`);
        outcome.passed += 1;
      } catch (error) {
        say.fail(`${tool}: ${(error as Error).message}`);
        outcome.failed += 1;
      }
    }
    return outcome;
  },
);

await step('start PostgreSQL and Kafka', async () => {
  stack = await startStack({ mode: 'test', log: say.info });
  say.info(`PostgreSQL ${stack.databaseUrl.replace(/\/\/[^@]*@/, '//')}  Kafka ${stack.kafkaBrokers}`);
  return { passed: 1, failed: 0 };
});

if (stack) {
  const reportDir = join(REPO_ROOT, '.dev', 'test');
  mkdirSync(reportDir, { recursive: true });
  const report = join(reportDir, 'vitest-report.json');
  await step('unit and integration tests (vitest)', async () => {
    const code = await run(
      bin('vitest'),
      ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`],
      {
        ...process.env,
        DATABASE_URL: stack!.databaseUrl,
        KAFKA_BROKERS: stack!.kafkaBrokers,
        CI: process.env.CI ?? '',
      },
    );
    if (!existsSync(report)) return single(code === 0 ? 1 : code);
    const json = JSON.parse(readFileSync(report, 'utf8')) as {
      numPassedTests: number;
      numFailedTests: number;
      numPendingTests: number;
      numTodoTests: number;
      success: boolean;
    };
    const skipped = json.numPendingTests + json.numTodoTests;
    return {
      passed: json.numPassedTests,
      // A skipped test is a defect here, and a run that failed outside any test (a suite that
      // could not load) must not pass on its test count.
      failed: json.numFailedTests + skipped + (code !== 0 && json.numFailedTests === 0 ? 1 : 0),
    };
  });
}

const chartChecks = join(REPO_ROOT, 'scripts', 'lib', 'charts-check.ts');
if (existsSync(chartChecks)) {
  await step('charts and policies (helm, kubernetes schemas, conftest)', async () => {
    const { runChartChecks } = (await import(chartChecks)) as {
      runChartChecks: (log: (line: string) => void) => Promise<{ passed: number; failed: number; failures: string[] }>;
    };
    const outcome = await runChartChecks(say.info);
    for (const failure of outcome.failures) say.fail(failure);
    return { passed: outcome.passed, failed: outcome.failed };
  });
}

if (stack) {
  const running = stack;
  await step(
    `a new service from the scaffold passes every check (npm run new-service -- ${PROBE_SERVICE}, scratch copy)`,
    async () => {
      const outcome = await checkScaffold({
        repoRoot: REPO_ROOT,
        databaseUrl: running.databaseUrl,
        kafkaBrokers: running.kafkaBrokers,
        log: say.info,
      });
      for (const failure of outcome.failures) say.fail(failure);
      return { passed: outcome.passed, failed: outcome.failed };
    },
  );
}

await stack?.stop();

const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
process.stdout.write('\nSummary\n');
for (const r of results) {
  process.stdout.write(
    `  ${r.failed > 0 ? '\u2716' : '\u2714'} ${r.name.padEnd(76)} ${String(r.passed).padStart(4)} passed ${String(r.failed).padStart(3)} failed  ${r.seconds.toFixed(1)} s\n`,
  );
}
process.stdout.write(`\nTotal time ${elapsed(started)}\n`);
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(failed > 0 ? 1 : 0);
