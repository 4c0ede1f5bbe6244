/** What a browser does, by hand: sign in through the development issuer with a cookie jar, and read SSE streams. */

export interface SignedIn {
  /** The Cookie header the browser would send now. */
  cookie(): string;
  /** The session's CSRF token (from /auth/me). */
  csrf: string;
}

/** Signs `user` (a development issuer user id) in and keeps the cookies as a browser would. */
export async function signInAs(serviceUrl: string, user: string): Promise<SignedIn> {
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
  const chosen = await fetch(`${authorizeUrl.origin}/authorize`, { method: 'POST', body: form, redirect: 'manual' });
  const callback = await fetch(chosen.headers.get('location')!, { headers: { cookie: cookie() }, redirect: 'manual' });
  if (callback.status !== 302)
    throw new Error(`sign-in as ${user} failed: ${callback.status} ${await callback.text()}`);
  remember(callback);
  const me = await fetch(`${serviceUrl}/auth/me`, { headers: { cookie: cookie() } });
  if (me.status !== 200) throw new Error(`/auth/me after signing in as ${user}: ${me.status}`);
  return { cookie, csrf: ((await me.json()) as { csrfToken: string }).csrfToken };
}

export interface OpenStream {
  status: number;
  headers: Headers;
  /** Everything read so far. */
  text(): string;
  /** Reads until `pattern` matches what was read; throws when the stream ends first or after `timeoutMs`. */
  readUntil(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Reads until the server ends the stream; what was read. Throws after `timeoutMs`. */
  readToEnd(timeoutMs?: number): Promise<string>;
  close(): void;
}

/** Opens GET /v1/stream (or any SSE URL) with `headers`. A non-200 answer's body is in text(). */
export async function openStream(url: string, headers: Record<string, string>): Promise<OpenStream> {
  const controller = new AbortController();
  const res = await fetch(url, { headers, signal: controller.signal });
  let text = '';
  let done = false;
  if (res.status !== 200) {
    text = await res.text();
    done = true;
  }
  const reader = res.status === 200 ? res.body!.getReader() : null;
  const decoder = new TextDecoder();
  const readOnce = async (deadline: number) => {
    if (!reader || done) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`stream: timed out; read so far:\n${text.slice(-500)}`)),
        deadline - Date.now(),
      );
    });
    try {
      const chunk = await Promise.race([reader.read(), timeout]);
      if (chunk.done) done = true;
      else text += decoder.decode(chunk.value, { stream: true });
    } catch (error) {
      if ((error as Error).message.startsWith('stream: timed out')) throw error;
      done = true; // the connection broke
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    status: res.status,
    headers: res.headers,
    text: () => text,
    async readUntil(pattern, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(text)) {
        if (done) throw new Error(`stream ended before ${pattern}; read:\n${text.slice(-500)}`);
        await readOnce(deadline);
      }
      return text;
    },
    async readToEnd(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!done) await readOnce(deadline);
      return text;
    },
    close: () => controller.abort(),
  };
}

/** The `event:` names in an SSE text, in order (comments and `retry:` left out). */
export function eventNames(text: string): string[] {
  return [...text.matchAll(/^event: (.+)$/gm)].map((m) => m[1]!);
}
