import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ComponentStatus,
  EVENT_SCHEMAS,
  envelopeFor,
  normalisePagerDuty,
  type ProviderStatusChange,
  topicName,
} from '@micro-oncall/incident-model';
import { pagerDutyIncidentEvent } from '@micro-oncall/incident-model/fixtures';
import { type FakeSlack, type OpenStream, openStream, startFakeSlack } from '@micro-oncall/test-kit';
import { temporaryDirectories } from '@micro-oncall/test-kit/temp';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyEvent, startTestEscalation, type TestEscalation, until } from './support.js';

interface ProviderCondition {
  componentKey: string;
  provider: string;
  component: string;
  status: string;
  since: string;
  stale: { since: string; reason: string; lastKnown: string | null } | null;
  incidents: { id: string; name: string }[];
}
interface Incident {
  id: string;
  service: string;
  status: string;
  changeSeq: number;
  providerConditions: ProviderCondition[];
}
interface Detail {
  incident: Incident;
  events: { kind: string }[];
  providerTimeline: { changeId: string; at: string; kind: string; from: string | null; to: string; since: string }[];
}

/** Today at `hh:mm` UTC: Slack notices say "since 08:01 UTC" for today's times. */
const today = (hhmm: string) => `${new Date().toISOString().slice(0, 10)}T${hhmm}:00.000Z`;

const CDN_KEY = 'cloudflare/cdnedge0001a';

/** A `provider-status` change of Cloudflare's CDN Edge, mapped to checkout and frontend, as status-mapper writes it. */
function cdnEdge(
  to: ComponentStatus,
  observedAt: string,
  extra: Partial<ProviderStatusChange> = {},
): ProviderStatusChange {
  return {
    changeId: randomUUID(),
    provider: 'Cloudflare',
    page: { id: 'cloudflare', providerPageId: 'yh6f0r4529hb', name: 'Cloudflare' },
    component: {
      key: CDN_KEY,
      id: 'cdnedge0001a',
      name: 'CDN Edge',
      group: { id: 'cfsites0001a', name: 'Cloudflare Sites and Services' },
    },
    status: { from: null, to, providerStatus: to, stale: null },
    incidents:
      to === 'operational'
        ? []
        : [
            {
              id: 'p7x2k9m4q1zc',
              name: 'Elevated errors on the <b>CDN edge</b>',
              status: 'investigating',
              impact: 'major',
              shortlink: 'https://stspg.io/example',
            },
          ],
    services: ['checkout', 'frontend'],
    observedAt,
    source: 'poll',
    ...extra,
  };
}

/** The `incident` events in an SSE text, in order. */
function streamedIncidents(text: string): Incident[] {
  return [...text.matchAll(/^event: incident\ndata: (.+)$/gm)].map((m) => JSON.parse(m[1]!) as Incident);
}

const temporaryDir = temporaryDirectories();

