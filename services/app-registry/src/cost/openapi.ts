import type { ApiOperation } from '@micro-oncall/service-kit';
import { z } from 'zod';
import {
  AnomaliesQuery,
  ChargebackQuery,
  CostImportQuery,
  CostsQuery,
  QuotaBody,
  QuotaDecisionBody,
  QuotaPatchBody,
  QuotaRequestBody,
  RequestsQuery,
} from '../routes/cost.js';
import { COST_FORMATS } from './readers.js';

/** The cost routes (src/routes/cost.ts) in the OpenAPI document. Amounts are decimal strings (exact). */

const Amount = z.string().describe('A decimal amount in the currency, exact (e.g. "1234.5", up to 9 decimals)');
const Totals = z.array(z.object({ currency: z.string(), total: Amount, untagged: Amount }));
const ImportResult = z.object({
  id: z.string(),
  format: z.enum(COST_FORMATS),
  fileName: z.string().nullable(),
  rows: z.number().int(),
  currency: z.string(),
  total: Amount,
  untagged: Amount.describe('The cost no app claims (no app tag, no known resource id)'),
  attributed: z.object({ byTag: z.number().int(), byResource: z.number().int(), untagged: z.number().int() }),
  firstDay: z.string(),
  lastDay: z.string(),
  dailyRows: z.number().int(),
  replacedRows: z.number().int().describe('Daily rows of earlier imports (same accounts and days) replaced'),
  quotaAlerts: z.number().int(),
  anomalies: z.number().int(),
});
const Quota = z.object({
  id: z.string(),
  scope: z.enum(['team', 'owner', 'environment']),
  subject: z.string(),
  monthlyAmount: Amount,
  currency: z.string(),
  createdBy: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  month: z.string(),
  used: Amount,
  percent: z.number().nullable(),
  alerts: z.object({ at80: z.string().nullable(), at100: z.string().nullable() }),
});
const QuotaRequest = z.object({
  id: z.string(),
  quotaId: z.string(),
  amount: Amount,
  justification: z.string(),
  status: z.enum(['pending', 'approved', 'rejected']),
  requestedBy: z.object({ subject: z.string(), name: z.string().nullable() }),
  requestedAt: z.string(),
  decidedBy: z.string().nullable(),
  decidedAt: z.string().nullable(),
  comment: z.string().nullable(),
});
const Anomaly = z.object({
  id: z.string(),
  appId: z.string(),
  name: z.string().nullable(),
  team: z.string().nullable(),
  day: z.string(),
  currency: z.string(),
  cost: Amount,
  median: Amount,
  mad: Amount,
  score: z.number().nullable().describe('Robust z-score; null over a perfectly flat baseline'),
  detectedAt: z.string(),
});
const quotaId = { id: 'The quota id' };

