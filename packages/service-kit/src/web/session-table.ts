import { index, type PgSchema, text, timestamp } from 'drizzle-orm/pg-core';
import type { Role } from '../auth.js';

/*
 * Imported by a service's src/db/schema.ts (`@micro-oncall/service-kit/session-table`), so it
 * must stay free of anything but drizzle: drizzle-kit loads it to generate migrations.
 */

/**
 * The server-side record of browser sessions, in the schema of the service that owns it:
 * `export const sessions = sessionsTable(mySchema)` in src/db/schema.ts, then generate a
 * migration. The cookie carries only a random id; the table keys on its SHA-256, so reading the
 * table gives no usable cookie. Rows go on sign-out, expiry, a revocation at the issuer, or when
 * expired rows are pruned at the next sign-in.
 */
export function sessionsTable(schema: PgSchema, name = 'sessions') {
  const at = (column: string) => timestamp(column, { withTimezone: true, mode: 'date' });
  return schema.table(
    name,
    {
      /** base64url SHA-256 of the cookie's random id. */
      idHash: text('id_hash').primaryKey(),
      subject: text('subject').notNull(),
      name: text('name'),
      email: text('email'),
      roles: text('roles').array().$type<Role[]>().notNull(),
      /** Sent back in X-CSRF-Token by cookie-authenticated requests that change state. */
      csrf: text('csrf').notNull(),
      createdAt: at('created_at').notNull(),
      /** Absolute end, however active the session is. */
      expiresAt: at('expires_at').notNull(),
      /** Moved forward by requests; the session ends when nothing used it for the idle timeout. */
      idleExpiresAt: at('idle_expires_at').notNull(),
      /** When the roles were last read from the issuer (sign-in or refresh). */
      rolesCheckedAt: at('roles_checked_at').notNull(),
      /** The issuer's refresh token, encrypted with the session secret; null when it gave none. */
      refreshToken: text('refresh_token'),
      /**
       * The issuer's latest access token for the user, encrypted like the refresh token: what
       * GET /auth/token hands the product's other pages (every replica can reuse it until it
       * nearly expires, so a rotating refresh token is spent once per token, not per replica).
       */
      accessToken: text('access_token'),
      accessTokenExpiresAt: at('access_token_expires_at'),
    },
    (t) => [
      index(`${name}_subject_idx`).on(t.subject),
      index(`${name}_expires_at_idx`).on(t.expiresAt),
      index(`${name}_idle_expires_at_idx`).on(t.idleExpiresAt),
    ],
  );
}

export type SessionsTable = ReturnType<typeof sessionsTable>;
