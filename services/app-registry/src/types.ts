import type { RiskTier } from '@micro-oncall/incident-model';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import type * as schema from './db/schema.js';

/*
 * The types the service's modules share (the database, who acts, the lifecycle's settings), so
 * that a module can say what it needs without importing the store that implements it.
 */

export type Db = NodePgDatabase<typeof schema>;
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** Anything that runs queries: the database or a transaction. */
export type Executor = Db | Tx;
export type Clock = () => Date;

export interface Actor {
  type: 'user' | 'system';
  /** The person's subject, or the job's name. */
  subject: string;
  name: string | null;
}

export interface Meta {
  requestId?: string | null;
}

export interface LifecycleSettings {
  idleAfterDays: Record<RiskTier, number>;
  disableAfterIdleDays: number;
  archiveAfterDisabledDays: number;
  restoreWindowDays: number;
  /** Days before its purge an archived app's owners are warned (default DEFAULT_PURGE_WARNING_DAYS in lifecycle.ts). */
  purgeWarningDays?: number;
  exceptionMaxDays: number;
  /** Days evidence of each kind counts (default DEFAULT_EVIDENCE_MAX_AGE_DAYS in evidence.ts). */
  evidenceMaxAgeDays?: Partial<Record<'sbom' | 'secret_scan' | 'dependency_scan' | 'sso', number>>;
}
