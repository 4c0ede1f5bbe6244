import { type ComponentStatus, type ProviderIncidentRef, toComponentStatus } from '@micro-oncall/incident-model';
import { z } from 'zod';

/*
 * Atlassian Statuspage v2, pure: the documented `summary.json` and webhook payloads
 * (/work/shared/reference/providers.md, providers-2.md) read into what status-mapper stores.
 * Unknown fields are ignored, unknown status words become `unknown`; a body without the
 * documented shape is refused with the first problems named.
 */

const Id = z.string().min(1).max(128);
const Str = z.string().max(4096);

const SummaryComponent = z.object({
  id: Id,
  name: z.string().max(512),
  status: z.string().max(64).nullish(),
  group: z.boolean().nullish(),
  group_id: Id.nullish(),
  components: z.array(Id).nullish(),
  updated_at: Str.nullish(),
});

const SummaryIncident = z.object({
  id: Id,
  name: z.string().max(512),
  status: z.string().min(1).max(64),
  impact: z.string().min(1).max(64),
  shortlink: z.string().max(2048).nullish(),
  created_at: Str.nullish(),
  updated_at: Str.nullish(),
  incident_updates: z.array(z.object({ body: z.string().max(100_000).nullish(), created_at: Str.nullish() })).nullish(),
  components: z.array(z.object({ id: Id })).nullish(),
});

export const Summary = z.object({
  page: z.object({ id: Id, name: z.string().max(256), url: Str.nullish(), updated_at: Str.nullish() }),
  status: z.object({ indicator: z.string().max(64), description: z.string().max(512) }).nullish(),
  components: z.array(SummaryComponent).max(5000),
  incidents: z.array(SummaryIncident).max(1000),
  scheduled_maintenances: z.array(z.unknown()).nullish(),
});
export type Summary = z.infer<typeof Summary>;

export interface ObservedComponent {
  id: string;
  name: string;
  group: { id: string; name: string } | null;
  status: ComponentStatus;
  /** The provider's own word. */
  providerStatus: string | null;
}

export interface ObservedIncident extends ProviderIncidentRef {
  latestUpdate: string | null;
  updatedAt: string | null;
  componentIds: string[];
}

export interface PageObservation {
  providerPageId: string;
  pageName: string;
  indicator: string | null;
  components: ObservedComponent[];
  incidents: ObservedIncident[];
}

export class SummaryShapeError extends Error {}

// GitHub's always-operational pointer to its own page is not a component (providers-2.md).
const PLACEHOLDER = /^visit .+ for more information$/i;

/** Reads a `summary.json` body (already parsed JSON, or text when it did not parse). */
export function readSummary(body: unknown): PageObservation {
  if (typeof body === 'string' || body === null || body === undefined) {
    throw new SummaryShapeError(
      body ? 'summary.json is not valid JSON (truncated or not JSON)' : 'summary.json was empty',
    );
  }
  const parsed = Summary.safeParse(body);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new SummaryShapeError(`summary.json does not have the documented shape: ${issues.join('; ')}`);
  }
  const summary = parsed.data;
  const groups = new Map(summary.components.filter((c) => c.group === true).map((c) => [c.id, c.name]));
  const components: ObservedComponent[] = summary.components
    .filter((c) => c.group !== true && !PLACEHOLDER.test(c.name))
    .map((c) => {
      const groupName = c.group_id ? groups.get(c.group_id) : undefined;
      return {
        id: c.id,
        name: c.name,
        group: c.group_id && groupName !== undefined ? { id: c.group_id, name: groupName } : null,
        status: toComponentStatus(c.status),
        providerStatus: c.status ?? null,
      };
    });
  return {
    providerPageId: summary.page.id,
    pageName: summary.page.name,
    indicator: summary.status?.indicator ?? null,
    components,
    incidents: summary.incidents.map(readIncident),
  };
}

function readIncident(i: z.infer<typeof SummaryIncident>): ObservedIncident {
  const updates = [...(i.incident_updates ?? [])].sort((a, b) =>
    String(b.created_at ?? '').localeCompare(String(a.created_at ?? '')),
  );
  return {
    id: i.id,
    name: i.name,
    status: i.status,
    impact: i.impact,
    shortlink: i.shortlink ?? null,
    latestUpdate: updates[0]?.body ?? null,
    updatedAt: i.updated_at ?? null,
    componentIds: (i.components ?? []).map((c) => c.id),
  };
}

const WebhookPage = z.object({
  id: Id,
  status_indicator: z.string().max(64).nullish(),
  status_description: z.string().max(512).nullish(),
});

/** Statuspage webhook subscription: component update. */
export const ComponentUpdateWebhook = z.object({
  meta: z.object({}).passthrough().nullish(),
  page: WebhookPage,
  component_update: z.object({
    id: Id,
    component_id: Id,
    created_at: Str,
    old_status: z.string().max(64).nullish(),
    new_status: z.string().min(1).max(64),
  }),
  component: z.object({
    id: Id,
    name: z.string().max(512),
    status: z.string().max(64).nullish(),
    created_at: Str.nullish(),
    group_id: Id.nullish(),
  }),
});

/** Statuspage webhook subscription: incident update. */
export const IncidentUpdateWebhook = z.object({
  meta: z.object({}).passthrough().nullish(),
  page: WebhookPage,
  incident: SummaryIncident,
});

export type StatuspageWebhook =
  | {
      kind: 'component';
      providerPageId: string;
      component: { id: string; name: string; groupId: string | null };
      status: ComponentStatus;
      providerStatus: string;
      at: string;
    }
  | { kind: 'incident'; providerPageId: string; incident: ObservedIncident };

/** A webhook body → what it says; null when it is neither documented payload. */
export function readWebhook(body: unknown): StatuspageWebhook | null {
  if (body !== null && typeof body === 'object' && 'component_update' in body) {
    const parsed = ComponentUpdateWebhook.safeParse(body);
    if (!parsed.success) return null;
    const { page, component_update: update, component } = parsed.data;
    if (update.component_id !== component.id) return null;
    return {
      kind: 'component',
      providerPageId: page.id,
      component: { id: component.id, name: component.name, groupId: component.group_id ?? null },
      status: toComponentStatus(update.new_status),
      providerStatus: update.new_status,
      at: Number.isNaN(Date.parse(update.created_at))
        ? new Date().toISOString()
        : new Date(update.created_at).toISOString(),
    };
  }
  if (body !== null && typeof body === 'object' && 'incident' in body) {
    const parsed = IncidentUpdateWebhook.safeParse(body);
    if (!parsed.success) return null;
    return { kind: 'incident', providerPageId: parsed.data.page.id, incident: readIncident(parsed.data.incident) };
  }
  return null;
}
