import { createJwtVerifier, defineService } from '@micro-oncall/service-kit';
import { createApp } from './app.js';
import { createIncidentEventsHandler } from './consumers/incident-events.js';
import * as schema from './db/schema.js';
import { configSchema } from './env.js';
import { openApiDocument } from './openapi.js';

/** app-registry: The app-registry service. */
export const service = defineService({
  name: 'app-registry',
  description: 'The app-registry service',
  config: configSchema,
  db: { schema: 'app_registry', tables: schema, migrations: new URL('../drizzle', import.meta.url) },
  produces: [],
  consumes: ['incident-events'],
  openApi: openApiDocument,
  setup(ctx) {
    ctx.consume('incident-events', {
      groupId: ctx.config.KAFKA_CONSUMER_GROUP,
      handler: createIncidentEventsHandler(ctx.db),
    });
    const verifyToken = createJwtVerifier({
      issuer: ctx.config.OIDC_ISSUER,
      audience: ctx.config.OIDC_AUDIENCE,
      ...(ctx.config.OIDC_JWKS_URL ? { jwksUrl: ctx.config.OIDC_JWKS_URL } : {}),
      rolesClaim: ctx.config.OIDC_ROLES_CLAIM,
    });
    return {
      app: createApp({
        logger: ctx.logger,
        registry: ctx.registry,
        db: ctx.db,
        verifyToken,
        components: ctx.components,
      }),
    };
  },
  devEnv: (platform) => ({
    OIDC_ISSUER: platform.oidc.issuer,
    OIDC_AUDIENCE: platform.oidc.audience,
    ...(platform.oidc.jwksUrl ? { OIDC_JWKS_URL: platform.oidc.jwksUrl } : {}),
    KAFKA_CONSUMER_GROUP: `${platform.namespace}-app-registry`,
  }),
});
