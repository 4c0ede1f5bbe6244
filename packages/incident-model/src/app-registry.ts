import { z } from 'zod';
import { IsoDateTime } from './time.js';

/*
 * Payload of `app-registry`: a micro app was registered, changed owner or tier, or moved along its
 * lifecycle (app-registry). Escalation learns owners from it; anyone can follow an app's state.
 */

/**
 * Where an app is. Onboarding: `refused` (a required control is not met: the decision says which
 * and what to change), `held` (no policy decision could be made: the policy engine failed or
 * answered something unknown; never approved by default), `pending_approval` (an approver must
 * decide). Lifecycle: `active` → `idle` (no activity for a while) → `disabled` (owner notified, a
 * grace period) → `archived` (restorable for a window) → `purged` (irreversible).
 */
export const AppState = z.enum([
  'refused',
  'held',
  'pending_approval',
  'active',
  'idle',
  'disabled',
  'archived',
  'purged',
]);
export type AppState = z.infer<typeof AppState>;

/** Risk tier from the classification policy (impact × data sensitivity × exposure). */
export const RiskTier = z.enum(['low', 'medium', 'high']);
export type RiskTier = z.infer<typeof RiskTier>;

export const AppRegistryChangeKind = z.enum(['registered', 'updated', 'state_changed']);
export type AppRegistryChangeKind = z.infer<typeof AppRegistryChangeKind>;

const Text = (max: number) => z.string().min(1).max(max);

export const AppContact = z.object({
  name: Text(256),
  /** Email address, or another way to reach them (a chat handle) when the owner has none. */
  contact: Text(320),
});
export type AppContact = z.infer<typeof AppContact>;

export const AppRegistryChange = z.object({
  /** Unique per change: the consumers' idempotency key. */
  changeId: z.uuid(),
  kind: AppRegistryChangeKind,
  app: z.object({
    /** The registry's id (`app_…`): the event subject and Kafka key. */
    id: Text(64),
    /** Unique, lowercase, dashes: what telemetry and incidents call the app. */
    name: Text(63),
  }),
  owner: z.object({
    /** The person who answers for the app; null when it has none (an ownership task is open). */
    person: AppContact.nullable(),
    team: AppContact,
  }),
  /** Null while no policy decision has been made (state `held`). */
  tier: RiskTier.nullable(),
  state: z.object({
    /** Null when the app is registered. */
    from: AppState.nullable(),
    to: AppState,
  }),
  /** Why, in words (the lifecycle rule, the decision, who restored it). */
  reason: z.string().max(1000),
  actor: z.object({
    type: z.enum(['user', 'system']),
    /** The person's subject, or the job's name. */
    id: Text(256),
  }),
  occurredAt: IsoDateTime,
});
export type AppRegistryChange = z.infer<typeof AppRegistryChange>;

export const APP_REGISTRY_TYPE_PREFIX = 'io.microoncall.app-registry.';
