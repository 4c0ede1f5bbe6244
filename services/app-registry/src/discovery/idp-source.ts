import type { Logger } from '@micro-oncall/service-kit';
import { eq } from 'drizzle-orm';
import type { DiscoveryReadError, SourceReport } from '../db/discovery-schema.js';
import * as schema from '../db/schema.js';
import type { Registry } from '../store.js';
import type { Clock, Db } from '../types.js';
import {
  type IdpClientOptions,
  type IdpCursor,
  type IdpSource,
  isProviderFailure,
  isReadError,
  listIdpApps,
  parseIdpCursor,
} from './idp/index.js';
import type { Matcher } from './match.js';
import { createSightingSink } from './sink.js';

/*
 * One identity provider as a source of a discovery run (`idp:<name>` in the report): its app
 * inventory listed from its stored cursor (only registrations that are new or changed since),
 * every sighting through the run's sink (a client id of a registered app moves that app's last
 * activity; any other becomes an `idp-client` candidate with its evidence), and the new cursor
 * written in the ONE transaction of the provider's results: a registration is reported once.
 * An inventory is small (apps, not log lines), so the provider's results are held until its
 * listing ends; a run cut off before then writes nothing for it and the next run lists it again.
 */

/** The name of a provider's source in run reports and candidates' `sources`. */
export const idpSourceName = (source: Pick<IdpSource, 'name'>) => `idp:${source.name}`;

export interface IdpSourceDeps {
  db: Db;
  registry: Pick<Registry, 'recordActivities'>;
  clock: Clock;
  logger: Logger;
  /** Retries and timeouts of the providers' clients (tests shorten them). */
  client?: Omit<IdpClientOptions, 'logger' | 'now'>;
  noteError: (report: SourceReport, error: DiscoveryReadError) => void;
}

export async function readIdpSource(
  deps: IdpSourceDeps,
  source: IdpSource,
  report: SourceReport,
  matcher: Matcher,
  signal: AbortSignal,
) {
  const { db, clock } = deps;
  const c = schema.discoveryIdpCursors;
  const [stored] = await db.select({ cursor: c.cursor }).from(c).where(eq(c.provider, source.name));
  const listing = listIdpApps(source, parseIdpCursor(stored?.cursor ?? null), {
    ...deps.client,
    logger: deps.logger,
    now: clock,
  });
  let cursor: IdpCursor | undefined;
  const sink = createSightingSink({
    db,
    registry: deps.registry,
    clock,
    matcher,
    source: idpSourceName(source),
    report,
    // One transaction for the whole listing (see above).
    batchSize: Number.POSITIVE_INFINITY,
    async writeCursor(tx) {
      const updatedAt = clock().toISOString();
      await tx
        .insert(c)
        .values({ provider: source.name, cursor: cursor!, updatedAt })
        .onConflictDoUpdate({ target: c.provider, set: { cursor: cursor!, updatedAt } });
    },
  });
  let failure: string | null = null;
  for await (const entry of listing.sightings) {
    // The listing's requests are not cut off mid-page; what was listed so far is dropped.
    if (signal.aborted) return;
    if (isReadError(entry)) {
      deps.noteError(report, entry);
      if (isProviderFailure(entry)) failure ??= entry.message;
      continue;
    }
    // An inventory's "line" is one app reported.
    report.linesRead += 1;
    await sink.add(entry);
  }
  // After a listing cut short by a failure, the cursor still holds what was listed before it:
  // what was read is kept, nothing is reported twice.
  cursor = listing.cursor();
  await sink.flush();
  if (failure !== null) report.failed = failure;
}
