import { envelopeFor, normalisePagerDuty, topicName } from '@micro-oncall/incident-model';
import { pagerDutyIncidentEvent } from '@micro-oncall/incident-model/fixtures';
import type { RunningService } from '@micro-oncall/service-kit';
import {
  createTestDatabase,
  type LocalIssuer,
  startLocalIssuer,
  testKafka,
  uniqueNamespace,
} from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { service } from '../src/service.js';

/** Polls `fn` until it returns a value, for at most 30 s. */
async function until<T>(what: string, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('app-registry', () => {
  let running: RunningService;
  let issuer: LocalIssuer;
  let namespace: string;

  beforeAll(async () => {
    const { databaseUrl, kafkaBrokers } = inject('stack');
    namespace = uniqueNamespace('app-registry');
    issuer = await startLocalIssuer();
    running = await service.run(
      service.loadConfig({
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        HOST: '127.0.0.1',
        PORT: '0',
        DATABASE_URL: await createTestDatabase(databaseUrl, 'app_registry'),
        KAFKA_BROKERS: kafkaBrokers,
        KAFKA_TOPIC_NAMESPACE: namespace,
        KAFKA_CONSUMER_GROUP: `${namespace}-app-registry`,
        OIDC_ISSUER: issuer.issuer,
        OIDC_AUDIENCE: issuer.audience,
      }),
      { onFatal: (error) => console.error(`app-registry stopped: ${error.message}`) },
    );
  });

  afterAll(async () => {
    await running?.stop();
    await issuer?.stop();
  });

  it('is ready once migrated and connected, and says what it checks', async () => {
    const res = await fetch(`${running.url}/health/ready`);
    const body = (await res.json()) as { checks: Record<string, { healthy: boolean }> };
    expect(res.status).toBe(200);
    expect(Object.keys(body.checks)).toEqual(expect.arrayContaining(['postgres', 'kafka', 'incident-events-consumer']));
  });

  it('counts a new incident once per service, even when the event is delivered twice', async () => {
    const result = normalisePagerDuty(pagerDutyIncidentEvent({ incidentId: 'PSCAFFOLD1' }), {
      receivedAt: new Date().toISOString(),
    });
    if (result.outcome !== 'events') throw new Error('fixture did not normalise');
    const event = result.events[0]!;
    const message = {
      key: event.incidentId,
      value: JSON.stringify(envelopeFor('incident-events', event, { source: '/test' })),
    };
    await testKafka(inject('stack').kafkaBrokers).publish(topicName('incident-events', namespace), [message, message]);
    const token = await issuer.token({ sub: 'viewer-1', roles: ['viewer'] });
    const items = await until('the incident to be counted', async () => {
      const res = await fetch(`${running.url}/v1/activity`, { headers: { authorization: `Bearer ${token}` } });
      const body = (await res.json()) as { items: { service: string; incidents: number }[] };
      return body.items.length > 0 ? body.items : undefined;
    });
    expect(items).toEqual([expect.objectContaining({ service: event.snapshot?.service, incidents: 1 })]);
  });

  it('refuses a request without a token (401) and one without the viewer role (403)', async () => {
    expect((await fetch(`${running.url}/v1/activity`)).status).toBe(401);
    const noRole = await issuer.token({ sub: 'nobody', roles: [] });
    const res = await fetch(`${running.url}/v1/activity`, { headers: { authorization: `Bearer ${noRole}` } });
    expect(res.status).toBe(403);
  });
});
