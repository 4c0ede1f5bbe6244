import { type FocusRowInput, focusFile } from '../../services/app-registry/src/index.js';
import type { DemoTokens } from './demo-apps.js';

/**
 * DEMO ONLY (npm start): cost for the demo apps, imported through app-registry's API as a FinOps
 * export would be: a FOCUS 1.2 file of the last 45 days (up to yesterday, UTC), its lines tagged
 * with the apps' ids (the template's deploy-time tag), plus untagged lines (a VM and a bucket
 * nobody claims, one with a team tag). customer-portal has a spike three days ago (an anomaly); a
 * finance-tools quota is set so the month of the last day imported passes 80 %. The numbers are the same on every run and
 * an import replaces the same days, so a restart adds nothing.
 */

const DAY = 86_400_000;

async function call(url: string, token: string, method: string, body?: string, type = 'application/json') {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': type }) },
    ...(body === undefined ? {} : { body }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** A deterministic wobble in [0, 1) from a day and a name. */
function wobble(day: number, name: string): number {
  let x = day * 2654435761;
  for (const c of name) x = Math.imul(x ^ c.charCodeAt(0), 2246822519);
  return ((x >>> 0) % 1000) / 1000;
}

export async function seedDemoCost(url: string, tokens: DemoTokens, now = new Date()): Promise<string> {
  const listed = await call(`${url}/apps/v1/apps?limit=100`, tokens.responder, 'GET');
  const ids = new Map(
    ((listed.body.items as { id: string; name: string }[] | undefined) ?? []).map((a) => [a.name, a.id]),
  );
  // App name → its usual daily cost (EUR) and service.
  const usual: [string, number, string, string][] = [
    ['customer-portal', 40, 'Compute', 'AWS App Runner'],
    ['payroll-export', 12, 'Compute', 'AWS Lambda'],
    ['lunch-poll', 1.5, 'Compute', 'AWS Lambda'],
    ['desk-booking', 6, 'Business Applications', 'Power Apps'],
    ['expense-approvals', 3, 'Databases', 'Amazon DynamoDB'],
  ];
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const rows: FocusRowInput[] = [];
  for (let back = 45; back >= 1; back--) {
    const t = today - back * DAY;
    const day = new Date(t).toISOString().slice(0, 10);
    for (const [name, level, serviceCategory, serviceName] of usual) {
      const id = ids.get(name);
      if (!id) continue;
      const spike = name === 'customer-portal' && back === 3 ? 9 : 1;
      const cost = (level * (0.9 + 0.2 * wobble(t / DAY, name)) * spike).toFixed(4);
      rows.push({ day, cost, serviceCategory, serviceName, tags: { 'app-id': id, environment: 'production' } });
    }
    rows.push({ day, cost: (4 + wobble(t / DAY, 'vm')).toFixed(4), resourceId: 'i-0demo-forgotten-vm' });
    rows.push({
      day,
      cost: '2.5e-1',
      resourceId: 'arn:aws:s3:::demo-exports',
      serviceCategory: 'Storage',
      serviceName: 'Amazon S3',
      tags: { team: 'data-platform' },
    });
  }
  if (rows.length === 0) return 'demo cost: no demo apps';
  // A finance-tools quota this month's cost takes past 80 % (an approver sets it; once).
  // The month of the last day imported (yesterday): the Cost page opens on it.
  const month = new Date(today - DAY).toISOString().slice(0, 7);
  const financeTools = new Set(
    ['customer-portal', 'payroll-export', 'lunch-poll', 'expense-approvals'].map((n) => ids.get(n)),
  );
  const monthCost = rows
    .filter((r) => r.day.startsWith(month) && financeTools.has(r.tags?.['app-id']))
    .reduce((sum, r) => sum + Number(r.cost), 0);
  const quota = Math.max(100, Math.ceil(monthCost / 0.85));
  const set = await call(
    `${url}/apps/v1/cost/quotas`,
    tokens.approver,
    'POST',
    JSON.stringify({ scope: 'team', subject: 'finance-tools', monthlyAmount: String(quota), currency: 'EUR' }),
  );
  if (set.status !== 201 && set.status !== 409)
    throw new Error(`demo quota: ${set.status} ${JSON.stringify(set.body)}`);
  const imported = await call(
    `${url}/apps/v1/cost/imports?file=demo-focus-${month}.csv`,
    tokens.responder,
    'POST',
    focusFile(rows),
    'text/csv',
  );
  if (imported.status !== 201) throw new Error(`demo cost: ${imported.status} ${JSON.stringify(imported.body)}`);
  return `demo cost: ${String(imported.body.rows)} FOCUS lines, ${String(imported.body.total)} EUR (${String(imported.body.untagged)} untagged), ${String(imported.body.anomalies)} anomalies`;
}
