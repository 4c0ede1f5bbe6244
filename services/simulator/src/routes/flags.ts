import { DrillEnvironment } from '@micro-oncall/incident-model';
import { AuthenticationError, NotFoundError, secretsEqual } from '@micro-oncall/service-kit';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { Router } from 'express';
import { z } from 'zod';
import type * as schema from '../db/schema.js';
import { degradationsInForce, etagOf, flagDocument } from '../flags.js';
import type { Refusals } from '../refusals.js';
import { parse } from './scenarios.js';

export const FlagsParams = z.object({ environment: DrillEnvironment });

/** `If-None-Match: "a", W/"b"` → whether `etag` is among them (weak comparison, RFC 9110 13.1.2). */
function matches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

/**
 * GET /drills/v1/flags/:environment: the flagd flag configuration of the drills in force there,
 * for flagd's HTTP sync (`provider: http`). Not a user's route: flagd presents the shared token
 * (`Authorization: Bearer <FLAG_SOURCE_TOKEN>`, compared in constant time); a missing or wrong
 * one is refused (401) and audited. Production degradations are served only where production
 * drills are allowed. ETag / If-None-Match: an unchanged document answers 304.
 */
export function createFlagsRouter(deps: {
  db: NodePgDatabase<typeof schema>;
  /** Unset: the flag source is off (404). */
  token: string | undefined;
  productionAllowed: boolean;
  refusals: Refusals;
}): Router {
  const router = Router();
  const { refusals } = deps;

  router.get(
    '/drills/v1/flags/:environment',
    refusals.attempt('flags_read'),
    refusals.audited(async (req, res) => {
      if (!deps.token) {
        throw new NotFoundError('the drill flag source is off in this deployment (FLAG_SOURCE_TOKEN is not set)');
      }
      const presented = /^Bearer\s+(\S+)\s*$/i.exec(req.header('authorization') ?? '')?.[1];
      if (!presented) throw new AuthenticationError('missing token: send Authorization: Bearer <flag source token>');
      if (!secretsEqual(presented, deps.token)) throw new AuthenticationError('wrong flag source token');
      const { environment } = parse(FlagsParams, req.params, 'path');
      const inForce =
        environment === 'production' && !deps.productionAllowed ? [] : await degradationsInForce(deps.db, environment);
      const body = JSON.stringify(flagDocument(environment, inForce));
      const etag = etagOf(body);
      // flagd polls every few seconds: it may keep the document, but must ask again each time.
      res.set({ etag, 'cache-control': 'no-cache' });
      if (matches(req.header('if-none-match'), etag)) {
        res.status(304).end();
        return;
      }
      res.type('application/json').send(body);
    }),
  );

  return router;
}
