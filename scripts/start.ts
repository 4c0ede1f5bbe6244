/**
 * `npm start`: the whole platform on this machine with demo data. Brings up PostgreSQL and
 * Kafka (unless DATABASE_URL / KAFKA_BROKERS are given), a clearly labelled development
 * identity provider, every service, and sends demo incidents through the real webhook path.
 * Ctrl-C stops everything this script started.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DEV_USERS,
  ensureDatabase,
  type FakeOpsgenie,
  type FakePagerDuty,
  freePort,
  type LocalIssuer,
  REPO_ROOT,
  type Stack,
  startFakeOpsgenie,
  startFakePagerDuty,
  startLocalIssuer,
  startOpa,
  startStack,
} from '@micro-oncall/test-kit';
import { elapsed, say } from './lib/console.js';
import { DEMO_OPSGENIE_ALERTS, DEMO_PAGERDUTY_INCIDENTS, sendDemoIncidents } from './lib/demo.js';
import { registerHeldDemoApp, runDemoDiscovery, seedDemoApps } from './lib/demo-apps.js';
import { seedDemoCost } from './lib/demo-cost.js';
import { startDemoStatuspage } from './lib/demo-status.js';
import { type Platform, startPlatform } from './lib/platform.js';
import { ensureTool } from './lib/tools.js';

const started = Date.now();
// MICRO_ONCALL_DEV_DIR keeps a second platform's data apart (the newcomer test uses it).
const devDir = process.env.MICRO_ONCALL_DEV_DIR ?? join(REPO_ROOT, '.dev', 'start');
const secretsDir = join(devDir, 'secrets');
mkdirSync(devDir, { recursive: true });
mkdirSync(secretsDir, { recursive: true, mode: 0o700 });

/** Development secrets are generated once per checkout and kept in the git-ignored .dev folder. */
function devSecret(name: string, make: () => string): { path: string; value: string } {
  const path = join(secretsDir, name);
  if (!existsSync(path)) writeFileSync(path, `${make()}\n`, { mode: 0o600 });
  return { path, value: readFileSync(path, 'utf8').trim() };
}

let stack: Stack | undefined;
let issuer: LocalIssuer | undefined;
let platform: Platform | undefined;
const fakes: { stop(): Promise<void> }[] = [];
let stopping = false;

async function stopAll(code: number) {
  if (stopping) return;
  stopping = true;
  say.step('stopping everything npm start started');
  await platform?.stop();
  await Promise.allSettled(fakes.map((f) => f.stop()));
  await issuer?.stop();
  await stack?.stop();
  say.ok('stopped');
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));
// Started by scripts/bootstrap.mjs: if that process goes away without telling us (killed with
// SIGKILL), nothing would ever stop the servers this script started.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void stopAll(0);
}, 500).unref();

