import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { incidentEventEnvelope, normalisePagerDuty, topicName } from '@micro-oncall/incident-model';
import { pagerDutyIncidentEvent } from '@micro-oncall/incident-model/fixtures';
import {
  createTestDatabase,
  type FakeStatuspage,
  type LocalIssuer,
  startFakeStatuspage,
  startLocalIssuer,
  testKafka,
  uniqueNamespace,
} from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Platform, startPlatform } from '../scripts/lib/platform.js';
import { assertPlatformRunning, CATALOGUE_FILE, eventually, failOnServiceStop, getJson } from './helpers.js';

interface Detail {
  incident: {
    service: string;
    providerConditions: { provider: string; component: string; status: string; since: string }[];
  };
  providerTimeline: { kind: string; from: string | null; to: string }[];
}

/*
 * The whole path of a provider outage to a responder: a fake Statuspage for Cloudflare, the real
 * status-mapper polling it (and taking its webhook), `provider-status` on Kafka, and escalation
 * annotating its live incident on the mapped service, then following the recovery.
 */
describe('a provider outage on the live incident of a mapped service', () => {
  let platform: Platform;
  let issuer: LocalIssuer;
  let cloudflare: FakeStatuspage;
  let viewer: string;
  let responder: string;
  const webhookToken = `statuspage-${randomBytes(16).toString('hex')}`;
  const incident = normalisePagerDuty(
    pagerDutyIncidentEvent({ incidentId: 'PE2EPS1', serviceName: 'checkout', title: 'Checkout 5xx' }),
    { receivedAt: new Date().toISOString() },
  );
  if (incident.outcome !== 'events') throw new Error('fixture did not normalise');
  const event = incident.events[0]!;

  const detail = async () =>
    (await getJson<Detail>(`${platform.service('escalation').url}/v1/incidents/${event.incidentId}`, viewer)).body;
  const conditionOf = (d: Detail) =>
    d.incident.providerConditions.map((c) => `${c.provider} ${c.component} ${c.status}`);
  const pollNow = async () => {
    const res = await fetch(`${platform.service('status-mapper').url}/status/v1/sources/poll`, {
      method: 'POST',
      headers: { authorization: `Bearer ${responder}` },
    });
    expect(res.status).toBe(202);
  };

  beforeAll(async () => {
    const stack = inject('stack');
    issuer = await startLocalIssuer();
    viewer = await issuer.token({ sub: 'viewer-1', roles: ['viewer'] });
    responder = await issuer.token({ sub: 'responder-1', roles: ['responder'] });
    cloudflare = await startFakeStatuspage({
      name: 'Cloudflare',
      components: [{ name: 'CDN Edge', group: 'Cloudflare Sites and Services' }, { name: 'DNS' }],
    });
    const dir = mkdtempSync(join(tmpdir(), 'mo-provider-status-'));
    const file = (name: string, text: string, mode = 0o644) => {
      writeFileSync(join(dir, name), text, { mode });
      return join(dir, name);
    };
    const namespace = uniqueNamespace('provider-status-e2e');
    platform = await startPlatform({
      databaseUrl: await createTestDatabase(stack.databaseUrl, 'provider_status_e2e'),
      kafkaBrokers: stack.kafkaBrokers,
      namespace,
      oidc: { issuer: issuer.issuer, audience: issuer.audience },
      secretFiles: { 'statuspage-webhook-token': file('statuspage-token', webhookToken, 0o600) },
      files: {
        'service-catalogue': CATALOGUE_FILE,
        // A long interval: only the test's polls (and the one at start-up) run.
        'status-sources': file(
          'sources.yml',
          `pages:\n  - id: cloudflare\n    provider: Cloudflare\n    url: ${cloudflare.summaryUrl}\n    intervalSeconds: 3600\n`,
        ),
        'status-mapping': file(
          'mapping.yml',
          'mappings:\n  cdn:\n    page: cloudflare\n    component: CDN Edge\n    services: [checkout]\n',
        ),
      },
      only: ['escalation', 'status-mapper'],
      logLevel: 'error',
      nodeEnv: 'test',
      onFatal: failOnServiceStop,
    });
    // The incident, as webhook-ingest publishes it.
    await testKafka(stack.kafkaBrokers).publish(topicName('incident-events', namespace), [
      {
        key: event.incidentId,
        value: JSON.stringify(incidentEventEnvelope(event, { source: '/webhook-ingest/pagerduty' })),
      },
    ]);
    await eventually('the incident in escalation', async () => ((await detail()).incident ? true : undefined));
  });

  afterAll(async () => {
    await platform?.stop();
    await Promise.allSettled([issuer?.stop(), cloudflare?.stop()]);
    assertPlatformRunning();
  });

  it('shows the outage one poll after the status page changed, and clears it when the page recovers', async () => {
    expect((await detail()).incident.providerConditions).toEqual([]);
    cloudflare.setComponentStatus('CDN Edge', 'major_outage');
    await pollNow();
    const annotated = await eventually('the annotation', async () => {
      const d = await detail();
      return d.incident.providerConditions.length > 0 ? d : undefined;
    });
    expect(conditionOf(annotated)).toEqual(['Cloudflare CDN Edge major_outage']);

    cloudflare.setComponentStatus('CDN Edge', 'operational');
    await pollNow();
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
      `${platform.service('status-mapper').url}/status/v1/webhooks/statuspage?token=${encodeURIComponent(webhookToken)}`,
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
    await pollNow();
    // escalation has taken every change so far (CDN Edge down, up, down by webhook; DNS down)…
    await eventually('escalation to apply the DNS change', async () => {
      const metrics = await (await fetch(`${platform.service('escalation').url}/metrics`)).text();
      const applied = Number(/^provider_status_applied_total(?:\{[^}]*\})? (\d+)/m.exec(metrics)?.[1] ?? 0);
      return applied >= 4 ? true : undefined;
    });
    expect(conditionOf(await detail())).toEqual(['Cloudflare CDN Edge partial_outage']);
  });
});
