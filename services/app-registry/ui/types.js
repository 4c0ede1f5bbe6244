// @ts-check
/** Shapes of app-registry's API (src/model.ts) as the pages use them. Types only. */

/**
 * @typedef {{ name: string, contact: string }} Contact
 * @typedef {{ rule: string, control: string, message: string, fix: string }} Reason
 * @typedef {{ id: string, rule: string, title: string, status: 'satisfied' | 'excepted' | 'missing' | 'failing' | 'violated', message: string, fix: string }} Control
 * @typedef {{ outcome: 'approve' | 'needs_approval' | 'refuse' | 'hold', tier: string | null, score: number | null, explanation: string, policyVersion: string | null, reasons: Reason[], controls: Control[], decidedAt: string }} Decision
 */

/**
 * @typedef {object} App
 * @property {string} id
 * @property {string} name
 * @property {string} purpose
 * @property {Contact | null} owner
 * @property {string | null} ownerSubject
 * @property {Contact} team
 * @property {string} runtime
 * @property {string[]} environments
 * @property {string | null} repository
 * @property {{ host: string, path: string }[]} endpoints
 * @property {string[]} idpClientIds
 * @property {string[]} cloudResourceIds
 * @property {string[]} dataClasses
 * @property {string} impact
 * @property {string} exposure
 * @property {string | null} namespace
 * @property {boolean} dedicatedNamespace
 * @property {boolean} publicStorage
 * @property {string | null} costCentre
 * @property {string[]} tags
 * @property {string | null} template
 * @property {string} sla
 * @property {string} state
 * @property {string} stateChangedAt
 * @property {string | null} tier
 * @property {number | null} riskScore
 * @property {Decision | null} decision
 * @property {number} openViolations
 * @property {{ tier: string, by: string, at: string } | null} approval
 * @property {string} requestedBy
 * @property {{ lastActivityAt: string, exemptUntil: string | null, disabledAt: string | null, archivedAt: string | null, restorableUntil: string | null }} lifecycle
 * @property {{ source: string, ref: string | null }} origin
 * @property {string} createdAt
 * @property {string} updatedAt
 * @property {number} version
 */

/**
 * @typedef {{ id: number, at: string, actorSubject: string, actorName: string | null, action: string, changes: Record<string, { from: unknown, to: unknown }>, detail: string | null }} HistoryEntry
 * @typedef {{ id: string, kind: string, format: string, receivedAt: string, summary: Record<string, unknown> }} Evidence
 * @typedef {{ id: string, appId: string, control: string, reason: string, status: string, expiresAt: string, requestedBy: string, decidedBy?: string | null }} ControlException
 * @typedef {{ name: string, description: string }} Template
 */

export {};
