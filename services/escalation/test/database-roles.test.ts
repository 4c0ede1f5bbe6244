import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { normalisePagerDuty } from '@micro-oncall/incident-model';
import { pagerDutyIncidentEvent } from '@micro-oncall/incident-model/fixtures';
import {
  createTestDatabase,
  type FakePagerDuty,
  refusalOf,
  sqlAs,
  startFakePagerDuty,
  urlAs,
} from '@micro-oncall/test-kit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { onlyEvent, startTestEscalation, type TestEscalation, until } from './support.js';

/*
 * escalation deployed as the chart deploys it (docs/deploy.md, "PostgreSQL"): the migration
 * Job runs `src/migrate.ts` as the schema owner and grants the runtime role its privileges;
 * the server runs as the runtime role and does not migrate. The audit log must then stay
 * append-only even for a compromised server: the runtime role may add rows and read them,
 * and cannot change, remove or truncate them, nor switch off or drop the trigger that guards
 * them, since it does not own the table.
 */

const SERVICE_DIR = fileURLToPath(new URL('..', import.meta.url));

describe('escalation run as a runtime role, migrated by the schema owner', () => {
  const suffix = randomBytes(4).toString('hex');
  const owner = `escalation_owner_${suffix}`;
  const runtime = `escalation_${suffix}`;
  let serverUrl: string;
  let databaseUrl: string;
  let database: string;
  let ownerUrl: string;
  let runtimeUrl: string;
  let secrets: string;
  let pagerduty: FakePagerDuty;
  let esc: TestEscalation;
  let responder: string;
  let admin: string;
  const pd = onlyEvent(
    normalisePagerDuty(pagerDutyIncidentEvent({ incidentId: 'PROLE1' }), { receivedAt: new Date().toISOString() }),
  );

  beforeAll(async () => {
    serverUrl = inject('stack').databaseUrl;
    databaseUrl = await createTestDatabase(serverUrl, 'esc_roles');
    database = new URL(databaseUrl).pathname.slice(1);
    ownerUrl = urlAs(databaseUrl, owner);
    runtimeUrl = urlAs(databaseUrl, runtime);
    // What docs/deploy.md has a DBA run for escalation (passwords aside: the test server trusts loopback).
    await sqlAs(databaseUrl, 'create schema if not exists drizzle');
    await sqlAs(serverUrl, `create role ${owner} login`);
    await sqlAs(serverUrl, `create role ${runtime} login`);
    await sqlAs(databaseUrl, `grant create on database ${database} to ${owner}`);
    await sqlAs(databaseUrl, `grant usage, create on schema drizzle to ${owner}`);

    // The migration Job: its command and environment as the chart renders them.
    secrets = mkdtempSync(join(tmpdir(), 'esc-roles-'));
    writeFileSync(join(secrets, 'database-migration-url'), ownerUrl, { mode: 0o600 });
    const job = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/migrate.ts'], {
      cwd: SERVICE_DIR,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        DATABASE_MIGRATION_URL_FILE: join(secrets, 'database-migration-url'),
        DATABASE_RUNTIME_ROLE: runtime,
      },
    });
    expect(job.stdout).toMatch(/"msg":"migrations applied"/);

    pagerduty = await startFakePagerDuty({
      token: 'pd-roles-token-123',
      users: [{ id: 'PADA001', email: 'ada@example.com' }],
      incidents: ['PROLE1'],
    });
    writeFileSync(join(secrets, 'pd'), 'pd-roles-token-123', { mode: 0o600 });
    // The server: the runtime role's URL only, and no migrations at start-up.
    esc = await startTestEscalation('esc-roles', () => ({
      DATABASE_URL: runtimeUrl,
      MIGRATE_ON_START: 'false',
      PAGERDUTY_API_URL: pagerduty.url,
      PAGERDUTY_API_TOKEN_FILE: join(secrets, 'pd'),
      PAGERDUTY_FROM_EMAIL: 'ada@example.com',
      PUBLIC_URL: 'https://oncall.example.com',
    }));
    responder = await esc.issuer.token({ sub: 'ada', email: 'ada@example.com', roles: ['responder'] });
    admin = await esc.issuer.token({ sub: 'alex', roles: ['admin'] });
  });

  afterAll(async () => {
    await esc?.stop();
    await pagerduty?.stop();
    if (secrets) rmSync(secrets, { recursive: true, force: true });
    if (database) await sqlAs(serverUrl, `drop database if exists ${database} with (force)`);
    await sqlAs(serverUrl, `drop role if exists ${runtime}`);
    await sqlAs(serverUrl, `drop role if exists ${owner}`);
  });

  it('applies events, acts, audits and publishes as the runtime role', async () => {
    await esc.publish([pd]);
    await esc.applied(pd.incidentId, responder);
    const res = await fetch(`${esc.service.url}/v1/incidents/${pd.incidentId}/actions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${responder}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'acknowledge' }),
    });
    expect(res.status).toBe(200);
    expect(pagerduty.incident('PROLE1')?.status).toBe('acknowledged');
    const audit = await fetch(`${esc.service.url}/v1/audit?incidentId=${pd.incidentId}`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    const { items } = (await audit.json()) as { items: { action: string; outcome: string }[] };
    expect(items[0]).toMatchObject({ action: 'acknowledge', outcome: 'succeeded' });
    // The outbox relay, also the runtime role, sent the action's event and deleted its row.
    await until('the outbox to be relayed', async () => {
      const outbox = await sqlAs(databaseUrl, 'select count(*)::int as n from escalation.outbox');
      return outbox.rows[0].n === 0 ? true : undefined;
    });
  });

  it('cannot change, remove or truncate audit rows, nor disable or drop the trigger that guards them', async () => {
    const rows = await sqlAs(databaseUrl, 'select count(*)::int as n from escalation.audit_log');
    expect(rows.rows[0].n).toBeGreaterThan(0);

    expect(await refusalOf(runtimeUrl, `update escalation.audit_log set outcome = 'failed'`)).toBe(
      'permission denied for table audit_log',
    );
    expect(await refusalOf(runtimeUrl, 'delete from escalation.audit_log')).toBe(
      'permission denied for table audit_log',
    );
    expect(await refusalOf(runtimeUrl, 'truncate escalation.audit_log')).toBe('permission denied for table audit_log');
    expect(await refusalOf(runtimeUrl, 'alter table escalation.audit_log disable trigger audit_log_append_only')).toBe(
      'must be owner of table audit_log',
    );
    expect(await refusalOf(runtimeUrl, 'drop trigger audit_log_append_only on escalation.audit_log')).toBe(
      'must be owner of relation audit_log',
    );
    expect(await refusalOf(runtimeUrl, 'drop table escalation.audit_log')).toBe('must be owner of table audit_log');
    expect(
      await refusalOf(
        runtimeUrl,
        `create or replace function escalation.audit_log_is_append_only() returns trigger language plpgsql as $$ begin return new; end $$`,
      ),
    ).toBe('permission denied for schema escalation');
    expect((await sqlAs(databaseUrl, 'select count(*)::int as n from escalation.audit_log')).rows[0].n).toBe(
      rows.rows[0].n,
    );
  });

  it('is refused only because of its role: the owner may disable the trigger', async () => {
    // The same statement succeeds for the table's owner (rolled back), so the refusal above is
    // the runtime role's, not a malformed statement's.
    const client = new pg.Client({ connectionString: ownerUrl });
    await client.connect();
    try {
      await client.query('begin');
      await client.query('alter table escalation.audit_log disable trigger audit_log_append_only');
      await client.query('rollback');
    } finally {
      await client.end();
    }
  });
});
