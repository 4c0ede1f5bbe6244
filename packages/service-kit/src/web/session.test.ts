import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import { describe, expect, it, vi } from 'vitest';
import type { Principal } from '../auth.js';
import { AuthenticationError, DependencyUnavailableError } from '../errors.js';
import {
  createSessionManager,
  type IssuedToken,
  RefreshRefusedError,
  type RoleRefresher,
  type SessionEvent,
  type SessionManagerOptions,
} from './session.js';
import { createMemorySessionStore } from './session-store.js';

const ADA: Principal = { subject: 'ada', name: 'Ada', email: 'ada@example.com', roles: ['admin'] };
// Generated per run: no secret-shaped literal in the repository.
const SECRET = randomBytes(32).toString('hex');

interface SetCookie {
  name: string;
  value: string;
  options: Record<string, unknown>;
}

/** A response that records the cookies set and cleared. */
function fakeResponse() {
  const set: SetCookie[] = [];
  const cleared: string[] = [];
  const res = {
    cookie(name: string, value: string, options: Record<string, unknown>) {
      set.push({ name, value, options });
      return res;
    },
    clearCookie(name: string) {
      cleared.push(name);
      return res;
    },
  };
  return { res: res as unknown as Response, set, cleared };
}

const request = (cookie?: string) => ({ headers: cookie === undefined ? {} : { cookie } }) as unknown as Request;

