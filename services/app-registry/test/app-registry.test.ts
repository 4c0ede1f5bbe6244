import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './helpers.js';

describe('app-registry', () => {
  let h: Harness;

  beforeAll(async () => {
    // No OPA at all: reads and readiness must not depend on the policy engine.
    h = await startHarness({ opa: 'none' });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('is ready once migrated and connected, without the policy engine, and says what it checks', async () => {
    const res = await fetch(`${h.url}/health/ready`);
    const body = (await res.json()) as { checks: Record<string, { healthy: boolean }> };
    expect(res.status).toBe(200);
    expect(Object.keys(body.checks)).toEqual(
      expect.arrayContaining(['postgres', 'kafka', 'outbox-relay', 'incident-events-consumer', 'jobs']),
    );
  });

  it('serves its OpenAPI document with every route under /apps', async () => {
    const doc = (await (await fetch(`${h.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    const paths = Object.keys(doc.paths);
    expect(paths.length).toBeGreaterThan(20);
    expect(paths.every((p) => p.startsWith('/apps/v1/'))).toBe(true);
  });

  it('refuses a request without a token (401) and one without the role (403), and audits both', async () => {
    expect((await h.api('/apps/v1/apps', { token: '' })).status).toBe(401);
    const noRole = await h.issuer.token({ sub: 'nobody', roles: [] });
    expect((await h.api('/apps/v1/apps', { token: noRole })).status).toBe(403);
    const audit = await h.json<{ items: { actorSubject: string; outcome: string; action: string }[] }>(
      '/apps/v1/audit?outcome=denied',
      {
        token: h.tokens.approver,
      },
    );
    expect(audit.body.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ actorSubject: 'anonymous', action: 'read' }),
        expect.objectContaining({ actorSubject: 'nobody', action: 'read' }),
      ]),
    );
  });
});
