import { afterEach, describe, expect, it, vi } from 'vitest';
import { createEventParser, type ServerEvent } from './common/api.js';

/** The module afresh (its token and who-am-I are kept per page load). */
const freshApi = async () => {
  vi.resetModules();
  return import('./common/api.js');
};

const parse = (chunks: string[]) => {
  const events: ServerEvent[] = [];
  const parser = createEventParser((e) => events.push(e));
  for (const chunk of chunks) parser.push(chunk);
  return events;
};

describe(createEventParser.name, () => {
  it('reads events as the HTML standard defines them: name, data lines, id; comments and empty events skipped', () => {
    expect(
      parse([
        ': heartbeat\n\n',
        'retry: 1000\n',
        'id: 7\nevent: change\ndata: {"a":1}\n\n',
        'data: first\ndata:second\n\n',
        'event: ready\n\n',
      ]),
    ).toEqual([
      { event: 'change', data: '{"a":1}', id: '7' },
      { event: 'message', data: 'first\nsecond', id: '7' },
    ]);
  });

  it('puts events together across chunks split anywhere, CRLF and CR line ends included', () => {
    const text = 'event: change\r\ndata: {"n":1}\r\n\r\nevent: change\rdata: {"n":2}\r\r';
    for (let cut = 1; cut < text.length; cut++) {
      expect(parse([text.slice(0, cut), text.slice(cut)]).map((e) => e.data)).toEqual(['{"n":1}', '{"n":2}']);
    }
    expect(parse(text.split('')).map((e) => e.data)).toEqual(['{"n":1}', '{"n":2}']);
  });
});

describe('the bearer token of the product session', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  function browser(answers: Record<string, () => Response>) {
    const sent: { url: string; headers: Record<string, string> }[] = [];
    vi.stubGlobal('fetch', async (url: string, init: { headers?: Record<string, string> }) => {
      sent.push({ url, headers: init.headers ?? {} });
      const answer = answers[url];
      if (!answer) throw new Error(`unexpected request to ${url}`);
      return answer();
    });
    const assigned: string[] = [];
    vi.stubGlobal('location', { pathname: '/status/', search: '', assign: (u: string) => assigned.push(u) });
    const storage = new Map<string, string>();
    vi.stubGlobal('sessionStorage', {
      getItem: (k: string) => storage.get(k) ?? null,
      setItem: (k: string, v: string) => storage.set(k, v),
      removeItem: (k: string) => storage.delete(k),
    });
    return { sent, assigned };
  }
  const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
    new Response(status === 304 ? null : JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json', ...headers },
    });

  it('asks escalation for a token with the session CSRF token, sends it as a bearer, and reuses it until it nearly expires', async () => {
    const { accessToken, getJson } = await freshApi();
    const expiresAt = new Date(Date.now() + 10 * 60_000).toISOString();
    const { sent } = browser({
      '/auth/me': () => json({ subject: 'vic', name: 'Vic', email: null, roles: ['viewer'], csrfToken: 'csrf-vic' }),
      '/auth/token': () => json({ tokenType: 'Bearer', accessToken: 'token-1', expiresAt }),
      '/status/internal': () => json({ services: [] }, 200, { etag: 'W/"a"' }),
    });
    expect(await accessToken()).toBe('token-1');
    const first = await getJson('/status/internal');
    const second = await getJson('/status/internal', { etag: 'W/"a"' });
    expect(first).toEqual({ notModified: false, body: { services: [] }, etag: 'W/"a"' });
    expect(second.notModified).toBe(false);
    expect(sent.filter((s) => s.url === '/auth/token')).toHaveLength(1);
    expect(sent.find((s) => s.url === '/auth/token')?.headers['x-csrf-token']).toBe('csrf-vic');
    const api = sent.filter((s) => s.url === '/status/internal');
    expect(api.map((s) => s.headers.authorization)).toEqual(['Bearer token-1', 'Bearer token-1']);
    expect(api[1]?.headers['if-none-match']).toBe('W/"a"');
  });

  it('gets a fresh token once when the service refuses the one it had (it just expired)', async () => {
    const { getJson } = await freshApi();
    let issued = 0;
    const { sent } = browser({
      '/auth/me': () => json({ subject: 'vic', name: null, email: null, roles: ['viewer'], csrfToken: 'c' }),
      '/auth/token': () => {
        issued += 1;
        return json({ accessToken: `token-${issued}`, expiresAt: new Date(Date.now() + 600_000).toISOString() });
      },
      '/status/internal': () =>
        sent.filter((r) => r.url === '/status/internal').length === 1
          ? json({ error: { code: 'unauthenticated', message: 'invalid bearer token (ERR_JWT_EXPIRED)' } }, 401)
          : json({ services: [] }),
    });
    expect(await getJson('/status/internal')).toMatchObject({ notModified: false, body: { services: [] } });
    expect(sent.filter((r) => r.url === '/status/internal').map((r) => r.headers.authorization)).toEqual([
      'Bearer token-1',
      'Bearer token-2',
    ]);
  });

  it('sends the browser to sign in and back here without a session, but never round and round', async () => {
    const notSignedIn = () => json({ error: { code: 'unauthenticated', message: 'not signed in' } }, 401);
    const { assigned } = browser({ '/auth/me': notSignedIn });
    const first = await freshApi();
    await expect(first.accessToken()).rejects.toMatchObject({ status: 401, code: 'unauthenticated' });
    expect(assigned).toEqual(['/auth/login?returnTo=%2Fstatus%2F']);
    // Back from signing in, and still refused: say so instead of signing in again.
    const second = await freshApi();
    await expect(second.accessToken()).rejects.toMatchObject({ status: 401, code: 'sign_in_loop' });
    expect(assigned).toHaveLength(1);
  });
  it('keeps asking who is signed in while the sign-in service is down, saying so, and comes up when it answers', async () => {
    const { signedInUser } = await freshApi();
    let asked = 0;
    browser({
      '/auth/me': () => {
        asked += 1;
        if (asked === 1) throw new TypeError('Failed to fetch');
        if (asked <= 3) return json({ error: { code: 'unavailable', message: 'escalation is restarting' } }, 503);
        return json({ subject: 'vic', name: 'Vic', email: null, roles: ['viewer'], csrfToken: 'c' });
      },
    });
    const said: string[] = [];
    const waited: number[] = [];
    const me = await signedInUser(
      (message, seconds) => said.push(`${message} (${seconds} s)`),
      async (ms) => {
        waited.push(ms);
      },
    );
    expect(me).toMatchObject({ subject: 'vic' });
    expect(said).toEqual([
      '/auth/me cannot be reached (network error); retrying (1 s)',
      'escalation is restarting (2 s)',
      'escalation is restarting (4 s)',
    ]);
    expect(waited).toEqual([1000, 2000, 4000]);
  });

  it('says a refusal that signing in cannot cure at once, and gives no user without a session', async () => {
    const forbidden = await freshApi();
    browser({ '/auth/me': () => json({ error: { code: 'forbidden', message: 'not for you' } }, 403) });
    await expect(forbidden.signedInUser(() => undefined)).rejects.toMatchObject({
      status: 403,
      message: 'not for you',
    });
    const anonymous = await freshApi();
    const { assigned } = browser({
      '/auth/me': () => json({ error: { code: 'unauthenticated', message: 'no' } }, 401),
    });
    expect(await anonymous.signedInUser(() => undefined)).toBeNull();
    expect(assigned).toEqual(['/auth/login?returnTo=%2Fstatus%2F']);
  });
});
