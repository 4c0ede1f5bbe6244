import { describe, expect, it } from 'vitest';
import {
  approvalReasons,
  deadlineOf,
  degradations,
  fieldWords,
  highestSeverity,
  isOpen,
  rolesOf,
  runOutcome,
  scenarioFormat,
  timelineSeconds,
} from './model.js';
import type { Run, Scenario } from './types.js';

const definition = (timeline: Scenario['definition']['timeline']): Scenario['definition'] => ({
  description: 'A drill',
  runbook: { url: 'https://runbooks.example.com/x', checklist: ['Acknowledge'] },
  timeline,
});

const run = (over: Partial<Run> = {}): Run => ({
  id: 'r1',
  state: 'running',
  scenario: { id: 'payments-latency', version: 1, name: 'Payments latency' },
  team: 'payments',
  environment: 'staging',
  severity: 'high',
  targets: ['pagerduty'],
  requestedBy: { subject: 'ada', name: 'Ada Responder' },
  productionReason: null,
  approval: { required: false, reasons: [], approvedBy: null, approvedAt: null },
  maxDurationSeconds: 1800,
  createdAt: '2026-12-01T10:00:00Z',
  startedAt: '2026-12-01T10:00:00Z',
  expiresAt: '2026-12-01T10:30:00Z',
  secondsLeft: 1800,
  endedAt: null,
  endedBy: null,
  endReason: null,
  failure: null,
  ...over,
});

describe('the drills pages’ words', () => {
  it('rates a scenario by the worst severity anywhere in its timeline, related alerts and changes included', () => {
    const d = definition([
      { at: 0, action: 'fire', alert: 'a', severity: 'medium' },
      {
        at: 60,
        action: 'add_related',
        alerts: [{ alert: 'b', name: 'B', severity: 'high', summary: 's', service: 'svc' }],
      },
      { at: 120, action: 'change_severity', alert: 'a', severity: 'critical' },
      { at: 900, action: 'resolve', alerts: 'all' },
    ]);
    expect(highestSeverity(d)).toBe('critical');
    expect(timelineSeconds(d)).toBe(900);
    expect(highestSeverity(definition([{ at: 0, action: 'fire', alert: 'a', severity: 'low' }]))).toBe('low');
  });

  it('says why a run needs an approver: the threshold, and production always', () => {
    expect(approvalReasons('medium', 'staging', 'high')).toEqual([]);
    expect(approvalReasons('high', 'staging', 'high')).toEqual(['it fires high alerts (approval is needed from high)']);
    expect(approvalReasons('low', 'production', 'high')).toEqual(['it targets production']);
    expect(approvalReasons('critical', 'production', 'high')).toEqual([
      'it fires critical alerts (approval is needed from high)',
      'it targets production',
    ]);
  });

  it('offers actions by the roles the API checks: admin may do everything, a viewer nothing', () => {
    expect(rolesOf(['viewer'])).toEqual({ propose: false, abort: false, approve: false, killSwitch: false });
    expect(rolesOf(['responder'])).toEqual({ propose: true, abort: true, approve: false, killSwitch: false });
    expect(rolesOf(['approver'])).toEqual({ propose: false, abort: false, approve: true, killSwitch: true });
    expect(rolesOf(['admin'])).toEqual({ propose: true, abort: true, approve: true, killSwitch: true });
  });

  it('counts down from what the server said was left, not from the browser’s clock', () => {
    expect(deadlineOf(90, 1_000_000)).toBe(1_090_000);
    expect(deadlineOf(null, 1_000_000)).toBeNull();
    expect(isOpen('awaiting_approval')).toBe(true);
    expect(isOpen('aborted')).toBe(false);
  });

  it('says which step failed where and why, who ended a run, and what a proposal waits for', () => {
    expect(
      runOutcome(
        run({ state: 'failed', failure: { step: 1, target: 'pagerduty', error: 'HTTP 400: invalid routing key' } }),
      ),
    ).toBe('Step 2 failed at PagerDuty Events: HTTP 400: invalid routing key');
    expect(
      runOutcome(
        run({
          state: 'aborted',
          endedBy: { subject: 'alex', name: 'Alex Admin' },
          endReason: 'kill switch engaged: real incident',
        }),
      ),
    ).toBe('kill switch engaged: real incident (by Alex Admin)');
    expect(
      runOutcome(
        run({
          state: 'awaiting_approval',
          approval: {
            required: true,
            reasons: ['it fires critical alerts (approval is needed from high)'],
            approvedBy: null,
            approvedAt: null,
          },
        }),
      ),
    ).toBe('Waits for an approver: it fires critical alerts (approval is needed from high)');
  });
});

describe('the scenario form', () => {
  it('names the fields the API refused in words', () => {
    expect(fieldWords('timeline.2.alerts.0.severity')).toBe('step 3 › alert 1 › severity');
    expect(fieldWords('runbook.checklist.1')).toBe('runbook › checklist item 2');
    expect(fieldWords('timeline.1.latencyMs')).toBe('step 2 › latencyMs');
    expect(fieldWords('id')).toBe('id');
    expect(fieldWords('(document)')).toBe('the document');
    expect(fieldWords('(root)')).toBe('the scenario');
  });

  it('says what a scenario degrades while it runs', () => {
    const fire = { at: 0, action: 'fire' as const, alert: 'a', severity: 'low' };
    expect(degradations(definition([fire]))).toEqual([]);
    expect(
      degradations(
        definition([
          fire,
          { at: 60, action: 'degrade', service: 'cart', fault: 'latency', latencyMs: 1200 },
          { at: 60, action: 'degrade', service: 'cart', fault: 'error_rate', errorRate: 0.125 },
          { at: 90, action: 'degrade', service: 'cart', fault: 'dependency_off', dependency: 'postgres' },
        ]),
      ),
    ).toEqual(['cart: +1200 ms latency', 'cart: 12.5% of requests fail', 'cart: postgres switched off']);
  });

  it('sends a JSON object as JSON and anything else as YAML', () => {
    expect(scenarioFormat('  {"id": "x"}\n')).toBe('json');
    expect(scenarioFormat('{"id": "x",')).toBe('yaml');
    expect(scenarioFormat('{ id: x }')).toBe('yaml');
    expect(scenarioFormat('id: x\nname: y\n')).toBe('yaml');
  });
});
