import type { IncidentEvent } from '../events.js';

export type ValidationIssue = { path: string; message: string };

export type NormaliseResult =
  | { outcome: 'events'; events: IncidentEvent[] }
  /** Authentic and well-formed, but not an incident state change we model: reported, never guessed. */
  | { outcome: 'ignored'; eventType: string; reason: string }
  /** Schema-invalid; `path` is dotted, e.g. `event.data.id` or `alerts.0.labels`. */
  | { outcome: 'invalid'; issues: ValidationIssue[] };

export type NormaliseContext = { receivedAt: string /* ISO */ };

export type Normaliser = (body: unknown, ctx: NormaliseContext) => NormaliseResult;
