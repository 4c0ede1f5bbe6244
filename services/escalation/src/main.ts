import { runEntry } from '@micro-oncall/service-kit/entry';

/**
 * The container's entry point: runs the service from the environment and stops on SIGTERM/SIGINT.
 * The service module is loaded only in a process that runs it, not in the primary of
 * WORKER_PROCESSES > 1 (packages/service-kit/src/entry.ts).
 */
await runEntry('escalation', () => import('./service.js'));