function setup(overrides: Partial<SessionManagerOptions> = {}) {
  let clock = Date.parse('2026-12-01T09:00:00Z');
  const store = createMemorySessionStore();
  const sessions = createSessionManager({
    store,
    secret: SECRET,
    ttlSeconds: 8 * 3600,
    idleSeconds: 3600,
    rolesTtlSeconds: 300,
    secureCookies: false,
    now: () => clock,
    ...overrides,
  });
  const events: SessionEvent[] = [];
  sessions.subscribe((e) => events.push(e));
  /** Signs `principal` in; `refreshToken` null: the issuer gave none. */
  const signIn = async (principal = ADA, refreshToken: string | null = 'rt-1', accessToken?: IssuedToken) => {
    const { res, set } = fakeResponse();
    const session = await sessions.issue(res, principal, { refreshToken: refreshToken ?? undefined, accessToken });
    const cookie = set.find((c) => c.name === sessions.cookieNames.session)!;
    return { session, cookie, header: `${cookie.name}=${cookie.value}` };
  };
  return {
    store,
    sessions,
    events,
    signIn,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

describe(createSessionManager.name, () => {
  it('puts only a random id in the cookie and keeps its hash, never the id, in the store', async () => {
    const { store, signIn, sessions } = setup();
    const { cookie, session, header } = await signIn();
    expect(cookie.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(cookie.options).toMatchObject({ httpOnly: true, sameSite: 'lax', path: '/', secure: false });
    expect(session.id).not.toBe(cookie.value);
    expect(JSON.stringify(await store.find(session.id))).not.toContain(cookie.value);
    expect(await sessions.read(request(header))).toMatchObject({ subject: 'ada', roles: ['admin'] });
  });

  it('names the cookies __Host- and marks them Secure over https, and uses bare names over http', async () => {
    const https = setup({ secureCookies: true });
    const { cookie } = await https.signIn();
    expect(cookie.name).toBe('__Host-mo_session');
    expect(cookie.options).toMatchObject({ secure: true, path: '/' });
    expect(cookie.options).not.toHaveProperty('domain');
    const login = fakeResponse();
    await https.sessions.issueLogin(login.res, { state: 's' });
    expect(login.set[0]).toMatchObject({ name: '__Host-mo_login', options: { secure: true, path: '/' } });

    expect(setup().sessions.cookieNames).toEqual({ session: 'mo_session', login: 'mo_login' });
  });

  it('reads a malformed, unknown or foreign cookie as no session instead of failing', async () => {
    const { sessions } = setup();
    for (const cookie of [
      'mo_session=%E0%A4%A',
      'mo_session=short',
      `mo_session=${'A'.repeat(43)}`,
      'mo_session=eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..x.y.z',
      'mo_session',
      '=;;=',
    ]) {
      await expect(sessions.read(request(cookie)), cookie).resolves.toBeNull();
    }
  });

  it('does not take a login cookie for a session, nor a session for a login', async () => {
    const { sessions, signIn } = setup();
    const login = fakeResponse();
    await sessions.issueLogin(login.res, { verifier: 'v', state: 's', nonce: 'n' });
    const loginValue = login.set[0]!.value;
    expect(await sessions.read(request(`mo_session=${loginValue}`))).toBeNull();
    expect(await sessions.readLogin(request(`mo_login=${loginValue}`))).toMatchObject({ state: 's' });
    const { cookie } = await signIn();
    expect(await sessions.readLogin(request(`mo_login=${cookie.value}`))).toBeNull();
  });

  it('ends a revoked session for every copy of its cookie', async () => {
    const { sessions, signIn, events } = setup();
    const { session, header } = await signIn();
    await sessions.revoke(session.id);
    expect(await sessions.read(request(header))).toBeNull();
    expect(events).toEqual([{ id: session.id, reason: 'signed_out' }]);
  });

  it('ends a session nobody used for the idle timeout, and keeps one in use alive until its absolute end', async () => {
    const { sessions, signIn, advance } = setup({ rolesTtlSeconds: 24 * 3600 });
    const idle = await signIn();
    const busy = await signIn();
    for (let minutes = 0; minutes < 7 * 60; minutes += 30) {
      advance(30 * 60_000);
      expect(await sessions.read(request(busy.header)), `busy after ${minutes + 30} min`).not.toBeNull();
    }
    expect(await sessions.read(request(idle.header))).toBeNull();
    advance(60 * 60_000); // 8 h after sign-in
    expect(await sessions.read(request(busy.header))).toBeNull();
  });

  it('lets a stream look at its session without counting as activity', async () => {
    const { sessions, signIn, advance } = setup({ rolesTtlSeconds: 24 * 3600 });
    const { session } = await signIn();
    advance(59 * 60_000);
    expect(await sessions.current(session.id)).not.toBeNull();
    advance(2 * 60_000);
    expect(await sessions.current(session.id)).toBeNull();
  });

  it('re-reads the roles from the issuer when they are older than the roles TTL, and says when they changed', async () => {
    const { sessions, signIn, advance, events } = setup();
    const refresher = vi.fn<RoleRefresher>(async (_token, subject) => ({
      principal: { ...ADA, subject, roles: ['viewer'] },
      refreshToken: 'rt-2',
    }));
    sessions.setRoleRefresher(refresher);
    const { session, header } = await signIn();
    advance(299_000);
    expect((await sessions.read(request(header)))?.roles).toEqual(['admin']);
    expect(refresher).not.toHaveBeenCalled();
    advance(1000);
    expect((await sessions.read(request(header)))?.roles).toEqual(['viewer']);
    expect(refresher).toHaveBeenCalledWith('rt-1', 'ada');
    expect(events).toEqual([{ id: session.id, reason: 'roles_changed' }]);
    advance(300_000);
    await sessions.read(request(header));
    expect(refresher).toHaveBeenLastCalledWith('rt-2', 'ada'); // the rotated refresh token
  });

  it('asks the issuer once when many requests of one session find the roles due', async () => {
    const { sessions, signIn, advance } = setup();
    let release = () => {};
    const refresher = vi.fn<RoleRefresher>(async () => {
      await new Promise<void>((r) => {
        release = r;
      });
      return { principal: ADA };
    });
    sessions.setRoleRefresher(refresher);
    const { header } = await signIn();
    advance(300_000);
    const reads = Array.from({ length: 5 }, () => sessions.read(request(header)));
    await new Promise((r) => setTimeout(r, 10));
    release();
    expect((await Promise.all(reads)).every((s) => s?.roles.join() === 'admin')).toBe(true);
    expect(refresher).toHaveBeenCalledTimes(1);
  });

  it('ends the session when the issuer refuses the refresh (user removed or disabled)', async () => {
    const { sessions, signIn, advance, events } = setup();
    sessions.setRoleRefresher(async () => {
      throw new RefreshRefusedError('invalid_grant: user disabled');
    });
    const { session, header } = await signIn();
    advance(300_000);
    expect(await sessions.read(request(header))).toBeNull();
    expect(events).toEqual([{ id: session.id, reason: 'revoked' }]);
  });

  it('sends the user to sign in again when there is no refresh token to re-check the roles with', async () => {
    const { sessions, signIn, advance, events } = setup();
    sessions.setRoleRefresher(async () => ({ principal: ADA }));
    const { session, header } = await signIn(ADA, null);
    advance(300_000);
    expect(await sessions.read(request(header))).toBeNull();
    expect(events).toEqual([{ id: session.id, reason: 'reauthenticate' }]);
  });

  it('keeps the roles while the issuer is unreachable and asks again 30 s later', async () => {
    const { sessions, signIn, advance } = setup();
    const refresher = vi.fn<RoleRefresher>(async () => {
      throw new Error('connect ECONNREFUSED');
    });
    sessions.setRoleRefresher(refresher);
    const { header } = await signIn();
    advance(300_000);
    expect((await sessions.read(request(header)))?.roles).toEqual(['admin']);
    advance(29_000);
    await sessions.read(request(header));
    expect(refresher).toHaveBeenCalledTimes(1);
    advance(1000);
    await sessions.read(request(header));
    expect(refresher).toHaveBeenCalledTimes(2);
  });

  it('cannot open refresh tokens sealed with another secret: the user signs in again', async () => {
    const first = setup();
    const { session } = await first.signIn();
    const stored = (await first.store.find(session.id))!;
    expect(stored.refreshToken).not.toContain('rt-1');
    const other = setup({ secret: randomBytes(32).toString('hex') });
    other.sessions.setRoleRefresher(async () => ({ principal: ADA }));
    await other.store.create({ ...stored, rolesCheckedAt: new Date(0) });
    expect(await other.sessions.current(session.id)).toBeNull();
    expect(other.events).toEqual([{ id: session.id, reason: 'reauthenticate' }]);
  });

  describe("access tokens for the product's other services", () => {
    const minutes = (m: number) => m * 60_000;

    it('hands out the access token of the sign-in, sealed in the store, until a minute before it expires', async () => {
      const { sessions, signIn, advance, store } = setup();
      const refresher = vi.fn<RoleRefresher>(async () => ({
        principal: ADA,
        refreshToken: 'rt-2',
        accessToken: { value: 'at-2', expiresAt: new Date(Date.parse('2026-12-01T09:00:00Z') + minutes(70)) },
      }));
      sessions.setRoleRefresher(refresher);
      const expiresAt = new Date(Date.parse('2026-12-01T09:00:00Z') + minutes(10));
      const { session } = await signIn(ADA, 'rt-1', { value: 'at-1', expiresAt });
      expect(JSON.stringify(await store.find(session.id))).not.toContain('at-1');
      expect(await sessions.accessToken(session)).toEqual({ value: 'at-1', expiresAt });
      advance(minutes(9) - 1000);
      expect((await sessions.accessToken(session)).value).toBe('at-1');
      expect(refresher).not.toHaveBeenCalled();
      // Less than a minute left: a fresh one, with the refresh token (which re-reads the roles too).
      advance(2000);
      expect((await sessions.accessToken(session)).value).toBe('at-2');
      expect(refresher).toHaveBeenCalledExactlyOnceWith('rt-1', 'ada');
      expect((await sessions.accessToken(session)).value).toBe('at-2');
      expect(refresher).toHaveBeenCalledTimes(1);
    });

    it('spends the refresh token once across replicas: the second waits for the token the first stores', async () => {
      let clock = Date.parse('2026-12-01T09:00:00Z');
      const store = createMemorySessionStore();
      const replica = () =>
        createSessionManager({
          store,
          secret: SECRET,
          ttlSeconds: 8 * 3600,
          idleSeconds: 3600,
          rolesTtlSeconds: 300,
          secureCookies: false,
          now: () => clock,
        });
      const [a, b] = [replica(), replica()];
      let release = () => {};
      const slow = vi.fn<RoleRefresher>(async () => {
        await new Promise<void>((r) => {
          release = r;
        });
        return {
          principal: ADA,
          refreshToken: 'rt-2',
          accessToken: { value: 'at-a', expiresAt: new Date(clock + minutes(60)) },
        };
      });
      const other = vi.fn<RoleRefresher>(async () => ({ principal: ADA }));
      a.setRoleRefresher(slow);
      b.setRoleRefresher(other);
      const session = await a.issue(fakeResponse().res, ADA, { refreshToken: 'rt-1' });
      clock += minutes(1);
      const fromA = a.accessToken(session);
      await new Promise((r) => setTimeout(r, 20));
      const fromB = b.accessToken(session);
      await new Promise((r) => setTimeout(r, 300));
      release();
      expect((await fromA).value).toBe('at-a');
      expect((await fromB).value).toBe('at-a');
      expect(slow).toHaveBeenCalledTimes(1);
      expect(other).not.toHaveBeenCalled();
    });

    it('refuses a session that ended, and one with nothing to get a token with (sign in again)', async () => {
      const { sessions, signIn, advance } = setup();
      sessions.setRoleRefresher(async () => ({ principal: ADA }));
      const ended = await signIn();
      await sessions.revoke(ended.session.id);
      await expect(sessions.accessToken(ended.session)).rejects.toBeInstanceOf(AuthenticationError);
      const noRefresh = await signIn(ADA, null);
      advance(minutes(1));
      await expect(sessions.accessToken(noRefresh.session)).rejects.toThrow(/no refresh token/);
      // The session itself goes on until its roles are due.
      expect(await sessions.current(noRefresh.session.id)).not.toBeNull();
    });

    it('says the issuer is unavailable (503) rather than signing the user out when it cannot be reached', async () => {
      const { sessions, signIn, advance } = setup();
      sessions.setRoleRefresher(async () => {
        throw new Error('connect ECONNREFUSED');
      });
      const { session } = await signIn();
      advance(minutes(1));
      await expect(sessions.accessToken(session)).rejects.toBeInstanceOf(DependencyUnavailableError);
      expect(await sessions.current(session.id)).not.toBeNull();
    });
  });
});
