import { type ApiOperation, buildOpenApiDocument } from '@micro-oncall/service-kit';
import { AuditQuery } from './routes/audit.js';
import { GameDayBody } from './routes/game-days.js';
import { ChecklistBody, ReportQuery } from './routes/reports.js';
import { ProposeBody, ReasonBody, RunsQuery } from './routes/runs.js';
import { ScenarioQuery } from './routes/scenarios.js';
import { ScenarioDefinition } from './scenarios/definition.js';

const RUN =
  '{ id, state, scenario, environment, severity, targets, requestedBy, approval, expiresAt, secondsLeft, endReason, failure, runbook, steps[], alerts[] }';
const runId = { id: 'Run id (UUID)' };
const GAME_DAY =
  '{ id, name, scenario: { id, version }, environment, targets, maxDurationMinutes, cron, timezone, state, severity, requestedBy, approval, nextOccurrenceAt, lastOccurrence: { scheduledAt, outcome, reason, run } | null }';
const GAME_DAY_WITH_OCCURRENCES = `${GAME_DAY.slice(0, -2)}, occurrences[] }`;
const gameDayId = { id: 'Game day id (UUID)' };

const OPERATIONS: ApiOperation[] = [
  {
    method: 'get',
    path: '/drills/v1/scenarios',
    summary: "The latest version of every scenario (built-in and teams')",
    role: 'viewer',
    responses: {
      200: {
        description: '{ items: { id, version, name, team, environment, source, createdBy, createdAt, definition }[] }',
      },
    },
  },
  {
    method: 'post',
    path: '/drills/v1/scenarios',
    summary: 'Add a scenario, or a new version of one (same id); JSON or YAML',
    description:
      'Validated field by field: a 400 lists every problem with its path (`timeline.2.severity`) and, for YAML, its line. ' +
      'The same content as the latest version answers 200 with that version; built-in ids are refused (409).',
    role: 'responder',
    body: { schema: ScenarioDefinition, description: 'application/json or application/yaml (same fields)' },
    responses: {
      201: { description: 'The new version' },
      200: { description: 'Unchanged: the latest version already has this content' },
      409: { description: 'The id is a built-in scenario' },
      415: { description: 'Neither JSON nor YAML' },
    },
  },
  {
    method: 'get',
    path: '/drills/v1/scenarios/:id',
    summary: 'One scenario (the latest version, or `?version=`)',
    role: 'viewer',
    pathParams: { id: 'Scenario id' },
    query: ScenarioQuery,
    responses: { 200: { description: 'The scenario version' }, 404: { description: 'No such scenario or version' } },
  },
  {
    method: 'get',
    path: '/drills/v1/scenarios/:id/versions',
    summary: 'Every version of a scenario, newest first',
    role: 'viewer',
    pathParams: { id: 'Scenario id' },
    responses: { 200: { description: '{ items: scenario[] }' }, 404: { description: 'No such scenario' } },
  },
  {
    method: 'get',
    path: '/drills/v1/runs',
    summary: 'Runs, newest first (`?state=running,awaiting_approval` for the live ones and the approvals inbox)',
    role: 'viewer',
    query: RunsQuery,
    responses: { 200: { description: '{ items: run summary[] }' } },
  },
  {
    method: 'post',
    path: '/drills/v1/runs',
    summary: 'Propose a run of a scenario: staging by default; it starts at once unless it needs approval',
    description:
      'A run whose alerts reach the approval severity threshold, and every production run, waits for an approver ' +
      '(state awaiting_approval). Production needs `environment: production`, `productionOptIn: true`, a reason, a ' +
      'scenario written for production and a deployment that allows it (403 otherwise). 409 while the kill switch is ' +
      'engaged. Every refusal is audited.',
    role: 'responder',
    body: { schema: ProposeBody },
    responses: {
      201: { description: RUN },
      403: { description: 'Production drills are switched off here, or the caller is not a responder' },
      404: { description: 'No such scenario or version' },
      409: { description: 'The kill switch is engaged' },
    },
  },
  {
    method: 'get',
    path: '/drills/v1/runs/:id',
    summary: 'One run: what is firing at which target, each step, the countdown to expiry, the failure if any',
    role: 'viewer',
    pathParams: runId,
    responses: { 200: { description: RUN }, 404: { description: 'No such run' } },
  },
  {
    method: 'post',
    path: '/drills/v1/runs/:id/approve',
    summary: 'Approve (and start) a run awaiting approval',
    description:
      'By an approver who is not the requester (403, audited), whose token carries multi-factor evidence (`amr`/`acr` ' +
      'as configured) and a recent `auth_time` (403 otherwise). 409 when the run is not awaiting approval or the kill ' +
      'switch is engaged.',
    role: 'approver',
    pathParams: runId,
    responses: {
      200: { description: RUN },
      403: { description: 'Self-approval, or no recent multi-factor sign-in' },
      404: { description: 'No such run' },
      409: { description: 'Not awaiting approval, or the kill switch is engaged' },
    },
  },
  {
    method: 'post',
    path: '/drills/v1/runs/:id/reject',
    summary: 'Reject a run awaiting approval; nothing is fired',
    role: 'approver',
    pathParams: runId,
    body: { schema: ReasonBody },
    responses: {
      200: { description: RUN },
      404: { description: 'No such run' },
      409: { description: 'Not awaiting approval' },
    },
  },
  {
    method: 'post',
    path: '/drills/v1/runs/:id/abort',
    summary: 'Abort a run: its remaining steps are skipped and everything it fired is resolved',
    role: 'responder',
    pathParams: runId,
    body: { schema: ReasonBody },
    responses: {
      200: { description: RUN },
      404: { description: 'No such run' },
      409: { description: 'The run has already ended' },
    },
  },
  {
    method: 'get',
    path: '/drills/v1/runs/:id/report',
    summary:
      'The drill report: what the run fired, what responders did (time to acknowledge, escalate, resolve), the checklist',
    description:
      "Built from the simulator's records of the run and the `incident-events` whose alerts carry the run id (each event once, " +
      'however often the topic is replayed). JSON by default; Markdown to export with `?format=md` or `Accept: text/markdown` ' +
      '(sent as an attachment `drill-report-<scenario>-<run id>.md`).',
    role: 'viewer',
    pathParams: runId,
    query: ReportQuery,
    responses: {
      200: {
        description:
          '{ run, generatedAt, runbook: { url, checklist[] } | null, summary, incidents: { incidentId, title, triggeredAt, acknowledgedAt, acknowledgedBy, escalatedAt, escalationLevel, resolvedAt, resolvedBy, timeToAcknowledgeSeconds, timeToEscalateSeconds, timeToResolveSeconds }[], timeline: { at, source, what, incidentId }[] }; or text/markdown',
      },
      404: { description: 'No such run' },
    },
  },
  {
    method: 'post',
    path: '/drills/v1/runs/:id/checklist/:item',
    summary: "Tick (or untick with `done: false`) one item of the run's runbook checklist; audited",
    role: 'responder',
    pathParams: { ...runId, item: "The item's position in the runbook checklist, from 0" },
    body: { schema: ChecklistBody },
    responses: {
      200: { description: '{ items: { item, text, done, note, changedBy, changedAt }[] }' },
      400: { description: 'The runbook checklist has no such item (`path.item`), or a bad body' },
      404: { description: 'No such run' },
      409: { description: 'The run never started' },
    },
  },
  {
    method: 'get',
    path: '/drills/v1/kill-switch',
    summary: 'The global kill switch: engaged or not, since when, by whom, why',
    role: 'viewer',
    responses: { 200: { description: '{ engaged, changedAt, changedBy, reason }' } },
  },
  {
    method: 'post',
    path: '/drills/v1/kill-switch/engage',
    summary: 'Stop every drill now: open runs are aborted and everything they fired is resolved; new runs get 409',
    role: 'approver',
    body: { schema: ReasonBody },
    responses: { 200: { description: '{ engaged: true, changedAt, changedBy, reason, stoppedRuns: string[] }' } },
  },
  {
    method: 'post',
    path: '/drills/v1/kill-switch/rearm',
    summary: 'Re-arm the kill switch: drills may run again',
    role: 'approver',
    body: { schema: ReasonBody },
    responses: { 200: { description: '{ engaged: false, changedAt, changedBy, reason }' } },
  },
  {
    method: 'get',
    path: '/drills/v1/game-days',
    summary: 'Recurring game days: schedule, state, next occurrence and the last result',
    role: 'viewer',
    responses: { 200: { description: `{ items: ${GAME_DAY}[] }` } },
  },
  {
    method: 'post',
    path: '/drills/v1/game-days',
    summary: 'Schedule a recurring game day: a scenario (its latest version, pinned) run on a cron schedule',
    description:
      'The body of a run (`POST /drills/v1/runs`) plus `name`, `cron` (5 fields) and `timezone` (IANA, default UTC). ' +
      'What would need an approver as a run (high severity, production) needs one here: the game day waits ' +
      '(awaiting_approval) and, once approved, each occurrence starts a run without a new approval. While the kill ' +
      'switch is engaged an occurrence is skipped and recorded with the reason. 400 names the field (a bad cron ' +
      'expression, an unknown scenario or time zone). Every refusal is audited.',
    role: 'responder',
    body: { schema: GameDayBody },
    responses: {
      201: { description: GAME_DAY_WITH_OCCURRENCES },
      403: { description: 'Production drills are switched off here, or the caller is not a responder' },
    },
  },
  {
    method: 'get',
    path: '/drills/v1/game-days/:id',
    summary: 'One game day with its latest occurrences (started with their run, or skipped with the reason)',
    role: 'viewer',
    pathParams: gameDayId,
    responses: { 200: { description: GAME_DAY_WITH_OCCURRENCES }, 404: { description: 'No such game day' } },
  },
  {
    method: 'post',
    path: '/drills/v1/game-days/:id/approve',
    summary: 'Approve a game day awaiting approval: its occurrences then start runs without a new approval',
    description:
      'The rules of a run approval: an approver who is not the requester (403, audited), with a recent multi-factor ' +
      'sign-in (403 otherwise). 409 when the game day is not awaiting approval.',
    role: 'approver',
    pathParams: gameDayId,
    responses: {
      200: { description: GAME_DAY_WITH_OCCURRENCES },
      403: { description: 'Self-approval, or no recent multi-factor sign-in' },
      404: { description: 'No such game day' },
      409: { description: 'Not awaiting approval' },
    },
  },
  ...(['pause', 'resume'] as const).map(
    (action): ApiOperation => ({
      method: 'post',
      path: `/drills/v1/game-days/:id/${action}`,
      summary:
        action === 'pause'
          ? 'Pause an active game day: no occurrence until it is resumed'
          : 'Resume a paused game day from its next occurrence (no new approval)',
      role: 'responder',
      pathParams: gameDayId,
      responses: {
        200: { description: GAME_DAY_WITH_OCCURRENCES },
        404: { description: 'No such game day' },
        409: { description: action === 'pause' ? 'Not active' : 'Not paused' },
      },
    }),
  ),
  {
    method: 'delete',
    path: '/drills/v1/game-days/:id',
    summary: 'Delete a game day (its runs and the audit log stay)',
    role: 'responder',
    pathParams: gameDayId,
    responses: { 204: { description: 'Deleted' }, 404: { description: 'No such game day' } },
  },
  {
    method: 'get',
    path: '/drills/v1/audit',
    summary: 'The audit log: every change and every refusal, newest first',
    role: 'approver',
    query: AuditQuery,
    responses: {
      200: {
        description: '{ items: { id, at, actor, action, outcome, runId, scenarioId, detail, requestId, request }[] }',
      },
    },
  },
  {
    method: 'get',
    path: '/drills/v1/flags/:environment',
    summary: "flagd's HTTP sync source: the fault-injection flags of the drills running in the environment",
    description:
      'A flagd flag configuration (https://flagd.dev/schema/v0/flags.json) with the flags drill-latency-ms, ' +
      'drill-error-rate and drill-dependency-off, off unless a running run fired a `degrade` step for the service ' +
      '(targeting on the evaluation context `service`, and `dependency`). Off again as soon as the run ends for any ' +
      'reason or the kill switch is engaged; production degradations only where production drills are allowed. ' +
      'Not for people: flagd presents `Authorization: Bearer <FLAG_SOURCE_TOKEN>` (401 and audited otherwise). ' +
      'ETag / If-None-Match: 304 while unchanged.',
    role: null,
    security: 'webhook',
    pathParams: { environment: 'staging or production' },
    responses: {
      200: { description: '{ $schema, metadata, flags: { <key>: { state, variants, defaultVariant, targeting? } } }' },
      304: { description: 'Unchanged since the ETag presented in If-None-Match' },
      401: { description: 'Missing or wrong flag source token' },
      404: { description: 'The flag source is off here (FLAG_SOURCE_TOKEN not set)' },
    },
  },
  {
    method: 'get',
    path: '/drills/v1/settings',
    summary: 'The targets configured per environment, whether production drills are allowed, the approval policy',
    role: 'viewer',
    responses: {
      200: { description: '{ targets: { staging, production }, productionAllowed, approval, maxDuration }' },
    },
  },
];

export const openApiDocument = () =>
  buildOpenApiDocument({
    title: 'simulator',
    version: '0.1.0',
    description:
      'Safe incident drills: synthetic alerts to PagerDuty Events v2, Alertmanager and our ingest, with approvals, kill switch and auto-expiry',
    operations: OPERATIONS,
  });
