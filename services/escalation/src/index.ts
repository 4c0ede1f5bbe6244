/**
 * escalation's public entry: what the platform scripts, chart checks and other tooling may use.
 * Everything else under src/ is internal (enforced by scripts/check-boundaries.ts).
 */
export { ServiceCatalogue } from './catalogue.js';
export { service } from './service.js';
