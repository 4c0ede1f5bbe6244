import { baseConfigSchema, envList, type Role } from '@micro-oncall/service-kit';
import { z } from 'zod';

/** escalation configuration; secrets may come from mounted files (`X_FILE`). */
export const configSchema = baseConfigSchema.extend({
  // Required
  /** services.yml: owners, oncall handles, contact methods and fallbacks per service. */
  SERVICE_CATALOGUE_FILE: z.string().min(1),
  OIDC_ISSUER: z.string().url(),
  OIDC_AUDIENCE: z.string().min(1),
  // Identity
  /** Defaults to the jwks_uri of the issuer's discovery document. */
  OIDC_JWKS_URL: z.string().url().optional(),
  OIDC_ROLES_CLAIM: z.string().default('roles'),
  /** Maps the issuer's group names onto roles: `sre-oncall=responder,sre-leads=admin`. */
  OIDC_ROLE_MAP: envList().pipe(
    z
      .array(z.string().regex(/^[^=]+=(viewer|responder|approver|admin)$/, 'entries must be group=role'))
      .transform((entries) => Object.fromEntries(entries.map((e) => e.split('=') as [string, Role]))),
  ),
  // Kafka
  KAFKA_CONSUMER_GROUP: z.string().default('escalation'),
});

export type Config = z.output<typeof configSchema>;
