import { hasRole, InputError, type Principal, requireRole, ServiceError } from '@micro-oncall/service-kit';
import { and, desc, eq, gt, lt, sql } from 'drizzle-orm';
import express, { type Request, Router } from 'express';
import { z } from 'zod';
import * as schema from '../db/schema.js';
import { CreateAppBody, PatchAppBody } from '../model.js';
import type { PolicyEngine } from '../policy.js';
import { cursorFor, listRows, parseListQuery } from '../query.js';
import { type Actor, exceptionView, type Registry } from '../store.js';
import { viewOf } from '../views.js';

/** 428: a change that must say which version it applies to did not. */
export class PreconditionRequiredError extends ServiceError {
  override readonly status = 428;
  override readonly code = 'precondition_required';
}

export const ApproveBody = z.object({ comment: z.string().trim().min(1).max(2000).optional() }).strict();
export const RejectBody = z.object({ reason: z.string().trim().min(1).max(2000) }).strict();
export const ExceptionBody = z
  .object({
    control: z.string().trim().min(1).max(64),
    reason: z.string().trim().min(1).max(2000),
    expiresAt: z.iso.datetime({ offset: true }),
  })
  .strict();
export const ExemptionBody = z
  .object({ until: z.iso.datetime({ offset: true }).nullable(), reason: z.string().trim().min(1).max(2000) })
  .strict();
export const ActivityBody = z
  .object({ at: z.iso.datetime({ offset: true }).optional(), source: z.string().trim().min(1).max(128).default('api') })
  .strict();
export const PageQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(100),
    before: z.coerce.number().int().min(1).optional(),
  })
  .strict();
