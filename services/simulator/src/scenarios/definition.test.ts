import { describe, expect, it } from 'vitest';
import { digestOf, highestSeverity, Offset, parseScenario, ScenarioDefinition, timelineSeconds } from './definition.js';
import { loadBuiltinScenarios } from './store.js';

const base = () => ({
  id: 'checkout-errors',
  name: 'Checkout errors',
  description: 'Checkout errors climb.',
  team: 'storefront',
  runbook: { url: 'https://runbooks.example.com/checkout', checklist: ['Acknowledge'] },
  timeline: [
    {
      at: '0s',
      action: 'fire',
      alert: 'errors',
      name: 'CheckoutErrors',
      severity: 'medium',
      summary: 'Checkout errors above 5%',
      service: 'checkout',
    },
    { at: '2m', action: 'change_severity', alert: 'errors', severity: 'critical' },
    { at: '10m', action: 'resolve', alerts: ['errors'] },
  ] as Record<string, unknown>[],
});

/** The paths of the problems a definition has (empty: valid). */
const problems = (value: unknown) => {
  const result = ScenarioDefinition.safeParse(value);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('ScenarioDefinition', () => {
  it('accepts every built-in scenario', () => {
    const builtins = loadBuiltinScenarios();
    expect(builtins.map((s) => s.id).sort()).toEqual([
      'database-failover',
      'payments-latency',
      'regional-partial-outage',
    ]);
    for (const s of builtins) expect(timelineSeconds(s)).toBeLessThan((s.maxDurationMinutes ?? 30) * 60);
  });

  it('reads offsets as seconds, durations or a mix', () => {
    expect(['0s', '90s', '5m', '1h30m', '1h2m3s', 45].map((v) => Offset.parse(v))).toEqual([
      0, 90, 300, 5400, 3723, 45,
    ]);
    for (const bad of ['', 'm', '5 m', '-1', '1d', 1.5, -3, '5h']) expect(Offset.safeParse(bad).success).toBe(false);
  });

  it('defaults to staging and knows the highest severity it fires', () => {
    const parsed = ScenarioDefinition.parse(base());
    expect(parsed.environment).toBe('staging');
    expect(highestSeverity(parsed)).toBe('critical');
    expect(timelineSeconds(parsed)).toBe(600);
  });

  it.each([
    [
      'a step out of time order',
      (s: ReturnType<typeof base>) => Object.assign(s.timeline[2]!, { at: '1m' }),
      'timeline.2.at',
    ],
    [
      'a severity change of an alert that is not firing',
      (s: ReturnType<typeof base>) => Object.assign(s.timeline[1]!, { alert: 'other' }),
      'timeline.1.alert',
    ],
    [
      'a second alert with the same key',
      (s: ReturnType<typeof base>) => s.timeline.splice(1, 0, { ...s.timeline[0]!, at: '1m' }),
      'timeline.1.alert',
    ],
    [
      'a label the simulator sets itself',
      (s: ReturnType<typeof base>) => Object.assign(s.timeline[0]!, { labels: { drill_run_id: 'forged' } }),
      'timeline.0.labels.drill_run_id',
    ],
    [
      'a step after the maximum duration',
      (s: ReturnType<typeof base>) => Object.assign(s, { maxDurationMinutes: 5 }),
      'timeline.2.at',
    ],
    ['an unknown field', (s: ReturnType<typeof base>) => Object.assign(s, { owner: 'me' }), ''],
    [
      'a runbook that is not http(s)',
      (s: ReturnType<typeof base>) => Object.assign(s.runbook, { url: 'ftp://x' }),
      'runbook.url',
    ],
    [
      'an unknown action',
      (s: ReturnType<typeof base>) => Object.assign(s.timeline[1]!, { action: 'escalate' }),
      'timeline.1.action',
    ],
    [
      'a service that is not a slug',
      (s: ReturnType<typeof base>) => Object.assign(s.timeline[0]!, { service: 'Check Out' }),
      'timeline.0.service',
    ],
  ])('refuses %s, naming the field', (_what, breakIt, path) => {
    const s = base();
    breakIt(s);
    const found = problems(s);
    expect(found.length).toBeGreaterThan(0);
    expect(found.some((p) => p.startsWith(`${path}: `))).toBe(true);
  });

  it('takes degrade steps, each fault with its own setting, and names what is wrong', () => {
    const degrade = (step: Record<string, unknown>) => {
      const s = base();
      s.timeline.splice(2, 0, { at: '3m', action: 'degrade', service: 'checkout', ...step });
      return s;
    };
    expect(problems(degrade({ fault: 'latency', latencyMs: 800 }))).toEqual([]);
    expect(problems(degrade({ fault: 'error_rate', errorRate: 0.25 }))).toEqual([]);
    expect(problems(degrade({ fault: 'dependency_off', dependency: 'postgres' }))).toEqual([]);
    expect(problems(degrade({ fault: 'latency' }))).toEqual([expect.stringMatching(/^timeline\.2\.latencyMs: /)]);
    expect(problems(degrade({ fault: 'error_rate', errorRate: 0 }))).toEqual(['timeline.2.errorRate: must be above 0']);
    expect(problems(degrade({ fault: 'error_rate', errorRate: 1.5 }))).toEqual([
      'timeline.2.errorRate: at most 1 (every request fails)',
    ]);
    expect(problems(degrade({ fault: 'meltdown' }))).toEqual([
      'timeline.2.fault: a fault is latency, error_rate or dependency_off',
    ]);
    expect(problems(degrade({ fault: 'latency', latencyMs: 800, dependency: 'postgres' }))).toEqual([
      expect.stringMatching(/^timeline\.2: .*dependency/),
    ]);
  });

  it('has one digest per content, whatever the key order', () => {
    const a = ScenarioDefinition.parse(base());
    const { timeline, ...rest } = base();
    const b = ScenarioDefinition.parse({ timeline, ...Object.fromEntries(Object.entries(rest).reverse()) });
    expect(digestOf(a)).toBe(digestOf(b));
    expect(digestOf(ScenarioDefinition.parse({ ...base(), description: 'changed' }))).not.toBe(digestOf(a));
  });
});

describe(parseScenario.name, () => {
  it('reports YAML syntax errors with their line', () => {
    expect(() => parseScenario('id: [unclosed\n', 'yaml')).toThrow(/line \d+/);
  });

  it('reports each problem of a YAML scenario with its path and line', () => {
    try {
      parseScenario('id: Not A Slug\nname: x\n', 'yaml');
      expect.unreachable();
    } catch (error) {
      const issues = (error as { details: { issues: { path: string; line?: number }[] } }).details.issues;
      expect(issues).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'id', line: 1 })]));
      expect(issues.map((i) => i.path)).toEqual(expect.arrayContaining(['description', 'team', 'runbook', 'timeline']));
    }
  });
});
