// @ts-check
/**
 * Shapes of the simulator's API as the pages read them (services/simulator/src/present.ts).
 * Types only: this module exports nothing at run time.
 */

/**
 * @typedef {object} Person
 * @property {string} subject
 * @property {string | null} name
 */

/**
 * @typedef {object} AlertSpec
 * @property {string} alert
 * @property {string} name
 * @property {string} severity
 * @property {string} summary
 * @property {string} service
 */

/**
 * One step of a scenario's timeline (`at` in seconds).
 * @typedef {object} ScenarioStep
 * @property {number} at
 * @property {'fire' | 'change_severity' | 'add_related' | 'resolve' | 'degrade'} action
 * @property {string} [alert]
 * @property {string} [severity]
 * @property {AlertSpec[] | string[] | 'all'} [alerts]
 * @property {string} [service] the degraded service (`degrade`)
 * @property {'latency' | 'error_rate' | 'dependency_off'} [fault] (`degrade`)
 * @property {number} [latencyMs] (`degrade`, latency)
 * @property {number} [errorRate] (`degrade`, error_rate)
 * @property {string} [dependency] (`degrade`, dependency_off)
 */

/**
 * @typedef {object} Scenario
 * @property {string} id
 * @property {number} version
 * @property {string} name
 * @property {string} team
 * @property {'staging' | 'production'} environment
 * @property {'builtin' | 'api'} source
 * @property {Person | null} createdBy
 * @property {string} createdAt
 * @property {{ description: string, maxDurationMinutes?: number, runbook: { url: string, checklist: string[] }, timeline: ScenarioStep[] }} definition
 */

/**
 * A run in lists (`runSummary`).
 * @typedef {object} Run
 * @property {string} id
 * @property {string} state
 * @property {{ id: string, version: number, name: string }} scenario
 * @property {string} team
 * @property {'staging' | 'production'} environment
 * @property {string} severity
 * @property {string[]} targets
 * @property {Person | null} requestedBy
 * @property {string | null} productionReason
 * @property {{ required: boolean, reasons: string[], approvedBy: Person | null, approvedAt: string | null }} approval
 * @property {number} maxDurationSeconds
 * @property {string} createdAt
 * @property {string | null} startedAt
 * @property {string} expiresAt
 * @property {number | null} secondsLeft
 * @property {string | null} endedAt
 * @property {Person | null} endedBy
 * @property {string | null} endReason
 * @property {{ step: number, target: string, error: string } | null} failure
 */

/**
 * @typedef {object} KillSwitch
 * @property {boolean} engaged
 * @property {string | null} changedAt
 * @property {Person | null} changedBy
 * @property {string | null} reason
 */

/**
 * @typedef {object} Settings
 * @property {{ staging: string[], production: string[] }} targets
 * @property {boolean} productionAllowed
 * @property {{ severityThreshold: string, productionAlways: boolean, mfa?: { amr: string[], acr: string[], maxAuthAgeSeconds: number } }} approval
 * @property {{ defaultMinutes: number, hardCapMinutes: number }} maxDuration
 */

export {};
