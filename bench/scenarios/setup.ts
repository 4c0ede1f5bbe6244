/**
 * Set-up: a fresh PostgreSQL and Kafka (test mode), the database the services share, the local
 * OIDC issuer and a viewer token, and every payload signed before anything is measured.
 */
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { createKafka, createLogger } from '@micro-oncall/service-kit';
import { createTestDatabase, startLocalIssuer, startStack } from '@micro-oncall/test-kit';
import { elapsed, say } from '../../scripts/lib/console.js';
import type { BenchContext, Scenario } from '../lib/context.js';
import { readPostgresSettings, startDurablePostgres, usePostgres } from '../lib/durability.js';
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
  title: (ctx) =>
    `start PostgreSQL and Kafka (fresh, test mode${ctx.durable ? '; a second, durable PostgreSQL for the whole run' : ''}) and pre-generate payloads`,
  async run(ctx) {
    // One after the other: signing the payloads keeps the event loop busy, and on a busy machine
    // PostgreSQL's readiness check (1 s per attempt) then never got an answer in time.
    // pg_stat_statements loaded: the e2e and consumer runs report PostgreSQL's time by statement.
    const s = await startStack({ mode: 'test', log: say.info, statementStats: true });
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
    ctx.postgresServerUrl = s.databaseUrl;
    ctx.databaseUrl = await createTestDatabase(s.databaseUrl, 'bench');
    let settings = await readPostgresSettings(s.databaseUrl);
    if (ctx.durable) {
      // --durable: every scenario runs against a second server with fsync and synchronous_commit on.
      const durable = await startDurablePostgres(ctx);
      await usePostgres(ctx, durable);
      settings = durable.settings;
    }
    Object.assign(ctx.postgresSettings, settings);
    say.info(
      `PostgreSQL ${settings.server_version}: fsync=${settings.fsync}, synchronous_commit=${settings.synchronous_commit}, full_page_writes=${settings.full_page_writes}`,
    );
    ctx.issuer = await startLocalIssuer();
    ctx.viewerToken = await ctx.issuer.token({ sub: 'bench-viewer', roles: ['viewer'] }, { expiresIn: '2h' });
    ctx.sampler.start();
  },
};
