import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { advisoryLockKey, type Component, ConflictError, type Logger } from '@micro-oncall/service-kit';
import { and, desc, eq, sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import * as schema from '../db/schema.js';
import { digestOf, parseScenario, type ScenarioDefinition } from './definition.js';

type Db = NodePgDatabase<typeof schema>;
export type ScenarioRow = typeof schema.scenarios.$inferSelect;

/** The built-in scenarios shipped with the service (services/simulator/scenarios/*.yml). */
export const BUILTIN_SCENARIOS_DIR = fileURLToPath(new URL('../../scenarios', import.meta.url));

/** Reads and validates every built-in file; a bad one stops start-up with the file, field and line. */
export function loadBuiltinScenarios(dir = BUILTIN_SCENARIOS_DIR): ScenarioDefinition[] {
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  const seen = new Map<string, string>();
  return files.map((file) => {
    const definition = parseScenario(readFileSync(join(dir, file), 'utf8'), 'yaml', `built-in scenario ${file}`);
    const other = seen.get(definition.id);
    if (other) throw new Error(`built-in scenarios ${other} and ${file} have the same id ${definition.id}`);
    seen.set(definition.id, file);
    return definition;
  });
}

export interface ScenarioStore {
  /** The latest version of every scenario, by id. */
  list(): Promise<ScenarioRow[]>;
  /** A version of a scenario (the latest when `version` is undefined); undefined when there is none. */
  get(id: string, version?: number): Promise<ScenarioRow | undefined>;
  versions(id: string): Promise<ScenarioRow[]>;
  /**
   * Stores `definition` as the next version of its id, or returns the latest version unchanged
   * (`created: false`) when its content is the same. Built-in ids cannot be edited through the API.
   */
  save(
    definition: ScenarioDefinition,
    source: 'builtin' | 'api',
    by: { subject: string; name: string | null } | null,
    onCreated?: (row: ScenarioRow, tx: Parameters<Parameters<Db['transaction']>[0]>[0]) => Promise<void>,
  ): Promise<{ row: ScenarioRow; created: boolean }>;
}

export function createScenarioStore(db: Db): ScenarioStore {
  const latestOf = (id: string) =>
    db
      .select()
      .from(schema.scenarios)
      .where(eq(schema.scenarios.id, id))
      .orderBy(desc(schema.scenarios.version))
      .limit(1)
      .then((rows) => rows[0]);
  return {
    async list() {
      return db
        .selectDistinctOn([schema.scenarios.id])
        .from(schema.scenarios)
        .orderBy(schema.scenarios.id, desc(schema.scenarios.version));
    },
    async get(id, version) {
      if (version === undefined) return latestOf(id);
      const rows = await db
        .select()
        .from(schema.scenarios)
        .where(and(eq(schema.scenarios.id, id), eq(schema.scenarios.version, version)));
      return rows[0];
    },
    async versions(id) {
      return db
        .select()
        .from(schema.scenarios)
        .where(eq(schema.scenarios.id, id))
        .orderBy(desc(schema.scenarios.version));
    },
    async save(definition, source, by, onCreated) {
      const digest = digestOf(definition);
      return db.transaction(async (tx) => {
        // One writer per scenario id at a time, across replicas: versions are consecutive.
        await tx.execute(
          sql`select pg_advisory_xact_lock(${advisoryLockKey('simulator', 'scenario', definition.id)}::bigint)`,
        );
        const [latest] = await tx
          .select()
          .from(schema.scenarios)
          .where(eq(schema.scenarios.id, definition.id))
          .orderBy(desc(schema.scenarios.version))
          .limit(1);
        if (latest && latest.source !== source) {
          throw new ConflictError(
            source === 'api'
              ? `scenario ${definition.id} is a built-in: it changes with releases of the simulator. Save yours under another id`
              : `built-in scenario ${definition.id} has the id of a team's scenario: rename the built-in`,
          );
        }
        if (latest && latest.digest === digest) return { row: latest, created: false };
        const [row] = await tx
          .insert(schema.scenarios)
          .values({
            id: definition.id,
            version: (latest?.version ?? 0) + 1,
            name: definition.name,
            team: definition.team,
            environment: definition.environment,
            definition,
            digest,
            source,
            createdBySubject: by?.subject ?? null,
            createdByName: by?.name ?? null,
          })
          .returning();
        await onCreated?.(row!, tx);
        return { row: row!, created: true };
      });
    },
  };
}

/** At start-up: stores each built-in whose content changed as a new version (replicas agree by digest). */
export function createBuiltinSync(deps: {
  store: ScenarioStore;
  builtins: ScenarioDefinition[];
  logger: Logger;
}): Component & { start(): Promise<void> } {
  let synced = false;
  return {
    id: 'builtin-scenarios',
    async start() {
      for (const definition of deps.builtins) {
        const { row, created } = await deps.store.save(definition, 'builtin', null);
        if (created) deps.logger.info({ scenario: row.id, version: row.version }, 'built-in scenario stored');
      }
      synced = true;
    },
    async stop() {},
    async healthcheck() {
      return synced ? { healthy: true } : { healthy: false, reason: 'built-in scenarios not synced yet' };
    },
  };
}
