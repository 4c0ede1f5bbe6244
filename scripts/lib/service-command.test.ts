import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chartNodeArgs } from './service-command.js';

const charts = mkdtempSync(join(tmpdir(), 'service-command-charts-'));
afterAll(() => rmSync(charts, { recursive: true, force: true }));

/** A chart folder `name` whose values.yaml is `yaml`. */
function chart(name: string, yaml: string): string {
  mkdirSync(join(charts, name), { recursive: true });
  writeFileSync(join(charts, name, 'values.yaml'), yaml);
  return join('/repo/services', name);
}

describe(chartNodeArgs.name, () => {
  it('gives the heap flags the chart starts the service with', () => {
    const service = chart('svc', 'node:\n  maxOldSpaceSizeMb: 64\n  maxSemiSpaceSizeMb: 4\nother: 1\n');
    expect(chartNodeArgs(service, charts)).toEqual(['--max-old-space-size=64', '--max-semi-space-size=4']);
  });

  it("leaves out a bound that is 0 or absent (Node's default), and gives none without a chart", () => {
    expect(chartNodeArgs(chart('zero', 'node:\n  maxOldSpaceSizeMb: 0\n  maxSemiSpaceSizeMb: 2\n'), charts)).toEqual([
      '--max-semi-space-size=2',
    ]);
    expect(chartNodeArgs(chart('none', 'replicaCount: 1\n'), charts)).toEqual([]);
    expect(chartNodeArgs('/repo/services/no-chart', charts)).toEqual([]);
  });

  it('refuses a bound that is not a whole number of MiB, naming the file', () => {
    const service = chart('bad', 'node:\n  maxOldSpaceSizeMb: "64m"\n');
    expect(() => chartNodeArgs(service, charts)).toThrow(
      /bad\/values\.yaml: node\.maxOldSpaceSizeMb must be a whole number/,
    );
  });

  it("reads webhook-ingest's own chart, whose defaults leave the heap to Node (docs/performance.md)", () => {
    expect(chartNodeArgs('/anywhere/services/webhook-ingest')).toEqual([]);
  });
});
