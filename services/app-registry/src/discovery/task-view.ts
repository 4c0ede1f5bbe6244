import type * as schema from '../db/schema.js';
import { iso, isoOrNull } from '../views.js';

/*
 * How a candidate's ownership task is shown: on the candidate (candidates.ts) and beside the
 * apps' tasks in GET /apps/v1/ownership-tasks (ownership.ts). Views only, no store: ownership.ts
 * imports it without an import circle through the registry.
 */

type CandidateRow = typeof schema.discoveryCandidates.$inferSelect;
type TaskRow = typeof schema.candidateOwnershipTasks.$inferSelect;

export function taskView(row: TaskRow) {
  return {
    id: row.id,
    candidateId: row.candidateId,
    status: row.status,
    reason: row.reason,
    detail: row.detail,
    candidates: row.candidates,
    openedAt: iso(row.openedAt),
    openedBy: row.openedBy,
    resolvedAt: isoOrNull(row.resolvedAt),
    resolvedBy: row.resolvedBy,
    resolution: row.resolution,
  };
}

/**
 * A candidate's ownership task as GET /apps/v1/ownership-tasks lists it beside the apps' tasks
 * (`kind: 'candidate'`): with what was discovered and who is suggested to own it.
 */
export function candidateTaskView(row: TaskRow, candidate: CandidateRow) {
  return {
    kind: 'candidate' as const,
    ...taskView(row),
    candidate: {
      kind: candidate.kind,
      key: candidate.key,
      label: candidate.label,
      state: candidate.state,
      appId: candidate.appId,
      suggestedOwner: candidate.suggestedOwner
        ? { who: candidate.suggestedOwner, why: candidate.suggestedOwnerWhy }
        : null,
    },
  };
}
export type CandidateTaskView = ReturnType<typeof candidateTaskView>;
