import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { type Stack, startStack } from './infra/stack.js';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: { databaseUrl: string; kafkaBrokers: string };
  }
}

let stack: Stack | undefined;

/**
 * Integration tests run against the real PostgreSQL and Kafka that `npm test` started
 * (DATABASE_URL / KAFKA_BROKERS). Run on their own (`vitest --project integration`), they
 * start a throw-away pair themselves.
 */
export async function setup(project: TestProject) {
  let databaseUrl = process.env.DATABASE_URL;
  let kafkaBrokers = process.env.KAFKA_BROKERS;
  if (!databaseUrl || !kafkaBrokers) {
    stack = await startStack({ mode: 'test', log: (line) => console.log(`[test-kit] ${line}`) });
    databaseUrl = stack.databaseUrl;
    kafkaBrokers = stack.kafkaBrokers;
  }
  project.provide('stack', { databaseUrl, kafkaBrokers });
}

export async function teardown() {
  await stack?.stop();
}
