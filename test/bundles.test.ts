/**
 * Every service runs in production as its esbuild bundle (scripts/lib/bundle.ts): this builds
 * each one as the image does and runs it as the chart does — the migration entry point, then the
 * server with MIGRATE_ON_START=false — from a working folder outside the repository, against
 * the run's real PostgreSQL and Kafka. A bundle that cannot find a file it reads at run time
 * (migrations, UI pages, built-in scenarios), misses a module, or breaks on start-up fails here.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { DevPlatform } from '@micro-oncall/service-kit';
import {
  createTestDatabase,
  freePort,
  type LocalIssuer,
  REPO_ROOT,
  sqlAs,
  startLocalIssuer,
  uniqueNamespace,
} from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bundleService, serviceDirs } from '../scripts/lib/bundle.js';
import { serviceNodeArgs } from '../scripts/lib/service-command.js';
import { findService } from '../scripts/lib/services.js';
import { CATALOGUE_FILE } from './helpers.js';

const ALL = serviceDirs(REPO_ROOT).map((dir) => basename(dir));
/** BUNDLE_TEST_SERVICES=a,b: only these (the scaffold check tests its new service alone). */
const ONLY = (process.env.BUNDLE_TEST_SERVICES ?? '').split(',').filter(Boolean);
const SERVICES = ONLY.length > 0 ? ONLY : ALL;

/**
 * This run's bundles: a folder of its own (not services/<name>/dist), so that a benchmark or
 * another test run on the same checkout never deletes a bundle this one is running.
 */
const BUNDLES = join(REPO_ROOT, '.dev', 'test', `bundles-${process.pid}`);
const bundleDir = (service: string) => join(BUNDLES, service);

interface Run {
  child: ChildProcess;
  exited: Promise<number | null>;
  running(): boolean;
  output(): string;
}

/** `node dist/<entry>.mjs` of a service, with only the given environment, from a scratch folder. */
function runBundle(service: string, entry: 'main' | 'migrate', env: Record<string, string>, cwd: string): Run {
  const serviceDir = join(REPO_ROOT, 'services', service);
  const child = spawn(process.execPath, serviceNodeArgs(serviceDir, entry, 'bundle', bundleDir(service)), {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-16_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let alive = true;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      alive = false;
      resolve(code);
    });
    child.once('error', (error) => {
      alive = false;
      output += `\n${error.message}`;
      resolve(-1);
    });
  });
  return { child, exited, running: () => alive, output: () => output };
}

