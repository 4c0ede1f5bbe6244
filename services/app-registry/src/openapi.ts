import { type ApiOperation, buildOpenApiDocument } from '@micro-oncall/service-kit';
import { z } from 'zod';
import { COST_OPERATIONS } from './cost/openapi.js';
import { CandidateOwnershipTask, DISCOVERY_OPERATIONS } from './discovery/openapi.js';
import { EvidenceBody } from './evidence.js';
import { GovernanceView } from './governance.js';
import { AppView, CreateAppBody, DecisionSummary, PatchAppBody } from './model.js';
import { ListQuery } from './query.js';
import {
  ActivityBody,
  ApproveBody,
  AuditQuery,
  ExceptionBody,
  ExemptionBody,
  PageQuery,
  RejectBody,
} from './routes/apps.js';
import { AssignOwnerBody, OwnershipTasksQuery } from './routes/owners.js';
import { ImportQuery } from './routes/transfer.js';

const id = { id: 'The app id (app_…)' };
const AppWithDecision = z.object({ app: AppView, decision: DecisionSummary.nullable() });
const Exception = z.object({
  id: z.string(),
  appId: z.string(),
  control: z.string(),
  reason: z.string(),
  status: z.enum(['pending', 'approved', 'rejected']),
  requestedBy: z.string(),
  requestedAt: z.string(),
  expiresAt: z.string(),
  decidedBy: z.string().nullable(),
  decidedAt: z.string().nullable(),
});
const ifMatch = {
  'If-Match': {
    description: 'The ETag of the app as you last read it ("v3"); 409 when it has changed since',
    required: true,
  },
};
const conflict = {
  409: { description: 'The app changed since your ETag, or is in a state where this is not possible' },
};
const appToken = {
  description: "The app's pipeline token (Authorization: Bearer moapp_…), issued at registration, stored hashed",
};

const Person = z.object({ name: z.string(), contact: z.string().nullable(), subject: z.string().nullable() });
const OwnershipTask = z.object({
  kind: z.literal('app'),
  id: z.string(),
  appId: z.string(),
  app: z.object({
    name: z.string(),
    team: z.object({ name: z.string(), contact: z.string() }),
    state: z.string(),
  }),
  status: z.enum(['open', 'resolved', 'cancelled']),
  reason: z.enum(['owner_deactivated', 'owner_dropped_by_import', 'owner_removed', 'no_owner']),
  detail: z.string(),
  previousOwner: Person.nullable(),
  candidates: z.array(Person.extend({ why: z.enum(['team', 'recent_editor', 'co_owner']) })),
  openedAt: z.string(),
  openedBy: z.string(),
  resolvedAt: z.string().nullable(),
  resolvedBy: z.string().nullable(),
  newOwner: Person.nullable(),
});
const AnyOwnershipTask = z.discriminatedUnion('kind', [OwnershipTask, CandidateOwnershipTask]);
const taskId = { taskId: 'The ownership task id (a UUID)' };

