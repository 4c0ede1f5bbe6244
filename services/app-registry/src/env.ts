import { baseConfigSchema } from '@micro-oncall/service-kit';
import { z } from 'zod';

/** app-registry configuration; secrets may come from mounted files (`X_FILE`). */
export const configSchema = baseConfigSchema.extend({
  // Required
  OIDC_ISSUER: z.string().url(),
  OIDC_AUDIENCE: z.string().min(1),
  // Identity
  /** Defaults to the jwks_uri of the issuer's discovery document. */
  OIDC_JWKS_URL: z.string().url().optional(),
  OIDC_ROLES_CLAIM: z.string().default('roles'),
  // Kafka
  KAFKA_CONSUMER_GROUP: z.string().default('app-registry'),
});

export type Config = z.output<typeof configSchema>;
