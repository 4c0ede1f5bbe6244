import { asc, eq } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import * as schema from './db/schema.js';
import { iso } from './model.js';
import { runSummary } from './present.js';
import type { ScenarioRow } from './scenarios/store.js';

type Db = NodePgDatabase<typeof schema>;
type RunRow = typeof schema.runs.$inferSelect;
type StepRow = typeof schema.runSteps.$inferSelect;
type EventRow = typeof schema.runIncidentEvents.$inferSelect;
type ChecklistRow = typeof schema.runChecklist.$inferSelect;

/*
 * The drill report, kept with the run: what the simulator fired (its own records: the run and its
 * steps) and what responders did about the incidents it produced (the `incident-events` recorded
 * by the consumer), with time to acknowledge, escalate and resolve per incident, and the runbook
 * checklist as responders ticked it. Built on read from what is stored, so it is whole at any
 * moment of the run and after it; JSON for tools, Markdown for people (export).
 */

export interface IncidentFigures {
  incidentId: string;
  title: string | null;
  service: string | null;
  severity: string | null;
  provider: string;
  /** The incident's first `triggered` event (or its first event of any kind). */
  triggeredAt: string;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  escalatedAt: string | null;
  escalationLevel: number | null;
  resolvedAt: string | null;
  resolvedBy: string | null;
  timeToAcknowledgeSeconds: number | null;
  timeToEscalateSeconds: number | null;
  timeToResolveSeconds: number | null;
}

export interface TimelineEntry {
  at: string;
  /** `simulator` (the run and what it fired) or `responders` (incident events). */
  source: 'simulator' | 'responders';
  what: string;
  incidentId: string | null;
}

const seconds = (from: string, to: string | null) =>
  to === null ? null : Math.max(0, Math.round((Date.parse(to) - Date.parse(from)) / 1000));

const mean = (values: (number | null)[]) => {
  const known = values.filter((v): v is number => v !== null);
  return known.length === 0 ? null : Math.round(known.reduce((a, b) => a + b, 0) / known.length);
};

/** Who did it, when the provider names someone (a system or integration without a name: nobody). */
const who = (e: EventRow) => e.actorName;

/** Per incident: when it was triggered, first acknowledged, escalated and resolved, by whom. */
export function incidentFigures(events: EventRow[]): IncidentFigures[] {
  const byIncident = new Map<string, EventRow[]>();
  for (const e of events) byIncident.set(e.incidentId, [...(byIncident.get(e.incidentId) ?? []), e]);
  return [...byIncident.values()]
    .map((list) => {
      const sorted = [...list].sort((a, b) => Date.parse(a.occurredAt) - Date.parse(b.occurredAt));
      const first = (kind: string) => sorted.find((e) => e.kind === kind) ?? null;
      const head = sorted[0]!;
      const triggeredAt = iso((first('triggered') ?? head).occurredAt);
      const ack = first('acknowledged');
      const esc = first('escalated');
      // Resolved for good: the last resolve, unless the incident was reopened after it.
      const last = [...sorted].reverse().find((e) => e.kind === 'resolved' || e.kind === 'reopened');
      const res = last?.kind === 'resolved' ? last : null;
      const described = [...sorted].reverse().find((e) => e.title !== null) ?? head;
      const at = (e: EventRow | null) => (e ? iso(e.occurredAt) : null);
      return {
        incidentId: head.incidentId,
        title: described.title,
        service: described.service,
        severity: described.severity,
        provider: head.provider,
        triggeredAt,
        acknowledgedAt: at(ack),
        acknowledgedBy: ack ? who(ack) : null,
        escalatedAt: at(esc),
        escalationLevel: esc?.escalationLevel ?? null,
        resolvedAt: at(res),
        resolvedBy: res ? who(res) : null,
        timeToAcknowledgeSeconds: seconds(triggeredAt, at(ack)),
        timeToEscalateSeconds: seconds(triggeredAt, at(esc)),
        timeToResolveSeconds: seconds(triggeredAt, at(res)),
      };
    })
    .sort((a, b) => Date.parse(a.triggeredAt) - Date.parse(b.triggeredAt));
}

