import { type ApiOperation, buildOpenApiDocument } from '@micro-oncall/service-kit';
import { ActionRequest } from './providers/types.js';
import { AuditQuery } from './routes/audit.js';
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
    description:
      'Answers 200 only when the provider confirmed the action. Every attempt is audited and published to <ns>.incident-actions.v1.',
    role: 'responder',
    pathParams: ID,
    body: { schema: ActionRequest },
    responses: {
      200: { description: '{ actionId, outcome: "succeeded", detail }' },
      404: { description: 'unknown incident' },
      409: { description: 'no actions are possible for this provider here' },
      502: { description: 'the provider refused the action (its reason is in the message)' },
    },
  },
  {
    method: 'get',
    path: '/v1/stream',
    summary: 'Server-Sent Events: every incident change (event id = change sequence; send Last-Event-ID to catch up)',
    role: 'viewer',
    responses: { 200: { description: 'text/event-stream', contentType: 'text/event-stream' } },
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
    method: 'get',
    path: '/v1/audit/export',
    summary: 'Export the audit log as JSON Lines or CSV (the export is audited)',
    role: 'admin',
    query: AuditQuery,
    responses: { 200: { description: 'application/x-ndjson or text/csv' } },
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
