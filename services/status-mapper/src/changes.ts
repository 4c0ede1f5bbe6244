import type { ComponentStatus } from '@micro-oncall/incident-model';
import type { ObservedComponent } from './statuspage.js';

/*
 * The domain rule, pure: given what we hold for a page's components and what the provider just
 * said, which components changed condition. A component seen for the first time counts as a
 * change only when it is not operational (a new page's hundred green components are not news;
 * a new component already in an outage is).
 */

export interface HeldComponent {
  componentId: string;
  status: ComponentStatus;
}

export interface ComponentChange {
  component: ObservedComponent;
  from: ComponentStatus | null;
  to: ComponentStatus;
}

export function diffComponents(
  held: readonly HeldComponent[],
  observed: readonly ObservedComponent[],
): ComponentChange[] {
  const byId = new Map(held.map((h) => [h.componentId, h]));
  const changes: ComponentChange[] = [];
  for (const component of observed) {
    const before = byId.get(component.id);
    if (!before) {
      if (component.status !== 'operational') changes.push({ component, from: null, to: component.status });
    } else if (before.status !== component.status) {
      changes.push({ component, from: before.status, to: component.status });
    }
  }
  return changes;
}

/** Components that go `unknown` when their page turns stale: every one that is not unknown already. */
export function staleChanges<T extends HeldComponent>(held: readonly T[]): T[] {
  return held.filter((h) => h.status !== 'unknown');
}

/**
 * When to poll a page next: its interval plus up to `jitterSeconds` at random; after failures,
 * the interval doubles per consecutive failure (a 429 once more), capped at `maxBackoffSeconds`.
 */
export function nextPollDelaySeconds(opts: {
  intervalSeconds: number;
  jitterSeconds: number;
  consecutiveFailures: number;
  rateLimited?: boolean;
  maxBackoffSeconds: number;
  random?: () => number;
}): number {
  const random = opts.random ?? Math.random;
  const exponent = Math.min(20, opts.consecutiveFailures + (opts.rateLimited ? 1 : 0));
  const base = Math.min(opts.maxBackoffSeconds, opts.intervalSeconds * 2 ** exponent);
  return Math.max(opts.intervalSeconds, base) + Math.floor(random() * (opts.jitterSeconds + 1));
}
