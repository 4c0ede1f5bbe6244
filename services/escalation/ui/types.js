// @ts-check
/**
 * Shapes of what the escalation API answers (see services/escalation/src/present.ts and
 * routes/*.ts). Types only: this module exports nothing at run time.
 */

/** @typedef {{ type: string, value: string }} Contact */
/** @typedef {{ name: string, oncall?: string, contacts: Contact[] }} EscalationTarget */
/**
 * @typedef {object} Ownership
 * @property {boolean} owned
 * @property {string} service
 * @property {string | null} name
 * @property {string | null} team
 * @property {string[]} owners
 * @property {string | null} oncall
 * @property {Contact[]} contacts
 * @property {string | null} priority
 * @property {EscalationTarget} fallback
 */
/** @typedef {{ id: string | null, name: string }} Assignee */
/** @typedef {{ type: string, id: string | null, name: string | null }} Actor */
/**
 * What an event changed, as far as the provider said (incident-model `IncidentEventChange`).
 * @typedef {object} EventChange
 * @property {Assignee[]} [assignees]
 * @property {string} [escalationPolicy]
 * @property {number} [escalationLevel]
 * @property {{ from?: string | null, to: string | null }} [priority]
 * @property {number} [truncatedAlerts]
 */
/** @typedef {{ since: string, reason: string, lastKnown: string | null }} ProviderStale */
/**
 * A provider condition affecting an incident's service (src/provider-context.ts). Every text in
 * it comes from a provider's status page: render it inert (textContent).
 * @typedef {object} ProviderCondition
 * @property {string} componentKey
 * @property {string} provider display name, e.g. `Cloudflare`
 * @property {string} page
 * @property {string} component
 * @property {string | null} group
 * @property {string} status `major_outage`, `partial_outage`, `degraded_performance`, `under_maintenance`, `unknown`
 * @property {string | null} providerStatus the provider's own word
 * @property {string} since
 * @property {ProviderStale | null} stale set while the provider's page does not answer
 * @property {{ id: string, name: string, status: string, impact: string, shortlink: string | null }[]} incidents
 */
/**
 * A provider entry of an incident's timeline (src/provider-context.ts).
 * @typedef {object} ProviderTimelineEntry
 * @property {string} changeId
 * @property {string} at
 * @property {'began' | 'changed' | 'ended'} kind
 * @property {string} componentKey
 * @property {string} provider
 * @property {string} component
 * @property {string | null} group
 * @property {string | null} from the condition before
 * @property {string} to the component's status after
 * @property {string} since since when the condition described held
 * @property {ProviderStale | null} stale
 */
/**
 * @typedef {object} Incident
 * @property {string} id
 * @property {number} number the short incident number here (`#123`), one sequence for every provider
 * @property {string} provider
 * @property {string} providerId
 * @property {string} dedupKey
 * @property {string} title
 * @property {string} service
 * @property {string} severity `critical` … `info`
 * @property {string | null} providerSeverity the provider's own priority or severity name, verbatim
 * @property {Assignee[]} assignees
 * @property {Actor | null} acknowledgedBy who made it acknowledged, as the provider reported it
 * @property {{ level: number | null, policy: string | null } | null} escalation the newest escalation the provider reported in this episode
 * @property {string} urgency
 * @property {'triggered' | 'acknowledged' | 'resolved'} status
 * @property {Record<string, string>} labels
 * @property {{ href: string, text: string }[]} links
 * @property {string | null} providerUrl
 * @property {boolean} drill a verified drill (its run registered and active when it arrived)
 * @property {{ id: string, url: string } | null} drillRun the verified drill's run
 * @property {string | null} drillRunId the run id its alerts carry, believed or not
 * @property {boolean} unverifiedDrillMarker marked as a drill, but no active run matches: real
 * @property {string | null} unverifiedDrillMarkerReason
 * @property {string} createdAt
 * @property {string} updatedAt
 * @property {string | null} acknowledgedAt
 * @property {string | null} resolvedAt
 * @property {string | null} lastEventKind
 * @property {number} changeSeq
 * @property {ProviderCondition[]} providerConditions affecting its service while it is live, worst first
 * @property {GroupSummary | null} [group] the group of related alerts it belongs to (ADR 0019), null when on its own
 * @property {Ownership} ownership
 */
/**
 * A group of related alerts, summarised: shown as one row when it holds more than one alert.
 * @typedef {object} GroupSummary
 * @property {string} id
 * @property {number} alerts how many alerts it holds
 * @property {string} leadId the alert shown for the group (the lowest number)
 * @property {'triggered' | 'acknowledged' | 'resolved'} status triggered while any alert is, resolved when all are
 * @property {string} severity its alerts' worst
 * @property {{ triggered: number, acknowledged: number, resolved: number }} byStatus
 */
/**
 * One alert of a group, as the incident page lists it.
 * @typedef {object} GroupAlert
 * @property {string} id
 * @property {number} number
 * @property {string} title
 * @property {string} service
 * @property {string} provider
 * @property {'triggered' | 'acknowledged' | 'resolved'} status
 * @property {string} severity
 * @property {Record<string, string>} labels
 * @property {string | null} providerUrl
 * @property {string} createdAt
 */
/**
 * @typedef {object} IncidentEvent
 * @property {string} eventId
 * @property {string} kind
 * @property {string} providerEventType
 * @property {string} occurredAt
 * @property {{ type: string, id: string | null, name: string | null } | null} actor
 * @property {string | null} note
 * @property {boolean} drill
 * @property {EventChange | null} change
 */
/**
 * @typedef {{ incident: Omit<Incident, 'ownership'>, ownership: Ownership, events: IncidentEvent[], providerTimeline: ProviderTimelineEntry[], alerts: GroupAlert[] }} IncidentDetail
 */
/**
 * @typedef {object} AuditRow
 * @property {string} id
 * @property {string} at
 * @property {{ subject: string, name: string | null, email: string | null }} actor
 * @property {string} action
 * @property {string | null} incidentId
 * @property {string} outcome
 * @property {string | null} provider
 * @property {number | null} providerStatus
 * @property {string | null} providerRequestId
 * @property {string} detail
 * @property {string} requestId
 * @property {string | null} actionId a provider action's id: its `pending` row and its outcome share it
 */
/** @typedef {{ subject: string, name: string | null, email: string | null, roles: string[], csrfToken: string }} Me */

/**
 * What every view gets from app.js.
 * @typedef {object} Context
 * @property {Me} me
 * @property {(role: 'viewer' | 'responder' | 'admin') => boolean} can
 * @property {(path: string) => void} navigate
 * @property {(listener: (incident: Incident) => void) => () => void} onIncident subscribe to live changes; returns unsubscribe
 */

export {};
