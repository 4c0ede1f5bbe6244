import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type FocusRowInput, focusFile } from '../src/cost/fixtures.js';
import { formatDecimal, parseDecimal } from '../src/cost/money.js';
import { anApp, type Harness, type Registered, startHarness } from './helpers.js';

/*
 * Cost end to end: a FOCUS file is imported and attributed to apps by tag and by resource id,
 * its untagged cost shown; a team quota alerts at 80 % (once); a planted spike is an anomaly
 * and an ordinary day is not; the chargeback adds up to what was imported; a file with a wrong
 * column is refused naming it, and nothing of it is stored; an AWS CUR 2.0 export is attributed
 * the same way.
 */

const PAY_FUNCTION = 'arn:aws:lambda:eu-west-1:111122223333:function:pay-refunds';
const day = (i: number) => `2026-03-${String(i + 1).padStart(2, '0')}`;
const DAYS = 20;
const SPIKE = DAYS - 1; // 2026-03-20

/** 20 days of March: pay-refunds (by its resource id) ~100 a day and 1000 on the 20th; web (by tag) ~50; untagged lines. */
function marchFile(): { text: string; total: bigint; untagged: bigint; pay: bigint } {
  // The data team's storage on the 4th: one line first and one last, so that with a few daily rows
  // in memory their partial sums are spilled apart and summed by PostgreSQL into one daily row.
  const rows: FocusRowInput[] = [
    { day: day(3), cost: '0.000000002', tags: { team: 'data' }, serviceCategory: 'Storage' },
  ];
  for (let i = 0; i < DAYS; i++) {
    rows.push({ day: day(i), cost: i === SPIKE ? '1000' : String(100 + (i % 5)), resourceId: PAY_FUNCTION });
    rows.push({
      day: day(i),
      cost: `${50 + ((i * 3) % 7)}.25`,
      tags: { 'app-id': 'WEB_ID', environment: 'production' },
    });
    rows.push({ day: day(i), cost: '7.5e0', resourceId: 'vm-nobody-owns', serviceCategory: 'Compute' });
  }
  rows.push({ day: day(3), cost: '0.000000001', tags: { team: 'data' }, serviceCategory: 'Storage' });
  let total = 0n;
  let untagged = 0n;
  let pay = 0n;
  for (const r of rows) {
    const cost = parseDecimal(r.cost)!;
    total += cost;
    if (r.resourceId === PAY_FUNCTION) pay += cost;
    else if (!r.tags?.['app-id']) untagged += cost;
  }
  return { text: focusFile(rows), total, untagged, pay };
}

