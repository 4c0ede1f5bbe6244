import { FOCUS_MANDATORY } from './readers.js';

/*
 * Cost files as the exporters write them, for the tests and the demo: FOCUS 1.2 rows from a few
 * fields, every mandatory column filled.
 */

export const FOCUS_HEADER = [...FOCUS_MANDATORY, 'ResourceId', 'RegionId', 'Tags'] as const;

export interface FocusRowInput {
  day: string;
  cost: string;
  resourceId?: string;
  tags?: Record<string, string>;
  currency?: string;
  serviceCategory?: string;
  serviceName?: string;
  account?: string;
}

const csvCell = (value: string) => (/[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

export function focusRow(r: FocusRowInput): string {
  const month = r.day.slice(0, 7);
  const next = new Date(Date.UTC(Number(month.slice(0, 4)), Number(month.slice(5, 7)), 1)).toISOString().slice(0, 10);
  const dayAfter = new Date(Date.parse(`${r.day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  const values: Record<(typeof FOCUS_HEADER)[number], string> = {
    BilledCost: r.cost,
    EffectiveCost: r.cost,
    ListCost: r.cost,
    ContractedCost: r.cost,
    BillingCurrency: r.currency ?? 'EUR',
    BillingAccountId: r.account ?? '111122223333',
    BillingAccountName: 'Example Org',
    BillingPeriodStart: `${month}-01T00:00:00Z`,
    BillingPeriodEnd: `${next}T00:00:00Z`,
    ChargePeriodStart: `${r.day}T00:00:00Z`,
    ChargePeriodEnd: `${dayAfter}T00:00:00Z`,
    ChargeCategory: 'Usage',
    ChargeClass: '',
    ChargeDescription: 'usage',
    ServiceCategory: r.serviceCategory ?? 'Compute',
    ServiceName: r.serviceName ?? 'AWS Lambda',
    ProviderName: 'AWS',
    PublisherName: 'AWS',
    InvoiceIssuerName: 'AWS',
    PricingQuantity: '1',
    PricingUnit: 'Requests',
    ResourceId: r.resourceId ?? '',
    RegionId: 'eu-west-1',
    Tags: r.tags ? JSON.stringify(r.tags) : '',
  };
  return FOCUS_HEADER.map((c) => csvCell(values[c])).join(',');
}

export const focusFile = (rows: FocusRowInput[]) => `${[FOCUS_HEADER.join(','), ...rows.map(focusRow)].join('\n')}\n`;