async function waitReady(url: string, run: Run, what: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (!run.running()) throw new Error(`${what} exited before it was ready:\n${run.output()}`);
    try {
      const res = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(5_000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${what} not ready within 90 s:\n${run.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The files a page loads from its own host (`/drills/ui/app.js`, `./common/base.css`). */
function sameHostReferences(html: string): string[] {
  return [...html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="([^"#?]+)"/g)]
    .map((m) => m[1] as string)
    .filter((ref) => !/^(?:[a-z][a-z0-9+.-]*:|\/\/)/i.test(ref));
}

describe('service bundles', () => {
  const { databaseUrl: serverUrl, kafkaBrokers } = inject('stack');
  let issuer: LocalIssuer;
  let scratch: string;
  let dev: DevPlatform;
  const started: Run[] = [];

  beforeAll(async () => {
    // Sequential: esbuild already uses both cores of the machine.
    for (const service of SERVICES) {
      await bundleService(join(REPO_ROOT, 'services', service), { outdir: bundleDir(service) });
    }
    issuer = await startLocalIssuer();
    scratch = mkdtempSync(join(tmpdir(), 'mo-bundles-'));
    const secret = (name: string, content: string) => {
      const path = join(scratch, name);
      writeFileSync(path, content, { mode: 0o600 });
      return path;
    };
    dev = {
      nodeEnv: 'test',
      namespace: uniqueNamespace('bundles'),
      oidc: { issuer: issuer.issuer, audience: issuer.audience },
      secretFiles: {
        'pagerduty-webhook-secrets': secret('pagerduty', `${randomBytes(24).toString('hex')}\n`),
        'opsgenie-webhook-token': secret('opsgenie', randomBytes(24).toString('hex')),
        'alertmanager-webhook-basic-auth': secret('alertmanager', `alertmanager:${randomBytes(24).toString('hex')}`),
        'session-secret': secret('session', randomBytes(32).toString('hex')),
      },
      urls: {},
      files: { 'service-catalogue': CATALOGUE_FILE },
    };
  });

  afterAll(async () => {
    for (const run of started) if (run.running()) run.child.kill('SIGKILL');
    await issuer?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    rmSync(BUNDLES, { recursive: true, force: true });
  });

  it('finds a bundle to test for every service', () => {
    expect(SERVICES.length).toBeGreaterThan(0);
    expect(
      SERVICES.filter((s) => !ALL.includes(s)),
      'BUNDLE_TEST_SERVICES names folders under services/ with a src/main.ts',
    ).toEqual([]);
    for (const service of SERVICES) {
      expect(existsSync(join(bundleDir(service), 'main.mjs')), service).toBe(true);
      expect(existsSync(join(bundleDir(service), 'migrate.mjs')), service).toBe(true);
    }
  });

  it.each(SERVICES)(
    "%s: the part of its bundle a primary of worker processes loads holds none of the service's modules",
    (service) => {
      // main.mjs and every chunk it imports statically (not through import()): what a process
      // loads before it knows whether it runs the service, and all a primary ever loads.
      const dir = bundleDir(service);
      const loaded = new Set<string>();
      const pending = ['main.mjs'];
      for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
        if (loaded.has(file)) continue;
        loaded.add(file);
        const code = readFileSync(join(dir, file), 'utf8');
        for (const m of code.matchAll(/^import\s(?:[^;]*?\sfrom\s)?"\.\/([^"]+)";$/gm)) pending.push(m[1] as string);
      }
      const sources = [...loaded].flatMap(
        (file) => (JSON.parse(readFileSync(join(dir, `${file}.map`), 'utf8')) as { sources: string[] }).sources,
      );
      expect(sources.some((s) => s.endsWith('service-kit/src/entry.ts'))).toBe(true);
      const heavy = sources.filter((s) =>
        /\/(express|kafkajs|pg|drizzle-orm|pg-boss|openid-client)@|\/services\/[^/]+\/src\/service\.ts$/.test(s),
      );
      expect(heavy, `loaded by main.mjs without import(): ${[...loaded].join(', ')}`).toEqual([]);
    },
  );

  it.each(SERVICES)(
    '%s migrates, becomes ready and stops on SIGTERM, run from its bundle',
    async (name) => {
      const { service, dir } = await findService(name);
      const databaseUrl = await createTestDatabase(serverUrl, 'bundle');
      const port = await freePort();
      const env = {
        ...service.platformEnv(dev, {
          NODE_ENV: dev.nodeEnv,
          LOG_LEVEL: 'warn',
          DATABASE_URL: databaseUrl,
          KAFKA_BROKERS: kafkaBrokers,
          KAFKA_TOPIC_NAMESPACE: dev.namespace,
        }),
        HOST: '127.0.0.1',
        PORT: String(port),
      };

      // The chart's migration Job: the migrations folder is found from the bundle.
      const migrate = runBundle(name, 'migrate', env, scratch);
      started.push(migrate);
      expect(await migrate.exited, migrate.output()).toBe(0);
      const tables = await sqlAs(
        databaseUrl,
        'select count(*)::int as n from information_schema.tables where table_schema = $1',
        [service.db.schema],
      );
      expect(tables.rows[0].n, `tables in schema ${service.db.schema}`).toBeGreaterThan(0);

      // The server, as the chart starts it: it does not migrate itself.
      const server = runBundle(name, 'main', { ...env, MIGRATE_ON_START: 'false' }, scratch);
      started.push(server);
      const url = `http://127.0.0.1:${port}`;
      await waitReady(url, server, `${name} (dist/main.mjs)`);

      // A service with pages serves them and every file they load (its own and the shared ones).
      if (existsSync(join(dir, 'ui'))) {
        const home = service.publicPaths[0];
        expect(home, `${name} has a ui/ folder but no public path`).toBeDefined();
        const pageUrl = new URL(home?.path === '/' ? '/' : `${home?.path}/`, url);
        const page = await fetch(pageUrl);
        expect(page.status, `GET ${pageUrl.pathname}`).toBe(200);
        expect(page.headers.get('content-type')).toMatch(/text\/html/);
        const refs = sameHostReferences(await page.text());
        expect(refs.length, `files referred to by ${pageUrl.pathname}`).toBeGreaterThan(0);
        for (const ref of refs) {
          const asset = await fetch(new URL(ref, pageUrl));
          await asset.arrayBuffer();
          expect(asset.status, `GET ${new URL(ref, pageUrl).pathname}`).toBe(200);
        }
      }

      server.child.kill('SIGTERM');
      expect(await server.exited, server.output()).toBe(0);
    },
    150_000,
  );
});
