// Chart-structure checks: vendored dependency links and documented values.
import { existsSync, lstatSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parse } from 'yaml';
import type { Chart } from './discover.js';
import { rel } from './output.js';

/**
 * Each file:// dependency is vendored as a symlink charts/<name> -> ../../<chart>, so that
 * `helm template` works straight from a clone and GitOps tools need no dependency build step
 * (see docs/adr/0003-chart-layout-and-policy-tooling.md).
 */
export function dependencyProblems(chart: Chart): string[] {
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

/**
 * values.yaml documents every key with `## @param <path> <description>` (on the key or on an
 * ancestor, for free-form blocks), every @param names a key that exists, and every property in
 * values.schema.json has a description.
 */
export function documentationProblems(chart: Chart): string[] {
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