const stepWords = (s: StepRow) => {
  const alerts = s.alerts.length > 0 ? ` (${s.alerts.join(', ')})` : '';
  const action = s.spec.action.replace('_', ' ');
  if (s.state === 'failed') return `step ${s.index + 1} ${action}${alerts} failed at ${s.failedTarget}: ${s.error}`;
  return `step ${s.index + 1} ${action}${alerts} fired`;
};

/** The simulator's records and the responders' events in time order. */
export function reportTimeline(run: RunRow, steps: StepRow[], events: EventRow[]): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  const sim = (at: string | null, what: string) => {
    if (at !== null) entries.push({ at: iso(at), source: 'simulator', what, incidentId: null });
  };
  sim(run.createdAt, `proposed by ${run.requestedByName ?? run.requestedBySubject}`);
  sim(run.approvedAt, `approved by ${run.approvedByName ?? run.approvedBySubject}`);
  sim(run.startedAt, `started in ${run.environment} (targets: ${run.targets.join(', ')})`);
  for (const s of steps) sim(s.firedAt, stepWords(s));
  // The end reason says what happened itself ("aborted: …", "kill switch engaged: …").
  const endedBy = run.endedByName ?? run.endedBySubject;
  sim(run.endedAt, `${run.endReason ?? run.state}${endedBy ? ` (by ${endedBy})` : ''}`);
  for (const e of events) {
    const by = who(e);
    const level = e.escalationLevel === null ? '' : ` to level ${e.escalationLevel}`;
    entries.push({
      at: iso(e.occurredAt),
      source: 'responders',
      what: `${e.kind}${level}${by ? ` by ${by}` : ''}${e.note ? `: ${e.note}` : ''}`,
      incidentId: e.incidentId,
    });
  }
  return entries.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

/** The runbook's checklist items with how responders left each one. */
export function checklistView(scenario: ScenarioRow | undefined, rows: ChecklistRow[]) {
  const items = scenario?.definition.runbook.checklist ?? [];
  return items.map((text, item) => {
    const row = rows.find((r) => r.item === item);
    return {
      item,
      text,
      done: row?.done ?? false,
      note: row?.note ?? null,
      changedBy: row ? { subject: row.changedBySubject, name: row.changedByName } : null,
      changedAt: row ? iso(row.changedAt) : null,
    };
  });
}

/** Everything the report says about one run, read from the simulator's database. */
export async function loadReport(db: Db, run: RunRow, scenario: ScenarioRow | undefined, now = Date.now()) {
  const [steps, events, checklistRows] = await Promise.all([
    db.select().from(schema.runSteps).where(eq(schema.runSteps.runId, run.id)).orderBy(asc(schema.runSteps.index)),
    db
      .select()
      .from(schema.runIncidentEvents)
      .where(eq(schema.runIncidentEvents.runId, run.id))
      .orderBy(asc(schema.runIncidentEvents.occurredAt), asc(schema.runIncidentEvents.eventId)),
    db.select().from(schema.runChecklist).where(eq(schema.runChecklist.runId, run.id)),
  ]);
  const incidents = incidentFigures(events);
  const checklist = checklistView(scenario, checklistRows);
  const firstAck =
    incidents
      .map((i) => i.acknowledgedAt)
      .filter((a): a is string => a !== null)
      .sort()[0] ?? null;
  return {
    run: runSummary(run, now),
    generatedAt: new Date(now).toISOString(),
    runbook: scenario ? { url: scenario.definition.runbook.url, checklist } : null,
    summary: {
      stepsFired: steps.filter((s) => s.state === 'fired').length,
      stepsFailed: steps.filter((s) => s.state === 'failed').length,
      steps: steps.length,
      incidents: incidents.length,
      acknowledged: incidents.filter((i) => i.acknowledgedAt !== null).length,
      escalated: incidents.filter((i) => i.escalatedAt !== null).length,
      resolved: incidents.filter((i) => i.resolvedAt !== null).length,
      /** From the run's start to the first acknowledgement of any of its incidents. */
      firstAcknowledgedAfterStartSeconds: run.startedAt === null ? null : seconds(run.startedAt, firstAck),
      meanTimeToAcknowledgeSeconds: mean(incidents.map((i) => i.timeToAcknowledgeSeconds)),
      meanTimeToResolveSeconds: mean(incidents.map((i) => i.timeToResolveSeconds)),
      checklistDone: checklist.filter((c) => c.done).length,
      checklistItems: checklist.length,
    },
    incidents,
    timeline: reportTimeline(run, steps, events),
  };
}

