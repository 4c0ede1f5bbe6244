// The charts under charts/, found by listing the folder: every directory with a Chart.yaml is a
// chart, so a new one is picked up by the checks and the schema generator without any edit.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../tools.js';

export const chartsDir = join(repoRoot, 'charts');

export interface Scenario {
  name: string;
  file: string;
}

export interface InvalidValues extends Scenario {
  /** Substrings the error output must contain (`# expect: ...` lines in the file). */
  expect: string[];
}

export interface ChartDependency {
  name: string;
  repository: string;
  alias?: string;
  condition?: string;
}

export interface Chart {
  name: string;
  dir: string;
  library: boolean;
  dependencies: ChartDependency[];
  /** ci/<name>-values.yaml and examples/<name>-values.yaml: values files that must render. */
  scenarios: Scenario[];
  /** ci/invalid/<name>-values.yaml: values files that must be refused. */
  invalid: InvalidValues[];
}

/** Every chart in `dir` (default charts/), sorted by folder name. */
export function discoverCharts(dir: string = chartsDir): Chart[] {
  const charts: Chart[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const chartDir = join(dir, entry);
    const chartFile = join(chartDir, 'Chart.yaml');
    if (!existsSync(chartFile)) continue;
    const meta = parse(readFileSync(chartFile, 'utf8')) as {
      name: string;
      type?: string;
      dependencies?: ChartDependency[];
    };
    charts.push({
      name: meta.name,
      dir: chartDir,
      library: meta.type === 'library',
      dependencies: meta.dependencies ?? [],
      scenarios: scenarios(chartDir),
      invalid: invalidValues(chartDir),
    });
  }
  return charts;
}

function valuesFiles(dir: string): { name: string; file: string }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((file) => {
      const name = /^(.+)-values\.ya?ml$/.exec(file)?.[1];
      return name ? [{ name, file: join(dir, file) }] : [];
    });
}

function scenarios(chartDir: string): Scenario[] {
  return ['ci', 'examples'].flatMap((sub) => valuesFiles(join(chartDir, sub)));
}

function invalidValues(chartDir: string): InvalidValues[] {
  return valuesFiles(join(chartDir, 'ci', 'invalid')).map(({ name, file }) => {
    const text = readFileSync(file, 'utf8');
    const expect = [...text.matchAll(/^# expect: (.+)$/gm)].map((m) => (m[1] ?? '').trim());
    return { name, file, expect };
  });
}
