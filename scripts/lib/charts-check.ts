// Chart and policy checks: what `npm test` runs for the deployment side.
//
//   1. structure: the charts' vendored dependencies (symlinks) are in place, the service
//      schemas carry the shared block unchanged, values.yaml and values.schema.json document
//      every key;
//   2. `helm lint --strict` for every chart and scenario (ci/*-values.yaml, examples/*-values.yaml);
//   3. `helm template` for every application chart and scenario, then for each render:
//      - Kubernetes API schema validation, offline (kubernetes-models), plus an unknown-field
//        check (the models' validators accept unknown fields; the API server would drop them),
//        with a self-test proving that check can fail;
//      - escalation's service catalogue, loaded with the service's own parser;
//      - `conftest test --combine` with policies/ (every rule must pass);
//   4. values files that must be refused (ci/invalid/*-values.yaml) are refused, with the
//      message their `# expect:` lines name;
//   5. the policies' own unit tests (`conftest verify`), `opa check --strict` and `opa fmt`;
//   6. the deliberately bad manifests in policies/examples/bad are rejected, by every rule.
//
// Each item that can fail on its own counts as one check. Renders are kept under
// .cache/charts-check/ for inspection.
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Ajv } from 'ajv';
import { parse, parseAllDocuments } from 'yaml';
import { ensureTool, type RunResult, repoRoot, run } from './tools.js';

export interface ChartCheckSummary {
  passed: number;
  failed: number;
  failures: string[];
}

type Log = (line: string) => void;

const chartsDir = join(repoRoot, 'charts');
const policiesDir = join(repoRoot, 'policies');
const renderDir = join(repoRoot, '.cache', 'charts-check');
const releaseName = 'micro-oncall';
const releaseNamespace = 'oncall';
const catalogueModule = join(repoRoot, 'services', 'escalation', 'src', 'catalogue.ts');

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
  await check('service charts carry the shared values schema', async () => sharedSchemaProblems(charts));

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
      if (catalogues.length > 0 && existsSync(catalogueModule)) {
        await check(`escalation loads the catalogue ${label}`, async () => {
          // The catalogue is checked by the service at start-up; do it here so that a chart
          // (or an example values file) can never ship a catalogue the service would refuse.
          const { ServiceCatalogue } = (await import(pathToFileURL(catalogueModule).href)) as {
            ServiceCatalogue: { fromYaml(text: string, source: string): unknown };
          };
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
    return silent.map((id) => `${id} did not fire on ${rel(bad)}`);
  });

  return summary;
}

// ---------------------------------------------------------------------------------------------
// Charts

interface Scenario {
  name: string;
  file: string;
}

interface InvalidValues extends Scenario {
  /** Substrings the error output must contain (`# expect: ...` lines in the file). */
  expect: string[];
}

interface Chart {
  name: string;
  dir: string;
  library: boolean;
  dependencies: { name: string; repository: string }[];
  scenarios: Scenario[];
  invalid: InvalidValues[];
}

