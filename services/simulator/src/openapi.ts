import { type ApiOperation, buildOpenApiDocument } from '@micro-oncall/service-kit';
import { AuditQuery } from './routes/audit.js';
import { ProposeBody, ReasonBody, RunsQuery } from './routes/runs.js';
import { ScenarioQuery } from './routes/scenarios.js';
import { ScenarioDefinition } from './scenarios/definition.js';

const RUN =
  '{ id, state, scenario, environment, severity, targets, requestedBy, approval, expiresAt, secondsLeft, endReason, failure, runbook, steps[], alerts[] }';
const runId = { id: 'Run id (UUID)' };

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
