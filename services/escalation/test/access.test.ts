import { randomBytes } from 'node:crypto';
import { incidentIdFor, normalisePagerDuty } from '@micro-oncall/incident-model';
import { pagerDutyIncidentEvent } from '@micro-oncall/incident-model/fixtures';
import type { RunningService } from '@micro-oncall/service-kit';
import type { LocalIssuer } from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyEvent, startTestEscalation, type TestEscalation } from './support.js';

const INCIDENT = incidentIdFor('pagerduty', 'PACCESS1');

type Caller = 'anonymous' | 'no-role' | 'viewer' | 'responder' | 'approver' | 'admin';
const CALLERS: Caller[] = ['anonymous', 'no-role', 'viewer', 'responder', 'approver', 'admin'];

/** Every /v1 route with the least role it needs. */
const ROUTES: { method: 'GET' | 'POST'; path: string; role: 'viewer' | 'responder' | 'admin'; body?: unknown }[] = [
  { method: 'GET', path: '/v1/incidents', role: 'viewer' },
  { method: 'GET', path: `/v1/incidents/${INCIDENT}`, role: 'viewer' },
  { method: 'GET', path: '/v1/services', role: 'viewer' },
  { method: 'GET', path: '/v1/stats', role: 'viewer' },
  { method: 'GET', path: '/v1/stream', role: 'viewer' },
  {
    method: 'POST',
    path: `/v1/incidents/${INCIDENT}/actions`,
    role: 'responder',
    body: { action: 'note', note: 'checking' },
  },
  { method: 'GET', path: '/v1/audit', role: 'admin' },
  { method: 'POST', path: '/v1/audit/export', role: 'admin', body: { format: 'csv' } },
];

function allowed(caller: Caller, role: 'viewer' | 'responder' | 'admin'): boolean {
  if (caller === 'admin') return true;
  if (role === 'viewer') return caller === 'viewer' || caller === 'responder' || caller === 'approver';
  if (role === 'responder') return caller === 'responder';
  return false;
}

/** Follows a sign-in through the development issuer by hand, keeping cookies like a browser. */
async function signIn(serviceUrl: string, user: string, returnTo = '/') {
  const jar = new Map<string, string>();
  const remember = (res: Response) => {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const [name, value] = pair!.split('=');
      if (value) jar.set(name!, value);
      else jar.delete(name!);
    }
  };
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const login = await fetch(`${serviceUrl}/auth/login?returnTo=${encodeURIComponent(returnTo)}`, {
    redirect: 'manual',
  });
  expect(login.status).toBe(302);
  remember(login);
  const authorizeUrl = new URL(login.headers.get('location')!);
  expect(authorizeUrl.searchParams.get('code_challenge_method')).toBe('S256');
  const form = new URLSearchParams(authorizeUrl.searchParams);
  form.set('user', user);
  const chosen = await fetch(`${authorizeUrl.origin}/authorize`, { method: 'POST', body: form, redirect: 'manual' });
  expect(chosen.status).toBe(302);
  const callback = await fetch(chosen.headers.get('location')!, { headers: { cookie: cookie() }, redirect: 'manual' });
  remember(callback);
  return { callback, cookie, callbackUrl: chosen.headers.get('location')! };
}

