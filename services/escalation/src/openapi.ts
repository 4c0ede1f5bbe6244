import { type ApiOperation, buildOpenApiDocument } from '@micro-oncall/service-kit';
import { z } from 'zod';
import { STATS_MAX_WINDOW_DAYS, StatsQuery } from './figures.js';
import { ActionRequest } from './providers/types.js';
import { AuditExportRequest, AuditQuery } from './routes/audit.js';
import { MergeRequest, SplitRequest } from './routes/grouping.js';
import { ListIncidentsQuery } from './routes/incidents.js';
import { TargetsQuery } from './routes/targets.js';

const ID = { id: 'incident id (inc_ + 24 hex)' };

const PROVIDER_CONDITIONS = [
  "`providerConditions`: while the incident is not resolved, the external providers' component conditions",
  "affecting its service (from status-mapper's `provider-status` events, the service as its mapping names it),",
  'worst first: `{ componentKey, provider, page, component, group, status (major_outage|partial_outage|',
  'degraded_performance|under_maintenance|unknown), providerStatus, since, stale: { since, reason, lastKnown } | null,',
  'incidents: [{ id, name, status, impact, shortlink }] }`. Empty when none (and once resolved). Names and texts are',
  "the providers': render them as text.",
].join(' ');

const DRILLS = [
  'Drills are verified, not declared: `drill` is true only when the run id its alerts carry names a run the',
  'simulator registered on `drills` that was active when the incident arrived; then `drillRun` is `{ id, url }`',
  "(the run's page in the simulator). `drillRunId`: the run id the alerts carry, believed or not.",
  'A drill marker (`[drill]` title, `drill=true` label, drill tag, a run id) that matches no active run makes a',
  'real incident (notified, counted) with `unverifiedDrillMarker: true` and `unverifiedDrillMarkerReason`.',
].join(' ');

const HANDLING = [
  '`number`: the short incident number here (`#123`), one sequence for every provider, fixed when the incident is',
  'first stored. `assignees`: who the provider says has it (empty: nobody; Alertmanager has no assignment).',
  '`acknowledgedBy`: the actor `{ type, id, name }` of the acknowledgement that made it acknowledged, as the provider',
  'reported it; null when not acknowledged. `escalation`: `{ level, policy }` from the newest escalation the provider',
  'reported since the incident was last triggered or reopened (`level` null when the provider does not say it:',
  'Opsgenie), null when none was reported.',
].join(' ');

const GROUPS = [
  '`group`: the group of related alerts the incident belongs to (ADR 0019: one Alertmanager group key, or one',
  'alertname and service, started within GROUPING_WINDOW_SECONDS of each other; or merged by hand), null when on its',
  'own: `{ id, alerts, leadId, status, severity, byStatus: { triggered, acknowledged, resolved } }`.',
  "`status` is the group's: triggered while any alert is, acknowledged while any is and none triggered, resolved when",
  'all are; `severity` the worst. A list shows a group as one row (its lead, `leadId`); acting on the group acts on',
  'each of its alerts (those with the same `group.id`; `alerts` of GET /v1/incidents/:id).',
].join(' ');

