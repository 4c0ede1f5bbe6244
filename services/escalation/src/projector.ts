import { type IncidentEvent, type IncidentEventKind, statusAfter } from '@micro-oncall/incident-model';
import type { IncidentRow } from './db/types.js';
import { drillRunIdOfEvent, hasDrillMarker } from './drills.js';

const STATUS_KINDS = new Set<IncidentEventKind>([
  'triggered',
  'acknowledged',
  'unacknowledged',
  'resolved',
  'reopened',
]);

const later = (a: string, b: string) => Date.parse(a) >= Date.parse(b);

const before = (a: string, b: string | null) => b !== null && Date.parse(a) < Date.parse(b);

/**
 * Folds one event into an incident's state. Pure, so the rules are tested without a database,
 * and independent of delivery order (providers retry and reorder):
 * - descriptive fields (title, severity, the provider's priority, assignees, …) follow the newest
 *   snapshot by occurrence time (a snapshot from before ADR 0008, without priority or assignees,
 *   clears them: it cannot say they are still true);
 * - status follows the newest status-changing event by occurrence time;
 * - `triggeredAt` is the newest trigger, reopen or unacknowledge (Alertmanager re-fires a
 *   resolved alert as a new trigger); `acknowledgedAt` is the earliest acknowledgement and
 *   `resolvedAt` the newest resolution not older than it.
 * - the drill marker and run id stick once any event carried them; whether the incident is a
 *   drill is decided against the registered runs by the consumer (drills.ts).
 * An event older than what is applied still lands in the history but does not move the state
 * backwards. Returns null when there is nothing to project: an event without a snapshot
 * (a note) about an incident not seen yet.
 */
export function applyEvent(current: IncidentRow | null, event: IncidentEvent): IncidentRow | null {
  const snapshot = event.snapshot;
  if (!current && !snapshot) return null;
  const at = event.occurredAt;
  const next: IncidentRow = current
    ? { ...current }
    : {
        id: event.incidentId,
        number: 0, // drawn by the database when the row is first inserted
        provider: event.provider,
        providerId: event.providerId,
        dedupKey: event.dedupKey,
        title: snapshot!.title,
        service: snapshot!.service,
        severity: snapshot!.severity,
        providerSeverity: snapshot!.providerSeverity ?? null,
        assignees: snapshot!.assignees ?? [],
        urgency: snapshot!.urgency,
        status: statusAfter(null, event.kind),
        labels: snapshot!.labels,
        links: snapshot!.links,
        providerUrl: snapshot!.providerUrl,
        // Verified against the registered drill runs by the consumer (drills.ts), never by the marker alone.
        drill: false,
        drillMarker: hasDrillMarker(event),
        drillRunId: drillRunIdOfEvent(event),
        unverifiedDrillMarker: null,
        // Until the consumer says when its first event was received (the envelope's time).
        firstSeenAt: at,
        createdAt: snapshot!.createdAt,
        updatedAt: at,
        snapshotAt: at,
        statusAt: at,
        acknowledgedAt: null,
        resolvedAt: null,
        triggeredAt: null,
        lastEventKind: event.kind,
        // Grouped by the consumer when first seen (grouping.ts), or by a responder.
        groupId: null,
        groupPinned: false,
        changeSeq: 0, // assigned by the database when written
        recordedAt: new Date().toISOString(),
      };

  if (current) {
    if (snapshot && later(at, current.snapshotAt)) {
      Object.assign(next, {
        title: snapshot.title,
        service: snapshot.service,
        severity: snapshot.severity,
        providerSeverity: snapshot.providerSeverity ?? null,
        assignees: snapshot.assignees ?? [],
        urgency: snapshot.urgency,
        labels: snapshot.labels,
        links: snapshot.links,
        providerUrl: snapshot.providerUrl,
        snapshotAt: at,
      });
    }
    if (snapshot && Date.parse(snapshot.createdAt) < Date.parse(current.createdAt)) next.createdAt = snapshot.createdAt;
    if (STATUS_KINDS.has(event.kind) && later(at, current.statusAt)) {
      next.status = statusAfter(current.status, event.kind);
      next.statusAt = at;
    }
    if (later(at, current.updatedAt)) {
      next.updatedAt = at;
      next.lastEventKind = event.kind;
    }
    next.drillMarker = current.drillMarker || hasDrillMarker(event);
    next.drillRunId = current.drillRunId ?? drillRunIdOfEvent(event);
  }

  if (event.kind === 'triggered' || event.kind === 'reopened' || event.kind === 'unacknowledged') {
    if (!before(at, next.triggeredAt)) {
      next.triggeredAt = at;
      if (before(next.acknowledgedAt ?? at, at)) next.acknowledgedAt = null;
      if (before(next.resolvedAt ?? at, at)) next.resolvedAt = null;
    }
  } else if (event.kind === 'acknowledged' && !before(at, next.triggeredAt)) {
    if (next.acknowledgedAt === null || before(at, next.acknowledgedAt)) next.acknowledgedAt = at;
  } else if (event.kind === 'resolved' && !before(at, next.triggeredAt)) {
    if (next.resolvedAt === null || later(at, next.resolvedAt)) next.resolvedAt = at;
  }
  return next;
}
