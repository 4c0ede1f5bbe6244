import { service } from './service.js';

/** Explicit migration entry point, run by the Helm pre-install/pre-upgrade Job. */
await service.migrate();
