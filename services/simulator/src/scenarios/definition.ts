import { createHash } from 'node:crypto';
import { DrillEnvironment, SEVERITIES, ServiceSlug, Severity } from '@micro-oncall/incident-model';
import { InputError } from '@micro-oncall/service-kit';
import { isNode, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { HARD_CAP_MINUTES } from '../env.js';

/*
 * A scenario: a versioned, validated definition of a drill. Written in YAML or JSON by a team
 * (or shipped as a built-in file), it names the runbook the drill exercises, with a checklist
 * for the responders, and a timeline of steps at offsets from the start of a run.
 */

/** Labels the simulator sets on every synthetic alert itself; a scenario cannot set or override them. */
export const RESERVED_LABELS = [
  'alertname',
  'severity',
  'service',
  'environment',
  'drill',
  'drill_run_id',
  'drill_scenario',
];

const Slug = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[a-z0-9][a-z0-9-]*$/, 'use lowercase letters, digits and dashes, starting with a letter or digit');

const AlertKey = Slug(64);

/** `90`, `"90s"`, `"5m"`, `"1h30m"`: seconds after the start of the run. */
export const Offset = z
  .union([
    z.number().int('a whole number of seconds').min(0),
    z.string().regex(/^(?=\d)(\d+h)?(\d+m)?(\d+s)?$/, 'a duration like 90s, 5m or 1h30m, or a number of seconds'),
  ])
  .transform((v) => {
    if (typeof v === 'number') return v;
    const [, h = '0', m = '0', s = '0'] = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(v) ?? [];
    return Number(h) * 3600 + Number(m) * 60 + Number(s);
  })
  .pipe(z.number().max(HARD_CAP_MINUTES * 60, `must be within the ${HARD_CAP_MINUTES / 60} h a run may last`));

const LabelName = z
  .string()
  .regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'label names are letters, digits and _, not starting with a digit')
  .refine((name) => !RESERVED_LABELS.includes(name), {
    message: `is set by the simulator (${RESERVED_LABELS.join(', ')})`,
  });

const AlertSpec = {
  /** The alert's key within the scenario: later steps refer to it. */
  alert: AlertKey,
  /** The Alertmanager `alertname` (Prometheus naming). */
  name: z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'a Prometheus alert name: letters, digits and _'),
  severity: Severity,
  summary: z.string().min(1).max(300),
  description: z.string().max(2000).optional(),
  /** The service the alert is about, as the service catalogue names it. */
  service: ServiceSlug,
  labels: z.record(LabelName, z.string().max(1024)).default({}),
};
const AlertDefinition = z.strictObject(AlertSpec);
export type AlertDefinition = z.output<typeof AlertDefinition>;

const FireStep = z.strictObject({ at: Offset, action: z.literal('fire'), ...AlertSpec });
const ChangeSeverityStep = z.strictObject({
  at: Offset,
  action: z.literal('change_severity'),
  alert: AlertKey,
  severity: Severity,
});
const AddRelatedStep = z.strictObject({
  at: Offset,
  action: z.literal('add_related'),
  alerts: z.array(AlertDefinition).min(1).max(20),
});
const ResolveStep = z.strictObject({
  at: Offset,
  action: z.literal('resolve'),
  /** The alerts to resolve, or `all` of those still firing. */
  alerts: z.union([z.literal('all'), z.array(AlertKey).min(1).max(50)]),
});
/**
 * Turns on a fault-injection flag for a service until the run ends (ADR 0018): the simulator's
 * flag source (GET /drills/v1/flags/:environment) serves it to flagd for the run's environment.
 */
const DegradeStep = z.discriminatedUnion(
  'fault',
  [
    z.strictObject({
      at: Offset,
      action: z.literal('degrade'),
      service: ServiceSlug,
      fault: z.literal('latency'),
      /** Added to each of the service's requests. */
      latencyMs: z.number().int('a whole number of milliseconds').min(1).max(60_000),
    }),
    z.strictObject({
      at: Offset,
      action: z.literal('degrade'),
      service: ServiceSlug,
      fault: z.literal('error_rate'),
      /** The share of the service's requests that fail, above 0 and at most 1. */
      errorRate: z.number().gt(0, 'must be above 0').max(1, 'at most 1 (every request fails)'),
    }),
    z.strictObject({
      at: Offset,
      action: z.literal('degrade'),
      service: ServiceSlug,
      fault: z.literal('dependency_off'),
      /** The dependency the service must treat as unavailable (e.g. postgres, payments-gateway). */
      dependency: Slug(100),
    }),
  ],
  { error: 'a fault is latency, error_rate or dependency_off' },
);
export type DegradeStep = z.output<typeof DegradeStep>;
const Step = z.discriminatedUnion('action', [FireStep, ChangeSeverityStep, AddRelatedStep, ResolveStep, DegradeStep]);
export type ScenarioStep = z.output<typeof Step>;

const ScenarioObject = z.strictObject({
  id: Slug(63),
  name: z.string().min(1).max(200),
  description: z.string().min(1).max(4000),
  /** The owning team. */
  team: Slug(100),
  /** The environment the scenario is written for; a production scenario may still be rehearsed in staging. */
  environment: DrillEnvironment.default('staging'),
  runbook: z.strictObject({
    url: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }),
    /** What responders should verify as they work through the drill. */
    checklist: z.array(z.string().min(1).max(500)).min(1).max(50),
  }),
  /** The run's maximum duration unless the run asks for another (at most 4 h). */
  maxDurationMinutes: z.number().int().min(1).max(HARD_CAP_MINUTES).optional(),
  timeline: z.array(Step).min(1).max(100),
});