const OWNERSHIP_OPERATIONS: ApiOperation[] = [
  {
    method: 'get',
    path: '/apps/v1/ownership-tasks',
    summary:
      'Ownership tasks: apps without an owner (`kind: app`, with candidate owners: the team, recent editors, co-owners) and discovered apps still unregistered a day after discovery found them (`kind: candidate`, with who created, deployed or calls it)',
    description:
      "`kind` lists one of the two; `appId` lists that app's tasks only. Newest first, both kinds together, at most `limit`.",
    role: 'viewer',
    query: OwnershipTasksQuery,
    responses: {
      200: { description: 'Newest first', schema: z.object({ items: z.array(AnyOwnershipTask) }) },
    },
  },
  {
    method: 'get',
    path: '/apps/v1/ownership-tasks/:taskId',
    summary: "One ownership task, an app's or a discovered candidate's",
    role: 'viewer',
    pathParams: taskId,
    responses: { 200: { description: 'The task', schema: AnyOwnershipTask } },
  },
  {
    method: 'post',
    path: '/apps/v1/ownership-tasks/:taskId/assign',
    summary: 'Assign the app a new owner: the task is resolved, with history, audit and an `updated` event',
    description:
      "409 when the task is no longer open, is a discovered candidate's (register or dismiss the candidate instead), or when the person was deactivated at the identity provider. The app gets a new version (ETag).",
    role: 'responder',
    pathParams: taskId,
    body: { schema: AssignOwnerBody },
    responses: {
      200: { description: 'The resolved task and the app', schema: z.object({ task: OwnershipTask, app: AppView }) },
    },
  },
  {
    method: 'post',
    path: '/apps/v1/identity/events',
    summary: 'Identity-provider events: an owner deactivated opens an ownership task on each of their apps',
    description:
      "Authorization: the shared secret (IDENTITY_EVENTS_SECRET), as the whole header value or `Bearer <secret>`; not a person's JWT. Body: an Okta event hook delivery (`user.lifecycle.deactivate`, `user.lifecycle.delete.initiated`; other event types are ignored) or a SCIM 2.0 User resource with `active: false`. Idempotent by event id (Okta `uuid`; SCIM `id` + `meta.version`/`lastModified`). 404 when no secret is configured.",
    role: null,
    body: { schema: { type: 'object' }, description: 'Okta event hook or SCIM User' },
    responses: {
      202: {
        description: 'What was done per deactivation',
        schema: z.object({
          processed: z.array(
            z.object({
              eventId: z.string(),
              subject: z.string(),
              duplicate: z.boolean(),
              apps: z.array(z.string()),
              tasks: z.array(z.string()),
            }),
          ),
          ignored: z.number().int(),
        }),
      },
    },
  },
  {
    method: 'get',
    path: '/apps/v1/identity/events',
    summary: "Okta's one-time event hook verification: echoes X-Okta-Verification-Challenge",
    role: null,
    headers: { 'X-Okta-Verification-Challenge': { description: 'The challenge', required: true } },
    responses: { 200: { description: '{ verification }', schema: z.object({ verification: z.string() }) } },
  },
  {
    method: 'get',
    path: '/apps/v1/governance',
    summary:
      'Governance for platform teams: apps by state, tier and runtime, share on an approved template, open violations and ownership tasks, apps due to be disabled or purged within 14 days, and the daily trend (90 days)',
    role: 'viewer',
    responses: { 200: { description: 'The view', schema: GovernanceView } },
  },
];

