/** Reading Server-Sent Events streams in tests, as a browser's EventSource would receive them. */

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