describe('app-registry cost', () => {
  let h: Harness;
  let payId: string;
  let webId: string;
  let file: ReturnType<typeof marchFile>;

  beforeAll(async () => {
    // A handful of daily rows in memory: the imports below spill to PostgreSQL, as a large file's do.
    h = await startHarness({ opa: 'none', env: { COST_IMPORT_MEMORY_ROWS: '10' } });
    const register = async (body: Record<string, unknown>) => {
      const res = await h.json<Registered>('/apps/v1/apps', {
        method: 'POST',
        body: JSON.stringify(body),
        token: h.tokens.responder,
      });
      expect(res.status).toBe(201);
      return res.body.app.id;
    };
    payId = await register(
      anApp('pay-refunds', { team: { name: 'payments', contact: '#payments' }, cloudResourceIds: [PAY_FUNCTION] }),
    );
    webId = await register(anApp('web-shop', { team: { name: 'web', contact: '#web' } }));
    const march = marchFile();
    file = { ...march, text: march.text.replaceAll('WEB_ID', webId) };
  });
  afterAll(async () => {
    await h?.stop();
  });

  const importFile = (text: string, token = h.tokens.responder, query = '?file=march.csv') =>
    h.json<Record<string, unknown>>(`/apps/v1/cost/imports${query}`, {
      method: 'POST',
      body: text,
      headers: { 'content-type': 'text/csv' },
      token,
    });
  const counts = async () =>
    (
      await h.sql<{ imports: number; daily: number }>(
        'select (select count(*)::int from app_registry.cost_imports) as imports, (select count(*)::int from app_registry.daily_costs) as daily',
      )
    )[0]!;

  it('refuses a file with a wrong column whole, naming the column, and stores nothing', async () => {
    const before = await counts();
    const res = await importFile(file.text.replace('BillingCurrency', 'Currency'));
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('mandatory column BillingCurrency is missing');
    const bad = await importFile(file.text.replace(/^1000,1000,/m, '1000,1 000,'));
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/row 59, column EffectiveCost: not a decimal/);
    expect(await counts()).toEqual(before);
    const audited = await h.sql<{ detail: string }>(
      `select detail from app_registry.audit_log where action = 'cost_import' and outcome = 'denied' order by at`,
    );
    expect(audited.map((a) => a.detail)).toEqual([
      expect.stringContaining('BillingCurrency is missing'),
      expect.stringContaining('row 59, column EffectiveCost'),
    ]);
  });

  it('refuses a viewer, auditing the refusal', async () => {
    const res = await importFile(file.text, h.tokens.viewer);
    expect(res.status).toBe(403);
    const [audited] = await h.sql<{ n: number }>(
      `select count(*)::int as n from app_registry.audit_log where action = 'cost_import' and outcome = 'denied' and actor_subject = 'vic'`,
    );
    expect(audited!.n).toBe(1);
  });

  it('imports a FOCUS file, attributing lines by tag and by resource id, and keeps the untagged cost', async () => {
    // A payments quota the month's cost will take past 80 % (and not 100 %).
    const quota = await h.json<{ id: string }>('/apps/v1/cost/quotas', {
      method: 'POST',
      body: JSON.stringify({ scope: 'team', subject: 'payments', monthlyAmount: '3500', currency: 'EUR' }),
      token: h.tokens.approver,
    });
    expect(quota.status).toBe(201);

    const res = await importFile(file.text);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      format: 'focus',
      fileName: 'march.csv',
      rows: DAYS * 3 + 2,
      currency: 'EUR',
      total: formatDecimal(file.total),
      untagged: formatDecimal(file.untagged),
      attributed: { byTag: DAYS, byResource: DAYS, untagged: DAYS + 2 },
      firstDay: '2026-03-01',
      lastDay: '2026-03-20',
      // Three a day, and the data team's two lines as one.
      dailyRows: DAYS * 3 + 1,
    });
    const [data] = await h.sql<{ cost: string; lines: number }>(
      `select cost::text, lines from app_registry.daily_costs where team = 'data'`,
    );
    expect(data).toEqual({ cost: '0.000000003', lines: 2 });

    const costs = await h.json<{
      items: { key: string | null; name?: string; cost: string; untagged?: boolean }[];
      totals: { currency: string; total: string; untagged: string }[];
    }>('/apps/v1/cost/costs?month=2026-03&by=app');
    expect(costs.status).toBe(200);
    expect(costs.body.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ key: payId, name: 'pay-refunds', cost: formatDecimal(file.pay) }),
        expect.objectContaining({ key: webId, name: 'web-shop' }),
        expect.objectContaining({ key: null, untagged: true, cost: formatDecimal(file.untagged) }),
      ]),
    );
    expect(costs.body.totals).toEqual([
      { currency: 'EUR', total: formatDecimal(file.total), untagged: formatDecimal(file.untagged) },
    ]);
  });

  it('sends the 80 % quota alert once, to the owners of the app that cost the most', async () => {
    const quotas = await h.json<{ items: { subject: string; percent: number; alerts: Record<string, unknown> }[] }>(
      '/apps/v1/cost/quotas?month=2026-03',
    );
    const payments = quotas.body.items.find((q) => q.subject === 'payments')!;
    expect(payments.percent).toBeCloseTo((Number(formatDecimal(file.pay)) / 3500) * 100, 1);
    expect(payments.alerts).toEqual({ at80: expect.any(String), at100: null });
    await vi.waitFor(
      () =>
        expect(h.slack.messages.map((m) => String(m.text))).toContainEqual(
          expect.stringContaining('Cost quota of team payments at 80 % for 2026-03'),
        ),
      { timeout: 15_000, interval: 100 },
    );
    const notices = await h.sql<{ app_id: string; kind: string }>(
      `select app_id, kind from app_registry.notifications where kind like 'cost_quota%'`,
    );
    expect(notices).toEqual([{ app_id: payId, kind: 'cost_quota_80' }]);
  });

  it('finds the planted spike as an anomaly and not the ordinary day beside it', async () => {
    const res = await h.json<{ items: { appId: string; day: string; cost: string; median: string }[] }>(
      '/apps/v1/cost/anomalies?month=2026-03',
    );
    expect(res.body.items).toEqual([
      expect.objectContaining({ appId: payId, day: '2026-03-20', cost: '1000', median: '102' }),
    ]);
    await vi.waitFor(
      () =>
        expect(h.slack.messages.map((m) => String(m.text))).toContainEqual(
          expect.stringContaining('Unusual cost on 2026-03-20: 1000.00 EUR'),
        ),
      { timeout: 15_000, interval: 100 },
    );
  });

  it('reports the chargeback per team, summing to the imported total, as JSON and CSV', async () => {
    const res = await h.json<{
      teams: { team: string | null; cost: string; untagged: string }[];
      totals: { total: string }[];
    }>('/apps/v1/cost/chargeback?month=2026-03');
    expect(res.body.teams.map((t) => t.team)).toEqual(['data', 'payments', 'web', null]);
    const sum = res.body.teams.reduce((s, t) => s + parseDecimal(t.cost)!, 0n);
    expect(formatDecimal(sum)).toBe(formatDecimal(file.total));
    expect(res.body.totals[0]!.total).toBe(formatDecimal(file.total));
    expect(res.body.teams.find((t) => t.team === 'payments')).toMatchObject({
      cost: formatDecimal(file.pay),
      untagged: '0',
    });

    const csv = await h.api('/apps/v1/cost/chargeback?month=2026-03', { headers: { accept: 'text/csv' } });
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toBe('month,team,currency,cost,untagged,apps');
    expect(lines).toContain(`2026-03,payments,EUR,${formatDecimal(file.pay)},0,1`);
    expect(lines).toHaveLength(5);
  });

  it('imports the same file again without counting it twice, and alerts no second time', async () => {
    const res = await importFile(file.text);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ replacedRows: expect.any(Number), quotaAlerts: 0, anomalies: 0 });
    const chargeback = await h.json<{ totals: { total: string }[] }>('/apps/v1/cost/chargeback?month=2026-03');
    expect(chargeback.body.totals[0]!.total).toBe(formatDecimal(file.total));
    const imports = await h.json<{ items: unknown[] }>('/apps/v1/cost/imports');
    expect(imports.body.items).toHaveLength(2);
  });

  it('raises a quota only on an approver’s decision, never the requester’s own', async () => {
    const quotas = await h.json<{ items: { id: string; subject: string }[] }>('/apps/v1/cost/quotas');
    const { id } = quotas.body.items.find((q) => q.subject === 'payments')!;
    const request = await h.json<{ id: string; status: string }>(`/apps/v1/cost/quotas/${id}/requests`, {
      method: 'POST',
      body: JSON.stringify({ amount: '5000', justification: 'refund peak after the spring sale' }),
      token: h.requesterApprover,
    });
    expect(request.status).toBe(201);
    expect(request.body.status).toBe('pending');

    const own = await h.json(`/apps/v1/cost/quota-requests/${request.body.id}/approve`, {
      method: 'POST',
      body: '{}',
      token: h.requesterApprover,
    });
    expect(own.status).toBe(403);
    const [refused] = await h.sql<{ n: number }>(
      `select count(*)::int as n from app_registry.audit_log where action = 'cost_quota_request_approve' and outcome = 'denied'`,
    );
    expect(refused!.n).toBe(1);

    const approved = await h.json<{ status: string }>(`/apps/v1/cost/quota-requests/${request.body.id}/approve`, {
      method: 'POST',
      body: JSON.stringify({ comment: 'seasonal' }),
      token: h.tokens.approver,
    });
    expect(approved.status).toBe(200);
    expect(approved.body.status).toBe('approved');
    const after = await h.json<{ items: { subject: string; monthlyAmount: string }[] }>('/apps/v1/cost/quotas');
    expect(after.body.items.find((q) => q.subject === 'payments')!.monthlyAmount).toBe('5000');
  });
  it('writes the weekly cost report to each owner: the last seven days against the week before, once', async () => {
    const now = h.clock.now().getTime();
    const dayBefore = (n: number) => new Date(now - n * 86_400_000).toISOString().slice(0, 10);
    const rows: FocusRowInput[] = [];
    for (let n = 1; n <= 14; n++) {
      rows.push({ day: dayBefore(n), cost: n <= 7 ? '20' : '10', tags: { 'app-id': webId }, account: 'weekly-demo' });
    }
    expect((await importFile(focusFile(rows), h.tokens.responder, '?file=recent.csv')).status).toBe(201);

    const run = async () => {
      const res = await h.json<{ jobId: string }>('/apps/v1/cost/weekly-report', {
        method: 'POST',
        token: h.tokens.admin,
      });
      expect(res.status).toBe(202);
      await vi.waitFor(
        async () => {
          const [job] = await h.sql<{ state: string }>('select state from app_registry_jobs.job where id = $1', [
            res.body.jobId,
          ]);
          expect(job?.state).toBe('completed');
        },
        { timeout: 30_000, interval: 100 },
      );
    };
    await run();
    await run();
    const reports = await h.sql<{ app_id: string; title: string; text: string }>(
      `select app_id, title, text from app_registry.notifications where kind = 'cost_weekly_report'`,
    );
    expect(reports).toEqual([
      {
        app_id: webId,
        title: 'Cost last week: 140.00 EUR',
        text: expect.stringContaining('(+100 % on the week before); the week before, 70.00 EUR.'),
      },
    ]);
    const refused = await h.json('/apps/v1/cost/weekly-report', { method: 'POST', token: h.tokens.approver });
    expect(refused.status).toBe(403);
  });

  it('imports an AWS CUR 2.0 export: by the app tag as CUR 2.0 spells it and by resource id, to the nano-unit', async () => {
    const cur2 = readFileSync(new URL('./fixtures/cost/cur2-2026-03.csv', import.meta.url), 'utf8').replace(
      'WEB_ID',
      webId,
    );
    const wrong = await importFile(
      cur2.replace('line_item_currency_code', 'currency'),
      h.tokens.responder,
      '?format=cur2',
    );
    expect(wrong.status).toBe(400);
    expect(JSON.stringify(wrong.body)).toContain('mandatory column line_item_currency_code is missing');

    const res = await importFile(cur2, h.tokens.responder, '?file=cur2-2026-03.csv');
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      format: 'cur2',
      rows: 7,
      currency: 'USD',
      total: '0.336420867',
      untagged: '0.318003',
      attributed: { byTag: 1, byResource: 2, untagged: 4 },
      firstDay: '2026-03-01',
      lastDay: '2026-03-02',
    });
    const costs = await h.json<{ items: { key: string | null; currency: string; cost: string }[] }>(
      '/apps/v1/cost/costs?month=2026-03&by=app',
    );
    const usd = costs.body.items.filter((i) => i.currency === 'USD');
    expect(usd).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ key: webId, cost: '0.0184' }),
        expect.objectContaining({ key: payId, cost: '0.000017867' }),
        expect.objectContaining({ key: null, cost: '0.318003' }),
      ]),
    );
    expect(usd).toHaveLength(3);
  });
});
