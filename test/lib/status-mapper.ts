/**
 * Driving a running status-mapper from a test, whether the test runs it alone in its own process
 * (services/status-mapper/test/support.ts) or beside escalation as `npm start` does
 * (`startStatusPlatform`, for the end-to-end tests under test/ and the status page's browser
 * test): the files it reads, the people it serves, and its API and events as the tests use them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventEnvelope } from '@micro-oncall/incident-model';
import {
  createTestDatabase,
  type FakeStatuspage,
  type LocalIssuer,
  startLocalIssuer,
  testKafka,
  uniqueNamespace,
} from '@micro-oncall/test-kit';
import { inject } from 'vitest';
import { type Platform, startPlatform } from '../../scripts/lib/platform.js';
import { CATALOGUE_FILE, failOnServiceStop } from '../helpers.js';

export type ProviderStatusEvent = EventEnvelope<'provider-status'>;

/** A source as GET /status/v1/sources lists it. */
export interface StatusSource {
  id: string;
  kind: string;
  /** Null for a source that is never polled (AWS Health fed by EventBridge alone). */
  url: string | null;
  lastPolledAt: string | null;
  lastSuccessAt: string | null;
  failing: { since: string; reason: string; consecutiveFailures: number } | null;
  staleSince: string | null;
}

/** One internal service as GET /status/internal shows it. */
export interface ServiceStatus {
  service: string;
  status: string;
  since: string | null;
  components: { key: string; name: string; status: string; stale: { since: string; lastKnown: string } | null }[];
  incidents: { id: string; name: string; status: string; latestUpdate: string | null; components: string[] }[];
}

/** A provider component as GET /status/v1/components lists it. */
export interface StatusComponent {
  key: string;
  name: string;
  status: string;
  services: string[];
}

/** A fresh folder for a test's configuration files. */
export interface ConfigFiles {
  dir: string;
  /** Writes `name` (owner-only unless `mode` says otherwise) and returns its path. */
  write(name: string, text: string, mode?: number): string;
  remove(): void;
}

