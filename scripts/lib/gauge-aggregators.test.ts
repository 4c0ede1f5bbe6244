/**
 * With WORKER_PROCESSES above 1, a scrape answers for the whole pod: prom-client's cluster
 * aggregation sums counters and histograms, and combines each gauge by its `aggregator`, which is
 * `sum` unless it says otherwise (packages/service-kit/src/workers.ts). Summing is right for a
 * gauge each worker counts on its own (requests in flight) and wrong for one every worker reads
 * from the shared database (apps by state: doubled with two workers) or a flag (1 while failing:
 * 2). So every gauge in the services and packages names its aggregator: the choice is made where
 * the gauge is written, not left to the default.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const AGGREGATORS = ['sum', 'first', 'min', 'max', 'average', 'omit'];

interface GaugeSite {
  at: string;
  name: string;
  aggregator: string | undefined;
}

function* sources(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'test') yield* sources(path);
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts')) {
      yield path;
    }
  }
}

/** Every `new Gauge({...})` in a file, with its metric name and the aggregator it declares. */
function gaugeSites(file: string, text: string): GaugeSite[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: GaugeSite[] = [];
  const stringProperty = (options: ts.ObjectLiteralExpression, key: string): string | undefined => {
    for (const p of options.properties) {
      if (ts.isPropertyAssignment(p) && p.name.getText(source) === key) {
        return ts.isStringLiteralLike(p.initializer)
          ? p.initializer.text
          : `(not a literal: ${p.initializer.getText(source)})`;
      }
    }
    return undefined;
  };
  const visit = (node: ts.Node): void => {
    if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'Gauge') {
      const options = node.arguments?.[0];
      const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
      found.push(
        options && ts.isObjectLiteralExpression(options)
          ? {
              at: `${file}:${line}`,
              name: stringProperty(options, 'name') ?? '?',
              aggregator: stringProperty(options, 'aggregator'),
            }
          : { at: `${file}:${line}`, name: '?', aggregator: '(options are not an object literal)' },
      );
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function repositoryGauges(): GaugeSite[] {
  const sites: GaugeSite[] = [];
  for (const group of ['services', 'packages']) {
    for (const entry of readdirSync(join(REPO_ROOT, group), { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      let files: string[];
      try {
        files = [...sources(join(REPO_ROOT, group, entry.name, 'src'))];
      } catch {
        continue; // a package without src/
      }
      for (const path of files) {
        const text = readFileSync(path, 'utf8');
        if (text.includes('new Gauge')) sites.push(...gaugeSites(relative(REPO_ROOT, path), text));
      }
    }
  }
  return sites;
}

describe('gauges over worker processes', () => {
  it('reads a gauge, its name and its aggregator, and one without', () => {
    const sites = gaugeSites(
      'x.ts',
      `new Gauge({ name: 'a_total', help: 'h', aggregator: 'first' });\nconst g = new Gauge({ name: 'b', help: 'h' });`,
    );
    expect(sites).toEqual([
      { at: 'x.ts:1', name: 'a_total', aggregator: 'first' },
      { at: 'x.ts:2', name: 'b', aggregator: undefined },
    ]);
  });

  it("every gauge of the services and packages names how a pod's worker processes combine it", () => {
    const sites = repositoryGauges();
    // The services and the kit register ~25 gauges: an empty list means the walk found nothing.
    expect(sites.length).toBeGreaterThan(20);
    const wrong = sites
      .filter((s) => !AGGREGATORS.includes(s.aggregator ?? ''))
      .map(
        (s) =>
          `${s.at} gauge ${s.name}: aggregator ${s.aggregator === undefined ? 'missing' : JSON.stringify(s.aggregator)}; ` +
          `say how the pod's workers combine it (${AGGREGATORS.join(', ')}: 'first' for a value read from the shared database, 'max' for a flag, 'sum' for a count of the worker's own)`,
      );
    expect(wrong).toEqual([]);
  });
});
