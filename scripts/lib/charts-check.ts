// Chart and policy checks: what `npm test` runs for the deployment side.
//
//   1. structure: the charts' vendored dependencies (symlinks) are in place, values.yaml and
//      values.schema.json document every key;
//   2. `helm lint --strict` for every chart and scenario (ci/*-values.yaml, examples/*-values.yaml);
//   3. `helm template` for every application chart and scenario, then for each render:
//      - Kubernetes API schema validation, offline (kubernetes-models), plus an unknown-field
//        check (the models' validators accept unknown fields; the API server would drop them),
//        with a self-test proving that check can fail;
//      - escalation's service catalogue, loaded with the service's own parser;
//      - each service's Deployment environment, parsed with the service's own config schema;
//      - the Ingress paths against the services' descriptors (`publicPaths`), and no path routed
//        to two services on one host;
//      - `conftest test --combine` with policies/ (every rule must pass);
//   4. each service chart's Ingress (forced on) routes exactly its descriptor's `publicPaths`, and
//      no two descriptors claim the same path (what the development gateway routes by);
//   5. values files that must be refused (ci/invalid/*-values.yaml) are refused, with the
//      message their `# expect:` lines name;
//   6. the policies' own unit tests (`conftest verify`), `opa check --strict` and `opa fmt`;
//   7. the deliberately bad manifests in policies/examples/bad are rejected, by every rule and
//      with every message their `# expect:` lines name.
//
// Charts are found by listing charts/ (lib/charts/discover.ts), so a new chart is linted,
// rendered, validated and policy-checked with no edit here. That each values.schema.json is
// generated from its sources is a separate step of npm test (scripts/chart-schemas.ts --check).
// Each item that can fail on its own counts as one check. Renders are kept under
// .cache/charts-check/ for inspection.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { discoverCharts } from './charts/discover.js';
import { type KubeObject, KubernetesValidator, parseManifests } from './charts/kubernetes.js';
import { firstError, lastLine, rel, tail } from './charts/output.js';
import { conftest, failureLines, policiesDir, policyIds } from './charts/policies.js';
import { publicPathProblems } from './charts/public-paths.js';
import { serviceConfigProblems } from './charts/service-config.js';
import { dependencyProblems, documentationProblems } from './charts/structure.js';
import { ensureTool, type RunResult, repoRoot, run } from './tools.js';

export interface ChartCheckSummary {
  passed: number;
  failed: number;
  failures: string[];
}

type Log = (line: string) => void;

const renderDir = join(repoRoot, '.cache', 'charts-check');
const releaseName = 'micro-oncall';
const releaseNamespace = 'oncall';

