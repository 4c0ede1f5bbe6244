import { startStack } from '@micro-oncall/test-kit';
import { expect, it } from 'vitest';

it('times the stack', async () => {
  const { DATABASE_URL: _d, KAFKA_BROKERS: _k, ...env } = process.env;
  let t = Date.now();
  const lap = (what: string) => { console.log(what, Date.now() - t); t = Date.now(); };
  const stack = await startStack({ mode: 'test', log: (l) => console.log(l), env });
  lap('start');
  await stack.stopKafka(); lap('stopKafka');
  await stack.startKafka(); lap('startKafka');
  await stack.stopPostgres(); lap('stopPg');
  await stack.startPostgres(); lap('startPg');
  await stack.stop(); lap('stop');
  expect(1).toBe(1);
}, 120_000);
