import { afterEach, describe, expect, it } from 'vitest';
import { type FakeStatuspage, startFakeStatuspage } from './statuspage.js';

describe(startFakeStatuspage.name, () => {
  let fake: FakeStatuspage | undefined;
  afterEach(async () => {
    await fake?.stop();
  });

  it('serves the documented summary.json with groups holding their children', async () => {
    fake = await startFakeStatuspage({
      name: 'Cloudflare',
      components: [{ name: 'CDN Edge', group: 'Sites' }, { name: 'DNS', group: 'Sites' }, { name: 'Flat' }],
    });
    const res = await fetch(fake.summaryUrl);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      page: Record<string, unknown>;
      status: Record<string, unknown>;
      components: Record<string, unknown>[];
      incidents: unknown[];
      scheduled_maintenances: unknown[];
    };
    expect(Object.keys(body)).toEqual(['page', 'status', 'components', 'incidents', 'scheduled_maintenances']);
    expect(Object.keys(body.page).sort()).toEqual(['id', 'name', 'time_zone', 'updated_at', 'url']);
    expect(body.status).toEqual({ indicator: 'none', description: 'All Systems Operational' });
    const group = body.components.find((c) => c.group === true)!;
    expect(group).toMatchObject({
      name: 'Sites',
      group_id: null,
      components: [fake.componentId('CDN Edge'), fake.componentId('DNS')],
    });
    expect(body.components.find((c) => c.name === 'DNS')).toMatchObject({
      group: false,
      group_id: group.id,
      status: 'operational',
    });
  });

  it('changes a component, rolls the worst child up to its group, and refuses undocumented statuses unless asked', async () => {
    fake = await startFakeStatuspage({ name: 'X', components: [{ name: 'A', group: 'G' }] });
    fake.setComponentStatus('A', 'major_outage');
    const body = fake.summary() as { status: { indicator: string }; components: { name: string; status: string }[] };
    expect(body.status.indicator).toBe('major');
    expect(body.components.map((c) => [c.name, c.status])).toEqual([
      ['G', 'major_outage'],
      ['A', 'major_outage'],
    ]);
    expect(() => fake!.setComponentStatus('A', 'sort_of_down' as never)).toThrow(/not a documented/);
    fake.setComponentStatus('A', 'sort_of_down', { undocumented: true });
  });

  it('answers 304 to a matching If-None-Match, and 200 again after a change', async () => {
    fake = await startFakeStatuspage({ name: 'X', components: [{ name: 'A' }] });
    const etag = (await fetch(fake.summaryUrl)).headers.get('etag')!;
    expect((await fetch(fake.summaryUrl, { headers: { 'if-none-match': etag } })).status).toBe(304);
    fake.setComponentStatus('A', 'partial_outage');
    expect((await fetch(fake.summaryUrl, { headers: { 'if-none-match': etag } })).status).toBe(200);
  });

  it('lists open incidents only, and builds the documented webhook bodies', async () => {
    fake = await startFakeStatuspage({ name: 'X', components: [{ name: 'A' }] });
    const incident = fake.openIncident({ name: 'Trouble', components: ['A'], body: 'Looking' });
    expect((fake.summary() as { incidents: unknown[] }).incidents).toHaveLength(1);
    expect(fake.incidentUpdatePayload(incident.id)).toMatchObject({
      page: { id: fake.pageId },
      incident: { id: incident.id },
    });
    fake.resolveIncident(incident.id);
    expect((fake.summary() as { incidents: unknown[] }).incidents).toHaveLength(0);
    fake.setComponentStatus('A', 'degraded_performance');
    expect(fake.componentUpdatePayload('A', 'operational')).toMatchObject({
      component_update: {
        component_id: fake.componentId('A'),
        old_status: 'operational',
        new_status: 'degraded_performance',
      },
      component: { id: fake.componentId('A'), name: 'A', status: 'degraded_performance' },
    });
  });

  it('serves a truncated body once, refuses other methods and paths', async () => {
    fake = await startFakeStatuspage({ name: 'X', components: [{ name: 'A' }] });
    fake.truncateNext();
    const cut = await fetch(fake.summaryUrl);
    expect(cut.headers.get('content-type')).toMatch(/application\/json/);
    const text = await cut.text();
    expect(() => JSON.parse(text)).toThrow();
    expect((await fetch(fake.summaryUrl)).status).toBe(200);
    expect((await fetch(fake.summaryUrl, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${fake.url}/api/v2/nothing.json`)).status).toBe(404);
  });
});
