/**
 * simulator's public entry: what the platform scripts, benchmarks and other tooling may use.
 * Everything else under src/ is internal (enforced by scripts/check-boundaries.ts).
 */
export { service } from './service.js';
