import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEscalation, type TestEscalation } from './support.js';

interface CatalogueService {
  service: string;
  name: string;
  team: string;
  owners: string[];
  oncall: string | null;
  contacts: { type: string; value: string }[];
  priority: string;
  aliases: string[];
  fallback: { name: string; oncall?: string };
}

// The catalogue is config/services.example.yml (support.ts).
describe('GET /v1/services', () => {
  let esc: TestEscalation;
  let viewer: string;

  beforeAll(async () => {
    esc = await startTestEscalation('services-catalogue');
    viewer = await esc.issuer.token({ sub: 'viewer-1', roles: ['viewer'] });
  });
  afterAll(async () => {
    await esc?.stop();
  });

  it("lists every service of the catalogue with its owners, aliases and escalation policy, as incidents' ownership shows them", async () => {
    const res = await esc.get('/v1/services', viewer);
    expect(res.status).toBe(200);
    const items = res.body.items as CatalogueService[];
    expect(items.map((s) => s.service)).toEqual(['checkout', 'payments-api', 'search']);
    expect(items[1]).toEqual({
      service: 'payments-api',
      name: 'Payments API',
      team: 'payments',
      owners: ['alice@example.com', 'oncall:team-payments'],
      oncall: '@payments-oncall',
      contacts: [
        { type: 'slack', value: '#payments-incidents' },
        { type: 'phone', value: '+44 20 7946 0001' },
      ],
      priority: 'critical',
      aliases: ['payments'],
      // No fallback of its own: the catalogue-wide one.
      fallback: expect.objectContaining({ name: 'SRE on-call', oncall: '@sre-oncall' }),
      // The app-registry has not said who owns it: nothing to compare.
      ownershipDrift: null,
    });
    expect(items[0]!.fallback).toMatchObject({ name: 'Storefront engineering manager' });
  });

  it('needs a bearer token', async () => {
    const res = await fetch(`${esc.service.url}/v1/services`);
    expect(res.status).toBe(401);
  });
});