/** Runs every chart and policy check; never throws for a failed check, only counts it. */
export async function runChartChecks(log: Log): Promise<ChartCheckSummary> {
  const summary: ChartCheckSummary = { passed: 0, failed: 0, failures: [] };
  const check = async (name: string, body: () => Promise<string[] | undefined>): Promise<boolean> => {
    let problems: string[];
    try {
      problems = (await body()) ?? [];
    } catch (error) {
      problems = [(error as Error).message];
    }
    if (problems.length === 0) {
      summary.passed++;
      log(`  \u2714 ${name}`);
      return true;
    }
    summary.failed++;
    summary.failures.push(`${name}: ${problems.join('; ')}`);
    log(`  \u2716 ${name}`);
    for (const problem of problems.slice(0, 40)) log(`      ${problem.replace(/\n/g, '\n      ')}`);
    if (problems.length > 40) log(`      ... and ${problems.length - 40} more`);
    return false;
  };

  let tools: { helm: string; conftest: string; opa: string };
  try {
    tools = {
      helm: await ensureTool('helm', log),
      conftest: await ensureTool('conftest', log),
      opa: await ensureTool('opa', log),
    };
  } catch (error) {
    summary.failed++;
    summary.failures.push(`tools: ${(error as Error).message}`);
    log(`  \u2716 tools: ${(error as Error).message}`);
    return summary;
  }
  const helm = helmRunner(tools.helm);
  mkdirSync(renderDir, { recursive: true });

  const charts = discoverCharts();
  log(`charts: ${charts.map((c) => c.name).join(', ')}`);

  log('structure');
  for (const chart of charts.filter((c) => c.dependencies.length > 0)) {
    await check(`${chart.name}: dependencies vendored as links`, async () => dependencyProblems(chart));
  }

  for (const chart of charts.filter((c) => !c.library)) {
    await check(`${chart.name}: values.yaml and values.schema.json document every key`, async () =>
      documentationProblems(chart),
    );
  }

  log('helm lint --strict');
  for (const chart of charts) {
    const scenarios = chart.library ? [undefined] : chart.scenarios;
    for (const scenario of scenarios) {
      const label = scenario ? `${chart.name} (${scenario.name})` : chart.name;
      await check(`lint ${label}`, async () => {
        const args = ['lint', '--strict', chart.dir, ...(scenario ? ['-f', scenario.file] : [])];
        const result = await helm(args);
        return result.code === 0 ? [] : [tail(result.output)];
      });
    }
  }

  log('render, Kubernetes schemas, policies');
  const validator = new KubernetesValidator();
  let firstRender: string | undefined;
  for (const chart of charts.filter((c) => !c.library)) {
    for (const scenario of chart.scenarios) {
      const label = `${chart.name} (${scenario.name})`;
      const file = join(renderDir, `${chart.name}-${scenario.name}.yaml`);
      const rendered = await check(`template ${label}`, async () => {
        const result = await helm(['template', releaseName, chart.dir, '-n', releaseNamespace, '-f', scenario.file]);
        if (result.code !== 0) return [tail(result.output)];
        writeFileSync(file, result.stdout);
        firstRender ??= file;
        return [];
      });
      if (!rendered) continue;
      await check(`kubernetes schemas ${label}`, async () => {
        const { objects, problems } = parseManifests(readFileSync(file, 'utf8'));
        if (objects.length === 0) problems.push('the render contains no objects');
        for (const obj of objects) problems.push(...(await validator.validate(obj)));
        return problems;
      });
      const catalogues = serviceCatalogues(readFileSync(file, 'utf8'));
      if (catalogues.length > 0) {
        await check(`escalation loads the catalogue ${label}`, async () => {
          // The catalogue is checked by the service at start-up; do it here so that a chart
          // (or an example values file) can never ship a catalogue the service would refuse.
          // Through the service's public entry, loaded only when a render has a catalogue.
          const { ServiceCatalogue } = await import('../../services/escalation/src/index.js');
          const problems: string[] = [];
          for (const { name, text } of catalogues) {
            try {
              ServiceCatalogue.fromYaml(text, `ConfigMap/${name} services.yml`);
            } catch (error) {
              problems.push((error as Error).message);
            }
          }
          return problems;
        });
      }
      await check(`services accept the rendered configuration ${label}`, async () => {
        // The environment of each service's Deployment, parsed with the service's own config
        // schema as in production: a chart must not render pods that exit on start-up.
        const { listServices } = await import('./services.js');
        const services = (await listServices()).map((s) => s.service);
        return serviceConfigProblems(parseManifests(readFileSync(file, 'utf8')).objects, services);
      });
      const objects = parseManifests(readFileSync(file, 'utf8')).objects;
      if (objects.some((o) => o.kind === 'Ingress')) {
        await check(`Ingress paths are the services' public paths ${label}`, async () => {
          const { listServices } = await import('./services.js');
          return publicPathProblems(
            objects,
            (await listServices()).map((s) => s.service),
          );
        });
      }
      await check(`policies ${label}`, async () => {
        const result = await conftest(tools.conftest, [file]);
        return result.failures.length === 0 && result.code === 0 ? [] : failureLines(result);
      });
    }
  }

  await check('kubernetes validator catches a misspelt field (self-test)', async () => {
    // The schema checks above are only worth something if they can fail: misspell one field
    // deep in a rendered Deployment and expect the unknown-field walk to report it.
    const sample = parseManifests(readFileSync(firstRender ?? '', 'utf8')).objects.find((o) => o.kind === 'Deployment');
    if (!sample) return ['no rendered Deployment to test with'];
    const broken = structuredClone(sample) as {
      spec: { template: { spec: { containers: Record<string, unknown>[] } } };
    };
    const container = broken.spec.template.spec.containers[0];
    if (!container) return ['the rendered Deployment has no container'];
    container.readinesProbe = container.readinessProbe;
    const problems = await validator.validate(broken as unknown as KubeObject);
    return problems.some((p) => p.includes('containers[0].readinesProbe'))
      ? []
      : ['a Deployment with containers[0].readinesProbe passed validation'];
  });

  log("public paths: each service chart's Ingress against its descriptor");
  {
    const { listServices } = await import('./services.js');
    const { routeConflicts } = await import('./gateway.js');
    const services = await listServices();
    await check('no two services claim the same public path (descriptors)', async () =>
      routeConflicts(
        services.flatMap(({ name, service }) => service.publicPaths.map((p) => ({ ...p, service: name, target: '' }))),
      ),
    );
    for (const chart of charts.filter((c) => !c.library && services.some((s) => s.name === c.name))) {
      await check(`${chart.name}: ingressPaths are its descriptor's publicPaths`, async () => {
        // Ingress forced on over the default scenario: every chart is compared, whatever its scenarios enable.
        const base = chart.scenarios.find((s) => s.name === 'default');
        const args = ['template', releaseName, chart.dir, '-n', releaseNamespace];
        if (base) args.push('-f', base.file);
        args.push('--set', 'ingress.enabled=true');
        const result = await helm(args);
        if (result.code !== 0) return [tail(result.output)];
        const { objects } = parseManifests(result.stdout);
        if (!objects.some((o) => o.kind === 'Ingress')) return ['no Ingress rendered with ingress.enabled=true'];
        return publicPathProblems(
          objects,
          services.map((s) => s.service),
        );
      });
    }
  }

  log('values the schemas and templates must refuse');
  for (const chart of charts) {
    for (const invalid of chart.invalid) {
      await check(`${chart.name} refuses ${invalid.name}`, async () => {
        const base = chart.scenarios.find((s) => s.name === 'default');
        const args = ['template', releaseName, chart.dir, '-n', releaseNamespace];
        if (base) args.push('-f', base.file);
        args.push('-f', invalid.file);
        const result = await helm(args);
        if (result.code === 0) return [`helm template accepted ${rel(invalid.file)}`];
        const missing = invalid.expect.filter((e) => !result.output.includes(e));
        if (missing.length > 0) {
          return [`refused, but not with ${missing.map((m) => JSON.stringify(m)).join(', ')}:`, tail(result.output)];
        }
        log(`      ${firstError(result.output)}`);
        return [];
      });
    }
  }

  log('policies');
  await check('conftest verify (policy unit tests)', async () => {
    const result = await run(tools.conftest, ['verify', '--no-color', '-p', policiesDir]);
    if (result.code !== 0) return [tail(result.output)];
    log(`      ${lastLine(result.output)}`);
    return [];
  });
  await check('opa check --strict and opa fmt', async () => {
    const problems: string[] = [];
    const checked = await run(tools.opa, ['check', '--strict', policiesDir]);
    if (checked.code !== 0) problems.push(tail(checked.output));
    const formatted = await run(tools.opa, ['fmt', '--list', policiesDir]);
    if (formatted.code !== 0) problems.push(tail(formatted.output));
    for (const f of formatted.stdout.split('\n').filter(Boolean)) {
      problems.push(`${rel(f)} is not formatted: run ${rel(tools.opa)} fmt -w policies`);
    }
    return problems;
  });
  await check('policies reject policies/examples/bad (every rule)', async () => {
    const bad = join(policiesDir, 'examples', 'bad');
    const result = await conftest(tools.conftest, [bad]);
    if (result.failures.length === 0) return ['conftest accepted the deliberately bad manifests'];
    for (const line of result.failures) log(`      ${line}`);
    const ruleIds = policyIds();
    const seen = new Set(result.failures.flatMap((f) => f.match(/MO-K8S-\d{3}/g) ?? []));
    const silent = ruleIds.filter((id) => !seen.has(id));
    // `# expect: <text>` lines in the bad manifests: cases of a rule that must each fire.
    const expected = readdirSync(bad)
      .filter((f) => /\.ya?ml$/.test(f))
      .flatMap((f) =>
        [...readFileSync(join(bad, f), 'utf8').matchAll(/^# expect: (.+)$/gm)].map((m) => m[1]?.trim() ?? ''),
      );
    const unmet = expected.filter((e) => !result.failures.some((f) => f.includes(e)));
    return [
      ...silent.map((id) => `${id} did not fire on ${rel(bad)}`),
      ...unmet.map((e) => `no message on ${rel(bad)} contains ${JSON.stringify(e)} (its # expect: line)`),
    ];
  });

  return summary;
}

function helmRunner(helmBin: string) {
  const helmHome = join(repoRoot, '.cache', 'helm');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HELM_CACHE_HOME: join(helmHome, 'cache'),
    HELM_CONFIG_HOME: join(helmHome, 'config'),
    HELM_DATA_HOME: join(helmHome, 'data'),
  };
  return async (args: string[]): Promise<RunResult> => {
    const result = await run(helmBin, args, { env, timeoutMs: 60_000 });
    // Helm notes every vendored symlink it follows; that is expected here (see dependencyProblems).
    const quiet = (text: string) =>
      text
        .split('\n')
        .filter((line) => !line.includes('found symbolic link in path'))
        .join('\n');
    return { ...result, stderr: quiet(result.stderr), output: quiet(result.output) };
  };
}

/** The services.yml documents of the escalation catalogue ConfigMaps in a render. */
function serviceCatalogues(text: string): { name: string; text: string }[] {
  return parseManifests(text)
    .objects.filter((o) => o.kind === 'ConfigMap')
    .map((o) => o as KubeObject & { data?: Record<string, string>; metadata?: { labels?: Record<string, string> } })
    .filter((o) => o.metadata?.labels?.['app.kubernetes.io/name'] === 'escalation' && o.data?.['services.yml'])
    .map((o) => ({ name: String(o.metadata?.name), text: o.data?.['services.yml'] ?? '' }));
}