describe('escalation consuming provider-status', () => {
  let esc: TestEscalation;
  let slack: FakeSlack;
  let viewer: string;
  let db: pg.Client;
  let stream: OpenStream;
  let providerTopic: string;
  const checkout = onlyEvent(
    normalisePagerDuty(pagerDutyIncidentEvent({ incidentId: 'PPSCHK1', serviceName: 'checkout', priority: 'P3' }), {
      receivedAt: today('07:55'),
    }),
  );
  const search = onlyEvent(
    normalisePagerDuty(pagerDutyIncidentEvent({ incidentId: 'PPSSRCH1', serviceName: 'search', priority: 'P1' }), {
      receivedAt: today('07:56'),
    }),
  );
  const outage = cdnEdge('major_outage', today('08:01'));

  /** Publishes changes as status-mapper's outbox does: the topic contract's envelope, keyed by component. */
  const publishChanges = (changes: ProviderStatusChange[]) =>
    esc.kafka.publish(
      providerTopic,
      changes.map((change) => {
        const envelope = envelopeFor('provider-status', change, { source: '/status-mapper', drill: false });
        EVENT_SCHEMAS['provider-status'].parse(envelope);
        return {
          key: envelope.subject,
          value: JSON.stringify(envelope),
          headers: { 'content-type': 'application/cloudevents+json' },
        };
      }),
    );
  const detail = async (id: string) => (await esc.get(`/v1/incidents/${id}`, viewer)).body as unknown as Detail;
  const listed = async () =>
    ((await esc.get('/v1/incidents?active=true', viewer)).body as unknown as { items: Incident[] }).items;
  /** Waits until escalation recorded the change (applied or ignored as older). */
  const recorded = (changeId: string) =>
    until(`change ${changeId} to be recorded`, async () => {
      const res = await db.query<{ applied: boolean }>(
        'select applied from escalation.provider_status_events where change_id = $1',
        [changeId],
      );
      return res.rows[0];
    });

  beforeAll(async () => {
    slack = await startFakeSlack();
    const dir = temporaryDir('mo-provider-status-');
    const slackFile = join(dir, 'slack');
    writeFileSync(slackFile, slack.url, { mode: 0o600 });
    esc = await startTestEscalation('provider-status', () => ({
      SLACK_WEBHOOK_URL_FILE: slackFile,
      PUBLIC_URL: 'https://oncall.example.com',
    }));
    providerTopic = topicName('provider-status', esc.namespace);
    viewer = await esc.issuer.token({ sub: 'viewer-1', roles: ['viewer'] });
    db = new pg.Client({ connectionString: esc.databaseUrl });
    await db.connect();
    await esc.publish([checkout, search]);
    await esc.applied(checkout.incidentId, viewer);
    await esc.applied(search.incidentId, viewer);
    stream = await openStream(`${esc.service.url}/v1/stream`, { authorization: `Bearer ${viewer}` });
    await stream.readUntil(/event: ready/);
  });

  afterAll(async () => {
    stream?.close();
    await db?.end();
    await esc?.stop();
    await slack?.stop();
  });

  it('annotates the live incident of a mapped service, in the API and on the live stream, and no other', async () => {
    const searchBefore = (await detail(search.incidentId)).incident.changeSeq;
    await publishChanges([outage]);

    const expected = {
      componentKey: CDN_KEY,
      provider: 'Cloudflare',
      page: 'cloudflare',
      component: 'CDN Edge',
      group: 'Cloudflare Sites and Services',
      status: 'major_outage',
      providerStatus: 'major_outage',
      since: outage.observedAt,
      stale: null,
      // The provider's text as it sent it: the dashboard renders it inert.
      incidents: outage.incidents,
    };
    // An open dashboard receives the incident again, with its annotation, without reloading.
    const text = await stream.readUntil(/"providerConditions":\[\{"componentKey"/);
    const pushed = streamedIncidents(text).filter((i) => i.id === checkout.incidentId);
    expect(pushed.at(-1)!.providerConditions).toEqual([expect.objectContaining(expected)]);
    expect(streamedIncidents(text).some((i) => i.id === search.incidentId)).toBe(false);

    const shown = await detail(checkout.incidentId);
    expect(shown.incident.providerConditions).toEqual([expect.objectContaining(expected)]);
    expect(shown.providerTimeline).toEqual([
      expect.objectContaining({
        changeId: outage.changeId,
        at: outage.observedAt,
        kind: 'began',
        from: null,
        to: 'major_outage',
        since: outage.observedAt,
      }),
    ]);
    const items = await listed();
    expect(items.find((i) => i.id === checkout.incidentId)!.providerConditions).toHaveLength(1);

    // search is not mapped from CDN Edge: untouched, not even re-sent.
    expect(items.find((i) => i.id === search.incidentId)!.providerConditions).toEqual([]);
    const other = await detail(search.incidentId);
    expect(other.incident.changeSeq).toBe(searchBefore);
    expect(other.providerTimeline).toEqual([]);
  });

  it('changes nothing for a redelivered event, nor for an older one arriving late', async () => {
    const before = await detail(checkout.incidentId);
    // Older than the outage: the component was operational before it (a late delivery from another source).
    const older = cdnEdge('operational', today('07:30'), { source: 'webhook' });
    await publishChanges([outage, older]);
    expect(await recorded(older.changeId)).toEqual({ applied: false });

    const after = await detail(checkout.incidentId);
    expect(after.incident).toEqual(before.incident);
    expect(after.providerTimeline).toEqual(before.providerTimeline);
    const rows = await db.query('select 1 from escalation.provider_status_events where change_id = $1', [
      outage.changeId,
    ]);
    expect(rows.rowCount).toBe(1);
  });

  it('mentions the condition in the Slack notice of a new incident on the service, and notes it on its timeline', async () => {
    const opened = onlyEvent(
      normalisePagerDuty(
        pagerDutyIncidentEvent({
          incidentId: 'PPSCHK2',
          serviceName: 'checkout',
          priority: 'P1',
          title: 'Checkout 5xx',
        }),
        { receivedAt: today('08:12') },
      ),
    );
    await esc.publish([opened]);
    const notice = await until('the Slack notice', async () =>
      slack.messages.map((m) => String(m.text)).find((t) => t.includes('Checkout 5xx')),
    );
    expect(notice).toContain('New critical incident on checkout');
    expect(notice).toContain('Cloudflare — CDN Edge: major outage since 08:01 UTC (likely related)');

    const shown = await detail(opened.incidentId);
    expect(shown.incident.providerConditions.map((c) => c.component)).toEqual(['CDN Edge']);
    // Already in force when it opened: noted from when it began.
    expect(shown.providerTimeline).toEqual([
      expect.objectContaining({ changeId: outage.changeId, kind: 'began', at: outage.observedAt, to: 'major_outage' }),
    ]);

    // A new incident on a service no provider affects: its notice says nothing about providers.
    const quiet = onlyEvent(
      normalisePagerDuty(
        pagerDutyIncidentEvent({ incidentId: 'PPSSRCH2', serviceName: 'search', priority: 'P1', title: 'Search slow' }),
        { receivedAt: today('08:13') },
      ),
    );
    await esc.publish([quiet]);
    const plain = await until('the second Slack notice', async () =>
      slack.messages.map((m) => String(m.text)).find((t) => t.includes('Search slow')),
    );
    expect(plain).not.toContain('Provider status');
  });

  it('shows a provider whose page stopped answering as unknown, stale since when', async () => {
    const stale = cdnEdge('unknown', today('08:40'), {
      status: {
        from: 'major_outage',
        to: 'unknown',
        providerStatus: null,
        stale: { since: today('08:35'), reason: 'summary.json answered 500', lastKnown: 'major_outage' },
      },
    });
    await publishChanges([stale]);
    const shown = await until('the stale condition', async () => {
      const d = await detail(checkout.incidentId);
      return d.incident.providerConditions[0]?.stale ? d : undefined;
    });
    expect(shown.incident.providerConditions).toEqual([
      expect.objectContaining({
        status: 'unknown',
        since: today('08:35'),
        stale: expect.objectContaining({ since: today('08:35') }),
      }),
    ]);
    expect(shown.providerTimeline.map((e) => [e.kind, e.from, e.to])).toEqual([
      ['began', null, 'major_outage'],
      ['changed', 'major_outage', 'unknown'],
    ]);
  });

  it('clears the annotation when the provider recovers, live, and keeps both ends on the timeline', async () => {
    const read = stream.text().length;
    const recovery = cdnEdge('operational', today('09:10'));
    await publishChanges([recovery]);

    // Every event the stream sent this incident before had a condition: this one has none.
    const text = await stream.readUntil(
      new RegExp(`^data: \\{"id":"${checkout.incidentId}"[^\\n]*"providerConditions":\\[\\]`, 'm'),
    );
    const pushed = streamedIncidents(text.slice(read)).filter((i) => i.id === checkout.incidentId);
    expect(pushed.at(-1)!.providerConditions).toEqual([]);

    const shown = await detail(checkout.incidentId);
    expect(shown.incident.providerConditions).toEqual([]);
    expect(shown.providerTimeline.map((e) => [e.kind, e.from, e.to])).toEqual([
      ['began', null, 'major_outage'],
      ['changed', 'major_outage', 'unknown'],
      ['ended', 'unknown', 'operational'],
    ]);
    expect(shown.providerTimeline.at(-1)).toMatchObject({ changeId: recovery.changeId, at: recovery.observedAt });
    expect((await listed()).every((i) => i.providerConditions.length === 0)).toBe(true);
    expect((await detail(search.incidentId)).providerTimeline).toEqual([]);
  });

  it('notes nothing on a resolved incident', async () => {
    const resolved = onlyEvent(
      normalisePagerDuty(
        pagerDutyIncidentEvent({
          incidentId: 'PPSCHK1',
          serviceName: 'checkout',
          eventType: 'incident.resolved',
          occurredAt: today('09:20'),
        }),
        { receivedAt: today('09:20') },
      ),
    );
    await esc.publish([resolved]);
    await until('the incident to be resolved', async () =>
      (await detail(checkout.incidentId)).incident.status === 'resolved' ? true : undefined,
    );
    const again = cdnEdge('partial_outage', today('09:30'));
    await publishChanges([again]);
    await recorded(again.changeId);
    const shown = await detail(checkout.incidentId);
    expect(shown.incident.providerConditions).toEqual([]);
    expect(shown.providerTimeline).toHaveLength(3);
    // The other checkout incident is still open: it has the new condition.
    const open = (await listed()).find((i) => i.service === 'checkout' && i.id !== checkout.incidentId)!;
    expect(open.providerConditions.map((c) => c.status)).toEqual(['partial_outage']);
  });
});
