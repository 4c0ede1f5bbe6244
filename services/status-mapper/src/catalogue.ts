import { createHttpClient, type HttpClient, type Logger } from '@micro-oncall/service-kit';
import { z } from 'zod';

/*
 * Escalation's service catalogue, as GET /status/v1/mapping checks the mapped services against
 * it: escalation's GET /v1/services, asked with the caller's own bearer token (status-mapper holds
 * no credential of its own for it), through the kit's client (timeout, one retry, circuit
 * breaker). A good answer is kept `cacheSeconds` for every caller: the catalogue is what any
 * viewer of escalation may read. Failures are not kept: the next request asks again.
 */

/** What status-mapper reads of escalation's answer (escalation sends more). */
const CatalogueAnswer = z.object({
  items: z.array(z.object({ service: z.string().min(1), aliases: z.array(z.string()).default([]) })),
});

export type CatalogueLookup =
  | {
      available: true;
      /** When escalation answered (the answer may be up to `cacheSeconds` old). */
      fetchedAt: string;
      /** Every key escalation resolves: slugs and aliases. */
      known: ReadonlySet<string>;
      services: number;
    }
  | { available: false; reason: string };

export interface CatalogueClient {
  /** `authorization`: the caller's `Authorization` header, forwarded as it came. */
  lookup(authorization: string | undefined): Promise<CatalogueLookup>;
}

export function createCatalogueClient(opts: {
  /** ESCALATION_URL; undefined: the catalogue is never available (the answer says why). */
  baseUrl: string | undefined;
  timeoutMs: number;
  cacheSeconds: number;
  logger: Logger;
  now?: () => number;
}): CatalogueClient {
  const now = opts.now ?? Date.now;
  const http: HttpClient | null = opts.baseUrl
    ? createHttpClient({
        name: 'escalation',
        baseUrl: opts.baseUrl,
        timeoutMs: opts.timeoutMs,
        // An operator is waiting for the answer: one quick retry, then say it is unavailable.
        retries: 1,
        backoff: { initialMs: 100, maxMs: 500 },
        logger: opts.logger,
      })
    : null;
  let cached: { at: number; value: Extract<CatalogueLookup, { available: true }> } | null = null;

  return {
    async lookup(authorization) {
      if (!http) return { available: false, reason: 'ESCALATION_URL is not set: the catalogue cannot be asked' };
      if (cached && now() - cached.at < opts.cacheSeconds * 1000) return cached.value;
      if (!authorization) return { available: false, reason: 'no bearer token to ask escalation with' };
      let body: unknown;
      try {
        body = (await http.request({ method: 'GET', path: '/v1/services', headers: { authorization } })).body;
      } catch (error) {
        // The kit's messages name escalation and what happened, never the URL or the token.
        opts.logger.warn({ err: error }, "could not read escalation's service catalogue");
        return { available: false, reason: (error as Error).message };
      }
      const parsed = CatalogueAnswer.safeParse(body);
      if (!parsed.success) {
        return { available: false, reason: "escalation's answer to GET /v1/services is not a service list" };
      }
      const known = new Set(parsed.data.items.flatMap((i) => [i.service, ...i.aliases]));
      const value = {
        available: true as const,
        fetchedAt: new Date(now()).toISOString(),
        known,
        services: parsed.data.items.length,
      };
      cached = { at: now(), value };
      return value;
    },
  };
}
