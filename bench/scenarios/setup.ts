/**
 * Set-up: a fresh PostgreSQL and Kafka (test mode), the database the services share, the local
 * OIDC issuer and a viewer token, and every payload signed before anything is measured.
 */
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { createDatabase, createKafka, createLogger } from '@micro-oncall/service-kit';
import { createTestDatabase, startLocalIssuer, startStack } from '@micro-oncall/test-kit';
import { elapsed, say } from '../../scripts/lib/console.js';
import type { BenchContext, Scenario } from '../lib/context.js';
import { incidentEventMessages } from '../lib/payloads.js';
import { fmtInt } from '../lib/stats.js';

async function generatePayloads(ctx: BenchContext): Promise<void> {
  const { plan, settings, pools } = ctx;
  const t = Date.now();
  await pools.ceiling.ensure(20_000);
  await pools.e2e.ensure(Math.round((200 * 2 + settings.e2eRates.reduce((a, r) => a + r, 0) * plan.e2eS) * 1.05));
  await pools.ingest.ensure(plan.fixedRate * (plan.fixedS + plan.warmS) + 20_000);
  ctx.consumerMessages = await incidentEventMessages(ctx.runTag, plan.consumerEvents, settings.eventsPerIncident);
  say.info(
    `payloads ready in ${elapsed(t)}: ${fmtInt(pools.ceiling.size + pools.ingest.size + pools.e2e.size)} signed webhooks (avg ${fmtInt(pools.ingest.averageBodyBytes())} bytes), ${fmtInt(ctx.consumerMessages.length)} incident events`,
  );
}

export const setup: Scenario = {
  title: () => 'start PostgreSQL and Kafka (fresh, test mode) and pre-generate payloads',
  async run(ctx) {
    // One after the other: signing the payloads keeps the event loop busy, and on a busy machine
    // PostgreSQL's readiness check (1 s per attempt) then never got an answer in time.
    const s = await startStack({ mode: 'test', log: say.info });
    ctx.stack = s;
    if (!ctx.skipPayloads) await generatePayloads(ctx);
    ctx.pids.postgres = s.started.find((p) => p.name === 'postgres')?.pid;
    ctx.pids.kafka = s.started.find((p) => p.name === 'kafka')?.pid;
    ctx.kafka = createKafka({
      brokers: s.kafkaBrokers.split(','),
      clientId: 'bench',
      logger: createLogger({
        service: 'bench',
        level: 'warn',
        destination: createWriteStream(join(ctx.dirs.logs, 'bench-kafka.log')),
      }),
    });
    say.info(`PostgreSQL ${s.databaseUrl.replace(/\/\/[^@]*@/, '//')}  Kafka ${s.kafkaBrokers}`);
    ctx.databaseUrl = await createTestDatabase(s.databaseUrl, 'bench');
    const admin = createDatabase({
      url: s.databaseUrl,
      schema: {},
      max: 1,
      logger: createLogger({ service: 'bench', level: 'error' }),
      applicationName: 'bench-facts',
    });
    const pg = ctx.postgresSettings;
    try {
      for (const name of ['server_version', 'fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers']) {
        const r = await admin.pool.query<Record<string, string>>(`show ${name}`);
        pg[name] = r.rows[0]?.[name] ?? '?';
      }
    } finally {
      await admin.stop();
    }
    say.info(
      `PostgreSQL ${pg.server_version}: fsync=${pg.fsync}, synchronous_commit=${pg.synchronous_commit}, full_page_writes=${pg.full_page_writes}`,
    );
    ctx.issuer = await startLocalIssuer();
    ctx.viewerToken = await ctx.issuer.token({ sub: 'bench-viewer', roles: ['viewer'] }, { expiresIn: '2h' });
    ctx.sampler.start();
  },
};
