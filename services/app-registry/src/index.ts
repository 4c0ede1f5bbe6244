/**
 * app-registry's public entry: what the platform scripts, benchmarks and other tooling may use.
 * Everything else under src/ is internal (enforced by scripts/check-boundaries.ts).
 */

/** FOCUS 1.2 cost files from a few fields: the demo's cost data (and tests). */
export { type FocusRowInput, focusFile } from './cost/fixtures.js';
export { service } from './service.js';
export { idleSweepStatement, listStatement, type Statement } from './statements.js';
