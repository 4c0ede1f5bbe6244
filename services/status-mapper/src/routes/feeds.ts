import { AuthenticationError, requireRole, secretsEqual } from '@micro-oncall/service-kit';
import { type RequestHandler, Router } from 'express';
import type { Mapping } from '../config/mapping.js';
import { providerFeed } from '../feed.js';
import { renderAtom } from '../feed-atom.js';
import { latestChanges, latestIncidentUpdates } from '../history.js';
import type { Db } from '../store.js';
import { sendWithEtag } from './etag.js';

/** Entries read from each source before merging (the feed keeps the newest FEED_ENTRIES of both). */
const READ = 100;

/**
 * The machine outputs besides /status/internal, each with its own authentication chain (so the
 * router is mounted before the app's `/status` authentication):
 *
 * - GET /status/feed.atom (viewer, or the feed's read token): an Atom 1.0 feed of provider
 *   component changes and provider incident updates, newest first, with a weak ETag
 *   (If-None-Match → 304). Feed readers and chat tools often cannot send a bearer header, so
 *   `?token=` with the configured feed token (STATUS_FEED_TOKEN) also reads it; a wrong token is
 *   401 even beside a valid JWT, and without a configured token `?token=` is always 401.
 * - GET /status/v1/stream (viewer): the live stream of changes (stream.ts).
 */
export function createFeedRouter(deps: {
  db: Db;
  mapping: () => Mapping;
  /** The feed's read token; unset = bearer JWT only. Never logged. */
  feedToken: string | undefined;
  /** The app's authentication (bearer JWT) for the routes here. */
  authenticate: RequestHandler;
  stream: { handler: RequestHandler };
}): Router {
  const router = Router();
  const viewer = [deps.authenticate, requireRole('viewer')];

  const serveFeed: RequestHandler = async (req, res) => {
    const [changes, incidents] = await Promise.all([
      latestChanges(deps.db, READ),
      latestIncidentUpdates(deps.db, READ),
    ]);
    const origin = `${req.protocol}://${req.get('host') ?? 'localhost'}`;
    const mapping = deps.mapping();
    const body = renderAtom(
      providerFeed({
        selfUrl: `${origin}/status/feed.atom`,
        currentUrl: `${origin}/status/internal`,
        changes,
        incidents,
        servicesFor: (component) => mapping.servicesFor(component),
      }),
    );
    sendWithEtag(req, res, body, 'application/atom+xml; charset=utf-8');
  };

  /** `?token=`: the feed token or 401; without one, on to the bearer JWT route below. */
  const feedToken: RequestHandler = (req, _res, next) => {
    const given = req.query.token;
    if (given === undefined) {
      next('route');
      return;
    }
    if (typeof given !== 'string' || !deps.feedToken || !secretsEqual(given, deps.feedToken)) {
      throw new AuthenticationError('wrong feed token (or no feed token is configured)');
    }
    next();
  };

  router.get('/status/feed.atom', feedToken, serveFeed);
  router.get('/status/feed.atom', ...viewer, serveFeed);
  router.get('/status/v1/stream', ...viewer, deps.stream.handler);
  return router;
}
