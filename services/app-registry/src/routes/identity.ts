import { AuthenticationError, InputError, NotFoundError, rateLimit, secretsEqual } from '@micro-oncall/service-kit';
import express, { type NextFunction, type Request, type Response, Router } from 'express';
import { z } from 'zod';
import type { Deactivation, Ownership } from '../ownership.js';

/*
 * Identity-provider events, with a shared secret instead of a person's JWT: when a person is
 * deactivated, the apps they own get ownership tasks. Two documented shapes are accepted:
 *
 * - an Okta event hook delivery (`eventType: com.okta.event_hook`, `data.events[]` each with
 *   `uuid`, `eventType`, `published` and `target[]` of `{ id, type: "User", alternateId,
 *   displayName }`); `user.lifecycle.deactivate` and `user.lifecycle.delete.initiated` count,
 *   other event types are acknowledged and ignored. Okta's one-time verification (a GET with
 *   `X-Okta-Verification-Challenge`) is answered.
 * - a SCIM 2.0 User resource (RFC 7643: `schemas` with `urn:ietf:params:scim:schemas:core:2.0:User`,
 *   `id`, `userName`, `emails`, `active`) with `active: false`, as a provisioning bridge (Entra ID,
 *   Okta, OneLogin…) forwards it.
 *
 * The secret is the whole `Authorization` header value (Okta's "authorization" header scheme) or
 * `Bearer <secret>`, compared in constant time.
 */

const OKTA_DEACTIVATIONS = new Set(['user.lifecycle.deactivate', 'user.lifecycle.delete.initiated']);
const SCIM_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';

const OktaTarget = z.object({
  id: z.string().min(1).max(256),
  type: z.string().max(64),
  alternateId: z.string().max(320).nullish(),
  displayName: z.string().max(256).nullish(),
});
const OktaEventHook = z.object({
  eventType: z.literal('com.okta.event_hook'),
  eventId: z.string().max(256).optional(),
  data: z.object({
    events: z
      .array(
        z.object({
          uuid: z.string().min(1).max(256),
          eventType: z.string().min(1).max(256),
          published: z.iso.datetime({ offset: true }).optional(),
          target: z.array(OktaTarget).max(50).nullish(),
        }),
      )
      .max(500),
  }),
});
const ScimUser = z.object({
  schemas: z.array(z.string()).refine((s) => s.includes(SCIM_USER), `schemas must include ${SCIM_USER}`),
  id: z.string().min(1).max(256),
  externalId: z.string().max(256).optional(),
  userName: z.string().min(1).max(320),
  displayName: z.string().max(256).optional(),
  active: z.boolean(),
  emails: z
    .array(z.object({ value: z.string().max(320), primary: z.boolean().optional(), type: z.string().optional() }))
    .max(20)
    .optional(),
  meta: z.object({ lastModified: z.string().optional(), version: z.string().optional() }).optional(),
});

const looksLikeEmail = (v: string | null | undefined) => (v && /^[^@\s]+@[^@\s]+$/.test(v) ? v : null);

/** The deactivations in an event body; 400 naming the field when it is neither documented shape. */
export function deactivationsOf(body: unknown, receivedAt: string): { deactivations: Deactivation[]; ignored: number } {
  const kind = (body as { eventType?: unknown } | null)?.eventType;
  if (kind === 'com.okta.event_hook') {
    const parsed = OktaEventHook.safeParse(body);
    if (!parsed.success) throw InputError.fromZod(parsed.error, 'Okta event hook');
    const deactivations: Deactivation[] = [];
    let ignored = 0;
    for (const event of parsed.data.data.events) {
      const users = (event.target ?? []).filter((t) => t.type === 'User');
      if (!OKTA_DEACTIVATIONS.has(event.eventType) || users.length === 0) {
        ignored += 1;
        continue;
      }
      users.forEach((user, i) => {
        deactivations.push({
          eventId: `okta:${event.uuid}${i > 0 ? `:${i}` : ''}`,
          source: 'okta',
          kind: event.eventType,
          subject: user.id,
          email: looksLikeEmail(user.alternateId),
          displayName: user.displayName ?? null,
          occurredAt: event.published ?? receivedAt,
        });
      });
    }
    return { deactivations, ignored };
  }
  if (Array.isArray((body as { schemas?: unknown } | null)?.schemas)) {
    const parsed = ScimUser.safeParse(body);
    if (!parsed.success) throw InputError.fromZod(parsed.error, 'SCIM User');
    const user = parsed.data;
    if (user.active) return { deactivations: [], ignored: 1 };
    const email =
      looksLikeEmail(user.emails?.find((e) => e.primary)?.value) ??
      looksLikeEmail(user.emails?.[0]?.value) ??
      looksLikeEmail(user.userName);
    const version = user.meta?.version ?? user.meta?.lastModified ?? 'inactive';
    return {
      deactivations: [
        {
          eventId: `scim:${user.id}:${version}`,
          source: 'scim',
          kind: 'active=false',
          subject: user.externalId ?? user.id,
          email,
          displayName: user.displayName ?? null,
          occurredAt:
            user.meta?.lastModified && !Number.isNaN(Date.parse(user.meta.lastModified))
              ? new Date(user.meta.lastModified).toISOString()
              : receivedAt,
        },
      ],
      ignored: 0,
    };
  }
  throw new InputError(
    'send an Okta event hook delivery (eventType com.okta.event_hook) or a SCIM 2.0 User resource with active: false',
    { issues: [{ path: 'eventType', message: 'neither an Okta event hook nor a SCIM User' }] },
  );
}

export function createIdentityRouter(deps: { ownership: Ownership; secret: string | undefined; now: () => string }) {
  const router = Router();
  const limit = rateLimit({ windowMs: 60_000, limit: 120 });

  const authorised = (req: Request, _res: Response, next: NextFunction) => {
    if (!deps.secret) {
      next(new NotFoundError('identity events are not configured here: set IDENTITY_EVENTS_SECRET (or _FILE)'));
      return;
    }
    const header = req.get('authorization') ?? '';
    const presented = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : header;
    // Compare both forms: the header as Okta sends it, and a bearer token.
    if (!(secretsEqual(presented, deps.secret) || secretsEqual(header, deps.secret))) {
      next(new AuthenticationError('send the identity events secret in Authorization'));
      return;
    }
    next();
  };

  // Okta's one-time verification of the hook's endpoint.
  router.get('/apps/v1/identity/events', limit, authorised, (req, res) => {
    const challenge = req.get('x-okta-verification-challenge');
    if (!challenge) throw new InputError('expected the X-Okta-Verification-Challenge header');
    res.json({ verification: challenge });
  });

  router.post('/apps/v1/identity/events', limit, authorised, express.json({ limit: '1mb' }), async (req, res) => {
    const { deactivations, ignored } = deactivationsOf(req.body, deps.now());
    const processed = [];
    for (const d of deactivations) {
      const result = await deps.ownership.deactivate(d, { requestId: req.id });
      processed.push({ eventId: d.eventId, subject: d.subject, ...result });
    }
    res.status(202).json({ processed, ignored });
  });

  return router;
}