export type DrillReport = Awaited<ReturnType<typeof loadReport>>;

const span = (s: number | null) => {
  if (s === null) return '—';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  return h > 0 ? `${h}h ${m}m ${rest}s` : m > 0 ? `${m}m ${rest}s` : `${rest}s`;
};

/** Table cells hold text: a pipe or a line break from a title or a note must not break the table. */
const cell = (value: string | number | null) =>
  value === null
    ? '—'
    : String(value)
        .replaceAll('\\', '\\\\')
        .replaceAll('|', '\\|')
        .replace(/\s*\n\s*/g, ' ');

/** The report as Markdown, for export (a file, a post-mortem, a ticket). */
export function reportMarkdown(r: DrillReport): string {
  const { run, summary } = r;
  const lines = [
    `# Drill report: ${cell(run.scenario.name)} (v${run.scenario.version})`,
    '',
    `- Run: \`${run.id}\``,
    `- Team: ${cell(run.team)} · environment: ${run.environment} · severity: ${run.severity}`,
    `- State: ${run.state}${run.endReason ? ` — ${cell(run.endReason)}` : ''}${run.endedBy ? ` (by ${cell(run.endedBy.name ?? run.endedBy.subject)})` : ''}`,
    `- Started: ${run.startedAt ?? 'not started'} · ended: ${run.endedAt ?? 'not yet'}`,
    `- Targets: ${run.targets.join(', ')}`,
    ...(run.failure
      ? [`- Failed at step ${run.failure.step + 1} (${run.failure.target}): ${cell(run.failure.error)}`]
      : []),
    `- Report generated: ${r.generatedAt}`,
    '',
    '## Summary',
    '',
    `- Steps fired: ${summary.stepsFired} of ${summary.steps}${summary.stepsFailed > 0 ? ` (${summary.stepsFailed} failed)` : ''}`,
    `- Incidents: ${summary.incidents} · acknowledged: ${summary.acknowledged} · escalated: ${summary.escalated} · resolved: ${summary.resolved}`,
    `- First acknowledgement after the start: ${span(summary.firstAcknowledgedAfterStartSeconds)}`,
    `- Mean time to acknowledge: ${span(summary.meanTimeToAcknowledgeSeconds)} · to resolve: ${span(summary.meanTimeToResolveSeconds)}`,
    `- Runbook checklist: ${summary.checklistDone} of ${summary.checklistItems} done`,
    '',
    '## Incidents',
    '',
  ];
  if (r.incidents.length === 0) lines.push('No incident events for this run have arrived.');
  else {
    lines.push(
      '| Incident | Title | Service | Triggered | Acknowledged (by) | Escalated | Resolved (by) |',
      '| --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const i of r.incidents) {
      const by = (name: string | null) => (name ? ` (${cell(name)})` : '');
      lines.push(
        `| \`${i.incidentId}\` | ${cell(i.title)} | ${cell(i.service)} | ${i.triggeredAt} | ${span(i.timeToAcknowledgeSeconds)}${by(i.acknowledgedBy)} | ${span(i.timeToEscalateSeconds)}${i.escalationLevel ? ` (level ${i.escalationLevel})` : ''} | ${span(i.timeToResolveSeconds)}${by(i.resolvedBy)} |`,
      );
    }
  }
  lines.push('', '## Runbook checklist', '');
  if (!r.runbook) lines.push('The scenario version of this run is gone: no runbook.');
  else {
    lines.push(`Runbook: ${r.runbook.url}`, '');
    for (const c of r.runbook.checklist) {
      const by = c.changedBy ? ` (${cell(c.changedBy.name ?? c.changedBy.subject)}, ${c.changedAt})` : '';
      lines.push(`- [${c.done ? 'x' : ' '}] ${cell(c.text)}${c.done ? by : ''}${c.note ? ` — ${cell(c.note)}` : ''}`);
    }
  }
  lines.push('', '## Timeline', '', '| Time | Who | What | Incident |', '| --- | --- | --- | --- |');
  for (const t of r.timeline) {
    lines.push(`| ${t.at} | ${t.source} | ${cell(t.what)} | ${t.incidentId ? `\`${t.incidentId}\`` : ''} |`);
  }
  return `${lines.join('\n')}\n`;
}
