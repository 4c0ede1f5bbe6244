import { createHash } from 'node:crypto';
import type { DrillEnvironment } from '@micro-oncall/incident-model';
import { and, asc, eq, sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import * as schema from './db/schema.js';
import type { DegradeStep } from './scenarios/definition.js';

/*
 * The simulator as a flag source for flagd's HTTP sync (ADR 0018). One flagd flag configuration
 * per environment, always the same three flags; a `degrade` step of a running run turns its
 * service's variant on through targeting on the evaluation context's `service` (and
 * `dependency`). The document is computed from the runs at each request: a run that ends for
 * any reason (completed, aborted, expired, failed, the kill switch) is no longer running, so its
 * flags are off at flagd's next poll, with nothing to undo and nothing to forget.
 */

/** The flags' keys, as applications evaluate them (with `service` in the evaluation context). */
export const FLAG_KEYS = {
  /** number: milliseconds to add to each request of the service; 0 when off. */
  latency: 'drill-latency-ms',
  /** number: the share of requests (0–1] the service should fail; 0 when off. */
  errorRate: 'drill-error-rate',
  /** boolean: whether the service must treat `dependency` (context) as unavailable. */
  dependencyOff: 'drill-dependency-off',
} as const;

export const FLAGD_SCHEMA = 'https://flagd.dev/schema/v0/flags.json';

/** A degradation in force: a fired `degrade` step of a running run. */
export interface Degradation {
  runId: string;
  step: DegradeStep;
}

type JsonLogic = Record<string, unknown>;
interface FlagDefinition {
  state: 'ENABLED';
  variants: Record<string, number | boolean>;
  defaultVariant: string;
  targeting?: JsonLogic;
  metadata?: Record<string, string>;
}
export interface FlagDocument {
  $schema: string;
  metadata: Record<string, string>;
  flags: Record<string, FlagDefinition>;
}

const serviceIn = (services: string[]): JsonLogic => ({ in: [{ var: 'service' }, services] });

/**
 * A numeric flag: `off` (0) by default, one variant per value in force, chosen by service. Two
 * runs degrading one service: the stronger degradation wins.
 */
function numericFlag(description: string, values: Map<string, number>, variantOf: (value: number) => string) {
  const byVariant = new Map<string, { value: number; services: string[] }>();
  for (const [service, value] of [...values].sort(([a], [b]) => a.localeCompare(b))) {
    const variant = variantOf(value);
    const entry = byVariant.get(variant) ?? { value, services: [] };
    entry.services.push(service);
    byVariant.set(variant, entry);
  }
  const variants: Record<string, number> = { off: 0 };
  const branches: unknown[] = [];
  for (const [variant, { value, services }] of [...byVariant].sort(([, a], [, b]) => a.value - b.value)) {
    variants[variant] = value;
    branches.push(serviceIn(services), variant);
  }
  return flag(description, variants, branches);
}

function flag(description: string, variants: FlagDefinition['variants'], branches: unknown[]): FlagDefinition {
  return {
    state: 'ENABLED',
    variants,
    defaultVariant: 'off',
    ...(branches.length > 0 ? { targeting: { if: [...branches, 'off'] } } : {}),
    metadata: { description },
  };
}

/** The flagd flag configuration for `environment` with `degradations` in force. */
export function flagDocument(environment: DrillEnvironment, degradations: readonly Degradation[]): FlagDocument {
  const latency = new Map<string, number>();
  const errorRate = new Map<string, number>();
  const dependencies = new Set<string>();
  for (const { step } of degradations) {
    if (step.fault === 'latency') latency.set(step.service, Math.max(latency.get(step.service) ?? 0, step.latencyMs));
    else if (step.fault === 'error_rate')
      errorRate.set(step.service, Math.max(errorRate.get(step.service) ?? 0, step.errorRate));
    else dependencies.add(`${step.service}/${step.dependency}`);
  }
  const off = [...dependencies].sort();
  return {
    $schema: FLAGD_SCHEMA,
    metadata: { flagSetId: `drills-${environment}`, source: 'simulator' },
    flags: {
      [FLAG_KEYS.latency]: numericFlag(
        'Drill fault injection: milliseconds to add to each request of the service in the context',
        latency,
        (ms) => `${ms}ms`,
      ),
      [FLAG_KEYS.errorRate]: numericFlag(
        'Drill fault injection: the share of requests the service in the context should fail',
        errorRate,
        (rate) => `rate-${rate}`,
      ),
      [FLAG_KEYS.dependencyOff]: flag(
        'Drill fault injection: the service in the context must treat the dependency in the context as unavailable',
        { on: true, off: false },
        off.length > 0 ? [{ in: [{ cat: [{ var: 'service' }, '/', { var: 'dependency' }] }, off] }, 'on'] : [],
      ),
    },
  };
}

/**
 * The degradations in force in `environment`: the fired `degrade` steps of its running runs,
 * none at all while the kill switch is engaged.
 */
export async function degradationsInForce(
  db: NodePgDatabase<typeof schema>,
  environment: DrillEnvironment,
): Promise<Degradation[]> {
  const rows = await db
    .select({ runId: schema.runSteps.runId, spec: schema.runSteps.spec })
    .from(schema.runSteps)
    .innerJoin(schema.runs, eq(schema.runs.id, schema.runSteps.runId))
    .where(
      and(
        eq(schema.runs.state, 'running'),
        eq(schema.runs.environment, environment),
        eq(schema.runSteps.state, 'fired'),
        sql`${schema.runSteps.spec}->>'action' = 'degrade'`,
        sql`not exists (select 1 from ${schema.killSwitch} where ${schema.killSwitch.engaged})`,
      ),
    )
    .orderBy(asc(schema.runSteps.runId), asc(schema.runSteps.index));
  return rows.flatMap(({ runId, spec }) => (spec.action === 'degrade' ? [{ runId, step: spec }] : []));
}

/** A strong ETag of the document as sent (flagd's HTTP sync sends it back as If-None-Match). */
export function etagOf(body: string): string {
  return `"${createHash('sha256').update(body).digest('base64url')}"`;
}
