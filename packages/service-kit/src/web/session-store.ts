import { and, eq, lt, or } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type { Role } from '../auth.js';
import type { SessionsTable } from './session-table.js';

/** One browser session as the store keeps it (see session-table.ts for the columns). */
export interface StoredSession {
  /** SHA-256 of the cookie's random id (base64url): the cookie value itself is never stored. */
  idHash: string;
  subject: string;
  name: string | null;
  email: string | null;
  roles: Role[];
  csrf: string;
  createdAt: Date;
  expiresAt: Date;
  idleExpiresAt: Date;
  rolesCheckedAt: Date;
  /** Sealed refresh token (see session.ts), or null. */
  refreshToken: string | null;
  /** Sealed access token for GET /auth/token (see session.ts), and when it expires; absent or null: none yet. */
  accessToken?: string | null;
  accessTokenExpiresAt?: Date | null;
}

export type SessionChanges = Partial<
  Pick<
    StoredSession,
    'name' | 'email' | 'roles' | 'refreshToken' | 'rolesCheckedAt' | 'accessToken' | 'accessTokenExpiresAt'
  >
>;

/**
 * Where sessions live. Small on purpose, so a service can keep them in its own schema
 * (`createDbSessionStore`) and tests can use `createMemorySessionStore`.
 */
export interface SessionStore {
  create(session: StoredSession): Promise<void>;
  find(idHash: string): Promise<StoredSession | null>;
  /** Moves the idle deadline forward. */
  touch(idHash: string, idleExpiresAt: Date): Promise<void>;
  /**
   * Claims the next role check: sets rolesCheckedAt to `now` only if it is still `seen`, so that
   * of several requests (or replicas) only one asks the issuer. True when this caller won.
   */
  claimRoleCheck(idHash: string, seen: Date, now: Date): Promise<boolean>;
  update(idHash: string, changes: SessionChanges): Promise<void>;
  /** True when there was such a session. */
  delete(idHash: string): Promise<boolean>;
  /** Removes sessions past either deadline; returns how many. */
  deleteExpired(now: Date): Promise<number>;
}

// biome-ignore lint/suspicious/noExplicitAny: any drizzle PostgreSQL database, whatever its schema
type AnyPgDatabase = PgDatabase<PgQueryResultHKT, any, any>;

/** Sessions in a table of the service's own schema, made with `sessionsTable()`. */
export function createDbSessionStore(db: AnyPgDatabase, table: SessionsTable): SessionStore {
  return {
    async create(session) {
      await db.insert(table).values(session);
    },
    async find(idHash) {
      const [row] = await db.select().from(table).where(eq(table.idHash, idHash)).limit(1);
      return row ?? null;
    },
    async touch(idHash, idleExpiresAt) {
      await db.update(table).set({ idleExpiresAt }).where(eq(table.idHash, idHash));
    },
    async claimRoleCheck(idHash, seen, now) {
      const claimed = await db
        .update(table)
        .set({ rolesCheckedAt: now })
        .where(and(eq(table.idHash, idHash), eq(table.rolesCheckedAt, seen)))
        .returning({ idHash: table.idHash });
      return claimed.length > 0;
    },
    async update(idHash, changes) {
      if (Object.keys(changes).length === 0) return;
      await db.update(table).set(changes).where(eq(table.idHash, idHash));
    },
    async delete(idHash) {
      const deleted = await db.delete(table).where(eq(table.idHash, idHash)).returning({ idHash: table.idHash });
      return deleted.length > 0;
    },
    async deleteExpired(now) {
      const deleted = await db
        .delete(table)
        .where(or(lt(table.expiresAt, now), lt(table.idleExpiresAt, now)))
        .returning({ idHash: table.idHash });
      return deleted.length;
    },
  };
}

/** In-process sessions: for tests and single-process tools (nothing survives a restart). */
export function createMemorySessionStore(): SessionStore & { size(): number } {
  const sessions = new Map<string, StoredSession>();
  return {
    size: () => sessions.size,
    async create(session) {
      if (sessions.has(session.idHash)) throw new Error('duplicate session id');
      sessions.set(session.idHash, { ...session });
    },
    async find(idHash) {
      const found = sessions.get(idHash);
      return found ? { ...found } : null;
    },
    async touch(idHash, idleExpiresAt) {
      const found = sessions.get(idHash);
      if (found) found.idleExpiresAt = idleExpiresAt;
    },
    async claimRoleCheck(idHash, seen, now) {
      const found = sessions.get(idHash);
      if (!found || found.rolesCheckedAt.getTime() !== seen.getTime()) return false;
      found.rolesCheckedAt = now;
      return true;
    },
    async update(idHash, changes) {
      const found = sessions.get(idHash);
      if (found) Object.assign(found, changes);
    },
    async delete(idHash) {
      return sessions.delete(idHash);
    },
    async deleteExpired(now) {
      let n = 0;
      for (const [id, s] of sessions) {
        if (s.expiresAt < now || s.idleExpiresAt < now) {
          sessions.delete(id);
          n += 1;
        }
      }
      return n;
    },
  };
}
