import { randomBytes } from 'node:crypto';
import {
  type Answer,
  type IncomingRequest,
  isJsonContentType,
  isPlainObject,
  type RecordedRequest,
  startFakeServer,
} from './server.js';

export interface FakeSlack {
  /** The incoming-webhook URL; like Slack's, its path is the credential. */
  url: string;
  /** Payloads accepted (answered 200 `ok`), in order. */
  messages: Record<string, unknown>[];
  requests: RecordedRequest[];
  /** Answers the next `times` (default 1) posts with `status` and the plain-text `text`, e.g. (`channel_not_found`, 404). */
  failNext(text: string, status: number, times?: number): void;
  stop(): Promise<void>;
}

const MAX_BLOCKS = 50;
const MAX_SECTION_TEXT = 3000;

/** A Slack incoming-webhook stand-in. See ./README.md for the rules. */
export async function startFakeSlack(): Promise<FakeSlack> {
  const messages: Record<string, unknown>[] = [];
  const path = `/services/TFAKE0000/BFAKE0000/${randomBytes(12).toString('hex')}`;

  function handle(req: IncomingRequest): Answer {
    if (req.method !== 'POST' || req.path !== path) return { status: 404, body: 'no_service' };
    if (!isJsonContentType(req)) return { status: 400, body: 'invalid_payload' };
    let payload: unknown;
    try {
      payload = JSON.parse(req.rawBody);
    } catch {
      return { status: 400, body: 'invalid_payload' };
    }
    if (!isValidPayload(payload)) return { status: 400, body: 'invalid_payload' };
    messages.push(payload);
    return { status: 200, body: 'ok' };
  }

  const server = await startFakeServer({ handle, faultBody: () => 'rollup_error' });
  return {
    url: `${server.url}${path}`,
    messages,
    requests: server.requests,
    failNext(text, status, times = 1) {
      server.failNext({ status, body: text, times });
    },
    stop: server.stop,
  };
}

/** `{ text }` and optionally `blocks[]` (Block Kit); sections need mrkdwn or plain_text of 1–3000 chars. */
function isValidPayload(payload: unknown): payload is Record<string, unknown> {
  if (!isPlainObject(payload)) return false;
  const { text, blocks } = payload;
  if (text !== undefined && typeof text !== 'string') return false;
  if (blocks === undefined) return typeof text === 'string' && text.trim() !== '';
  if (!Array.isArray(blocks) || blocks.length === 0 || blocks.length > MAX_BLOCKS) return false;
  return blocks.every((block) => {
    if (!isPlainObject(block) || typeof block.type !== 'string') return false;
    if (block.type !== 'section') return true;
    const t = block.text;
    return (
      isPlainObject(t) &&
      (t.type === 'mrkdwn' || t.type === 'plain_text') &&
      typeof t.text === 'string' &&
      t.text.length > 0 &&
      t.text.length <= MAX_SECTION_TEXT
    );
  });
}
