import type { CallerCount, CandidateEvidence } from '../db/discovery-schema.js';
import type { Sighting } from './sighting.js';

/*
 * A batch of sightings folded before it is written: the latest time each matched app was seen,
 * and per candidate key its counts, who created or deployed it, who calls it and its first
 * source lines. Merged into the stored candidate (merge) so the lists stay capped.
 */

export const MAX_EVIDENCE = 20;
export const MAX_CALLERS = 10;
export const MAX_CREATORS = 5;

export interface CandidateAgg {
  kind: string;
  key: string;
  label: string;
  match: Sighting['match'];
  sources: Set<string>;
  first: Date;
  last: Date;
  count: number;
  creators: Map<string, { count: number; action: 'create' | 'deploy' | 'registration' }>;
  callers: Map<string, number>;
  evidence: CandidateEvidence[];
}

export function addSighting(agg: CandidateAgg, sighting: Sighting, source: string, at: Date) {
  agg.count += 1;
  agg.sources.add(source);
  if (at < agg.first) agg.first = at;
  if (at > agg.last) agg.last = at;
  if (sighting.actor && sighting.action !== 'traffic') {
    const seen = agg.creators.get(sighting.actor);
    agg.creators.set(sighting.actor, {
      count: (seen?.count ?? 0) + 1,
      // Whoever created it counts more than whoever deployed it later.
      action: seen?.action === 'create' ? 'create' : sighting.action,
    });
  }
  if (sighting.caller) agg.callers.set(sighting.caller, (agg.callers.get(sighting.caller) ?? 0) + 1);
  if (agg.evidence.length < MAX_EVIDENCE) {
    agg.evidence.push({
      source,
      format: sighting.format,
      action: sighting.action,
      at: at.toISOString(),
      file: sighting.evidence.file,
      line: sighting.evidence.line,
      text: sighting.evidence.text,
    });
  }
}

export function newAgg(kind: string, key: string, sighting: Sighting, at: Date): CandidateAgg {
  return {
    kind,
    key,
    label: sighting.label,
    match: { ...sighting.match },
    sources: new Set(),
    first: at,
    last: at,
    count: 0,
    creators: new Map(),
    callers: new Map(),
    evidence: [],
  };
}

/** Counts merged, most frequent first, capped. */
export function mergeCounts(
  stored: CallerCount[],
  fresh: Iterable<[string, number | { count: number; action?: string }]>,
  cap: number,
): CallerCount[] {
  const merged = new Map<string, CallerCount>(stored.map((c) => [c.who, { ...c }]));
  for (const [who, value] of fresh) {
    const count = typeof value === 'number' ? value : value.count;
    const action = typeof value === 'number' ? undefined : value.action;
    const seen = merged.get(who);
    merged.set(who, {
      who,
      count: (seen?.count ?? 0) + count,
      ...(seen?.action === 'create' || action === 'create'
        ? { action: 'create' }
        : (seen?.action ?? action)
          ? { action: seen?.action ?? action }
          : {}),
    });
  }
  return [...merged.values()].sort((a, b) => b.count - a.count || a.who.localeCompare(b.who)).slice(0, cap);
}

/**
 * Who should own it: whoever created it (the most frequent), else whoever deployed it or
 * registered it at the identity provider, else its most frequent caller. Null when nobody is known.
 */
export function suggestOwner(
  creators: CallerCount[],
  callers: CallerCount[],
): { who: string; why: 'creator' | 'deployer' | 'caller' } | null {
  const creator = creators.find((c) => c.action === 'create');
  if (creator) return { who: creator.who, why: 'creator' };
  if (creators[0]) return { who: creators[0].who, why: 'deployer' };
  if (callers[0]) return { who: callers[0].who, why: 'caller' };
  return null;
}