export function configFiles(prefix: string): ConfigFiles {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  return {
    dir,
    write(name, text, mode = 0o600) {
      const path = join(dir, name);
      writeFileSync(path, text, { mode });
      return path;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * The sources file for fake Statuspage pages. Their interval is an hour: only the polls a test
 * asks for (and the one at start-up, when a page is new) run.
 */
export function statuspageSources(pages: readonly { id: string; provider: string; page: FakeStatuspage }[]): string {
  const entries = pages.map(
    (p) => `  - id: ${p.id}\n    provider: ${p.provider}\n    url: ${p.page.summaryUrl}\n    intervalSeconds: 3600\n`,
  );
  return `pages:\n${entries.join('')}`;
}

/** A local OIDC issuer and the bearer tokens of a viewer and a responder it signed. */
export interface TestUsers {
  issuer: LocalIssuer;
  viewer: string;
  responder: string;
}

export async function startTestUsers(): Promise<TestUsers> {
  const issuer = await startLocalIssuer();
  return {
    issuer,
    viewer: await issuer.token({ sub: 'viewer-1', roles: ['viewer'] }),
    responder: await issuer.token({ sub: 'responder-1', roles: ['responder'] }),
  };
}

/** status-mapper's API, as the tests call it. */
export interface StatusMapperClient {
  url: string;
  /** A request with a bearer token: the viewer's unless `token` says otherwise (null: none). */
  api(path: string, init?: RequestInit, token?: string | null): Promise<Response>;
  sources(): Promise<StatusSource[]>;
  internal(): Promise<ServiceStatus[]>;
  /** One service of /status/internal; throws when it is not there. */
  serviceStatus(service: string): Promise<ServiceStatus>;
  components(): Promise<StatusComponent[]>;
  /** Asks for a poll of every polled source now (as an operator does), without waiting for it. */
  requestPoll(): Promise<void>;
  /** Asks for a poll and waits until every polled source has been polled again; then the sources. */
  pollNow(): Promise<StatusSource[]>;
}

/** The client of the status-mapper at `url` (a replica's own URL, or the product's host). */
export function statusMapperClient(url: string, users: { viewer: string; responder: string }): StatusMapperClient {
  const api = (path: string, init: RequestInit = {}, token: string | null = users.viewer) =>
    fetch(`${url}${path}`, {
      ...init,
      headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...init.headers },
    });
  const items = async <T>(path: string) => ((await (await api(path)).json()) as { items: T[] }).items;
  const sources = () => items<StatusSource>('/status/v1/sources');
  const internal = async () =>
    ((await (await api('/status/internal')).json()) as { services: ServiceStatus[] }).services;
  const requestPoll = async () => {
    const res = await api('/status/v1/sources/poll', { method: 'POST' }, users.responder);
    if (res.status !== 202) throw new Error(`POST /status/v1/sources/poll answered ${res.status}: ${await res.text()}`);
  };
  return {
    url,
    api,
    sources,
    internal,
    async serviceStatus(service) {
      const services = await internal();
      const found = services.find((s) => s.service === service);
      if (!found)
        throw new Error(`${service} is not in /status/internal (${services.map((s) => s.service).join(', ')})`);
      return found;
    },
    components: () => items<StatusComponent>('/status/v1/components'),
    requestPoll,
    async pollNow() {
      const before = new Map((await sources()).map((s) => [s.id, s.lastPolledAt]));
      await requestPoll();
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const now = await sources();
        const polled = now.filter((s) => s.url !== null);
        if (polled.every((s) => s.lastPolledAt !== null && s.lastPolledAt !== before.get(s.id))) return now;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('the poll did not finish within 30 s');
    },
  };
}

/**
 * Every `provider-status` event on `topic` so far: waits for `count`, then (to prove there is no
 * more) a little longer.
 */
export async function providerStatusEvents(topic: string, count: number): Promise<ProviderStatusEvent[]> {
  const seen = await testKafka(inject('stack').kafkaBrokers).read(topic, { count: count + 1, timeoutMs: 6_000 });
  return seen.map((m) => JSON.parse(m.value ?? 'null') as ProviderStatusEvent);
}

export interface StatusPlatform extends TestUsers {
  platform: Platform;
  namespace: string;
  files: ConfigFiles;
  /** status-mapper's own URL (not through the product's host). */
  statusMapper: StatusMapperClient;
  /** The mapping file status-mapper reads (and reloads when it changes). */
  mappingFile: string;
  stop(): Promise<void>;
}

/**
 * escalation and status-mapper as `npm start` starts them (the platform hands status-mapper
 * escalation's URL), with escalation's example catalogue (checkout, payments-api with the alias
 * payments, search), status-mapper watching `sources` mapped by `mapping`. `secretFiles`:
 * contents by the names the services' descriptors ask for (`statuspage-webhook-token`,
 * `session-secret`), written to owner-only files. A service that stops itself fails the running
 * test (`failOnServiceStop`).
 */
export async function startStatusPlatform(
  name: string,
  opts: { sources: string; mapping: string; secretFiles?: Record<string, string> },
): Promise<StatusPlatform> {
  const stack = inject('stack');
  const users = await startTestUsers();
  const files = configFiles(`mo-${name}`);
  const namespace = uniqueNamespace(name);
  const mappingFile = files.write('mapping.yml', opts.mapping, 0o644);
  let platform: Platform;
  try {
    platform = await startPlatform({
      databaseUrl: await createTestDatabase(stack.databaseUrl, name.replaceAll('-', '_')),
      kafkaBrokers: stack.kafkaBrokers,
      namespace,
      oidc: { issuer: users.issuer.issuer, audience: users.issuer.audience },
      secretFiles: Object.fromEntries(
        Object.entries(opts.secretFiles ?? {}).map(([secret, text]) => [secret, files.write(secret, text)]),
      ),
      files: {
        'service-catalogue': CATALOGUE_FILE,
        'status-sources': files.write('sources.yml', opts.sources, 0o644),
        'status-mapping': mappingFile,
      },
      only: ['escalation', 'status-mapper'],
      logLevel: 'error',
      nodeEnv: 'test',
      onFatal: failOnServiceStop,
    });
  } catch (error) {
    await users.issuer.stop();
    files.remove();
    throw error;
  }
  return {
    ...users,
    platform,
    namespace,
    files,
    statusMapper: statusMapperClient(platform.service('status-mapper').url, users),
    mappingFile,
    async stop() {
      await platform.stop();
      await users.issuer.stop();
      files.remove();
    },
  };
}
