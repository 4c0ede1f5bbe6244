import {
  envelopeFor,
  eventJsonSchemas,
  incidentActionEnvelope,
  incidentEventEnvelope,
  normalisePagerDuty,
  RAW_TOPIC_CONTRACTS,
} from '@micro-oncall/incident-model';
import { drillRunEvent, pagerDutyIncidentEvent } from '@micro-oncall/incident-model/fixtures';
import { listServices } from './services.js';

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/**
 * Every generated contract file: repository path → content. Deterministic (fixed example times).
 * One OpenAPI document per service that declares one in its descriptor; one JSON Schema and one
 * example per topic contract; one Markdown page per raw topic (log lines other systems write).
 */
export async function contractFiles(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const { name, service } of await listServices()) {
    if (service.openApi) files.set(`docs/api/${name}.openapi.json`, json(service.openApi()));
  }

  const schemas = eventJsonSchemas();
  const result = normalisePagerDuty(pagerDutyIncidentEvent({ priority: 'P1' }), {
    receivedAt: '2025-11-20T09:14:06.000Z',
  });
  if (result.outcome !== 'events') throw new Error('example fixture did not normalise');
  const event = result.events[0]!;
  const examples: Record<string, unknown> = {
    'incident-events': incidentEventEnvelope(event, {
      source: '/webhook-ingest/pagerduty',
      time: '2025-11-20T09:14:06.120Z',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    }),
    'incident-actions': incidentActionEnvelope(
      {
        actionId: '9b2f7c1e-3d4a-4e5b-8c6d-7e8f9a0b1c2d',
        incidentId: event.incidentId,
        provider: 'pagerduty',
        providerId: event.providerId,
        action: 'acknowledge',
        actor: { type: 'user', id: 'dev-responder', name: 'Ada Responder' },
        outcome: 'succeeded',
        detail: `PagerDuty acknowledged incident ${event.providerId}`,
        requestedAt: '2025-11-20T09:16:00.000Z',
        completedAt: '2025-11-20T09:16:00.420Z',
      },
      { source: '/escalation', drill: false, time: '2025-11-20T09:16:00.430Z' },
    ),
    'provider-status': envelopeFor(
      'provider-status',
      {
        changeId: '3f1c2b7a-6d5e-4f80-9a1b-2c3d4e5f6a7b',
        provider: 'Cloudflare',
        page: { id: 'cloudflare', providerPageId: 'yh6f0r4529hb', name: 'Cloudflare' },
        component: {
          key: 'cloudflare/cdnedge0001a',
          id: 'cdnedge0001a',
          name: 'CDN Edge',
          group: { id: 'cfsites0001a', name: 'Cloudflare Sites and Services' },
        },
        status: { from: 'operational', to: 'major_outage', providerStatus: 'major_outage', stale: null },
        incidents: [
          {
            id: 'p7x2k9m4q1zc',
            name: 'Elevated errors on the CDN edge',
            status: 'investigating',
            impact: 'major',
            shortlink: 'https://stspg.io/example',
          },
        ],
        services: ['api-gateway', 'frontend'],
        observedAt: '2025-11-20T08:01:02.000Z',
        source: 'poll',
      },
      { source: '/status-mapper', drill: false, time: '2025-11-20T08:01:02.150Z' },
    ),
    drills: envelopeFor('drills', drillRunEvent(), { source: '/simulator', time: '2025-11-20T10:00:05.120Z' }),
    'app-registry': envelopeFor(
      'app-registry',
      {
        changeId: '7c0e4a2b-1d3f-4e5a-8b6c-9d0e1f2a3b4c',
        kind: 'state_changed',
        app: { id: 'app_3k9x2m7q4v8c1d5e6f7g8h9j', name: 'expense-approvals' },
        owner: {
          person: { name: 'Grace Hopper', contact: 'grace@example.com' },
          team: { name: 'finance-tools', contact: '#finance-tools' },
        },
        tier: 'medium',
        state: { from: 'idle', to: 'disabled' },
        reason: 'no activity for 30 days while idle (tier medium): disabled; archived after a 14-day grace period',
        actor: { type: 'system', id: 'lifecycle-sweep' },
        occurredAt: '2025-11-20T03:00:00.000Z',
      },
      { source: '/app-registry', drill: false, time: '2025-11-20T03:00:00.120Z' },
    ),
  };
  for (const [kind, schema] of Object.entries(schemas)) {
    files.set(
      `docs/events/${kind}.v1.schema.json`,
      json({ title: `oncall.${kind}.v1 message (CloudEvents 1.0, structured JSON)`, ...schema }),
    );
    if (!(kind in examples))
      throw new Error(`no example message for topic ${kind}: add one in scripts/lib/contracts.ts`);
    files.set(`docs/events/${kind}.v1.example.json`, json(examples[kind]));
  }
  for (const [kind, contract] of Object.entries(RAW_TOPIC_CONTRACTS)) {
    files.set(`docs/events/${kind}.v1.md`, rawTopicPage(kind, contract));
  }
  return files;
}

/** A raw topic's page for its producers: what a message holds, its key and headers. */
function rawTopicPage(kind: string, contract: (typeof RAW_TOPIC_CONTRACTS)[keyof typeof RAW_TOPIC_CONTRACTS]): string {
  const headers = Object.entries(contract.headers).map(([name, what]) => `| \`${name}\` | ${what} |`);
  return [
    `# \`oncall.${kind}.v1\` (raw messages)`,
    '',
    'Generated from `packages/incident-model/src/topics.ts` by `node_modules/.bin/tsx scripts/contracts.ts`.',
    '',
    contract.summary,
    '',
    `- Read by: ${contract.consumer}.`,
    `- Value: ${contract.value}`,
    `- Key: ${contract.key}`,
    '',
    '| header | meaning |',
    '| --- | --- |',
    ...headers,
    '',
  ].join('\n');
}
