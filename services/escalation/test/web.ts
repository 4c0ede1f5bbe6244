/** What a browser does, by hand: sign in through the development issuer with a cookie jar, and read SSE streams. */

export interface SignedIn {
  /** The Cookie header the browser would send now. */
  cookie(): string;
  /** The session's CSRF token (from /auth/me). */
  csrf: string;
}

/** Signs `user` (a development issuer user id) in and keeps the cookies as a browser would. */
export async function signInAs(
  serviceUrl: string,
  user: string,
  opts: { secondFactor?: boolean } = {},
): Promise<SignedIn> {
  const jar = new Map<string, string>();
  const remember = (res: Response) => {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (value) jar.set(name, value);
      else jar.delete(name);
    }
  };
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const login = await fetch(`${serviceUrl}/auth/login`, { redirect: 'manual' });
  remember(login);
  const authorizeUrl = new URL(login.headers.get('location')!);
  const form = new URLSearchParams(authorizeUrl.searchParams);
  form.set('user', user);
  // The development sign-in page's "Sign in with a second factor" choice.
  if (opts.secondFactor) form.set('mfa', 'otp');
  const chosen = await fetch(`${authorizeUrl.origin}/authorize`, { method: 'POST', body: form, redirect: 'manual' });
  const callback = await fetch(chosen.headers.get('location')!, { headers: { cookie: cookie() }, redirect: 'manual' });
  if (callback.status !== 302)
    throw new Error(`sign-in as ${user} failed: ${callback.status} ${await callback.text()}`);
  remember(callback);
  const me = await fetch(`${serviceUrl}/auth/me`, { headers: { cookie: cookie() } });
  if (me.status !== 200) throw new Error(`/auth/me after signing in as ${user}: ${me.status}`);
  return { cookie, csrf: ((await me.json()) as { csrfToken: string }).csrfToken };
}

export { eventNames, type OpenStream, openStream } from '@micro-oncall/test-kit';
