import { IncidentEventEnvelope, topicName } from '@micro-oncall/incident-model';
import { alertmanagerWebhook } from '@micro-oncall/incident-model/fixtures';
import { createTestDatabase, testKafka } from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { service as escalation } from '../src/service.js';
import { type AlertmanagerIntake, CATALOGUE, startAlertmanagerIntake, eventually as until } from './intake.js';

/**
 * Grouping of related alerts (issue 14, ADR 0019) through the real intake path: Alertmanager
 * webhooks to webhook-ingest, incident events on Kafka, escalation's consumer and API on
 * PostgreSQL. Four pod alerts of one group key are one group; other alertnames are not; alerts
 * without a key group by alertname and service within the window; merge and split are audited
 * and published on the topic; a replay of the topic into a fresh database forms the same groups.
 */

type Group = {
  id: string;
  alerts: number;
  leadId: string;
  status: string;
  severity: string;
};
type Listed = {
  id: string;
  number: number;
  title: string;
  status: string;
  labels: Record<string, string>;
  group: Group | null;
};

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

describe('grouping of related alerts', () => {
  let intake: AlertmanagerIntake;
  let namespace: string;
  let viewer: string;
  let responder: string;
  let admin: string;
  let base: string;
  const send = (payload: unknown) => intake.send(payload);

  async function call<T = Record<string, unknown>>(
    path: string,
    token: string,
    init: { method?: string; body?: unknown } = {},
    at = base,
  ): Promise<{ status: number; body: T }> {
    const res = await fetch(`${at}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        authorization: `Bearer ${token}`,
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    return { status: res.status, body: (await res.json()) as T };
  }

  async function listed(at = base): Promise<Listed[]> {
    const res = await call<{ items: Listed[] }>('/v1/incidents?limit=5000', viewer, {}, at);
    expect(res.status).toBe(200);
    return res.body.items;
  }

  const withAlertname = (items: Listed[], alertname: string) => items.filter((i) => i.labels.alertname === alertname);

  /** Alerts of `alertname` once `n` of them are in, with their group ids. */
  const arrived = (alertname: string, n: number, at = base) =>
    until(`${n} ${alertname} alerts`, async () => {
      const items = withAlertname(await listed(at), alertname);
      return items.length === n ? items : undefined;
    });

  const pods = (alertname: string, names: string[], extra: Record<string, string> = {}, startsAt = minutesAgo(3)) =>
    names.map((pod) => ({ startsAt, labels: { alertname, pod, service: 'checkout', severity: 'high', ...extra } }));

  beforeAll(async () => {
    intake = await startAlertmanagerIntake('grouping');
    ({ namespace, base } = intake);
    viewer = await intake.issuer.token({ sub: 'grouping-viewer', roles: ['viewer'] });
    responder = await intake.issuer.token({ sub: 'grouping-responder', name: 'Rita Responder', roles: ['responder'] });
    admin = await intake.issuer.token({ sub: 'grouping-admin', roles: ['admin'] });
  });

  afterAll(async () => {
    await intake?.stop();
  });

  it('puts four pod alerts of one Alertmanager group into one group of 4 alerts', async () => {
    await send(alertmanagerWebhook({ alerts: pods('PodCrashLooping', ['api-1', 'api-2', 'api-3', 'api-4']) }));
    const items = await arrived('PodCrashLooping', 4);
    const groups = new Set(items.map((i) => i.group?.id));
    expect(groups.size).toBe(1);
    const group = items[0]!.group!;
    expect(group).toMatchObject({ alerts: 4, status: 'triggered', severity: 'high' });
    // The lead is the alert with the lowest number; its page lists the four, with their pods.
    const lead = items.reduce((a, b) => (a.number < b.number ? a : b));
    expect(group.leadId).toBe(lead.id);
    const detail = await call<{ alerts: { id: string; labels: Record<string, string>; status: string }[] }>(
      `/v1/incidents/${lead.id}`,
      viewer,
    );
    expect(detail.body.alerts.map((a) => a.labels.pod).sort()).toEqual(['api-1', 'api-2', 'api-3', 'api-4']);
    expect(detail.body.alerts.every((a) => a.status === 'triggered')).toBe(true);
  });

  it('keeps alerts of another alertname in a group of their own', async () => {
    await send(alertmanagerWebhook({ alerts: pods('HighLatency', ['api-1', 'api-2']) }));
    const items = await arrived('HighLatency', 2);
    const crash = withAlertname(await listed(), 'PodCrashLooping');
    expect(items[0]!.group?.id).toBe(items[1]!.group?.id);
    expect(items[0]!.group?.alerts).toBe(2);
    expect(items[0]!.group?.id).not.toBe(crash[0]!.group?.id);
  });

  it('groups alerts without a group key by alertname and service, only within the window', async () => {
    const noKey = (alerts: ReturnType<typeof pods>) => ({ ...alertmanagerWebhook({ alerts }), groupKey: null });
    await send(noKey(pods('DiskFilling', ['db-1'], { instance: 'db-1' }, minutesAgo(2))));
    await send(noKey(pods('DiskFilling', ['db-2'], { instance: 'db-2' }, minutesAgo(4))));
    // Forty minutes earlier: outside the five-minute window of the others.
    await send(noKey(pods('DiskFilling', ['db-3'], { instance: 'db-3' }, minutesAgo(45))));
    // Same alertname, another service: apart.
    await send(noKey(pods('DiskFilling', ['db-4'], { service: 'search', instance: 'db-4' }, minutesAgo(3))));
    const items = await arrived('DiskFilling', 4);
    const byPod = new Map(items.map((i) => [i.labels.pod, i]));
    expect(byPod.get('db-1')!.group?.id).toBe(byPod.get('db-2')!.group?.id);
    expect(byPod.get('db-1')!.group?.alerts).toBe(2);
    expect(byPod.get('db-3')!.group?.id).not.toBe(byPod.get('db-1')!.group?.id);
    expect(byPod.get('db-3')!.group?.alerts).toBe(1);
    expect(byPod.get('db-4')!.group?.id).not.toBe(byPod.get('db-1')!.group?.id);
  });

  it('splits an alert out and merges it back, audited and said on the topic', async () => {
    const crash = withAlertname(await listed(), 'PodCrashLooping');
    const lead = crash.find((i) => i.id === i.group!.leadId)!;
    // Any alert but the lead (the lowest number, which depends on the order partitions delivered
    // them): splitting the lead would leave no "rest" to look at by its id.
    const pod = crash.find((i) => i.id !== lead.id)!;

    const split = await call(`/v1/incidents/${pod.id}/split`, responder, { method: 'POST', body: {} });
    expect(split.status).toBe(200);
    expect(split.body).toMatchObject({ groupId: null, incidentIds: [pod.id] });
    await until('the split', async () => {
      const now = withAlertname(await listed(), 'PodCrashLooping');
      const moved = now.find((i) => i.id === pod.id);
      const rest = now.find((i) => i.id === lead.id);
      return moved?.group === null && rest?.group?.alerts === 3 ? true : undefined;
    });

    // Refused: not in a group any more, into itself, into an unknown incident, by a viewer.
    const again = await call<{ error: { message: string } }>(`/v1/incidents/${pod.id}/split`, responder, {
      method: 'POST',
      body: {},
    });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toMatch(/is not in a group/);
    const self = await call(`/v1/incidents/${pod.id}/merge`, responder, { method: 'POST', body: { into: pod.id } });
    expect(self.status).toBe(400);
    const unknown = await call(`/v1/incidents/${pod.id}/merge`, responder, {
      method: 'POST',
      body: { into: 'inc_000000000000000000000000' },
    });
    expect(unknown.status).toBe(404);
    const denied = await call(`/v1/incidents/${pod.id}/merge`, viewer, { method: 'POST', body: { into: lead.id } });
    expect(denied.status).toBe(403);

    const merge = await call(`/v1/incidents/${pod.id}/merge`, responder, { method: 'POST', body: { into: lead.id } });
    expect(merge.status).toBe(200);
    expect(merge.body).toMatchObject({ groupId: lead.group!.id });
    await until('the merge', async () => {
      const now = withAlertname(await listed(), 'PodCrashLooping');
      return now.every((i) => i.group?.id === lead.group!.id && i.group.alerts === 4) ? true : undefined;
    });
    const dup = await call(`/v1/incidents/${pod.id}/merge`, responder, { method: 'POST', body: { into: lead.id } });
    expect(dup.status).toBe(409);

    // Every attempt in the audit log: who, what, and why it was refused.
    const audit = await call<{
      items: { action: string; outcome: string; detail: string; actor: { subject: string } }[];
    }>(`/v1/audit?incidentId=${pod.id}`, admin);
    const rows = audit.body.items.map((r) => `${r.action} ${r.outcome}`).sort();
    expect(rows).toEqual(
      [
        'merge denied',
        'merge failed',
        'merge failed',
        'merge failed',
        'merge succeeded',
        'split failed',
        'split succeeded',
      ].sort(),
    );
    expect(audit.body.items.find((r) => r.action === 'split' && r.outcome === 'succeeded')).toMatchObject({
      actor: { subject: 'grouping-responder' },
      detail: expect.stringMatching(/^split #\d+ out of its group \(3 alerts left\)$/),
    });

    // On the topic for every consumer: an `updated` event with the group the incident went to.
    const messages = await testKafka(inject('stack').kafkaBrokers).read(topicName('incident-events', namespace), {
      count: Number.POSITIVE_INFINITY,
      timeoutMs: 5000,
    });
    const grouping = messages
      .map((m) => IncidentEventEnvelope.parse(JSON.parse(m.value!)))
      .filter((e) => e.data.incidentId === pod.id && e.data.change?.group !== undefined);
    expect(grouping.map((e) => [e.type, e.source, e.data.providerEventType, e.data.change?.group?.id])).toEqual([
      ['io.microoncall.incident.updated', '/escalation/grouping', 'ungrouped', null],
      ['io.microoncall.incident.updated', '/escalation/grouping', 'grouped', lead.group!.id],
    ]);
    expect(grouping[0]!.data.actor).toMatchObject({ type: 'user', id: 'grouping-responder' });
  });

  it('forms the same groups when the topic is replayed, again or into a fresh database', async () => {
    const before = await listed();
    const grouping = (items: Listed[]) =>
      Object.fromEntries(items.map((i) => [i.id, i.group ? `${i.group.id}/${i.group.alerts}` : null]));
    const kafka = testKafka(inject('stack').kafkaBrokers);
    const topic = topicName('incident-events', namespace);
    const messages = await kafka.read(topic, { count: Number.POSITIVE_INFINITY, timeoutMs: 5000 });
    // Everything again, on the same topic: already applied, nothing moves.
    await kafka.publish(
      topic,
      messages.map((m) => ({ key: m.key!, value: m.value! })),
    );
    const stack = inject('stack');
    const fresh = await escalation.run(
      escalation.loadConfig({
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        HOST: '127.0.0.1',
        PORT: '0',
        DATABASE_URL: await createTestDatabase(stack.databaseUrl, 'grouping_replay'),
        KAFKA_BROKERS: stack.kafkaBrokers,
        KAFKA_TOPIC_NAMESPACE: namespace,
        KAFKA_CONSUMER_GROUP: `${namespace}-escalation-replay`,
        SERVICE_CATALOGUE_FILE: CATALOGUE,
        OIDC_ISSUER: intake.issuer.issuer,
        OIDC_AUDIENCE: intake.issuer.audience,
      }),
    );
    try {
      // The fresh one reads the topic from the start (the events twice over): the same groups.
      const replayed = await until('the replay', async () => {
        const items = await listed(fresh.url);
        return items.length === before.length && JSON.stringify(grouping(items)) === JSON.stringify(grouping(before))
          ? items
          : undefined;
      });
      expect(grouping(replayed)).toEqual(grouping(before));
      expect(grouping(await listed())).toEqual(grouping(before));
    } finally {
      await fresh.stop();
    }
  });
});
