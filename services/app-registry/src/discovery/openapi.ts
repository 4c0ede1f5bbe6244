import type { ApiOperation } from '@micro-oncall/service-kit';
import { z } from 'zod';
import { AppView, CreateAppBody, DecisionSummary } from '../model.js';
import { CandidatesQuery, DismissBody, RunsQuery } from '../routes/discovery.js';

/* The discovery routes in the OpenAPI document (src/openapi.ts adds them). */

const Counted = z.object({ who: z.string(), count: z.number().int(), action: z.string().optional() });
const ReadError = z.object({ file: z.string(), line: z.number().int(), message: z.string() });

const CandidateTask = z.object({
  id: z.string(),
  candidateId: z.string(),
  status: z.enum(['open', 'resolved', 'cancelled']),
  reason: z.literal('unregistered_discovered'),
  detail: z.string(),
  candidates: z.array(
    z.object({ why: z.enum(['creator', 'deployer', 'caller']), name: z.string(), count: z.number() }),
  ),
  openedAt: z.string(),
  openedBy: z.string(),
  resolvedAt: z.string().nullable(),
  resolvedBy: z.string().nullable(),
  resolution: z.string().nullable().describe('`registered as <app id>`, or `dismissed: <reason>`'),
});

/** A candidate's task as GET /apps/v1/ownership-tasks lists it beside the apps' tasks. */
export const CandidateOwnershipTask = CandidateTask.extend({
  kind: z.literal('candidate'),
  candidate: z.object({
    kind: z.string(),
    key: z.string(),
    label: z.string(),
    state: z.enum(['open', 'registered', 'dismissed']),
    appId: z.string().nullable(),
    suggestedOwner: z.object({ who: z.string(), why: z.string().nullable() }).nullable(),
  }),
});

export const Candidate = z.object({
  id: z.string(),
  kind: z.enum(['function', 'container-app', 'api-gateway', 'bucket', 'cdn', 'endpoint', 'idp-client', 'saas']),
  key: z
    .string()
    .describe(
      '`host:…`, `resource:…` or `client:…`: what a registered app would be matched by (a SaaS without a domain: `resource:saas:<vendor>[/<product>]`)',
    ),
  label: z.string(),
  match: z.object({ host: z.string().optional(), resourceId: z.string().optional(), clientId: z.string().optional() }),
  sources: z.array(z.string()),
  firstSeenAt: z.string().describe('The earliest time in its evidence'),
  lastSeenAt: z.string(),
  discoveredAt: z.string().describe('When a run first found it: it is flagged 24 hours later if still open'),
  sightings: z.number().int(),
  creators: z.array(Counted).describe('Who created or deployed it (audit logs), most frequent first'),
  topCallers: z.array(Counted).describe('Who calls it (access logs), most frequent first'),
  evidence: z.array(
    z.object({
      source: z.string(),
      format: z.string(),
      action: z.string(),
      at: z.string(),
      file: z.string(),
      line: z.number().int(),
      text: z.string(),
    }),
  ),
  flagged: z.boolean(),
  flaggedAt: z.string().nullable(),
  suggestedOwner: z.object({ who: z.string(), why: z.string().nullable() }).nullable(),
  state: z.enum(['open', 'registered', 'dismissed']),
  appId: z.string().nullable(),
  taskId: z.string().nullable(),
  decidedBy: z.string().nullable(),
  decidedAt: z.string().nullable(),
  dismissReason: z.string().nullable(),
});

const CandidateDetail = Candidate.extend({
  task: CandidateTask.nullable(),
  prefill: z
    .object({
      name: z.string(),
      purpose: z.string(),
      runtime: z.string(),
      endpoints: z.array(z.object({ host: z.string(), path: z.string() })),
      cloudResourceIds: z.array(z.string()),
      idpClientIds: z.array(z.string()),
      suggestedOwner: z.string().nullable(),
    })
    .describe('What the onboarding form can be filled with'),
});

