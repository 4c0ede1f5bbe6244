import { type IncidentEvent, statusAfter } from '@micro-oncall/incident-model';
import type { incidents } from './db/schema.js';

export type IncidentRow = typeof incidents.$inferSelect;

const STATUS_KINDS = new Set(['triggered', 'acknowledged', 'unacknowledged', 'resolved', 'reopened']);

const later = (a: string, b: string) => Date.parse(a) >= Date.parse(b);

/**
 * Folds one event into an incident's state. Pure, so the rules are tested without a database:
 * - descriptive fields (title, severity, …) follow the newest snapshot by occurrence time;
 * - status follows the newest status-changing event by occurrence time;
 * - an event older than what is already applied still lands in the history, but does not
 *   move the state backwards (providers retry and reorder).
 * Returns null when there is nothing to project: an event without a snapshot (a note) about
 * an incident not seen yet.
 */
export function applyEvent(current: IncidentRow | null, event: IncidentEvent): IncidentRow | null {
  const snapshot = event.snapshot;
  if (!current && !snapshot) return null;
  const at = event.occurredAt;
  const base: IncidentRow = current ?? {
    id: event.incidentId,
    provider: event.provider,
    providerId: event.providerId,
    dedupKey: event.dedupKey,
    title: snapshot!.title,
    service: snapshot!.service,
    severity: snapshot!.severity,
    urgency: snapshot!.urgency,
    status: statusAfter(null, event.kind),
    labels: snapshot!.labels,
    links: snapshot!.links,
    providerUrl: snapshot!.providerUrl,
    drill: event.drill,
    createdAt: snapshot!.createdAt,
    updatedAt: at,
    snapshotAt: at,
    statusAt: at,
    acknowledgedAt: event.kind === 'acknowledged' ? at : null,
    resolvedAt: event.kind === 'resolved' ? at : null,
    lastEventKind: event.kind,
    recordedAt: new Date().toISOString(),
  };
  if (!current) return base;

  const next: IncidentRow = { ...current };
  if (snapshot && later(at, current.snapshotAt)) {
    Object.assign(next, {
      title: snapshot.title,
      service: snapshot.service,
      severity: snapshot.severity,
      urgency: snapshot.urgency,
      labels: snapshot.labels,
      links: snapshot.links,
      providerUrl: snapshot.providerUrl,
      snapshotAt: at,
    });
    if (Date.parse(snapshot.createdAt) < Date.parse(current.createdAt)) next.createdAt = snapshot.createdAt;
  }
  if (STATUS_KINDS.has(event.kind) && later(at, current.statusAt)) {
    next.status = statusAfter(current.status, event.kind);
    next.statusAt = at;
    if (next.status === 'acknowledged') next.acknowledgedAt = at;
    if (next.status === 'resolved') next.resolvedAt = at;
    if (next.status === 'triggered') {
      next.acknowledgedAt = null;
      next.resolvedAt = null;
    }
  }
  if (later(at, current.updatedAt)) {
    next.updatedAt = at;
    next.lastEventKind = event.kind;
  }
  next.drill = current.drill || event.drill;
  return next;
}
