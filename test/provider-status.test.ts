import { randomBytes } from 'node:crypto';
import { incidentEventEnvelope, normalisePagerDuty, topicName } from '@micro-oncall/incident-model';
import { pagerDutyIncidentEvent } from '@micro-oncall/incident-model/fixtures';
import {
  type FakeAwsHealth,
  type FakeStatuspage,
  startFakeAwsHealth,
  startFakeStatuspage,
  testKafka,
} from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { assertPlatformRunning, eventually, getJson } from './helpers.js';
import { type StatusPlatform, startStatusPlatform, statuspageSources } from './lib/status-mapper.js';

interface Detail {
  incident: {
    service: string;
    providerConditions: { provider: string; component: string; status: string; since: string }[];
  };
  providerTimeline: { componentKey: string; kind: string; from: string | null; to: string }[];
}

const AWS_ACCOUNT = '123456789012';

/*
 * The whole path of a provider outage to a responder: a fake Statuspage for Cloudflare, the real
 * status-mapper polling it (and taking its webhook and AWS Health's EventBridge deliveries),
 * `provider-status` on Kafka, and escalation annotating its live incident on the mapped service,
 * then following the recovery.
 */
describe('a provider outage on the live incident of a mapped service', () => {
  let status: StatusPlatform;
  let cloudflare: FakeStatuspage;
  let health: FakeAwsHealth;
  // Generated per run: no secret-shaped literal in the repository.
  const webhookToken = `statuspage-${randomBytes(16).toString('hex')}`;
  const eventBridgeKey = `eventbridge-${randomBytes(16).toString('hex')}`;
  const incident = normalisePagerDuty(
    pagerDutyIncidentEvent({ incidentId: 'PE2EPS1', serviceName: 'checkout', title: 'Checkout 5xx' }),
    { receivedAt: new Date().toISOString() },
  );
  if (incident.outcome !== 'events') throw new Error('fixture did not normalise');
  const event = incident.events[0]!;

  const detail = async () =>
    (
      await getJson<Detail>(
        `${status.platform.service('escalation').url}/v1/incidents/${event.incidentId}`,
        status.viewer,
      )
    ).body;
  const conditionOf = (d: Detail) =>
    d.incident.providerConditions.map((c) => `${c.provider} ${c.component} ${c.status}`);

  beforeAll(async () => {
    cloudflare = await startFakeStatuspage({
      name: 'Cloudflare',
      components: [{ name: 'CDN Edge', group: 'Cloudflare Sites and Services' }, { name: 'DNS' }],
    });
    health = await startFakeAwsHealth();
    status = await startStatusPlatform('provider-status-e2e', {
      sources: `${statuspageSources([{ id: 'cloudflare', provider: 'Cloudflare', page: cloudflare }])}  - id: aws
    kind: aws-health
    services: [EC2]
    regions: [eu-west-1]
    accounts: ["${AWS_ACCOUNT}"]
`,
      mapping: `mappings:
  cdn:
    page: cloudflare
    component: CDN Edge
    services: [checkout]
  ec2:
    page: aws
    aws: { service: EC2, region: eu-west-1 }
    services: [checkout]
`,
      secretFiles: { 'statuspage-webhook-token': webhookToken, 'aws-health-webhook-api-key': eventBridgeKey },
    });
    // The incident, as webhook-ingest publishes it.
    await testKafka(inject('stack').kafkaBrokers).publish(topicName('incident-events', status.namespace), [
      {
        key: event.incidentId,
        value: JSON.stringify(incidentEventEnvelope(event, { source: '/webhook-ingest/pagerduty' })),
      },
    ]);
    await eventually('the incident in escalation', async () => ((await detail()).incident ? true : undefined));
  });

  afterAll(async () => {
    await status?.stop();
    await Promise.allSettled([cloudflare?.stop(), health?.stop()]);
    assertPlatformRunning();
  });

  it('shows the outage one poll after the status page changed, and clears it when the page recovers', async () => {
    expect((await detail()).incident.providerConditions).toEqual([]);
    cloudflare.setComponentStatus('CDN Edge', 'major_outage');
    await status.statusMapper.requestPoll();
    const annotated = await eventually('the annotation', async () => {
      const d = await detail();
      return d.incident.providerConditions.length > 0 ? d : undefined;
    });
    expect(conditionOf(annotated)).toEqual(['Cloudflare CDN Edge major_outage']);

    cloudflare.setComponentStatus('CDN Edge', 'operational');
    await status.statusMapper.requestPoll();
    const recovered = await eventually('the recovery', async () => {
      const d = await detail();
      return d.incident.providerConditions.length === 0 ? d : undefined;
    });
    expect(recovered.providerTimeline.map((e) => [e.kind, e.from, e.to])).toEqual([
      ['began', null, 'major_outage'],
      ['ended', 'major_outage', 'operational'],
    ]);
  });

  it('shows the same through a Statuspage webhook', async () => {
    cloudflare.setComponentStatus('CDN Edge', 'partial_outage');
    const res = await fetch(
      `${status.statusMapper.url}/status/v1/webhooks/statuspage?token=${encodeURIComponent(webhookToken)}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(cloudflare.componentUpdatePayload('CDN Edge', 'operational')),
      },
    );
    expect(res.status).toBe(202);
    const annotated = await eventually('the annotation from the webhook', async () => {
      const d = await detail();
      return d.incident.providerConditions.length > 0 ? d : undefined;
    });
    expect(conditionOf(annotated)).toEqual(['Cloudflare CDN Edge partial_outage']);
    // DNS is mapped to no service: whatever it does, the incident does not hear of it.
    cloudflare.setComponentStatus('DNS', 'major_outage');
    await status.statusMapper.requestPoll();
    // escalation has taken every change so far (CDN Edge down, up, down by webhook; DNS down)…
    await eventually('escalation to apply the DNS change', async () => {
      const metrics = await (await fetch(`${status.platform.service('escalation').url}/metrics`)).text();
      const applied = Number(/^provider_status_applied_total(?:\{[^}]*\})? (\d+)/m.exec(metrics)?.[1] ?? 0);
      return applied >= 4 ? true : undefined;
    });
    expect(conditionOf(await detail())).toEqual(['Cloudflare CDN Edge partial_outage']);
  });

  it('shows the same through an AWS Health event from EventBridge, and clears it on the closed event', async () => {
    const deliver = async (payload: Record<string, unknown>) => {
      const res = await fetch(`${status.statusMapper.url}/status/v1/webhooks/aws-health`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': eventBridgeKey },
        body: JSON.stringify(payload),
      });
      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({ accepted: true, events: 1 });
    };
    const ec2 = (d: Detail) => conditionOf(d).filter((c) => c.startsWith('AWS '));
    const issue = health.addEvent({
      service: 'EC2',
      eventTypeCode: 'AWS_EC2_OPERATIONAL_ISSUE',
      eventTypeCategory: 'issue',
      region: 'eu-west-1',
      description: 'We are investigating increased API error rates and latencies in the EU-WEST-1 Region.',
    });
    await deliver(health.eventBridgePayload(issue.arn, { account: AWS_ACCOUNT }));
    const annotated = await eventually('the annotation from AWS Health', async () => {
      const d = await detail();
      return ec2(d).length > 0 ? d : undefined;
    });
    expect(ec2(annotated)).toEqual(['AWS EC2 eu-west-1 degraded_performance']);
    // Beside the Cloudflare condition the webhook left.
    expect(conditionOf(annotated)).toContain('Cloudflare CDN Edge partial_outage');

    health.closeEvent(issue.arn, 'The issue has been resolved and the service is operating normally.');
    await deliver(health.eventBridgePayload(issue.arn, { account: AWS_ACCOUNT }));
    const recovered = await eventually('the recovery from AWS Health', async () => {
      const d = await detail();
      return ec2(d).length === 0 ? d : undefined;
    });
    expect(conditionOf(recovered)).toEqual(['Cloudflare CDN Edge partial_outage']);
    expect(
      recovered.providerTimeline
        .filter((e) => e.componentKey === 'aws/EC2/eu-west-1')
        .map((e) => [e.kind, e.from, e.to]),
    ).toEqual([
      ['began', null, 'degraded_performance'],
      ['ended', 'degraded_performance', 'operational'],
    ]);
  });
});
