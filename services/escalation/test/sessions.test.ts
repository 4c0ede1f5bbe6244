import { randomBytes } from 'node:crypto';
import { createDbSessionStore, type StoredSession } from '@micro-oncall/service-kit';
import { DEV_USERS, type DevUser } from '@micro-oncall/test-kit';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as schema from '../src/db/schema.js';
import { startTestEscalation, type TestEscalation } from './support.js';
import { eventNames, openStream, signInAs } from './web.js';

/** How long the service trusts a session's roles before asking the issuer again (seconds). */
const ROLES_TTL = 1;
const afterRolesTtl = () => new Promise((r) => setTimeout(r, ROLES_TTL * 1000 + 200));

describe('escalation browser sessions', () => {
  let esc: TestEscalation;
  let url: string;
  /** The development issuer's people: tests change roles or remove someone, then put them back. */
  const users: DevUser[] = DEV_USERS.map((u) => ({ ...u, roles: [...u.roles] }));
  const original = DEV_USERS.map((u) => ({ ...u, roles: [...u.roles] }));

  beforeAll(async () => {
    esc = await startTestEscalation(
      'sessions',
      () => ({
        OIDC_CLIENT_ID: 'escalation-test',
        SESSION_SECRET: randomBytes(32).toString('hex'),
        SESSION_ROLES_TTL_SECONDS: String(ROLES_TTL),
        LIVE_HEARTBEAT_SECONDS: '1',
      }),
      { users },
    );
    url = esc.service.url;
  });

  afterEach(() => {
    users.splice(0, users.length, ...original.map((u) => ({ ...u, roles: [...u.roles] })));
  });

  afterAll(async () => {
    await esc?.stop();
  });

  const get = (path: string, cookie: string) => fetch(`${url}${path}`, { headers: { cookie } });

  it('ends the session on sign-out for every copy of its cookie', async () => {
    const ada = await signInAs(url, 'dev-responder');
    const copied = ada.cookie();
    expect((await get('/v1/incidents', copied)).status).toBe(200);
    const out = await fetch(`${url}/auth/logout`, {
      method: 'POST',
      headers: { cookie: ada.cookie(), 'x-csrf-token': ada.csrf },
    });
    expect(out.status).toBe(204);
    // The copy (another browser, a stolen cookie) no longer works either.
    expect((await get('/auth/me', copied)).status).toBe(401);
    const api = await get('/v1/incidents', copied);
    expect(api.status).toBe(401);
    expect(((await api.json()) as { error: { message: string } }).error.message).toMatch(/session has ended/);
    expect(api.headers.getSetCookie().some((c) => c.startsWith('mo_session=;'))).toBe(true);
  });

  it('takes a role removed at the issuer away within the roles TTL', async () => {
    const alex = await signInAs(url, 'dev-admin');
    expect((await get('/v1/audit', alex.cookie())).status).toBe(200);
    users.find((u) => u.sub === 'dev-admin')!.roles = ['viewer'];
    await afterRolesTtl();
    const audit = await get('/v1/audit', alex.cookie());
    expect(audit.status).toBe(403);
    const me = (await (await get('/auth/me', alex.cookie())).json()) as { roles: string[] };
    expect(me.roles).toEqual(['viewer']);
  });

  it('signs out a user the issuer no longer knows at the next role check', async () => {
    const vic = await signInAs(url, 'dev-viewer');
    expect((await get('/v1/incidents', vic.cookie())).status).toBe(200);
    users.splice(
      users.findIndex((u) => u.sub === 'dev-viewer'),
      1,
    );
    await afterRolesTtl();
    expect((await get('/v1/incidents', vic.cookie())).status).toBe(401);
    expect((await get('/auth/me', vic.cookie())).status).toBe(401);
  });

  it('answers 401, never 500, to malformed or forged session cookies', async () => {
    for (const cookie of [
      'mo_session=%E0%A4%A',
      'mo_session=%',
      `mo_session=${'x'.repeat(43)}`,
      'mo_session=eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..bm9uZQ.bm9uZQ.bm9uZQ',
    ]) {
      for (const path of ['/auth/me', '/v1/incidents']) {
        expect((await get(path, cookie)).status, `${path} with ${cookie}`).toBe(401);
      }
      const out = await fetch(`${url}/auth/logout`, { method: 'POST', headers: { cookie } });
      expect(out.status, `logout with ${cookie}`).toBe(204);
    }
  });

  it('needs the CSRF token for an export made with the session cookie, which is a POST', async () => {
    const alex = await signInAs(url, 'dev-admin');
    const exportAs = (headers: Record<string, string>) =>
      fetch(`${url}/v1/audit/export`, {
        method: 'POST',
        headers: { cookie: alex.cookie(), 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ format: 'csv' }),
      });
    expect((await exportAs({})).status).toBe(403);
    expect((await exportAs({ 'x-csrf-token': 'wrong' })).status).toBe(403);
    const ok = await exportAs({ 'x-csrf-token': alex.csrf });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-disposition')).toMatch(/^attachment; filename="audit-\d{4}-\d{2}-\d{2}\.csv"$/);
    expect(await ok.text()).toMatch(/^id,at,actor_subject/);
    // A link (GET) exports nothing and writes no audit row.
    expect((await get('/v1/audit/export?format=csv', alex.cookie())).status).toBe(404);
    const exports = await get('/v1/audit?action=audit_export&outcome=succeeded', alex.cookie());
    expect(((await exports.json()) as { items: unknown[] }).items).toHaveLength(1);
  });

  it('ends an open live stream when its session signs out', async () => {
    const ada = await signInAs(url, 'dev-responder');
    const stream = await openStream(`${url}/v1/stream`, { cookie: ada.cookie() });
    expect(stream.status).toBe(200);
    await stream.readUntil(/event: ready/);
    await fetch(`${url}/auth/logout`, { method: 'POST', headers: { cookie: ada.cookie(), 'x-csrf-token': ada.csrf } });
    const text = await stream.readToEnd(5000);
    expect(eventNames(text).at(-1)).toBe('end');
    expect(text).toMatch(/event: end\ndata: \{"reason":"session_ended"\}/);
  });

  it('ends an open live stream when its roles change at the issuer', async () => {
    const alex = await signInAs(url, 'dev-admin');
    const stream = await openStream(`${url}/v1/stream`, { cookie: alex.cookie() });
    await stream.readUntil(/event: ready/);
    users.find((u) => u.sub === 'dev-admin')!.roles = ['viewer'];
    const text = await stream.readToEnd(ROLES_TTL * 1000 + 5000);
    expect(text).toMatch(/event: end\ndata: \{"reason":"roles_changed"\}/);
    // The reconnect is served with the new roles.
    expect(((await (await get('/auth/me', alex.cookie())).json()) as { roles: string[] }).roles).toEqual(['viewer']);
  });

  it('keeps sessions in its own schema, by hash, and prunes expired ones', async () => {
    const pool = new pg.Pool({ connectionString: esc.databaseUrl, max: 1 });
    try {
      const store = createDbSessionStore(drizzle(pool, { schema }), schema.sessions);
      const at = new Date('2026-12-01T09:00:00Z');
      const session = (idHash: string, expiresAt: Date): StoredSession => ({
        idHash,
        subject: 'store-test',
        name: null,
        email: null,
        roles: ['viewer'],
        csrf: 'c'.repeat(32),
        createdAt: at,
        expiresAt,
        idleExpiresAt: expiresAt,
        rolesCheckedAt: at,
        refreshToken: null,
      });
      await store.create(session('store-live', new Date('2100-01-01T00:00:00Z')));
      await store.create(session('store-expired', new Date('2000-01-01T00:00:00Z')));
      // Only one of two concurrent role checks wins.
      const later = new Date(at.getTime() + 60_000);
      const claims = await Promise.all([
        store.claimRoleCheck('store-live', at, later),
        store.claimRoleCheck('store-live', at, later),
      ]);
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect((await store.find('store-live'))?.rolesCheckedAt).toEqual(later);
      expect(await store.deleteExpired(new Date())).toBeGreaterThanOrEqual(1);
      expect(await store.find('store-expired')).toBeNull();
      expect(await store.find('store-live')).not.toBeNull();
      expect(await store.delete('store-live')).toBe(true);
      expect(await store.delete('store-live')).toBe(false);
    } finally {
      await pool.end();
    }
  });
});
