import { expect } from 'vitest';
import { IncidentEvent } from '../events.js';
import type { NormaliseResult, ValidationIssue } from './types.js';

/** Test helpers shared by the normaliser tests (not exported from the package). */
export const ctx = { receivedAt: '2025-11-20T09:30:00.000Z' };

/**
 * The events of a result, each checked against `IncidentEvent`: `emit` does not validate them in
 * production, so this is where a normaliser that builds an invalid event fails.
 */
export function eventsOf(result: NormaliseResult): IncidentEvent[] {
  if (result.outcome !== 'events') throw new Error(`expected events, got ${JSON.stringify(result)}`);
  for (const event of result.events) expectValidEvent(event);
  return result.events;
}

/** `event` satisfies the model exactly: the schema accepts it and would neither drop nor change a field. */
export function expectValidEvent(event: IncidentEvent): void {
  const checked = IncidentEvent.safeParse(event);
  if (!checked.success) {
    throw new Error(`normalised event failed validation: ${checked.error.message}\n${JSON.stringify(event)}`);
  }
  expect(checked.data).toStrictEqual(event);
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