describe('escalation access control', () => {
  let esc: TestEscalation;
  let service: RunningService;
  let issuer: LocalIssuer;
  const tokens = new Map<Caller, string>();

  beforeAll(async () => {
    esc = await startTestEscalation('access', () => ({
      OIDC_CLIENT_ID: 'escalation-test',
      SESSION_SECRET: randomBytes(32).toString('hex'),
    }));
    ({ service, issuer } = esc);
    for (const caller of CALLERS) {
      if (caller === 'anonymous') continue;
      tokens.set(caller, await issuer.token({ sub: `user-${caller}`, roles: caller === 'no-role' ? [] : [caller] }));
    }
    await esc.publish([
      onlyEvent(
        normalisePagerDuty(pagerDutyIncidentEvent({ incidentId: 'PACCESS1' }), {
          receivedAt: new Date().toISOString(),
        }),
      ),
    ]);
    await esc.applied(INCIDENT, tokens.get('viewer')!);
  });

  afterAll(async () => {
    await esc?.stop();
  });

  describe('route × role matrix', () => {
    for (const route of ROUTES) {
      for (const caller of CALLERS) {
        const expected = caller === 'anonymous' ? 401 : allowed(caller, route.role) ? 'allowed' : 403;
        it(`${route.method} ${route.path.replace(INCIDENT, ':id')} as ${caller} → ${expected}`, async () => {
          const controller = new AbortController();
          const token = tokens.get(caller);
          const res = await fetch(`${service.url}${route.path}`, {
            method: route.method,
            headers: {
              ...(token ? { authorization: `Bearer ${token}` } : {}),
              ...(route.body ? { 'content-type': 'application/json' } : {}),
            },
            ...(route.body ? { body: JSON.stringify(route.body) } : {}),
            signal: controller.signal,
          });
          controller.abort();
          if (expected === 'allowed') {
            expect([401, 403]).not.toContain(res.status);
          } else {
            expect(res.status).toBe(expected);
          }
        });
      }
    }
  });

  it('audits refusals as denied: every one of a known user, unidentified callers up to a limit', async () => {
    const admin = { authorization: `Bearer ${tokens.get('admin')}` };
    type Row = { action: string; outcome: string; detail: string; incidentId: string | null };
    const denied = async (actor: string) => {
      const res = await fetch(`${service.url}/v1/audit?outcome=denied&actor=${actor}&limit=1000`, { headers: admin });
      return ((await res.json()) as { items: Row[] }).items;
    };
    const viewer = await fetch(`${service.url}/v1/audit`, {
      headers: { authorization: `Bearer ${tokens.get('viewer')}` },
    });
    expect(viewer.status).toBe(403);

    const viewerRows = await denied('user-viewer');
    expect(viewerRows).toContainEqual(
      expect.objectContaining({
        action: 'audit_read',
        detail: 'GET /v1/audit refused: this action needs the admin role',
      }),
    );
    // From the matrix above: the viewer's note on the incident.
    expect(viewerRows).toContainEqual(
      expect.objectContaining({
        action: 'note',
        incidentId: INCIDENT,
        detail: `POST /v1/incidents/${INCIDENT}/actions refused: this action needs the responder role`,
      }),
    );

    const before = (await denied('anonymous')).length;
    for (let i = 0; i < 50; i += 1) {
      expect((await fetch(`${service.url}/v1/incidents`)).status).toBe(401);
    }
    const anonymous = await denied('anonymous');
    expect(anonymous).toContainEqual(
      expect.objectContaining({
        action: 'incident_read',
        detail: 'GET /v1/incidents refused: sign in first (no valid session or bearer token)',
      }),
    );
    // At most 20 itemised per minute and replica: a flood cannot fill the audit log.
    expect(anonymous.length - before).toBeLessThanOrEqual(20);
  });

  it('signs a responder in with the authorization code flow (PKCE) and returns to the page asked for', async () => {
    const { callback, cookie } = await signIn(service.url, 'dev-responder', '/incidents/x?status=triggered');
    expect(callback.status).toBe(302);
    expect(callback.headers.get('location')).toBe('/incidents/x?status=triggered');
    const sessionCookie = callback.headers.getSetCookie().find((c) => c.startsWith('mo_session='));
    expect(sessionCookie).toMatch(/HttpOnly/i);
    expect(sessionCookie).toMatch(/SameSite=Lax/i);
    const me = await fetch(`${service.url}/auth/me`, { headers: { cookie: cookie() } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ subject: 'dev-responder', email: 'ada@example.com', roles: ['responder'] });
  });

  it('never redirects off-site after sign-in', async () => {
    const { callback } = await signIn(service.url, 'dev-viewer', '//evil.example/steal');
    expect(callback.headers.get('location')).toBe('/');
  });

  it('refuses a callback whose state does not match the sign-in it started', async () => {
    const { callbackUrl, cookie } = await signIn(service.url, 'dev-viewer');
    const tampered = new URL(callbackUrl);
    tampered.searchParams.set('state', 'forged');
    // A fresh login cookie with a different state, as an attacker's link would produce.
    const login = await fetch(`${service.url}/auth/login`, { redirect: 'manual' });
    const loginCookie = login.headers
      .getSetCookie()
      .find((c) => c.startsWith('mo_login='))!
      .split(';')[0]!;
    const res = await fetch(tampered, { headers: { cookie: `${cookie()}; ${loginCookie}` }, redirect: 'manual' });
    expect(res.status).toBe(400);
  });

  it('requires the CSRF token for state-changing requests made with the session cookie', async () => {
    const { cookie } = await signIn(service.url, 'dev-responder');
    const me = (await (await fetch(`${service.url}/auth/me`, { headers: { cookie: cookie() } })).json()) as {
      csrfToken: string;
    };
    const post = (headers: Record<string, string>) =>
      fetch(`${service.url}/v1/incidents/${INCIDENT}/actions`, {
        method: 'POST',
        headers: { cookie: cookie(), 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ action: 'note', note: 'from the dashboard' }),
      });
    expect((await post({})).status).toBe(403);
    expect((await post({ 'x-csrf-token': 'wrong' })).status).toBe(403);
    const withToken = await post({ 'x-csrf-token': me.csrfToken });
    expect([401, 403]).not.toContain(withToken.status);
  });

  it('records sign-in and sign-out in the audit log', async () => {
    const { cookie } = await signIn(service.url, 'dev-admin');
    const me = (await (await fetch(`${service.url}/auth/me`, { headers: { cookie: cookie() } })).json()) as {
      csrfToken: string;
    };
    const out = await fetch(`${service.url}/auth/logout`, {
      method: 'POST',
      headers: { cookie: cookie(), 'x-csrf-token': me.csrfToken },
    });
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie().some((c) => c.startsWith('mo_session=;'))).toBe(true);
    const audit = await fetch(`${service.url}/v1/audit?actor=dev-admin`, {
      headers: { authorization: `Bearer ${tokens.get('admin')}` },
    });
    const actions = ((await audit.json()) as { items: { action: string }[] }).items.map((i) => i.action);
    expect(actions).toEqual(['sign_out', 'sign_in']);
  });
});
