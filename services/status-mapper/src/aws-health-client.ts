import { readFile } from 'node:fs/promises';
import {
  DescribeEventDetailsCommand,
  DescribeEventsCommand,
  type Event,
  type EventFilter,
  HealthClient,
} from '@aws-sdk/client-health';
import type { AwsHealthSource } from './config/sources.js';

/*
 * The AWS Health API through the AWS SDK v3 Health client (JSON 1.1 over HTTPS, SigV4, service
 * `health`): DescribeEvents to the last page (nextToken) and DescribeEventDetails for the
 * descriptions. The SDK retries throttling and 5xx answers itself (its standard mode: three
 * attempts with backoff); what is still failing after that fails the poll, which the poller backs
 * off like a Statuspage page's. Each request is bounded by the poll timeout.
 */

export interface HealthApi {
  /** Every event matching `filter`, following nextToken to the last page. */
  describeEvents(filter: EventFilter, signal: AbortSignal): Promise<Event[]>;
  /** The latest description of each event (by ARN) that has one. */
  describeEventDetails(arns: readonly string[], signal: AbortSignal): Promise<Map<string, string>>;
}

/** A Health API call that failed for good (after the SDK's own retries). */
export class HealthApiError extends Error {
  constructor(
    message: string,
    readonly rateLimited: boolean,
  ) {
    super(message);
    this.name = 'HealthApiError';
  }
}

/** DescribeEvents answers at most 100 per page; past this many pages the answer is not believed. */
const MAX_PAGES = 50;
/** DescribeEventDetails takes at most 10 ARNs. */
const DETAILS_BATCH = 10;
const THROTTLING = new Set([
  'ThrottlingException',
  'TooManyRequestsException',
  'ThrottledException',
  'RequestLimitExceeded',
  'RequestThrottled',
]);

export function createHealthApi(source: AwsHealthSource, opts: { timeoutMs: number }): HealthApi {
  const api = source.describeEvents;
  if (!api) throw new Error(`${source.id}: not polled (no describeEvents)`);
  const files = api.credentials;
  const client = new HealthClient({
    // aws-global is signed for us-east-1 by the SDK's endpoint rules.
    region: api.region,
    ...(api.endpoint ? { endpoint: api.endpoint } : {}),
    // Mounted files are read again every few minutes, so that a rotated key is picked up; without
    // them, the SDK's default chain (environment, web identity, shared files, container/instance role).
    ...(files
      ? {
          credentials: async () => {
            const read = async (name: string, path: string) => {
              try {
                return (await readFile(path, 'utf8')).trim();
              } catch (error) {
                throw new HealthApiError(
                  `cannot read ${name} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
                  false,
                );
              }
            };
            return {
              accessKeyId: await read('credentials.accessKeyIdFile', files.accessKeyIdFile),
              secretAccessKey: await read('credentials.secretAccessKeyFile', files.secretAccessKeyFile),
              ...(files.sessionTokenFile
                ? { sessionToken: await read('credentials.sessionTokenFile', files.sessionTokenFile) }
                : {}),
              expiration: new Date(Date.now() + 5 * 60_000),
            };
          },
        }
      : {}),
    maxAttempts: 3,
  });

  async function call<T>(operation: string, signal: AbortSignal, send: (abortSignal: AbortSignal) => Promise<T>) {
    const timeout = AbortSignal.timeout(opts.timeoutMs);
    try {
      return await send(AbortSignal.any([signal, timeout]));
    } catch (error) {
      throw describeFailure(operation, error, timeout.aborted ? opts.timeoutMs : null);
    }
  }

  return {
    async describeEvents(filter, signal) {
      const events: Event[] = [];
      let nextToken: string | undefined;
      for (let page = 1; ; page += 1) {
        const answer = await call('DescribeEvents', signal, (abortSignal) =>
          client.send(new DescribeEventsCommand({ filter, maxResults: 100, nextToken }), { abortSignal }),
        );
        events.push(...(answer.events ?? []));
        nextToken = answer.nextToken || undefined;
        if (!nextToken) return events;
        if (page >= MAX_PAGES) {
          throw new HealthApiError(
            `DescribeEvents kept paging past ${MAX_PAGES} pages: narrow services/regions`,
            false,
          );
        }
      }
    },

    async describeEventDetails(arns, signal) {
      const descriptions = new Map<string, string>();
      for (let i = 0; i < arns.length; i += DETAILS_BATCH) {
        const batch = arns.slice(i, i + DETAILS_BATCH);
        const answer = await call('DescribeEventDetails', signal, (abortSignal) =>
          client.send(new DescribeEventDetailsCommand({ eventArns: batch }), { abortSignal }),
        );
        for (const detail of answer.successfulSet ?? []) {
          const arn = detail.event?.arn;
          const text = detail.eventDescription?.latestDescription;
          if (arn && text) descriptions.set(arn, text);
        }
      }
      return descriptions;
    },
  };
}

function describeFailure(operation: string, error: unknown, timedOutAfterMs: number | null): HealthApiError {
  if (error instanceof HealthApiError) return error;
  if (timedOutAfterMs !== null) {
    return new HealthApiError(`${operation} did not answer within ${timedOutAfterMs} ms`, false);
  }
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const rateLimited = THROTTLING.has(name) || status === 429;
  let message = `${operation} failed: ${name}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? String(error)}`;
  if (name === 'SubscriptionRequiredException') {
    message +=
      ' (the Health API needs a Business, Enterprise On-Ramp or Enterprise Support plan: without one, drop describeEvents and feed the source by EventBridge)';
  }
  return new HealthApiError(message.slice(0, 500), rateLimited);
}
