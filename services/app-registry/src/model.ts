import { AppState, RiskTier } from '@micro-oncall/incident-model';
import { z } from 'zod';

/*
 * The inventory's vocabulary and the shapes the API accepts, shared by the routes, the import
 * parsers and the OpenAPI document, so that what is documented is what is validated.
 */

export { AppState, RiskTier };

/** What the app runs on. `container` is the only containerised runtime (personal data may only run there). */
export const Runtime = z.enum(['serverless_function', 'wasm', 'container', 'low_code', 'saas_connector', 'other']);
export type Runtime = z.infer<typeof Runtime>;

/** Classification: how much the business depends on the app. */
export const Impact = z.enum(['business_critical', 'business_helpful', 'experimental']);
export type Impact = z.infer<typeof Impact>;

/** Classification: the data the app handles (its sensitivity is that of the most sensitive class). */
export const DataClass = z.enum(['pii', 'phi', 'regulated', 'internal', 'public']);
export type DataClass = z.infer<typeof DataClass>;

/** Classification: who can reach it. */
export const Exposure = z.enum(['internal_network', 'authenticated_api', 'public_url']);
export type Exposure = z.infer<typeof Exposure>;

/** Support promise: best effort, business hours, or around the clock. */
export const Sla = z.enum(['best_effort', 'business_hours', 'always_on']);
export type Sla = z.infer<typeof Sla>;

/** How the app entered the registry (discovery is issue 13's). */
export const Origin = z.enum(['api', 'import', 'backstage', 'discovery']);
export type Origin = z.infer<typeof Origin>;

/** Lifecycle states an import may set for a new app (onboarding and purge happen here, not in a file). */
export const ImportableState = z.enum(['active', 'idle', 'disabled', 'archived']);

export const APP_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export const AppName = z
  .string()
  .regex(APP_NAME, 'lowercase letters, digits and inner dashes, at most 63 characters (like a DNS label)');

const Text = (max: number) => z.string().trim().min(1).max(max);
const ShortList = (item: z.ZodType<string>, max: number) => z.array(item).max(max);

export const Contact = z.object({
  name: Text(256),
  /** An email address, or another way to reach them (a chat channel, a handle). */
  contact: Text(320),
});

export const Endpoint = z.object({
  host: z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^[a-z0-9*](?:[a-z0-9.*-]{0,251}[a-z0-9])?(?::\d{1,5})?$/, 'a host name, optionally with :port'),
  path: z.string().trim().startsWith('/', 'starts with /').max(1024).default('/'),
});
export type Endpoint = z.infer<typeof Endpoint>;

const Tag = z
  .string()
  .trim()
  .min(1)
  .max(128)
  .regex(/^[^\s,]+$/, 'no spaces or commas');

/**
 * The app's description and classification: everything a person enters. Owners: `owner` is
 * the person who answers for it (null leaves an ownership task open), `team` the team.
 */
export const AppFields = z.object({
  name: AppName,
  purpose: z.string().trim().max(2000).default(''),
  owner: Contact.nullable().default(null),
  /** The owner's subject at the identity provider: they may restore the app. */
  ownerSubject: z.string().trim().min(1).max(256).nullable().default(null),
  team: Contact,
  runtime: Runtime,
  environments: ShortList(Text(64), 20).default([]),
  repository: z.string().trim().url().max(2048).nullable().default(null),
  endpoints: z.array(Endpoint).max(50).default([]),
  idpClientIds: ShortList(Text(256), 50).default([]),
  cloudResourceIds: ShortList(Text(2048), 200).default([]),
  dataClasses: z.array(DataClass).max(5).default([]),
  impact: Impact,
  exposure: Exposure,
  /** Where a containerised app runs; personal data needs a namespace of its own. */
  namespace: z.string().trim().min(1).max(253).nullable().default(null),
  dedicatedNamespace: z.boolean().default(false),
  /** Keeps data in publicly readable storage (a public bucket, a public website). */
  publicStorage: z.boolean().default(false),
  costCentre: z.string().trim().min(1).max(128).nullable().default(null),
  tags: ShortList(Tag, 50).default([]),
  /** The approved template it was made from (GET /apps/v1/templates). */
  template: z.string().trim().min(1).max(128).nullable().default(null),
  sla: Sla.default('best_effort'),
});
export type AppFields = z.infer<typeof AppFields>;

/** POST /apps/v1/apps: register an app (self-service onboarding). */
export const CreateAppBody = AppFields.strict();

/**
 * PATCH /apps/v1/apps/:id: any of the fields (the name included); absent fields are unchanged.
 * Built from the field schemas without their defaults, so that an absent field is not "reset".
 */
export const PatchAppBody = z
  .object(
    Object.fromEntries(
      Object.entries(AppFields.shape).map(([key, schema]) => [key, unwrapDefault(schema as z.ZodType).optional()]),
    ) as { [K in keyof AppFields]: z.ZodOptional<z.ZodType<AppFields[K]>> },
  )
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'send at least one field to change');
export type PatchAppBody = Partial<AppFields>;

function unwrapDefault(schema: z.ZodType): z.ZodType {
  return schema instanceof z.ZodDefault ? (schema.unwrap() as z.ZodType) : schema;
}

/** What the registry says about an app (GET /apps/v1/apps/:id). */
export const ControlStatus = z.enum(['satisfied', 'excepted', 'missing', 'failing', 'violated']);
export const Control = z.object({
  id: z.string(),
  rule: z.string(),
  title: z.string(),
  status: ControlStatus,
  message: z.string(),
  fix: z.string(),
});
export type Control = z.infer<typeof Control>;

export const Reason = z.object({ rule: z.string(), control: z.string(), message: z.string(), fix: z.string() });
export type Reason = z.infer<typeof Reason>;

export const DecisionOutcome = z.enum(['approve', 'needs_approval', 'refuse', 'hold']);
export type DecisionOutcome = z.infer<typeof DecisionOutcome>;

/** The latest decision on an app, as stored with it and returned by the API. */
export const DecisionSummary = z.object({
  outcome: DecisionOutcome,
  tier: RiskTier.nullable(),
  score: z.number().int().nullable(),
  explanation: z.string(),
  policyVersion: z.string().nullable(),
  reasons: z.array(Reason),
  controls: z.array(Control),
  decidedAt: z.string(),
});
export type DecisionSummary = z.infer<typeof DecisionSummary>;

export const AppView = AppFields.extend({
  id: z.string(),
  state: AppState,
  stateChangedAt: z.string(),
  tier: RiskTier.nullable(),
  riskScore: z.number().int().nullable(),
  decision: DecisionSummary.nullable(),
  openViolations: z.number().int(),
  approval: z.object({ tier: RiskTier, by: z.string(), at: z.string() }).nullable(),
  requestedBy: z.string(),
  lifecycle: z.object({
    lastActivityAt: z.string(),
    exemptUntil: z.string().nullable(),
    disabledAt: z.string().nullable(),
    archivedAt: z.string().nullable(),
    /** Until when an archived app can be restored; it is purged after. */
    restorableUntil: z.string().nullable(),
  }),
  origin: z.object({ source: Origin, ref: z.string().nullable() }),
  createdAt: z.string(),
  updatedAt: z.string(),
  version: z.number().int(),
});
export type AppView = z.infer<typeof AppView>;