export const AuditQuery = z
  .object({
    appId: z.string().max(64).optional(),
    outcome: z.enum(['allowed', 'denied', 'failed']).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    before: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

export function parse<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const parsed = schema.safeParse(value ?? {});
  if (!parsed.success) throw InputError.fromZod(parsed.error, what);
  return parsed.data;
}

export const actorOf = (p: Principal): Actor => ({ type: 'user', subject: p.subject, name: p.name ?? p.email });
const principal = (req: Request) => req.principal!;
const meta = (req: Request) => ({ requestId: req.id });
const etag = (version: number) => `"v${version}"`;

/** `If-Match: "v3"` (or W/"v3") → 3; 428 without it. */
function expectedVersion(req: Request): number {
  const header = req.get('if-match');
  if (!header) {
    throw new PreconditionRequiredError(
      'send If-Match with the ETag of the app you edited (GET it first): edits never overwrite a change you have not seen',
    );
  }
  const match = /^(?:W\/)?"v(\d+)"$/.exec(header.trim());
  if (!match)
    throw new InputError('If-Match must be the ETag this API returned, e.g. "v3"', {
      issues: [{ path: 'If-Match', message: 'not an ETag of this API' }],
    });
  return Number(match[1]);
}

/**
 * The signed-in API under /apps/v1 (bearer JWT): viewers read; responders register, edit,
 * import, ask for exceptions and restore their own apps; approvers approve (never their own
 * requests), decide exceptions and exemptions, and read the audit; admins purge, restore any
 * app and run the lifecycle sweep.
 */
export function createAppsRouter(deps: {
  registry: Registry;
  policy: PolicyEngine;
  sweepNow: () => Promise<string>;
}): Router {
  const { registry } = deps;
  const db = registry.db;
  const router = Router();
  const json = express.json({ limit: '256kb' });

  router.get('/apps/v1/apps', requireRole('viewer'), async (req, res) => {
    const q = parseListQuery(req.query);
    const rows = await listRows(db, q);
    const items = rows.slice(0, q.limit);
    const last = items[items.length - 1];
    // Sent as res.json would, without the weak ETag that res.send derives from a SHA-1 of the
    // page (~80 kB): a list is read afresh (the UI asks with `cache: 'no-store'`), and the
    // service had built the whole page before that hash could answer 304.
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(
      JSON.stringify({
        items: items.map(viewOf),
        nextCursor: rows.length > q.limit && last ? cursorFor(q, last) : null,
      }),
    );
  });

  router.post('/apps/v1/apps', requireRole('responder'), json, async (req, res) => {
    const body = parse(CreateAppBody, req.body, 'app');
    const { app, token } = await registry.register(body, actorOf(principal(req)), meta(req));
    res.status(201).setHeader('ETag', etag(app.version)).setHeader('Location', `/apps/v1/apps/${app.id}`);
    res.json({ app, decision: app.decision, token });
  });

  router.get('/apps/v1/apps/:id', requireRole('viewer'), async (req, res) => {
    const app = viewOf(await registry.load(String(req.params.id)));
    res.setHeader('ETag', etag(app.version));
    if (req.get('if-none-match') === etag(app.version)) {
      res.status(304).end();
      return;
    }
    res.json(app);
  });

  router.patch('/apps/v1/apps/:id', requireRole('responder'), json, async (req, res) => {
    const version = expectedVersion(req);
    const patch = parse(PatchAppBody, req.body, 'change');
    const app = await registry.update(String(req.params.id), patch, version, actorOf(principal(req)), meta(req));
    res.setHeader('ETag', etag(app.version)).json(app);
  });

  router.get('/apps/v1/apps/:id/history', requireRole('viewer'), async (req, res) => {
    const q = parse(PageQuery, req.query, 'query');
    const id = String(req.params.id);
    await registry.load(id);
    const rows = await db
      .select()
      .from(schema.appHistory)
      .where(and(eq(schema.appHistory.appId, id), q.before ? lt(schema.appHistory.id, q.before) : undefined))
      .orderBy(desc(schema.appHistory.id))
      .limit(q.limit + 1);
    const items = rows.slice(0, q.limit);
    res.json({
      items: items.map((h) => ({ ...h, at: new Date(h.at).toISOString() })),
      nextBefore: rows.length > q.limit ? (items[items.length - 1]?.id ?? null) : null,
    });
  });

  router.get('/apps/v1/apps/:id/decisions', requireRole('viewer'), async (req, res) => {
    const id = String(req.params.id);
    await registry.load(id);
    const rows = await db
      .select()
      .from(schema.decisions)
      .where(eq(schema.decisions.appId, id))
      .orderBy(desc(schema.decisions.at))
      .limit(200);
    res.json({ items: rows.map((d) => ({ ...d, at: new Date(d.at).toISOString() })) });
  });

  router.post('/apps/v1/apps/:id/evaluate', requireRole('responder'), async (req, res) => {
    const row = await registry.reevaluate(String(req.params.id), actorOf(principal(req)), meta(req));
    const app = viewOf(row);
    res.setHeader('ETag', etag(app.version)).json({ app, decision: app.decision });
  });

  router.post('/apps/v1/apps/:id/approve', requireRole('approver'), json, async (req, res) => {
    const body = parse(ApproveBody, req.body, 'approval');
    const app = await registry.approve(String(req.params.id), actorOf(principal(req)), body.comment ?? null, meta(req));
    res.setHeader('ETag', etag(app.version)).json({ app, decision: app.decision });
  });

  router.post('/apps/v1/apps/:id/reject', requireRole('approver'), json, async (req, res) => {
    const body = parse(RejectBody, req.body, 'rejection');
    const app = await registry.reject(String(req.params.id), actorOf(principal(req)), body.reason, meta(req));
    res.setHeader('ETag', etag(app.version)).json({ app, decision: app.decision });
  });

  router.post('/apps/v1/apps/:id/tokens', requireRole('responder'), async (req, res) => {
    const token = await registry.rotateToken(String(req.params.id), actorOf(principal(req)), meta(req));
    res
      .status(201)
      .json({ token, note: 'shown once: store it as a pipeline secret; the previous token no longer works' });
  });

  router.get('/apps/v1/apps/:id/evidence', requireRole('viewer'), async (req, res) => {
    const id = String(req.params.id);
    await registry.load(id);
    const rows = await db
      .select()
      .from(schema.evidence)
      .where(eq(schema.evidence.appId, id))
      .orderBy(desc(schema.evidence.receivedAt))
      .limit(200);
    res.json({
      items: rows.map((e) => ({
        id: e.id,
        kind: e.kind,
        format: e.format,
        receivedAt: new Date(e.receivedAt).toISOString(),
        summary: e.summary,
        sha256: e.sha256,
      })),
    });
  });

  router.get('/apps/v1/apps/:id/exceptions', requireRole('viewer'), async (req, res) => {
    const id = String(req.params.id);
    await registry.load(id);
    const rows = await db
      .select()
      .from(schema.controlExceptions)
      .where(eq(schema.controlExceptions.appId, id))
      .orderBy(desc(schema.controlExceptions.requestedAt));
    res.json({ items: rows.map(exceptionView) });
  });

  router.post('/apps/v1/apps/:id/exceptions', requireRole('responder'), json, async (req, res) => {
    const body = parse(ExceptionBody, req.body, 'exception');
    res
      .status(201)
      .json(await registry.requestException(String(req.params.id), body, actorOf(principal(req)), meta(req)));
  });

  for (const decision of ['approve', 'reject'] as const) {
    router.post(`/apps/v1/apps/:id/exceptions/:exceptionId/${decision}`, requireRole('approver'), async (req, res) => {
      const exceptionId = String(req.params.exceptionId);
      if (!z.uuid().safeParse(exceptionId).success)
        throw new InputError('exceptionId is not an exception id', {
          issues: [{ path: 'exceptionId', message: 'a UUID' }],
        });
      res.json(
        await registry.decideException(
          String(req.params.id),
          exceptionId,
          decision === 'approve',
          actorOf(principal(req)),
          meta(req),
        ),
      );
    });
  }

  router.post('/apps/v1/apps/:id/restore', requireRole('responder'), async (req, res) => {
    const p = principal(req);
    const app = await registry.restore(String(req.params.id), actorOf(p), hasRole(p, 'admin'), meta(req));
    res.setHeader('ETag', etag(app.version)).json(app);
  });

  router.post('/apps/v1/apps/:id/purge', requireRole('admin'), async (req, res) => {
    const app = await registry.purge(String(req.params.id), actorOf(principal(req)), meta(req));
    res.json(app);
  });

  router.post('/apps/v1/apps/:id/exemption', requireRole('approver'), json, async (req, res) => {
    const body = parse(ExemptionBody, req.body, 'exemption');
    const until = body.until ? new Date(body.until).toISOString() : null;
    const app = await registry.exempt(String(req.params.id), until, body.reason, actorOf(principal(req)), meta(req));
    res.setHeader('ETag', etag(app.version)).json(app);
  });

  router.post('/apps/v1/apps/:id/activity', requireRole('responder'), json, async (req, res) => {
    const body = parse(ActivityBody, req.body, 'activity');
    await registry.recordActivity(
      { id: String(req.params.id) },
      body.at ? new Date(body.at) : new Date(registry.nowIso()),
      body.source,
    );
    res.status(202).json({ recorded: true });
  });

  router.get('/apps/v1/templates', requireRole('viewer'), async (_req, res) => {
    res.json({ items: await deps.policy.templates() });
  });

  router.get('/apps/v1/violations', requireRole('viewer'), async (req, res) => {
    const q = parse(
      z.object({ limit: z.coerce.number().int().min(1).max(1000).default(200) }).strict(),
      req.query,
      'query',
    );
    const rows = await db
      .select()
      .from(schema.apps)
      .where(and(gt(schema.apps.openViolations, 0), sql`${schema.apps.state} <> 'purged'`))
      .orderBy(desc(schema.apps.openViolations), schema.apps.name)
      .limit(q.limit);
    res.json({
      items: rows.flatMap((row) =>
        (row.decision?.controls ?? [])
          .filter((c) => c.status === 'missing' || c.status === 'failing' || c.status === 'violated')
          .map((c) => ({
            appId: row.id,
            app: row.name,
            state: row.state,
            tier: row.tier,
            owner: row.ownerName ? { name: row.ownerName, contact: row.ownerContact } : null,
            team: { name: row.teamName, contact: row.teamContact },
            control: c.id,
            rule: c.rule,
            status: c.status,
            message: c.message,
            // The owner's task: what to change.
            task: c.fix,
          })),
      ),
    });
  });

  router.get('/apps/v1/exceptions', requireRole('viewer'), async (req, res) => {
    const q = parse(
      z
        .object({
          status: z.enum(['pending', 'approved', 'rejected']).optional(),
          limit: z.coerce.number().int().min(1).max(1000).default(200),
        })
        .strict(),
      req.query,
      'query',
    );
    const x = schema.controlExceptions;
    const rows = await db
      .select({ exception: x, app: schema.apps.name, appState: schema.apps.state })
      .from(x)
      .innerJoin(schema.apps, eq(schema.apps.id, x.appId))
      .where(and(q.status ? eq(x.status, q.status) : undefined, sql`${schema.apps.state} <> 'purged'`))
      .orderBy(desc(x.requestedAt))
      .limit(q.limit);
    res.json({ items: rows.map((r) => ({ ...exceptionView(r.exception), app: r.app, appState: r.appState })) });
  });

  router.get('/apps/v1/audit', requireRole('approver'), async (req, res) => {
    const q = parse(AuditQuery, req.query, 'query');
    const rows = await db
      .select()
      .from(schema.auditLog)
      .where(
        and(
          q.appId ? eq(schema.auditLog.appId, q.appId) : undefined,
          q.outcome ? eq(schema.auditLog.outcome, q.outcome) : undefined,
          q.before ? lt(schema.auditLog.at, q.before) : undefined,
        ),
      )
      .orderBy(desc(schema.auditLog.at))
      .limit(q.limit);
    res.json({ items: rows.map((r) => ({ ...r, at: new Date(r.at).toISOString() })) });
  });

  router.post('/apps/v1/lifecycle/sweep', requireRole('admin'), async (_req, res) => {
    res.status(202).json({ jobId: await deps.sweepNow() });
  });

  return router;
}
