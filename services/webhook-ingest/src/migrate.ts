import { fileURLToPath } from 'node:url';
import { migrateFromEnv } from '@micro-oncall/service-kit';

/** Explicit migration entry point, run by the Helm pre-install/pre-upgrade Job. */
await migrateFromEnv({
  service: 'webhook-ingest',
  schema: 'ingest',
  migrationsFolder: fileURLToPath(new URL('../drizzle', import.meta.url)),
});
