import { randomBytes } from 'node:crypto';
import { AuthenticationError, createLogger, NotAllowedError, type Principal } from '@micro-oncall/service-kit';
import type { Request } from 'express';
import { describe, expect, it } from 'vitest';
import type { AuditEntry } from './audit.js';
import { createRefusalAudit } from './refusals.js';

// A bearer token's shape, made up per run (the test checks it never reaches the audit row).
const TOKEN = `eyJhbGciOiJSUzI1NiJ9.${randomBytes(24).toString('base64url')}.${randomBytes(16).toString('base64url')}`;
const viewer: Principal = { subject: 'vic', name: 'Vic', email: 'vic@example.com', roles: ['viewer'] };

function setup(limit = 3) {
  const rows: AuditEntry[] = [];
  let clock = Date.parse('2030-01-01T10:00:00Z');
  const refusals = createRefusalAudit({
    audit: async (entry) => {
      rows.push(entry);
      return 'id';
    },
    logger: createLogger({ service: 'refusals-test', level: 'silent' }),
    anonymous: { windowMs: 60_000, limit },
    now: () => clock,
  });
  const advance = (ms: number) => {
    clock += ms;
  };
  return { rows, refusals, advance };
}

function request(opts: {
  method?: string;
  url: string;
  body?: unknown;
  ip?: string;
  principal?: Principal;
  id?: string;
}): Request {
  return {
    method: opts.method ?? 'GET',
    originalUrl: opts.url,
    body: opts.body,
    ip: opts.ip ?? '203.0.113.7',
    id: opts.id ?? 'req-1',
    principal: opts.principal,
    headers: { authorization: `Bearer ${TOKEN}` },
    header: () => `Bearer ${TOKEN}`,
  } as unknown as Request;
}

const INCIDENT = `inc_${'a'.repeat(24)}`;

describe(createRefusalAudit.name, () => {
  it('records a refused action as denied, naming the action, the incident and the reason, never the token', async () => {
    const { rows, refusals } = setup();

    await refusals.onRefused(
      request({
        method: 'POST',
        url: `/v1/incidents/${INCIDENT}/actions?x=1`,
        body: { action: 'escalate', level: 2 },
        principal: viewer,
        id: 'req-403',
      }),
      new NotAllowedError('this action needs the responder role'),
    );

    expect(rows).toEqual([
      {
        actor: viewer,
        action: 'escalate',
        outcome: 'denied',
        detail: `POST /v1/incidents/${INCIDENT}/actions refused: this action needs the responder role`,
        requestId: 'req-403',
        incidentId: INCIDENT,
        request: { method: 'POST', path: `/v1/incidents/${INCIDENT}/actions`, client: '203.0.113.7', status: 403 },
      },
    ]);
    expect(JSON.stringify(rows)).not.toContain(TOKEN);
  });

  it.each([
    ['GET', '/v1/audit', 'audit_read'],
    ['POST', '/v1/audit/export', 'audit_export'],
    ['GET', '/v1/stream', 'stream'],
    ['GET', `/v1/incidents/${INCIDENT}`, 'incident_read'],
    ['POST', `/v1/incidents/${INCIDENT}/actions`, 'invalid_action'],
    ['POST', `/v1/incidents/${INCIDENT}/merge`, 'merge'],
    ['POST', `/v1/incidents/${INCIDENT}/split`, 'split'],
    ['POST', '/auth/logout', 'sign_out'],
    ['GET', '/v1/elsewhere', 'request'],
  ])('names %s %s as %s', async (method, url, action) => {
    const { rows, refusals } = setup();
    await refusals.onRefused(
      request({ method, url, body: { action: 'self-destruct' }, principal: viewer }),
      new NotAllowedError('no'),
    );
    expect(rows[0]?.action).toBe(action);
  });

  it('records every refusal of a known principal, however many', async () => {
    const { rows, refusals } = setup(3);
    for (let i = 0; i < 10; i += 1) {
      await refusals.onRefused(request({ url: '/v1/audit', principal: viewer }), new NotAllowedError('admin only'));
    }
    expect(rows).toHaveLength(10);
  });

  it('itemises unidentified callers up to the limit, then writes one summary row per window', async () => {
    const { rows, refusals, advance } = setup(3);
    const refuse = (ip: string) =>
      refusals.onRefused(request({ url: '/v1/incidents', ip }), new AuthenticationError('sign in first'));

    for (let i = 0; i < 8; i += 1) await refuse('198.51.100.1');
    await refuse('198.51.100.2');
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatchObject({
      actor: { subject: 'anonymous', name: null, email: null },
      action: 'incident_read',
      outcome: 'denied',
      detail: 'GET /v1/incidents refused: sign in first',
    });

    advance(61_000);
    await refuse('198.51.100.3');

    expect(rows).toHaveLength(5);
    expect(rows[3]).toMatchObject({
      actor: { subject: 'anonymous' },
      action: 'request',
      outcome: 'denied',
      detail: expect.stringMatching(
        /^6 more requests from unidentified callers refused between 2030-01-01T10:00:00.000Z and 2030-01-01T10:01:01.000Z, not itemised \(at most 3 are per 60 s\); most from 198\.51\.100\.1 \(5\), 198\.51\.100\.2 \(1\)$/,
      ),
      request: { summary: { count: 6, clients: { '198.51.100.1': 5, '198.51.100.2': 1 } } },
    });
    expect(rows[4]).toMatchObject({ detail: 'GET /v1/incidents refused: sign in first' });
  });

  it('writes the summary when asked, without waiting for another refusal', async () => {
    const { rows, refusals } = setup(1);
    for (let i = 0; i < 3; i += 1) {
      await refusals.onRefused(request({ url: '/v1/stream' }), new AuthenticationError('sign in first'));
    }
    expect(rows).toHaveLength(1);
    await refusals.flush();
    expect(rows).toHaveLength(2);
    expect(rows[1]?.detail).toMatch(/^2 more requests from unidentified callers refused/);
    await refusals.flush();
    expect(rows).toHaveLength(2);
  });

  it('counts a refusal before the caller was identified (a failed CSRF check) like a 401', async () => {
    const { rows, refusals } = setup(1);
    for (let i = 0; i < 3; i += 1) {
      await refusals.onRefused(
        request({ method: 'POST', url: '/auth/logout' }),
        new NotAllowedError('missing or wrong X-CSRF-Token'),
      );
    }
    expect(rows).toHaveLength(1);
  });

  it('does not audit the dashboard asking whether anyone is signed in', async () => {
    const { rows, refusals } = setup();
    await refusals.onRefused(request({ url: '/auth/me' }), new AuthenticationError('not signed in'));
    expect(rows).toHaveLength(0);
  });
});
