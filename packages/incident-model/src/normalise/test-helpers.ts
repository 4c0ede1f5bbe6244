import { expect } from 'vitest';
import type { IncidentEvent } from '../events.js';
import type { NormaliseResult, ValidationIssue } from './types.js';

/** Test helpers shared by the normaliser tests (not exported from the package). */
export const ctx = { receivedAt: '2025-11-20T09:30:00.000Z' };

export function eventsOf(result: NormaliseResult): IncidentEvent[] {
  if (result.outcome !== 'events') throw new Error(`expected events, got ${JSON.stringify(result)}`);
  return result.events;
}

export function onlyEvent(result: NormaliseResult): IncidentEvent {
  const events = eventsOf(result);
  expect(events).toHaveLength(1);
  return events[0] as IncidentEvent;
}

export function issuesOf(result: NormaliseResult): ValidationIssue[] {
  if (result.outcome !== 'invalid') throw new Error(`expected invalid, got ${JSON.stringify(result)}`);
  return result.issues;
}

export function issuePaths(result: NormaliseResult): string[] {
  return issuesOf(result).map((issue) => issue.path);
}

/** A deep copy that can be edited freely. */
export function copy<T>(value: T): T {
  return structuredClone(value);
}