const OPERATIONS: ApiOperation[] = [
  {
    method: 'get',
    path: '/apps/v1/apps',
    summary: 'Search, filter, sort and page the inventory',
    description:
      'Free text (`q`), a filter on every listed field, a sort (`sort`, `order`) and keyset paging: pass `nextCursor` back as `cursor` with the same sort. Purged apps only when `state` asks for them.',
    role: 'viewer',
    query: ListQuery,
    responses: {
      200: {
        description: 'A page of apps',
        schema: z.object({ items: z.array(AppView), nextCursor: z.string().nullable() }),
      },
    },
  },
  {
    method: 'post',
    path: '/apps/v1/apps',
    summary: 'Register an app from an approved template (self-service onboarding): an immediate decision',
    description:
      'The classification (impact, data classes, exposure) and the app’s facts go to the policy (OPA), which decides at once: approve (active), needs_approval (an approver decides), refuse (the reasons name each rule and what to change; post evidence or change the app) or, when no decision can be made, hold for review. The answer carries the app’s pipeline token, shown once.',
    role: 'responder',
    body: { schema: CreateAppBody },
    responses: {
      201: {
        description: 'Registered; `token` is the pipeline token for evidence (shown once)',
        schema: AppWithDecision.extend({ token: z.string() }),
      },
      409: { description: 'An app with this name is registered' },
    },
  },
  {
    method: 'get',
    path: '/apps/v1/apps/:id',
    summary: 'One app with its classification, decision, controls and lifecycle',
    role: 'viewer',
    pathParams: id,
    responses: {
      200: { description: 'The app (ETag: its version)', schema: AppView },
      304: { description: 'Not modified (If-None-Match)' },
      404: { description: 'No such app' },
    },
  },
  {
    method: 'patch',
    path: '/apps/v1/apps/:id',
    summary: 'Edit an app (optimistic concurrency: If-Match)',
    description:
      'Absent fields are unchanged. A change to the classification or the facts the policy reads is decided again. Every change is in the history.',
    role: 'responder',
    pathParams: id,
    headers: ifMatch,
    body: { schema: PatchAppBody },
    responses: {
      200: { description: 'The app as changed (new ETag)', schema: AppView },
      ...conflict,
      428: { description: 'If-Match missing' },
    },
  },
  {
    method: 'get',
    path: '/apps/v1/apps/:id/history',
    summary: 'Every change to the app, newest first: who, what changed (field: from, to), when',
    role: 'viewer',
    pathParams: id,
    query: PageQuery,
    responses: { 200: { description: '{ items, nextBefore }: pass nextBefore as before for older entries' } },
  },
  {
    method: 'get',
    path: '/apps/v1/apps/:id/decisions',
    summary: "Every decision on the app: the policy's and the approvers'",
    role: 'viewer',
    pathParams: id,
    responses: { 200: { description: '{ items }' } },
  },
  {
    method: 'post',
    path: '/apps/v1/apps/:id/evaluate',
    summary: 'Ask the policy again (after a policy change, or when the app was held because OPA was down)',
    role: 'responder',
    pathParams: id,
    responses: { 200: { description: 'The app and its new decision', schema: AppWithDecision }, ...conflict },
  },
  {
    method: 'post',
    path: '/apps/v1/apps/:id/approve',
    summary: 'Approve an app pending approval (an approver who neither requested nor owns it)',
    description:
      'Self-approval is refused with 403 and audited. The policy is asked again with the approval; an app whose other controls are met becomes active.',
    role: 'approver',
    pathParams: id,
    body: { schema: ApproveBody },
    responses: { 200: { description: 'The app and its decision', schema: AppWithDecision }, ...conflict },
  },
  {
    method: 'post',
    path: '/apps/v1/apps/:id/reject',
    summary: 'Reject an app pending approval or held for review',
    role: 'approver',
    pathParams: id,
    body: { schema: RejectBody },
    responses: { 200: { description: 'The app, refused with the reason', schema: AppWithDecision }, ...conflict },
  },
  {
    method: 'post',
    path: '/apps/v1/apps/:id/evidence',
    summary: 'Post evidence for a control: an SBOM (CycloneDX or SPDX JSON), a SARIF scan, or the SSO client id',
    description: `${appToken.description}. The document is checked against its specification's required fields and summarised (only the summary and its sha256 are kept); the app is decided again.`,
    // Not a person's role: the app's own pipeline token (see the description).
    role: null,
    pathParams: id,
    body: { schema: EvidenceBody },
    responses: {
      201: { description: '{ evidence, app, decision }' },
      401: { description: 'Missing or wrong pipeline token' },
      413: { description: 'Larger than 8 MB' },
    },
  },
  {
    method: 'get',
    path: '/apps/v1/apps/:id/evidence',
    summary: 'The evidence posted for the app (summaries), newest first',
    role: 'viewer',
    pathParams: id,
    responses: { 200: { description: '{ items }' } },
  },
  {
    method: 'post',
    path: '/apps/v1/apps/:id/activity',
    summary: 'Record activity (a deploy, traffic): the app is not idle; an idle app becomes active again',
    description: `With the app's pipeline token or as a responder. ${appToken.description}.`,
    role: 'responder',
    pathParams: id,
    body: { schema: ActivityBody },
    responses: { 202: { description: '{ recorded: true }' } },
  },
  {
    method: 'post',
    path: '/apps/v1/apps/:id/tokens',
    summary: 'Issue a new pipeline token (the previous one stops working)',
    role: 'responder',
    pathParams: id,
    responses: { 201: { description: '{ token } — shown once' } },
  },
  {
    method: 'get',
    path: '/apps/v1/apps/:id/exceptions',
    summary: "The app's exceptions to controls",
    role: 'viewer',
    pathParams: id,
    responses: { 200: { description: '{ items }', schema: z.object({ items: z.array(Exception) }) } },
  },
  {
    method: 'post',
    path: '/apps/v1/apps/:id/exceptions',
    summary: 'Ask for a time-limited exception to one of the app’s controls',
    description:
      'At most EXCEPTION_MAX_DAYS; never for the human approval. Counts only once another approver approved it, and until it expires.',
    role: 'responder',
    pathParams: id,
    body: { schema: ExceptionBody },
    responses: { 201: { description: 'The exception, pending', schema: Exception } },
  },
  {
    method: 'post',
    path: '/apps/v1/apps/:id/exceptions/:exceptionId/approve',
    summary: 'Approve an exception (not the person who asked for it); the app is decided again',
    role: 'approver',
    pathParams: { ...id, exceptionId: 'The exception id' },
    responses: { 200: { description: 'The exception', schema: Exception }, ...conflict },
  },
  {
    method: 'post',
    path: '/apps/v1/apps/:id/exceptions/:exceptionId/reject',
    summary: 'Reject an exception',
    role: 'approver',
    pathParams: { ...id, exceptionId: 'The exception id' },
    responses: { 200: { description: 'The exception', schema: Exception }, ...conflict },
  },
  {
    method: 'post',
    path: '/apps/v1/apps/:id/restore',
    summary: 'Restore an idle, disabled or archived app (within its restore window): the owner or an admin, one action',
    role: 'responder',
    pathParams: id,
    responses: { 200: { description: 'The app, active again', schema: AppView }, ...conflict },
  },
  {
    method: 'post',
    path: '/apps/v1/apps/:id/purge',
    summary: 'Purge an archived app now (irreversible; audited)',
    role: 'admin',
    pathParams: id,
    responses: { 200: { description: 'The tombstone', schema: AppView }, ...conflict },
  },
  {
    method: 'post',
    path: '/apps/v1/apps/:id/exemption',
    summary: 'Keep the app out of the automatic lifecycle until a date (null ends the exemption)',
    role: 'approver',
    pathParams: id,
    body: { schema: ExemptionBody },
    responses: { 200: { description: 'The app', schema: AppView } },
  },
  {
    method: 'get',
    path: '/apps/v1/templates',
    summary: 'The approved templates apps are registered from (from the policy)',
    role: 'viewer',
    responses: { 200: { description: '{ items: { name, description }[] }' } },
  },
  {
    method: 'get',
    path: '/apps/v1/violations',
    summary: 'Open violations: required controls missing, failing or violated, each with the owner’s task',
    role: 'viewer',
    responses: {
      200: { description: '{ items: { appId, app, control, rule, status, message, task, owner, team }[] }' },
    },
  },
  {
    method: 'get',
    path: '/apps/v1/exceptions',
    summary:
      'Exceptions across all apps (the approvers’ inbox: `status=pending`), newest first, each with its app’s name',
    role: 'viewer',
    query: z.object({
      status: z.enum(['pending', 'approved', 'rejected']).optional(),
      limit: z.number().int().min(1).max(1000).optional(),
    }),
    responses: {
      200: {
        description: '{ items }',
        schema: z.object({ items: z.array(Exception.extend({ app: z.string(), appState: z.string() })) }),
      },
    },
  },
  {
    method: 'get',
    path: '/apps/v1/audit',
    summary: 'The audit: decisions, approvals, lifecycle transitions, refused requests',
    role: 'approver',
    query: AuditQuery,
    responses: { 200: { description: '{ items }' } },
  },
  {
    method: 'post',
    path: '/apps/v1/lifecycle/sweep',
    summary: 'Run the lifecycle sweep now (it also runs on its schedule, once across replicas)',
    role: 'admin',
    responses: { 202: { description: '{ jobId }' } },
  },
  {
    method: 'post',
    path: '/apps/v1/import',
    summary: 'Bulk import: CSV, YAML, or Backstage catalog entities (Component, System) — all or nothing',
    description:
      'Content type text/csv or application/yaml (a Backstage catalog-info.yaml is recognised, or say ?format=backstage). Every row is checked first: any problem is a 400 naming the row, line and field, and nothing is imported. Apps are matched by name: new ones are registered (their state from the file), known ones updated (their lifecycle kept).',
    role: 'responder',
    query: ImportQuery,
    body: { schema: { type: 'string' }, contentType: 'text/csv', description: 'or application/yaml' },
    responses: { 200: { description: '{ imported, created, updated, unchanged, skipped, apps: { name: id } }' } },
  },
  {
    method: 'get',
    path: '/apps/v1/export',
    summary: 'Export the inventory as CSV, YAML or Backstage catalog entities (with the list’s filters)',
    role: 'viewer',
    query: ListQuery.omit({ cursor: true, limit: true }).extend({
      format: z.enum(['csv', 'yaml', 'backstage']).default('csv'),
    }),
    responses: { 200: { description: 'The file', contentType: 'text/csv', schema: { type: 'string' } } },
  },
];

export const openApiDocument = () =>
  buildOpenApiDocument({
    title: 'app-registry',
    version: '0.1.0',
    description:
      "The inventory of the organisation's micro apps: risk classification and onboarding decisions by policy (OPA), evidence, exceptions, approvals, the lifecycle from idle to purged, and discovery of apps nobody registered.",
    operations: [...OPERATIONS, ...OWNERSHIP_OPERATIONS, ...DISCOVERY_OPERATIONS, ...COST_OPERATIONS],
  });
