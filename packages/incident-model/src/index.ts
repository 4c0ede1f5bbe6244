export * from './contracts.js';
export * from './events.js';
export * from './incident.js';
export * from './normalise/index.js';
export * from './provider-status.js';
export * from './severity.js';
export * from './time.js';
export * from './topics.js';