export const ScenarioDefinition = ScenarioObject.superRefine((scenario, ctx) => {
  const firedAt = new Map<string, number>();
  const open = new Set<string>();
  let previous = 0;
  const problem = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  for (const [index, step] of scenario.timeline.entries()) {
    const at = ['timeline', index];
    if (step.at < previous) problem([...at, 'at'], 'comes before the step above it: list the steps in time order');
    previous = step.at;
    const fired = step.action === 'fire' ? [step] : step.action === 'add_related' ? step.alerts : [];
    for (const [n, alert] of fired.entries()) {
      const path = step.action === 'fire' ? [...at, 'alert'] : [...at, 'alerts', n, 'alert'];
      const earlier = firedAt.get(alert.alert);
      if (earlier !== undefined)
        problem(path, `"${alert.alert}" is already fired by timeline.${earlier}: give each alert its own key`);
      firedAt.set(alert.alert, index);
      open.add(alert.alert);
    }
    if (step.action === 'change_severity' && !open.has(step.alert)) {
      problem([...at, 'alert'], `"${step.alert}" is not firing at this point: fire it in an earlier step`);
    }
    if (step.action === 'resolve') {
      if (step.alerts === 'all') open.clear();
      else
        for (const [n, key] of step.alerts.entries()) {
          if (!open.delete(key)) problem([...at, 'alerts', n], `"${key}" is not firing at this point`);
        }
    }
  }
  if (firedAt.size === 0) problem(['timeline'], 'fires no alert: add a fire or add_related step');
  const maxSeconds = (scenario.maxDurationMinutes ?? HARD_CAP_MINUTES) * 60;
  const last = scenario.timeline.at(-1);
  if (scenario.maxDurationMinutes !== undefined && last && last.at >= maxSeconds) {
    problem(
      ['timeline', scenario.timeline.length - 1, 'at'],
      `is at or after the scenario's maximum duration (${scenario.maxDurationMinutes} min)`,
    );
  }
});
export type ScenarioDefinition = z.output<typeof ScenarioDefinition>;

/** The highest severity any step of the scenario fires or raises an alert to. */
export function highestSeverity(scenario: ScenarioDefinition): Severity {
  const severities = scenario.timeline.flatMap((step) =>
    step.action === 'fire' || step.action === 'change_severity'
      ? [step.severity]
      : step.action === 'add_related'
        ? step.alerts.map((a) => a.severity)
        : [],
  );
  return SEVERITIES.find((s) => severities.includes(s)) ?? 'info';
}

/** Seconds from the start of a run to its last step. */
export function timelineSeconds(scenario: ScenarioDefinition): number {
  return scenario.timeline.at(-1)?.at ?? 0;
}

/** The scenario keys each step touches, for the run's step list. */
export function alertsOf(step: ScenarioStep, firing: readonly string[]): string[] {
  switch (step.action) {
    case 'fire':
    case 'change_severity':
      return [step.alert];
    case 'add_related':
      return step.alerts.map((a) => a.alert);
    case 'resolve':
      return step.alerts === 'all' ? [...firing] : step.alerts;
    case 'degrade':
      return [];
  }
}

/** A stable digest of a validated definition: the same content is the same version. */
export function digestOf(scenario: ScenarioDefinition): string {
  return createHash('sha256').update(canonicalJson(scenario)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export type ScenarioFormat = 'json' | 'yaml';

/** A field left out is said to be missing, not to be of the wrong type (`undefined`). */
const missingField = (issue: { code?: string; input?: unknown }) =>
  issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : undefined;

/**
 * Parses and validates a scenario. Problems come back as one InputError whose `details.issues`
 * name each field by its path (`timeline.2.severity`) and, for YAML, its line.
 */
export function parseScenario(input: unknown, format: ScenarioFormat, what = 'scenario'): ScenarioDefinition {
  if (format === 'json') {
    const result = ScenarioDefinition.safeParse(input, { error: missingField });
    if (!result.success) throw InputError.fromZod(result.error, what);
    return result.data;
  }
  if (typeof input !== 'string') throw new InputError(`invalid ${what}: send the YAML document as the body`);
  const lineCounter = new LineCounter();
  const doc = parseDocument(input, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const issues = doc.errors.slice(0, 20).map((e) => ({
      path: '(document)',
      line: lineCounter.linePos(e.pos[0]).line,
      message: e.message.split('\n')[0] ?? 'YAML syntax error',
    }));
    throw new InputError(`invalid ${what}: ${issues.map((i) => `line ${i.line}: ${i.message}`).join('; ')}`, {
      issues,
    });
  }
  const result = ScenarioDefinition.safeParse(doc.toJS(), { error: missingField });
  if (result.success) return result.data;
  const issues = result.error.issues.slice(0, 20).map((issue) => {
    const path = issue.path.map(String);
    const line = lineOf(doc, lineCounter, path);
    return { path: path.join('.') || '(root)', ...(line ? { line } : {}), message: issue.message };
  });
  throw new InputError(
    `invalid ${what}: ${issues.map((i) => `${i.path}${i.line ? ` (line ${i.line})` : ''}: ${i.message}`).join('; ')}`,
    { issues },
  );
}

/** The line of the deepest node on `path` that exists (the key's line when the value is missing). */
function lineOf(doc: ReturnType<typeof parseDocument>, counter: LineCounter, path: string[]): number | null {
  for (let n = path.length; n >= 0; n -= 1) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
  }
  return null;
}