const SourceReport = z.object({
  source: z
    .string()
    .describe("A folder under DISCOVERY_DIR, or `idp:<name>` for an identity provider's app inventory (`idp:entra`)"),
  files: z.number().int(),
  linesRead: z
    .number()
    .int()
    .describe('Lines (records) read; for an identity provider, the new or changed apps listed'),
  sightings: z.number().int(),
  appsMatched: z.number().int(),
  newCandidates: z.number().int(),
  errors: z.number().int(),
  errorList: z.array(ReadError).describe('The first 50 lines that could not be read'),
  failed: z.string().nullable().describe('Why the source as a whole could not be read (the others still ran)'),
});

export const Run = z.object({
  id: z.string(),
  trigger: z.enum(['schedule', 'manual', 'stream']),
  requestedBy: z.string(),
  status: z.enum(['running', 'succeeded', 'partial', 'failed']),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  totals: z.object({
    linesRead: z.number().int(),
    sightings: z.number().int(),
    appsMatched: z.number().int(),
    newCandidates: z.number().int(),
    flagged: z.number().int(),
    errors: z.number().int(),
  }),
  sources: z.array(SourceReport),
  error: z.string().nullable(),
});

const candidateId = { id: 'The candidate id (a UUID)' };

export const DISCOVERY_OPERATIONS: ApiOperation[] = [
  {
    method: 'get',
    path: '/apps/v1/discovery/candidates',
    summary: 'Discovered candidates: what the sources show that no registered app matches, last seen first',
    role: 'viewer',
    query: CandidatesQuery,
    responses: {
      200: {
        description: 'A page (`nextCursor` for the next), with counts by state',
        schema: z.object({
          items: z.array(Candidate),
          nextCursor: z.string().nullable(),
          counts: z.object({ open: z.number(), flagged: z.number(), registered: z.number(), dismissed: z.number() }),
        }),
      },
    },
  },
  {
    method: 'get',
    path: '/apps/v1/discovery/candidates/:id',
    summary: 'One candidate with its evidence, its ownership task and what the onboarding form can be filled with',
    role: 'viewer',
    pathParams: candidateId,
    responses: { 200: { description: 'The candidate', schema: CandidateDetail } },
  },
  {
    method: 'post',
    path: '/apps/v1/discovery/candidates/:id/dismiss',
    summary: 'Dismiss a candidate that is not an app to register (audited; its ownership task is cancelled)',
    role: 'approver',
    pathParams: candidateId,
    body: { schema: DismissBody },
    responses: {
      200: { description: 'The candidate', schema: CandidateDetail },
      409: { description: 'It was registered or dismissed already' },
    },
  },
  {
    method: 'post',
    path: '/apps/v1/discovery/candidates/:id/register',
    summary: 'Register a candidate through the ordinary onboarding (decided by the policy)',
    description:
      "The body is the onboarding form (POST /apps/v1/apps); the candidate's host, resource id or client id are added to it, so later runs match the app. The candidate is closed and its ownership task resolved.",
    role: 'responder',
    pathParams: candidateId,
    body: { schema: CreateAppBody },
    responses: {
      201: {
        description: 'The app, its decision, its pipeline token (shown once) and the candidate',
        schema: z.object({
          app: AppView,
          decision: DecisionSummary.nullable(),
          token: z.string(),
          candidate: CandidateDetail,
        }),
      },
      409: { description: 'The candidate is closed already, or an app of that name exists' },
    },
  },
  {
    method: 'get',
    path: '/apps/v1/discovery/runs',
    summary: 'Discovery runs, newest first, each with its report by source',
    role: 'viewer',
    query: RunsQuery,
    responses: { 200: { description: '{ items }', schema: z.object({ items: z.array(Run) }) } },
  },
  {
    method: 'post',
    path: '/apps/v1/discovery/runs',
    summary: 'Start a discovery run now (it also runs daily at DISCOVERY_CRON); poll the run for its report',
    role: 'admin',
    responses: {
      202: { description: 'The run, running', schema: Run },
      409: { description: 'A run is in progress (`details.runId`)' },
    },
  },
  {
    method: 'get',
    path: '/apps/v1/discovery/runs/:id',
    summary: 'One discovery run and its report: lines read, apps matched, new candidates, flagged, errors by source',
    role: 'viewer',
    pathParams: { id: 'The run id (a UUID)' },
    responses: { 200: { description: 'The run', schema: Run } },
  },
];