try {
  if (process.env.NODE_ENV === 'production') {
    throw new Error(
      'npm start is the development platform (trust auth, development sign-in); it refuses NODE_ENV=production',
    );
  }
  say.step('starting PostgreSQL and Kafka (first run resolves Kafka from Maven Central and takes longer)');
  stack = await startStack({ mode: 'start', log: say.info, dir: devDir });
  const databaseUrl = process.env.DATABASE_URL ?? (await ensureDatabase(stack.databaseUrl, 'micro_oncall'));

  say.step('starting the development identity provider (local only, refuses production mode)');
  issuer = await startLocalIssuer({ port: Number(process.env.DEV_ISSUER_PORT ?? 19400) });

  const pagerduty = devSecret('pagerduty-webhook-secret', () => randomBytes(24).toString('hex'));
  const opsgenie = devSecret('opsgenie-webhook-token', () => randomBytes(24).toString('hex'));
  const alertmanager = devSecret('alertmanager-basic-auth', () => `alertmanager:${randomBytes(24).toString('hex')}`);

  say.step('starting fake PagerDuty and Opsgenie APIs so that actions work offline (DEMO ONLY)');
  const pdToken = devSecret('pagerduty-api-token', () => randomBytes(20).toString('hex'));
  const ogKey = devSecret('opsgenie-api-key', () => randomBytes(20).toString('hex'));
  fakes.push(
    await startFakePagerDuty({
      token: pdToken.value,
      users: DEV_USERS.map((u, i) => ({ id: `PDEV${String(i + 1).padStart(3, '0')}`, email: u.email })),
      incidents: DEMO_PAGERDUTY_INCIDENTS,
    }),
  );
  fakes.push(await startFakeOpsgenie({ apiKey: ogKey.value, alerts: DEMO_OPSGENIE_ALERTS }));
  const [fakePagerDuty, fakeOpsgenie] = fakes as [FakePagerDuty, FakeOpsgenie];
  // DEMO ONLY: a fake Cloudflare status page for status-mapper (scripts/lib/demo-status.ts).
  const demoStatus = await startDemoStatuspage(devDir);
  fakes.push(demoStatus.fake);

  // app-registry's policy engine: OPA on the repository's policies (started after the services,
  // below, so that one demo app shows what happens while it is down).
  const opaPort = await freePort();

  // Stable across restarts, like the data: a restart does not sign everyone out.
  const sessionSecret = devSecret('session-secret', () => randomBytes(32).toString('hex'));

  say.step('starting services (migrations run at start-up)');
  platform = await startPlatform({
    databaseUrl,
    kafkaBrokers: stack.kafkaBrokers,
    namespace: 'oncall',
    oidc: { issuer: issuer.issuer, audience: issuer.audience },
    secretFiles: {
      'pagerduty-webhook-secrets': pagerduty.path,
      'opsgenie-webhook-token': opsgenie.path,
      'alertmanager-webhook-basic-auth': alertmanager.path,
      'pagerduty-api-token': pdToken.path,
      'opsgenie-api-key': ogKey.path,
      'session-secret': sessionSecret.path,
    },
    urls: { 'pagerduty-api': fakePagerDuty.url, 'opsgenie-api': fakeOpsgenie.url, opa: `http://127.0.0.1:${opaPort}` },
    files: {
      'service-catalogue':
        process.env.SERVICE_CATALOGUE_FILE ??
        join(REPO_ROOT, 'services', 'escalation', 'config', 'services.example.yml'),
      ...demoStatus.files,
    },
    // The product: every service behind one host by path, as behind the Ingress (ADR 0012).
    port: Number(process.env.PORT ?? 8080),
    // Services listen on free ports unless pinned (their own /openapi.json, /health, /metrics are there).
    ports: {
      ...(process.env.INGEST_PORT ? { 'webhook-ingest': Number(process.env.INGEST_PORT) } : {}),
      ...(process.env.ESCALATION_PORT ? { escalation: Number(process.env.ESCALATION_PORT) } : {}),
    },
    logLevel: process.env.LOG_LEVEL ?? 'warn',
  });
  const product = platform.url;

  say.step("sending demo incidents through webhook-ingest, on the product's host");
  // The demo's clock starts at this checkout's first start and stays there (see demo.ts).
  const epoch = Number(devSecret('demo-epoch', () => String(Date.now())).value);
  const sent = await sendDemoIncidents(
    product,
    { pagerdutySecret: pagerduty.value, opsgenieToken: opsgenie.value, alertmanagerBasic: alertmanager.value },
    epoch,
  );

  say.step('starting OPA for app-registry and registering demo apps (DEMO ONLY)');
  const registry = platform.service('app-registry');
  const demoTokens = {
    responder: await issuer.token({ sub: 'dev-responder', name: 'Ada Responder', roles: ['responder'] }),
    approver: await issuer.token({ sub: 'dev-approver', name: 'Abe Approver', roles: ['approver'] }),
    admin: await issuer.token({ sub: 'dev-admin', name: 'Alex Admin', roles: ['admin'] }),
  };
  await registerHeldDemoApp(registry.url, demoTokens);
  try {
    fakes.push(
      await startOpa({
        binary: await ensureTool('opa', say.info),
        port: opaPort,
        watch: true,
        inPlace: true,
        log: say.info,
      }),
    );
  } catch (error) {
    say.fail(`OPA did not start (${(error as Error).message}): app-registry holds every new app for review`);
  }
  const demoApps = await seedDemoApps(registry.url, demoTokens);
  say.info(await runDemoDiscovery(registry.url, demoTokens));
  say.info(await seedDemoCost(registry.url, demoTokens));

  const tokenFile = join(devDir, 'viewer.token');
  writeFileSync(
    tokenFile,
    await issuer.token({ sub: 'dev-viewer', name: 'Development viewer', roles: ['viewer'] }, { expiresIn: '12h' }),
    {
      mode: 0o600,
    },
  );

  say.ok(`micro-oncall is running (${elapsed(started)}); ${sent} demo webhooks accepted`);
  say.info('');
  say.info(
    `dashboard       ${product}/   (sign in with the development identity provider: Ada responds, Vic views, Alex administers)`,
  );
  say.info(
    `status page     ${product}/status/   (provider status mapped onto our services; the same sign-in; DEMO ONLY fake Cloudflare ${demoStatus.fake.url})`,
  );
  say.info(`apps            ${product}/apps/   (the app registry: inventory, onboarding, restore; the same sign-in)`);
  say.info(`escalation API  ${product}/v1/incidents   (bearer token or the dashboard's session)`);
  say.info(`webhooks        ${product}/v1/webhooks/pagerduty | opsgenie | alertmanager   (webhook-ingest)`);
  say.info(`status API      ${product}/status/internal   (bearer token, e.g. the viewer token below)`);
  say.info(`dev identity    ${issuer.issuer}   (DEVELOPMENT ONLY)`);
  say.info(
    `fake providers  PagerDuty ${fakePagerDuty.url}, Opsgenie ${fakeOpsgenie.url}   (DEMO ONLY: actions land here)`,
  );
  say.info(
    `each service    ${[...platform.services].map(([name, s]) => `${name} ${s.url}`).join(', ')}   (/openapi.json, /health/ready, /metrics: not on the product's host, as in a cluster)`,
  );
  say.info(
    `app-registry    ${registry.url}/apps/v1/apps   (viewer token; demo apps in every state, ${demoApps} added now; policies: policies/app-registry, reloaded on change)`,
  );
  say.info(`PostgreSQL      ${databaseUrl.replace(/\/\/[^@]*@/, '//')}`);
  say.info(`Kafka           ${stack.kafkaBrokers}   (topic oncall.incident-events.v1)`);
  say.info('');
  say.info('Try it:');
  say.info(`  curl -s -H "Authorization: Bearer $(cat ${tokenFile})" ${product}/v1/incidents | head -c 600`);
  say.info(`Webhook credentials for your own tests are in ${secretsDir}/`);
  say.info('Press Ctrl-C to stop everything.');
} catch (error) {
  say.fail(`npm start failed: ${(error as Error).message}`);
  await stopAll(1);
}
