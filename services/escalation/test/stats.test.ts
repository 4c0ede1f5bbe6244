import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedResponseTimes } from './figures-seed.js';
import { startTestEscalation, type TestEscalation, until } from './support.js';

const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

interface Figures {
  incidents: number;
  acknowledged: number;
  mttaSeconds: { p50: number | null; mean: number | null };
  resolved: number;
  mttrSeconds: { p50: number | null; mean: number | null };
}
interface Report {
  total: Figures;
  groups: (Figures & { key: string })[];
  drills: { total: Figures; groups: (Figures & { key: string })[] };
  unverifiedDrillMarkers: number;
  perDay: { day: string; incidents: number; drills: number }[];
  noisiest: { alert: string; incidents: number; events: number }[];
}

const figures = (incidents: number, mtta: number, mttr: number): Figures => ({
  incidents,
  acknowledged: incidents,
  mttaSeconds: { p50: mtta, mean: mtta },
  resolved: incidents,
  mttrSeconds: { p50: mttr, mean: mttr },
});

describe('GET /v1/stats: MTTA and MTTR from the event history, drills apart', () => {
  let esc: TestEscalation;
  let viewer: string;
  let db: pg.Client;
  /** When the seeded incidents were triggered (figures-seed.ts). */
  let T0: number;
  const window = () => `from=${encodeURIComponent(ago(24 * 3_600_000))}&to=${encodeURIComponent(ago(-60_000))}`;

  beforeAll(async () => {
    esc = await startTestEscalation('stats');
    viewer = await esc.issuer.token({ sub: 'viewer-1', roles: ['viewer'] });
    db = new pg.Client({ connectionString: esc.databaseUrl });
    await db.connect();

    ({ t0: T0 } = await seedResponseTimes(esc, viewer));
  });
  afterAll(async () => {
    await db?.end();
    await esc?.stop();
  });

  it('leaves the verified drill out of the figures and shows it apart; the unverified marker counts', async () => {
    const res = await esc.get(`/v1/stats?${window()}&groupBy=service`, viewer);
    expect(res.status).toBe(200);
    const report = res.body as unknown as Report;
    expect(report.total).toEqual(figures(2, 60, 600));
    expect(report.groups).toEqual([
      { key: 'checkout', ...figures(1, 60, 600) },
      { key: 'payments-api', ...figures(1, 60, 600) },
    ]);
    expect(report.unverifiedDrillMarkers).toBe(1);
    expect(report.drills).toEqual({ total: figures(1, 5, 30), groups: [{ key: 'search', ...figures(1, 5, 30) }] });

    const day = new Date(T0).toISOString().slice(0, 10);
    expect(report.perDay.find((d) => d.day === day)).toEqual({ day, incidents: 2, drills: 1 });
    expect(report.noisiest).toEqual([
      { alert: '[drill] Checkout latency', incidents: 1, events: 3 },
      { alert: 'Payments API errors', incidents: 1, events: 3 },
    ]);
  });

  it('groups by team and by severity', async () => {
    const byTeam = (await esc.get(`/v1/stats?${window()}&groupBy=team`, viewer)).body as unknown as Report;
    expect(byTeam.groups.map((g) => [g.key, g.incidents])).toEqual([
      ['payments', 1],
      ['web-storefront', 1],
    ]);
    expect(byTeam.drills.groups.map((g) => g.key)).toEqual(['discovery']);
    const bySeverity = (await esc.get(`/v1/stats?${window()}&groupBy=severity`, viewer)).body as unknown as Report;
    expect(bySeverity.groups).toHaveLength(1);
    expect(bySeverity.groups[0]).toMatchObject({ incidents: 2, mttaSeconds: { p50: 60 } });
  });

  it('counts nothing in a window before the incidents', async () => {
    const from = encodeURIComponent(ago(48 * 3_600_000));
    const to = encodeURIComponent(new Date(T0 - 1000).toISOString());
    const report = (await esc.get(`/v1/stats?from=${from}&to=${to}`, viewer)).body as unknown as Report;
    expect(report.total.incidents).toBe(0);
    expect(report.drills.total.incidents).toBe(0);
    expect(report.total.mttaSeconds).toEqual({ p50: null, mean: null });
  });

  it('exports time to acknowledge and to resolve with a drill label', async () => {
    const metrics = await (await fetch(`${esc.service.url}/metrics`)).text();
    const count = (name: string, labels: string) =>
      new RegExp(`^${name}_count\\{[^}]*${labels}[^}]*\\} (\\d+)$`, 'm').exec(metrics)?.[1];
    expect(
      count('escalation_incident_time_to_acknowledge_seconds', 'incident_service="payments-api",drill="false"'),
    ).toBe('1');
    expect(count('escalation_incident_time_to_acknowledge_seconds', 'incident_service="search",drill="true"')).toBe(
      '1',
    );
    expect(count('escalation_incident_time_to_resolve_seconds', 'incident_service="checkout",drill="false"')).toBe('1');
  });

  it('answers 400 naming the field for a bad window', async () => {
    const message = (res: { body: Record<string, unknown> }) => (res.body.error as { message: string }).message;
    const backwards = await esc.get(
      `/v1/stats?from=${encodeURIComponent(ago(0))}&to=${encodeURIComponent(ago(60_000))}`,
      viewer,
    );
    expect(backwards.status).toBe(400);
    expect(message(backwards)).toMatch(/from: must be before to/);

    // Both ends from one clock reading: exactly 100 days.
    const end = Date.now();
    const tooLong = await esc.get(
      `/v1/stats?from=${encodeURIComponent(new Date(end - 100 * 86_400_000).toISOString())}&to=${encodeURIComponent(new Date(end).toISOString())}`,
      viewer,
    );
    expect(tooLong.status).toBe(400);
    expect(message(tooLong)).toMatch(/from: the window is 100 days long; it may be at most 90 days/);

    const notATime = await esc.get('/v1/stats?from=yesterday', viewer);
    expect(notATime.status).toBe(400);
    expect(message(notATime)).toMatch(/^invalid query: from: /);

    const badGroup = await esc.get('/v1/stats?groupBy=owner', viewer);
    expect(badGroup.status).toBe(400);
    expect(message(badGroup)).toMatch(/groupBy/);
  });

  it('refuses a token without the viewer role with 403, and audits the refusal', async () => {
    const nobody = await esc.issuer.token({ sub: 'stats-no-role', roles: [] });
    const res = await esc.get(`/v1/stats?${window()}`, nobody);
    expect(res.status).toBe(403);
    const audited = await until('the refusal in the audit log', async () => {
      const rows = await db.query<{ action: string; outcome: string; detail: string }>(
        "select action, outcome, detail from escalation.audit_log where actor_subject = 'stats-no-role'",
      );
      return rows.rows[0];
    });
    expect(audited).toMatchObject({ action: 'stats_read', outcome: 'denied' });
    expect(audited.detail).toMatch(/^GET \/v1\/stats refused/);
  });
});