function discoverCharts(): Chart[] {
  const charts: Chart[] = [];
  for (const entry of readdirSync(chartsDir).sort()) {
    const dir = join(chartsDir, entry);
    const chartFile = join(dir, 'Chart.yaml');
    if (!existsSync(chartFile)) continue;
    const meta = parse(readFileSync(chartFile, 'utf8')) as {
      name: string;
      type?: string;
      dependencies?: { name: string; repository: string }[];
    };
    const scenarios: Scenario[] = [];
    for (const sub of ['ci', 'examples']) {
      const subDir = join(dir, sub);
      if (!existsSync(subDir)) continue;
      for (const file of readdirSync(subDir).sort()) {
        const match = /^(.+)-values\.ya?ml$/.exec(file);
        if (match?.[1]) scenarios.push({ name: match[1], file: join(subDir, file) });
      }
    }
    const invalid: InvalidValues[] = [];
    const invalidDir = join(dir, 'ci', 'invalid');
    if (existsSync(invalidDir)) {
      for (const file of readdirSync(invalidDir).sort()) {
        const match = /^(.+)-values\.ya?ml$/.exec(file);
        if (!match?.[1]) continue;
        const text = readFileSync(join(invalidDir, file), 'utf8');
        const expect = [...text.matchAll(/^# expect: (.+)$/gm)].map((m) => (m[1] ?? '').trim());
        invalid.push({ name: match[1], file: join(invalidDir, file), expect });
      }
    }
    charts.push({
      name: meta.name,
      dir,
      library: meta.type === 'library',
      dependencies: meta.dependencies ?? [],
      scenarios,
      invalid,
    });
  }
  return charts;
}

/**
 * Each file:// dependency is vendored as a symlink charts/<name> -> ../../<chart>, so that
 * `helm template` works straight from a clone and GitOps tools need no dependency build step
 * (see docs/adr/0003-chart-layout-and-policy-tooling.md).
 */
function dependencyProblems(chart: Chart): string[] {
  const problems: string[] = [];
  for (const dep of chart.dependencies) {
    if (!dep.repository.startsWith('file://')) {
      problems.push(`${dep.name}: repository ${dep.repository} is not a file:// path (no remote repositories)`);
      continue;
    }
    const target = resolve(chart.dir, dep.repository.slice('file://'.length));
    const link = join(chart.dir, 'charts', dep.name);
    const fix = `run: ln -sfn ${relative(dirname(link), target)} ${rel(link)}`;
    if (!existsSync(link)) {
      problems.push(`${rel(link)} is missing; ${fix}`);
    } else if (!lstatSync(link).isSymbolicLink() || realpathSync(link) !== realpathSync(target)) {
      problems.push(
        `${rel(link)} is not a link to ${rel(target)} (did \`helm dependency update\` replace it?); ${fix}`,
      );
    }
  }
  return problems;
}

/** Service charts copy the shared keys of charts/common/values.schema.shared.json verbatim. */
function sharedSchemaProblems(charts: Chart[]): string[] {
  const shared = JSON.parse(readFileSync(join(chartsDir, 'common', 'values.schema.shared.json'), 'utf8')) as {
    properties: Record<string, unknown>;
    definitions: Record<string, unknown>;
  };
  const problems: string[] = [];
  const services = charts.filter((c) => !c.library && c.dependencies.some((d) => d.name === 'common'));
  for (const chart of services) {
    const schemaFile = join(chart.dir, 'values.schema.json');
    if (!existsSync(schemaFile)) {
      problems.push(`${chart.name} has no values.schema.json`);
      continue;
    }
    const schema = JSON.parse(readFileSync(schemaFile, 'utf8')) as {
      properties?: Record<string, unknown>;
      definitions?: Record<string, unknown>;
    };
    for (const [section, expected] of [
      ['properties', shared.properties],
      ['definitions', shared.definitions],
    ] as const) {
      for (const [key, value] of Object.entries(expected)) {
        const actual = schema[section]?.[key];
        if (JSON.stringify(actual) !== JSON.stringify(value)) {
          problems.push(
            `${rel(schemaFile)}: ${section}.${key} differs from charts/common/values.schema.shared.json; copy it from there`,
          );
        }
      }
    }
  }
  return problems;
}

/**
 * values.yaml documents every key with `## @param <path> <description>` (on the key or on an
 * ancestor, for free-form blocks), every @param names a key that exists, and every property in
 * values.schema.json has a description.
 */
function documentationProblems(chart: Chart): string[] {
  const problems: string[] = [];
  const valuesFile = join(chart.dir, 'values.yaml');
  const text = readFileSync(valuesFile, 'utf8');
  const documented = new Set([...text.matchAll(/^\s*## @param (\S+) \S/gm)].map((m) => m[1] ?? ''));
  const paths: string[] = [];
  const collect = (value: unknown, prefix: string) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
    for (const [key, child] of Object.entries(value)) {
      const path = prefix ? `${prefix}.${key}` : key;
      paths.push(path);
      collect(child, path);
    }
  };
  collect(parse(text), '');
  const known = new Set(paths);
  for (const path of paths) {
    const ancestors = path.split('.').map((_, i, parts) => parts.slice(0, i + 1).join('.'));
    if (!ancestors.some((a) => documented.has(a)) && !paths.some((p) => p.startsWith(`${path}.`))) {
      problems.push(`${rel(valuesFile)}: ${path} has no "## @param ${path} <description>"`);
    }
  }
  for (const path of documented) {
    if (!known.has(path)) problems.push(`${rel(valuesFile)}: "## @param ${path}" documents a key that does not exist`);
  }
  const schemaFile = join(chart.dir, 'values.schema.json');
  if (!existsSync(schemaFile)) return [...problems, `${chart.name} has no values.schema.json`];
  const walk = (node: unknown, path: string) => {
    if (node === null || typeof node !== 'object') return;
    const schema = node as { properties?: Record<string, { description?: string }>; definitions?: object };
    for (const [key, child] of Object.entries(schema.properties ?? {})) {
      if (!child.description) problems.push(`${rel(schemaFile)}: ${path}${key} has no description`);
      walk(child, `${path}${key}.`);
    }
    for (const [key, child] of Object.entries(schema.definitions ?? {})) walk(child, `definitions.${key}.`);
    for (const keyword of ['items', 'additionalProperties', 'allOf']) {
      const sub = (node as Record<string, unknown>)[keyword];
      for (const child of Array.isArray(sub) ? sub : [sub]) walk(child, path);
    }
  };
  walk(JSON.parse(readFileSync(schemaFile, 'utf8')), '');
  return problems;
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

// ---------------------------------------------------------------------------------------------
// Conftest

interface ConftestResult {
  code: number;
  failures: string[];
  raw: string;
}

/** `conftest test --combine` over all policy namespaces, returning each failure as one line. */
async function conftest(conftestBin: string, files: string[]): Promise<ConftestResult> {
  const result = await run(conftestBin, [
    'test',
    '--combine',
    '--all-namespaces',
    '--no-color',
    '--output',
    'json',
    '--policy',
    policiesDir,
    ...files,
  ]);
  let parsed: { namespace: string; failures?: { msg: string }[] }[];
  try {
    parsed = JSON.parse(result.stdout) as typeof parsed;
  } catch {
    return { code: result.code, failures: [`conftest failed (exit ${result.code}): ${tail(result.output)}`], raw: '' };
  }
  const failures = parsed.flatMap((r) => (r.failures ?? []).map((f) => f.msg)).sort();
  return { code: result.code, failures, raw: result.stdout };
}

function failureLines(result: ConftestResult): string[] {
  return result.failures.length > 0 ? result.failures : [`conftest exited ${result.code}`];
}

/** The rule ids declared in the policies' header comments (`# MO-K8S-001: title`). */
function policyIds(): string[] {
  const ids: string[] = [];
  for (const entry of readdirSync(policiesDir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    for (const file of readdirSync(join(policiesDir, entry.name))) {
      if (!file.endsWith('.rego') || file.endsWith('_test.rego')) continue;
      const match = /^# (MO-K8S-\d{3}):/m.exec(readFileSync(join(policiesDir, entry.name, file), 'utf8'));
      if (match?.[1]) ids.push(match[1]);
    }
  }
  return ids.sort();
}

// ---------------------------------------------------------------------------------------------
// Kubernetes schema validation

interface KubeObject {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown; namespace?: unknown };
  [key: string]: unknown;
}

function parseManifests(text: string): { objects: KubeObject[]; problems: string[] } {
  const objects: KubeObject[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) {
      problems.push(`YAML error: ${doc.errors.map((e) => e.message).join('; ')}`);
      continue;
    }
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) {
      problems.push(`a document is not an object: ${JSON.stringify(value).slice(0, 80)}`);
      continue;
    }
    const obj = value as KubeObject;
    const id = `${String(obj.apiVersion)}/${String(obj.kind)}/${String(obj.metadata?.namespace ?? '')}/${String(obj.metadata?.name)}`;
    if (seen.has(id)) problems.push(`${describe(obj)} is rendered twice`);
    seen.add(id);
    objects.push(obj);
  }
  return { objects, problems };
}

/** The services.yml documents of the escalation catalogue ConfigMaps in a render. */
function serviceCatalogues(text: string): { name: string; text: string }[] {
  return parseManifests(text)
    .objects.filter((o) => o.kind === 'ConfigMap')
    .map((o) => o as KubeObject & { data?: Record<string, string>; metadata?: { labels?: Record<string, string> } })
    .filter((o) => o.metadata?.labels?.['app.kubernetes.io/name'] === 'escalation' && o.data?.['services.yml'])
    .map((o) => ({ name: String(o.metadata?.name), text: o.data?.['services.yml'] ?? '' }));
}

function describe(obj: KubeObject): string {
  return `${String(obj.kind)}/${String(obj.metadata?.name ?? '<unnamed>')}`;
}

/** A property's type in the models' declarations: an object type (by file), array, map or leaf. */
type TypeRef =
  | { kind: 'object'; file: string }
  | { kind: 'array'; items: TypeRef }
  | { kind: 'map'; values: TypeRef }
  | { kind: 'leaf' };

/**
 * Validates objects with kubernetes-models (its ajv validators, generated from the Kubernetes
 * OpenAPI schema) and, because those accept unknown fields, walks each object along the
 * models' TypeScript declarations (*.d.ts: one interface per API type, with its property names
 * and property types) and reports every field the API does not define. Kinds the models do not
 * know (custom resources) are checked against the small schemas in `customResourceSchemas`.
 */
class KubernetesValidator {
  private readonly modelsDir: string;
  private readonly apimachineryDir: string;
  private readonly interfaces = new Map<string, Map<string, TypeRef> | null>();
  private readonly ajv = new Ajv({ allErrors: true, strict: false });

  constructor() {
    const require = createRequire(join(repoRoot, 'package.json'));
    this.modelsDir = realpathSync(dirname(require.resolve('kubernetes-models')));
    this.apimachineryDir = join(dirname(this.modelsDir), '@kubernetes-models', 'apimachinery');
  }

  async validate(obj: KubeObject): Promise<string[]> {
    const name = describe(obj);
    if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') {
      return [`${name}: apiVersion and kind are required`];
    }
    const custom = customResourceSchemas[`${obj.apiVersion}/${obj.kind}`];
    if (custom) {
      const validate = this.ajv.compile(custom);
      if (validate(obj)) return [];
      return (validate.errors ?? []).map(
        (e) =>
          `${name}: ${e.instancePath || '/'} ${e.message ?? 'is invalid'}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`,
      );
    }
    const declaration = join(this.modelsDir, obj.apiVersion, `${obj.kind}.d.ts`);
    if (!existsSync(declaration)) {
      return [`${name}: ${obj.apiVersion} ${obj.kind} is not a Kubernetes API type known to kubernetes-models`];
    }
    const problems: string[] = [];
    const module = (await import(`kubernetes-models/${obj.apiVersion}/${obj.kind}`)) as Record<string, unknown>;
    const Model = module[obj.kind] as (new (data: unknown) => { validate(): void }) | undefined;
    if (!Model) return [`${name}: kubernetes-models has no ${obj.kind} model`];
    try {
      new Model(obj).validate();
    } catch (error) {
      const errors = (error as { errors?: { instancePath: string; message?: string }[] }).errors;
      if (!errors) problems.push(`${name}: ${(error as Error).message}`);
      for (const e of errors ?? []) problems.push(`${name}: ${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
    }
    this.walk(obj, { kind: 'object', file: declaration }, '', (path) =>
      problems.push(`${name}: unknown field ${path} (not in the Kubernetes API; it would be dropped or rejected)`),
    );
    return problems;
  }

  private walk(value: unknown, type: TypeRef, path: string, report: (path: string) => void): void {
    if (value === null || value === undefined || type.kind === 'leaf') return;
    if (type.kind === 'array') {
      if (!Array.isArray(value)) return;
      for (const [i, item] of value.entries()) this.walk(item, type.items, `${path}[${i}]`, report);
      return;
    }
    if (typeof value !== 'object' || Array.isArray(value)) return;
    if (type.kind === 'map') {
      for (const [key, item] of Object.entries(value)) this.walk(item, type.values, `${path}.${key}`, report);
      return;
    }
    const properties = this.properties(type.file);
    if (!properties) return;
    for (const [key, item] of Object.entries(value)) {
      const child = path ? `${path}.${key}` : key;
      const propertyType = properties.get(key);
      if (propertyType) this.walk(item, propertyType, child, report);
      else report(child);
    }
  }

  /** Property names and types of the interface declared in a .d.ts file (null for type aliases). */
  private properties(file: string): Map<string, TypeRef> | null {
    const cached = this.interfaces.get(file);
    if (cached !== undefined) return cached;
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    const imports = new Map<string, string>();
    for (const m of text.matchAll(/^import \{ (\w+) \} from "([^"]+)";$/gm)) {
      const [, id, from] = m;
      if (!id || !from) continue;
      const base = from.startsWith('.')
        ? resolve(dirname(file), from)
        : from.startsWith('@kubernetes-models/apimachinery/')
          ? join(this.apimachineryDir, from.slice('@kubernetes-models/apimachinery/'.length))
          : undefined;
      if (base) imports.set(id, `${base}.d.ts`);
    }
    const body = /^export interface \w+(?: extends [\w, ]+)? \{\n([\s\S]*?)\n\}$/m.exec(text)?.[1];
    if (body === undefined) {
      this.interfaces.set(file, null);
      return null;
    }
    const properties = new Map<string, TypeRef>();
    const lines = body.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const m = /^ {4}"([^"]+)"\??: (.*)$/.exec(lines[i] ?? '');
      if (!m?.[1] || m[2] === undefined) continue;
      let typeText = m[2];
      // Multi-line types (maps and inline objects) end at the next line indented by 4 spaces.
      while (!typeText.endsWith(';') && i + 1 < lines.length) typeText += ` ${(lines[++i] ?? '').trim()}`;
      properties.set(m[1], this.typeRef(typeText.replace(/;$/, '').trim(), imports));
    }
    this.interfaces.set(file, properties);
    return properties;
  }

  private typeRef(text: string, imports: Map<string, string>): TypeRef {
    const array = /^Array<(.*)>$/.exec(text);
    if (array?.[1] !== undefined) return { kind: 'array', items: this.typeRef(array[1], imports) };
    const map = /^\{ \[key: string\]: (.*?);? \}$/.exec(text);
    if (map?.[1] !== undefined) return { kind: 'map', values: this.typeRef(map[1], imports) };
    const file = imports.get(text);
    if (file) return { kind: 'object', file };
    return { kind: 'leaf' }; // primitives, string unions, inline object types
  }
}

const labelMap = { type: 'object', additionalProperties: { type: 'string' } };
const duration = {
  type: 'string',
  pattern: '^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$',
};
const selector = {
  type: 'object',
  additionalProperties: false,
  properties: { matchLabels: labelMap, matchExpressions: { type: 'array', items: { type: 'object' } } },
};

/**
 * Custom resources the charts render, checked against the subset of their CRD schema that the
 * charts use (closed, so that a typo fails). Source: prometheus-operator monitoring.coreos.com/v1.
 */
const customResourceSchemas: Record<string, object> = {
  'monitoring.coreos.com/v1/ServiceMonitor': {
    type: 'object',
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    additionalProperties: false,
    properties: {
      apiVersion: { const: 'monitoring.coreos.com/v1' },
      kind: { const: 'ServiceMonitor' },
      metadata: {
        type: 'object',
        required: ['name'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 253 },
          namespace: { type: 'string' },
          labels: labelMap,
          annotations: labelMap,
        },
      },
      spec: {
        type: 'object',
        required: ['selector', 'endpoints'],
        additionalProperties: false,
        properties: {
          jobLabel: { type: 'string' },
          namespaceSelector: {
            type: 'object',
            additionalProperties: false,
            properties: { any: { type: 'boolean' }, matchNames: { type: 'array', items: { type: 'string' } } },
          },
          selector,
          endpoints: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              additionalProperties: false,
              properties: {
                port: { type: 'string' },
                path: { type: 'string' },
                scheme: { enum: ['http', 'https'] },
                interval: duration,
                scrapeTimeout: duration,
                honorLabels: { type: 'boolean' },
                relabelings: { type: 'array', items: { type: 'object' } },
                metricRelabelings: { type: 'array', items: { type: 'object' } },
              },
            },
          },
        },
      },
    },
  },
};

// ---------------------------------------------------------------------------------------------
// Output helpers

function rel(path: string): string {
  return relative(repoRoot, path) || '.';
}

function tail(text: string, lines = 25): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop() ?? '';
}

/** The most specific line of helm's error output (the innermost schema error, or the fail message). */
function firstError(text: string): string {
  const lines = text
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const schemaErrors = lines.filter((l) => l.startsWith('- at '));
  const detail = schemaErrors.at(-1) ?? lines.find((l) => /required|must not|is not/.test(l)) ?? lines[0] ?? '';
  return `refused: ${detail.replace(/^Error: execution error at \([^)]*\): /, '').slice(0, 200)}`;
}
