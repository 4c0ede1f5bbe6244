import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IncidentEventEnvelope, incidentEventEnvelope } from '../events.js';
import {
  alertmanagerWebhook,
  opsgenieWebhook,
  pagerDutyIncidentEvent,
  pagerDutyNoteEvent,
  pagerDutyServiceEvent,
} from '../fixtures/index.js';
import { normaliseAlertmanager } from './alertmanager.js';
import { normaliseOpsgenie, OPSGENIE_ACTION_KINDS } from './opsgenie.js';
import { normalisePagerDuty, PAGERDUTY_INCIDENT_EVENT_KINDS } from './pagerduty.js';
import { expectValidEvent } from './test-helpers.js';
import type { NormaliseResult, Normaliser } from './types.js';

const ctx = { receivedAt: '2025-11-20T09:30:00.000Z' };

// Shrinking huge strings is slow: bound the time a failing run may take (the failure is still reported).
const params = { interruptAfterTimeLimit: 15_000, markInterruptAsFailure: true } as const;
// What vitest allows each property: the runs above plus room on a loaded machine (its default is 5 s).
const timeout = 60_000;

type Path = Array<string | number>;

/** Every path to a value inside `root` (the root itself excluded), depth-first. */
function pathsOf(root: unknown): Path[] {
  const out: Path[] = [];
  const walk = (value: unknown, path: Path) => {
    if (Array.isArray(value)) {
      value.forEach((item, index) => {
        out.push([...path, index]);
        walk(item, [...path, index]);
      });
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        out.push([...path, key]);
        walk(item, [...path, key]);
      }
    }
  };
  walk(root, []);
  return out;
}

type Mutation = { pick: number; op: 'delete' | 'replace' | 'huge' | 'retype'; value: unknown; size: number };

function applyMutation(root: unknown, mutation: Mutation): unknown {
  const paths = pathsOf(root);
  if (paths.length === 0) return root;
  const path = paths[mutation.pick % paths.length] as Path;
  let parent = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const key = path[path.length - 1] as string | number;
  const current = parent[key];
  switch (mutation.op) {
    case 'delete':
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
      break;
    case 'replace':
      parent[key] = mutation.value;
      break;
    case 'huge':
      parent[key] = typeof current === 'string' ? current + 'é'.repeat(mutation.size) : 'x'.repeat(mutation.size);
      break;
    case 'retype':
      parent[key] =
        typeof current === 'string' ? mutation.size : typeof current === 'number' ? String(current) : [current];
      break;
  }
  return root;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  pick: fc.nat(),
  op: fc.constantFrom('delete', 'replace', 'huge', 'retype'),
  value: fc.jsonValue({ maxDepth: 2 }),
  size: fc.integer({ min: 1, max: 70_000 }),
});

function mutated(bases: readonly unknown[]): fc.Arbitrary<unknown> {
  return fc
    .tuple(fc.constantFrom(...bases), fc.array(mutation, { minLength: 1, maxLength: 3 }))
    .map(([base, mutations]) => mutations.reduce(applyMutation, structuredClone(base)));
}

/** The invariants every normaliser keeps for every input. */
function checkInvariants(normalise: Normaliser, body: unknown): NormaliseResult {
  const result = normalise(body, ctx);
  expect(['events', 'ignored', 'invalid']).toContain(result.outcome);
  if (result.outcome === 'events') {
    expect(result.events.length).toBeGreaterThan(0);
    for (const event of result.events) {
      // emit does not validate in production: this is the check that every emitted event is valid.
      expectValidEvent(event);
      IncidentEventEnvelope.parse(incidentEventEnvelope(event, { source: '/test' }));
    }
  } else if (result.outcome === 'invalid') {
    expect(result.issues.length).toBeGreaterThan(0);
    for (const issue of result.issues) {
      expect(typeof issue.path).toBe('string');
      // This message comes from the safety net for exceptions: a bug.
      expect(issue.message).not.toMatch(/^payload could not be processed/);
    }
  } else {
    expect(result.eventType.length).toBeLessThanOrEqual(128);
  }
  // Deterministic: the same body always normalises to the same result (replays share event ids).
  expect(normalise(body, ctx)).toEqual(result);
  return result;
}

/** Random values for the inner object's own fields (and some unknown ones), spread over it. */
function patched(inner: Record<string, unknown>, wrap: (inner: Record<string, unknown>) => unknown) {
  const key = fc.oneof(fc.constantFrom(...Object.keys(inner)), fc.string({ maxLength: 8 }));
  return fc
    .dictionary(key, fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.string({ minLength: 1000, maxLength: 3000 })), {
      minKeys: 1,
      maxKeys: 4,
    })
    .map((patch) => wrap({ ...structuredClone(inner), ...patch }));
}

const pagerDuty = pagerDutyIncidentEvent();
const opsgenie = opsgenieWebhook({ action: 'Acknowledge' });
const alertmanager = alertmanagerWebhook();

const cases: Array<{ normalise: Normaliser; bases: unknown[]; patchedInner: fc.Arbitrary<unknown> }> = [
  {
    normalise: normalisePagerDuty,
    bases: [
      ...Object.keys(PAGERDUTY_INCIDENT_EVENT_KINDS).map((eventType) => pagerDutyIncidentEvent({ eventType })),
      pagerDutyIncidentEvent({ priority: null, agent: null, incidentKey: null }),
      pagerDutyNoteEvent(),
      pagerDutyServiceEvent(),
    ],
    patchedInner: patched(pagerDuty.event.data, (data) => ({ event: { ...pagerDuty.event, data } })),
  },
  {
    normalise: normaliseOpsgenie,
    bases: [
      ...Object.keys(OPSGENIE_ACTION_KINDS).map((action) => opsgenieWebhook({ action })),
      opsgenieWebhook({ alias: null, priority: null, updatedAtNs: null }),
      opsgenieWebhook({ action: 'Delete' }),
    ],
    patchedInner: patched(opsgenie.alert, (alert) => ({ ...opsgenie, alert })),
  },
  {
    normalise: normaliseAlertmanager,
    bases: [
      alertmanagerWebhook(),
      alertmanagerWebhook({ alerts: [{ status: 'resolved' }, { fingerprint: null }, { labels: { drill: 'true' } }] }),
    ],
    patchedInner: patched(alertmanager.alerts[0]!, (alert) => ({ ...alertmanager, alerts: [alert] })),
  },
];

for (const { normalise, bases, patchedInner } of cases) {
  describe(normalise.name, () => {
    it('normalises every valid fixture to events or ignored', () => {
      for (const base of bases) expect(checkInvariants(normalise, base).outcome).not.toBe('invalid');
    });

    it(
      'never throws and keeps its invariants for arbitrary values',
      () => {
        fc.assert(
          fc.property(
            fc.anything({ withNullPrototype: true, withBoxedValues: true, withSparseArray: true }),
            (body) => {
              checkInvariants(normalise, body);
            },
          ),
          { ...params, numRuns: 400 },
        );
      },
      timeout,
    );

    it(
      'never throws and keeps its invariants when the incident fields hold arbitrary JSON',
      () => {
        fc.assert(
          fc.property(patchedInner, (body) => {
            checkInvariants(normalise, body);
          }),
          { ...params, numRuns: 300 },
        );
      },
      timeout,
    );

    it(
      'never throws and keeps its invariants for mutated provider payloads',
      () => {
        fc.assert(
          fc.property(mutated(bases), (body) => {
            checkInvariants(normalise, body);
          }),
          { ...params, numRuns: 700 },
        );
      },
      timeout,
    );
  });
}
