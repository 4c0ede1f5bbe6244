/**
 * Bus ceiling: raw kafkajs in the benchmark process, configured like service-kit's producer
 * (idempotent, acks=all, one request in flight), sending the envelopes webhook-ingest would
 * publish in batches, back to back, to a bench topic.
 */
import { topicName } from '@micro-oncall/incident-model';
import { ensureTopics } from '@micro-oncall/service-kit';
import { uniqueNamespace } from '@micro-oncall/test-kit';
import { say } from '../../scripts/lib/console.js';
import { produceFlat } from '../lib/bus.js';
import { running, type Scenario } from '../lib/context.js';
import { cpuWindow, steady } from '../lib/measure.js';
import { fmtInt } from '../lib/stats.js';

export const busCeiling: Scenario = {
  title: (ctx) => `bus ceiling: raw kafkajs, idempotent, acks=all, one request in flight ${ctx.tag}`,
  async run(ctx) {
    const { kafka } = running(ctx);
    const messages = ctx.consumerMessages;
    const topic = topicName('incident-events', uniqueNamespace('bench-bus'));
    await ensureTopics(kafka, [topic]);
    // Warm the connection and the producer id.
    await produceFlat({ kafka, topic, messages, batch: 100, limit: 2000 });
    for (const batch of ctx.settings.busBatches) {
      const r = await steady(ctx, `the bus ceiling (${batch} per request)`, async () => {
        const cpu = cpuWindow(ctx, {});
        const flat = await produceFlat({
          kafka,
          topic,
          messages,
          batch,
          durationS: ctx.plan.busS,
          progress: say.info,
          label: `bus, ${batch} per request`,
        });
        return { ...flat, cores: cpu() };
      });
      ctx.results.bus.push(r);
      say.info(
        `${batch} messages per request: ${fmtInt(r.eventsPerS)} events/s acknowledged ${ctx.tag} (${fmtInt(r.requests)} requests in ${r.seconds} s)`,
      );
    }
  },
};