const OPERATIONS: ApiOperation[] = [
  {
    method: 'get',
    path: '/v1/incidents',
    summary: 'List incidents with their owners, newest first',
    description: `${HANDLING} ${GROUPS} ${PROVIDER_CONDITIONS} ${DRILLS}`,
    role: 'viewer',
    query: ListIncidentsQuery,
    responses: { 200: { description: '{ items: incident (with providerConditions) + ownership, nextCursor }' } },
  },
  {
    method: 'get',
    path: '/v1/incidents/:id',
    summary: 'One incident: state, ownership, every distinct event and the provider conditions noted while it was live',
    description: [
      HANDLING,
      GROUPS,
      '`alerts`: the alerts of its group, itself included, lowest number first: `{ id, number, title, service,',
      'provider, status, severity, labels, providerUrl, createdAt }`; empty when it is on its own.',
      PROVIDER_CONDITIONS,
      DRILLS,
      '`providerTimeline`: oldest first, one entry per provider condition affecting its service that began, changed or',
      'ended (recovered, or no longer mapped) while the incident was live, and those already in force when it opened',
      '(dated from when they began): `{ changeId, at, kind: began|changed|ended, componentKey, provider, component,',
      'group, from, to, since, stale }`. Kept as they were seen.',
    ].join(' '),
    role: 'viewer',
    pathParams: ID,
    responses: {
      200: {
        description:
          '{ incident (with providerConditions and group), alerts, ownership, ownershipDrift, events, providerTimeline }; `ownershipDrift` is null unless the app-registry says someone else owns the service: `{ differs: (team|owner)[], catalogue: { team, owners }, registry: { appId, team, owner, state, updatedAt } }`',
      },
      404: { description: 'unknown incident' },
    },
  },
  {
    method: 'post',
    path: '/v1/incidents/:id/actions',
    summary: "Acknowledge, escalate, reassign, resolve or annotate through the incident's provider",
    description: [
      'Answers 200 only when the provider confirmed the action, and only after the attempt is in the audit log',
      '(a `pending` entry is written before the provider is called; the outcome follows under the same action id).',
      'Definite outcomes are also published to <ns>.incident-actions.v1.',
      'A POST is never repeated to the provider after it may have reached it; each action is bounded by ACTION_DEADLINE_MS.',
      'Send an Idempotency-Key per intent: a repeat gets the first answer (with `Idempotent-Replayed: true`) instead of a second call.',
    ].join(' '),
    role: 'responder',
    pathParams: ID,
    headers: {
      'Idempotency-Key': {
        description:
          'One per intent (a random UUID): 8–128 characters of A–Z a–z 0–9 . _ : -, optionally in double quotes. Scoped to the user and the incident, kept 24 hours.',
        schema: { type: 'string', pattern: '^"?[A-Za-z0-9._:-]{8,128}"?$' },
      },
    },
    body: { schema: ActionRequest },
    responses: {
      200: { description: '{ actionId, outcome: "succeeded", detail }' },
      400: {
        description:
          'invalid action or Idempotency-Key, or a key already used for a different request (audited as failed)',
      },
      404: { description: 'unknown incident (audited as failed)' },
      409: {
        description:
          'no actions are possible for this provider here (audited as failed), or a request with this Idempotency-Key is still in progress',
      },
      502: { description: 'the provider refused the action (its reason is in the message)' },
      503: {
        description:
          'code `outcome_unknown`: the provider did not answer in time, so the action may or may not have taken effect (check at the provider; details.actionId finds it in the audit log); code `dependency_unavailable`: the provider or the audit log is unavailable and nothing was sent',
      },
    },
  },
  {
    method: 'post',
    path: '/v1/incidents/:id/merge',
    summary: "Put an alert into another incident's group of related alerts",
    description: [
      'Moves the incident into the group of `into` (a new group of the two when `into` is on its own). Audited (refusals',
      'too, as failed) and published on <ns>.incident-events.v1 as an `updated` event with `change.group.id`, so every',
      'consumer sees the same grouping; the incident moves when that event is applied (the live feed shows it) and no',
      'grouping rule moves it again.',
    ].join(' '),
    role: 'responder',
    pathParams: ID,
    body: { schema: MergeRequest },
    responses: {
      200: { description: '{ actionId, groupId, detail, incidentIds: the incidents moved }' },
      400: { description: 'invalid incident id or body, or an incident merged into itself (audited as failed)' },
      404: { description: 'the incident or the one to merge into is unknown (audited as failed)' },
      409: { description: 'the incident is already in that group (audited as failed)' },
    },
  },
  {
    method: 'post',
    path: '/v1/incidents/:id/split',
    summary: 'Take an alert out of its group of related alerts',
    description: [
      'The incident leaves its group and is shown on its own again. Audited (refusals too) and published on',
      '<ns>.incident-events.v1 as an `updated` event with `change.group.id: null`; no grouping rule moves it again.',
    ].join(' '),
    role: 'responder',
    pathParams: ID,
    body: { schema: SplitRequest },
    responses: {
      200: { description: '{ actionId, groupId: null, detail, incidentIds }' },
      400: { description: 'invalid incident id or body (audited as failed)' },
      404: { description: 'unknown incident (audited as failed)' },
      409: { description: 'the incident is not in a group (audited as failed)' },
    },
  },
  {
    method: 'get',
    path: '/v1/incidents/:id/targets',
    summary: "Who or what the incident can be reassigned or escalated to, from the incident's provider",
    description: [
      "Lists the incident's provider's users, escalation policies (Opsgenie: escalations) or schedules whose name",
      '(or email) matches `q`, through the provider client used for actions; PagerDuty searches itself (`query`),',
      'Opsgenie lists are searched here. Cached in memory per provider, kind and search text for 60 s (per replica).',
      'Send the chosen `id` as `userId` (reassign) or `escalationPolicyId` (escalate) to POST .../actions.',
    ].join(' '),
    role: 'responder',
    pathParams: ID,
    query: TargetsQuery,
    responses: {
      200: { description: '{ items: [{ id, name, email?, summary? }] } (at most `limit`, 25 by default)' },
      400: { description: 'invalid incident id or query (the message names the field)' },
      404: { description: 'unknown incident' },
      409: {
        description: "no API is configured for the incident's provider, or it has nothing to pick (Alertmanager)",
      },
      502: {
        description:
          'the provider refused (a rejected credential says which setting to check) or answered with an error',
      },
      503: { description: 'the provider is unreachable or its circuit is open' },
    },
  },
  {
    method: 'get',
    path: '/v1/incidents/:id/oncall',
    summary: "Who is on call now for the incident: its PagerDuty escalation policy's levels, or its Opsgenie schedule",
    description: [
      "PagerDuty: from `GET /oncalls` for the policy in the incident's `escalation_policy_id` label.",
      "Opsgenie: from `GET /v2/schedules/{id}/on-calls` for the enabled schedule owned by the first of the alert's teams that owns one,",
      'else for the schedule named by OPSGENIE_ONCALL_SCHEDULE; `schedule: { id, name, chosenBy: "team", team } | { id, name, chosenBy: "default" }`,',
      'or null with a `reason` when neither applies (`policy` is then always null). Cached 60 s.',
      '`items`: `[{ level, user: { id, name, email?, summary? }, schedule (name, null for a user named in the policy), end (null: permanent or not reported) }]`',
      'by level (Opsgenie: all level 1; a team or escalation on call has a `summary` saying so); `policy` is null (and `items` empty) when a PagerDuty incident names no escalation policy.',
    ].join(' '),
    role: 'viewer',
    pathParams: ID,
    responses: {
      200: {
        description: '{ policy: { id, name } | null, schedule?: { id, name, chosenBy, team? } | null, reason?, items }',
      },
      400: { description: 'invalid incident id' },
      404: { description: 'unknown incident' },
      409: { description: 'neither a PagerDuty nor an Opsgenie incident, or no API of its provider is configured' },
      502: {
        description:
          'the provider refused or answered with an error (a rejected credential, or an unknown default schedule, says which setting to check)',
      },
      503: { description: 'the provider is unreachable or its circuit is open' },
    },
  },
  {
    method: 'get',
    path: '/v1/stream',
    summary: 'Server-Sent Events: every incident change (event id = change sequence; send Last-Event-ID to catch up)',
    description:
      'Events: `incident` (id = change sequence; also sent when the provider conditions affecting a live incident ' +
      'change, with its new `providerConditions`), `ready` (caught up), `reset` (more changes were missed than are ' +
      'replayed: reload the list, then follow from its `lastEventId`), `end` (`reason`: `session_ended` or ' +
      '`roles_changed` after a sign-out or role change, `credential_expired`). A client that does not keep up is ' +
      'disconnected and reconnects with Last-Event-ID. Connections are capped per user and per server (429 with ' +
      'Retry-After).',
    role: 'viewer',
    query: z.object({ since: z.string().regex(/^\d+$/).optional() }),
    responses: {
      200: { description: 'text/event-stream', contentType: 'text/event-stream' },
      429: { description: 'too many live connections (per user or on this server); retry after Retry-After seconds' },
    },
  },
  {
    method: 'get',
    path: '/v1/audit',
    summary: 'The audit log, newest first',
    role: 'admin',
    query: AuditQuery,
    responses: { 200: { description: '{ items, nextCursor }' } },
  },
  {
    method: 'post',
    path: '/v1/audit/export',
    summary: 'Export the audit log as JSON Lines or CSV (the export is audited)',
    description:
      'Every row matching the filters, newest first, streamed as a download. A POST: with the session cookie it ' +
      'needs X-CSRF-Token.',
    role: 'admin',
    body: { schema: AuditExportRequest },
    responses: { 200: { description: 'application/x-ndjson or text/csv (attachment)' } },
  },
  {
    method: 'get',
    path: '/v1/services',
    summary: 'The service catalogue: every service with its owners and escalation policy, as escalation knows them',
    description:
      'One item per service slug: `name`, `team`, `owners`, `oncall` and `contacts` (reached first), `priority`, ' +
      '`aliases` (other names incidents may carry for it) and `fallback` (who is reached when the owners do not ' +
      "answer: the service's own or the catalogue-wide default). Read by other services to check their configuration " +
      "(status-mapper's mapping). `ownershipDrift`: null, or where the app-registry (an app named like the service or " +
      'an alias, from `app-registry` events) disagrees about the team or the owner: ' +
      '`{ differs: (team|owner)[], catalogue: { team, owners }, registry: { appId, team, owner, state, updatedAt } }`.',
    role: 'viewer',
    responses: { 200: { description: '{ items: service[] } sorted by slug' } },
  },
  {
    method: 'get',
    path: '/v1/stats',
    summary:
      'MTTA and MTTR per service, team or severity over a window, drills apart; incidents per day; noisiest alerts',
    description: [
      'Computed from the event history. An incident counts in the window its first trigger falls in (`from` inclusive,',
      '`to` exclusive; ISO timestamps with a zone; `to` defaults to now, `from` to 7 days before `to`; at most',
      `${STATS_MAX_WINDOW_DAYS} days, else 400 naming the field). Time to acknowledge: trigger to first acknowledgement;`,
      'time to resolve: trigger to first resolution. Figures: `{ incidents, acknowledged, mttaSeconds: { p50, mean },',
      'resolved, mttrSeconds: { p50, mean } }` (nulls when nothing was acknowledged or resolved). Groups by catalogue',
      'service slug, team (`unowned` outside the catalogue) or severity. Verified drills are left out of `total` and',
      '`groups` and given apart in `drills: { total, groups }`; an incident with an unverified drill marker is real and',
      'counts (`unverifiedDrillMarkers` says how many). `perDay`: each UTC day, `{ day, incidents, drills }`.',
      '`noisiest`: up to 10 alerts (Alertmanager `alertname`, else the title) of real incidents with the most incidents,',
      'then events in the window: `{ alert, incidents, events }`.',
    ].join(' '),
    role: 'viewer',
    query: StatsQuery,
    responses: {
      200: {
        description:
          '{ window: { from, to }, groupBy, total, groups, drills: { total, groups }, unverifiedDrillMarkers, perDay, noisiest }',
      },
      400: { description: 'invalid window or groupBy (the message names the field)' },
    },
  },
  {
    method: 'get',
    path: '/auth/login',
    summary: 'Start sign-in (authorization code + PKCE) at the OIDC issuer',
    role: null,
    responses: { 302: { description: 'to the issuer' } },
  },
  {
    method: 'get',
    path: '/auth/callback',
    summary: 'OIDC redirect target',
    role: null,
    responses: { 302: { description: 'signed in' } },
  },
  {
    method: 'get',
    path: '/auth/me',
    summary: 'Who is signed in, with the CSRF token',
    role: null,
    responses: {
      200: { description: '{ subject, name, email, roles, csrfToken }' },
      401: { description: 'not signed in' },
    },
  },
  {
    method: 'get',
    path: '/auth/token',
    summary: "The signed-in user's access token, for the product's pages of other services (needs X-CSRF-Token)",
    description:
      'For a valid session and its CSRF token: a bearer access token for the same user from the issuer ' +
      '(obtained with the session refresh token, reused until a minute before it expires), which the other ' +
      "services' APIs accept. 401 without a session, 403 with a missing or wrong X-CSRF-Token (audited).",
    role: null,
    responses: {
      200: { description: '{ tokenType: "Bearer", accessToken, expiresAt }' },
      401: { description: 'not signed in (sign in again)' },
      403: { description: 'missing or wrong X-CSRF-Token' },
    },
  },
  {
    method: 'post',
    path: '/auth/logout',
    summary: 'Sign out (needs X-CSRF-Token)',
    role: null,
    responses: { 204: { description: 'signed out' } },
  },
];

/** OpenAPI 3.1 of escalation, served at /openapi.json and written to docs/api/. */
export function openApiDocument() {
  return buildOpenApiDocument({
    title: 'micro-oncall escalation',
    version: '1.0.0',
    description: 'Incident state, owners, actions through the providers, live feed and audit log.',
    operations: OPERATIONS,
  });
}
