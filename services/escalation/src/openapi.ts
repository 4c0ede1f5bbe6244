import { type ApiOperation, buildOpenApiDocument } from '@micro-oncall/service-kit';
import { z } from 'zod';
import { ActionRequest } from './providers/types.js';
import { AuditExportRequest, AuditQuery } from './routes/audit.js';
import { ListIncidentsQuery } from './routes/incidents.js';

const ID = { id: 'incident id (inc_ + 24 hex)' };

const OPERATIONS: ApiOperation[] = [
  {
    method: 'get',
    path: '/v1/incidents',
    summary: 'List incidents with their owners, newest first',
    role: 'viewer',
    query: ListIncidentsQuery,
    responses: { 200: { description: '{ items: incident + ownership, nextCursor }' } },
  },
  {
    method: 'get',
    path: '/v1/incidents/:id',
    summary: 'One incident: state, ownership and every distinct event',
    role: 'viewer',
    pathParams: ID,
    responses: { 200: { description: '{ incident, ownership, events }' }, 404: { description: 'unknown incident' } },
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
    method: 'get',
    path: '/v1/stream',
    summary: 'Server-Sent Events: every incident change (event id = change sequence; send Last-Event-ID to catch up)',
    description:
      'Events: `incident` (id = change sequence), `ready` (caught up), `reset` (more changes were missed than are ' +
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
