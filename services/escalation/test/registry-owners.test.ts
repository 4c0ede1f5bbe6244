import { randomUUID } from 'node:crypto';
import {
  type AppRegistryChange,
  EVENT_SCHEMAS,
  envelopeFor,
  normalisePagerDuty,
  topicName,
} from '@micro-oncall/incident-model';
import { pagerDutyIncidentEvent } from '@micro-oncall/incident-model/fixtures';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyEvent, startTestEscalation, type TestEscalation, until } from './support.js';

interface Drift {
  differs: string[];
  catalogue: { team: string | null; owners: string[] };
  registry: { appId: string; team: { name: string }; owner: { name: string; contact: string } | null };
}
interface Service {
  service: string;
  ownershipDrift: Drift | null;
}

/** An `app-registry` change as app-registry's outbox publishes it. */
function change(
  app: string,
  owner: { person: { name: string; contact: string } | null; team: string },
  occurredAt: string,
): AppRegistryChange {
  return {
    changeId: randomUUID(),
    kind: 'updated',
    app: { id: `app_${app.replaceAll('-', '')}`, name: app },
    owner: { person: owner.person, team: { name: owner.team, contact: `#${owner.team}` } },
    tier: 'low',
    state: { from: 'active', to: 'active' },
    reason: 'changed owner',
    actor: { type: 'user', id: 'rita' },
    occurredAt,
  };
}

// The catalogue is config/services.example.yml: payments-api (team payments, alice@example.com),
// checkout (web-storefront, bob@example.com), search (discovery, carol@example.com).
describe('escalation learns owners from app-registry and shows ownership drift', () => {
  let esc: TestEscalation;
  let viewer: string;
  let db: pg.Client;
  const payments = onlyEvent(
    normalisePagerDuty(pagerDutyIncidentEvent({ incidentId: 'PDRIFT01', serviceName: 'payments-api' }), {
      receivedAt: new Date().toISOString(),
    }),
  );
  const checkout = onlyEvent(
    normalisePagerDuty(pagerDutyIncidentEvent({ incidentId: 'PDRIFT02', serviceName: 'checkout' }), {
      receivedAt: new Date().toISOString(),
    }),
  );

  const publish = (changes: AppRegistryChange[]) =>
    esc.kafka.publish(
      topicName('app-registry', esc.namespace),
      changes.map((data) => {
        const envelope = envelopeFor('app-registry', data, { source: '/app-registry', drill: false });
        EVENT_SCHEMAS['app-registry'].parse(envelope);
        return { key: envelope.subject, value: JSON.stringify(envelope) };
      }),
    );
  const recorded = (changeId: string) =>
    until(`change ${changeId} to be recorded`, async () => {
      const res = await db.query('select 1 from escalation.app_registry_changes where change_id = $1', [changeId]);
      return res.rows[0];
    });
  const services = async () =>
    new Map(
      ((await esc.get('/v1/services', viewer)).body.items as Service[]).map((s) => [s.service, s.ownershipDrift]),
    );

  beforeAll(async () => {
    esc = await startTestEscalation('registry-owners');
    viewer = await esc.issuer.token({ sub: 'viewer-1', roles: ['viewer'] });
    db = new pg.Client({ connectionString: esc.databaseUrl });
    await db.connect();
    await esc.publish([payments, checkout]);
    await esc.applied(payments.incidentId, viewer);
    await esc.applied(checkout.incidentId, viewer);
  });
  afterAll(async () => {
    await db?.end();
    await esc?.stop();
  });

  it('shows no drift where the registry and the catalogue agree, and both sides where they do not', async () => {
    const now = Date.now();
    const agrees = change(
      'checkout',
      { person: { name: 'Bob', contact: 'bob@example.com' }, team: 'web-storefront' },
      new Date(now - 60_000).toISOString(),
    );
    const differs = change(
      'payments-api',
      { person: { name: 'Dave Doe', contact: 'dave@example.com' }, team: 'payments' },
      new Date(now - 60_000).toISOString(),
    );
    await publish([agrees, differs, differs]); // the second copy changes nothing
    await recorded(differs.changeId);
    await recorded(agrees.changeId);

    const drift = await services();
    expect(drift.get('checkout')).toBeNull();
    expect(drift.get('search')).toBeNull(); // the registry does not know it: nothing to compare
    expect(drift.get('payments-api')).toEqual({
      differs: ['owner'],
      catalogue: { team: 'payments', owners: ['alice@example.com', 'oncall:team-payments'] },
      registry: {
        appId: 'app_paymentsapi',
        team: { name: 'payments', contact: '#payments' },
        owner: { name: 'Dave Doe', contact: 'dave@example.com' },
        state: 'active',
        updatedAt: differs.occurredAt,
      },
    });

    const detail = async (id: string) =>
      (await esc.get(`/v1/incidents/${id}`, viewer)).body as { ownershipDrift: Drift | null };
    expect((await detail(payments.incidentId)).ownershipDrift).toMatchObject({
      differs: ['owner'],
      registry: { owner: { contact: 'dave@example.com' } },
    });
    expect((await detail(checkout.incidentId)).ownershipDrift).toBeNull();
  });

  it('follows the latest change of an app; an older one arriving late is ignored', async () => {
    const now = Date.now();
    const fixed = change(
      'payments-api',
      { person: { name: 'Alice', contact: 'Alice@Example.com' }, team: 'Payments' },
      new Date(now).toISOString(),
    );
    const late = change(
      'payments-api',
      { person: { name: 'Eve', contact: 'eve@example.com' }, team: 'fraud' },
      new Date(now - 30_000).toISOString(),
    );
    await publish([fixed, late]);
    await recorded(late.changeId);
    expect((await services()).get('payments-api')).toBeNull();

    // The team moves in the registry only: drift on the team; an open ownership task (no person) is compared by team.
    const moved = change('checkout', { person: null, team: 'growth' }, new Date(now + 1000).toISOString());
    await publish([moved]);
    await recorded(moved.changeId);
    expect((await services()).get('checkout')).toMatchObject({
      differs: ['team'],
      catalogue: { team: 'web-storefront' },
      registry: { team: { name: 'growth' }, owner: null },
    });
  });
});