export const COST_OPERATIONS: ApiOperation[] = [
  {
    method: 'post',
    path: '/apps/v1/cost/imports',
    summary:
      'Import a cost file: FinOps FOCUS 1.2 CSV, AWS CUR (legacy CSV) or AWS CUR 2.0 (Data Exports CSV), streamed, all or nothing',
    description:
      'The format is read from the header (or ?format=). A file without a mandatory column is refused whole naming it; a bad value (decimal, date, currency, category) is refused whole naming the row and column; nothing is stored. Lines are attributed to apps by tag (COST_APP_TAGS) or resource id; the rest is untagged cost, kept. A file replaces earlier imports of the same billing accounts and days. Quotas are checked and anomalies looked for.',
    role: 'responder',
    query: CostImportQuery,
    body: { schema: { type: 'string' }, contentType: 'text/csv' },
    responses: {
      201: { description: 'Imported', schema: ImportResult },
      413: { description: 'Larger than COST_IMPORT_MAX_MB' },
      415: { description: 'Not text/csv' },
    },
  },
  {
    method: 'get',
    path: '/apps/v1/cost/imports',
    summary: 'The latest cost imports: who, when, format, file, lines, total and untagged total',
    role: 'viewer',
    responses: { 200: { description: 'The imports, newest first' } },
  },
  {
    method: 'get',
    path: '/apps/v1/cost/costs',
    summary: "A month's cost by app (the untagged cost as one row), team, environment or service category",
    role: 'viewer',
    query: CostsQuery,
    responses: {
      200: {
        description: 'Items, most expensive first, and the month totals',
        schema: z.object({
          month: z.string(),
          by: z.string(),
          items: z.array(
            z.object({
              key: z.string().nullable(),
              name: z.string().nullable().optional(),
              team: z.string().nullable().optional(),
              untagged: z.boolean().optional(),
              currency: z.string(),
              cost: Amount,
            }),
          ),
          totals: Totals,
        }),
      },
    },
  },
  {
    method: 'get',
    path: '/apps/v1/cost/chargeback',
    summary:
      'The monthly chargeback per team (JSON, or CSV with Accept: text/csv or ?format=csv); rows add up to the total',
    role: 'viewer',
    query: ChargebackQuery,
    responses: {
      200: {
        description: 'Per team (team null: cost no team claims), with the untagged part of each',
        schema: z.object({
          month: z.string(),
          teams: z.array(
            z.object({
              team: z.string().nullable(),
              currency: z.string(),
              cost: Amount,
              untagged: Amount,
              apps: z.number().int(),
            }),
          ),
          totals: Totals,
        }),
      },
    },
  },
  {
    method: 'get',
    path: '/apps/v1/cost/quotas',
    summary: 'Quotas with their use in a month (default: this one) and the alerts sent',
    role: 'viewer',
    query: z.object({ month: z.string().optional() }),
    responses: { 200: { description: 'The quotas', schema: z.object({ month: z.string(), items: z.array(Quota) }) } },
  },
  {
    method: 'post',
    path: '/apps/v1/cost/quotas',
    summary: 'Set a monthly quota for a team, an owner (contact) or an environment; alerts at 80 % and 100 %',
    role: 'approver',
    body: { schema: QuotaBody },
    responses: { 201: { description: 'The quota', schema: Quota }, 409: { description: 'One exists for it' } },
  },
  {
    method: 'patch',
    path: '/apps/v1/cost/quotas/:id',
    summary: 'Change a quota’s amount',
    role: 'approver',
    pathParams: quotaId,
    body: { schema: QuotaPatchBody },
    responses: { 200: { description: 'The quota', schema: Quota } },
  },
  {
    method: 'delete',
    path: '/apps/v1/cost/quotas/:id',
    summary: 'Remove a quota',
    role: 'approver',
    pathParams: quotaId,
    responses: { 204: { description: 'Removed' } },
  },
  {
    method: 'post',
    path: '/apps/v1/cost/quotas/:id/requests',
    summary: 'Ask for a quota increase, with a justification',
    role: 'responder',
    pathParams: quotaId,
    body: { schema: QuotaRequestBody },
    responses: { 201: { description: 'The pending request', schema: QuotaRequest } },
  },
  {
    method: 'get',
    path: '/apps/v1/cost/quota-requests',
    summary: 'Quota increase requests',
    role: 'viewer',
    query: RequestsQuery,
    responses: { 200: { description: 'Newest first', schema: z.object({ items: z.array(QuotaRequest) }) } },
  },
  ...(['approve', 'reject'] as const).map(
    (decision): ApiOperation => ({
      method: 'post',
      path: `/apps/v1/cost/quota-requests/:id/${decision}`,
      summary:
        decision === 'approve'
          ? 'Approve a quota increase (the quota takes the amount); never your own request'
          : 'Reject a quota increase; never your own request',
      role: 'approver',
      pathParams: { id: 'The request id' },
      body: { schema: QuotaDecisionBody },
      responses: {
        200: { description: 'The decided request', schema: QuotaRequest },
        409: { description: 'Decided already' },
      },
    }),
  ),
  {
    method: 'post',
    path: '/apps/v1/cost/weekly-report',
    summary: "Write the weekly cost report now: each app's last seven days against the week before, as owner notices",
    description:
      'The job `cost-weekly-report` also runs at COST_REPORT_CRON. One notice per app and day it runs: running it twice the same day sends nothing twice.',
    role: 'admin',
    responses: { 202: { description: 'The job id', schema: z.object({ jobId: z.string() }) } },
  },
  {
    method: 'get',
    path: '/apps/v1/cost/anomalies',
    summary: 'Days an app cost unusually much against its own baseline (median and MAD of the 28 days before)',
    role: 'viewer',
    query: AnomaliesQuery,
    responses: { 200: { description: 'Newest first', schema: z.object({ items: z.array(Anomaly) }) } },
  },
];
