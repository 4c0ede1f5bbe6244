import { Counter, Gauge, type Registry } from '@micro-oncall/service-kit';
import { sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import type * as schema from './db/schema.js';

/**
 * The simulator's own metrics. Everything it does is drill traffic, so every name starts with
 * `drill_`; label values come from code and configuration (environments, targets, outcomes).
 */
export interface DrillMetrics {
  proposed: Counter<'environment' | 'approval'>;
  started: Counter<'environment'>;
  ended: Counter<'environment' | 'outcome'>;
  alertsSent: Counter<'target' | 'action' | 'outcome'>;
  refusals: Counter<'action' | 'status'>;
}

export function createDrillMetrics(registry: Registry, db: NodePgDatabase<typeof schema>): DrillMetrics {
  const registers = [registry];
  new Gauge({
    name: 'drill_runs_open',
    help: 'Runs awaiting approval or running, by environment and state (read from the database at scrape)',
    labelNames: ['environment', 'state'] as const,
    registers,
    // Read from the database: every worker process (WORKER_PROCESSES) reads the same value.
    aggregator: 'first',
    async collect() {
      const { rows } = await db.execute<{ environment: string; state: string; n: number }>(
        sql`select environment, state, count(*)::int as n from simulator.runs where state in ('awaiting_approval', 'running') group by 1, 2`,
      );
      this.reset();
      for (const environment of ['staging', 'production']) {
        for (const state of ['awaiting_approval', 'running']) this.set({ environment, state }, 0);
      }
      for (const r of rows) this.set({ environment: r.environment, state: r.state }, r.n);
    },
  });
  new Gauge({
    name: 'drill_kill_switch_engaged',
    help: '1 while the global kill switch is engaged (no drill runs), else 0',
    registers,
    aggregator: 'first',
    async collect() {
      const { rows } = await db.execute<{ engaged: boolean }>(
        sql`select engaged from simulator.kill_switch where id = 1`,
      );
      this.set(rows[0]?.engaged ? 1 : 0);
    },
  });
  return {
    proposed: new Counter({
      name: 'drill_runs_proposed_total',
      help: 'Drill runs proposed, by environment and whether they needed an approver',
      labelNames: ['environment', 'approval'] as const,
      registers,
    }),
    started: new Counter({
      name: 'drill_runs_started_total',
      help: 'Drill runs started (at once, or on approval)',
      labelNames: ['environment'] as const,
      registers,
    }),
    ended: new Counter({
      name: 'drill_runs_ended_total',
      help: 'Drill runs that ended, by how: completed, aborted, expired, failed, rejected',
      labelNames: ['environment', 'outcome'] as const,
      registers,
    }),
    alertsSent: new Counter({
      name: 'drill_alerts_sent_total',
      help: 'Synthetic alerts sent to targets, by target, action (fire, update, resolve, refresh) and outcome (ok, failed)',
      labelNames: ['target', 'action', 'outcome'] as const,
      registers,
    }),
    refusals: new Counter({
      name: 'drill_refusals_total',
      help: 'Drill requests refused (every one is also in the audit log), by action and status',
      labelNames: ['action', 'status'] as const,
      registers,
    }),
  };
}
