import { service } from './service.js';

/** The container's entry point: run from the environment, stop on SIGTERM/SIGINT. */
await service.main();
