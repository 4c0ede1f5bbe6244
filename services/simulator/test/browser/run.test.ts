import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { envelopeFor, type IncidentEvent, topicName } from '@micro-oncall/incident-model';
import { testKafka } from '@micro-oncall/test-kit';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers.js';
import { checkoutScenario, type DrillsBrowserStack, SCREENSHOTS, startDrillsBrowserStack } from './support.js';

/**
 * One run's page in a real browser, behind the platform's gateway with escalation's sign-in (as
 * drills.test.ts): a staging run fires at a fake PagerDuty; its incident's events arrive on
 * `incident-events` (published here as webhook-ingest would, so escalation has the incident
 * too). A responder opens the run from the runs list and sees its steps, what is firing where,
 * the incident with the time to acknowledge and a link to escalation's incident page; ticks a
 * runbook checklist item from the keyboard, exports the report as Markdown and aborts the run
 * from the keyboard. A viewer sees the checklist but may not tick it. Screenshots go to
 * .dev/screenshots/drills-run-*.png.
 */

const SCENARIO_ID = 'checkout-report';
const SCENARIO_NAME = 'Checkout errors (report)';
const CHECKLIST = ['Acknowledge the incident within 5 minutes', 'Check the payment gateway dashboard'];

describe('a drill run’s page in a browser: steps, incidents, checklist, report', () => {
  let stack: DrillsBrowserStack;
  let runId: string;
  const incidentId = `inc_${randomBytes(12).toString('hex')}`;
  let ada: Page;

  /** An event of the run's PagerDuty incident as webhook-ingest publishes it. */
  const incidentEvent = (kind: IncidentEvent['kind'], occurredAt: string, by?: string): IncidentEvent => ({
    eventId: `pd-${randomUUID()}`,
    kind,
    providerEventType: `incident.${kind}`,
    occurredAt,
    incidentId,
    provider: 'pagerduty',
    providerId: 'PDRILL1',
    dedupKey: `drill:${runId}:errors`,
    actor: by ? { type: 'user', id: null, name: by } : null,
    note: null,
    drill: true,
    snapshot: {
      title: '[DRILL] Checkout error rate above 5%',
      service: 'checkout',
      severity: 'medium',
      urgency: 'high',
      labels: { incident_key: `drill:${runId}:errors` },
      links: [],
      providerUrl: null,
      createdAt: occurredAt,
    },
  });

  beforeAll(async () => {
    stack = await startDrillsBrowserStack('drills-run-ui');
    await stack.create('/drills/v1/scenarios', checkoutScenario(SCENARIO_ID, SCENARIO_NAME, CHECKLIST));
    const started = await stack.create<{ id: string; startedAt: string }>('/drills/v1/runs', { scenario: SCENARIO_ID });
    runId = started.id;
    await until('the trigger at PagerDuty', async () => (stack.pagerduty.alerts().length === 1 ? true : undefined));

    // The incident it produced: triggered, then acknowledged 95 s later by a responder.
    const triggeredAt = new Date(Date.parse(started.startedAt) + 1000).toISOString();
    const events = [
      incidentEvent('triggered', triggeredAt),
      incidentEvent('acknowledged', new Date(Date.parse(triggeredAt) + 95_000).toISOString(), 'Ada Responder'),
    ];
    await testKafka(stack.kafkaBrokers).publish(
      topicName('incident-events', stack.namespace),
      events.map((data) => {
        const envelope = envelopeFor('incident-events', data, { source: '/webhook-ingest/pagerduty' });
        return { key: envelope.subject, value: JSON.stringify(envelope) };
      }),
    );
    await until('the incident in the run report', async () => {
      const report = (await (await stack.api(`/drills/v1/runs/${runId}/report`)).json()) as {
        summary: { acknowledged: number };
      };
      return report.summary.acknowledged === 1 ? true : undefined;
    });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail') {
      await ada
        ?.screenshot({ path: join(SCREENSHOTS, 'drills-run-failed-step.png'), fullPage: true })
        .catch(() => undefined);
    }
    expect(stack.pageProblems.splice(0)).toEqual([]);
  });

  it('opens a run from the runs list: its steps, what is firing where, the incident and the countdown', async () => {
    ada = await stack.signIn(/^Ada Responder/, '/drills/runs');
    const row = ada.locator(`table.runs tr[data-run="${runId}"]`);
    await row.waitFor();
    // From the keyboard: the scenario's name is the link to the run's page.
    await row.getByRole('link', { name: SCENARIO_NAME }).focus();
    await ada.keyboard.press('Enter');
    await ada.waitForURL(`${stack.platform.url}/drills/runs/${runId}`);
    await ada.getByRole('heading', { level: 1, name: SCENARIO_NAME }).waitFor();
    expect(await ada.title()).toBe(`${SCENARIO_NAME} · Drill run · micro-oncall`);
    // Runs stays the current page of the section.
    expect(
      await ada
        .getByRole('navigation', { name: 'Drills' })
        .getByRole('link', { name: 'Runs' })
        .getAttribute('aria-current'),
    ).toBe('page');
    expect(await ada.locator('.countdown').first().textContent()).toMatch(/^in (29|30)m$/);

    const steps = ada.locator('#run-steps tbody tr');
    expect(await steps.locator('.step-state').allTextContents()).toEqual(['done', 'pending']);
    const firing = ada.locator('#run-alerts tbody tr[data-alert="errors"]');
    expect(await firing.getAttribute('data-state')).toBe('firing');
    expect(await firing.locator('td').nth(1).textContent()).toBe('PagerDuty Events');

    const incident = ada.locator(`#run-incidents tr[data-incident="${incidentId}"]`);
    await incident.waitFor();
    const link = incident.getByRole('link', { name: '[DRILL] Checkout error rate above 5%' });
    expect(await link.getAttribute('href')).toBe(`/incidents/${incidentId}`);
    expect(await incident.locator('td').nth(2).locator('span').allTextContents()).toEqual([
      'after 1m 35s',
      'Ada Responder',
    ]);
    expect(await ada.locator('#report-summary').textContent()).toContain('1 incident in escalation · 1 acknowledged');
    await ada.screenshot({ path: join(SCREENSHOTS, 'drills-run-page.png'), fullPage: true });
  });

  it('ticks a runbook checklist item from the keyboard, audited', async () => {
    const first = ada.getByRole('checkbox', { name: CHECKLIST[0] });
    expect(await first.isChecked()).toBe(false);
    await first.focus();
    await ada.keyboard.press('Space');
    await ada.locator('#checklist-result', { hasText: `Ticked: ${CHECKLIST[0]}` }).waitFor();
    expect(await ada.getByRole('checkbox', { name: CHECKLIST[0] }).isChecked()).toBe(true);
    // Who ticked it, once the page has redrawn the checklist from the server.
    await expect
      .poll(() => ada.locator('#checklist-by-0').textContent())
      .toMatch(/^ ticked by Ada Responder at \d\d:\d\d$/);
    // The keyboard stays on the item.
    expect(
      await ada.evaluate(
        () =>
          (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document.activeElement?.id,
      ),
    ).toBe('checklist-0');
    const audit = (await (await stack.api(`/drills/v1/audit?runId=${runId}&outcome=succeeded`)).json()) as {
      items: { action: string; actor: { subject: string }; detail: string }[];
    };
    expect(audit.items).toContainEqual(
      expect.objectContaining({
        action: 'run_checklist',
        actor: expect.objectContaining({ subject: 'dev-responder' }),
        detail: `ticked checklist item 1 "${CHECKLIST[0]}"`,
      }),
    );
    await ada.screenshot({ path: join(SCREENSHOTS, 'drills-run-checklist.png'), fullPage: true });
  });

  it('exports the report as Markdown', async () => {
    const [download] = await Promise.all([
      ada.waitForEvent('download'),
      ada.getByRole('button', { name: 'Export report (Markdown)' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`drill-report-${SCENARIO_ID}-${runId}.md`);
    const markdown = readFileSync(await download.path(), 'utf8');
    expect(markdown).toContain(`# Drill report: ${SCENARIO_NAME} (v1)`);
    expect(markdown).toContain(`- [x] ${CHECKLIST[0]} (Ada Responder,`);
    expect(markdown).toContain(`- [ ] ${CHECKLIST[1]}`);
    expect(markdown).toContain('- Mean time to acknowledge: 1m 35s');
    await ada.locator('#export-result', { hasText: `Saved drill-report-${SCENARIO_ID}-${runId}.md` }).waitFor();
  });

  it('shows a viewer the checklist without letting them tick it', async () => {
    const vic = await stack.signIn(/^Vic Viewer/, `/drills/runs/${runId}`);
    await vic.getByRole('heading', { level: 1, name: SCENARIO_NAME }).waitFor();
    expect(await vic.getByRole('checkbox', { name: CHECKLIST[0] }).isChecked()).toBe(true);
    expect(await vic.getByRole('checkbox', { name: CHECKLIST[1] }).isDisabled()).toBe(true);
    expect(await vic.getByText('Ticking the checklist needs the responder role.').isVisible()).toBe(true);
    expect(await vic.getByRole('button', { name: 'Abort this run' }).count()).toBe(0);
  });

  it('aborts the run from its page with the keyboard', async () => {
    await ada.getByRole('button', { name: 'Abort this run' }).focus();
    await ada.keyboard.press('Enter');
    await ada.keyboard.type('enough practice');
    // Someone else ticks the second checklist item meanwhile: the page refreshes under the field
    // being typed in, and what is typed next still lands after what was typed before.
    const ticked = await stack.api(`/drills/v1/runs/${runId}/checklist/1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ done: true }),
    });
    expect(ticked.status).toBe(200);
    await ada.locator('#checklist-by-1', { hasText: 'ticked by Alex Admin' }).waitFor();
    expect(
      await ada.evaluate(
        () =>
          (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document.activeElement?.id,
      ),
    ).toBe('run-abort-reason');
    await ada.keyboard.type(' for today');
    await ada.keyboard.press('Enter');
    await ada.locator('#run-abort-result', { hasText: 'Aborted: everything it fired is being resolved.' }).waitFor();
    await ada.locator('.state', { hasText: 'aborted' }).waitFor();
    expect(await ada.locator('.outcome').textContent()).toBe('aborted: enough practice for today (by Ada Responder)');
    // The report's timeline has it too.
    await ada
      .locator('#run-timeline tr[data-source="simulator"]', {
        hasText: 'aborted: enough practice for today (by Ada Responder)',
      })
      .waitFor();
    await until('the alert resolved at PagerDuty', async () =>
      stack.pagerduty.alerts().every((a) => a.status === 'resolved') ? true : undefined,
    );
    await ada.screenshot({ path: join(SCREENSHOTS, 'drills-run-aborted.png'), fullPage: true });
  });
});
